//! Live: records a handful of scenarios against the sshd installed on this machine right now and
//! checks their verdicts, so a new OpenSSH that changes its messages is caught. It needs root,
//! /usr/sbin/sshd and python3 (CI installs openssh-server); elsewhere it says why it skipped, and
//! under CI (CI=true) a skip is a failure.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use vvvexplain::rules::{self, RuleSet};
use vvvexplain::ruletest;

/// Lab scenarios (`<cause>/<fixture>`) recorded live; each is judged by its rule's own test.
const SCENARIOS: &[&str] = &[
    "ok/ssh-vvv",
    "ok/sftp-vvv",
    "port-closed/ssh-vvv",
    "auth-key-rejected/ssh-vvv",
    "kex-no-common-kex/ssh-vvv",
    "hostkey-changed/ssh-vvv",
    "shell-prints-output/sftp-vvv",
];

fn why_not_runnable() -> Option<String> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .is_some_and(|o| o.stdout.starts_with(b"0\n"));
    if !root {
        return Some("the lab needs root (it creates throwaway users and starts sshd)".into());
    }
    if !Path::new("/usr/sbin/sshd").exists() {
        return Some("/usr/sbin/sshd is not installed (apt-get install -y openssh-server)".into());
    }
    let ok = |program: &str| Command::new(program).arg("-V").output().is_ok();
    if !ok("ssh") || Command::new("python3").arg("--version").output().is_err() {
        return Some("ssh or python3 is missing".into());
    }
    None
}

/// Printed past the test harness's capture, so a skip is visible in `cargo test` output.
fn say(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}

#[test]
fn live_scenarios_against_the_installed_sshd() {
    if let Some(why) = why_not_runnable() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the live test must run in CI, but: {why}"
        );
        say(&format!("live test skipped: {why}"));
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("live-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let mut lab = Command::new("timeout");
    lab.arg(Duration::from_secs(240).as_secs().to_string())
        .arg("python3")
        .arg(root.join("tests/lab/lab.py"))
        .arg("--out")
        .arg(&out)
        .args(SCENARIOS);
    let status = lab.status().expect("run the lab");
    assert!(
        status.success(),
        "the lab failed ({status}); run it by hand: sudo python3 tests/lab/lab.py {}",
        SCENARIOS.join(" ")
    );

    let set = RuleSet::compile(rules::load_dir(&root.join("rules")).unwrap())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut failures = Vec::new();
    for scenario in SCENARIOS {
        let (cause, fixture) = scenario.split_once('/').unwrap();
        let rule = set.get(cause).unwrap_or_else(|| panic!("no rule {cause}"));
        let test = rule
            .tests
            .iter()
            .find(|t| t.fixture.ends_with(format!("fixtures/{fixture}.log")))
            .unwrap_or_else(|| panic!("rule {cause} has no test for fixtures/{fixture}.log"));
        let recorded = out
            .join(cause)
            .join("fixtures")
            .join(format!("{fixture}.log"));
        let result = ruletest::run_on(&set, rule, test, &recorded);
        say(&format!("live {scenario}: {}", result.verdict));
        if let Some(why) = result.failure {
            failures.push(format!(
                "{scenario}: {why} (transcript kept at {})",
                recorded.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "live verdicts differ from the recorded ones:\n{}",
        failures.join("\n")
    );
    let _ = std::fs::remove_dir_all(&out);
}
