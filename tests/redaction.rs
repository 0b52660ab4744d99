//! Redaction on every fixture: after `redact::redact`, no host, address, user, fingerprint or
//! home directory of the log (as its typed events and the shape of its values show them) survives
//! in the JSON, human or Markdown report, and the verdict itself is the same.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;
use vvvexplain::event::{self, Event};
use vvvexplain::facts::Fact;
use vvvexplain::report::{self, Format, Styles};
use vvvexplain::rules::RuleSet;
use vvvexplain::verdict::{SessionVerdict, Verdict};

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    let rules = std::fs::read_dir(root.join("rules")).expect("rules/");
    for rule in rules.flatten() {
        if let Ok(entries) = std::fs::read_dir(rule.path().join("fixtures")) {
            files.extend(entries.flatten().map(|e| e.path()));
        }
    }
    for dir in ["tests/fixtures/synthetic", "tests/fixtures/pasted"] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
            files.extend(entries.flatten().map(|e| e.path()));
        }
    }
    files.retain(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        name.ends_with(".log") && !name.ends_with(".sshd.log")
    });
    files.sort();
    files
}

/// What posters write in place of their own values is not a value (`user`, `IP`, `xxx`, `----`),
/// nor is a default account every such server has (`ec2-user`).
fn posters_placeholder(value: &str) -> bool {
    ["user", "username", "host", "hostname", "IP", "ec2-user"].contains(&value)
        || value.chars().all(|c| matches!(c, 'x' | 'X' | '.' | '-'))
}

/// The values that must not survive: from the unredacted facts and a scan of the log itself.
fn sensitive_values(verdict: &Verdict, log: &str) -> BTreeSet<String> {
    let mut values = BTreeSet::new();
    let mut add = |v: &str| {
        let v = v.trim_matches(|c| "[]'\".,".contains(c));
        if !v.is_empty() && !posters_placeholder(v) {
            values.insert(v.to_string());
        }
    };
    for session in std::iter::once(&verdict.decision).chain(&verdict.sessions) {
        facts_values(session, &mut add);
    }
    for line in log.lines() {
        typed_values(
            &event::classify(line.trim_end_matches('\r')).event,
            &mut add,
        );
    }
    let ipv4 = Regex::new(r"\b\d{1,3}(?:\.\d{1,3}){3}\b").unwrap();
    let fingerprint = Regex::new(r"SHA256:([A-Za-z0-9+/]{20,})").unwrap();
    let md5 = Regex::new(r"\b[0-9a-f]{2}(?::[0-9a-f]{2}){15}\b").unwrap();
    let home = Regex::new(r#"(?:/home/|/Users/|Users\\\\|Users/)([A-Za-z0-9_.-]+)"#).unwrap();
    let user_at = Regex::new(r"\b([A-Za-z0-9_.-]+)@([A-Za-z0-9.-]+[A-Za-z0-9])").unwrap();
    for m in ipv4.find_iter(log) {
        add(m.as_str());
    }
    for re in [&fingerprint, &home] {
        for c in re.captures_iter(log) {
            add(&c[1]);
        }
    }
    for m in md5.find_iter(log) {
        add(m.as_str());
    }
    for c in user_at.captures_iter(log) {
        // Algorithm names (`kexguess2@matt.ucc.asn.au` is Dropbear's) are not the user's values.
        let algorithm = ["openssh.com", "libssh.org", "matt.ucc.asn.au"];
        if !algorithm.iter().any(|domain| c[2].ends_with(domain)) {
            add(&c[1]);
            add(&c[2]);
        }
    }
    if Regex::new(r"(^|[\s'=:])/root\b").unwrap().is_match(log) {
        add("/root");
    }
    values
}

/// The hosts, users and fingerprints the grammar types in one line (paths are checked through
/// their home directories, by the scan of the log).
fn typed_values(event: &Event, add: &mut impl FnMut(&str)) {
    let strip = |fp: &str| fp.split_once(':').map_or(fp, |(_, body)| body).to_string();
    let values: Vec<String> = match event {
        Event::Connecting { host, address, .. } => vec![host.clone(), address.clone()],
        Event::AuthenticatingAs { host, user, .. } | Event::ScpExecuting { host, user, .. } => {
            vec![host.clone(), user.clone()]
        }
        Event::ResolveFailed { host, .. }
        | Event::ConnectFailed { host, .. }
        | Event::ClosedByRemote { host }
        | Event::ConnectionClosed { host }
        | Event::ServerNotResponding { host } => vec![host.clone()],
        Event::HostKeyKnown { host, .. } | Event::HostKeyAdded { host, .. } => {
            host.split(',').map(String::from).collect()
        }
        Event::PermissionDenied {
            user_at_host: Some(user_at_host),
            ..
        } => user_at_host.split('@').map(String::from).collect(),
        Event::ServerHostKey { fingerprint, .. } => vec![strip(fingerprint)],
        Event::KerberosNoPrincipal {
            principal: Some(principal),
        } => principal
            .split(['/', '@'])
            .skip(1)
            .map(String::from)
            .collect(),
        Event::WillAttemptKey(key) | Event::OfferingKey(key) | Event::ServerAcceptsKey(key) => {
            key.fingerprint.iter().map(|fp| strip(fp)).collect()
        }
        _ => Vec::new(),
    };
    for value in values {
        // `[127.0.0.1]:2222`: the address is the value, the port is kept.
        let value = value.trim_start_matches('[');
        add(value.split(']').next().unwrap_or(value));
    }
}

fn facts_values(session: &SessionVerdict, add: &mut impl FnMut(&str)) {
    let facts = &session.facts;
    for fact in [Fact::Host, Fact::Address, Fact::User] {
        if let Some(v) = facts.text(fact) {
            add(&v);
        }
    }
    if let Some(key) = facts.text(Fact::ServerHostKey) {
        if let Some(fp) = key.split_whitespace().nth(1) {
            add(fp.strip_prefix("SHA256:").unwrap_or(fp));
        }
    }
}

/// `value` occurs in `text` as a whole word (not inside a longer name, so `root` in `chroot` and
/// `10.0.0.5` in `10.0.0.55` do not count).
fn leaks(text: &str, value: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(pos) = text[from..].find(value) {
        let start = from + pos;
        let end = start + value.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        let starts_word = value.starts_with(word);
        let ends_word = value.ends_with(word);
        let inside =
            starts_word && before.is_some_and(word) || ends_word && after.is_some_and(word);
        if !inside {
            return true;
        }
        from = start + 1;
        while !text.is_char_boundary(from) {
            from += 1;
        }
    }
    false
}

fn outputs(verdict: &Verdict) -> Vec<(&'static str, String)> {
    let mut outs = vec![(
        "json (serde_json)",
        serde_json::to_string(verdict).expect("json"),
    )];
    for (name, format) in [
        ("human", Format::Human),
        ("markdown", Format::Markdown),
        ("json", Format::Json),
    ] {
        let mut out = Vec::new();
        report::write(&mut out, verdict, format, &Styles::plain(), None).expect("report");
        outs.push((name, String::from_utf8(out).expect("utf-8 report")));
    }
    outs
}

#[test]
fn no_sensitive_value_survives_redaction_in_any_report() {
    let rules = RuleSet::builtin().expect("built-in rules");
    let files = fixtures();
    assert!(
        files.len() > 20,
        "expected the fixtures, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut with_values = 0;
    for file in &files {
        let bytes = std::fs::read(file).expect("fixture");
        let Some(verdict) = vvvexplain::explain(&bytes[..], &rules).expect("explain") else {
            continue;
        };
        let log = String::from_utf8_lossy(&bytes);
        let values = sensitive_values(&verdict, &log);
        // The check means something only if the unredacted report shows the values.
        let plain = serde_json::to_string(&verdict).expect("json");
        if values.iter().any(|v| leaks(&plain, v)) {
            with_values += 1;
        }
        let mut redacted = verdict.clone();
        vvvexplain::redact::redact(&mut redacted);
        // Rule ids (`root-login-denied`) name rules, not values of the log.
        let ids: BTreeSet<&str> = std::iter::once(&redacted.decision)
            .chain(&redacted.sessions)
            .flat_map(|s| s.causes.iter().map(|c| c.id.as_str()))
            .collect();
        for (format, text) in outputs(&redacted) {
            let text = ids.iter().fold(text, |t, id| t.replace(id, ""));
            for value in &values {
                if leaks(&text, value) {
                    failures.push(format!("{}: {format}: `{value}`", file.display()));
                }
            }
        }
        checked += 1;
    }
    assert!(checked > 20, "only {checked} fixtures had a verdict");
    assert!(
        failures.is_empty(),
        "values left after redaction:\n{}",
        failures.join("\n")
    );
    // Pasted logs are often redacted by their posters already; the recorded ones never are.
    assert!(
        with_values * 10 >= checked * 8,
        "only {with_values} of {checked} unredacted verdicts showed a sensitive value"
    );
}

#[test]
fn redaction_is_stable_and_keeps_ports_and_versions() {
    let rules = RuleSet::builtin().expect("built-in rules");
    for file in fixtures() {
        let bytes = std::fs::read(&file).expect("fixture");
        let Some(verdict) = vvvexplain::explain(&bytes[..], &rules).expect("explain") else {
            continue;
        };
        let mut once = verdict.clone();
        vvvexplain::redact::redact(&mut once);
        assert_eq!(
            verdict_of(&once),
            verdict_of(&verdict),
            "{}",
            file.display()
        );
        let mut twice = verdict.clone();
        vvvexplain::redact::redact(&mut twice);
        let json = serde_json::to_string(&once).unwrap();
        assert_eq!(
            json,
            serde_json::to_string(&twice).unwrap(),
            "{}",
            file.display()
        );
        // Same port, same placeholder for the host in the summary and the facts.
        let facts = &once.decision.facts;
        if let Some(port) = verdict.decision.facts.get(Fact::Port) {
            assert_eq!(facts.get(Fact::Port), Some(port), "{}", file.display());
        }
        let host = facts.text(Fact::Host);
        let original = verdict.decision.facts.text(Fact::Host);
        if let (Some(host), Some(false)) = (host, original.as_deref().map(posters_placeholder)) {
            assert!(
                host.starts_with("host-") || host.starts_with("ip-"),
                "{}: host fact {host}",
                file.display()
            );
            assert!(
                once.decision.summary.contains(&*host),
                "{}: {}",
                file.display(),
                once.decision.summary
            );
        }
        if let Some(version) = &verdict.decision.connection.client_version {
            assert_eq!(
                once.decision.connection.client_version.as_ref(),
                Some(version)
            );
        }
    }
}

/// What a verdict decides, for each session: outcome, failed phase, causes, phases reached, and
/// the exit code.
fn verdict_of(verdict: &Verdict) -> (String, i32) {
    let sessions = std::iter::once(&verdict.decision).chain(&verdict.sessions);
    let decisions: Vec<String> = sessions
        .map(|s| {
            let causes: Vec<&str> = s.causes.iter().map(|c| c.id.as_str()).collect();
            let phases: Vec<_> = s.timeline.iter().map(|e| (&e.phase, &e.status)).collect();
            let phases = serde_json::to_string(&phases);
            format!(
                "{:?} {:?} {causes:?} {}",
                s.outcome,
                s.failed_phase,
                phases.expect("phases")
            )
        })
        .collect();
    (decisions.join("\n"), verdict.exit_code())
}

#[test]
fn a_kerberos_principal_names_no_host_or_realm_once_redacted() {
    // Newer MIT krb5 names the principal where older versions (the synthetic fixture) do not.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let log = std::fs::read_to_string(root.join(
        "tests/fixtures/synthetic/synthetic-openssh-9.2-ssh-vvv-gssapi-no-host-principal.log",
    ))
    .unwrap()
    .replace(
        "Server not found in Kerberos database",
        "Server host/build7.corp.example@CORP.EXAMPLE not found in Kerberos database",
    );
    let rules = RuleSet::builtin().unwrap();
    let mut verdict = vvvexplain::explain(log.as_bytes(), &rules)
        .unwrap()
        .unwrap();
    assert_eq!(verdict.decision.causes[0].id, "gssapi-no-host-principal");
    vvvexplain::redact::redact(&mut verdict);
    for (format, text) in outputs(&verdict) {
        for value in ["build7", "CORP.EXAMPLE", "corp.example"] {
            assert!(!text.contains(value), "{format}: {value} survives");
        }
    }
}
