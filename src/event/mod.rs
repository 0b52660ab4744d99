//! Typed events: what one normalised line of OpenSSH client output says, as the grammar reads it.
//!
//! `grammar/openssh.pest` is the single source of truth for what a line means; this module turns
//! the pest parse of one line into an [`Event`], with one `parse_<rule>` function per event.

use pest::iterators::{Pair, Pairs};
use pest::Parser;

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

mod command;
mod filter;
mod shape;

pub use command::TypedCommand;

use filter::{Candidates, DecidedByStart, EventFilter, UNKNOWN_LINE_READS_AT_MOST};
use shape::{Answer, Lookup, Shapes};

/// How loud a line is: the `debugN:` tag OpenSSH put on it, or none (errors, warnings, output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Plain,
    Debug1,
    Debug2,
    Debug3,
}

/// One classified line: its level and what it says.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    pub level: Level,
    /// scp printed the line itself (`scp: debug2: …`), not the ssh it runs.
    pub from_scp: bool,
    pub event: Event,
}

impl Classified {
    /// A plain line nothing in the grammar knows.
    pub const OTHER: Classified = Classified {
        level: Level::Plain,
        from_scp: false,
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
    },
    /// A command typed at a shell prompt in a pasted terminal session (not OpenSSH's output): a
    /// new command run, so a new connection.
    CommandTyped(Box<TypedCommand>),
    ProxyJumpCommand {
        command: String,
    },
    ProxyCommand {
        command: String,
    },
    IdentityFile {
        path: String,
        key_type: i32,
    },
    PostQuantumWarning,
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
        sent: bool,
    },
    KexProposal {
        server: bool,
    },
    KexAlgorithms {
        kind: String,
        list: String,
    },
    KexChosen {
        host_key: bool,
        algorithm: String,
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
    Authenticated {
        method: Option<String>,
    },
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
        mode: String,
        path: String,
    },
    TooManyAuthFailures,
    GssapiFailure,
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
        accepted: bool,
        id: u32,
    },
    EnteringSession,
    SendingEnvironment,
    SendingCommand {
        command: String,
    },
    SendingSubsystem {
        name: String,
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
    },
    ScpError {
        text: String,
    },
    // disconnect
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
    for pair in pairs {
        match pair.as_rule() {
            Rule::level => level = parse_level(pair.as_str()),
            Rule::scp_tag => from_scp = true,
            rule if is_event(rule) => event = parse_event(pair),
            _ => {}
        }
    }
    Classified {
        level,
        from_scp,
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

fn parse_event(pair: Pair<'_, Rule>) -> Event {
    match pair.as_rule() {
        Rule::client_version => parse_client_version(pair),
        Rule::reading_config => Event::ReadingConfig {
            path: field(&pair, Rule::path),
        },
        Rule::bad_config_option => parse_bad_config_option(pair),
        Rule::config_terminating => Event::ConfigTerminating {
            path: field(&pair, Rule::path_until_colon),
        },
        Rule::bad_config_perms => Event::BadConfigPermissions {
            path: field(&pair, Rule::path),
        },
        Rule::started_with => Event::StartedWith {
            command: field(&pair, Rule::text),
        },
        Rule::typed_command => Event::CommandTyped(Box::new(TypedCommand::read(&field(
            &pair,
            Rule::command_typed,
        )))),
        Rule::proxyjump_command => Event::ProxyJumpCommand {
            command: field(&pair, Rule::text),
        },
        Rule::proxy_command => Event::ProxyCommand {
            command: field(&pair, Rule::text),
        },
        Rule::identity_file => parse_identity_file(pair),
        Rule::pq_warning => Event::PostQuantumWarning,
        Rule::resolve_failed => parse_resolve_failed(pair),
        Rule::connecting => parse_connecting(pair),
        Rule::connect_attempt_failed => parse_connect_attempt_failed(pair),
        Rule::connect_failed => parse_connect_failed(pair),
        Rule::connection_established => Event::ConnectionEstablished,
        Rule::local_version => Event::LocalVersion {
            version: field(&pair, Rule::text),
        },
        Rule::remote_version => parse_remote_version(pair),
        Rule::banner_line | Rule::banner_line_legacy => Event::BannerLine {
            text: field(&pair, Rule::text),
        },
        Rule::banner_timeout => Event::BannerTimeout,
        Rule::banner_exchange_failed => Event::BannerExchangeFailed {
            detail: field(&pair, Rule::text),
        },
        Rule::ssh_msg => parse_ssh_msg(pair),
        Rule::kex_proposal => Event::KexProposal {
            server: field(&pair, Rule::proposal_side) == "peer server",
        },
        Rule::kex_algorithms => parse_kex_algorithms(pair),
        Rule::kex_chosen => parse_kex_chosen(pair),
        Rule::kex_cipher | Rule::kex_cipher_legacy => parse_kex_cipher(pair),
        Rule::kex_expecting => Event::KexExpecting {
            message: field(&pair, Rule::ssh_msg_name),
        },
        Rule::no_matching_algorithm => parse_no_matching_algorithm(pair),
        Rule::server_host_key => parse_server_host_key(pair),
        Rule::host_key_known => parse_host_key_known(pair),
        Rule::host_key_added => parse_host_key_added(pair),
        Rule::host_key_changed => Event::HostKeyChanged,
        Rule::host_key_offending => parse_host_key_offending(pair),
        Rule::host_key_strict_unknown => parse_host_key_strict_unknown(pair),
        Rule::host_key_strict_changed => Event::HostKeyStrictChanged {
            host: field(&pair, Rule::host_until_space),
        },
        Rule::host_key_failed => Event::HostKeyVerificationFailed,
        Rule::host_authenticity => Event::HostAuthenticityUnknown,
        Rule::authenticating_as => parse_authenticating_as(pair),
        Rule::will_attempt_key => Event::WillAttemptKey(parse_key_description(&pair)),
        Rule::auth_methods => Event::AuthMethods {
            methods: field(&pair, Rule::method_list),
        },
        Rule::next_auth_method => Event::NextAuthMethod {
            method: field(&pair, Rule::word),
        },
        Rule::offering_key => Event::OfferingKey(parse_key_description(&pair)),
        Rule::trying_private_key => Event::TryingPrivateKey {
            path: field(&pair, Rule::path),
        },
        Rule::no_such_identity => Event::NoSuchIdentity {
            path: field(&pair, Rule::path_until_colon_space),
        },
        Rule::server_accepts_key => Event::ServerAcceptsKey(parse_key_description(&pair)),
        Rule::authenticated_to => Event::Authenticated {
            method: optional_field(&pair, Rule::word_until_quote),
        },
        Rule::auth_succeeded => Event::Authenticated {
            method: optional_field(&pair, Rule::word_until_paren),
        },
        Rule::permission_denied => parse_permission_denied(pair),
        Rule::no_more_methods => Event::NoMoreAuthMethods,
        Rule::no_mutual_signature => Event::NoMutualSignature,
        Rule::load_key_failed => parse_load_key_failed(pair),
        Rule::unprotected_key => Event::UnprotectedKey,
        Rule::key_too_open => parse_key_too_open(pair),
        Rule::too_many_failures => Event::TooManyAuthFailures,
        Rule::gssapi_failure => Event::GssapiFailure,
        Rule::remote_debug => Event::RemoteDebug {
            text: field(&pair, Rule::text),
        },
        Rule::channel_new => parse_channel_new(pair),
        Rule::channel_open_confirmed => Event::ChannelOpenConfirmed {
            id: number(&pair, Rule::number),
        },
        Rule::channel_open_failed => parse_channel_open_failed(pair),
        Rule::stdio_forward_failed => Event::StdioForwardFailed,
        Rule::channel_request_result => parse_channel_request_result(pair),
        Rule::entering_session => Event::EnteringSession,
        Rule::sending_env => Event::SendingEnvironment,
        Rule::sending_command => Event::SendingCommand {
            command: field(&pair, Rule::text),
        },
        Rule::sending_subsystem => Event::SendingSubsystem {
            name: field(&pair, Rule::text),
        },
        Rule::channel_free => Event::ChannelFree {
            id: number(&pair, Rule::number),
        },
        Rule::exit_status => Event::ExitStatus {
            code: number(&pair, Rule::signed_number),
        },
        Rule::remote_nologin => Event::RemoteNologin,
        Rule::remote_sftp_only => Event::RemoteSftpOnly,
        Rule::scp_executing => parse_scp_executing(pair),
        Rule::sftp_remote_version => Event::SftpRemoteVersion {
            version: number(&pair, Rule::number),
        },
        Rule::sftp_extension => Event::SftpExtension {
            name: field(&pair, Rule::word_until_quote),
        },
        Rule::sftp_message_too_long => Event::SftpMessageTooLong {
            length: number(&pair, Rule::number),
        },
        Rule::sftp_shell_output_hint => Event::SftpShellOutputHint,
        Rule::sftp_read_packet_failed => Event::SftpReadPacketFailed {
            reason: field(&pair, Rule::text),
        },
        Rule::sftp_connection_closed => Event::SftpConnectionClosed,
        Rule::sftp_prompt => Event::SftpPrompt {
            command: field(&pair, Rule::text),
        },
        Rule::sftp_transfer_start => parse_sftp_transfer_start(pair),
        Rule::sftp_packet => Event::SftpPacket {
            name: field(&pair, Rule::fxp_name).into(),
        },
        Rule::scp_error => Event::ScpError {
            text: field(&pair, Rule::text),
        },
        Rule::transferred => parse_transferred(pair),
        Rule::closed_by_remote => Event::ClosedByRemote {
            host: field(&pair, Rule::host_until_space),
        },
        Rule::connection_to_closed => Event::ConnectionClosed {
            host: field(&pair, Rule::host_until_space),
        },
        Rule::server_not_responding => Event::ServerNotResponding {
            host: field(&pair, Rule::host_until_space),
        },
        Rule::received_disconnect => parse_received_disconnect(pair),
        Rule::disconnected_from => Event::DisconnectedFrom,
        Rule::connection_lost => Event::ConnectionLost {
            detail: pair.as_str().to_string(),
        },
        Rule::broken_pipe => Event::BrokenPipe,
        Rule::session_broken_pipe => Event::SessionBrokenPipe,
        Rule::password_prompt => Event::PasswordPrompt {
            user: field(&pair, Rule::user_before_at),
        },
        Rule::sftp_connecting => Event::SftpConnecting {
            host: field(&pair, Rule::host_before_dots),
        },
        Rule::killed_by_signal => Event::KilledBySignal {
            signal: number(&pair, Rule::number),
        },
        _ => Event::Other,
    }
}

// ── field access ──────────────────────────────────────────────────────────────────────────────

/// The text of the first token of `rule` inside `pair`, or "" if the grammar made it optional.
fn field(pair: &Pair<'_, Rule>, rule: Rule) -> String {
    optional_field(pair, rule).unwrap_or_default()
}

fn optional_field(pair: &Pair<'_, Rule>, rule: Rule) -> Option<String> {
    pair.clone()
        .into_inner()
        .find(|p| p.as_rule() == rule)
        .map(|p| p.as_str().to_string())
}

/// The texts of every token of `rule` inside `pair`, in order.
fn fields(pair: &Pair<'_, Rule>, rule: Rule) -> Vec<String> {
    pair.clone()
        .into_inner()
        .filter(|p| p.as_rule() == rule)
        .map(|p| p.as_str().to_string())
        .collect()
}

/// A number token; digits that overflow (a hostile log) read as the type's maximum, not a panic.
fn number<T: std::str::FromStr + Bounded>(pair: &Pair<'_, Rule>, rule: Rule) -> T {
    let text = field(pair, rule);
    text.parse().unwrap_or_else(|_| {
        if text.starts_with('-') {
            T::MIN
        } else {
            T::MAX
        }
    })
}

/// The extremes a saturating parse falls back to.
trait Bounded {
    const MIN: Self;
    const MAX: Self;
}
macro_rules! bounded {
    ($($t:ty),*) => { $(impl Bounded for $t { const MIN: Self = <$t>::MIN; const MAX: Self = <$t>::MAX; })* };
}
bounded!(u16, u32, u64, i32);

// ── one parse function per event that has more than one field ─────────────────────────────────

fn parse_client_version(pair: Pair<'_, Rule>) -> Event {
    Event::ClientVersion {
        software: field(&pair, Rule::client_software),
        library: optional_field(&pair, Rule::crypto_library),
    }
}

fn parse_bad_config_option(pair: Pair<'_, Rule>) -> Event {
    Event::BadConfigOption {
        path: field(&pair, Rule::path_until_colon),
        line: number(&pair, Rule::number),
        option: field(&pair, Rule::word),
    }
}

fn parse_identity_file(pair: Pair<'_, Rule>) -> Event {
    Event::IdentityFile {
        path: field(&pair, Rule::path_until_type),
        key_type: number(&pair, Rule::signed_number),
    }
}

fn parse_resolve_failed(pair: Pair<'_, Rule>) -> Event {
    Event::ResolveFailed {
        host: field(&pair, Rule::host_until_colon),
        reason: field(&pair, Rule::text),
    }
}

fn parse_connecting(pair: Pair<'_, Rule>) -> Event {
    Event::Connecting {
        host: field(&pair, Rule::host_until_bracket),
        address: field(&pair, Rule::address),
        port: number(&pair, Rule::port),
    }
}

fn parse_connect_attempt_failed(pair: Pair<'_, Rule>) -> Event {
    Event::ConnectAttemptFailed {
        address: field(&pair, Rule::address_until_space),
        port: number(&pair, Rule::port),
        reason: field(&pair, Rule::text),
    }
}

fn parse_connect_failed(pair: Pair<'_, Rule>) -> Event {
    Event::ConnectFailed {
        host: field(&pair, Rule::host_until_space),
        port: number(&pair, Rule::port),
        reason: field(&pair, Rule::text),
    }
}

fn parse_remote_version(pair: Pair<'_, Rule>) -> Event {
    Event::RemoteVersion {
        protocol: field(&pair, Rule::protocol_version),
        software: field(&pair, Rule::text),
    }
}

fn parse_ssh_msg(pair: Pair<'_, Rule>) -> Event {
    Event::SshMessage {
        name: field(&pair, Rule::ssh_msg_name),
        sent: field(&pair, Rule::msg_direction) == "sent",
    }
}

fn parse_kex_algorithms(pair: Pair<'_, Rule>) -> Event {
    Event::KexAlgorithms {
        kind: field(&pair, Rule::algorithm_kind),
        list: field(&pair, Rule::text),
    }
}

fn parse_kex_chosen(pair: Pair<'_, Rule>) -> Event {
    Event::KexChosen {
        host_key: field(&pair, Rule::chosen_kind) == "host key algorithm",
        algorithm: field(&pair, Rule::word),
    }
}

fn parse_kex_cipher(pair: Pair<'_, Rule>) -> Event {
    let words = fields(&pair, Rule::word);
    let word = |i: usize| words.get(i).cloned().unwrap_or_default();
    Event::KexCipher {
        client_to_server: field(&pair, Rule::direction) == "client->server",
        cipher: word(0),
        mac: word(1),
        compression: word(2),
    }
}

fn parse_no_matching_algorithm(pair: Pair<'_, Rule>) -> Event {
    Event::NoMatchingAlgorithm {
        host: field(&pair, Rule::host_until_space),
        port: number(&pair, Rule::port),
        kind: field(&pair, Rule::negotiated_kind),
        offer: field(&pair, Rule::text),
    }
}

fn parse_server_host_key(pair: Pair<'_, Rule>) -> Event {
    Event::ServerHostKey {
        key_type: field(&pair, Rule::word),
        fingerprint: field(&pair, Rule::fingerprint),
    }
}

fn parse_host_key_known(pair: Pair<'_, Rule>) -> Event {
    Event::HostKeyKnown {
        host: field(&pair, Rule::quoted_host),
        key_type: field(&pair, Rule::word),
    }
}

fn parse_host_key_added(pair: Pair<'_, Rule>) -> Event {
    Event::HostKeyAdded {
        host: field(&pair, Rule::quoted_host),
        key_type: field(&pair, Rule::key_type_paren),
    }
}

fn parse_host_key_offending(pair: Pair<'_, Rule>) -> Event {
    Event::HostKeyOffending {
        key_type: field(&pair, Rule::word),
        path: field(&pair, Rule::path_until_colon),
        line: number(&pair, Rule::number),
    }
}

fn parse_host_key_strict_unknown(pair: Pair<'_, Rule>) -> Event {
    Event::HostKeyStrictUnknown {
        key_type: field(&pair, Rule::word),
        host: field(&pair, Rule::host_until_space),
    }
}

fn parse_authenticating_as(pair: Pair<'_, Rule>) -> Event {
    Event::AuthenticatingAs {
        host: field(&pair, Rule::host_until_last_colon),
        port: number(&pair, Rule::port),
        user: field(&pair, Rule::user),
    }
}

/// `PATH TYPE SHA256:FP [explicit] [agent]` (8.0+), `TYPE SHA256:FP PATH` (7.6–7.9) or `PATH` (older).
fn parse_key_description(pair: &Pair<'_, Rule>) -> KeyInfo {
    let text = field(pair, Rule::key_description);
    let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    let fp_at = words
        .iter()
        .position(|w| w.starts_with("SHA256:") || w.starts_with("MD5:"));
    match fp_at {
        Some(1) => {
            // 7.6–7.9: TYPE FP PATH
            KeyInfo {
                key_type: Some(words[0].to_string()),
                fingerprint: Some(words[1].to_string()),
                path: words
                    .get(2..)
                    .map(|rest| rest.join(" "))
                    .unwrap_or_default(),
            }
        }
        Some(i) if i >= 2 => KeyInfo {
            path: words[..i - 1].join(" "),
            key_type: Some(words[i - 1].to_string()),
            fingerprint: Some(words[i].to_string()),
        },
        _ => KeyInfo {
            path: text.trim().to_string(),
            key_type: None,
            fingerprint: None,
        },
    }
}

fn parse_permission_denied(pair: Pair<'_, Rule>) -> Event {
    Event::PermissionDenied {
        user_at_host: optional_field(&pair, Rule::user_at_host),
        methods: optional_field(&pair, Rule::method_list),
    }
}

fn parse_load_key_failed(pair: Pair<'_, Rule>) -> Event {
    Event::LoadKeyFailed {
        path: field(&pair, Rule::quoted_path),
        reason: field(&pair, Rule::text),
    }
}

fn parse_key_too_open(pair: Pair<'_, Rule>) -> Event {
    Event::KeyPermissionsTooOpen {
        mode: field(&pair, Rule::number),
        path: field(&pair, Rule::quoted_host),
    }
}

fn parse_channel_new(pair: Pair<'_, Rule>) -> Event {
    Event::ChannelNew {
        id: number(&pair, Rule::number),
        kind: field(&pair, Rule::text_until_bracket),
    }
}

fn parse_channel_open_failed(pair: Pair<'_, Rule>) -> Event {
    Event::ChannelOpenFailed {
        id: number(&pair, Rule::number),
        reason: field(&pair, Rule::text),
    }
}

fn parse_channel_request_result(pair: Pair<'_, Rule>) -> Event {
    Event::ChannelRequest {
        kind: field(&pair, Rule::request_kind),
        accepted: field(&pair, Rule::request_outcome) == "accepted",
        id: number(&pair, Rule::number),
    }
}

fn parse_scp_executing(pair: Pair<'_, Rule>) -> Event {
    Event::ScpExecuting {
        host: field(&pair, Rule::host_until_comma),
        user: field(&pair, Rule::user_until_comma),
        command: field(&pair, Rule::text),
    }
}

fn parse_sftp_transfer_start(pair: Pair<'_, Rule>) -> Event {
    let direction = if field(&pair, Rule::transfer_direction) == "upload" {
        Direction::Upload
    } else {
        Direction::Download
    };
    let paths = fields(&pair, Rule::word_until_quote);
    let path = |i: usize| paths.get(i).cloned().unwrap_or_default();
    let (local, remote) = match direction {
        Direction::Upload => (path(0), path(1)),
        Direction::Download => (path(1), path(0)),
    };
    Event::SftpTransferStart {
        direction,
        local,
        remote,
    }
}

fn parse_transferred(pair: Pair<'_, Rule>) -> Event {
    let numbers = fields(&pair, Rule::number);
    let at = |i: usize| {
        numbers
            .get(i)
            .and_then(|n| n.parse().ok())
            .unwrap_or(u64::MAX)
    };
    Event::Transferred {
        sent: at(0),
        received: at(1),
    }
}

fn parse_received_disconnect(pair: Pair<'_, Rule>) -> Event {
    Event::ReceivedDisconnect {
        code: number(&pair, Rule::number),
        reason: field(&pair, Rule::text),
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
                offer: "diffie-hellman-group1-sha1".into()
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
                sent: false
            }
        );
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
                detail: "Connection closed by 127.0.0.1 port 22".into()
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
                detail: "Connection to 10.0.0.5 port 22: Broken pipe".into()
            }
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
