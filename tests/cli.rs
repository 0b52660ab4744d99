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

/// Runs vvvexplain with its standard output, or its standard error, a pipe nobody reads (closed
/// before it writes: `vvvexplain … | head -1`, `… | true`), or a full device.
fn with_closed(stream: &str, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_vvvexplain"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if stream == "full stderr" {
        command.stderr(std::fs::File::create("/dev/full").expect("/dev/full"));
    }
    let mut child = command.spawn().expect("run vvvexplain");
    match stream {
        "stdout" => drop(child.stdout.take()),
        "stderr" => drop(child.stderr.take()),
        _ => {}
    }
    child.wait_with_output().expect("wait for vvvexplain")
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let ok = "rules/ok/fixtures/sftp-vvv.log";
    let failed = "rules/auth-key-rejected/fixtures/ssh-vvv.log";
    let cases: &[(&[&str], i32)] = &[
        (&["--format", "json", ok], 0),
        (&["--format", "markdown", ok], 0),
        (&[ok], 0),
        (&[failed, ok], 1),
        (&["--format", "json", failed, ok], 1),
        (&["rules", "list"], 0),
        (&["rules", "check", "rules"], 0),
        (&["rules", "test", "rules"], 0),
        (&["--help"], 0),
        (&["--version"], 0),
    ];
    for (args, code) in cases {
        let out = with_closed("stdout", args);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).is_empty(), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn a_closed_or_full_stderr_keeps_the_exit_code() {
    for stream in ["stderr", "full stderr"] {
        let missing = with_closed(stream, &["/nonexistent"]);
        assert_eq!(missing.status.code(), Some(2), "{stream}");
        let no_openssh = with_closed(stream, &["Cargo.toml"]);
        assert_eq!(no_openssh.status.code(), Some(3), "{stream}");
        let bad_rules = with_closed(stream, &["rules", "check", "/nonexistent"]);
        assert_eq!(bad_rules.status.code(), Some(2), "{stream}");
    }
}

#[test]
fn a_save_file_that_cannot_be_created_says_so() {
    // `ssh -V` exits at once; the --save file is created before the client starts.
    let out = vvvexplain(&["--save", "/nonexistent/dir/ssh.log", "ssh", "-V"], None);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with(
            "vvvexplain: error: cannot create the --save file /nonexistent/dir/ssh.log: "
        ),
        "{err}"
    );
    let help = err.lines().nth(1).unwrap_or("");
    assert!(
        help.starts_with("help: ") && help.contains("--save"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 2, "{err}");
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
        err.contains("my-rule/rule.yaml:5:11: bad regex `(unclosed`"),
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
fn an_unknown_event_is_refused_at_its_place_with_the_closest_name() {
    let dir = rule_folder(
        "bad-event",
        "my-rule",
        "title: t\nphase: auth\nconfidence: high\nmatch:\n  events: [no_mutal_signature]\nexplanation: e\n",
    );
    let check = vvvexplain(&["rules", "check", dir.to_str().unwrap()], None);
    assert_eq!(check.status.code(), Some(2));
    let err = stderr(&check);
    assert!(
        err.contains("my-rule/rule.yaml:5:12: unknown event `no_mutal_signature` in `events`; did you mean `no_mutual_signature`?; known events: client_version, "),
        "{err}"
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

#[test]
fn success_is_a_property_of_a_rule_not_its_id() {
    let rule = |success: &str| {
        format!("title: It worked\nphase: disconnect\nconfidence: high\n{success}match:\n  outcome: success\nexplanation: e\n")
    };
    let explain = |dir: &Path| {
        let args = ["--no-default-rules", "--rules", dir.to_str().unwrap()];
        stdout(&vvvexplain(
            &[&args[..], &["rules/ok/fixtures/ssh-vvv.log"]].concat(),
            None,
        ))
    };
    let working = rule_folder("success-rule", "it-worked", &rule("success: true\n"));
    let out = explain(&working);
    assert!(!out.contains("Most likely:"), "{out}");
    let cause = rule_folder("cause-rule", "it-worked", &rule(""));
    let out = explain(&cause);
    assert!(out.contains("Most likely: It worked"), "{out}");
    assert!(
        out.contains("succeeded: connected and authenticated"),
        "{out}"
    );
    assert!(
        out.contains("It worked."),
        "a cause is named in the summary: {out}"
    );
}

#[test]
fn a_yaml_file_that_is_not_a_rule_folder_says_where_it_belongs() {
    let dir = tempdir("misplaced-rule");
    std::fs::write(dir.join("my-rule.yaml"), "title: t\n").unwrap();
    std::fs::create_dir_all(dir.join("other")).unwrap();
    std::fs::write(dir.join("other").join("rule.yml"), "title: t\n").unwrap();
    let check = vvvexplain(&["rules", "check", dir.to_str().unwrap()], None);
    assert_eq!(check.status.code(), Some(2));
    let err = stderr(&check);
    let belongs = |file: &Path, home: &Path| {
        format!(
            "{}:1:1: not read: a rule is a folder named by its id with a rule.yaml in it; move this file to {}",
            file.display(),
            home.display()
        )
    };
    let home = dir.join("my-rule").join("rule.yaml");
    assert!(
        err.contains(&belongs(&dir.join("my-rule.yaml"), &home)),
        "{err}"
    );
    let home = dir.join("other").join("rule.yaml");
    assert!(
        err.contains(&belongs(&dir.join("other/rule.yml"), &home)),
        "{err}"
    );
    let args = [
        "--rules",
        dir.to_str().unwrap(),
        "rules/ok/fixtures/ssh-vvv.log",
    ];
    assert_eq!(vvvexplain(&args, None).status.code(), Some(2));
}

#[test]
fn a_run_left_without_rules_is_an_error() {
    let empty = tempdir("no-rules");
    let runs: [&[&str]; 3] = [
        &[
            "--no-default-rules",
            "--rules",
            empty.to_str().unwrap(),
            "rules/ok/fixtures/ssh-vvv.log",
        ],
        &["--no-default-rules", "rules/ok/fixtures/ssh-vvv.log"],
        &["rules", "check", empty.to_str().unwrap()],
    ];
    for args in runs {
        let o = vvvexplain(args, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(err.contains("no rules to judge with"), "{err}");
        assert!(err.contains("\nhelp: "), "{err}");
    }
}

#[test]
fn rules_commands_read_the_working_directory_not_the_build_tree() {
    let elsewhere = tempdir("no-rules-here");
    let o = Command::new(env!("CARGO_BIN_EXE_vvvexplain"))
        .args(["rules", "test"])
        .current_dir(&elsewhere)
        .output()
        .expect("run vvvexplain");
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("no rules folder here"),
        "{}",
        stderr(&o)
    );
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

#[test]
fn redact_leaves_the_verdict_and_exit_code_as_they_were() {
    let decision = |v: &serde_json::Value| {
        let causes: Vec<&serde_json::Value> = v["causes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| &c["id"])
            .collect();
        format!("{} {} {causes:?}", v["outcome"], v["failed_phase"])
    };
    for log in [
        "rules/ok/fixtures/sftp-vvv.log",
        "rules/auth-key-rejected/fixtures/ssh-vvv.log",
        "tests/fixtures/synthetic/synthetic-openssh-9.2-ssh-vvv-stuck-at-banner.log",
    ] {
        let plain = vvvexplain(&["--format", "json", log], None);
        let redacted = vvvexplain(&["--redact", "--format", "json", log], None);
        assert_eq!(redacted.status.code(), plain.status.code(), "{log}");
        let json = |o: &Output| serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap();
        assert!(json(&plain)["causes"].is_array(), "{log}");
        assert_eq!(decision(&json(&redacted)), decision(&json(&plain)), "{log}");
    }
}

fn vvvexplain_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vvvexplain"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run vvvexplain")
}

#[test]
fn the_verdict_comes_first_and_fits_the_width() {
    let o = vvvexplain(
        &[
            "--width",
            "70",
            "rules/auth-key-rejected/fixtures/ssh-vvv.log",
        ],
        None,
    );
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].contains("FAILED in auth"), "{out}");
    assert!(lines[1].starts_with("Verdict: "), "{out}");
    let fix = lines
        .iter()
        .position(|l| l.contains("Fix on the client"))
        .unwrap();
    let timeline = lines.iter().position(|l| *l == "Timeline").unwrap();
    assert!(
        fix < 24 && fix < timeline,
        "the first fix is on the first screen:\n{out}"
    );
    assert!(lines.iter().all(|l| l.chars().count() <= 70), "{out}");
    assert!(
        out.contains("Keys offered (the server accepted none)"),
        "{out}"
    );
    let narrow = vvvexplain(&["--width", "10", "rules/ok/fixtures/ssh-vvv.log"], None);
    assert_eq!(narrow.status.code(), Some(2), "a width under 40 is refused");
}

#[test]
fn brief_is_a_few_lines_and_verbose_shows_the_phase_and_every_fact() {
    let file = "rules/port-closed/fixtures/ssh-vvv.log";
    let brief = stdout(&vvvexplain(&["-q", file], None));
    assert!(brief.lines().count() <= 8, "{brief}");
    assert!(brief.contains("Fix on the client") && brief.contains("Fix on the server"));
    let verbose = stdout(&vvvexplain(&["--verbose", file], None));
    assert!(verbose.contains("Lines of the connect phase"), "{verbose}");
    assert!(verbose.contains("Crypto library: OpenSSL"), "{verbose}");
    assert!(!verbose.contains("crypto_library"), "{verbose}");
}

#[test]
fn several_connections_are_numbered_and_chosen_with_session() {
    let file = "rules/port-closed/fixtures/ssh-v-attempts.log";
    let all = stdout(&vvvexplain(&[file], None));
    assert!(all.contains("→ #3 lines"), "{all}");
    assert!(
        !all.contains("sessions"),
        "no JSON key in the human report:\n{all}"
    );
    let first = stdout(&vvvexplain(&["--session", "1", file], None));
    assert!(first.contains("→ #1 lines"), "{first}");
    let every = stdout(&vvvexplain(&["--session", "all", file], None));
    assert_eq!(every.matches("Verdict: ").count(), 3, "{every}");
    let missing = vvvexplain(&["--session", "9", file], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("no connection #9"),
        "{}",
        stderr(&missing)
    );
    let json = vvvexplain(&["--format", "json", "--session", "last", file], None);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["decided_by"], 2);
}

#[test]
fn json_errors_and_json_lines() {
    let missing = vvvexplain(&["--format", "json", "no/such/file.log"], None);
    assert_eq!(missing.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&missing.stdout).expect("JSON error");
    assert_eq!(v["outcome"], "error");
    assert!(v["error"].as_str().unwrap().contains("no/such/file.log"));
    let nothing = vvvexplain(&["--format", "json"], Some(b"not a log\n"));
    assert_eq!(nothing.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&nothing.stdout).expect("JSON");
    assert_eq!(v["outcome"], "no_openssh_output");
    let lines = vvvexplain(
        &[
            "--format",
            "jsonl",
            "rules/ok/fixtures/ssh-vvv.log",
            "no/such/file.log",
            "rules/port-closed/fixtures/ssh-vvv.log",
        ],
        None,
    );
    let objects: Vec<serde_json::Value> = stdout(&lines)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one object per line"))
        .collect();
    let outcomes: Vec<&str> = objects
        .iter()
        .map(|o| o["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["success", "error", "failure"]);
    assert_eq!(lines.status.code(), Some(2));
}

#[test]
fn completions_and_man_page_are_generated() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = vvvexplain(&["completions", shell], None);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        assert!(stdout(&o).contains("vvvexplain"), "{shell}");
        assert!(
            stdout(&o).contains("session"),
            "{shell} completes --session"
        );
    }
    let man = vvvexplain(&["man"], None);
    assert_eq!(man.status.code(), Some(0));
    let page = stdout(&man);
    assert!(page.contains(".TH vvvexplain 1"), "{page}");
    assert!(page.contains("built\\-in rules") || page.contains("built-in rules"));
}

#[test]
fn version_help_and_mistyped_subcommands() {
    let version = stdout(&vvvexplain(&["--version"], None));
    let rules = std::fs::read_dir("rules")
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("rule.yaml").is_file())
        .count();
    assert!(
        version.contains(&format!("{rules} built-in rules")),
        "{version}"
    );
    assert!(version.contains("commit "), "{version}");
    let typo = vvvexplain(&["rulse", "list"], None);
    assert_eq!(typo.status.code(), Some(2));
    let err = stderr(&typo);
    assert!(err.contains("did you mean `rules`?"), "{err}");
    assert_eq!(
        err.lines().count(),
        2,
        "one error line and one help line: {err}"
    );
    let help = stdout(&vvvexplain(&["help", "ssh"], None));
    for option in ["--save", "--hang-after", "--slow-setup"] {
        assert!(help.contains(option), "help ssh lists {option}:\n{help}");
    }
}

#[test]
fn colour_follows_clicolor_force_and_term_dumb() {
    let file = "rules/auth-key-rejected/fixtures/ssh-vvv.log";
    let forced = vvvexplain_env(&[file], &[("CLICOLOR_FORCE", "1")]);
    assert!(
        stdout(&forced).contains("\u{1b}["),
        "CLICOLOR_FORCE colours a pipe"
    );
    let both = vvvexplain_env(&[file], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!stdout(&both).contains('\u{1b}'), "NO_COLOR wins");
    let dumb = vvvexplain_env(&["--color", "auto", file], &[("TERM", "dumb")]);
    assert!(!stdout(&dumb).contains('\u{1b}'));
}

#[test]
fn rules_show_and_list_as_json() {
    let list = vvvexplain(&["rules", "list", "--format", "json"], None);
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).expect("JSON");
    let first = &v.as_array().expect("an array")[0];
    for key in ["id", "phase", "confidence", "title"] {
        assert!(first[key].is_string(), "{key}");
    }
    let show = vvvexplain(&["rules", "show", "port-closed"], None);
    assert_eq!(show.status.code(), Some(0));
    let text = stdout(&show);
    for part in [
        "Nothing accepts connections",
        "Checks",
        "Fixes",
        "Fixtures",
        "$ nc -vz",
    ] {
        assert!(text.contains(part), "{part}:\n{text}");
    }
    assert!(!text.contains("{host}"), "{text}");
    let unknown = vvvexplain(&["rules", "show", "no-such-rule"], None);
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn the_rules_reference_is_up_to_date() {
    let generated = vvvexplain(&["rules", "docs", "rules"], None);
    assert_eq!(generated.status.code(), Some(0));
    let committed = std::fs::read_to_string("docs/rules.md").unwrap_or_default();
    assert!(
        committed == stdout(&generated),
        "docs/rules.md is stale: regenerate it with\n  cargo run -- rules docs rules > docs/rules.md"
    );
}

#[test]
fn connections_keep_their_input_numbers_when_some_are_left_out() {
    let one = std::fs::read("rules/port-closed/fixtures/ssh-vvv.log").unwrap();
    let forty: Vec<u8> = std::iter::repeat_n(one, 40).flatten().collect();
    let report = stdout(&vvvexplain(&[], Some(&forty)));
    assert!(report.contains("→ #40 lines"), "{report}");
    assert!(
        report.contains("  #1 lines") && !report.contains("  #20 lines"),
        "{report}"
    );
    let last = stdout(&vvvexplain(&["--session", "40", "-q"], Some(&forty)));
    assert!(last.contains("FAILED in connect"), "{last}");
    let left_out = vvvexplain(&["--session", "20"], Some(&forty));
    assert_eq!(left_out.status.code(), Some(2), "{}", stdout(&left_out));
}
