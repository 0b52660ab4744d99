//! sshd's own messages typed by `grammar/sshd.pest`: which event a message is and the values it
//! names (user, address, ports, key, reason).

use pest::Parser;

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
    /// The server's port the client connected to.
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
    let pairs = SshdGrammar::parse(Rule::line, message).ok()?;
    let event = pairs
        .flatten()
        .find_map(|p| event_kind(p.as_rule()).map(|k| (k, p)))?;
    let (kind, pair) = event;
    let mut values = Values::default();
    for token in pair.into_inner().flatten() {
        let text = token.as_str();
        match token.as_rule() {
            Rule::user | Rule::user_word => values.user = Some(text.to_string()),
            Rule::address if values.address.is_none() => values.address = Some(text.to_string()),
            Rule::port if values.port.is_none() => values.port = text.parse().ok(),
            Rule::local_port => values.local_port = text.parse().ok(),
            Rule::key_type => values.key_type = Some(text.to_string()),
            Rule::fingerprint => values.fingerprint = Some(text.to_string()),
            Rule::reason
            | Rule::paren_reason
            | Rule::path
            | Rule::stat_path
            | Rule::quoted_path
            | Rule::algorithm
            | Rule::subsystem => values.detail = Some(text.to_string()),
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
}
