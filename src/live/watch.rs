//! While the connection is being set up: the status line (only in the phases where ssh can ask
//! nothing on the terminal) and the hang check, paused while ssh waits for the user.

use std::time::{Duration, Instant};

use super::screen::Screen;
use crate::analyze::Analyzer;
use crate::rules::RuleSet;
use crate::timeline::{Outcome, Phase, Program, Session};
use crate::verdict::Verdict;

pub struct Watch {
    program: Program,
    hang_after: Duration,
    last_progress: Instant,
    hang_reported: bool,
}

impl Watch {
    pub fn new(hang_after: Duration, program: Program) -> Self {
        Watch {
            program,
            hang_after,
            last_progress: Instant::now(),
            hang_reported: false,
        }
    }

    pub fn progress(&mut self) {
        self.last_progress = Instant::now();
        self.hang_reported = false;
    }

    pub fn tick(&mut self, analyzer: &Analyzer, rules: &RuleSet, screen: &Screen, start: Instant) {
        let Some(session) = analyzer.current() else {
            return;
        };
        if !setting_up(session) {
            screen.clear_status();
            return;
        }
        if session.asking_user.is_some() || screen.prompting() {
            // The user's time: the hang timer starts again once the answer's line comes.
            screen.clear_status();
            self.progress();
            return;
        }
        if no_prompt_before(session.frontier) {
            screen.status(&format!(
                "vvvexplain: {} ({})… {:.1}s",
                session.frontier.describe(),
                session.frontier.id(),
                start.elapsed().as_secs_f64()
            ));
        }
        let stalled = self.last_progress.elapsed();
        if stalled >= self.hang_after && !self.hang_reported {
            self.hang_reported = true;
            let Some(verdict) = Verdict::build(&analyzer.snapshot(), rules) else {
                return;
            };
            screen.lines(&format!(
                "vvvexplain: no progress for {}s. {}\n\
                 vvvexplain: the full explanation follows when {} ends (Ctrl-C ends it now)\n",
                stalled.as_secs(),
                verdict.decision.summary,
                self.program.id()
            ));
        }
    }
}

/// The connection is not up yet and has not failed.
fn setting_up(session: &Session) -> bool {
    session.setup_done_millis.is_none() && session.outcome() == Outcome::Incomplete
}

/// No question can come to the terminal until the client has moved past this phase: the first
/// (the host key) needs the server's key exchange reply, and a status line drawn while that
/// reply is awaited could meet the question on the same line.
fn no_prompt_before(phase: Phase) -> bool {
    phase < Phase::Kex
}
