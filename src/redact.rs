//! Redaction of a [`Verdict`] for sharing: host names, IP addresses, user names, home directories,
//! key fingerprints and key comments become stable placeholders (`host-1`, `ip-1`, `user-1`,
//! `/home/user-1`, `SHA256:fingerprint-1`, `key-comment-1`) in every string the reports print.
//!
//! Two passes over the verdict: the first collects the sensitive values (from the facts, then by
//! pattern over every string), the second replaces them, longest first, in one scan per string so
//! that a placeholder is never rewritten again. The same value gets the same placeholder
//! everywhere in one verdict (the top-level verdict and every entry of `sessions`). Port numbers,
//! OpenSSH's own words, algorithm names and version strings are kept.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use regex::Regex;

use crate::facts::Fact;
use crate::timeline::LineRef;
use crate::verdict::{Cause, SessionVerdict, Verdict};

/// Replaces every host name, address, user name, home directory, fingerprint and key comment in
/// `verdict` with a placeholder.
pub fn redact(verdict: &mut Verdict) {
    let mut redactor = Redactor::default();
    // Facts first, so that the numbering follows the connection's own facts (host-1 is the host
    // the user connected to), then every string by pattern.
    for session in std::iter::once(&verdict.decision).chain(&verdict.sessions) {
        redactor.collect_facts(session);
    }
    visit_strings(verdict, &mut |text: &mut String| redactor.scan(text));
    redactor.finish();
    visit_strings(verdict, &mut |text: &mut String| {
        if let Some(replaced) = redactor.replace(text) {
            *text = replaced;
        }
    });
}

/// Calls `f` on every string of the verdict a report prints, except rule ids, fact keys and
/// constant descriptions.
fn visit_strings(verdict: &mut Verdict, f: &mut dyn FnMut(&mut String)) {
    visit_session(&mut verdict.decision, f);
    for session in &mut verdict.sessions {
        visit_session(session, f);
    }
}

fn visit_session(v: &mut SessionVerdict, f: &mut dyn FnMut(&mut String)) {
    f(&mut v.summary);
    for cause in &mut v.causes {
        visit_cause(cause, f);
    }
    if let Some(last) = &mut v.last_ok {
        f(&mut last.text);
    }
    visit_line(v.evidence.as_mut(), f);
    if let Some(waiting) = &mut v.waiting_for {
        f(waiting);
    }
    for entry in &mut v.timeline {
        visit_line(entry.key_line.as_mut(), f);
        entry.facts.strings_mut().for_each(&mut *f);
    }
    v.facts.strings_mut().for_each(&mut *f);
    for warning in &mut v.warnings {
        visit_line(Some(warning), f);
    }
    v.notes.iter_mut().for_each(&mut *f);
    if let Some(version) = &mut v.connection.client_version {
        f(version);
    }
}

fn visit_cause(cause: &mut Cause, f: &mut dyn FnMut(&mut String)) {
    f(&mut cause.title);
    f(&mut cause.explanation);
    for step in cause.checks.iter_mut().chain(cause.fixes.iter_mut()) {
        f(&mut step.text);
        if let Some(command) = &mut step.command {
            f(command);
        }
    }
    cause.server_log.iter_mut().for_each(&mut *f);
    cause.references.iter_mut().for_each(&mut *f);
    for line in &mut cause.matched_lines {
        visit_line(Some(line), f);
    }
}

fn visit_line(line: Option<&mut LineRef>, f: &mut dyn FnMut(&mut String)) {
    if let Some(line) = line {
        f(&mut line.text);
        if let Some(time) = &mut line.time {
            f(time);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Host,
    Ip,
    User,
    /// The body of a fingerprint (after `SHA256:`, or the hex pairs of an MD5 one).
    Fingerprint,
    /// A public key's comment that is neither a path nor `user@host`.
    Comment,
    /// `/root`, the home directory of the user `root`.
    RootHome,
}

#[derive(Debug)]
struct Entry {
    value: String,
    placeholder: String,
    kind: Kind,
}

#[derive(Debug, Default)]
struct Redactor {
    entries: Vec<Entry>,
    /// Exact value → entry.
    exact: HashMap<String, usize>,
    /// Lower-cased host name → entry (host names are case-insensitive).
    hosts: HashMap<String, usize>,
    counts: HashMap<&'static str, usize>,
    /// Entry indices, longest value first, after [`Redactor::finish`].
    order: Vec<usize>,
}

impl Redactor {
    fn collect_facts(&mut self, v: &SessionVerdict) {
        let facts = &v.facts;
        // The user and host first: they read best as user-1 and host-1 / ip-1.
        if let Some(user) = facts.text(Fact::User) {
            self.add_user(&user);
        }
        for fact in [Fact::Host, Fact::Address] {
            if let Some(host) = facts.text(fact) {
                self.add_host(&host);
            }
        }
        if let Some(key) = facts.text(Fact::ServerHostKey) {
            // `ssh-ed25519 SHA256:…` or, from old clients, `ECDSA 3f:1a:…`.
            if let Some(fp) = key.split_whitespace().nth(1) {
                let body = fp.split_once(':').map_or(fp, |(prefix, body)| {
                    if prefix.chars().all(|c| c.is_ascii_alphanumeric()) && prefix.len() > 2 {
                        body
                    } else {
                        fp
                    }
                });
                self.add(body, Kind::Fingerprint);
            }
        }
        for fact in [Fact::KeysOffered, Fact::KeysAvailable, Fact::KeyAccepted] {
            if let Some(list) = facts.text(fact) {
                for item in list.split(", ") {
                    if let Some((name, rest)) = item.split_once(" (") {
                        if rest.contains(':') {
                            self.add_key_name(name);
                        }
                    }
                }
            }
        }
    }

    /// Collects by pattern: addresses, fingerprints, `user@host`, home directories, and the host
    /// and user names OpenSSH prints in known places.
    fn scan(&mut self, text: &str) {
        let p = patterns();
        for m in p.sha.captures_iter(text) {
            self.add(&m[1], Kind::Fingerprint);
        }
        for c in p.md5.captures_iter(text) {
            let m = c.get(1).expect("group 1");
            let after = text[m.end()..].chars().next();
            if !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == ':') {
                self.add(m.as_str(), Kind::Fingerprint);
            }
        }
        for m in p.key_name.captures_iter(text) {
            self.add_key_name(&m[1]);
        }
        for m in p.ipv4.find_iter(text) {
            let next_is_digit_after_dot = text[m.end()..].starts_with('.')
                && text[m.end() + 1..].starts_with(|c: char| c.is_ascii_digit());
            if bounded(text, m.start(), m.end(), |c| {
                c.is_ascii_alphanumeric() || c == '.'
            }) && !next_is_digit_after_dot
                && m.as_str().parse::<Ipv4Addr>().is_ok()
            {
                self.add(m.as_str(), Kind::Ip);
            }
        }
        for m in p.ipv6.find_iter(text) {
            let s = m.as_str();
            if s.matches(':').count() >= 2
                && s.contains(|c: char| c.is_ascii_hexdigit())
                && bounded(text, m.start(), m.end(), |c| {
                    c.is_ascii_alphanumeric() || c == ':'
                })
                && s.parse::<Ipv6Addr>().is_ok()
            {
                self.add(s, Kind::Ip);
            }
        }
        for m in p.user_at_host.captures_iter(text) {
            let start = m.get(0).map_or(0, |m| m.start());
            if !bounded(text, start, start, |c| {
                c.is_ascii_alphanumeric() || "._-".contains(c)
            }) {
                continue;
            }
            let (user, host) = (&m[1], &m[2]);
            if is_vendor_domain(host) {
                continue;
            }
            self.add_user(user);
            self.add_host(host);
        }
        for m in p.home.captures_iter(text) {
            if let Some(name) = m.get(1).or_else(|| m.get(2)) {
                if !matches!(
                    name.as_str(),
                    "Shared" | "Public" | "Default" | "All Users" | "Default User"
                ) {
                    self.add_user(name.as_str());
                }
            }
        }
        for m in p.root_home.find_iter(text) {
            let before = text[..m.start()].chars().next_back();
            let after = text[m.end()..].chars().next();
            if !before.is_some_and(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
                && !after.is_some_and(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            {
                self.add_user("root");
                self.add("/root", Kind::RootHome);
            }
        }
        for m in p.hosts.captures_iter(text) {
            for name in m.iter().skip(1).flatten() {
                self.add_host(name.as_str());
            }
        }
        for m in p.host_lists.captures_iter(text) {
            for name in m[1].split(',') {
                self.add_host(name);
            }
        }
        for m in p.users.captures_iter(text) {
            for name in m.iter().skip(1).flatten() {
                self.add_user(name.as_str());
            }
        }
        for m in p.host_user.captures_iter(text) {
            self.add_host(&m[1]);
            self.add_user(&m[2]);
        }
        for m in p.windows_account.captures_iter(text) {
            if !matches!(&m[1], "NT AUTHORITY" | "BUILTIN" | "NT SERVICE") {
                self.add_host(&m[1]);
                self.add_user(&m[2]);
            }
        }
    }

    /// The name a key is shown under: a path (its home directory is found by pattern), a
    /// `user@host` comment, or another comment.
    fn add_key_name(&mut self, name: &str) {
        let name = name.trim();
        if name.is_empty() || looks_like_path(name) || name.starts_with("pkalg ") {
            return;
        }
        if let Some((user, host)) = name.split_once('@') {
            if !host.contains('@') && valid_name(user) && valid_name(host) {
                self.add_user(user);
                self.add_host(host);
                return;
            }
        }
        if name.len() >= 2 && !is_generic(name) {
            self.add(name, Kind::Comment);
        }
    }

    fn add_user(&mut self, user: &str) {
        let user = user.trim_matches(|c| c == '\'' || c == '"');
        if valid_name(user) && !is_generic(user) {
            self.add(user, Kind::User);
        }
    }

    /// A host as printed: `name`, `[name]:port`, `name:port`, or an address.
    fn add_host(&mut self, host: &str) {
        let mut host = host.trim_matches(|c| c == '\'' || c == '"');
        if let Some(inner) = host.strip_prefix('[') {
            host = inner.split(']').next().unwrap_or(inner);
        }
        if host.parse::<Ipv6Addr>().is_ok() || host.parse::<Ipv4Addr>().is_ok() {
            self.add(host, Kind::Ip);
            return;
        }
        if let Some((name, port)) = host.rsplit_once(':') {
            if port.chars().all(|c| c.is_ascii_digit()) {
                host = name;
            }
        }
        let host = host.trim_end_matches('.');
        if host.parse::<Ipv4Addr>().is_ok() {
            self.add(host, Kind::Ip);
        } else if valid_name(host) && !is_generic(host) && !is_vendor_domain(host) {
            self.add(host, Kind::Host);
        }
    }

    fn add(&mut self, value: &str, kind: Kind) {
        if value.is_empty()
            || self.exact.contains_key(value)
            || kind == Kind::Host && self.hosts.contains_key(&value.to_ascii_lowercase())
        {
            return;
        }
        let placeholder = match kind {
            Kind::RootHome => {
                let user = self.exact.get("root").map_or_else(
                    || "root".to_string(),
                    |&i| self.entries[i].placeholder.clone(),
                );
                format!("/home/{user}")
            }
            _ => {
                let prefix = match kind {
                    Kind::Host => "host",
                    Kind::Ip => "ip",
                    Kind::User => "user",
                    Kind::Fingerprint => "fingerprint",
                    Kind::Comment | Kind::RootHome => "key-comment",
                };
                let n = self.counts.entry(prefix).or_insert(0);
                *n += 1;
                format!("{prefix}-{n}")
            }
        };
        let index = self.entries.len();
        self.exact.insert(value.to_string(), index);
        if kind == Kind::Host {
            self.hosts.insert(value.to_ascii_lowercase(), index);
        }
        self.entries.push(Entry {
            value: value.to_string(),
            placeholder,
            kind,
        });
    }

    fn finish(&mut self) {
        let mut order: Vec<usize> = (0..self.entries.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(self.entries[i].value.len()));
        self.order = order;
    }

    /// The text with every collected value replaced, or `None` if nothing was.
    fn replace(&self, text: &str) -> Option<String> {
        let mut out = String::new();
        let mut copied = 0;
        let mut i = 0;
        let bytes = text.as_bytes();
        while i < bytes.len() {
            if !text.is_char_boundary(i) {
                i += 1;
                continue;
            }
            let found = self.order.iter().map(|&k| &self.entries[k]).find(|e| {
                let end = i + e.value.len();
                end <= bytes.len()
                    && text.is_char_boundary(end)
                    && matches_at(&text[i..end], e)
                    && (e.kind == Kind::Fingerprint || bounded(text, i, end, is_word))
            });
            match found {
                Some(e) => {
                    out.push_str(&text[copied..i]);
                    out.push_str(&e.placeholder);
                    i += e.value.len();
                    copied = i;
                }
                None => i += 1,
            }
        }
        if copied == 0 {
            return None;
        }
        out.push_str(&text[copied..]);
        Some(out)
    }
}

fn matches_at(candidate: &str, entry: &Entry) -> bool {
    if entry.kind == Kind::Host {
        candidate.eq_ignore_ascii_case(&entry.value)
    } else {
        candidate == entry.value
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether the characters just before `start` and just after `end` are not `inner` ones.
fn bounded(text: &str, start: usize, end: usize, inner: impl Fn(char) -> bool) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(&inner) && !after.is_some_and(&inner)
}

/// A user or host name as OpenSSH prints one; digits alone are a port or a count, not a name.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "._-$".contains(c))
        && name.starts_with(|c: char| c.is_alphanumeric() || c == '_')
        && !name.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// Words the rules and OpenSSH use as generic placeholders or in prose: never values.
fn is_generic(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "user",
        "users",
        "username",
        "host",
        "hostname",
        "server",
        "client",
        "you",
        "your",
        "me",
        "name",
        "remote",
        "local",
        "laptop",
        "target",
        "jumphost",
        "jumpuser",
        "example",
        "port",
        "the",
        "a",
        "an",
        "and",
        "or",
        "to",
        "by",
        "from",
        "for",
        "on",
        "in",
        "of",
        "at",
        "as",
        "authenticating",
        "invalid",
        "unknown",
        "none",
        "via",
        "proxy",
        "peer",
        "key",
        "file",
    ];
    // All capitals and underscores: a placeholder a rule leaves for the reader (USER, CLIENT_IP).
    (name.chars().all(|c| c.is_ascii_uppercase() || c == '_') && name.len() > 1)
        || WORDS.iter().any(|w| w.eq_ignore_ascii_case(name))
        || name.starts_with("example.")
}

/// Domains that name algorithms (`chacha20-poly1305@openssh.com`), not hosts.
fn is_vendor_domain(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    [
        "openssh.com",
        "libssh.org",
        "ssh.com",
        "tartarus.org",
        "lysator.liu.se",
    ]
    .iter()
    .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

fn looks_like_path(name: &str) -> bool {
    name.starts_with(['/', '~', '.', '\\'])
        || name.as_bytes().get(1) == Some(&b':') && name.as_bytes()[0].is_ascii_alphabetic()
        || name.contains('/') && !name.contains(' ')
}

struct Patterns {
    sha: Regex,
    md5: Regex,
    key_name: Regex,
    ipv4: Regex,
    ipv6: Regex,
    user_at_host: Regex,
    home: Regex,
    root_home: Regex,
    /// Places OpenSSH prints a host name (every group is one).
    hosts: Regex,
    /// Comma-separated host lists (`Permanently added 'name,address'`).
    host_lists: Regex,
    /// Places OpenSSH prints a user name.
    users: Regex,
    /// scp's `host NAME, user NAME,`.
    host_user: Regex,
    /// Windows account names `DOMAIN\user (S-1-…)`.
    windows_account: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let re = |s: &str| Regex::new(s).expect("redaction pattern");
        const HOST: &str = r"\[?[A-Za-z0-9_:][A-Za-z0-9_.:%-]*\]?";
        Patterns {
            sha: re(r"\b(?:SHA256|SHA384|SHA512|SHA1):([A-Za-z0-9+/]{16,}=*)"),
            md5: re(r"(?:MD5:|^|[^0-9A-Za-z:])([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){15})"),
            key_name: re(concat!(
                r"(?:[Kk]ey|[Oo]ffering public key|[Oo]ffering \w+ public key|accepts key|",
                r"[Aa]uthentication succeeded \(publickey\)[^:]*|[Ss]igning with key|",
                r"[Ff]ound key|[Uu]sing key|identity file): ",
                r"(.+?) (?:[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*) (?:SHA256|SHA1|SHA384|SHA512|MD5):"
            )),
            ipv4: re(r"\d{1,3}(?:\.\d{1,3}){3}"),
            ipv6: re(r"[0-9A-Fa-f]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*"),
            user_at_host: re(concat!(
                r"([A-Za-z0-9_][A-Za-z0-9_.$-]*)@",
                r"([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)"
            )),
            home: re(concat!(
                r#"/(?:home|Users|usr/home|export/home)/([^/\\\s'",:;()\[\]]+)"#,
                r#"|\b[A-Za-z]:(?:\\\\|\\|/)Users(?:\\\\|\\|/)([^/\\\s'",:;()\[\]]+)"#
            )),
            root_home: re(r"/root"),
            hosts: re(&[
                format!(r"Connecting to ({HOST}) (?:\[({HOST})\] )?port \d+"),
                format!(r"Authenticated to ({HOST}) \((?:\[({HOST})\]|via)"),
                r#"resolving "([^"\s]+)""#.to_string(),
                format!(r"Could not resolve hostname ({HOST}?):"),
                format!(r"connect to host ({HOST}) port"),
                format!(r"(?:[Cc]losed by|[Rr]eset by|[Dd]isconnect(?:ed)? from|[Cc]onnection to|[Tt]imed out to|[Ff]orwarding to|connected to|[Ll]istening on|[Ll]ost connection to) ({HOST}) port \d+"),
                format!(r"[Cc]onnection to ({HOST}) closed"),
                format!(r"Connected to ({HOST})"),
                format!(r"[Hh]ost '({HOST})'"),
                format!(r"authenticity of host '({HOST})(?: \(({HOST})\))?'"),
                format!(r"host key for ({HOST}) has changed"),
                format!(r"(?:IP address|key for host|for host) '({HOST})'"),
                format!(r"checking match for '(?:[Hh]ost|[Mm]atch host) [^']*' host ({HOST}) originally ({HOST})"),
                format!(r"remote address ({HOST}?):\d+"),
                format!(r"-W '?\[?(?:%h|([A-Za-z0-9_][A-Za-z0-9_.-]*))\]?:\S*'? ({HOST})"),
                format!(r"(?:[Jj]ump host|ProxyJump|proxy)\S* (?:connection )?to ({HOST})"),
            ]
            .join("|")),
            host_lists: re(r"(?:[Pp]ermanently added|[Aa]dded) '([^']+)'"),
            users: re(concat!(
                r"Authenticating to \S+ as '([^']+)'|(?:^|\s)-l '?([A-Za-z0-9_][A-Za-z0-9_.$-]*)",
                r"|authenticating user ([A-Za-z0-9_][A-Za-z0-9_.$-]*)",
                r"|[Ii]nvalid user ([A-Za-z0-9_][A-Za-z0-9_.$-]*)",
                r"|User (?:name )?'([^']+)'|user=([A-Za-z0-9_][A-Za-z0-9_.$-]*)"
            )),
            host_user: re(r"host ([A-Za-z0-9_][A-Za-z0-9_.:-]*), user ([^,\s]+),"),
            windows_account: re(r"([A-Za-z0-9_ -]+?)\\{1,2}([A-Za-z0-9_.$-]+) \(S-1-"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor_of(texts: &[&str]) -> Redactor {
        let mut r = Redactor::default();
        for t in texts {
            r.scan(t);
        }
        r.finish();
        r
    }

    fn redacted(texts: &[&str]) -> Vec<String> {
        let r = redactor_of(texts);
        texts
            .iter()
            .map(|t| r.replace(t).unwrap_or_else(|| t.to_string()))
            .collect()
    }

    #[test]
    fn addresses_hosts_and_users_become_stable_placeholders() {
        let out = redacted(&[
            "debug1: Connecting to srv.example.net [192.0.2.10] port 2222.",
            "debug1: Authenticating to srv.example.net:2222 as 'alice'",
            "alice@srv.example.net: Permission denied (publickey).",
            "Authenticated to SRV.example.net ([192.0.2.10]:2222) using \"publickey\".",
        ]);
        assert_eq!(out[0], "debug1: Connecting to host-1 [ip-1] port 2222.");
        assert_eq!(out[1], "debug1: Authenticating to host-1:2222 as 'user-1'");
        assert_eq!(out[2], "user-1@host-1: Permission denied (publickey).");
        assert_eq!(
            out[3],
            "Authenticated to host-1 ([ip-1]:2222) using \"publickey\"."
        );
    }

    #[test]
    fn loopback_and_ipv6_are_redacted_ports_kept() {
        let out = redacted(&[
            "debug1: Connecting to localhost [::1] port 22.",
            "Authenticated to 127.0.0.1 ([127.0.0.1]:22200) using \"publickey\".",
            "debug1: Connecting to fe80::1%eth0 [2001:db8::5] port 22.",
            "Connection closed by 2001:db8::5 port 22",
        ]);
        assert_eq!(out[0], "debug1: Connecting to host-1 [ip-1] port 22.");
        assert_eq!(
            out[1],
            "Authenticated to ip-2 ([ip-2]:22200) using \"publickey\"."
        );
        assert!(
            !out[2].contains("2001:db8") && !out[2].contains("fe80::1"),
            "{}",
            out[2]
        );
        assert!(
            out[3].ends_with(" port 22") && !out[3].contains("db8"),
            "{}",
            out[3]
        );
    }

    #[test]
    fn near_miss_addresses_are_not_confused() {
        let out = redacted(&[
            "from 10.0.0.5 and 10.0.0.55",
            "version 1.2.3.4.5 and 10.0.0.5.",
        ]);
        assert_eq!(out[0], "from ip-1 and ip-2");
        assert_eq!(out[1], "version 1.2.3.4.5 and ip-1.");
    }

    #[test]
    fn home_directories_and_root() {
        let out = redacted(&[
            "debug1: Trying private key: /home/alice/.ssh/id_rsa",
            "Bad owner or permissions on C:\\\\Users\\\\bob/.ssh/config",
            "on file C:/Users/bob/.ssh/config and /Users/carol/.ssh/config",
            "debug1: identity file /root/.ssh/id_ed25519 type 3",
            "the chroot directory and PermitRootLogin",
        ]);
        assert_eq!(
            out[0],
            "debug1: Trying private key: /home/user-1/.ssh/id_rsa"
        );
        assert_eq!(
            out[1],
            "Bad owner or permissions on C:\\\\Users\\\\user-2/.ssh/config"
        );
        assert_eq!(
            out[2],
            "on file C:/Users/user-2/.ssh/config and /Users/user-3/.ssh/config"
        );
        assert_eq!(
            out[3],
            "debug1: identity file /home/user-4/.ssh/id_ed25519 type 3"
        );
        assert_eq!(out[4], "the chroot directory and PermitRootLogin");
    }

    #[test]
    fn fingerprints_and_key_comments() {
        let out = redacted(&[
            "debug1: Server host key: ssh-ed25519 SHA256:zcatRYbHdW5P1U1xVoOVEx2KtAq7FGgVyURjBPZseaA",
            "debug1: Will attempt key: alice@laptop-7 ED25519 SHA256:h/S9RYP/dI/WK6qG1mWK0yDyAW16UEQ8c/H9qt3s+Mo agent",
            "debug1: Offering public key: work key 2023 RSA SHA256:LVIX1/DWK3Kgv7jZqrdisoFwd6FFNpgBK+PZKwBX5j8 agent",
            "debug1: Server host key: ecdsa MD5:3f:1a:9c:02:5e:77:d4:1b:8a:60:2f:9e:c4:11:7d:0b",
            "Host key is SHA256:zcatRYbHdW5P1U1xVoOVEx2KtAq7FGgVyURjBPZseaA.",
        ]);
        assert_eq!(
            out[0],
            "debug1: Server host key: ssh-ed25519 SHA256:fingerprint-1"
        );
        assert_eq!(
            out[1],
            "debug1: Will attempt key: user-1@host-1 ED25519 SHA256:fingerprint-2 agent"
        );
        assert_eq!(
            out[2],
            "debug1: Offering public key: key-comment-1 RSA SHA256:fingerprint-3 agent"
        );
        assert_eq!(out[3], "debug1: Server host key: ecdsa MD5:fingerprint-4");
        assert_eq!(out[4], "Host key is SHA256:fingerprint-1.");
    }

    #[test]
    fn openssh_words_algorithms_and_placeholders_survive() {
        let texts = [
            "debug1: kex: server->client cipher: chacha20-poly1305@openssh.com MAC: <implicit> compression: zlib@openssh.com",
            "debug1: Local version string SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6",
            "debug1: Remote protocol version 2.0, remote software version OpenSSH_8.9p1 Ubuntu-3ubuntu0.10",
            "kex_exchange_identification: Connection closed by remote host",
            "ssh-copy-id USER@HOST, or ssh user@host, or JUMPUSER@JUMPHOST; 12:34:56.789",
        ];
        let out = redacted(&texts);
        assert_eq!(out, texts.map(String::from));
    }

    #[test]
    fn user_names_are_replaced_as_words_only() {
        let mut r = Redactor::default();
        r.add_user("root");
        r.add_user("git");
        r.finish();
        assert_eq!(
            r.replace("log in as root; chroot, digit, git@x, root-login-denied"),
            Some("log in as user-1; chroot, digit, user-2@x, user-1-login-denied".into())
        );
    }

    #[test]
    fn multibyte_text_is_safe() {
        let out = redacted(&["Connecting to hôst.example [192.0.2.1] port 22 ✓ — 192.0.2.1é"]);
        assert!(!out[0].contains("192.0.2.1 "), "{}", out[0]);
    }
}
