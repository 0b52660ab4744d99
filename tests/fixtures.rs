//! Every rule proven on its fixtures: the same check as `vvvexplain rules test`, plus the
//! coverage the project promises (every cause id has a rule and a real recorded transcript).

use std::path::Path;

mod common;

use vvvexplain::rules::{self, RuleSet};
use vvvexplain::ruletest;

fn rule_set() -> RuleSet {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    RuleSet::compile(rules::load_dir(&dir).expect("read rules/")).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_fixture_gets_its_expected_verdict() {
    let results = ruletest::run(&rule_set());
    let failures: Vec<String> = results
        .iter()
        .filter_map(|r| {
            r.failure
                .as_ref()
                .map(|why| format!("{}: {} ({})", r.name, why, r.verdict))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} fixture tests failed:\n{}",
        failures.len(),
        results.len(),
        failures.join("\n")
    );
}

#[test]
fn the_folder_rules_are_the_built_in_rules() {
    let on_disk: Vec<String> = rule_set()
        .rules()
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    let built_in: Vec<String> = RuleSet::builtin()
        .unwrap()
        .rules()
        .iter()
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(on_disk, built_in);
}

/// The cause ids the project promised, each with a rule and a real (not synthetic) transcript.
const PROMISED: &[&str] = &[
    "ok",
    "port-closed",
    "connect-timeout",
    "dns-failure",
    "not-ssh-service",
    "banner-timeout",
    "reset-before-banner",
    "closed-before-banner",
    "maxstartups",
    "kex-no-common-kex",
    "kex-no-common-cipher",
    "kex-no-common-mac",
    "kex-no-common-hostkey",
    "hostkey-changed",
    "hostkey-unknown",
    "client-config-perms",
    "key-file-perms",
    "auth-key-rejected",
    "auth-no-methods-left",
    "auth-too-many-failures",
    "auth-no-mutual-signature",
    "auth-user-denied",
    "root-login-denied",
    "authorized-keys-perms",
    "channel-open-prohibited",
    "chroot-perms",
    "sftp-subsystem-missing",
    "sftp-server-path-wrong",
    "shell-prints-output",
    "nologin-shell",
    "sftp-only-account",
    "remote-closed-mid-session",
    "keepalive-timeout",
    "proxycommand-failed",
    "jump-host-target-failed",
    "key-invalid-format",
    "key-passphrase-no-prompt",
    "agent-unreachable",
    "agent-refused-signing",
    "user-cert-invalid",
    "corrupted-mac",
    "hostkey-unverifiable-batch",
    "remote-command-failed",
    "ipv6-tried-first",
    "waiting-for-user",
    "sshd-no-hostkeys",
    "sshd-privsep-failed",
    "name-resolves-to-proxy",
    "git-host-no-shell",
    "git-repo-access-denied",
];

#[test]
fn every_promised_cause_has_a_rule_and_a_real_fixture() {
    let set = rule_set();
    for id in PROMISED {
        let rule = set.get(id).unwrap_or_else(|| panic!("no rule for {id}"));
        let real = rule.tests.iter().any(|t| {
            let name = t.fixture.to_string_lossy();
            !name.contains("synthetic")
                && !t.quiet
                && t.top_cause.iter().any(|c| c == id || *id == "ok")
        });
        let own = rule
            .tests
            .iter()
            .any(|t| !t.fixture.to_string_lossy().contains("synthetic") && !t.quiet);
        assert!(
            real || own,
            "{id} has no real recorded fixture among its tests"
        );
    }
}

#[test]
fn every_recorded_transcript_is_tested_by_some_rule() {
    let set = rule_set();
    let tested: Vec<std::path::PathBuf> = set
        .rules()
        .iter()
        .flat_map(|r| {
            r.tests.iter().map(|t| {
                t.fixture
                    .canonicalize()
                    .unwrap_or_else(|_| t.fixture.to_path_buf())
            })
        })
        .collect();
    let untested: Vec<String> = common::all_transcripts()
        .into_iter()
        .filter(|path| !tested.contains(&path.canonicalize().unwrap()))
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        untested.is_empty(),
        "transcripts no rule tests:\n{}",
        untested.join("\n")
    );
}
