//! One connection's story: its phases, milestones, facts and kept lines, and the steps the fold
//! takes on it (touch a phase, reach a milestone, fail, end).

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::event::EventKind;
use crate::facts::{Fact, FactValue, Facts};

use super::lines::{keep_latest, LineRef, LineStore};
use super::vocab::{Expecting, Milestone, Outcome, Phase, Program, Role, UserQuestion};

/// What one phase of one connection looked like.
#[derive(Debug, Clone, Default)]
pub struct PhaseRecord {
    pub first_line: Option<u64>,
    pub last_line: Option<u64>,
    /// The line that sums the phase up: its milestone or its failure.
    pub key_line: Option<LineRef>,
    pub facts: Facts,
    /// Times of the phase's first and last timed lines, when the log has times.
    pub first_millis: Option<u64>,
    pub last_millis: Option<u64>,
}

/// The longest wait between two lines while the connection was being set up.
#[derive(Debug, Clone)]
pub struct SlowStep {
    pub millis: u64,
    /// The phase the connection was in while it waited.
    pub phase: Phase,
    /// The line before the wait, and the line that ended it.
    pub after: LineRef,
    pub before: LineRef,
}

/// One connection's story.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: usize,
    pub role: Role,
    /// The session this one is the jump host of (ProxyJump).
    pub parent: Option<usize>,
    pub first_line: u64,
    pub last_line: u64,
    pub program: Option<Program>,
    /// The highest `-v` level seen (0 = no debug lines).
    pub verbosity: u8,
    pub client_version: Option<String>,
    pub phases: [PhaseRecord; 12],
    /// Each milestone with the first line that proved it.
    pub milestones: BTreeMap<Milestone, LineRef>,
    pub last_milestone: Option<(Milestone, LineRef)>,
    /// The first failure line and the phase it failed.
    pub failure: Option<(Phase, LineRef)>,
    /// Lines that are worth a look but did not end the connection (bounded).
    pub warnings: Vec<LineRef>,
    pub ended: Option<LineRef>,
    /// The end is only a log without -v showing a file done: a failure after it still counts.
    pub(super) ended_by_meter: bool,
    pub interrupted: Option<LineRef>,
    /// What the client said it waits for, and the line that said so, until a later milestone
    /// shows the wait is over.
    pub expecting: Option<(Expecting, LineRef)>,
    /// The authentication method being tried, until the user is authenticated.
    pub auth_method: Option<String>,
    /// The question ssh may be asking on the terminal right now: after the line that precedes
    /// it, until the next line (the host key question: until the key is accepted or refused).
    pub asking_user: Option<UserQuestion>,
    /// Time spent waiting for the user's answers (logs with times only): never a slow step.
    pub user_wait_millis: u64,
    /// The phase the connection is in: where a failure without a phase of its own belongs.
    pub frontier: Phase,
    pub lines: LineStore,
    /// How many lines and how many OpenSSH lines (known events or debug lines) it has.
    pub line_count: u64,
    pub openssh_lines: u64,
    /// The last line that the grammar knew (for logs that stop).
    pub last_event: Option<LineRef>,
    /// The longest wait before the session was up (logs with times only).
    pub slowest_setup_step: Option<SlowStep>,
    /// Clock times of the first timed line and of the moment the session was up.
    pub first_millis: Option<u64>,
    pub setup_done_millis: Option<u64>,
    pub last_timed: Option<LineRef>,
    /// When the client ended, if a live run saw it (a log does not say).
    pub client_ended_millis: Option<u64>,
    pub(super) in_server_proposal: bool,
    pub(super) has_proxy: bool,
    /// The first line of each kind of event the grammar typed, and which kinds those are.
    first_events: Vec<(EventKind, LineRef)>,
    seen_events: u128,
    /// Each address whose connect attempt failed, with its failure line, in order (bounded like
    /// the warnings): the same address tried again is ConnectionAttempts' next attempt.
    pub(super) failed_attempts: Vec<(String, LineRef)>,
}

pub(super) const MAX_WARNINGS: usize = 50;

impl Session {
    pub(super) fn new(id: usize, role: Role, parent: Option<usize>, first_line: u64) -> Self {
        Session {
            id,
            role,
            parent,
            first_line,
            last_line: first_line,
            program: None,
            verbosity: 0,
            client_version: None,
            phases: Default::default(),
            milestones: BTreeMap::new(),
            last_milestone: None,
            failure: None,
            warnings: Vec::new(),
            ended: None,
            ended_by_meter: false,
            interrupted: None,
            expecting: None,
            auth_method: None,
            asking_user: None,
            user_wait_millis: 0,
            frontier: Phase::Config,
            lines: LineStore::default(),
            line_count: 0,
            openssh_lines: 0,
            last_event: None,
            slowest_setup_step: None,
            first_millis: None,
            setup_done_millis: None,
            last_timed: None,
            client_ended_millis: None,
            in_server_proposal: false,
            has_proxy: false,
            first_events: Vec::new(),
            seen_events: 0,
            failed_attempts: Vec::new(),
        }
    }

    pub fn phase(&self, phase: Phase) -> &PhaseRecord {
        &self.phases[phase.index()]
    }

    pub fn reached(&self, milestone: Milestone) -> bool {
        self.milestones.contains_key(&milestone)
    }

    /// How the connection ended.
    pub fn outcome(&self) -> Outcome {
        if self.failure.is_some() {
            Outcome::Failure
        } else if self.ended.is_some() {
            Outcome::Success
        } else {
            Outcome::Incomplete
        }
    }

    /// The phase that failed, or for a log that stops, the phase it stopped in.
    pub fn failed_phase(&self) -> Option<Phase> {
        match (&self.failure, self.outcome()) {
            (Some((phase, _)), _) => Some(*phase),
            (None, Outcome::Incomplete) => Some(self.frontier),
            _ => None,
        }
    }

    /// Every fact of every phase (later phases win on a repeated fact).
    pub fn facts(&self) -> Facts {
        let mut all = Facts::default();
        for record in &self.phases {
            all.extend(&record.facts);
        }
        all
    }

    pub fn fact(&self, fact: Fact) -> Option<&FactValue> {
        self.phases.iter().rev().find_map(|p| p.facts.get(fact))
    }

    /// The fact as text, as rule patterns match it.
    pub fn fact_text(&self, fact: Fact) -> Option<Cow<'_, str>> {
        self.phases.iter().rev().find_map(|p| p.facts.text(fact))
    }

    pub fn has_fact(&self, fact: Fact) -> bool {
        self.phases.iter().any(|p| p.facts.contains(fact))
    }

    /// The first line of this connection that the grammar typed as the event `name` (a rule of
    /// `grammar/openssh.pest`, see [`crate::event::event_names`]).
    pub fn first_event_line(&self, name: &str) -> Option<&LineRef> {
        self.first_events
            .iter()
            .find(|(kind, _)| kind.name() == name)
            .map(|(_, line)| line)
    }

    /// The phases that apply to this connection, in order: those it touched, and those its
    /// program goes through.
    pub fn applicable_phases(&self) -> Vec<Phase> {
        let sftp_like = matches!(self.program, Some(Program::Sftp))
            || self.has_fact(Fact::Subsystem)
            || self.phase(Phase::Sftp).first_line.is_some();
        let exec_like = !sftp_like || self.phase(Phase::Session).first_line.is_some();
        let transfer = sftp_like || matches!(self.program, Some(Program::Scp));
        Phase::ALL
            .into_iter()
            .filter(|&p| match p {
                Phase::Session => exec_like,
                Phase::Sftp => sftp_like,
                Phase::Transfer => transfer || self.phase(p).first_line.is_some(),
                _ => true,
            })
            .collect()
    }

    /// The facts learned in `phase`, to set.
    pub(super) fn facts_of(&mut self, phase: Phase) -> &mut Facts {
        &mut self.phases[phase.index()].facts
    }

    /// Notes that `phase` has a line (the connection got at least that far); its first line is
    /// its key line until a milestone or a failure gives a better one.
    pub(super) fn touch(&mut self, phase: Phase, at: &LineRef) {
        self.advance(phase);
        let record = &mut self.phases[phase.index()];
        record.first_line.get_or_insert(at.line);
        record.last_line = Some(at.line);
        record.key_line.get_or_insert_with(|| at.clone());
        if let Some(millis) = at.millis {
            record.first_millis.get_or_insert(millis);
            record.last_millis = Some(millis);
        }
    }

    pub(super) fn advance(&mut self, phase: Phase) {
        if phase > self.frontier {
            self.frontier = phase;
        }
    }

    pub(super) fn reach(&mut self, milestone: Milestone, at: &LineRef) {
        // Progress after the client said it was waiting means the wait is over.
        self.expecting = None;
        self.ask_user(None);
        if milestone == Milestone::Authenticated {
            self.auth_method = None;
        }
        let phase = milestone.phase();
        self.touch(phase, at);
        self.milestones
            .entry(milestone)
            .or_insert_with(|| at.clone());
        // The version line stays the key line of the config phase.
        if milestone != Milestone::ConfigRead {
            self.phases[phase.index()].key_line = Some(at.clone());
        }
        self.last_milestone = Some((milestone, at.clone()));
        self.advance(milestone.next_phase());
        if matches!(
            milestone,
            Milestone::ChannelOpenConfirmed
                | Milestone::SessionStarted
                | Milestone::SubsystemAccepted
        ) {
            self.setup_done_millis = self.setup_done_millis.or(at.millis);
        }
    }

    pub(super) fn warn(&mut self, at: &LineRef) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(at.clone());
        }
    }

    pub(super) fn fail(&mut self, phase: Option<Phase>, at: &LineRef) {
        // After a clean end, what follows is the connection being torn down, not a failure.
        if self.ended.is_some() {
            self.warn(at);
            return;
        }
        let phase = phase.unwrap_or(self.frontier);
        self.touch(phase, at);
        self.ask_user(None);
        if self.failure.is_none() {
            self.phases[phase.index()].key_line = Some(at.clone());
            self.failure = Some((phase, at.clone()));
        } else {
            self.warn(at);
        }
    }

    pub(super) fn end(&mut self, at: &LineRef) {
        self.touch(Phase::Disconnect, at);
        self.ended.get_or_insert_with(|| at.clone());
    }

    pub(super) fn note_program(&mut self, program: Program) {
        // scp's own line wins over what the ssh under it suggests.
        if self.program.is_none() || program == Program::Scp {
            self.program = Some(program);
        }
    }

    /// The channel is open: said by its confirmation, or shown by what only an open channel
    /// carries (a command, a subsystem, the environment sent).
    pub(super) fn confirm_channel(&mut self, at: &LineRef) {
        if !self.reached(Milestone::ChannelOpenConfirmed) {
            self.reach(Milestone::ChannelOpenConfirmed, at);
        }
    }

    /// Keeps the first line of each kind of event the grammar typed.
    pub(super) fn note_event_kind(&mut self, kind: EventKind, at: &LineRef) {
        let bit = 1u128 << kind.index();
        if self.seen_events & bit == 0 {
            self.seen_events |= bit;
            self.first_events.push((kind, at.clone()));
        }
    }

    /// Notes the question ssh may be asking now (or that none is), with a fact rules can read.
    pub(super) fn ask_user(&mut self, question: Option<UserQuestion>) {
        if let Some(asked) = self.asking_user.take() {
            self.facts_of(asked.phase()).remove(Fact::WaitingForUser);
        }
        if let Some(question) = question {
            self.facts_of(question.phase())
                .set(Fact::WaitingForUser, question.id());
        }
        self.asking_user = question;
    }

    /// A line came: unless ssh is still asking (the host key question lasts until the key is
    /// accepted or refused; an askpass request is the question itself), the answer came.
    pub(super) fn answer_came(&mut self, still_asking: bool) {
        if self.asking_user != Some(UserQuestion::HostKey) && !still_asking {
            self.ask_user(None);
        }
    }

    /// A live run saw the client end at `millis`: the wait after its last line (a hang ended by
    /// Ctrl-C or a timeout prints nothing) counts like the waits between lines.
    pub fn client_ended_at(&mut self, millis: u64) {
        let Some(last) = self.last_timed.clone() else {
            return;
        };
        self.note_time(&LineRef {
            millis: Some(millis),
            ..last
        });
        self.client_ended_millis = Some(millis);
    }

    /// Keeps the longest wait between two lines until the session is up.
    pub(super) fn note_time(&mut self, at: &LineRef) {
        let Some(now) = at.millis else { return };
        if let (Some(prev), None) = (&self.last_timed, self.setup_done_millis) {
            let gap = now.saturating_sub(prev.millis.unwrap_or(now));
            if self.asking_user.is_some() {
                self.user_wait_millis += gap;
            } else if self
                .slowest_setup_step
                .as_ref()
                .is_none_or(|s| gap > s.millis)
            {
                self.slowest_setup_step = Some(SlowStep {
                    millis: gap,
                    phase: self.frontier,
                    after: prev.clone(),
                    before: at.clone(),
                });
            }
        }
        self.first_millis.get_or_insert(now);
        keep_latest(&mut self.last_timed, at);
    }

    /// Counts `count` lines up to line `last`, the loudest at `verbosity`; `openssh` of them
    /// are OpenSSH's own (known events or debug lines).
    pub(super) fn count_lines(&mut self, last: u64, count: u64, verbosity: u8, openssh: u64) {
        self.last_line = last;
        self.line_count += count;
        self.openssh_lines += openssh;
        self.verbosity = self.verbosity.max(verbosity);
    }
}
