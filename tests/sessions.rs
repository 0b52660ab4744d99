//! One input, several connections: retries, jump hosts and pasted runs are told apart, and the
//! verdict is about the connection that decides.

use std::path::Path;

use vvvexplain::facts::{Fact, FactValue};
use vvvexplain::rules::RuleSet;
use vvvexplain::timeline::{Outcome, Phase, Role};
use vvvexplain::verdict::Verdict;

fn verdict_of(input: &[u8]) -> Verdict {
    vvvexplain::explain(input, &RuleSet::builtin().unwrap())
        .unwrap()
        .expect("OpenSSH output")
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[test]
fn connection_attempts_are_separate_connections() {
    let v = verdict_of(&fixture("rules/port-closed/fixtures/ssh-v-attempts.log"));
    assert_eq!(v.sessions.len(), 3);
    assert!(v
        .sessions
        .iter()
        .all(|s| s.outcome == Outcome::Failure && s.failed_phase == Some(Phase::Connect)));
    assert!(v.sessions.iter().all(|s| s.causes[0].id == "port-closed"));
    assert_eq!(v.decided_by, 2);
}

#[test]
fn a_proxy_jump_has_the_jump_host_as_its_own_connection() {
    let v = verdict_of(&fixture("rules/ok/fixtures/ssh-vvv-proxyjump.log"));
    assert_eq!(v.sessions.len(), 2);
    let jump = v
        .sessions
        .iter()
        .find(|s| s.connection.role == Role::JumpHost)
        .expect("a jump-host connection");
    assert!(jump.facts.contains(Fact::Port));
    assert_eq!(v.sessions[v.decided_by].connection.role, Role::Direct);
    assert_eq!(v.decision.outcome, Outcome::Success);
    assert_eq!(
        v.decision.facts.get(Fact::ExitStatus),
        Some(&FactValue::Number(0))
    );
}

#[test]
fn two_pasted_runs_are_judged_by_the_last() {
    let mut input = fixture("rules/auth-key-rejected/fixtures/ssh-vvv.log");
    input.extend(fixture("rules/ok/fixtures/ssh-vvv.log"));
    let v = verdict_of(&input);
    assert_eq!(v.sessions.len(), 2);
    assert_eq!(v.sessions[0].failed_phase, Some(Phase::Auth));
    assert_eq!(v.decided_by, 1);
    assert_eq!(v.decision.outcome, Outcome::Success);
    assert!(v.decision.notes.iter().any(|n| n.contains("2 connections")));
}

#[test]
fn a_remote_command_printing_connection_closed_is_not_a_failure() {
    let log = String::from_utf8(fixture("rules/ok/fixtures/ssh-v.log")).unwrap();
    let log = log.replacen("hi\r\n", "Connection closed\r\nPermission denied\r\n", 1);
    assert!(log.contains("Connection closed"), "the fixture prints `hi`");
    let v = verdict_of(log.as_bytes());
    assert_eq!(v.decision.outcome, Outcome::Success);
}

#[test]
fn a_wait_ends_at_the_next_milestone() {
    // The user answered the host key question; the log then stops while authenticating.
    let log = "OpenSSH_9.2p1 Debian-2, OpenSSL 3.0.19 27 Jan 2026\n\
debug1: Connecting to example.org [203.0.113.7] port 22.\n\
debug1: Connection established.\n\
debug1: Remote protocol version 2.0, remote software version OpenSSH_9.2p1\n\
debug1: Server host key: ssh-ed25519 SHA256:abc\n\
The authenticity of host 'example.org (203.0.113.7)' can't be established.\n\
Warning: Permanently added 'example.org' (ED25519) to the list of known hosts.\n\
debug1: SSH2_MSG_NEWKEYS received\n\
debug1: Authentications that can continue: publickey,gssapi-with-mic\n\
debug1: Next authentication method: gssapi-with-mic\n";
    let v = verdict_of(log.as_bytes());
    assert_eq!(v.decision.outcome, Outcome::Incomplete);
    assert_eq!(v.decision.failed_phase, Some(Phase::Auth));
    let waiting = v.decision.waiting_for.as_deref().unwrap();
    assert!(waiting.contains("Kerberos"), "{waiting}");
    assert_eq!(v.decision.evidence.as_ref().map(|l| l.line), Some(10));
}
