//! Reading in batches changes nothing: a long log gives the same timeline whether its lines are
//! given one by one to an `Analyzer` (as a live run does) or read in batches (where runs of
//! routine lines go to the timeline in one step each), on this thread alone or, past the first
//! `PARALLEL_AFTER` lines, on classifier threads too.

use std::io::BufRead;

use vvvexplain::analyze::{read_lines, timeline_with_threads, Analyzer, PARALLEL_AFTER};
use vvvexplain::event::Event;
use vvvexplain::timeline::Timeline;

mod common;
mod sftp_session;

/// Every transcript, as recorded and as people paste it (CRLF, colours, timestamps, quoting,
/// fences, lines cut at 80 columns, a byte that is not UTF-8), over and over: many sessions, with
/// batch ends falling anywhere in them, well past the line where the threads start.
fn long_log() -> Vec<u8> {
    let transcripts: Vec<String> = common::all_transcripts()
        .iter()
        .map(|path| std::fs::read_to_string(path).expect("transcripts are readable"))
        .collect();
    let pasted = |text: &str, way: usize| -> Vec<u8> {
        let mut out = Vec::new();
        if way == 5 {
            out.extend_from_slice(b"```\n");
        }
        for line in text.lines() {
            match way {
                1 => out.extend_from_slice(format!("{line}\r\n").as_bytes()),
                2 => out.extend_from_slice(format!("[10:15:02.431] {line}\n").as_bytes()),
                3 => out.extend_from_slice(format!("> {line}\n>\n").as_bytes()),
                4 => out.extend_from_slice(format!("\u{1b}[2m{line}\u{1b}[0m\n").as_bytes()),
                6 => {
                    for piece in line.as_bytes().chunks(80) {
                        out.extend_from_slice(piece);
                        out.push(b'\n');
                    }
                }
                7 => {
                    out.extend_from_slice(line.as_bytes());
                    out.extend_from_slice(b" \xff\n");
                }
                _ => {
                    out.extend_from_slice(line.as_bytes());
                    out.push(b'\n');
                }
            }
        }
        if way == 5 {
            out.extend_from_slice(b"```\n");
        }
        out
    };
    let mut log = Vec::new();
    let mut way = 0;
    while log.iter().filter(|&&b| b == b'\n').count() < 3 * PARALLEL_AFTER as usize {
        for text in &transcripts {
            log.extend(pasted(text, way % 8));
            way += 1;
        }
    }
    // The last line without its line end.
    log.extend_from_slice(b"debug1: Exit status 0");
    log
}

/// The timeline of `log` given line by line to an analyzer.
fn line_by_line(log: impl BufRead) -> Timeline {
    let mut analyzer = Analyzer::new();
    read_lines(log, |raw, truncated| analyzer.push(raw, truncated))
        .expect("reading from memory cannot fail");
    analyzer.finish()
}

/// The timeline of `log` given line by line, after checking that reading it in batches with 0,
/// 1 and 3 classifier threads gives the same.
fn same_with_threads(log: &[u8]) -> Timeline {
    let alone = line_by_line(log);
    assert!(alone.lines_read > 3 * PARALLEL_AFTER);
    let expected = format!("{alone:?}");
    for threads in [0, 1, 3] {
        let shared = timeline_with_threads(log, Some(threads)).expect("reading from memory");
        assert!(
            format!("{shared:?}") == expected,
            "batches with {threads} classifier thread(s) changed the timeline"
        );
    }
    alone
}

#[test]
fn batches_give_the_timeline_lines_one_by_one_give() {
    let timeline = same_with_threads(&long_log());
    assert!(timeline.sessions.len() > 2, "many sessions");
}

/// One long sftp session, as a long transfer log is: long stretches of routine lines (more than
/// the timeline keeps of a session's last lines), stretches where request lines come between
/// them, and now and then a timed line, a line of remote output and a line too long to keep whole.
fn long_session() -> Vec<u8> {
    long_session_with(true)
}

/// [`long_session`], with or without the requests of its recorded start.
fn long_session_with(requests_first: bool) -> Vec<u8> {
    let transcript = sftp_session::transcript();
    let debug: Vec<&str> = transcript
        .lines()
        .filter(|l| l.starts_with("debug"))
        .collect();
    let routine = sftp_session::routine_lines(&transcript);
    let long_line = format!("debug3: {}", "x".repeat(3000));
    let is_request = |line: &str| {
        let event = vvvexplain::event::classify(line).event;
        matches!(event, Event::SftpPacket { .. })
    };
    let mut log = Vec::new();
    let mut add = |line: &str| {
        log.extend_from_slice(line.as_bytes());
        log.extend_from_slice(b"\r\n");
    };
    for line in transcript.lines() {
        if requests_first || !is_request(line) {
            add(line);
        }
    }
    for round in 0..16 {
        routine
            .iter()
            .cycle()
            .take(2500 + round * 97)
            .for_each(|l| add(l));
        add(&format!(
            "[10:15:{:02}.431] {}",
            round,
            routine[round % routine.len()]
        ));
        add("remote output that is no OpenSSH line");
        add(&long_line);
        let middle = debug.iter().cycle().take(700);
        middle
            .filter(|l| requests_first || !is_request(l))
            .for_each(|l| add(l));
    }
    // A transfer cut off: its requests are the last events, and routine lines follow the last.
    let transfer: Vec<&str> = debug
        .iter()
        .copied()
        .filter(|line| vvvexplain::event::classify(line).event.is_other() || is_request(line))
        .collect();
    transfer.iter().cycle().take(3000).for_each(|l| add(l));
    routine.iter().take(2).for_each(|l| add(l));
    log
}

#[test]
fn batches_give_a_long_session_the_timeline_lines_one_by_one_give() {
    let timeline = same_with_threads(&long_session());
    assert_eq!(timeline.sessions.len(), 1, "one session");
    assert!(
        timeline.sessions[0].lines.dropped() > 0,
        "more lines than are kept"
    );
}

#[test]
fn batches_give_requests_first_seen_late_the_timeline_lines_one_by_one_give() {
    // The transfer's first request comes after the classifier threads start: the phase's first
    // line and key line are set in a run of routine lines.
    let timeline = same_with_threads(&long_session_with(false));
    assert_eq!(timeline.sessions.len(), 1, "one session");
}

/// Input that comes a few bytes at a time, as from a pipe.
struct Trickle<'a> {
    input: &'a [u8],
    at_most: usize,
}

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.at_most).min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

#[test]
fn batches_give_lines_cut_anywhere_the_timeline_lines_one_by_one_give() {
    // Past where the threads start: lines around the longest kept, and longer than a batch,
    // coming a few bytes at a time or more, so that lines, and lines being cut, span reads.
    let mut log = long_session();
    let cut_at = vvvexplain::normalize::MAX_LINE_BYTES + 1;
    for len in [cut_at - 1, cut_at, cut_at + 1, 3 * cut_at, 200_000] {
        let line = format!("debug3: {}\n", "z".repeat(len - "debug3: ".len()));
        log.extend_from_slice(line.as_bytes());
        log.extend_from_slice(b"debug1: channel 0: rcvd adjust 65536\r\n");
    }
    log.extend_from_slice(b"debug1: Exit status 0");
    for capacity in [7, 1000, 64 * 1024] {
        let trickle = || Trickle {
            input: &log[..],
            at_most: capacity,
        };
        let reader = || std::io::BufReader::with_capacity(capacity, trickle());
        let alone = line_by_line(reader());
        assert_eq!(alone.lines_truncated, 3, "lines longer than kept");
        let expected = format!("{alone:?}");
        let read = |threads| timeline_with_threads(reader(), Some(threads)).expect("from memory");
        for threads in [0, 1, 3] {
            assert!(
                format!("{:?}", read(threads)) == expected,
                "{threads} classifier thread(s) changed the timeline, buffer of {capacity}"
            );
        }
    }
}

#[test]
fn batches_give_a_last_request_placed_on_its_own_the_timeline_lines_one_by_one_give() {
    // The last request of the log is the last of its routine lines: the line after it is placed
    // on its own, and the request with it, as what it says.
    let mut log = long_session();
    log.extend_from_slice(b"debug3: Sent message SSH2_FXP_WRITE I:9 O:0 S:240\r\n");
    log.extend_from_slice(b"remote output that is no OpenSSH line\r\n");
    let timeline = same_with_threads(&log);
    let session = &timeline.sessions[0];
    assert_eq!(
        session.last_event.as_ref().map(|line| line.line),
        Some(timeline.lines_read - 1),
        "the request is the last event"
    );
}
