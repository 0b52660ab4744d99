//! The grammar's own examples, and the classifier's fast path.
//!
//! Every `///` example line in `grammar/openssh.pest` is read by the rule it documents, and every
//! event rule becomes a typed `Event`. The fast path never changes what a line means: lines with
//! none of the literals the grammar's events need have only their tags read (remembered per line
//! start), lines whose literals fit one event are parsed through that event's entry rule, and
//! lines whose first bytes decide their event (`unread_rest`) are answered from memory: checked
//! against the full parse on every line of every transcript, and on lines cut and mutated at
//! random.

mod common;

use std::collections::{BTreeSet, HashMap};

use pest_meta::ast::{Expr, Rule as GrammarRule, RuleType};
use pest_vm::Vm;
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

/// `grammar/openssh.pest`, its rules, and a parser that runs any of them by name.
struct Grammar {
    text: String,
    rules: HashMap<String, GrammarRule>,
    vm: Vm,
}

impl Grammar {
    fn load() -> Self {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/grammar/openssh.pest");
        let text = std::fs::read_to_string(path).expect("the grammar");
        let pairs = pest_meta::parser::parse(pest_meta::parser::Rule::grammar_rules, &text)
            .expect("the grammar parses");
        let ast = pest_meta::parser::consume_rules(pairs).expect("the grammar's rules");
        let vm = Vm::new(pest_meta::optimizer::optimize(ast.clone()));
        let rules = ast.into_iter().map(|r| (r.name.clone(), r)).collect();
        Grammar { text, rules, vm }
    }

    /// The event rules: the alternatives of `event`, through its silent groups (`auth_event`).
    fn events(&self) -> BTreeSet<String> {
        let mut events = BTreeSet::new();
        let mut pending = vec!["event".to_string()];
        while let Some(name) = pending.pop() {
            let rule = &self.rules[&name];
            if rule.ty != RuleType::Silent {
                events.insert(name);
                continue;
            }
            let mut stack = vec![&rule.expr];
            while let Some(expr) = stack.pop() {
                match expr {
                    Expr::Choice(a, b) => stack.extend([&**a, &**b]),
                    Expr::Ident(name) => pending.push(name.clone()),
                    other => panic!("`{name}` is not a choice of rules: {other:?}"),
                }
            }
        }
        events
    }

    /// Every example line (the text between backticks on a `///` line right above a rule) with
    /// its rule and the grammar's line number.
    fn examples(&self) -> Vec<(String, String, usize)> {
        let mut examples = Vec::new();
        let mut doc: Vec<(usize, &str)> = Vec::new();
        for (at, line) in self.text.lines().enumerate() {
            if let Some(comment) = line.trim_start().strip_prefix("///") {
                doc.push((at + 1, comment));
                continue;
            }
            let name = line.split('=').next().unwrap_or("").trim();
            if line.contains('=') && self.rules.contains_key(name) {
                for (number, comment) in &doc {
                    for example in comment.split('`').skip(1).step_by(2) {
                        examples.push((name.to_string(), example.to_string(), *number));
                    }
                }
            }
            doc.clear();
        }
        examples
    }

    /// The rules a line is read as, outermost first, as the full grammar reads it.
    fn rules_of(&self, line: &str) -> Vec<String> {
        match self.vm.parse("line", line) {
            Ok(pairs) => pairs.flatten().map(|p| p.as_rule().to_string()).collect(),
            Err(e) => panic!("`{line}` is not a line: {e}"),
        }
    }

    /// Whether `rule` alone reads all of `text` (a silent rule leaves no token to measure: it
    /// only has to match).
    fn reads_whole(&self, rule: &str, text: &str) -> bool {
        self.vm.parse(rule, text).is_ok_and(|pairs| {
            pairs
                .last()
                .is_some_and(|p| p.as_span().end() == text.len())
        }) || self.rules[rule].ty == RuleType::Silent && self.vm.parse(rule, text).is_ok()
    }
}

/// The tags a line may start with, before the rule its message is.
const TAGS: &[&str] = &["scp_tag", "level", "severity", "func_prefix"];

#[test]
fn every_example_line_in_the_grammar_is_read_by_its_own_rule() {
    let grammar = Grammar::load();
    let events = grammar.events();
    let mut wrong = Vec::new();
    for (rule, example, number) in grammar.examples() {
        let read_as = grammar.rules_of(&example);
        let message = read_as.iter().find(|r| !TAGS.contains(&r.as_str()));
        let fits = if events.contains(&rule) {
            // An event's example is that event, and nothing else, as a whole line.
            message == Some(&rule)
        } else {
            // A token or tag: the line holds it, or the example is the token itself.
            read_as.contains(&rule) || grammar.reads_whole(&rule, &example)
        };
        if !fits {
            wrong.push(format!(
                "openssh.pest:{number}: `{example}` documents `{rule}` but is read as {}",
                message.map_or("nothing", String::as_str)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_event_rule_has_an_example_that_becomes_a_typed_event() {
    let grammar = Grammar::load();
    let examples = grammar.examples();
    let events = grammar.events();
    assert!(events.len() > 60, "only {} event rules found", events.len());
    let mut wrong = Vec::new();
    for event in &events {
        let lines: Vec<&str> = examples
            .iter()
            .filter(|(rule, ..)| rule == event)
            .map(|(_, line, _)| line.as_str())
            .collect();
        if lines.is_empty() {
            wrong.push(format!("`{event}` has no `///` example line"));
        }
        for line in lines {
            let classified = classify(line);
            if classified.event.is_other() {
                wrong.push(format!("`{event}`: `{line}` becomes Event::Other"));
            }
            assert_eq!(classified, classify_full(line), "{line}");
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
