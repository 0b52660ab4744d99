//! The classifier's fast path (lines with none of the literals the grammar's events need skip
//! the full parse) never changes what a line means: checked on every line of every transcript.

mod common;

use vvvexplain::event::{classify, classify_full};

#[test]
fn the_fast_path_agrees_with_the_full_parse_on_every_recorded_line() {
    let mut lines = 0;
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
            assert_eq!(
                classify(line),
                classify_full(line),
                "{}: {line}",
                path.display()
            );
            lines += 1;
        }
    }
    assert!(lines > 10_000, "only {lines} lines checked");
}

#[test]
fn the_fast_path_is_taken_for_routine_lines() {
    // Not a timing test: the same answer, through the path that reads only the tags.
    for line in [
        "debug2: channel 0: rcvd adjust 2097152",
        "debug3: In write loop, ack for 6 3 bytes at 0",
        "hello",
    ] {
        assert!(classify(line).event.is_other(), "{line}");
        assert_eq!(classify(line), classify_full(line));
    }
}
