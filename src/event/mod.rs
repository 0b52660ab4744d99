//! Typed events: what one normalised line of OpenSSH client output says, as the grammar reads it.
//!
//! `grammar/openssh.pest` is the single source of truth for what a line means; this module
//! classifies lines with it (remembering what it may reuse) and defines the [`Event`]s;
//! `parse.rs` turns the parse of each event rule into its typed event, and `routine.rs` gathers
//! the routine lines of a long log into runs.

use pest::iterators::Pairs;
use pest::Parser;

use crate::timeline::Program;

/// The parser pest generates from `grammar/openssh.pest` (the build script runs the generator, so
/// it can add one entry rule per event; see `build/grammar.rs`).
struct OpenSshGrammar;

#[allow(
    clippy::all,
    clippy::pedantic,
    dead_code,
    missing_docs,
    non_camel_case_types
)]
mod generated {
    use super::OpenSshGrammar;
    include!(concat!(env!("OUT_DIR"), "/grammar_parser.rs"));
}
use generated::Rule;

include!(concat!(env!("OUT_DIR"), "/grammar_events.rs"));

/// Which of the grammar's events a line is (an index into [`event_names`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventKind(u8);

impl EventKind {
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// The event a rule names (`no_mutual_signature`), if the grammar has it.
    pub fn named(name: &str) -> Option<EventKind> {
        let index = EVENT_NAMES.iter().position(|n| *n == name)?;
        u8::try_from(index).ok().map(EventKind)
    }

    /// The grammar rule's name: `no_mutual_signature`.
    pub fn name(self) -> &'static str {
        EVENT_NAMES[self.index()]
    }
}

/// The names of the grammar's events (the alternatives of `event`), in grammar order.
pub fn event_names() -> &'static [&'static str] {
    EVENT_NAMES
}

mod command;
mod filter;
mod parse;
mod routine;
mod shape;

pub use command::TypedCommand;
pub use routine::{RoutineLine, RoutineRun, RunLines};

use filter::{Candidates, DecidedByStart, EventFilter, UNKNOWN_LINE_READS_AT_MOST};
use parse::parse_event;
use shape::{Answer, Lookup, Shapes};

/// How loud a line is: the `debugN:` tag OpenSSH put on it, or none (errors, warnings, output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Plain,
    Debug1,
    Debug2,
    Debug3,
}

impl Level {
    /// The `-v` count that prints the line (0 for a plain line).
    pub fn verbosity(self) -> u8 {
        match self {
            Level::Plain => 0,
            Level::Debug1 => 1,
            Level::Debug2 => 2,
            Level::Debug3 => 3,
        }
    }
}

/// One classified line: its level and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    pub level: Level,
    /// scp printed the line itself (`scp: debug2: …`), not the ssh it runs.
    pub from_scp: bool,
    /// Which grammar event the line is (`None`: no event, [`Event::Other`]).
    pub kind: Option<EventKind>,
    pub event: Event,
}

impl Classified {
    /// A plain line nothing in the grammar knows.
    pub const OTHER: Classified = Classified {
        level: Level::Plain,
        from_scp: false,
        kind: None,
        event: Event::Other,
    };
}

/// Which way a channel or transfer went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Upload,
    Download,
}

/// A key as the client describes it when it lists, offers or has a key accepted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyInfo {
    pub path: String,
    pub key_type: Option<String>,
    pub fingerprint: Option<String>,
}

/// Which algorithm list a `KEX algorithms:`-style proposal line gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlgorithmList {
    Kex,
    HostKey,
    CiphersCtos,
    CiphersStoc,
    MacsCtos,
    MacsStoc,
    CompressionCtos,
    CompressionStoc,
}

/// What an SSH message is a step of, as far as the phases care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageStep {
    /// `SSH2_MSG_KEXINIT`: the algorithm proposals.
    Kexinit,
    /// The server's key exchange reply (`SSH2_MSG_KEX_ECDH_REPLY`, `…_KEXDH_REPLY`, …).
    KexReply,
    /// `SSH2_MSG_NEWKEYS`: encryption on.
    NewKeys,
    /// `SSH2_MSG_SERVICE_ACCEPT`: ready to authenticate.
    ServiceAccept,
    Other,
}

/// What a channel request asks for, as far as the phases care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelRequestKind {
    /// A subsystem (sftp).
    Subsystem,
    /// A command or a shell.
    Command,
    /// A pty, the environment, X11 or agent forwarding.
    Other,
}

/// Everything a line can say that matters for the diagnosis. `Other` keeps the rest.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    // config
    ClientVersion {
        software: String,
        library: Option<String>,
    },
    ReadingConfig {
        path: String,
    },
    BadConfigOption {
        path: String,
        line: u32,
        option: String,
    },
    ConfigTerminating {
        path: String,
    },
    BadConfigPermissions {
        path: String,
    },
    StartedWith {
        command: String,
        /// sftp or scp, when the command line starts with one of them.
        program: Option<Program>,
    },
    /// A command typed at a shell prompt in a pasted terminal session (not OpenSSH's output): a
    /// new command run, so a new connection.
    CommandTyped(Box<TypedCommand>),
    ProxyJumpCommand {
        command: String,
    },
    ProxyCommand {
        command: String,
        /// The host and port a ProxyJump's `-W` forwards to, when ssh filled them in.
        forwards_to: Option<(String, u16)>,
    },
    IdentityFile {
        path: String,
        /// -1: there is no such file.
        key_type: i32,
        /// The certificate ssh looks for next to each key (`id_ed25519-cert`).
        certificate: bool,
    },
    PostQuantumWarning,
    /// The ssh a ProxyJump runs refused its `-W` target and exited: the proxy ended at once.
    BadStdioForward,
    /// Windows names the account whose access makes a key or config file too open.
    WindowsBadPermissions {
        principal: String,
        path: String,
    },
    /// The shell running a ProxyCommand did not find its program: the proxy ended at once.
    ProxyProgramMissing,
    // resolve
    ResolveFailed {
        host: String,
        reason: String,
    },
    // connect
    Connecting {
        host: String,
        address: String,
        port: u16,
    },
    ConnectAttemptFailed {
        address: String,
        port: u16,
        reason: String,
    },
    ConnectFailed {
        host: String,
        port: u16,
        reason: String,
    },
    ConnectionEstablished,
    // banner
    LocalVersion {
        version: String,
    },
    RemoteVersion {
        protocol: String,
        software: String,
    },
    BannerLine {
        text: String,
    },
    BannerTimeout,
    BannerExchangeFailed {
        detail: String,
    },
    // kex
    SshMessage {
        name: String,
        /// What the message does for the connection's progress.
        step: MessageStep,
        sent: bool,
    },
    KexProposal {
        server: bool,
    },
    KexAlgorithms {
        list: AlgorithmList,
        /// The algorithms, comma-separated as OpenSSH prints them.
        names: String,
    },
    KexChosen {
        host_key: bool,
        algorithm: String,
    },
    /// The client found no algorithm in common for one kind (the "Unable to negotiate" line
    /// that names the server's offer follows).
    KexNoMatch {
        host_key: bool,
    },
    KexCipher {
        client_to_server: bool,
        cipher: String,
        mac: String,
        compression: String,
    },
    KexExpecting {
        message: String,
    },
    NoMatchingAlgorithm {
        host: String,
        port: u16,
        kind: String,
        offer: String,
        /// The algorithms of the offer a user can enable: protocol markers (strict KEX,
        /// ext-info) left out.
        algorithms: Vec<String>,
    },
    // hostkey
    ServerHostKey {
        key_type: String,
        fingerprint: String,
    },
    HostKeyKnown {
        host: String,
        key_type: String,
    },
    HostKeyAdded {
        host: String,
        key_type: String,
    },
    HostKeyChanged,
    HostKeyOffending {
        key_type: String,
        path: String,
        line: u32,
    },
    HostKeyStrictUnknown {
        key_type: String,
        host: String,
    },
    HostKeyStrictChanged {
        host: String,
    },
    HostKeyVerificationFailed,
    HostAuthenticityUnknown,
    // auth
    AuthenticatingAs {
        host: String,
        port: u16,
        user: String,
    },
    WillAttemptKey(KeyInfo),
    AuthMethods {
        methods: String,
    },
    NextAuthMethod {
        method: String,
    },
    OfferingKey(KeyInfo),
    TryingPrivateKey {
        path: String,
    },
    NoSuchIdentity {
        path: String,
    },
    ServerAcceptsKey(KeyInfo),
    /// ssh signs with a key; an encrypted key's passphrase is asked first.
    SigningWithKey,
    /// ssh asks its question through its askpass program and waits for it.
    AskpassRequested,
    /// The server sent keyboard-interactive questions; ssh asks them on the terminal.
    KbdIntPrompts {
        count: u32,
    },
    Authenticated {
        method: Option<String>,
    },
    /// ssh sent a request of this method and waits for the answer.
    AuthRequestSent {
        method: String,
    },
    /// The server refused a password or answer and asks again.
    PasswordRetry,
    PermissionDenied {
        user_at_host: Option<String>,
        methods: Option<String>,
    },
    NoMoreAuthMethods,
    NoMutualSignature,
    LoadKeyFailed {
        path: String,
        reason: String,
    },
    UnprotectedKey,
    KeyPermissionsTooOpen {
        /// The octal mode; OpenSSH_for_Windows checks ACLs and names none.
        mode: Option<String>,
        path: String,
    },
    TooManyAuthFailures,
    GssapiFailure,
    /// The KDC has no host principal for the server's name; newer MIT krb5 names it
    /// (`host/build.example.com@EXAMPLE.COM`).
    KerberosNoPrincipal {
        principal: Option<String>,
    },
    AgentUnreachable {
        reason: String,
    },
    SigningFailed {
        detail: String,
    },
    RemoteDebug {
        text: String,
    },
    // channel
    ChannelNew {
        id: u32,
        kind: String,
    },
    ChannelOpenConfirmed {
        id: u32,
    },
    ChannelOpenFailed {
        id: u32,
        reason: String,
    },
    StdioForwardFailed,
    ChannelRequest {
        kind: String,
        request: ChannelRequestKind,
        accepted: bool,
        id: u32,
    },
    EnteringSession,
    SendingEnvironment,
    SendingCommand {
        command: String,
        /// The command is scp's own (`scp -t /tmp`): the client is scp.
        by_scp: bool,
    },
    SendingSubsystem {
        name: String,
        sftp: bool,
    },
    ChannelFree {
        id: u32,
    },
    // session
    ExitStatus {
        code: i32,
    },
    RemoteNologin,
    RemoteSftpOnly,
    /// A git host greeted the session: the key was accepted and the session ran.
    GitHostGreeting,
    // sftp / scp
    ScpExecuting {
        host: String,
        user: String,
        command: String,
    },
    SftpRemoteVersion {
        version: u32,
    },
    SftpExtension {
        name: String,
    },
    SftpMessageTooLong {
        length: u64,
    },
    SftpShellOutputHint,
    SftpReadPacketFailed {
        reason: String,
    },
    SftpConnectionClosed,
    SftpPrompt {
        command: String,
    },
    SftpTransferStart {
        direction: Direction,
        local: String,
        remote: String,
    },
    SftpPacket {
        /// Shared, not copied: a transfer log names the same request on every other line, and
        /// the classifier answers those lines from memory.
        name: std::sync::Arc<str>,
        /// A request that moves a file's bytes (open, read, write, close).
        file_data: bool,
    },
    ScpError {
        text: String,
    },
    /// scp's or sftp's progress meter showed a file done (100%).
    TransferDone,
    // disconnect
    BytesPerSecond,
    Transferred {
        sent: u64,
        received: u64,
    },
    ClosedByRemote {
        host: String,
    },
    ConnectionClosed {
        host: String,
    },
    ServerNotResponding {
        host: String,
    },
    ReceivedDisconnect {
        code: u32,
        reason: String,
    },
    DisconnectedFrom,
    ConnectionLost {
        detail: String,
        /// The peer was a proxy command's pipe (`UNKNOWN port 65535`), not the server's socket.
        through_proxy: bool,
    },
    BrokenPipe,
    /// The broken pipe as the session's loop reports it: the session was up.
    SessionBrokenPipe,
    /// ssh asked for the password: authentication was reached.
    PasswordPrompt {
        user: String,
    },
    /// sftp starts ssh for this host (its own line, without -v).
    SftpConnecting {
        host: String,
    },
    KilledBySignal {
        signal: u32,
    },
    CorruptedPacket,
    /// A line nothing in the grammar knows: remote output, a wrapper's text, a newer message.
    Other,
}

impl Event {
    pub fn is_other(&self) -> bool {
        matches!(self, Event::Other)
    }
}

/// Classifies lines, remembering what it may reuse, each memory held equal to the full parse by
/// `tests/grammar.rs`:
/// - the tags of lines no event can match, most lines of a long log (`debug2: channel 0: rcvd
///   adjust 65536`): `unknown_line` reads only their first bytes, so lines that start alike get
///   the same answer from it;
/// - the literal filter's answer for each line shape (the line with its digits marked, see
///   `shape.rs`), and what a line events may match said, for that line again;
/// - what an event ending in `unread_rest` said, for lines that start with the bytes that
///   decided it (sftp's requests, see `build/prefix.rs`).
#[derive(Debug, Default)]
pub struct Classifier {
    /// What `unknown_line` said of a line start, in one of the [`TAG_WAYS`] slots of the set its
    /// hash picks (when all are taken, a new start takes one over). Made on first use.
    tags: Vec<Option<(LineStart, Classified)>>,
    /// What the filter said of lines of each shape (a line with its digits marked).
    shapes: Shapes,
    /// Lines classified, up to [`SHAPES_AFTER`].
    lines: usize,
    /// Event lines whose first bytes decide what they say, the latest [`DECIDED_SLOTS`].
    decided: Vec<DecidedLine>,
    /// The slot the next such line takes once all are used.
    next_decided: usize,
}

/// A line parsed through `entry` whose event ends in `unread_rest`: every line the filter sends
/// to `entry` that starts with `start` says the same (see `build/prefix.rs` for why).
#[derive(Debug)]
struct DecidedLine {
    entry: Rule,
    start: Vec<u8>,
    classified: Classified,
}

/// Lines a classifier reads before it remembers shapes: a typical transcript (150-300 lines, few
/// of one shape) would pay more to fill the memory than it saves.
const SHAPES_AFTER: usize = 512;

/// A transfer log repeats one or two such starts (`debug3: Sent message SSH2_FXP_WRITE I:`)
/// hundreds of thousands of times; a few slots hold them, and are few enough to look through.
const DECIDED_SLOTS: usize = 8;

/// Sets of slots for line starts. The starts compared include the first bytes of the message
/// (the grammar may read up to 13 bytes, `scp: debug3: `): one run of `sftp -vvv` has ~90 of
/// them, and a log of many runs goes through them again and again, so the memory must hold
/// them all; a start costs a lookup in one set, whatever the log.
const TAG_SETS: usize = 128;
const TAG_WAYS: usize = 4;

/// The first bytes of a line, as many as `unknown_line` reads (at most 16, so they compare as
/// one number), and how many there are.
type LineStart = (u128, usize);

fn line_start(text: &str) -> Option<LineStart> {
    let reads = UNKNOWN_LINE_READS_AT_MOST.filter(|&r| r <= 16)?;
    let start = &text.as_bytes()[..text.len().min(reads)];
    let mut bytes = [0u8; 16];
    bytes[..start.len()].copy_from_slice(start);
    Some((u128::from_le_bytes(bytes), start.len()))
}

impl Classifier {
    pub fn new() -> Self {
        Self::default()
    }

    /// A classifier for lines of a long log (a classifier thread's): it remembers line shapes
    /// from its first line on, as the lines before have already shown the log is long.
    pub fn for_long_log() -> Self {
        Classifier {
            lines: SHAPES_AFTER,
            ..Self::default()
        }
    }

    /// Classifies one normalised line. Never fails: a line the grammar cannot place is `Other`.
    pub fn classify(&mut self, text: &str) -> Classified {
        let Some(filter) = EventFilter::get() else {
            return classify_full(text);
        };
        let guard = match filter.shape_guard() {
            Some(guard) if self.lines >= SHAPES_AFTER => guard,
            _ => {
                self.lines += 1;
                return act_on(filter.candidates(text), text, Some(self));
            }
        };
        match self.shapes.look_up(text) {
            Lookup::Known(_, Some(said)) => said,
            Lookup::Known(Answer::Tags { level, from_scp }, None) => Classified {
                level,
                from_scp,
                kind: None,
                event: Event::Other,
            },
            Lookup::Known(Answer::Events(candidates), None) => act_on(candidates, text, Some(self)),
            Lookup::Unfit => act_on(filter.candidates(text), text, Some(self)),
            Lookup::New => {
                let candidates = filter.candidates(text);
                let classified = act_on(candidates, text, Some(self));
                let tags_in_shape = UNKNOWN_LINE_READS_AT_MOST.is_some_and(|r| r <= shape::KEPT);
                let (answer, said) = match candidates {
                    Candidates::None if tags_in_shape => {
                        let (level, from_scp) = (classified.level, classified.from_scp);
                        (Answer::Tags { level, from_scp }, None)
                    }
                    candidates => (Answer::Events(candidates), Some(&classified)),
                };
                self.shapes.remember(guard, text, answer, said);
                classified
            }
        }
    }

    /// What a line parsed through `entry`, an event ending in `unread_rest`, says: from memory
    /// when a line started with the bytes that decided it.
    fn decided_by_start(&mut self, entry: Rule, reads: &DecidedByStart, text: &str) -> Classified {
        let bytes = text.as_bytes();
        // `unread_rest` takes the rest of a line, which ends at a newline: a caller's text with one
        // in it is not a line, and is not answered from memory.
        let known = self.decided.iter().find(|d| {
            d.entry == entry
                && bytes.starts_with(&d.start)
                && memchr::memchr(b'\n', &bytes[d.start.len()..]).is_none()
        });
        if let Some(known) = known {
            return known.classified.clone();
        }
        let Ok(pairs) = OpenSshGrammar::parse(entry, text) else {
            return unknown_line(text);
        };
        let decided = deciding_bytes(&pairs, text, reads).filter(|&n| n <= bytes.len());
        let classified = from_pairs(pairs);
        if let Some(n) = decided {
            let line = DecidedLine {
                entry,
                start: bytes[..n].to_vec(),
                classified: classified.clone(),
            };
            if self.decided.len() < DECIDED_SLOTS {
                self.decided.push(line);
            } else {
                self.decided[self.next_decided] = line;
                self.next_decided = (self.next_decided + 1) % DECIDED_SLOTS;
            }
        }
        classified
    }

    /// What `unknown_line` says of a line, from memory when a line started the same way.
    fn tags_of(&mut self, text: &str) -> Classified {
        let Some(key) = line_start(text) else {
            return parse(Rule::unknown_line, text);
        };
        if self.tags.is_empty() {
            self.tags = vec![None; TAG_SETS * TAG_WAYS];
        }
        let (start, len) = key;
        let folded = (start as u64) ^ ((start >> 64) as u64) ^ len as u64;
        let hash = folded.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let set = ((hash >> 32) as usize % TAG_SETS) * TAG_WAYS;
        let slots = &mut self.tags[set..set + TAG_WAYS];
        if let Some((_, known)) = slots.iter().flatten().find(|(k, _)| *k == key) {
            return known.clone();
        }
        let classified = parse(Rule::unknown_line, text);
        let free = slots.iter().position(Option::is_none);
        let slot = free.unwrap_or((hash >> 16) as usize % TAG_WAYS);
        slots[slot] = Some((key, classified.clone()));
        classified
    }
}

/// Classifies one normalised line (see [`Classifier`], which does the same faster for many lines).
pub fn classify(text: &str) -> Classified {
    // Without a classifier's memory: for one line, making it costs more than parsing.
    match EventFilter::get() {
        Some(filter) => act_on(filter.candidates(text), text, None),
        None => classify_full(text),
    }
}

/// The grammar's reading of a line, given the events it may hold: only those are tried, and a
/// line that may hold none has only its tags read; what the classifier remembers answers what
/// it can.
fn act_on(candidates: Candidates, text: &str, memory: Option<&mut Classifier>) -> Classified {
    match candidates {
        Candidates::None => match memory {
            Some(classifier) => classifier.tags_of(text),
            None => parse(Rule::unknown_line, text),
        },
        Candidates::One(alternative) => match (memory, &alternative.decided_by_start) {
            (Some(classifier), Some(reads)) => {
                classifier.decided_by_start(alternative.entry, reads, text)
            }
            _ => parse(alternative.entry, text),
        },
        Candidates::Several => classify_full(text),
    }
}

/// The full parse of a line, every event tried: what [`classify`] gives, only slower. Public so
/// tests can prove the fast path changes no line's meaning.
pub fn classify_full(text: &str) -> Classified {
    parse(Rule::line, text)
}

fn parse(rule: Rule, text: &str) -> Classified {
    match OpenSshGrammar::parse(rule, text) {
        Ok(pairs) => from_pairs(pairs),
        Err(_) => unknown_line(text),
    }
}

/// A line no event matched all of: an event that matches the start of a line but not all of it
/// (`Exit status 0 and more`) makes `line` fail, since PEG does not go back to try `other`. The
/// line is then `Other`, with the tags it has.
fn unknown_line(text: &str) -> Classified {
    match OpenSshGrammar::parse(Rule::unknown_line, text) {
        Ok(pairs) => from_pairs(pairs),
        Err(_) => Classified::OTHER,
    }
}

/// Whether a token of a parsed line is its event (the others are its tags).
fn is_event(rule: Rule) -> bool {
    !matches!(
        rule,
        Rule::level | Rule::scp_tag | Rule::severity | Rule::func_prefix | Rule::EOI | Rule::other
    )
}

/// How many first bytes decide the parse of a line through an entry rule whose event ends in
/// `unread_rest` (`None`: the grammar gives no bound for this line).
fn deciding_bytes(pairs: &Pairs<'_, Rule>, text: &str, reads: &DecidedByStart) -> Option<usize> {
    let first = pairs.clone().next()?;
    let mut leading = reads.leading.iter().filter(|t| text.starts_with(t.literal));
    let event_reads = match (leading.next(), leading.next()) {
        (None, _) => reads.event_reads?,
        (Some(token), None) if first.as_rule() == token.token => token.event_reads?,
        _ => return None,
    };
    let event = pairs.clone().find(|pair| is_event(pair.as_rule()))?;
    let rest = event.clone().into_inner().flatten();
    let rest = rest
        .into_iter()
        .find(|pair| pair.as_rule() == Rule::unread_rest)?;
    let (event_at, rest_at) = (event.as_span().start(), rest.as_span().start());
    // Whether the line starts with a leading literal is part of what decides it.
    let literals = reads.leading.iter().map(|t| t.literal.len());
    let decided = (event_at + event_reads).max(rest_at + reads.rest_reads);
    Some(literals.fold(decided, usize::max))
}

fn from_pairs(pairs: Pairs<'_, Rule>) -> Classified {
    let mut level = Level::Plain;
    let mut from_scp = false;
    let mut event = Event::Other;
    let mut kind = None;
    for pair in pairs {
        match pair.as_rule() {
            Rule::level => level = parse_level(pair.as_str()),
            Rule::scp_tag => from_scp = true,
            rule if is_event(rule) => {
                kind = event_kind(rule);
                event = parse_event(pair);
            }
            _ => {}
        }
    }
    Classified {
        level,
        from_scp,
        kind,
        event,
    }
}

fn parse_level(tag: &str) -> Level {
    match tag.as_bytes().get(5) {
        Some(b'1') => Level::Debug1,
        Some(b'2') => Level::Debug2,
        _ => Level::Debug3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(line: &str) -> Event {
        classify(line).event
    }

    #[test]
    fn older_clients_wording_is_read() {
        assert_eq!(
            event(
                "Received disconnect from 10.0.0.5: 2: Too many authentication failures for root"
            ),
            Event::TooManyAuthFailures
        );
        assert_eq!(
            event("Received disconnect from 10.0.0.5: 11: Bye Bye"),
            Event::ReceivedDisconnect {
                code: 11,
                reason: "Bye Bye".into()
            }
        );
        assert!(matches!(
            event("me@laptop:~$ GIT_SSH_COMMAND=\"ssh -vvv\" git clone git@github.com:a/b.git"),
            Event::CommandTyped(typed) if typed.command.starts_with("GIT_SSH_COMMAND")
        ));
        assert!(matches!(
            event("C:\\Users\\me>sftp -v host"),
            Event::CommandTyped(typed) if typed.command == "sftp -v host"
        ));
        assert_eq!(
            event("debug1: kex: server->client aes128-ctr"),
            Event::Other
        );
        assert_eq!(
            event("debug1: ssh_exchange_identification: Exceeded MaxStartups"),
            Event::BannerLine {
                text: "Exceeded MaxStartups".into()
            }
        );
        assert!(matches!(
            event("ssh_exchange_identification: Connection closed by remote host"),
            Event::BannerExchangeFailed { .. }
        ));
    }

    #[test]
    fn windows_names_no_mode_for_a_key_too_open() {
        assert_eq!(
            event(r"Permissions for 'C:\\Users\\me\\.ssh\\id_rsa' are too open."),
            Event::KeyPermissionsTooOpen {
                mode: None,
                path: r"C:\\Users\\me\\.ssh\\id_rsa".into()
            }
        );
        assert!(matches!(
            event("Permissions 0644 for '/home/a/.ssh/id_rsa' are too open."),
            Event::KeyPermissionsTooOpen { mode: Some(m), .. } if m == "0644"
        ));
    }

    #[test]
    fn a_transfer_line_is_remembered_by_the_bytes_that_decide_it() {
        // What the build script proves for `sftp_packet`: past `SSH2_FXP_WRITE`, one byte of the
        // rest is read (the name ends there); the request id, offset and length are not.
        let mut classifier = Classifier::new();
        let first = classifier.classify("debug3: Sent message SSH2_FXP_WRITE I:66241 O:0 S:2048");
        let starts = |c: &Classifier| -> Vec<Vec<u8>> {
            c.decided.iter().map(|d| d.start.clone()).collect()
        };
        assert_eq!(
            starts(&classifier),
            [b"debug3: Sent message SSH2_FXP_WRITE I".to_vec()]
        );
        let next = classifier.classify("debug3: Sent message SSH2_FXP_WRITE I:7 O:2048 S:10");
        assert_eq!(next, first);
        assert_eq!(starts(&classifier).len(), 1, "answered from memory");
        // scp's own lines: the filter looks past their tags, and the proof covers `scp: `.
        let scp = classifier.classify("scp: debug3: Sent message SSH2_FXP_WRITE I:6 O:0 S:3");
        assert_eq!(scp.event, first.event);
        classifier.classify("scp: debug3: Sent message SSH2_FXP_WRITE I:9 O:8 S:7");
        assert_eq!(
            starts(&classifier)[1..],
            [b"scp: debug3: Sent message SSH2_FXP_WRITE I".to_vec()]
        );
    }

    #[test]
    fn levels_and_function_prefixes() {
        let c =
            classify("debug1: compat_banner: match: OpenSSH_9.2p1 pat OpenSSH* compat 0x04000000");
        assert_eq!(c.level, Level::Debug1);
        assert_eq!(c.event, Event::Other);
        assert_eq!(
            classify("debug3: ssh_connect_direct: entering").level,
            Level::Debug3
        );
        assert_eq!(
            event("debug1: channel_input_open_confirmation: channel 0: callback start"),
            Event::ChannelOpenConfirmed { id: 0 }
        );
    }

    #[test]
    fn version_lines() {
        assert_eq!(
            event("OpenSSH_9.2p1 Debian-2+deb12u6, OpenSSL 3.0.19 27 Jan 2026"),
            Event::ClientVersion {
                software: "OpenSSH_9.2p1 Debian-2+deb12u6".into(),
                library: Some("OpenSSL 3.0.19 27 Jan 2026".into())
            }
        );
        assert!(matches!(
            event("debug1: OpenSSH_10.0p2, OpenSSL 3.5.0 8 Apr 2025"),
            Event::ClientVersion { .. }
        ));
        assert!(matches!(
            event("OpenSSH_for_Windows_9.5p1, LibreSSL 3.8.2"),
            Event::ClientVersion { .. }
        ));
    }

    #[test]
    fn connect_lines() {
        assert_eq!(
            event("debug1: Connecting to example.org [203.0.113.7] port 22."),
            Event::Connecting {
                host: "example.org".into(),
                address: "203.0.113.7".into(),
                port: 22
            }
        );
        assert_eq!(
            event("ssh: connect to host 127.0.0.1 port 1: Connection refused"),
            Event::ConnectFailed {
                host: "127.0.0.1".into(),
                port: 1,
                reason: "Connection refused".into()
            }
        );
        assert_eq!(
            event("ssh: Could not resolve hostname nosuch.invalid: Name or service not known"),
            Event::ResolveFailed {
                host: "nosuch.invalid".into(),
                reason: "Name or service not known".into()
            }
        );
    }

    #[test]
    fn banner_families() {
        assert_eq!(
            event("kex_exchange_identification: read: Connection reset by peer"),
            Event::BannerExchangeFailed {
                detail: "read: Connection reset by peer".into()
            }
        );
        assert_eq!(
            event("ssh_exchange_identification: Connection closed by remote host"),
            Event::BannerExchangeFailed {
                detail: "Connection closed by remote host".into()
            }
        );
        assert_eq!(
            event("kex_exchange_identification: banner line 0: Exceeded MaxStartups"),
            Event::BannerLine {
                text: "Exceeded MaxStartups".into()
            }
        );
    }

    #[test]
    fn kex_lines() {
        assert_eq!(
            event("Unable to negotiate with 127.0.0.1 port 2222: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1"),
            Event::NoMatchingAlgorithm {
                host: "127.0.0.1".into(),
                port: 2222,
                kind: "key exchange method".into(),
                offer: "diffie-hellman-group1-sha1".into(),
                algorithms: vec!["diffie-hellman-group1-sha1".into()],
            }
        );
        assert_eq!(
            event("debug1: kex: server->client cipher: chacha20-poly1305@openssh.com MAC: <implicit> compression: none"),
            Event::KexCipher {
                client_to_server: false,
                cipher: "chacha20-poly1305@openssh.com".into(),
                mac: "<implicit>".into(),
                compression: "none".into()
            }
        );
        assert_eq!(
            event("debug1: kex: client->server aes128-ctr hmac-sha1 none"),
            Event::KexCipher {
                client_to_server: true,
                cipher: "aes128-ctr".into(),
                mac: "hmac-sha1".into(),
                compression: "none".into()
            }
        );
        assert_eq!(
            event("debug1: expecting SSH2_MSG_KEX_ECDH_REPLY"),
            Event::KexExpecting {
                message: "SSH2_MSG_KEX_ECDH_REPLY".into()
            }
        );
        assert_eq!(
            event("debug1: SSH2_MSG_KEXINIT received"),
            Event::SshMessage {
                name: "SSH2_MSG_KEXINIT".into(),
                step: MessageStep::Kexinit,
                sent: false
            }
        );
    }

    #[test]
    fn a_proxy_jump_names_the_target_it_forwards_to() {
        let target =
            |command: &str| match event(&format!("debug1: Executing proxy command: {command}")) {
                Event::ProxyCommand {
                    command: said,
                    forwards_to,
                } => {
                    assert_eq!(said, command);
                    forwards_to
                }
                other => panic!("{other:?}"),
            };
        assert_eq!(
            target("exec ssh -l u -p 2200 -vvv -W '[127.0.0.1]:22561' jump"),
            Some(("127.0.0.1".into(), 22561))
        );
        assert_eq!(
            target("ssh -W db.internal:22 bastion"),
            Some(("db.internal".into(), 22))
        );
        assert_eq!(target("ssh -W '[%h]:%p' bastion"), None);
        assert_eq!(target("nc %h %p"), None);
    }

    #[test]
    fn auth_lines() {
        assert_eq!(
            event("debug1: Authenticating to 127.0.0.1:23999 as 'root'"),
            Event::AuthenticatingAs {
                host: "127.0.0.1".into(),
                port: 23999,
                user: "root".into()
            }
        );
        assert_eq!(
            event("debug1: Offering public key: /home/a/.ssh/id_ed25519 ED25519 SHA256:Yx1FmFe explicit"),
            Event::OfferingKey(KeyInfo {
                path: "/home/a/.ssh/id_ed25519".into(),
                key_type: Some("ED25519".into()),
                fingerprint: Some("SHA256:Yx1FmFe".into())
            })
        );
        assert_eq!(
            event("debug1: Offering RSA public key: /home/a/.ssh/id_rsa"),
            Event::OfferingKey(KeyInfo {
                path: "/home/a/.ssh/id_rsa".into(),
                key_type: None,
                fingerprint: None
            })
        );
        assert_eq!(
            event("vvvlab@127.0.0.1: Permission denied (publickey)."),
            Event::PermissionDenied {
                user_at_host: Some("vvvlab@127.0.0.1".into()),
                methods: Some("publickey".into())
            }
        );
        assert_eq!(
            event("Permission denied (publickey,password)."),
            Event::PermissionDenied {
                user_at_host: None,
                methods: Some("publickey,password".into())
            }
        );
        assert_eq!(
            event("Authenticated to 127.0.0.1 ([127.0.0.1]:23999) using \"publickey\"."),
            Event::Authenticated {
                method: Some("publickey".into())
            }
        );
        assert_eq!(
            event("debug1: Authentication succeeded (publickey)."),
            Event::Authenticated {
                method: Some("publickey".into())
            }
        );
        assert_eq!(
            event("sign_and_send_pubkey: no mutual signature supported"),
            Event::NoMutualSignature
        );
        assert_eq!(
            event("debug1: get_agent_identities: ssh_get_authentication_socket: No such file or directory"),
            Event::AgentUnreachable {
                reason: "No such file or directory".into()
            }
        );
        assert_eq!(
            event("sign_and_send_pubkey: signing failed for ED25519 \"k@h\" from agent: agent refused operation"),
            Event::SigningFailed {
                detail: "ED25519 \"k@h\" from agent: agent refused operation".into()
            }
        );
        assert_eq!(
            event("sign_and_send_pubkey: signing failed: agent refused operation"),
            Event::SigningFailed {
                detail: "agent refused operation".into()
            }
        );
        assert_eq!(
            event("Agent admitted failure to sign using the key."),
            Event::SigningFailed {
                detail: String::new()
            }
        );
    }

    #[test]
    fn pasted_and_windows_wording_is_read() {
        assert_eq!(
            event("(delphix@10.110.243.71) Password:"),
            Event::PasswordPrompt {
                user: "delphix".into()
            }
        );
        assert_eq!(
            event("sftp Received message too long 458961715"),
            Event::SftpMessageTooLong { length: 458961715 }
        );
        assert_eq!(
            event("Bad stdio forwarding specification ''[localhost]:22''"),
            Event::BadStdioForward
        );
        assert_eq!(
            event("bash: nc <IP> <port>: command not found"),
            Event::ProxyProgramMissing
        );
        assert_eq!(
            event("/bin/sh: 1: exec: nc: not found"),
            Event::ProxyProgramMissing
        );
        assert_eq!(
            event(
                "Bad permissions. Try removing permissions for user: NT AUTHORITY\\\\Authenticated \
                 Users (S-1-5-11) on file D:/001_MyFolder/aws/ec2-test.pem."
            ),
            Event::WindowsBadPermissions {
                principal: "NT AUTHORITY\\\\Authenticated Users (S-1-5-11)".into(),
                path: "D:/001_MyFolder/aws/ec2-test.pem".into(),
            }
        );
        assert_eq!(
            event("README.md                                100%    0     0.0KB/s   00:00 "),
            Event::TransferDone
        );
        assert_eq!(
            event("big.iso                                  100% 4096MB 112.3MB/s   00:36"),
            Event::TransferDone
        );
        assert_eq!(
            event("big.iso                                   42% 1720MB 112.3MB/s   00:21 ETA"),
            Event::Other
        );
        assert_eq!(
            event("debug1: kex: algorithm: (no match)"),
            Event::KexNoMatch { host_key: false }
        );
        assert_eq!(
            event("debug1: kex: host key algorithm: (no match)"),
            Event::KexNoMatch { host_key: true }
        );
        assert_eq!(
            event("Hi wayou! You've successfully authenticated, but GitHub does not provide shell access."),
            Event::GitHostGreeting
        );
    }

    #[test]
    fn session_and_sftp_lines() {
        assert_eq!(
            event("debug1: Exit status 3"),
            Event::ExitStatus { code: 3 }
        );
        assert_eq!(
            event("Received message too long 1416128883"),
            Event::SftpMessageTooLong { length: 1416128883 }
        );
        assert_eq!(event("Connection closed"), Event::SftpConnectionClosed);
        assert_eq!(
            event("Connection closed by 127.0.0.1 port 22"),
            Event::ConnectionLost {
                detail: "Connection closed by 127.0.0.1 port 22".into(),
                through_proxy: false,
            }
        );
        assert_eq!(
            event("Connection closed by UNKNOWN port 65535"),
            Event::ConnectionLost {
                detail: "Connection closed by UNKNOWN port 65535".into(),
                through_proxy: true,
            }
        );
        assert_eq!(
            event("client_loop: send disconnect: Broken pipe"),
            Event::SessionBrokenPipe
        );
        assert_eq!(
            event("debug1: client_loop: send disconnect: Broken pipe"),
            Event::SessionBrokenPipe
        );
        assert_eq!(
            event("root@203.0.113.7's password:"),
            Event::PasswordPrompt {
                user: "root".into()
            }
        );
        assert_eq!(
            event("Connecting to files.example.org..."),
            Event::SftpConnecting {
                host: "files.example.org".into()
            }
        );
        assert_eq!(event("Connecting to h [1.2.3.4] port 22..."), Event::Other);
        assert_eq!(
            event("packet_write_wait: Connection to 10.0.0.5 port 22: Broken pipe"),
            Event::ConnectionLost {
                detail: "Connection to 10.0.0.5 port 22: Broken pipe".into(),
                through_proxy: false,
            }
        );
        assert_eq!(event("Corrupted MAC on input."), Event::CorruptedPacket);
        assert_eq!(
            event("Bad packet length 1349676916."),
            Event::CorruptedPacket
        );
        assert_eq!(
            event("Transferred: sent 3532, received 3340 bytes, in 0.2 seconds"),
            Event::Transferred {
                sent: 3532,
                received: 3340
            }
        );
    }

    #[test]
    fn scp_tags_its_own_lines() {
        let c = classify("scp: debug2: Remote version: 3");
        assert_eq!(
            (c.level, c.from_scp, c.event),
            (Level::Debug2, true, Event::SftpRemoteVersion { version: 3 })
        );
        let c = classify("scp: Received message too long 1416128883");
        assert_eq!(c.event, Event::SftpMessageTooLong { length: 1416128883 });
        assert_eq!(
            event("scp: /nope: No such file or directory"),
            Event::ScpError {
                text: "/nope: No such file or directory".into()
            }
        );
        assert_eq!(event("Connection closed.  "), Event::SftpConnectionClosed);
    }

    #[test]
    fn unknown_and_hostile_lines_are_other() {
        for line in [
            "",
            "hello",
            "debug1:",
            "debug9: x",
            "\u{0}\u{1}",
            "Exit status 99999999999999999999",
        ] {
            let _ = classify(line);
        }
        assert_eq!(event("total 48"), Event::Other);
        assert_eq!(
            event("Exit status 99999999999999999999"),
            Event::ExitStatus { code: i32::MAX }
        );
    }
}
