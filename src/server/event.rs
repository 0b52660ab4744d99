//! sshd's own messages typed by `grammar/sshd.pest`: which event a message is and the values it
//! names (user, address, ports, key, reason). A message that holds none of the literals the
//! grammar's events need (derived by the build script) is not parsed.

use pest::Parser;

use crate::timeline::Phase;

/// The parser pest generates from `grammar/sshd.pest` (the build script runs the generator).
struct SshdGrammar;

#[allow(
    clippy::all,
    clippy::pedantic,
    dead_code,
    missing_docs,
    non_camel_case_types
)]
mod generated {
    use super::SshdGrammar;
    include!(concat!(env!("OUT_DIR"), "/sshd_parser.rs"));
}
use generated::Rule;

include!(concat!(env!("OUT_DIR"), "/sshd_events.rs"));
include!(concat!(env!("OUT_DIR"), "/sshd_tables.rs"));

/// Whether a message may be an event: it holds a literal one of them needs (the fast path: most
/// lines of a server log are debug chatter no event needs pest to tell).
fn may_be_event(message: &str) -> bool {
    static ANCHORS: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>> =
        std::sync::OnceLock::new();
    let anchors = ANCHORS.get_or_init(|| {
        EVENT_ANCHORS.and_then(|literals| aho_corasick::AhoCorasick::new(literals).ok())
    });
    anchors.as_ref().is_none_or(|a| a.is_match(message))
}

/// Which of the sshd grammar's events a line is (an index into its event names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventKind(u8);

impl EventKind {
    /// The event a rule names (`user_not_allowed`), if the sshd grammar has it.
    pub fn named(name: &str) -> Option<EventKind> {
        let index = EVENT_NAMES.iter().position(|n| *n == name)?;
        u8::try_from(index).ok().map(EventKind)
    }

    /// The grammar rule's name: `user_not_allowed`.
    pub fn name(self) -> &'static str {
        EVENT_NAMES[usize::from(self.0)]
    }

    /// The phase of the connection in which the server logs it: the grammar groups its events by
    /// phase (`auth_event`, `dropbear_auth_event`).
    pub fn phase(self) -> Phase {
        let group = EVENT_GROUPS[usize::from(self.0)];
        if group.ends_with("connect_event") {
            Phase::Connect
        } else if group.ends_with("auth_event") {
            Phase::Auth
        } else {
            Phase::Session
        }
    }
}

/// The names of the sshd grammar's events, in grammar order.
pub fn event_names() -> &'static [&'static str] {
    EVENT_NAMES
}

/// One typed sshd message and the values it names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    pub user: Option<String>,
    /// The client's address and source port.
    pub address: Option<String>,
    pub port: Option<u16>,
    /// The server's address and port the client connected to.
    pub local_address: Option<String>,
    pub local_port: Option<u16>,
    pub key_type: Option<String>,
    pub fingerprint: Option<String>,
    /// What the message says beyond those: the reason, path, algorithm or subsystem.
    pub detail: Option<String>,
}

/// A typed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEvent {
    pub kind: EventKind,
    pub values: Values,
}

/// Types one message (the line without its collector's prefix); `None` for a line no event of
/// the grammar knows.
pub fn parse(message: &str) -> Option<ServerEvent> {
    if !may_be_event(message) {
        return None;
    }
    parse_in_full(message)
}

/// Types one message with the grammar, fast path or not.
fn parse_in_full(message: &str) -> Option<ServerEvent> {
    let pairs = SshdGrammar::parse(Rule::line, message).ok()?;
    let event = pairs
        .flatten()
        .find_map(|p| event_kind(p.as_rule()).map(|k| (k, p)))?;
    let (kind, pair) = event;
    let mut values = Values::default();
    for token in pair.into_inner().flatten() {
        let text = token.as_str();
        match token.as_rule() {
            Rule::user | Rule::user_word | Rule::dropbear_user => {
                values.user = Some(text.to_string())
            }
            Rule::address | Rule::peer_address if values.address.is_none() => {
                values.address = Some(text.to_string())
            }
            Rule::port if values.port.is_none() => values.port = text.parse().ok(),
            Rule::local_address => values.local_address = Some(text.to_string()),
            Rule::local_port => values.local_port = text.parse().ok(),
            Rule::key_type => values.key_type = Some(text.to_string()),
            Rule::fingerprint => values.fingerprint = Some(text.to_string()),
            Rule::reason
            | Rule::paren_reason
            | Rule::path
            | Rule::stat_path
            | Rule::quoted_path
            | Rule::algorithm
            | Rule::subsystem
            | Rule::group
            | Rule::owned_path => values.detail = Some(text.to_string()),
            _ => {}
        }
    }
    Some(ServerEvent { kind, values })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(line: &str) -> Option<&'static str> {
        parse(line).map(|e| e.kind.name())
    }

    #[test]
    fn every_example_line_of_the_grammar_is_its_event() {
        let grammar = include_str!("../../grammar/sshd.pest");
        let mut checked = 0;
        let mut lines = grammar.lines().peekable();
        while let Some(line) = lines.next() {
            let Some(example) = line.strip_prefix("/// `") else {
                continue;
            };
            let Some(example) = example.rsplit_once('`').map(|(e, _)| e) else {
                continue;
            };
            // The rule the comment block documents.
            let rule = lines
                .clone()
                .find(|l| !l.starts_with("///"))
                .and_then(|l| l.split_once(" = "))
                .map(|(name, _)| name.trim());
            let Some(rule) = rule.filter(|r| event_names().contains(r)) else {
                continue;
            };
            // Examples of tokens and prefixes are not whole messages.
            let message = example.trim_start_matches("sshd: ");
            assert_eq!(kind(example).or(kind(message)), Some(rule), "{example}");
            checked += 1;
        }
        assert!(checked >= event_names().len(), "{checked} examples");
    }

    #[test]
    fn the_fast_path_types_every_recorded_sshd_line_as_the_full_parse_does() {
        let rules = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let (mut lines, mut skipped) = (0, 0);
        for dir in std::fs::read_dir(rules).unwrap().flatten() {
            for file in std::fs::read_dir(dir.path().join("fixtures"))
                .into_iter()
                .flatten()
            {
                let path = file.unwrap().path();
                if !path.to_string_lossy().ends_with(".sshd.log") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for line in text.lines() {
                    lines += 1;
                    skipped += usize::from(!may_be_event(line));
                    assert_eq!(parse(line), parse_in_full(line), "{line}");
                }
            }
        }
        // An event that needs no literal at all would turn the fast path off for every line.
        assert!(EVENT_ANCHORS.is_some(), "an sshd event needs no literal");
        // Most recorded lines are DEBUG3 chatter: the fast path must spare them the parse.
        assert!(
            lines > 1000 && skipped * 10 > lines * 8,
            "{skipped} of {lines}"
        );
    }

    #[test]
    fn every_event_is_in_a_group_that_names_its_phase() {
        for (name, group) in event_names().iter().zip(EVENT_GROUPS) {
            let phase = ["connect_event", "auth_event", "session_event"]
                .iter()
                .any(|p| group.ends_with(p));
            assert!(
                phase,
                "`{name}` is listed by `{group}`, which names no phase"
            );
        }
        let phase = |name| EventKind::named(name).unwrap().phase();
        assert_eq!(phase("connection_from"), Phase::Connect);
        assert_eq!(phase("dropbear_root_rejected"), Phase::Auth);
        assert_eq!(phase("subsystem_not_found"), Phase::Session);
    }

    #[test]
    fn values_are_read() {
        let e = parse(
            "Failed publickey for vvvlab from 127.0.0.1 port 33992 ssh2: ED25519 SHA256:YHXs",
        )
        .unwrap();
        assert_eq!(e.kind.name(), "failed_publickey");
        assert_eq!(e.values.user.as_deref(), Some("vvvlab"));
        assert_eq!(e.values.port, Some(33992));
        assert_eq!(e.values.fingerprint.as_deref(), Some("SHA256:YHXs"));
        let e = parse(
            "debug1: Connection from 127.0.0.1 port 58442 on 127.0.0.1 port 22430 rdomain \"\"",
        )
        .unwrap();
        assert_eq!(
            (e.values.port, e.values.local_port),
            (Some(58442), Some(22430))
        );
        let e =
            parse("User vvvlab from 127.0.0.1 not allowed because listed in DenyUsers").unwrap();
        assert_eq!(e.values.detail.as_deref(), Some("listed in DenyUsers"));
        assert_eq!(kind("debug1: KEX done [preauth]"), None);
        // 9.8+ wording, from sshd.c and srclimit.c.
        let e = parse("drop connection #3 from [192.0.2.7]:51234 on [192.0.2.1]:22 penalty: failed authentication").unwrap();
        assert_eq!(
            e.values.detail.as_deref(),
            Some("penalty: failed authentication")
        );
        assert_eq!(
            kind("bad ownership or modes for chroot directory component \"/home/\""),
            Some("chroot_bad_perms")
        );
        assert_eq!(
            kind("subsystem request for sftp by user amy failed, execution failed"),
            Some("subsystem_exec_failed")
        );
        let e = parse("debug1: subsystem: cannot stat /usr/lib/sftp: No such file or directory");
        assert_eq!(e.unwrap().values.detail.as_deref(), Some("/usr/lib/sftp"));
        let e = parse("pam_unix(sshd:account): expired password for user amy (password aged)");
        let e = e.unwrap();
        assert_eq!(
            (e.values.user.as_deref(), e.values.detail.as_deref()),
            (Some("amy"), Some("password aged"))
        );
        assert_eq!(
            kind("Corrupted MAC on input. [preauth]"),
            Some("mac_incorrect")
        );
        let e = parse("ssh_dispatch_run_fatal: Connection from 192.0.2.7 port 4711: message authentication code incorrect [preauth]");
        assert_eq!(e.unwrap().values.port, Some(4711));
        // sshd's own account is no client user: it must not stop the pairing.
        let e = parse("Privilege separation user sshd does not exist").unwrap();
        assert_eq!(e.values.user, None);
    }

    #[test]
    fn dropbears_values_are_read_into_the_same_fields() {
        let e = parse("Pubkey auth succeeded for 'vvvlab' with ssh-ed25519 key SHA256:uVwp from 127.0.0.1:35418").unwrap();
        let v = &e.values;
        assert_eq!(v.user.as_deref(), Some("vvvlab"));
        assert_eq!(v.key_type.as_deref(), Some("ssh-ed25519"));
        assert_eq!(v.fingerprint.as_deref(), Some("SHA256:uVwp"));
        assert_eq!(
            (v.address.as_deref(), v.port),
            (Some("127.0.0.1"), Some(35418))
        );
        // IPv6: bracketed in `Child connection from`, bare (up to the last `:port`) elsewhere.
        for (line, name) in [
            (
                "Child connection from [::1]:50488",
                "dropbear_child_connection",
            ),
            (
                "Bad password attempt for 'amy' from ::1:50488",
                "dropbear_bad_password",
            ),
            (
                "Exit (amy) from <::1:50488>: Disconnect received",
                "dropbear_exit",
            ),
            (
                "Login attempt for nonexistent user from ::1:50488",
                "dropbear_nonexistent_user",
            ),
        ] {
            let e = parse(line).unwrap();
            assert_eq!(e.kind.name(), name, "{line}");
            assert_eq!(e.values.address.as_deref(), Some("::1"), "{line}");
            assert_eq!(e.values.port, Some(50488), "{line}");
        }
        let e = parse("Exit before auth from <127.0.0.1:33664>: (user 'vvvlive', 2 fails): Max auth tries reached - user 'vvvlive'").unwrap();
        assert_eq!(e.kind.name(), "dropbear_max_auth_tries");
        assert_eq!(e.values.user.as_deref(), Some("vvvlive"));
        let e = parse(
            "Exit before auth from <127.0.0.1:33200>: (user 'vvvlab', 0 fails): Exited normally",
        )
        .unwrap();
        assert_eq!(e.kind.name(), "dropbear_exit_before_auth");
        assert_eq!(e.values.detail.as_deref(), Some("Exited normally"));
        let e = parse("Logins are restricted to the group wheel but user 'amy' is not a member")
            .unwrap();
        assert_eq!(
            (e.values.user.as_deref(), e.values.detail.as_deref()),
            (Some("amy"), Some("wheel"))
        );
        // The listener's own exit names no client.
        assert_eq!(kind("Early exit: Terminated by signal"), None);
    }
}
