//! The command line as a user meets it: exit codes, formats, colour, errors and `rules` commands.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn vvvexplain(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vvvexplain"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vvvexplain");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    }
    child.wait_with_output().expect("wait for vvvexplain")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn success_exits_0_failure_exits_1() {
    let ok = vvvexplain(&["rules/ok/fixtures/ssh-vvv.log"], None);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("— OK"));
    let failed = vvvexplain(&["rules/auth-key-rejected/fixtures/ssh-vvv.log"], None);
    assert_eq!(failed.status.code(), Some(1));
    assert!(stdout(&failed).contains("FAILED in auth"));
}

#[test]
fn reads_standard_input() {
    let log = std::fs::read("rules/port-closed/fixtures/ssh-vvv.log").unwrap();
    let piped = vvvexplain(&[], Some(&log));
    assert_eq!(piped.status.code(), Some(1));
    assert!(
        stdout(&piped).contains("FAILED in connect"),
        "{}",
        stdout(&piped)
    );
    let dash = vvvexplain(&["-"], Some(&log));
    assert_eq!(stdout(&dash), stdout(&piped));
}

#[test]
fn input_without_openssh_output_exits_3_and_says_how_to_get_it() {
    let o = vvvexplain(&[], Some(b"hello\nthis is not a log\n"));
    assert_eq!(o.status.code(), Some(3));
    assert!(stdout(&o).is_empty());
    let err = stderr(&o);
    assert!(err.contains("no OpenSSH client output found"), "{err}");
    assert!(err.contains("help: run the client with -vvv"), "{err}");
    let empty = vvvexplain(&[], Some(b""));
    assert_eq!(empty.status.code(), Some(3));
}

#[test]
fn usage_and_input_errors_exit_2_with_one_clear_line() {
    let missing = vvvexplain(&["no/such/file.log"], None);
    assert_eq!(missing.status.code(), Some(2));
    let err = stderr(&missing);
    assert!(
        err.starts_with("vvvexplain: error: cannot read no/such/file.log:"),
        "{err}"
    );
    assert!(err.contains("\nhelp: "), "{err}");
    assert_eq!(
        vvvexplain(&["--format", "yaml", "x"], None).status.code(),
        Some(2)
    );
    assert_eq!(
        vvvexplain(&["tests"], None).status.code(),
        Some(2),
        "a directory is not a log"
    );
    assert_eq!(vvvexplain(&["--help"], None).status.code(), Some(0));
}

#[test]
fn json_has_the_documented_keys() {
    let o = vvvexplain(
        &[
            "--format",
            "json",
            "rules/auth-key-rejected/fixtures/ssh-vvv.log",
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(v["schema"], 2);
    assert_eq!(v["outcome"], "failure");
    assert_eq!(v["failed_phase"], "auth");
    let cause = &v["causes"][0];
    assert_eq!(cause["id"], "auth-key-rejected");
    for key in ["title", "confidence", "checks", "fixes"] {
        assert!(!cause[key].is_null(), "causes[0].{key}");
    }
    assert!(cause["fixes"][0]["side"].is_string());
    for key in ["last_ok", "evidence"] {
        assert!(
            v[key]["line"].is_u64() && v[key]["text"].is_string(),
            "{key}"
        );
    }
    let phase = &v["timeline"][0];
    for key in ["phase", "status", "first_line", "last_line"] {
        assert!(phase.get(key).is_some(), "timeline[].{key}");
    }
    assert_eq!(v["sessions"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["sessions"][0]["outcome"], "failure");
    // Schema 2: facts are typed.
    assert!(v["facts"]["port"].is_u64(), "port is a number");
    assert!(v["facts"]["keys_offered"].is_array(), "a list is an array");
    assert!(v["facts"]["user"].is_string());

    let ok = vvvexplain(&["--format", "json", "rules/ok/fixtures/ssh-vvv.log"], None);
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(
        (v["outcome"].as_str(), v["failed_phase"].is_null()),
        (Some("success"), true)
    );
    assert_eq!(v["causes"][0]["id"], "ok");
}

#[test]
fn several_files_give_a_json_array_and_the_worst_exit_code() {
    let o = vvvexplain(
        &[
            "--format",
            "json",
            "rules/ok/fixtures/ssh-vvv.log",
            "rules/port-closed/fixtures/ssh-vvv.log",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(v.as_array().map(Vec::len), Some(2));
    let human = vvvexplain(
        &[
            "rules/ok/fixtures/ssh-vvv.log",
            "rules/port-closed/fixtures/ssh-vvv.log",
        ],
        None,
    );
    assert!(stdout(&human).contains("==> rules/port-closed/fixtures/ssh-vvv.log <=="));
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let file = "rules/auth-key-rejected/fixtures/ssh-vvv.log";
    assert!(
        !stdout(&vvvexplain(&[file], None)).contains('\u{1b}'),
        "a pipe gets no colour"
    );
    assert!(stdout(&vvvexplain(&["--color", "always", file], None)).contains("\u{1b}["));
    assert!(!stdout(&vvvexplain(&["--color", "never", file], None)).contains('\u{1b}'));
}

#[test]
fn markdown_is_ready_to_paste() {
    let o = vvvexplain(
        &[
            "--format",
            "markdown",
            "rules/hostkey-changed/fixtures/ssh-vvv.log",
        ],
        None,
    );
    let md = stdout(&o);
    assert!(
        md.starts_with("### vvvexplain: ssh — FAILED in hostkey"),
        "{md}"
    );
    assert!(md.contains("| ✗ | hostkey |"), "{md}");
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vvvexplain"))
        .args(["--format", "json", "rules/ok/fixtures/sftp-vvv.log"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(!stderr(&out).contains("error"), "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn rules_list_check_and_test() {
    let list = vvvexplain(&["rules", "list"], None);
    assert_eq!(list.status.code(), Some(0));
    assert!(stdout(&list)
        .lines()
        .any(|l| l.starts_with("auth-key-rejected ") && l.contains(" auth ")));
    let check = vvvexplain(&["rules", "check", "rules"], None);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    let test = vvvexplain(&["rules", "test", "rules"], None);
    let out = stdout(&test);
    assert_eq!(test.status.code(), Some(0), "{out}");
    assert!(
        out.trim_end()
            .lines()
            .last()
            .is_some_and(|l| l.ends_with(" passed, 0 failed")),
        "{out}"
    );
}

#[test]
fn a_bad_rule_file_is_refused_with_file_line_and_column() {
    let dir = rule_folder(
        "bad-rules",
        "my-rule",
        "title: t\nphase: auth\nconfidence: high\nmatch:\n  lines: ['(unclosed']\nexplanation: e\n",
    );
    let check = vvvexplain(&["rules", "check", dir.to_str().unwrap()], None);
    assert_eq!(check.status.code(), Some(2));
    let err = stderr(&check);
    assert!(
        err.contains("my-rule/rule.yaml:5:12: bad regex `(unclosed`"),
        "{err}"
    );
    let explain = vvvexplain(
        &[
            "--rules",
            dir.to_str().unwrap(),
            "rules/ok/fixtures/ssh-vvv.log",
        ],
        None,
    );
    assert_eq!(
        explain.status.code(),
        Some(2),
        "bad user rules stop the run"
    );
}

#[test]
fn user_rules_extend_the_built_in_ones() {
    let dir = rule_folder(
        "user-rules",
        "company-bastion",
        "title: Our bastion refused you\nphase: auth\nconfidence: high\noutranks: [auth-key-rejected]\nmatch:\n  failed_phase: auth\n  facts:\n    port: '^22380$'\nexplanation: Ask the platform team to add your key.\n",
    );
    let o = vvvexplain(
        &[
            "--format",
            "json",
            "--rules",
            dir.to_str().unwrap(),
            "rules/auth-key-rejected/fixtures/ssh-vvv.log",
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(v["causes"][0]["id"], "company-bastion");
    assert_eq!(v["causes"][1]["id"], "auth-key-rejected");
}

/// A rules folder holding one rule `id` with the given rule.yaml text.
fn rule_folder(name: &str, id: &str, yaml: &str) -> std::path::PathBuf {
    let dir = tempdir(name);
    std::fs::create_dir_all(dir.join(id)).unwrap();
    std::fs::write(dir.join(id).join("rule.yaml"), yaml).unwrap();
    dir
}

/// A fresh folder under the target dir (tests never write into the source tree).
fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn redact_hides_the_infrastructure_in_every_format() {
    for format in ["human", "json", "markdown"] {
        let o = vvvexplain(
            &[
                "--redact",
                "--format",
                format,
                "rules/auth-key-rejected/fixtures/ssh-vvv.log",
            ],
            None,
        );
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(1));
        assert!(
            out.contains("ip-1") && out.contains("user-1"),
            "{format}: {out}"
        );
        for secret in ["127.0.0.1", "vvvlab", "/home/vvvlab", "SHA256:YHXsv9"] {
            assert!(!out.contains(secret), "{format} leaks {secret}");
        }
    }
}
