//! The timeline: folds the events of one input into connections (sessions), each a sequence of
//! phases with a status, line range, key line and facts, and the milestones it reached.
//!
//! It keeps only what a verdict needs (facts, milestones, a bounded set of lines), so memory does
//! not grow with the length of the log.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde::Serialize;

use crate::event::{Classified, Direction, Event, KeyInfo, Level, TypedCommand};
use crate::normalize::{Line, LineTexts};

/// The phases of an OpenSSH connection, in the order a connection goes through them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Config,
    Resolve,
    Connect,
    Banner,
    Kex,
    Hostkey,
    Auth,
    Channel,
    Session,
    Sftp,
    Transfer,
    Disconnect,
}

impl Phase {
    pub const ALL: [Phase; 12] = [
        Phase::Config,
        Phase::Resolve,
        Phase::Connect,
        Phase::Banner,
        Phase::Kex,
        Phase::Hostkey,
        Phase::Auth,
        Phase::Channel,
        Phase::Session,
        Phase::Sftp,
        Phase::Transfer,
        Phase::Disconnect,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Phase::Config => "config",
            Phase::Resolve => "resolve",
            Phase::Connect => "connect",
            Phase::Banner => "banner",
            Phase::Kex => "kex",
            Phase::Hostkey => "hostkey",
            Phase::Auth => "auth",
            Phase::Channel => "channel",
            Phase::Session => "session",
            Phase::Sftp => "sftp",
            Phase::Transfer => "transfer",
            Phase::Disconnect => "disconnect",
        }
    }

    /// What happens in the phase, in a user's words.
    pub fn describe(self) -> &'static str {
        match self {
            Phase::Config => "reading the client configuration",
            Phase::Resolve => "resolving the host name",
            Phase::Connect => "opening the TCP connection",
            Phase::Banner => "exchanging SSH version banners",
            Phase::Kex => "negotiating algorithms and session keys",
            Phase::Hostkey => "verifying the server's host key",
            Phase::Auth => "authenticating the user",
            Phase::Channel => "opening a channel on the authenticated connection",
            Phase::Session => "running the remote shell or command",
            Phase::Sftp => "starting the SFTP subsystem",
            Phase::Transfer => "transferring files",
            Phase::Disconnect => "closing the connection",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The points of progress that prove a step succeeded; the last one reached is "the last
/// successful message" the guides tell people to look for.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Milestone {
    ConfigRead,
    AddressResolved,
    TcpConnected,
    BannerReceived,
    KexinitSent,
    KexinitReceived,
    AlgorithmsAgreed,
    KexReplyReceived,
    HostKeyVerified,
    NewKeys,
    ServiceAccepted,
    Authenticated,
    ChannelOpenConfirmed,
    SessionStarted,
    SubsystemAccepted,
    SftpVersion,
    TransferStarted,
    SessionEnded,
}

impl Milestone {
    pub fn id(self) -> &'static str {
        match self {
            Milestone::ConfigRead => "config-read",
            Milestone::AddressResolved => "address-resolved",
            Milestone::TcpConnected => "tcp-connected",
            Milestone::BannerReceived => "banner-received",
            Milestone::KexinitSent => "kexinit-sent",
            Milestone::KexinitReceived => "kexinit-received",
            Milestone::AlgorithmsAgreed => "algorithms-agreed",
            Milestone::KexReplyReceived => "kex-reply-received",
            Milestone::HostKeyVerified => "host-key-verified",
            Milestone::NewKeys => "new-keys",
            Milestone::ServiceAccepted => "service-accepted",
            Milestone::Authenticated => "authenticated",
            Milestone::ChannelOpenConfirmed => "channel-open-confirmed",
            Milestone::SessionStarted => "session-started",
            Milestone::SubsystemAccepted => "subsystem-accepted",
            Milestone::SftpVersion => "sftp-version",
            Milestone::TransferStarted => "transfer-started",
            Milestone::SessionEnded => "session-ended",
        }
    }

    /// The milestone as the user knows it from the log.
    pub fn describe(self) -> &'static str {
        match self {
            Milestone::ConfigRead => "configuration read",
            Milestone::AddressResolved => "host name resolved",
            Milestone::TcpConnected => "TCP connection established",
            Milestone::BannerReceived => "server banner received",
            Milestone::KexinitSent => "KEXINIT sent",
            Milestone::KexinitReceived => "server KEXINIT received",
            Milestone::AlgorithmsAgreed => "algorithms agreed",
            Milestone::KexReplyReceived => "server's key exchange reply received",
            Milestone::HostKeyVerified => "host key verified",
            Milestone::NewKeys => "NEWKEYS: encryption on",
            Milestone::ServiceAccepted => "SERVICE_ACCEPT: ready to authenticate",
            Milestone::Authenticated => "authenticated",
            Milestone::ChannelOpenConfirmed => "CHANNEL_OPEN_CONFIRMATION received",
            Milestone::SessionStarted => "shell or command accepted",
            Milestone::SubsystemAccepted => "subsystem request accepted",
            Milestone::SftpVersion => "FXP_VERSION: SFTP server answered",
            Milestone::TransferStarted => "file transfer started",
            Milestone::SessionEnded => "session ended with an exit status",
        }
    }

    pub fn phase(self) -> Phase {
        match self {
            Milestone::ConfigRead => Phase::Config,
            Milestone::AddressResolved => Phase::Resolve,
            Milestone::TcpConnected => Phase::Connect,
            Milestone::BannerReceived => Phase::Banner,
            Milestone::KexinitSent
            | Milestone::KexinitReceived
            | Milestone::AlgorithmsAgreed
            | Milestone::KexReplyReceived
            | Milestone::NewKeys => Phase::Kex,
            Milestone::HostKeyVerified => Phase::Hostkey,
            Milestone::ServiceAccepted | Milestone::Authenticated => Phase::Auth,
            Milestone::ChannelOpenConfirmed => Phase::Channel,
            Milestone::SessionStarted => Phase::Session,
            Milestone::SubsystemAccepted | Milestone::SftpVersion => Phase::Sftp,
            Milestone::TransferStarted => Phase::Transfer,
            Milestone::SessionEnded => Phase::Disconnect,
        }
    }

    /// The phase a connection is in once this milestone is passed.
    fn next_phase(self) -> Phase {
        match self {
            Milestone::ConfigRead => Phase::Config,
            Milestone::AddressResolved => Phase::Connect,
            Milestone::TcpConnected => Phase::Banner,
            Milestone::BannerReceived => Phase::Kex,
            Milestone::HostKeyVerified | Milestone::NewKeys => Phase::Auth,
            Milestone::Authenticated => Phase::Channel,
            Milestone::ChannelOpenConfirmed | Milestone::SessionStarted => Phase::Session,
            Milestone::SubsystemAccepted => Phase::Sftp,
            Milestone::SftpVersion | Milestone::TransferStarted => Phase::Transfer,
            Milestone::SessionEnded => Phase::Disconnect,
            other => other.phase(),
        }
    }
}

/// The client program that printed the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Program {
    Ssh,
    Sftp,
    Scp,
}

impl Program {
    pub fn id(self) -> &'static str {
        match self {
            Program::Ssh => "ssh",
            Program::Sftp => "sftp",
            Program::Scp => "scp",
        }
    }
}

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
    Incomplete,
}

/// A line of the input, as shown in a verdict.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct LineRef {
    pub line: u64,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The time on a millisecond clock (see [`Line::millis`]), for durations.
    #[serde(skip)]
    pub millis: Option<u64>,
}

impl Clone for LineRef {
    fn clone(&self) -> Self {
        LineRef {
            line: self.line,
            text: self.text.clone(),
            time: self.time.clone(),
            millis: self.millis,
        }
    }

    /// Reuses this line's text buffer: the lines a session follows (its last event, its last
    /// timed line) change on most lines of a long log.
    fn clone_from(&mut self, source: &Self) {
        self.line = source.line;
        self.text.clone_from(&source.text);
        self.time.clone_from(&source.time);
        self.millis = source.millis;
    }
}

/// Longest text kept per stored line (the verdict quotes lines, it does not reproduce a dump).
const STORED_TEXT_BYTES: usize = 1024;

/// Where a line's text is cut to be stored, if it is longer than [`STORED_TEXT_BYTES`].
fn stored_cut(text: &str) -> Option<usize> {
    let mut cut = STORED_TEXT_BYTES;
    if text.len() <= cut {
        return None;
    }
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    Some(cut)
}

/// Appends a line's text to `buffer` as it is stored: cut to [`STORED_TEXT_BYTES`], with `…`.
fn push_stored(buffer: &mut String, text: &str) {
    match stored_cut(text) {
        Some(cut) => {
            buffer.push_str(&text[..cut]);
            buffer.push('…');
        }
        None => buffer.push_str(text),
    }
}

impl LineRef {
    /// Becomes line `number`, a line without a time, as it is stored (what `LineRef::from` of
    /// that line gives), in this one's buffer.
    fn set_untimed(&mut self, number: u64, text: &str) {
        self.line = number;
        self.text.clear();
        push_stored(&mut self.text, text);
        self.time = None;
        self.millis = None;
    }
}

impl From<Line> for LineRef {
    /// Takes the line's text (cut to `STORED_TEXT_BYTES`) without copying it.
    fn from(line: Line) -> Self {
        let mut text = line.text;
        if let Some(cut) = stored_cut(&text) {
            text.truncate(cut);
            text.push('…');
        }
        LineRef {
            line: line.number,
            text,
            time: line.time,
            millis: line.millis,
        }
    }
}

/// A line a [`LineStore`] kept, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeptLine<'a> {
    pub line: u64,
    pub text: &'a str,
    pub time: Option<&'a str>,
    pub millis: Option<u64>,
}

impl KeptLine<'_> {
    pub fn to_line_ref(self) -> LineRef {
        LineRef {
            line: self.line,
            text: self.text.to_owned(),
            time: self.time.map(str::to_owned),
            millis: self.millis,
        }
    }
}

impl<'a> From<&'a LineRef> for KeptLine<'a> {
    fn from(line: &'a LineRef) -> Self {
        KeptLine {
            line: line.line,
            text: &line.text,
            time: line.time.as_deref(),
            millis: line.millis,
        }
    }
}

/// What one phase of one connection looked like.
#[derive(Debug, Clone, Default)]
pub struct PhaseRecord {
    pub first_line: Option<u64>,
    pub last_line: Option<u64>,
    /// The line that sums the phase up: its milestone or its failure.
    pub key_line: Option<LineRef>,
    pub facts: BTreeMap<String, String>,
    /// Times of the phase's first and last timed lines, when the log has times.
    pub first_millis: Option<u64>,
    pub last_millis: Option<u64>,
}

/// What the client waits for when it says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expecting {
    /// A message from the server: `expecting SSH2_MSG_KEX_ECDH_REPLY`.
    ServerMessage(String),
    /// The user's answer to "The authenticity of host … can't be established".
    HostKeyAnswer,
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

/// Whether this connection was made by the user or by ssh itself to reach a jump host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Direct,
    JumpHost,
}

/// Lines kept for rule matching: the first ones, the last ones, and the notable ones between.
///
/// The store copies what it keeps into buffers of its own, so keeping a line costs no allocation
/// of its own: lines kept for good are laid end to end in one text, and the slots of the last
/// lines are reused as the window moves. (A log of many short connections keeps every line of
/// each: an allocation per line, freed when the connection left the timeline, was ~15% of the
/// cost of reading such a log.)
#[derive(Debug, Clone, Default)]
pub struct LineStore {
    head: Archive,
    notable: Archive,
    tail: VecDeque<(LineRef, bool)>,
    dropped: u64,
}

const HEAD_LINES: usize = 2000;
const TAIL_LINES: usize = 500;
const NOTABLE_LINES: usize = 500;

/// Lines kept for good: their texts and times end to end in one buffer, each with its number
/// and clock time.
#[derive(Debug, Clone, Default)]
struct Archive(LineTexts<(u64, Option<u64>)>);

impl Archive {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn push(&mut self, line: &LineRef) {
        let time = line.time.as_deref();
        self.0.push(&line.text, time, (line.line, line.millis));
    }

    fn iter(&self) -> impl Iterator<Item = KeptLine<'_>> {
        self.0.iter().map(|(text, time, &(line, millis))| KeptLine {
            line,
            text,
            time,
            millis,
        })
    }
}

impl LineStore {
    /// This store with no line in it, its buffers kept for the lines of another session (a log of
    /// many connections drops one for each new one past the most kept: growing the buffers of
    /// each new one anew was ~9% of the instructions of reading such a log).
    fn emptied(mut self) -> LineStore {
        self.head.0.clear();
        self.notable.0.clear();
        self.tail.clear();
        self.dropped = 0;
        self
    }

    /// Keeps a copy of `line`, or of as much of the log around it as the store holds.
    fn push(&mut self, line: &LineRef, notable: bool) {
        if self.head.len() < HEAD_LINES {
            self.head.push(line);
            return;
        }
        if self.tail.len() < TAIL_LINES {
            self.tail.push_back((line.clone(), notable));
            return;
        }
        let Some((mut slot, was_notable)) = self.tail.pop_front() else {
            return;
        };
        self.let_go(&slot, was_notable);
        slot.clone_from(line);
        self.tail.push_back((slot, notable));
    }

    /// [`push`](Self::push) of `count` routine lines (none of them notable, none timed), given
    /// by their places in the run: only the last of them stay in the ring, so the others are
    /// counted as passed over without being looked at.
    fn push_routine<'a>(&mut self, count: usize, lines: &impl RunLines<'a>) {
        let mut next = 0;
        while self.head.len() < HEAD_LINES && next < count {
            if let Some((number, text)) = lines.line(next) {
                match stored_cut(text) {
                    None => self.head.0.push(text, None, (number, None)),
                    Some(_) => {
                        let mut stored = String::new();
                        push_stored(&mut stored, text);
                        self.head.0.push(&stored, None, (number, None));
                    }
                }
            }
            next += 1;
        }
        // Pushed one by one, the first of them would go through the ring and out again.
        let left = count - next;
        let passing = (self.tail.len() + left)
            .saturating_sub(TAIL_LINES)
            .saturating_sub(self.tail.len());
        self.dropped += passing as u64;
        for (number, text) in (next + passing..count).filter_map(|i| lines.line(i)) {
            let mut slot = match self.tail.len() < TAIL_LINES {
                true => LineRef::default(),
                false => match self.tail.pop_front() {
                    Some((slot, was_notable)) => {
                        self.let_go(&slot, was_notable);
                        slot
                    }
                    None => return,
                },
            };
            slot.set_untimed(number, text);
            self.tail.push_back((slot, false));
        }
    }

    /// A line leaves the ring: kept among the notable ones if it is one and there is room.
    fn let_go(&mut self, line: &LineRef, notable: bool) {
        if notable && self.notable.len() < NOTABLE_LINES {
            self.notable.push(line);
        } else {
            self.dropped += 1;
        }
    }

    /// Every kept line, in input order.
    pub fn iter(&self) -> impl Iterator<Item = KeptLine<'_>> {
        self.head
            .iter()
            .chain(self.notable.iter())
            .chain(self.tail.iter().map(|(l, _)| KeptLine::from(l)))
    }

    /// How many lines were passed over (the middle of a very long transfer log).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
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
    pub interrupted: Option<LineRef>,
    /// What the client said it waits for, and the line that said so, until a later milestone
    /// shows the wait is over.
    pub expecting: Option<(Expecting, LineRef)>,
    /// The authentication method being tried, until the user is authenticated.
    pub auth_method: Option<String>,
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
    in_server_proposal: bool,
    has_proxy: bool,
    /// Each address whose connect attempt failed, with its failure line, in order (bounded like
    /// the warnings): the same address tried again is ConnectionAttempts' next attempt.
    failed_attempts: Vec<(String, LineRef)>,
}

const MAX_WARNINGS: usize = 50;
const MAX_LIST_ITEMS: usize = 20;

impl Session {
    fn new(id: usize, role: Role, parent: Option<usize>, first_line: u64) -> Self {
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
            interrupted: None,
            expecting: None,
            auth_method: None,
            frontier: Phase::Config,
            lines: LineStore::default(),
            line_count: 0,
            openssh_lines: 0,
            last_event: None,
            slowest_setup_step: None,
            first_millis: None,
            setup_done_millis: None,
            last_timed: None,
            in_server_proposal: false,
            has_proxy: false,
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

    /// Every fact of every phase (later phases win on a repeated key).
    pub fn facts(&self) -> BTreeMap<String, String> {
        let mut all = BTreeMap::new();
        for record in &self.phases {
            all.extend(record.facts.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        all
    }

    pub fn fact(&self, key: &str) -> Option<&str> {
        self.phases
            .iter()
            .rev()
            .find_map(|p| p.facts.get(key))
            .map(String::as_str)
    }

    /// The phases that apply to this connection, in order: those it touched, and those its
    /// program goes through.
    pub fn applicable_phases(&self) -> Vec<Phase> {
        let sftp_like = matches!(self.program, Some(Program::Sftp))
            || self.fact("subsystem").is_some()
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

    fn set_fact(&mut self, phase: Phase, key: &str, value: impl Into<String>) {
        self.phases[phase.index()]
            .facts
            .insert(key.to_string(), value.into());
    }

    /// Adds to a comma-separated list fact, once per value, up to a bound.
    fn add_to_list(&mut self, phase: Phase, key: &str, value: &str) {
        let facts = &mut self.phases[phase.index()].facts;
        let entry = facts.entry(key.to_string()).or_default();
        if entry.split(", ").any(|v| v == value) {
            return;
        }
        if entry.split(", ").count() >= MAX_LIST_ITEMS && !entry.is_empty() {
            if !entry.ends_with('…') {
                entry.push_str(", …");
            }
            return;
        }
        if !entry.is_empty() {
            entry.push_str(", ");
        }
        entry.push_str(value);
    }

    /// Takes a value out of a comma-separated list fact (the fact goes when the list is empty).
    fn remove_from_list(&mut self, phase: Phase, key: &str, value: &str) {
        let facts = &mut self.phases[phase.index()].facts;
        if let Some(entry) = facts.get_mut(key) {
            let kept: Vec<&str> = entry.split(", ").filter(|v| *v != value).collect();
            if kept.is_empty() {
                facts.remove(key);
            } else {
                *entry = kept.join(", ");
            }
        }
    }

    /// Notes that `phase` has a line (the connection got at least that far); its first line is
    /// its key line until a milestone or a failure gives a better one.
    fn touch(&mut self, phase: Phase, at: &LineRef) {
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

    fn advance(&mut self, phase: Phase) {
        if phase > self.frontier {
            self.frontier = phase;
        }
    }

    fn reach(&mut self, milestone: Milestone, at: &LineRef) {
        // Progress after the client said it was waiting means the wait is over.
        self.expecting = None;
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

    fn warn(&mut self, at: &LineRef) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(at.clone());
        }
    }

    fn fail(&mut self, phase: Option<Phase>, at: &LineRef) {
        // After a clean end, what follows is the connection being torn down, not a failure.
        if self.ended.is_some() {
            self.warn(at);
            return;
        }
        let phase = phase.unwrap_or(self.frontier);
        self.touch(phase, at);
        if self.failure.is_none() {
            self.phases[phase.index()].key_line = Some(at.clone());
            self.failure = Some((phase, at.clone()));
        } else {
            self.warn(at);
        }
    }

    fn end(&mut self, at: &LineRef) {
        self.touch(Phase::Disconnect, at);
        self.ended.get_or_insert_with(|| at.clone());
        self.advance(Phase::Disconnect);
    }

    fn note_program(&mut self, program: Program) {
        // scp's own line wins over what the ssh under it suggests.
        if self.program.is_none() || program == Program::Scp {
            self.program = Some(program);
        }
    }

    /// Folds one classified line into this session; gives the line back (the session keeps
    /// copies of what it keeps), for the reader to reuse its buffers.
    fn apply(&mut self, line: Line, level: Level, event: &Event) -> LineRef {
        let at = LineRef::from(line);
        self.last_line = at.line;
        self.line_count += 1;
        let verbosity = verbosity_of(level);
        self.verbosity = self.verbosity.max(verbosity);
        let known = !event.is_other();
        // A typed command is the user's, not the client's, output.
        if (known || verbosity > 0) && !matches!(event, Event::CommandTyped(_)) {
            self.openssh_lines += 1;
        }
        if known {
            keep_latest(&mut self.last_event, &at);
        }
        self.note_time(&at);
        let notable =
            (known && !matches!(event, Event::SftpPacket { .. })) || level == Level::Plain;
        match event {
            // Before 8.0 the server's pre-banner text is logged at debug1 under the same tag as
            // the final error (`debug1: ssh_exchange_identification: HTTP/1.1 400 …`).
            Event::BannerExchangeFailed { detail } if level != Level::Plain => self.apply_event(
                &Event::BannerLine {
                    text: detail.clone(),
                },
                &at,
            ),
            _ => self.apply_event(event, &at),
        }
        self.lines.push(&at, notable);
        at
    }

    /// [`apply`](Self::apply) of each line of a run of routine lines, in one step: they change
    /// only the session's counts, its last lines, and for requests what [`touch`](Self::touch)
    /// of their phase and the last event keep.
    fn apply_routine<'a>(&mut self, run: &RoutineRun, lines: &impl RunLines<'a>) {
        self.last_line = run.last;
        self.line_count += run.count as u64;
        self.openssh_lines += run.count as u64;
        self.verbosity = self.verbosity.max(run.verbosity);
        // Touched in turn, each phase would keep its first request as key line, and its last.
        for (i, &phase) in REQUEST_PHASES.iter().enumerate() {
            let Some((first, last)) = run.requests[i] else {
                continue;
            };
            self.advance(phase);
            let record = &mut self.phases[phase.index()];
            record.first_line.get_or_insert(first);
            record.last_line = Some(last);
            if record.key_line.is_none() {
                if let Some(text) = find_line(run, lines, first) {
                    let key = record.key_line.get_or_insert_with(LineRef::default);
                    key.set_untimed(first, text);
                }
            }
        }
        if let Some(last) = run.last_request {
            if let Some(text) = find_line(run, lines, last) {
                let event = self.last_event.get_or_insert_with(LineRef::default);
                event.set_untimed(last, text);
            }
        }
        self.lines.push_routine(run.count, lines);
    }

    /// The command run, as 10.x logs it or as typed at a prompt.
    fn note_command_line(&mut self, command: &str, at: &LineRef) {
        self.touch(Phase::Config, at);
        self.set_fact(Phase::Config, "command_line", command);
        match command
            .split_whitespace()
            .next()
            .map(|w| w.rsplit('/').next().unwrap_or(w))
        {
            Some("sftp") => self.note_program(Program::Sftp),
            Some("scp") => self.note_program(Program::Scp),
            _ => {}
        }
    }

    /// A command typed at a prompt in a pasted shell session: what it says of the connection
    /// holds where the client's own lines say nothing (they are read after it, and win).
    fn note_typed_command(&mut self, typed: &TypedCommand, at: &LineRef) {
        self.note_command_line(&typed.command, at);
        let said = [
            (Phase::Auth, "user", &typed.user),
            (Phase::Resolve, "host", &typed.host),
            (Phase::Connect, "port", &typed.port),
            (Phase::Auth, "identity_file_given", &typed.identity),
            (Phase::Connect, "proxy_command", &typed.proxy),
        ];
        for (phase, key, value) in said {
            if let Some(value) = value.as_ref().filter(|_| self.fact(key).is_none()) {
                self.set_fact(phase, key, value.as_str());
            }
        }
    }

    fn apply_event(&mut self, event: &Event, at: &LineRef) {
        use Event as E;
        use Phase as P;
        match event {
            // config
            E::ClientVersion { software, library } => {
                self.touch(P::Config, at);
                self.client_version = Some(software.clone());
                self.set_fact(P::Config, "client_version", software.clone());
                if let Some(library) = library {
                    self.set_fact(P::Config, "crypto_library", library.clone());
                }
                self.phases[P::Config.index()]
                    .key_line
                    .get_or_insert_with(|| at.clone());
            }
            E::ReadingConfig { path } => {
                self.add_to_list(P::Config, "config_files", path);
                self.reach(Milestone::ConfigRead, at);
            }
            E::BadConfigOption {
                path,
                line: n,
                option,
            } => {
                self.set_fact(
                    P::Config,
                    "bad_config_option",
                    format!("{option} ({path} line {n})"),
                );
                self.fail(Some(P::Config), at);
            }
            E::ConfigTerminating { .. } => self.fail(Some(P::Config), at),
            E::BadConfigPermissions { path } => {
                self.set_fact(P::Config, "bad_permissions_file", path.clone());
                self.fail(Some(P::Config), at);
            }
            E::CommandTyped(typed) => self.note_typed_command(typed, at),
            E::StartedWith { command } => self.note_command_line(command, at),
            E::ProxyJumpCommand { command } => {
                self.touch(P::Config, at);
                self.set_fact(P::Config, "proxy_jump", command.clone());
            }
            E::ProxyCommand { command } => {
                self.touch(P::Connect, at);
                self.has_proxy = true;
                self.set_fact(P::Connect, "proxy_command", command.clone());
                // A ProxyJump names the target it forwards to: `-W '[host]:port'`.
                if let Some((host, port)) = stdio_forward_target(command) {
                    if self.fact("host").is_none() {
                        self.set_fact(P::Resolve, "host", host);
                        self.set_fact(P::Connect, "port", port);
                    }
                }
                self.advance(P::Connect);
            }
            E::IdentityFile { path, key_type } => {
                let found = if *key_type < 0 { "missing" } else { "present" };
                if *key_type >= 0 || !path.ends_with("-cert") {
                    self.add_to_list(P::Auth, "identity_files", &format!("{path} ({found})"));
                }
            }
            E::PostQuantumWarning => {
                self.touch(P::Kex, at);
                self.set_fact(P::Kex, "post_quantum", "no (the client warned)");
            }
            // resolve
            E::ResolveFailed { host, reason } => {
                self.set_fact(P::Resolve, "host", host.clone());
                self.set_fact(P::Resolve, "resolve_error", reason.clone());
                self.fail(Some(P::Resolve), at);
            }
            // connect
            E::Connecting {
                host,
                address,
                port,
            } => {
                self.set_fact(P::Resolve, "host", host.clone());
                self.set_fact(P::Resolve, "address", address.clone());
                self.set_fact(P::Connect, "port", port.to_string());
                self.reach(Milestone::AddressResolved, at);
                self.touch(P::Connect, at);
            }
            E::ConnectAttemptFailed {
                address, reason, ..
            } => {
                self.touch(P::Connect, at);
                self.set_fact(P::Connect, "connect_error", reason.clone());
                self.warn(at);
                if self.failed_attempts.len() < MAX_WARNINGS {
                    self.failed_attempts.push((address.clone(), at.clone()));
                }
            }
            E::ConnectFailed { host, port, reason } => {
                self.set_fact(P::Resolve, "host", host.clone());
                self.set_fact(P::Connect, "port", port.to_string());
                self.set_fact(P::Connect, "connect_error", reason.clone());
                self.fail(Some(P::Connect), at);
            }
            E::ConnectionEstablished => self.reach(Milestone::TcpConnected, at),
            // banner
            E::LocalVersion { version } => {
                self.touch(P::Banner, at);
                self.set_fact(P::Banner, "local_version", version.clone());
                self.advance(P::Banner);
            }
            E::RemoteVersion { software, .. } => {
                self.set_fact(P::Banner, "server_software", software.clone());
                self.reach(Milestone::BannerReceived, at);
            }
            E::BannerLine { text } => {
                self.touch(P::Banner, at);
                self.add_to_list(P::Banner, "server_pre_banner_text", text);
                self.warn(at);
            }
            E::BannerTimeout | E::BannerExchangeFailed { .. } => self.fail(Some(P::Banner), at),
            // kex
            E::SshMessage { name, sent } => self.apply_ssh_message(name, *sent, at),
            E::KexProposal { server } => {
                self.touch(P::Kex, at);
                self.in_server_proposal = *server;
            }
            E::KexAlgorithms { kind, list } => {
                self.touch(P::Kex, at);
                let side = if self.in_server_proposal {
                    "server"
                } else {
                    "client"
                };
                let key = format!("{side}_{}", kind.to_lowercase().replace(' ', "_"));
                self.set_fact(P::Kex, &key, list.clone());
            }
            E::KexChosen {
                host_key,
                algorithm,
            } => {
                let key = if *host_key {
                    "host_key_algorithm"
                } else {
                    "kex_algorithm"
                };
                self.set_fact(P::Kex, key, algorithm.clone());
                self.reach(Milestone::AlgorithmsAgreed, at);
            }
            E::KexCipher {
                client_to_server,
                cipher,
                mac,
                compression,
            } => {
                self.touch(P::Kex, at);
                let dir = if *client_to_server {
                    "client_to_server"
                } else {
                    "server_to_client"
                };
                self.set_fact(P::Kex, &format!("cipher_{dir}"), cipher.clone());
                self.set_fact(P::Kex, &format!("mac_{dir}"), mac.clone());
                self.set_fact(P::Kex, &format!("compression_{dir}"), compression.clone());
            }
            E::KexExpecting { message } => {
                self.touch(P::Kex, at);
                self.expecting = Some((Expecting::ServerMessage(message.clone()), at.clone()));
                self.advance(P::Kex);
            }
            E::NoMatchingAlgorithm { kind, offer, .. } => {
                self.set_fact(P::Kex, "no_matching", kind.clone());
                // Protocol markers (strict KEX, ext-info) are not algorithms a user can enable.
                let algorithms: Vec<&str> = offer
                    .split(',')
                    .filter(|a| !a.starts_with("kex-strict-") && !a.starts_with("ext-info-"))
                    .collect();
                self.set_fact(P::Kex, "server_offer", algorithms.join(","));
                self.fail(Some(P::Kex), at);
            }
            // hostkey
            E::ServerHostKey {
                key_type,
                fingerprint,
            } => {
                self.set_fact(
                    P::Hostkey,
                    "server_host_key",
                    format!("{key_type} {fingerprint}"),
                );
                self.reach(Milestone::KexReplyReceived, at);
                self.touch(P::Hostkey, at);
                self.advance(P::Hostkey);
            }
            E::HostKeyKnown { .. } => {
                self.set_fact(P::Hostkey, "host_key_status", "known");
                self.reach(Milestone::HostKeyVerified, at);
            }
            E::HostKeyAdded { .. } => {
                self.set_fact(P::Hostkey, "host_key_status", "new, added to known_hosts");
                self.reach(Milestone::HostKeyVerified, at);
            }
            E::HostKeyChanged | E::HostKeyStrictChanged { .. } => {
                self.set_fact(P::Hostkey, "host_key_status", "changed");
                self.fail(Some(P::Hostkey), at);
            }
            E::HostKeyOffending { path, line: n, .. } => {
                self.touch(P::Hostkey, at);
                self.set_fact(P::Hostkey, "known_hosts_entry", format!("{path}:{n}"));
            }
            E::HostKeyStrictUnknown { .. } => {
                self.set_fact(P::Hostkey, "host_key_status", "unknown");
                self.fail(Some(P::Hostkey), at);
            }
            E::HostKeyVerificationFailed => self.fail(Some(P::Hostkey), at),
            E::HostAuthenticityUnknown => {
                self.touch(P::Hostkey, at);
                self.set_fact(P::Hostkey, "host_key_status", "unknown, asked the user");
                self.expecting = Some((Expecting::HostKeyAnswer, at.clone()));
            }
            // auth
            E::AuthenticatingAs { host, port, user } => {
                self.set_fact(P::Resolve, "host", host.clone());
                self.set_fact(P::Connect, "port", port.to_string());
                self.set_fact(P::Auth, "user", user.clone());
            }
            E::WillAttemptKey(key) => {
                self.add_to_list(P::Auth, "keys_available", &describe_key(key));
            }
            E::AuthMethods { methods } => {
                self.touch(P::Auth, at);
                self.set_fact(P::Auth, "server_allows", methods.clone());
                self.advance(P::Auth);
            }
            E::NextAuthMethod { method } => {
                self.touch(P::Auth, at);
                self.auth_method = Some(method.clone());
                self.add_to_list(P::Auth, "methods_tried", method);
                self.advance(P::Auth);
            }
            E::OfferingKey(key) => {
                self.touch(P::Auth, at);
                self.add_to_list(P::Auth, "keys_offered", &describe_key(key));
            }
            E::TryingPrivateKey { path } => {
                self.touch(P::Auth, at);
                self.add_to_list(P::Auth, "keys_offered", path);
            }
            E::NoSuchIdentity { path } => {
                // "Trying private key" named it, but there is no such file: nothing was sent.
                self.remove_from_list(P::Auth, "keys_offered", path);
                self.add_to_list(P::Auth, "keys_missing", path);
            }
            E::ServerAcceptsKey(key) => {
                self.touch(P::Auth, at);
                self.set_fact(P::Auth, "key_accepted", describe_key(key));
            }
            E::Authenticated { method } => {
                if let Some(method) = method {
                    self.set_fact(P::Auth, "auth_method", method.clone());
                }
                self.reach(Milestone::Authenticated, at);
            }
            E::PermissionDenied {
                methods: Some(methods),
                ..
            } => {
                self.set_fact(P::Auth, "server_allows", methods.clone());
                self.fail(Some(P::Auth), at);
            }
            E::PermissionDenied { methods: None, .. }
            | E::NoMoreAuthMethods
            | E::NoMutualSignature
            | E::UnprotectedKey
            | E::GssapiFailure => {
                self.touch(P::Auth, at);
                self.warn(at);
            }
            E::LoadKeyFailed { path, reason } => {
                self.touch(P::Auth, at);
                self.set_fact(P::Auth, "key_file", path.clone());
                self.set_fact(P::Auth, "key_load_error", format!("{path}: {reason}"));
                self.warn(at);
            }
            E::KeyPermissionsTooOpen { mode, path } => {
                self.touch(P::Auth, at);
                self.set_fact(P::Auth, "key_file", path.clone());
                self.set_fact(P::Auth, "key_too_open", format!("{path} (mode {mode})"));
                self.warn(at);
            }
            E::TooManyAuthFailures => self.fail(Some(P::Auth), at),
            E::RemoteDebug { .. } => {}
            // channel
            E::ChannelNew { kind, .. } => {
                self.touch(P::Channel, at);
                self.add_to_list(P::Channel, "channels", kind);
                self.advance(P::Channel);
            }
            E::ChannelOpenConfirmed { .. } | E::SendingEnvironment => {
                if !self.reached(Milestone::ChannelOpenConfirmed) {
                    self.reach(Milestone::ChannelOpenConfirmed, at);
                }
            }
            E::ChannelOpenFailed { reason, .. } => {
                self.set_fact(P::Channel, "channel_open_failed", reason.clone());
                self.fail(Some(P::Channel), at);
            }
            E::StdioForwardFailed => self.fail(Some(P::Channel), at),
            E::ChannelRequest { kind, accepted, .. } => {
                let phase = if kind == "subsystem" {
                    P::Sftp
                } else {
                    P::Session
                };
                match (*accepted, kind.as_str()) {
                    (true, "subsystem") => self.reach(Milestone::SubsystemAccepted, at),
                    (true, "exec" | "shell") => self.reach(Milestone::SessionStarted, at),
                    (true, _) => self.touch(phase, at),
                    (false, "subsystem" | "exec" | "shell") => {
                        self.set_fact(phase, "request_failed", kind.clone());
                        self.fail(Some(phase), at);
                    }
                    (false, _) => {
                        self.touch(phase, at);
                        self.warn(at);
                    }
                }
            }
            E::EnteringSession => {
                self.touch(P::Channel, at);
                self.advance(P::Channel);
            }
            E::SendingCommand { command } => {
                if !self.reached(Milestone::ChannelOpenConfirmed) {
                    self.reach(Milestone::ChannelOpenConfirmed, at);
                }
                self.touch(P::Session, at);
                self.set_fact(P::Session, "command", command.clone());
                if command.starts_with("scp ") {
                    self.note_program(Program::Scp);
                }
                self.advance(P::Session);
            }
            E::SendingSubsystem { name } => {
                if !self.reached(Milestone::ChannelOpenConfirmed) {
                    self.reach(Milestone::ChannelOpenConfirmed, at);
                }
                self.touch(P::Sftp, at);
                self.set_fact(P::Sftp, "subsystem", name.clone());
                if name == "sftp" {
                    self.note_program(Program::Sftp);
                }
                self.advance(P::Sftp);
            }
            E::ChannelFree { .. } => {}
            // session
            E::ExitStatus { code } => {
                self.set_fact(P::Session, "exit_status", code.to_string());
                if self.fact("subsystem").is_some() && !self.reached(Milestone::SftpVersion) {
                    // The subsystem's program ended without ever speaking SFTP.
                    self.fail(Some(P::Sftp), at);
                } else if self.fact("subsystem").is_some() && *code != 0 {
                    self.fail(Some(P::Transfer), at);
                } else {
                    self.reach(Milestone::SessionEnded, at);
                    self.end(at);
                }
            }
            E::RemoteNologin | E::RemoteSftpOnly => self.fail(Some(P::Session), at),
            // sftp / scp
            E::ScpExecuting {
                host,
                user,
                command,
            } => {
                self.note_program(Program::Scp);
                self.touch(P::Config, at);
                self.set_fact(P::Resolve, "host", host.clone());
                self.set_fact(P::Auth, "user", user.clone());
                self.set_fact(P::Config, "scp_remote_command", command.clone());
            }
            E::SftpRemoteVersion { version } => {
                self.set_fact(P::Sftp, "sftp_version", version.to_string());
                self.reach(Milestone::SftpVersion, at);
            }
            E::SftpExtension { .. } => self.touch(P::Sftp, at),
            E::SftpMessageTooLong { length } => {
                self.set_fact(P::Sftp, "message_too_long", length.to_string());
                if let Some(text) = length_as_text(*length) {
                    self.set_fact(P::Sftp, "message_too_long_as_text", text);
                }
                self.fail(Some(P::Sftp), at);
            }
            E::SftpShellOutputHint => {
                self.touch(P::Sftp, at);
                self.warn(at);
            }
            E::SftpReadPacketFailed { reason } => {
                self.set_fact(P::Sftp, "read_error", reason.clone());
                self.fail(Some(P::Sftp), at);
            }
            // A remote command's own output ("Connection closed") is not sftp's message.
            E::SftpConnectionClosed
                if self.reached(Milestone::SessionStarted) && self.fact("subsystem").is_none() => {}
            E::SftpConnectionClosed => {
                if self.program.is_none() {
                    self.note_program(Program::Sftp);
                }
                self.fail(None, at);
            }
            E::SftpPrompt { command } => {
                self.touch(P::Transfer, at);
                self.add_to_list(P::Transfer, "sftp_commands", command);
            }
            E::SftpTransferStart {
                direction,
                local,
                remote,
            } => {
                let what = match direction {
                    Direction::Upload => format!("{local} -> {remote}"),
                    Direction::Download => format!("{remote} -> {local}"),
                };
                self.add_to_list(P::Transfer, "files", &what);
                if !self.reached(Milestone::TransferStarted) {
                    self.reach(Milestone::TransferStarted, at);
                }
                self.touch(P::Transfer, at);
            }
            E::SftpPacket { name } => self.touch(request_phase(name), at),
            E::ScpError { text } => {
                self.note_program(Program::Scp);
                self.set_fact(P::Transfer, "scp_error", text.clone());
                self.fail(Some(P::Transfer), at);
            }
            // disconnect
            E::Transferred { sent, received } => {
                self.set_fact(P::Disconnect, "bytes_sent", sent.to_string());
                self.set_fact(P::Disconnect, "bytes_received", received.to_string());
                self.touch(P::Disconnect, at);
            }
            E::ConnectionClosed { .. } => self.end(at),
            E::ClosedByRemote { .. }
            | E::ServerNotResponding { .. }
            | E::ConnectionLost { .. }
            | E::BrokenPipe => self.fail(None, at),
            E::PasswordPrompt { user } => {
                self.touch(P::Auth, at);
                self.advance(P::Auth);
                if self.fact("user").is_none() {
                    self.set_fact(P::Auth, "user", user.as_str());
                }
            }
            E::SftpConnecting { host } => {
                self.touch(P::Config, at);
                self.note_program(Program::Sftp);
                if self.fact("host").is_none() {
                    self.set_fact(P::Resolve, "host", host.as_str());
                }
            }
            E::SessionBrokenPipe => {
                // A paste of the error alone (no -v) still says the session's loop ran; no
                // milestone is claimed for a line that did not show it. (With -v the loop is
                // seen starting before the channel is confirmed: the log says where it was.)
                if self.frontier == P::Config && self.milestones.is_empty() {
                    self.advance(P::Session);
                }
                self.fail(None, at);
            }
            E::ReceivedDisconnect { code, reason } => {
                self.set_fact(
                    P::Disconnect,
                    "server_disconnect",
                    format!("{code}: {reason}"),
                );
                self.fail(None, at);
            }
            E::DisconnectedFrom => {}
            E::KilledBySignal { .. } => {
                self.interrupted.get_or_insert_with(|| at.clone());
            }
            E::Other => {}
        }
    }

    /// Keeps the longest wait between two lines until the session is up.
    fn note_time(&mut self, at: &LineRef) {
        let Some(now) = at.millis else { return };
        if let (Some(prev), None) = (&self.last_timed, self.setup_done_millis) {
            let gap = now.saturating_sub(prev.millis.unwrap_or(now));
            if self
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

    fn apply_ssh_message(&mut self, name: &str, sent: bool, at: &LineRef) {
        let milestone = match (name, sent) {
            ("SSH2_MSG_KEXINIT", true) => Some(Milestone::KexinitSent),
            ("SSH2_MSG_KEXINIT", false) => Some(Milestone::KexinitReceived),
            ("SSH2_MSG_NEWKEYS", false) => Some(Milestone::NewKeys),
            ("SSH2_MSG_SERVICE_ACCEPT", false) => Some(Milestone::ServiceAccepted),
            (reply, false) if reply.starts_with("SSH2_MSG_KEX") && reply.ends_with("_REPLY") => {
                Some(Milestone::KexReplyReceived)
            }
            _ => None,
        };
        match milestone {
            Some(m) => self.reach(m, at),
            None => self.touch(Phase::Kex, at),
        }
    }
}

/// The target of `ssh -W '[host]:port'` or `-W host:port` in a proxy command, once ssh filled in
/// `%h` and `%p`.
fn stdio_forward_target(command: &str) -> Option<(String, String)> {
    let arg = command
        .split_whitespace()
        .skip_while(|w| *w != "-W")
        .nth(1)?;
    let arg = arg.trim_matches(|c| c == '\'' || c == '"');
    let (host, port) = match arg.strip_prefix('[') {
        Some(rest) => rest.split_once("]:")?,
        None => arg.rsplit_once(':')?,
    };
    let known = !host.is_empty() && !host.contains('%') && port.chars().all(|c| c.is_ascii_digit());
    known.then(|| (host.to_string(), port.to_string()))
}

/// Makes `slot` a copy of `at`, in the buffers it already has.
fn keep_latest(slot: &mut Option<LineRef>, at: &LineRef) {
    match slot {
        Some(kept) => kept.clone_from(at),
        None => *slot = Some(at.clone()),
    }
}

fn describe_key(key: &KeyInfo) -> String {
    match (&key.key_type, &key.fingerprint) {
        (Some(t), Some(fp)) => format!("{} ({t} {fp})", key.path),
        _ => key.path.clone(),
    }
}

/// sftp reads the first 4 bytes of whatever the remote shell printed as a packet length; shown as
/// text, they say what the shell printed (1416128883 is "This").
fn length_as_text(length: u64) -> Option<String> {
    let bytes = u32::try_from(length).ok()?.to_be_bytes();
    bytes
        .iter()
        .all(|b| b.is_ascii_graphic() || *b == b' ')
        .then(|| String::from_utf8_lossy(&bytes).into_owned())
}

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
const MAX_SESSIONS: usize = 32;

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

/// The phase an sftp request belongs to: moving a file's bytes, or the sftp session around it.
fn request_phase(name: &str) -> Phase {
    match name {
        "SSH2_FXP_READ" | "SSH2_FXP_WRITE" | "SSH2_FXP_OPEN" | "SSH2_FXP_CLOSE" => Phase::Transfer,
        _ => Phase::Sftp,
    }
}

/// Routine lines one after another: debug lines that carry no time and that either no event
/// matched or are sftp's requests (`Sent message SSH2_FXP_WRITE I:…`). A long log is mostly
/// these; all they change is a session's counts, its last lines, and, for requests, the line
/// range of their phase and the session's last event.
#[derive(Debug, Clone, Copy)]
pub struct RoutineRun {
    pub first: u64,
    pub last: u64,
    pub count: usize,
    /// The loudest of their levels (1 to 3).
    pub verbosity: u8,
    /// Some of them are scp's own.
    pub from_scp: bool,
    /// The last request among them.
    pub last_request: Option<u64>,
    /// For the transfer and the sftp phase: the first and the last request of that phase.
    pub requests: [Option<(u64, u64)>; 2],
}

const REQUEST_PHASES: [Phase; 2] = [Phase::Transfer, Phase::Sftp];

/// The lines of a run of routine lines, by their place in it: each one's number and text. Where
/// they are kept can hand out any one of them at once, and the timeline looks at only a few.
pub trait RunLines<'a> {
    fn line(&self, at: usize) -> Option<(u64, &'a str)>;
}

impl<'a, F: Fn(usize) -> Option<(u64, &'a str)>> RunLines<'a> for F {
    fn line(&self, at: usize) -> Option<(u64, &'a str)> {
        self(at)
    }
}

/// The text of line `number` of a run (its lines are in order of their numbers).
fn find_line<'a>(run: &RoutineRun, lines: &impl RunLines<'a>, number: u64) -> Option<&'a str> {
    let (mut low, mut high) = (0, run.count);
    while low < high {
        let middle = low + (high - low) / 2;
        match lines.line(middle)?.0 < number {
            true => low = middle + 1,
            false => high = middle,
        }
    }
    lines
        .line(low)
        .filter(|&(n, _)| n == number)
        .map(|(_, text)| text)
}

/// A routine line, all of what it says: its number, level, whether scp printed it, and for a
/// request its name and which phase it is of (the transfer or sftp). Small, as a long log makes one
/// per line, and what a run is made from.
#[derive(Debug, Clone)]
pub struct RoutineLine {
    number: u64,
    level: Level,
    from_scp: bool,
    request: Option<(u8, Arc<str>)>,
}

impl RoutineLine {
    /// Line `number`, if it is a routine line; else what it says, given back.
    pub fn of(number: u64, timed: bool, classified: Classified) -> Result<RoutineLine, Classified> {
        if timed || classified.level == Level::Plain {
            return Err(classified);
        }
        let request = match &classified.event {
            Event::Other => None,
            Event::SftpPacket { name } => {
                let phase = request_phase(name);
                match REQUEST_PHASES.iter().position(|&p| p == phase) {
                    Some(i) => Some((i as u8, name.clone())),
                    None => return Err(classified),
                }
            }
            _ => return Err(classified),
        };
        Ok(RoutineLine {
            number,
            level: classified.level,
            from_scp: classified.from_scp,
            request,
        })
    }

    /// What the line says, as it was classified.
    pub fn said(self) -> Classified {
        Classified {
            level: self.level,
            from_scp: self.from_scp,
            event: match self.request {
                None => Event::Other,
                Some((_, name)) => Event::SftpPacket { name },
            },
        }
    }
}

impl RoutineRun {
    /// A run of this one line.
    pub fn of(line: &RoutineLine) -> RoutineRun {
        let mut run = RoutineRun {
            first: line.number,
            last: line.number,
            count: 0,
            verbosity: 0,
            from_scp: false,
            last_request: None,
            requests: [None; 2],
        };
        run.add(line);
        run
    }

    /// Adds `line`, the routine line right after these, to the run.
    pub fn add(&mut self, line: &RoutineLine) {
        self.last = line.number;
        self.count += 1;
        self.verbosity = self.verbosity.max(verbosity_of(line.level));
        self.from_scp |= line.from_scp;
        let phase = line.request.as_ref().map(|&(i, _)| usize::from(i));
        let Some(request) = phase.and_then(|i| self.requests.get_mut(i)) else {
            return;
        };
        self.last_request = Some(line.number);
        let first = request.map_or(line.number, |(first, _)| first);
        *request = Some((first, line.number));
    }
}

fn verbosity_of(level: Level) -> u8 {
    match level {
        Level::Plain => 0,
        Level::Debug1 => 1,
        Level::Debug2 => 2,
        Level::Debug3 => 3,
    }
}

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
        session.apply(line, classified.level, &classified.event)
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
            // The hook for pasted shell sessions: each command run at a prompt is a new
            // connection, once the one before has printed anything.
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
            Event::ConnectionLost { detail } => detail.contains("UNKNOWN port 65535"),
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

#[cfg(test)]
mod tests {
    use super::*;

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
                let number = (2 * run + i + 1) as u64;
                let line = Line {
                    number,
                    text: text.to_string(),
                    time: None,
                    millis: None,
                    truncated: false,
                };
                let _ = builder.push(line, &crate::event::classify(text));
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
    fn proxy_jump_target() {
        let target = |c: &str| stdio_forward_target(c);
        assert_eq!(
            target("exec ssh -l u -p 2200 -vvv -W '[127.0.0.1]:22561' jump"),
            Some(("127.0.0.1".into(), "22561".into()))
        );
        assert_eq!(
            target("ssh -W db.internal:22 bastion"),
            Some(("db.internal".into(), "22".into()))
        );
        assert_eq!(target("ssh -W '[%h]:%p' bastion"), None);
        assert_eq!(target("nc %h %p"), None);
    }
}
