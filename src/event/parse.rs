//! One parse function per event: the pest parse of an event rule of `grammar/openssh.pest` as a
//! typed [`Event`], its fields read from the rule's tokens.

use pest::iterators::Pair;

use super::generated::Rule;
use super::{
    AlgorithmList, ChannelRequestKind, Direction, Event, KeyInfo, MessageStep, TypedCommand,
};
use crate::timeline::Program;

/// The typed event of a parsed event rule, up to the host key (the rest: [`parse_auth_event`],
/// [`parse_later_event`]).
pub(super) fn parse_event(pair: Pair<'_, Rule>) -> Event {
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
        Rule::typed_command => Event::CommandTyped(Box::new(TypedCommand::read(&field(
            &pair,
            Rule::command_typed,
        )))),
        Rule::started_with => parse_started_with(pair),
        Rule::proxyjump_command => Event::ProxyJumpCommand {
            command: field(&pair, Rule::text),
        },
        Rule::proxy_command => parse_proxy_command(pair),
        Rule::identity_file => parse_identity_file(pair),
        Rule::pq_warning => Event::PostQuantumWarning,
        Rule::bad_stdio_forward => Event::BadStdioForward,
        Rule::windows_bad_permissions => Event::WindowsBadPermissions {
            principal: field(&pair, Rule::acl_principal),
            path: field(&pair, Rule::path_before_dot),
        },
        Rule::proxy_program_missing => Event::ProxyProgramMissing,
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
        Rule::kex_no_match => Event::KexNoMatch {
            host_key: field(&pair, Rule::chosen_kind) == "host key algorithm",
        },
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
        _ => parse_auth_event(pair),
    }
}

/// [`parse_event`] of the authentication events.
fn parse_auth_event(pair: Pair<'_, Rule>) -> Event {
    match pair.as_rule() {
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
        Rule::auth_request_sent => Event::AuthRequestSent {
            method: field(&pair, Rule::word),
        },
        Rule::password_retry => Event::PasswordRetry,
        Rule::permission_denied => parse_permission_denied(pair),
        Rule::no_more_methods => Event::NoMoreAuthMethods,
        Rule::signing_with_key => Event::SigningWithKey,
        Rule::askpass_requested => Event::AskpassRequested,
        Rule::kbdint_prompts => Event::KbdIntPrompts {
            count: number(&pair, Rule::number),
        },
        Rule::no_mutual_signature => Event::NoMutualSignature,
        Rule::load_key_failed => parse_load_key_failed(pair),
        Rule::unprotected_key => Event::UnprotectedKey,
        Rule::key_too_open => parse_key_too_open(pair),
        Rule::too_many_failures => Event::TooManyAuthFailures,
        Rule::gssapi_failure => Event::GssapiFailure,
        Rule::kerberos_no_principal => Event::KerberosNoPrincipal {
            principal: optional_field(&pair, Rule::kerberos_principal),
        },
        Rule::agent_unreachable => Event::AgentUnreachable {
            reason: field(&pair, Rule::text),
        },
        Rule::signing_failed => Event::SigningFailed {
            detail: optional_field(&pair, Rule::text).unwrap_or_default(),
        },
        Rule::remote_debug => Event::RemoteDebug {
            text: field(&pair, Rule::text),
        },
        _ => parse_later_event(pair),
    }
}

/// [`parse_event`] of the events from the channel phase on (and the lines of a pasted shell
/// session).
fn parse_later_event(pair: Pair<'_, Rule>) -> Event {
    match pair.as_rule() {
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
            command: field(&pair, Rule::remote_command),
            by_scp: has_token(&pair, Rule::scp_remote_start),
        },
        Rule::sending_subsystem => parse_sending_subsystem(pair),
        Rule::channel_free => Event::ChannelFree {
            id: number(&pair, Rule::number),
        },
        Rule::exit_status => Event::ExitStatus {
            code: number(&pair, Rule::signed_number),
        },
        Rule::remote_nologin => Event::RemoteNologin,
        Rule::remote_sftp_only => Event::RemoteSftpOnly,
        Rule::git_host_greeting => Event::GitHostGreeting,
        Rule::transfer_done => Event::TransferDone,
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
        Rule::sftp_packet => parse_sftp_packet(pair),
        Rule::scp_error => Event::ScpError {
            text: field(&pair, Rule::text),
        },
        Rule::transferred => parse_transferred(pair),
        Rule::bytes_per_second => Event::BytesPerSecond,
        Rule::session_broken_pipe => Event::SessionBrokenPipe,
        Rule::password_prompt => Event::PasswordPrompt {
            user: field(&pair, Rule::user_before_at),
        },
        Rule::sftp_connecting => Event::SftpConnecting {
            host: field(&pair, Rule::host_before_dots),
        },
        Rule::corrupted_packet => Event::CorruptedPacket,
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
            through_proxy: has_token(&pair, Rule::proxy_peer),
        },
        Rule::broken_pipe => Event::BrokenPipe,
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

/// Whether `pair` holds a token of `rule`, at any depth.
fn has_token(pair: &Pair<'_, Rule>, rule: Rule) -> bool {
    pair.clone()
        .into_inner()
        .flatten()
        .any(|p| p.as_rule() == rule)
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
    let path = field(&pair, Rule::path_until_type);
    Event::IdentityFile {
        certificate: path.ends_with("-cert"),
        path,
        key_type: number(&pair, Rule::signed_number),
    }
}

fn parse_proxy_command(pair: Pair<'_, Rule>) -> Event {
    let target = pair
        .clone()
        .into_inner()
        .flatten()
        .find(|p| p.as_rule() == Rule::stdio_target);
    let forwards_to = target.and_then(|target| {
        let host = target
            .clone()
            .into_inner()
            .find(|p| matches!(p.as_rule(), Rule::forward_host | Rule::forward_host_plain))?;
        let port = target.into_inner().find(|p| p.as_rule() == Rule::port)?;
        Some((host.as_str().to_string(), port.as_str().parse().ok()?))
    });
    Event::ProxyCommand {
        command: field(&pair, Rule::proxy_command_line),
        forwards_to,
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
    let name = field(&pair, Rule::ssh_msg_name);
    let step = match name.as_str() {
        "SSH2_MSG_KEXINIT" => MessageStep::Kexinit,
        "SSH2_MSG_NEWKEYS" => MessageStep::NewKeys,
        "SSH2_MSG_SERVICE_ACCEPT" => MessageStep::ServiceAccept,
        reply if reply.starts_with("SSH2_MSG_KEX") && reply.ends_with("_REPLY") => {
            MessageStep::KexReply
        }
        _ => MessageStep::Other,
    };
    Event::SshMessage {
        name,
        step,
        sent: field(&pair, Rule::msg_direction) == "sent",
    }
}

fn parse_kex_algorithms(pair: Pair<'_, Rule>) -> Event {
    use AlgorithmList as A;
    let list = match field(&pair, Rule::algorithm_kind).as_str() {
        "KEX algorithms" => A::Kex,
        "host key algorithms" => A::HostKey,
        "ciphers ctos" => A::CiphersCtos,
        "ciphers stoc" => A::CiphersStoc,
        "MACs ctos" => A::MacsCtos,
        "MACs stoc" => A::MacsStoc,
        "compression ctos" => A::CompressionCtos,
        _ => A::CompressionStoc,
    };
    Event::KexAlgorithms {
        list,
        names: field(&pair, Rule::text),
    }
}

fn parse_started_with(pair: Pair<'_, Rule>) -> Event {
    let program = pair
        .clone()
        .into_inner()
        .flatten()
        .find_map(|p| match p.as_rule() {
            Rule::sftp_program => Some(Program::Sftp),
            Rule::scp_program => Some(Program::Scp),
            _ => None,
        });
    Event::StartedWith {
        command: field(&pair, Rule::command_line),
        program,
    }
}

fn parse_sending_subsystem(pair: Pair<'_, Rule>) -> Event {
    let sftp = optional_field(&pair, Rule::sftp_program);
    Event::SendingSubsystem {
        sftp: sftp.is_some(),
        name: sftp.unwrap_or_else(|| field(&pair, Rule::text)),
    }
}

fn parse_sftp_packet(pair: Pair<'_, Rule>) -> Event {
    let name = field(&pair, Rule::fxp_name);
    // Typed here, not by a grammar rule per name: an alternative in `sftp_packet` makes the
    // build's proof of the bytes that decide a request line read into its id (`I:66`), and a
    // transfer log's request lines could no longer be answered from memory.
    let file_data = matches!(
        name.as_str(),
        "SSH2_FXP_READ" | "SSH2_FXP_WRITE" | "SSH2_FXP_OPEN" | "SSH2_FXP_CLOSE"
    );
    Event::SftpPacket {
        file_data,
        name: name.into(),
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
    let offer = field(&pair, Rule::text);
    let algorithms = offer
        .split(',')
        .filter(|a| !a.starts_with("kex-strict-") && !a.starts_with("ext-info-"))
        .map(str::to_owned)
        .collect();
    Event::NoMatchingAlgorithm {
        host: field(&pair, Rule::host_until_space),
        port: number(&pair, Rule::port),
        kind: field(&pair, Rule::negotiated_kind),
        offer,
        algorithms,
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
        mode: optional_field(&pair, Rule::number),
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
    let request = pair
        .clone()
        .into_inner()
        .flatten()
        .find_map(|p| match p.as_rule() {
            Rule::subsystem_request => Some(ChannelRequestKind::Subsystem),
            Rule::command_request => Some(ChannelRequestKind::Command),
            _ => None,
        });
    Event::ChannelRequest {
        kind: field(&pair, Rule::request_kind),
        request: request.unwrap_or(ChannelRequestKind::Other),
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
