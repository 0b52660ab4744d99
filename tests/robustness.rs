//! No panics, no unbounded growth: random and mutated inputs always give a verdict or a clear
//! "no OpenSSH output" answer, and long inputs keep a bounded amount of state.

use std::path::Path;

use proptest::prelude::*;
use vvvexplain::analyze::timeline_of;
use vvvexplain::report::{self, Format, Styles};
use vvvexplain::rules::RuleSet;

mod common;

fn rules() -> &'static RuleSet {
    static RULES: std::sync::OnceLock<RuleSet> = std::sync::OnceLock::new();
    RULES.get_or_init(|| RuleSet::builtin().expect("built-in rules"))
}

/// The whole pipeline, every report format included.
fn run(input: &[u8]) {
    if let Some(verdict) =
        vvvexplain::explain(input, rules()).expect("reading from memory cannot fail")
    {
        for format in [Format::Human, Format::Json, Format::Markdown] {
            let mut out = Vec::new();
            report::write(
                &mut out,
                &verdict,
                format,
                &Styles::colored(),
                Some("input"),
            )
            .unwrap();
        }
    }
}

fn fixtures() -> Vec<Vec<u8>> {
    common::all_transcripts()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes(input in proptest::collection::vec(any::<u8>(), 0..4096)) {
        run(&input);
    }

    #[test]
    fn openssh_like_lines(lines in proptest::collection::vec(
        prop_oneof![
            Just("debug1: ".to_string()),
            Just("OpenSSH_9.2p1 Debian-2, OpenSSL 3.0".to_string()),
            "debug[1-3]: [ -~]{0,80}",
            "(Connection|channel [0-9]+|kex_exchange_identification|Permission denied|Received disconnect)[ -~]{0,60}",
            "[\\PC]{0,40}",
        ],
        0..200,
    )) {
        run(lines.join("\n").as_bytes());
    }

    #[test]
    fn mutated_transcripts(seed in any::<usize>(), cut in any::<usize>(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..16)) {
        let all = fixtures();
        let mut input = all[seed % all.len()].clone();
        for (at, byte) in flips {
            if !input.is_empty() {
                let i = at % input.len();
                input[i] = byte;
            }
        }
        input.truncate(cut % (input.len() + 1));
        run(&input);
    }
}

#[test]
fn every_truncation_of_a_transcript_gets_a_verdict() {
    let log =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/ok/fixtures/sftp-vvv.log"))
            .unwrap();
    let lines: Vec<&[u8]> = log.split(|&b| b == b'\n').collect();
    for n in 1..lines.len() {
        let cut = lines[..n].join(&b'\n');
        let verdict = vvvexplain::explain(&cut[..], rules()).unwrap();
        let verdict = verdict.unwrap_or_else(|| panic!("no verdict for the first {n} lines"));
        if n + 2 < lines.len() {
            assert_ne!(
                verdict.decision.outcome,
                vvvexplain::timeline::Outcome::Success,
                "cut at {n} lines"
            );
        }
    }
}

#[test]
fn state_stays_bounded_on_a_long_log() {
    let head =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/ok/fixtures/sftp-vvv.log"))
            .unwrap();
    let cut = head
        .windows(8)
        .position(|w| w == b"sftp> pu")
        .expect("the put command");
    let mut input = head[..cut].to_vec();
    for i in 0..200_000u32 {
        input.extend_from_slice(
            format!(
                "debug3: Sent message SSH2_FXP_WRITE I:{i} O:{} S:32768\n",
                u64::from(i) * 32768
            )
            .as_bytes(),
        );
    }
    input.extend_from_slice(&[b'x'; 100_000]);
    input.extend_from_slice(b"\n");
    let timeline = timeline_of(&input[..]).unwrap();
    let session = timeline.deciding().unwrap();
    assert!(
        session.lines.iter().count() <= 3_000,
        "kept {} lines",
        session.lines.iter().count()
    );
    assert!(session.lines.dropped() > 190_000);
    assert_eq!(timeline.lines_truncated, 1);
    assert!(session.lines.iter().all(|l| l.text.len() <= 1024 + 3));
}

#[test]
fn many_connections_keep_a_bounded_number_of_sessions() {
    let one = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/port-closed/fixtures/ssh-v.log"),
    )
    .unwrap();
    let input = one.repeat(500);
    let timeline = timeline_of(&input[..]).unwrap();
    assert!(timeline.sessions.len() <= 32);
    assert_eq!(timeline.sessions.len() + timeline.sessions_dropped, 500);
    let verdict = vvvexplain::verdict::Verdict::build(&timeline, rules()).unwrap();
    assert_eq!(verdict.decided_by, timeline.sessions.len() - 1);
}
