//! Routing: which connection each line belongs to, when one input holds several runs, retries
//! (ConnectionAttempts) or a jump host's ssh printing into its target's log (ProxyJump).

use crate::event::{Classified, Event};
use crate::normalize::Line;

use super::lines::{LineRef, LineStore};
use super::session::Session;
use super::vocab::{Milestone, Outcome, Phase, Program, Role};
use super::{Timeline, MAX_SESSIONS};
use crate::event::{RoutineRun, RunLines};

/// Builds a [`Timeline`] one classified line at a time.
#[derive(Debug, Default, Clone)]
pub struct TimelineBuilder {
    timeline: Timeline,
    next_id: usize,
    /// Index of the session the previous line went to (un-attributed lines follow it).
    current: Option<usize>,
    /// Index of the jump-host session whose log is interleaved with its target's right now.
    active_jump: Option<usize>,
}

impl TimelineBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts lines read, and how many of them were cut.
    pub fn note_lines_read(&mut self, lines: u64, truncated: u64) {
        self.timeline.lines_read += lines;
        self.timeline.lines_truncated += truncated;
    }

    /// Adds one line; gives it back (the timeline keeps copies of what it keeps), so the reader
    /// can reuse its buffers.
    pub fn push(&mut self, line: Line, classified: &Classified) -> LineRef {
        let index = self.route(line.number, &classified.event);
        self.current = Some(index);
        let session = &mut self.timeline.sessions[index];
        if classified.from_scp {
            session.note_program(Program::Scp);
        }
        session.apply(line, classified)
    }

    /// Adds a run of routine lines as [`push`](Self::push) of each would: `lines` gives the
    /// number and text of each of the `run.count` lines by its place in the run.
    pub fn push_routine<'a>(&mut self, run: &RoutineRun, lines: &impl RunLines<'a>) {
        // What a routine line says moves no session on, so all of them go where the first goes.
        let index = self.route(run.first, &Event::Other);
        self.current = Some(index);
        let session = &mut self.timeline.sessions[index];
        if run.from_scp {
            session.note_program(Program::Scp);
        }
        session.apply_routine(run, lines);
    }

    pub fn finish(self) -> Timeline {
        self.timeline
    }

    /// The session the latest line went to.
    pub fn current(&self) -> Option<&Session> {
        self.current.and_then(|i| self.timeline.sessions.get(i))
    }

    /// Decides which connection line `number` belongs to, starting a new one where the log does.
    fn route(&mut self, number: u64, event: &Event) -> usize {
        let Some(current) = self.current else {
            return self.start(number, Role::Direct, None);
        };
        let session = &self.timeline.sessions[current];
        match event {
            // Pasted shell sessions: each command run at a prompt is a new connection, once the
            // one before has printed anything.
            Event::CommandTyped(_) if session.openssh_lines > 0 => {
                self.active_jump = None;
                self.start(number, Role::Direct, None)
            }
            Event::ClientVersion { .. } => {
                // A proxy command that is itself an ssh (ProxyJump) prints its own log into ours.
                if let Some(parent) = self.waiting_on_proxy() {
                    let parent_id = self.timeline.sessions[parent].id;
                    let jump = self.start(number, Role::JumpHost, Some(parent_id));
                    self.active_jump = Some(jump);
                    return jump;
                }
                // Another run pasted after this one: it already had its version line or got further.
                if session.client_version.is_some() || session.frontier > Phase::Config {
                    self.active_jump = None;
                    return self.start(number, Role::Direct, None);
                }
                current
            }
            Event::Connecting { address, .. } if self.active_jump.is_none() => {
                // ConnectionAttempts: the same address tried again is a new attempt.
                let retry = session.failed_attempts.iter().any(|(a, _)| a == address)
                    && !session.reached(Milestone::TcpConnected);
                if retry {
                    // The attempt before this one ended with its connect error.
                    let previous = &mut self.timeline.sessions[current];
                    if let Some((_, error)) = previous.failed_attempts.last().cloned() {
                        previous.fail(Some(Phase::Connect), &error);
                    }
                    return self.start(number, Role::Direct, None);
                }
                current
            }
            _ => match self.active_jump {
                Some(jump) => self.route_between_jump_and_target(jump, event),
                None => current,
            },
        }
    }

    /// While a jump host's ssh and the target's ssh both print, a line goes to the jump host's log
    /// unless that connection is already past what the line reports.
    fn route_between_jump_and_target(&self, jump: usize, event: &Event) -> usize {
        let sessions = &self.timeline.sessions;
        let session = &sessions[jump];
        let Some(parent) = session
            .parent
            .and_then(|id| sessions.iter().position(|s| s.id == id))
        else {
            return jump;
        };
        if sessions[parent].reached(Milestone::Authenticated) {
            return parent;
        }
        let to_parent = match event {
            Event::RemoteVersion { .. }
            | Event::BannerExchangeFailed { .. }
            | Event::BannerTimeout
            | Event::LocalVersion { .. }
            | Event::IdentityFile { .. } => session.reached(Milestone::BannerReceived),
            Event::ConnectionLost { through_proxy, .. } => *through_proxy,
            Event::SftpConnectionClosed
            | Event::ScpError { .. }
            | Event::SftpMessageTooLong { .. } => true,
            _ => session.reached(Milestone::Authenticated) && event_is_pre_auth(event),
        };
        if to_parent {
            parent
        } else {
            jump
        }
    }

    /// The top-level session that is waiting for its proxy command's connection, if any.
    fn waiting_on_proxy(&self) -> Option<usize> {
        let index = self
            .timeline
            .sessions
            .iter()
            .rposition(|s| s.role == Role::Direct)?;
        let session = &self.timeline.sessions[index];
        (self.active_jump.is_none()
            && session.has_proxy
            && !session.reached(Milestone::BannerReceived)
            && session.outcome() == Outcome::Incomplete)
            .then_some(index)
    }

    fn start(&mut self, first_line: u64, role: Role, parent: Option<usize>) -> usize {
        let sessions = &mut self.timeline.sessions;
        let mut lines = LineStore::default();
        if sessions.len() >= MAX_SESSIONS {
            // Keep the first connections and the latest; the middle ones are only counted. Indexes
            // held by the builder shift with the removal.
            let gone = MAX_SESSIONS / 2;
            lines = sessions.remove(gone).lines.emptied();
            self.timeline.sessions_dropped += 1;
            let shift = |i: usize| if i > gone { i - 1 } else { i };
            self.current = self.current.filter(|&i| i != gone).map(shift);
            self.active_jump = self.active_jump.filter(|&i| i != gone).map(shift);
        }
        let id = self.next_id;
        self.next_id += 1;
        let mut session = Session::new(id, role, parent, first_line);
        session.lines = lines;
        sessions.push(session);
        sessions.len() - 1
    }
}

/// Events that happen before authentication: once the jump host is authenticated, these come from
/// the target's ssh.
fn event_is_pre_auth(event: &Event) -> bool {
    matches!(
        event,
        Event::KexProposal { .. }
            | Event::KexAlgorithms { .. }
            | Event::KexChosen { .. }
            | Event::KexCipher { .. }
            | Event::KexExpecting { .. }
            | Event::NoMatchingAlgorithm { .. }
            | Event::SshMessage { .. }
            | Event::ServerHostKey { .. }
            | Event::HostKeyKnown { .. }
            | Event::HostKeyAdded { .. }
            | Event::HostKeyChanged
            | Event::HostKeyOffending { .. }
            | Event::HostKeyStrictUnknown { .. }
            | Event::HostKeyStrictChanged { .. }
            | Event::HostKeyVerificationFailed
            | Event::AuthenticatingAs { .. }
            | Event::WillAttemptKey(..)
            | Event::AuthMethods { .. }
            | Event::NextAuthMethod { .. }
            | Event::OfferingKey(..)
            | Event::ServerAcceptsKey(..)
            | Event::Authenticated { .. }
            | Event::PermissionDenied { .. }
            | Event::NoMoreAuthMethods
    )
}
