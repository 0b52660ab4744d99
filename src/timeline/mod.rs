//! The timeline: folds the events of one input into connections (sessions), each a sequence of
//! phases with a status, line range, key line and facts, and the milestones it reached.
//!
//! It keeps only what a verdict needs (facts, milestones, a bounded set of lines), so memory does
//! not grow with the length of the log.

mod fold;
mod lines;
mod routing;
mod session;
mod vocab;

pub use lines::{KeptLine, LineRef, LineStore};
pub use routing::TimelineBuilder;
pub use session::{PhaseRecord, Session, SlowStep};
pub use vocab::{Expecting, Milestone, Outcome, Phase, Program, Role, UserQuestion};

/// All the connections one input holds.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    pub sessions: Vec<Session>,
    /// Sessions left out of a very long input with many connections (only a count is kept).
    pub sessions_dropped: usize,
    /// Lines read in all (including wrappers and lines outside any connection).
    pub lines_read: u64,
    /// Lines that were cut because they were too long.
    pub lines_truncated: u64,
}

/// How many connections are kept in detail; past that, the middle ones are dropped (counted).
pub(crate) const MAX_SESSIONS: usize = 32;

impl Timeline {
    /// The connection the verdict is about: the last one the user started (not a jump host).
    pub fn deciding(&self) -> Option<&Session> {
        // A version line alone is the answer to `ssh -V` in a pasted shell session: no connection.
        let connection = |s: &&Session| !(s.openssh_lines == 1 && s.client_version.is_some());
        let direct = |s: &&Session| s.role == Role::Direct;
        let sessions = || self.sessions.iter().rev();
        sessions()
            .filter(connection)
            .find(direct)
            .or_else(|| sessions().find(direct))
            .or_else(|| self.sessions.last())
    }

    /// The jump-host connections made on behalf of `session`.
    pub fn jumps_of(&self, session: &Session) -> impl Iterator<Item = &Session> {
        let id = session.id;
        self.sessions.iter().filter(move |s| s.parent == Some(id))
    }

    pub fn has_openssh_lines(&self) -> bool {
        self.sessions.iter().any(|s| s.openssh_lines > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::lines::{HEAD_LINES, STORED_TEXT_BYTES, TAIL_LINES};
    use super::*;
    use crate::event::{Classified, RoutineLine, RoutineRun};
    use crate::normalize::Line;

    /// Line `number` of a log, untimed, as the reader gives it to the builder.
    fn push(builder: &mut TimelineBuilder, number: u64, text: &str) {
        let line = Line {
            number,
            text: text.to_string(),
            time: None,
            millis: None,
            truncated: false,
        };
        let _ = builder.push(line, &crate::event::classify(text));
    }

    #[test]
    fn a_run_of_routine_lines_in_one_step_is_each_line_in_turn() {
        // Past the kept head and through the ring of last lines; requests of both phases, the
        // first of each phase inside the run; scp's own lines; a line too long to keep whole.
        let long = format!("debug3: {}", "y".repeat(STORED_TEXT_BYTES + 10));
        let pattern = [
            "debug2: channel 0: rcvd adjust 65536",
            "debug3: Sent message SSH2_FXP_REALPATH I:0",
            "scp: debug3: In write loop, ack for 6 3 bytes at 0",
            "debug3: Sent message SSH2_FXP_WRITE I:7 O:0 S:3",
            long.as_str(),
            "debug1: channel 0: window 1 sent adjust 2",
        ];
        let texts: Vec<&str> = std::iter::once("debug1: Sending subsystem: sftp")
            .chain(
                pattern
                    .iter()
                    .copied()
                    .cycle()
                    .take(HEAD_LINES + 3 * TAIL_LINES + 7),
            )
            .collect();
        let line = |i: usize| Line {
            number: i as u64 + 1,
            text: texts[i].to_string(),
            time: None,
            millis: None,
            truncated: false,
        };
        let classified: Vec<Classified> = texts.iter().map(|t| crate::event::classify(t)).collect();
        let mut each = TimelineBuilder::new();
        for (i, classified) in classified.iter().enumerate() {
            let _ = each.push(line(i), classified);
        }
        let mut at_once = TimelineBuilder::new();
        let _ = at_once.push(line(0), &classified[0]);
        let mut lines = (1..texts.len())
            .map(|i| RoutineLine::of(i as u64 + 1, false, classified[i].clone()).expect("routine"));
        let mut run = RoutineRun::of(&lines.next().expect("lines"));
        lines.for_each(|line| run.add(&line));
        let numbered = |at: usize| texts.get(at + 1).map(|&text| (at as u64 + 2, text));
        at_once.push_routine(&run, &numbered);
        let (each, at_once) = (each.finish(), at_once.finish());
        assert!(each.sessions[0].phase(Phase::Transfer).key_line.is_some());
        assert_eq!(format!("{at_once:?}"), format!("{each:?}"));
    }

    #[test]
    fn a_connection_after_one_dropped_keeps_only_its_own_lines() {
        let mut builder = TimelineBuilder::new();
        let runs = MAX_SESSIONS + 3;
        for run in 0..runs {
            for (i, text) in [
                "OpenSSH_9.2p1 Debian-2+deb12u6, OpenSSL 3.0.19",
                "debug1: x",
            ]
            .iter()
            .enumerate()
            {
                push(&mut builder, (2 * run + i + 1) as u64, text);
            }
        }
        let timeline = builder.finish();
        assert_eq!(timeline.sessions_dropped, runs - MAX_SESSIONS);
        let last = timeline.sessions.last().unwrap();
        let kept: Vec<u64> = last.lines.iter().map(|l| l.line).collect();
        let first = 2 * (runs as u64 - 1) + 1;
        assert_eq!(kept, [first, first + 1]);
        assert_eq!(last.lines.dropped(), 0);
    }

    #[test]
    fn line_store_keeps_head_notable_and_tail_in_order() {
        let mut store = LineStore::default();
        let total = HEAD_LINES + 3 * TAIL_LINES;
        for n in 1..=total as u64 {
            let line = LineRef {
                line: n,
                text: format!("line {n}"),
                time: (n % 3 == 0).then(|| format!("t{n}")),
                millis: Some(n),
            };
            store.push(&line, n % 100 == 0);
        }
        let kept: Vec<KeptLine> = store.iter().collect();
        assert!(kept.windows(2).all(|w| w[0].line < w[1].line));
        for line in &kept {
            assert_eq!(line.text, format!("line {}", line.line));
            let time = format!("t{}", line.line);
            assert_eq!(line.time, (line.line % 3 == 0).then_some(time.as_str()));
            assert_eq!(line.millis, Some(line.line));
        }
        let notable = (HEAD_LINES + 1..=total - TAIL_LINES)
            .filter(|n| n % 100 == 0)
            .count();
        assert_eq!(kept.len(), HEAD_LINES + notable + TAIL_LINES);
        assert_eq!(kept.last().map(|l| l.line), Some(total as u64));
        assert_eq!(
            store.dropped(),
            (total - HEAD_LINES - TAIL_LINES - notable) as u64
        );
    }

    #[test]
    fn a_session_keeps_the_first_line_of_each_event_it_saw() {
        let texts = [
            "OpenSSH_9.2p1 Debian-2+deb12u6, OpenSSL 3.0.19",
            "debug1: Offering public key: /home/alice/.ssh/id_ed25519 ED25519 SHA256:abc explicit",
            "debug1: Offering public key: /home/alice/.ssh/id_rsa RSA SHA256:def explicit",
            "debug3: send packet: type 50",
        ];
        let mut builder = TimelineBuilder::new();
        for (i, text) in texts.iter().enumerate() {
            push(&mut builder, i as u64 + 1, text);
        }
        let timeline = builder.finish();
        let session = &timeline.sessions[0];
        let line = |event: &str| session.first_event_line(event).map(|l| l.line);
        assert_eq!(line("client_version"), Some(1));
        assert_eq!(line("offering_key"), Some(2));
        assert_eq!(line("no_mutual_signature"), None);
        assert!(crate::event::event_names().contains(&"offering_key"));
        assert_eq!(crate::event::event_names()[0], "client_version");
    }
}
