//! The classifier's fast path never changes what a line means. Lines with none of the literals
//! the grammar's events need have only their tags read (remembered per line start), lines whose
//! literals fit one event are parsed through that event's entry rule, and lines whose first bytes
//! decide their event (`unread_rest`) are answered from memory: checked against the full parse on
//! every line of every transcript, and on lines cut and mutated at random.

mod common;

use proptest::prelude::*;
use vvvexplain::event::{classify, classify_full, Classifier};

/// A classifier that remembers line shapes from its first line.
fn remembering_classifier() -> Classifier {
    Classifier::for_long_log()
}

/// Each line in turn, through one remembering classifier (what it remembers from one line must
/// hold for the next), says what the full parse says.
fn read_as_fully_parsed<S: AsRef<str>>(lines: impl IntoIterator<Item = S>) {
    let mut classifier = remembering_classifier();
    for line in lines {
        let line = line.as_ref();
        assert_eq!(classifier.classify(line), classify_full(line), "{line}");
    }
}

/// Every recorded line, as the normaliser would hand it to the classifier.
fn recorded_lines() -> Vec<String> {
    let mut lines = Vec::new();
    for path in common::all_transcripts() {
        let text = std::fs::read(&path).unwrap();
        for raw in text.split(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(raw);
            let line = line.trim_end_matches('\r');
            // The fixtures with arrival times carry a `[HH:MM:SS.mmm] ` prefix the normaliser removes.
            let line = match line.strip_prefix('[').and_then(|l| l.split_once("] ")) {
                Some((_, rest)) => rest,
                None => line,
            };
            lines.push(line.to_string());
        }
    }
    lines
}

#[test]
fn the_fast_path_agrees_with_the_full_parse_on_every_recorded_line() {
    // One classifier for all lines, as the pipeline uses it.
    let lines = recorded_lines();
    read_as_fully_parsed(&lines);
    assert!(lines.len() > 10_000, "only {} lines checked", lines.len());
}

#[test]
fn the_fast_path_is_taken_for_routine_lines() {
    // Not a timing test: the same answer, through the path that reads only the tags.
    let mut classifier = remembering_classifier();
    for line in [
        "debug2: channel 0: rcvd adjust 2097152",
        "debug3: In write loop, ack for 6 3 bytes at 0",
        "debug2: channel 0: rcvd adjust 2097153",
        "debug2",
        "debug2: ",
        "scp: debug2: channel 0: rcvd adjust 2097152",
        "hello",
    ] {
        assert!(classify(line).event.is_other(), "{line}");
        assert_eq!(classifier.classify(line), classify_full(line), "{line}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// A recorded line with a piece cut out and another line's piece put in: events that almost
    /// match, literals in odd places, two events' literals on one line.
    #[test]
    fn the_fast_path_agrees_on_mutated_lines(
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
        cut in any::<(prop::sample::Index, prop::sample::Index)>(),
        splice in any::<(prop::sample::Index, prop::sample::Index)>(),
    ) {
        thread_local!(static LINES: Vec<String> = recorded_lines());
        let (line, other) = LINES.with(|l| (l[a.index(l.len())].clone(), l[b.index(l.len())].clone()));
        let on_char = |s: &str, i: prop::sample::Index| {
            let mut at = i.index(s.len() + 1);
            while !s.is_char_boundary(at) {
                at -= 1;
            }
            at
        };
        let (from, to) = (on_char(&line, cut.0), on_char(&line, cut.1));
        let (from, to) = (from.min(to), from.max(to));
        let (p, q) = (on_char(&other, splice.0), on_char(&other, splice.1));
        let piece = &other[p.min(q)..p.max(q)];
        let mutated = format!("{}{piece}{}", &line[..from], &line[to..]);
        let mut classifier = remembering_classifier();
        // Twice: once as the first line of its kind, once answered from memory.
        prop_assert_eq!(classifier.classify(&line), classify_full(&line));
        prop_assert_eq!(classifier.classify(&mutated), classify_full(&mutated));
        prop_assert_eq!(classifier.classify(&mutated), classify_full(&mutated));
    }
}

/// Transfer lines as sftp and scp print them, and what may come after the bytes that decide them.
const TRANSFER_LINES: &[&str] = &[
    "debug3: Sent message SSH2_FXP_WRITE I:66241 O:135649280 S:2048",
    "scp: debug3: Sent message SSH2_FXP_WRITE I:6 O:0 S:3",
    "debug3: Sent message SSH2_FXP_CLOSE I:7",
    "debug2: Sending SSH2_FXP_OPEN \"/home/alice/a\"",
    "debug3: sftp_upload: Sent message SSH2_FXP_WRITE I:5 O:0 S:32768",
    "scp: Sent message SSH2_FXP_WRITE I:5 O:0 S:32768",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// A classifier answers a transfer line from memory when an earlier line had the same first
    /// bytes: any line that differs from one it has seen, anywhere and in any way, means what
    /// the full parse says.
    #[test]
    fn lines_answered_from_memory_mean_what_the_full_parse_says(
        seen in prop::sample::select(TRANSFER_LINES),
        at in any::<prop::sample::Index>(),
        cut in 0usize..6,
        piece in "[A-Z_:0-9 a-z\"\n]{0,6}|SSH2_FXP_[A-Z]{2,6}|Connection closed|scp: |debug3: ",
    ) {
        let mut classifier = remembering_classifier();
        prop_assert_eq!(classifier.classify(seen), classify_full(seen));
        let from = at.index(seen.len() + 1);
        let to = (from + cut).min(seen.len());
        let line = format!("{}{piece}{}", &seen[..from], &seen[to..]);
        prop_assert_eq!(classifier.classify(&line), classify_full(&line), "{}", line);
        prop_assert_eq!(classifier.classify(&line), classify_full(&line), "{}", line);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// A classifier answers a line from the shape of an earlier one when they differ only in
    /// digits past their tags: recorded lines with their digits changed mean what the full parse
    /// says, whichever the classifier saw first.
    #[test]
    fn lines_of_one_shape_mean_what_the_full_parse_says(
        a in any::<prop::sample::Index>(),
        digits in prop::collection::vec(0u8..10, 64),
        from in 0usize..24,
    ) {
        thread_local!(static LINES: Vec<String> = recorded_lines()
            .into_iter()
            .filter(|l| l.bytes().skip(16).any(|b| b.is_ascii_digit()))
            .collect());
        let line = LINES.with(|l| l[a.index(l.len())].clone());
        let mut next = digits.iter().cycle();
        let changed: String = line
            .chars()
            .enumerate()
            .map(|(i, c)| match c.is_ascii_digit() && i >= from {
                true => char::from(b'0' + next.next().unwrap()),
                false => c,
            })
            .collect();
        let mut classifier = remembering_classifier();
        prop_assert_eq!(classifier.classify(&line), classify_full(&line), "{}", line);
        prop_assert_eq!(classifier.classify(&changed), classify_full(&changed), "{}", changed);
        prop_assert_eq!(classifier.classify(&line), classify_full(&line), "{}", line);
    }
}

#[test]
fn lines_that_hold_a_literal_with_a_digit_are_read_by_shape_only_with_that_digit() {
    // Past the tags `SSH2_MSG_` has its digit marked in a shape: an `SSH3` line has the same
    // shape, and no event may match it, but one may match the `SSH2` line.
    read_as_fully_parsed([
        "debug1: expecting SSH3_MSG_KEX_ECDH_REPLY",
        "debug1: expecting SSH2_MSG_KEX_ECDH_REPLY",
        "debug2: channel 0: request x21-req confirm 0",
        "debug2: channel 0: request x11-req confirm 0",
    ]);
}

#[test]
fn transfer_lines_that_differ_in_their_numbers_are_read_alike() {
    read_as_fully_parsed((0..3000u32).map(|id| {
        format!(
            "debug3: Sent message SSH2_FXP_WRITE I:{id} O:{} S:2048",
            id * 2048
        )
    }));
}

#[test]
fn events_past_the_tags_of_scp_lines_are_found() {
    // A line that starts with `scp: debugN: ` is parsed with those tags first, so the filter
    // looks for events past them: an event there, and a line where they are not the tags.
    for line in [
        "scp: debug3: scp: /x: No such file or directory",
        "scp: debug3: Sent message SSH2_FXP_WRITE I:1 O:2 S:3",
        "scp: debug3: SSH2_FXP_STATUS 0",
        "scp: debug2: Remote version: 3",
        "scp: debug1: Exit status 0 and more",
        "scp: debug1: ",
        "scp: debug9: Connection closed",
        "scp: debugX: scp: foo",
        "scp: debug3:scp: foo",
        "scp: debug3",
        "scp: /nope: No such file or directory",
    ] {
        assert_eq!(classify(line), classify_full(line), "{line}");
        let mut classifier = remembering_classifier();
        assert_eq!(classifier.classify(line), classify_full(line), "{line}");
        assert_eq!(classifier.classify(line), classify_full(line), "{line}");
    }
}

#[test]
fn a_line_an_event_only_begins_keeps_its_tags() {
    // `Exit status 0` is an event; with more after it the line is none, but still a debug1 line.
    let mut classifier = remembering_classifier();
    for line in [
        "debug1: Exit status 0 and more",
        "scp: debug1: Exit status 0 and more",
    ] {
        let classified = classifier.classify(line);
        assert!(classified.event.is_other(), "{line}");
        assert_eq!(classified.level, vvvexplain::event::Level::Debug1, "{line}");
        assert_eq!(classified, classify_full(line), "{line}");
    }
}

/// Every event of the grammar is typed: at least one of the example lines in its `///` comment
/// classifies to that very event, as a typed `Event` (never `Other`).
#[test]
fn every_grammar_event_types_its_own_example_line() {
    let grammar = std::fs::read_to_string("grammar/openssh.pest").expect("grammar");
    let mut docs: Vec<String> = Vec::new();
    let mut untyped = Vec::new();
    let mut defined = 0;
    for line in grammar.lines() {
        if let Some(doc) = line.strip_prefix("///") {
            docs.push(doc.to_string());
            continue;
        }
        // A rule's definition (`name = { … }`), not its name in a list of alternatives.
        let name = line.split_once(" = ").map_or("", |(name, _)| name);
        if vvvexplain::event::event_names().contains(&name) {
            defined += 1;
            let examples: Vec<String> = docs
                .join(" ")
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect();
            let typed = examples.iter().any(|example| {
                let said = vvvexplain::event::classify_full(example);
                said.kind.map(|k| k.name()) == Some(name) && !said.event.is_other()
            });
            if !typed {
                untyped.push(format!("{name}: {examples:?}"));
            }
        }
        docs.clear();
    }
    assert_eq!(defined, vvvexplain::event::event_names().len());
    assert!(
        untyped.is_empty(),
        "events whose examples are not typed as them:\n{}",
        untyped.join("\n")
    );
}
