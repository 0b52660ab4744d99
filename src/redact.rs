//! Redaction of a [`Verdict`] for sharing: host names, IP addresses, user names, home directories,
//! key fingerprints and key comments become stable placeholders (`host-1`, `ip-1`, `user-1`,
//! `/home/user-1`, `SHA256:fingerprint-1`, `key-comment-1`) in every string the reports print.
//!
//! Two passes over the verdict. The first collects the sensitive values: from the facts, from the
//! typed fields of the event each shown log line is (the grammar knows where OpenSSH prints a
//! host, a user, a path or a fingerprint), and from the shape of a value in any string (an
//! address, a fingerprint, `user@host`, a home directory). Only lines whose event types no host
//! (`Other`, free text, and the few events that keep theirs in their wording) are read by the
//! message patterns of `Redactor::fallback`. The second pass replaces the values, longest first,
//! in one scan per string so that a placeholder is never rewritten again. The same value gets the
//! same placeholder everywhere in one verdict (the top-level verdict and every entry of
//! `sessions`). Port numbers, OpenSSH's own words, algorithm names and version strings are kept.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use regex::Regex;

use crate::event::{self, Event, KeyInfo};
use crate::facts::Fact;
use crate::server::ServerLine;
use crate::timeline::LineRef;
use crate::verdict::{Cause, SessionVerdict, Verdict};

/// Replaces every host name, address, user name, home directory, fingerprint and key comment in
/// `verdict` with a placeholder.
pub fn redact(verdict: &mut Verdict) {
    let mut redactor = Redactor::default();
    // Facts first, so that the numbering follows the connection's own facts (host-1 is the host
    // the user connected to), then what each shown line says, then every string by shape.
    for session in std::iter::once(&verdict.decision).chain(&verdict.sessions) {
        redactor.collect_facts(session);
    }
    visit_lines(verdict, &mut |text: &str| redactor.collect_line(text));
    for line in server_lines(verdict) {
        redactor.collect_server_line(line);
    }
    visit_strings(verdict, &mut |text: &mut String| redactor.scan(text));
    redactor.finish();
    visit_strings(verdict, &mut |text: &mut String| {
        if let Some(replaced) = redactor.replace(text) {
            *text = replaced;
        }
    });
}

/// Calls `f` on the text of every log line the verdict shows.
fn visit_lines(verdict: &Verdict, f: &mut dyn FnMut(&str)) {
    for v in std::iter::once(&verdict.decision).chain(&verdict.sessions) {
        let causes = v.causes.iter().flat_map(|c| &c.matched_lines);
        let timeline = v.timeline.iter().filter_map(|e| e.key_line.as_ref());
        let lines = v.evidence.iter().chain(timeline).chain(&v.warnings);
        let waited = v.timing.iter().flat_map(|t| &t.slowest_step);
        let waited = waited.flat_map(|step| [&step.after, &step.before]);
        let lines = lines
            .chain(causes)
            .chain(waited)
            .chain(&v.failed_phase_lines);
        lines.for_each(|line| f(&line.text));
        if let Some(last) = &v.last_ok {
            f(&last.text);
        }
    }
}

/// Replaces the values of a server log explained alone: `lines` are its lines the grammar typed
/// (their users, addresses and keys are values), `texts` every string the report prints.
pub fn redact_server_strings(lines: &[ServerLine], texts: Vec<&mut String>) {
    let mut redactor = Redactor::default();
    lines
        .iter()
        .for_each(|line| redactor.collect_server_line(line));
    texts.iter().for_each(|text| redactor.scan(text));
    redactor.finish();
    for text in texts {
        if let Some(replaced) = redactor.replace(text) {
            *text = replaced;
        }
    }
}

/// The server log's lines the verdict shows (`--server-log`).
fn server_lines(verdict: &Verdict) -> impl Iterator<Item = &ServerLine> {
    let sessions = std::iter::once(&verdict.decision).chain(&verdict.sessions);
    sessions.flat_map(|v| {
        let shown = v.server.iter().flat_map(|s| &s.lines);
        shown.chain(v.causes.iter().filter_map(|c| c.server_line.as_ref()))
    })
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
    for warning in v.warnings.iter_mut().chain(&mut v.failed_phase_lines) {
        visit_line(Some(warning), f);
    }
    if let Some(step) = v.timing.as_mut().and_then(|t| t.slowest_step.as_mut()) {
        visit_line(Some(&mut step.after), f);
        visit_line(Some(&mut step.before), f);
    }
    v.notes.iter_mut().for_each(&mut *f);
    for line in v.server.iter_mut().flat_map(|s| &mut s.lines) {
        f(&mut line.text);
    }
    if let Some(version) = &mut v.connection.client_version {
        f(version);
    }
}

fn visit_cause(cause: &mut Cause, f: &mut dyn FnMut(&mut String)) {
    // A rule's texts are the rule's own until redacted: each is copied to be redacted.
    let advice = &mut cause.advice;
    let texts = [&mut advice.title, &mut advice.explanation].into_iter();
    let steps = advice.checks.iter_mut().chain(advice.fixes.iter_mut());
    let steps = steps.flat_map(|step| std::iter::once(&mut step.text).chain(&mut step.command));
    let lists = advice.server_log.iter_mut().chain(&mut advice.references);
    for text in texts.chain(steps).chain(lists) {
        f(text.to_mut());
    }
    for line in &mut cause.matched_lines {
        visit_line(Some(line), f);
    }
    if let Some(line) = &mut cause.server_line {
        f(&mut line.text);
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
            self.add_log_user(&user);
        }
        for fact in [Fact::Host, Fact::Address] {
            if let Some(host) = facts.text(fact) {
                self.add_host(&host);
            }
        }
        if let Some(key) = facts.text(Fact::ServerHostKey) {
            // `ssh-ed25519 SHA256:…` or, from old clients, `ECDSA 3f:1a:…`.
            if let Some(fingerprint) = key.split_whitespace().nth(1) {
                self.add_fingerprint(fingerprint);
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

    /// Collects what one log line says, from the typed fields of its event; a line whose event
    /// types no host, and the free text an event keeps, go to the message patterns.
    fn collect_line(&mut self, text: &str) {
        match event::classify(text).event {
            Event::ReadingConfig { path }
            | Event::ConfigTerminating { path }
            | Event::BadConfigPermissions { path }
            | Event::BadConfigOption { path, .. }
            | Event::IdentityFile { path, .. }
            | Event::TryingPrivateKey { path }
            | Event::NoSuchIdentity { path }
            | Event::LoadKeyFailed { path, .. }
            | Event::KeyPermissionsTooOpen { path, .. }
            | Event::HostKeyOffending { path, .. } => self.add_path(&path),
            Event::SftpTransferStart { local, remote, .. } => {
                self.add_path(&local);
                self.add_path(&remote);
            }
            Event::StartedWith { command, .. }
            | Event::ProxyJumpCommand { command }
            | Event::ProxyCommand { command, .. } => self.add_command(&command),
            Event::ResolveFailed { host, .. }
            | Event::ConnectFailed { host, .. }
            | Event::NoMatchingAlgorithm { host, .. }
            | Event::HostKeyStrictUnknown { host, .. }
            | Event::HostKeyStrictChanged { host }
            | Event::ClosedByRemote { host }
            | Event::ConnectionClosed { host }
            | Event::ServerNotResponding { host } => self.add_host(&host),
            // `name,address` when CheckHostIP adds both.
            Event::HostKeyKnown { host, .. } | Event::HostKeyAdded { host, .. } => {
                host.split(',').for_each(|h| self.add_host(h));
            }
            Event::Connecting { host, address, .. } => {
                self.add_host(&host);
                self.add_host(&address);
            }
            Event::ConnectAttemptFailed { address, .. } => self.add_host(&address),
            Event::SftpConnecting { host } => self.add_host(&host),
            Event::PasswordPrompt { user } => self.add_log_user(&user),
            // A command typed at a prompt in a pasted shell session, and the prompt's own
            // `user@host` (the machine it was typed on).
            Event::CommandTyped(typed) => {
                let prompt = text.strip_suffix(typed.command.as_str()).unwrap_or("");
                for m in patterns().user_at_host.captures_iter(prompt) {
                    self.add_log_user(&m[1]);
                    self.add_host(&m[2]);
                }
                typed.host.iter().for_each(|h| self.add_host(h));
                typed.user.iter().for_each(|u| self.add_log_user(u));
                typed.identity.iter().for_each(|p| self.add_path(p));
            }
            Event::AuthenticatingAs { host, user, .. } | Event::ScpExecuting { host, user, .. } => {
                self.add_host(&host);
                self.add_log_user(&user);
            }
            Event::PermissionDenied { user_at_host, .. } => {
                if let Some((user, host)) = user_at_host.as_deref().and_then(|u| u.rsplit_once('@'))
                {
                    self.add_log_user(user);
                    self.add_host(host);
                }
            }
            Event::WillAttemptKey(key) | Event::OfferingKey(key) | Event::ServerAcceptsKey(key) => {
                self.add_key(&key);
            }
            Event::ServerHostKey { fingerprint, .. } => self.add_fingerprint(&fingerprint),
            // `host/build.example.com@EXAMPLE.COM`: the server's name and the Kerberos realm
            // (the organisation's domain, upper-cased).
            Event::KerberosNoPrincipal {
                principal: Some(principal),
            } => {
                let (service, realm) = principal.rsplit_once('@').unwrap_or((&principal, ""));
                let name = service.split_once('/').map_or(service, |(_, name)| name);
                [name, realm]
                    .iter()
                    .filter(|v| !v.is_empty())
                    .for_each(|v| self.add_host(v));
            }
            // Free text from the server or scp, or messages whose host the grammar keeps in
            // its wording: no typed field holds the values, the patterns look.
            Event::RemoteDebug { .. }
            | Event::BannerLine { .. }
            | Event::BannerExchangeFailed { .. }
            | Event::ScpError { .. }
            | Event::Authenticated { .. }
            | Event::ConnectionLost { .. }
            | Event::DisconnectedFrom
            | Event::ReceivedDisconnect { .. }
            | Event::TooManyAuthFailures
            | Event::HostAuthenticityUnknown
            | Event::Other => self.fallback(text),
            _ => {}
        }
    }

    /// A key as the client lists it: its name (a path, `user@host` or a comment) and fingerprint.
    fn add_key(&mut self, key: &KeyInfo) {
        if looks_like_path(&key.path) {
            self.add_path(&key.path);
        } else {
            self.add_key_name(&key.path);
        }
        if let Some(fingerprint) = &key.fingerprint {
            self.add_fingerprint(fingerprint);
        }
    }

    /// `SHA256:body`, `MD5:aa:bb:…` or, from old clients, bare hex pairs: the body is the value.
    fn add_fingerprint(&mut self, fingerprint: &str) {
        let body = match fingerprint.split_once(':') {
            Some((prefix, body))
                if prefix.len() > 2 && prefix.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                body
            }
            _ => fingerprint,
        };
        self.add(body, Kind::Fingerprint);
    }

    /// A path the log shows: the user whose home directory it is in (the rest is kept).
    fn add_path(&mut self, path: &str) {
        self.add_homes(path, Self::add_log_user);
    }

    /// The users of the home directories in `text` (`/home/NAME`, `C:\Users\NAME`, `/root`),
    /// each added by `add_user`.
    fn add_homes(&mut self, text: &str, add_user: fn(&mut Self, &str)) {
        let p = patterns();
        for m in p.home.captures_iter(text) {
            if let Some(name) = m.get(1).or_else(|| m.get(2)) {
                if !matches!(
                    name.as_str(),
                    "Shared" | "Public" | "Default" | "All Users" | "Default User"
                ) {
                    add_user(self, name.as_str());
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
    }

    /// An ssh command line as OpenSSH echoes it (`Started with:`, a proxy command): the user of
    /// `-l`, the hosts of `-J` and `-W`, and the destination (the first argument that is not an
    /// option). Words after the destination are the remote command, left to the shape scan.
    fn add_command(&mut self, command: &str) {
        // ssh's options that take a value (its getopt string), the rest are flags.
        const WITH_VALUE: &str = "BbcDEeFIiJLlmOoPpQRSWw";
        let mut words = command
            .split_whitespace()
            .map(|w| w.trim_matches(['\'', '"']));
        let mut found_program = false;
        while let Some(word) = words.next() {
            if !found_program {
                found_program = word
                    .rsplit('/')
                    .next()
                    .is_some_and(|p| p.starts_with("ssh"));
                continue;
            }
            let Some(flags) = word.strip_prefix('-') else {
                self.add_destination(word);
                return;
            };
            let Some(at) = flags.find(|c| WITH_VALUE.contains(c)) else {
                continue;
            };
            let attached = &flags[at + 1..];
            let value = if attached.is_empty() {
                words.next().unwrap_or("")
            } else {
                attached
            };
            match &flags[at..=at] {
                // sftp and scp start ssh with `-oForwardX11 no`: one argument, two words here.
                "o" if !value.contains('=') => _ = words.next(),
                "l" => self.add_log_user(value),
                "J" => value.split(',').for_each(|d| self.add_destination(d)),
                // `host:port`, `[host]:port`, or `%h:%p` in a ProxyJump's own command.
                "W" => self.add_host(value),
                _ => {}
            }
        }
    }

    /// `[user@]host[:port]` or `ssh://[user@]host[:port]`.
    fn add_destination(&mut self, destination: &str) {
        let destination = destination.strip_prefix("ssh://").unwrap_or(destination);
        let host = match destination.rsplit_once('@') {
            Some((user, host)) => {
                self.add_log_user(user);
                host
            }
            None => destination,
        };
        self.add_host(host);
    }

    /// Collects by shape, from any string: addresses, fingerprints, `user@host`, home
    /// directories and Windows account names.
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
            }) || is_vendor_domain(&m[2])
            {
                continue;
            }
            self.add_user(&m[1]);
            self.add_host(&m[2]);
        }
        self.add_homes(text, Self::add_user);
        for m in p.windows_account.captures_iter(text) {
            if !matches!(&m[1], "NT AUTHORITY" | "BUILTIN" | "NT SERVICE") {
                self.add_host(&m[1]);
                self.add_user(&m[2]);
            }
        }
    }

    /// The message patterns, for a line no event types: the places OpenSSH prints a host, a user
    /// or a key's name in messages the grammar does not read.
    fn fallback(&mut self, text: &str) {
        let p = patterns();
        for m in p.key_name.captures_iter(text) {
            self.add_key_name(&m[1]);
        }
        for m in p.hosts.captures_iter(text) {
            for name in m.iter().skip(1).flatten() {
                self.add_host(name.as_str());
            }
        }
        for m in p.host_lists.captures_iter(text) {
            m[1].split(',').for_each(|name| self.add_host(name));
        }
        for m in p.users.captures_iter(text) {
            for name in m.iter().skip(1).flatten() {
                self.add_user(name.as_str());
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

    /// The server's host column, and the user, client address and key sshd's grammar typed, in a
    /// server line.
    fn collect_server_line(&mut self, line: &ServerLine) {
        if let Some(host) = &line.host {
            self.add_host(host);
        }
        let Some(event) = &line.event else { return };
        let values = &event.values;
        if let Some(user) = &values.user {
            self.add_log_user(user);
        }
        if let Some(address) = &values.address {
            self.add_host(address);
        }
        if let Some(fingerprint) = &values.fingerprint {
            self.add_fingerprint(fingerprint);
        }
    }

    fn add_user(&mut self, user: &str) {
        let user = user.trim_matches(|c| c == '\'' || c == '"');
        if valid_name(user) && !is_generic(user) {
            self.add(user, Kind::User);
        }
    }

    /// A user name the log shows in a typed field or a path: a value even in capitals
    /// (`C:\Users\DELL`), where the rules' prose writes its placeholders in capitals (`USER`).
    fn add_log_user(&mut self, user: &str) {
        let user = user.trim_matches(|c| c == '\'' || c == '"');
        if valid_name(user) && !is_generic_word(user) {
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

/// Words the rules and OpenSSH use as generic placeholders or in prose, and the placeholders a
/// rule leaves for the reader in capitals (USER, CLIENT_IP): never values.
fn is_generic(name: &str) -> bool {
    (name.chars().all(|c| c.is_ascii_uppercase() || c == '_') && name.len() > 1)
        || is_generic_word(name)
}

/// Words used as placeholders or in prose, in any case: never values.
fn is_generic_word(name: &str) -> bool {
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
    WORDS.iter().any(|w| w.eq_ignore_ascii_case(name)) || name.starts_with("example.")
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
    ipv4: Regex,
    ipv6: Regex,
    user_at_host: Regex,
    home: Regex,
    root_home: Regex,
    /// Windows account names `DOMAIN\user (S-1-…)`.
    windows_account: Regex,
    // The message patterns of [`Redactor::fallback`], for lines no event types.
    /// Where a message names a key.
    key_name: Regex,
    /// Places OpenSSH prints a host name (every group is one).
    hosts: Regex,
    /// Comma-separated host lists (`Permanently added the ECDSA host key for IP address 'a,b'`).
    host_lists: Regex,
    /// Places OpenSSH and sshd print a user name.
    users: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let re = |s: &str| Regex::new(s).expect("redaction pattern");
        const HOST: &str = r"\[?[A-Za-z0-9_:][A-Za-z0-9_.:%-]*\]?";
        Patterns {
            sha: re(r"\b(?:SHA256|SHA384|SHA512|SHA1):([A-Za-z0-9+/]{16,}=*)"),
            md5: re(r"(?:MD5:|^|[^0-9A-Za-z:])([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){15})"),
            ipv4: re(r"\d{1,3}(?:\.\d{1,3}){3}"),
            ipv6: re(r"[0-9A-Fa-f]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*"),
            user_at_host: re(concat!(
                r"([A-Za-z0-9_][A-Za-z0-9_.$-]*)@",
                r"([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)"
            )),
            home: re(concat!(
                r"(?:^|/)(?:home|Users|usr/home|export/home)/([^/\\\s'\x22,:;()\[\]]+)",
                r"|\b[A-Za-z]:(?:\\\\|\\|/)Users(?:\\\\|\\|/)([^/\\\s'\x22,:;()\[\]]+)"
            )),
            root_home: re(r"/root"),
            windows_account: re(r"([A-Za-z0-9_ -]+?)\\{1,2}([A-Za-z0-9_.$-]+) \(S-1-"),
            key_name: re(concat!(
                r"(?:[Kk]ey|[Oo]ffering public key|[Oo]ffering \w+ public key|accepts key|",
                r"[Aa]uthentication succeeded \(publickey\)[^:]*|[Ss]igning with key|",
                r"[Ff]ound key|[Uu]sing key|identity file): ",
                r"(.+?) (?:[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*) (?:SHA256|SHA1|SHA384|SHA512|MD5):"
            )),
            hosts: re(&[
                format!(r"Authenticated to ({HOST}) \((?:\[({HOST})\]|via)"),
                r"resolving \x22([^\x22\s]+)\x22".to_string(),
                format!(r"(?:[Cc]losed by|[Rr]eset by|[Dd]isconnect(?:ed)? from|[Cc]onnection to|[Tt]imed out to|[Ff]orwarding to|connected to|[Ll]istening on|[Ll]ost connection to) ({HOST}) port \d+"),
                format!(r"Connected to ({HOST})"),
                format!(r"[Hh]ost '({HOST})'"),
                format!(r"authenticity of host '({HOST})(?: \(({HOST})\))?'"),
                format!(r"(?:IP address|key for host|for host) '({HOST})'"),
                format!(r"checking match for '(?:[Hh]ost|[Mm]atch host) [^']*' host ({HOST}) originally ({HOST})"),
                format!(r"remote address ({HOST}?):\d+"),
                format!(r"(?:[Jj]ump host|ProxyJump|proxy)\S* (?:connection )?to ({HOST})"),
            ]
            .join("|")),
            host_lists: re(r"(?:[Pp]ermanently added|[Aa]dded) '([^']+)'"),
            users: re(concat!(
                r"authenticating user ([A-Za-z0-9_][A-Za-z0-9_.$-]*)",
                r"|[Ii]nvalid user ([A-Za-z0-9_][A-Za-z0-9_.$-]*)",
                r"|User (?:name )?'([^']+)'|user=([A-Za-z0-9_][A-Za-z0-9_.$-]*)"
            )),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redactor_of(texts: &[&str]) -> Redactor {
        let mut r = Redactor::default();
        for t in texts {
            r.collect_line(t);
        }
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
            "on file C:/Users/user-2/.ssh/config and /Users/user-4/.ssh/config"
        );
        // The typed path of `identity file` is read before the shapes of the prose line.
        assert_eq!(
            out[3],
            "debug1: identity file /home/user-3/.ssh/id_ed25519 type 3"
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
    fn typed_fields_name_hosts_users_and_keys() {
        let out = redacted(&[
            "debug3: Started with: ssh -vvv -l bob -J jumper@gw.corp:2200 -p 2222 build7 uptime",
            "debug1: Executing proxy command: exec ssh -vvv -W '[build7]:2222' gw.corp",
            "Warning: Permanently added 'build7,10.9.8.7' (ED25519) to the list of known hosts.",
            "Executing: program /usr/bin/ssh host files.corp, user carol, command sftp",
            "carol@files.corp: Permission denied (publickey).",
            "debug1: Offering public key: deploy-key RSA SHA256:LVIX1/DWK3Kgv7jZqrdisoFwd6FFNpgBK+PZKwBX5j8 agent",
        ]);
        assert_eq!(
            out[0],
            "debug3: Started with: ssh -vvv -l user-1 -J user-2@host-1:2200 -p 2222 host-2 uptime"
        );
        assert_eq!(
            out[1],
            "debug1: Executing proxy command: exec ssh -vvv -W '[host-2]:2222' host-1"
        );
        assert_eq!(
            out[2],
            "Warning: Permanently added 'host-2,ip-1' (ED25519) to the list of known hosts."
        );
        assert_eq!(
            out[3],
            "Executing: program /usr/bin/ssh host host-3, user user-3, command sftp"
        );
        assert_eq!(out[4], "user-3@host-3: Permission denied (publickey).");
        assert_eq!(
            out[5],
            "debug1: Offering public key: key-comment-1 RSA SHA256:fingerprint-1 agent"
        );
    }

    #[test]
    fn a_user_the_log_shows_is_a_value_even_in_capitals() {
        let out = redacted(&[
            "Bad owner or permissions on C:\\\\Users\\\\DELL/.ssh/config",
            "Permissions 0777 for 'Users/ann/stamp/id_rsa' are too open.",
            "sshd: Failed publickey for USER from ADDRESS port PORT",
        ]);
        assert_eq!(
            out[0],
            "Bad owner or permissions on C:\\\\Users\\\\user-1/.ssh/config"
        );
        assert_eq!(
            out[1],
            "Permissions 0777 for 'Users/user-2/stamp/id_rsa' are too open."
        );
        assert_eq!(
            out[2],
            "sshd: Failed publickey for USER from ADDRESS port PORT"
        );
    }

    #[test]
    fn the_ssh_that_sftp_starts_names_its_user_and_host_only() {
        let out = redacted(&[concat!(
            "debug3: Started with: /usr/bin/ssh -oForwardX11 no -oPermitLocalCommand no ",
            "-oClearAllForwardings yes -o BatchMode=yes -vvv -oForwardAgent no -l carol -s -- files.corp sftp"
        )]);
        assert_eq!(
            out[0],
            concat!(
                "debug3: Started with: /usr/bin/ssh -oForwardX11 no -oPermitLocalCommand no ",
                "-oClearAllForwardings yes -o BatchMode=yes -vvv -oForwardAgent no -l user-1 -s -- host-1 sftp"
            )
        );
    }

    #[test]
    fn lines_no_event_types_fall_back_to_the_message_patterns() {
        let out = redacted(&[
            "Connected to files.corp.",
            "Connection closed by build7 port 22",
            "The authenticity of host 'gw.corp (10.9.8.7)' can't be established.",
        ]);
        assert_eq!(out[0], "Connected to host-1.");
        assert_eq!(out[1], "Connection closed by host-2 port 22");
        assert_eq!(
            out[2],
            "The authenticity of host 'host-3 (ip-1)' can't be established."
        );
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
