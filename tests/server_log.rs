//! `--server-log`: every recorded scenario that has its sshd log beside it, explained with that
//! log raw (`sshd -D -e` at DEBUG3) and turned into the journal and syslog shapes an admin pastes
//! (generated here); and a busy server's log, where the scenario hides among thousands of others.

use std::path::{Path, PathBuf};

use proptest::strategy::Strategy;
use vvvexplain::analyze::timeline_of;
use vvvexplain::rules::RuleSet;
use vvvexplain::server::ServerLog;
use vvvexplain::verdict::Verdict;

/// Every `rules/<id>/fixtures/<name>.sshd.log` with its client log and the exact cause: the
/// fixture's own rule where its test lists it among equals, else the single top cause its test
/// declares. Scenarios without a declared top cause are left out.
fn scenarios() -> Vec<(PathBuf, PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut found = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap().flatten() {
        let id = dir.file_name().to_string_lossy().into_owned();
        let yaml = std::fs::read_to_string(dir.path().join("rule.yaml")).unwrap();
        let rule: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
        let tests = rule["tests"].as_sequence().cloned().unwrap_or_default();
        for test in tests {
            let fixture = test["fixture"].as_str().unwrap_or_default();
            let Some(name) = fixture.strip_prefix("fixtures/") else {
                continue;
            };
            let server = dir
                .path()
                .join("fixtures")
                .join(name.replace(".log", ".sshd.log"));
            if !server.is_file() {
                continue;
            }
            let declared: Vec<String> = match &test["top_cause"] {
                serde_yaml::Value::String(one) => vec![one.clone()],
                serde_yaml::Value::Sequence(many) => many
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                _ => continue,
            };
            let exact = if declared.contains(&id) {
                id.clone()
            } else {
                declared[0].clone()
            };
            found.push((dir.path().join(fixture), server, exact));
        }
    }
    found.sort();
    found
}

/// The lines an admin sees at INFO and VERBOSE: sshd's debug lines dropped, each connection with
/// its own process id (a new one at each `Connection from`), under a collector's prefix that
/// `prefix` writes for the program and its pid. Dropbear's `-E` lines (`[PID] Mmm dd hh:mm:ss
/// msg`) keep their pid and lose their time, as syslog puts its own.
fn collected(raw: &str, prefix: &dyn Fn(&str, u32) -> String) -> String {
    let mut pid = 700;
    let mut out = String::new();
    for line in raw.lines() {
        if line.starts_with("debug") {
            continue;
        }
        let dropbear = line
            .strip_prefix('[')
            .and_then(|l| l.split_once("] "))
            .and_then(|(pid, rest)| Some((pid.parse().ok()?, rest.get(16..)?)));
        if let Some((pid, message)) = dropbear {
            out.push_str(&prefix("dropbear", pid));
            out.push_str(message);
            out.push('\n');
            continue;
        }
        if line.starts_with("Connection from ") {
            pid += 1;
        }
        out.push_str(&prefix("sshd", pid));
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A log the lab kept as a syslog daemon writes it (`Dec  6 21:58:26 lab sshd[11155]: …`, with
/// the PAM modules' lines that never reach sshd's stderr) is already in the auth.log shape.
fn already_collected(raw: &str) -> bool {
    raw.lines().next().is_some_and(|l| {
        l.get(16..)
            .is_some_and(|rest| rest.starts_with("lab sshd["))
    })
}

/// `sshd -E FILE` at LogLevel INFO: no prefix, no process id, and no `Connection from` line (it is
/// logged at VERBOSE): connections are told apart only by the client's address and port.
fn info_level(raw: &str) -> String {
    let kept = raw
        .lines()
        .filter(|l| !l.starts_with("debug") && !l.starts_with("Connection from "));
    kept.map(|l| format!("{l}\n")).collect()
}

fn shapes(raw: &str) -> Vec<(&'static str, String)> {
    if already_collected(raw) {
        return vec![("auth.log", raw.to_string())];
    }
    vec![
        ("raw", raw.to_string()),
        ("info", info_level(raw)),
        (
            "journal",
            collected(raw, &|program, pid| {
                format!("Dec 06 20:47:28 lab {program}[{pid}]: ")
            }),
        ),
        (
            "auth.log",
            collected(raw, &|program, pid| {
                format!("Dec  6 20:47:28 lab {program}[{pid}]: ")
            }),
        ),
        (
            "journal-iso",
            collected(raw, &|program, pid| {
                // OpenSSH 9.8+ logs a connection as sshd-session.
                let program = if program == "sshd" {
                    "sshd-session"
                } else {
                    program
                };
                format!("2026-12-06T20:47:28+0000 lab {program}[{pid}]: ")
            }),
        ),
    ]
}

fn top_cause(client: &Path, server: &str, rules: &RuleSet) -> Option<String> {
    let timeline = timeline_of(std::io::BufReader::new(
        std::fs::File::open(client).unwrap(),
    ))
    .unwrap();
    let log = ServerLog::read(server.as_bytes()).unwrap();
    let verdict = Verdict::build_with_server(&timeline, rules, Some(&log))?;
    verdict.decision.causes.first().map(|c| c.id.clone())
}

#[test]
fn with_its_server_log_every_scenario_has_its_exact_cause_on_top() {
    let rules = RuleSet::builtin().unwrap();
    let scenarios = scenarios();
    assert!(scenarios.len() >= 40, "{} scenarios", scenarios.len());
    let dropbear = scenarios
        .iter()
        .filter(|(client, ..)| client.to_string_lossy().contains("dropbear-"))
        .count();
    assert!(dropbear >= 8, "{dropbear} Dropbear scenarios");
    let mut wrong = Vec::new();
    let mut runs = 0;
    for (client, server, exact) in &scenarios {
        let raw = std::fs::read_to_string(server).unwrap();
        for (shape, text) in shapes(&raw) {
            runs += 1;
            let top = top_cause(client, &text, &rules);
            // The cause the lab set up (the fixture's folder) is exact too: a near miss whose
            // client log reads as another cause, once the server's log proves its own.
            let set_up = client
                .parent()
                .and_then(Path::parent)
                .and_then(Path::file_name);
            let set_up = set_up.map(|id| id.to_string_lossy().into_owned());
            if top.as_deref() != Some(exact.as_str()) && top != set_up {
                wrong.push(format!(
                    "{} ({shape}): {top:?}, not {exact}",
                    client.display()
                ));
            }
        }
    }
    // Where it is not (the target is 98%): printed for the report.
    for w in &wrong {
        eprintln!("not exact: {w}");
    }
    let right = runs - wrong.len();
    eprintln!(
        "{right} of {runs} runs exact ({} scenarios, up to 5 shapes)",
        scenarios.len()
    );
    assert!(
        right * 100 >= runs * 98,
        "{right} of {runs} exact:\n{}",
        wrong.join("\n")
    );
}

/// The scenario's lines (as auth.log has them, under sshd process 4242) among a few thousand
/// other connections' lines, some of them the same user's with another key.
fn busy(scenario: &str) -> String {
    busy_with(scenario, 3000)
}

/// The scenario's lines among `others` other connections' lines (the scenario after every
/// thousandth's 500th).
fn busy_with(scenario: &str, others: u32) -> String {
    let mut out = String::new();
    let scenario: Vec<String> = collected(scenario, &|program, _| {
        format!("Dec  6 20:47:28 lab {program}[4242]: ")
    })
    .lines()
    .map(str::to_string)
    .collect();
    for i in 0..others {
        let pid = 10_000 + i;
        let user = other_user(i);
        let (a, b) = (i / 250, i % 250);
        let port = 30_000 + i;
        let at = format!("Dec  6 20:47:28 lab sshd[{pid}]: ");
        out.push_str(&format!(
            "{at}Connection from 10.0.{a}.{b} port {port} on 127.0.0.1 port 22430 rdomain \"\"\n\
             Dec  6 20:47:28 lab CRON[{pid}]: pam_unix(cron:session): session closed for user root\n\
             {at}Accepted publickey for {user} from 10.0.{a}.{b} port {port} ssh2: ED25519 SHA256:other{i}\n"
        ));
        if i % 1000 == 500 {
            out.push_str(&scenario.join("\n"));
            out.push('\n');
        }
    }
    out
}

/// The verdict of a scenario's client log with its server log turned into a busy server's by
/// `busy`.
fn among_many(id: &str, name: &str, busy: fn(&str) -> String) -> Verdict {
    let rules = RuleSet::builtin().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("rules")
        .join(id)
        .join("fixtures");
    let raw = std::fs::read_to_string(fixtures.join(format!("{name}.sshd.log"))).unwrap();
    let log = ServerLog::read(busy(&raw).as_bytes()).unwrap();
    assert!(
        log.connections.len() > 3000,
        "{id}: {}",
        log.connections.len()
    );
    let client = std::fs::File::open(fixtures.join(format!("{name}.log"))).unwrap();
    let timeline = timeline_of(std::io::BufReader::new(client)).unwrap();
    Verdict::build_with_server(&timeline, &rules, Some(&log)).unwrap()
}

/// Another connection's user: now and then the scenario's own, with another key.
fn other_user(i: u32) -> String {
    if i % 7 == 0 {
        "vvvlab".to_string()
    } else {
        format!("user{i}")
    }
}

#[test]
fn a_busy_servers_log_still_pairs_the_right_connection() {
    for (id, name) in [
        ("auth-key-rejected", "ssh-vvv"),
        ("auth-user-denied", "ssh-vvv"),
        ("authorized-keys-perms", "ssh-vvv"),
        ("auth-sigalg-rejected-by-server", "ssh-vvv"),
        ("root-login-denied", "ssh-vvv"),
        ("sftp-subsystem-missing", "sftp-vvv"),
        ("root-login-denied", "dropbear-ssh-vvv"),
        ("auth-user-denied", "dropbear-ssh-vvv-group"),
    ] {
        let verdict = among_many(id, name, busy);
        let server = verdict.decision.server.as_ref().unwrap();
        assert!(server.paired, "{id}");
        assert_eq!(server.pid, Some(4242), "{id}");
        assert_eq!(verdict.decision.causes[0].id, id);
    }
}

/// The scenario's lines as `sshd -E` keeps them at INFO (no prefix, no process id, no
/// `Connection from`) among a few thousand other connections' lines, interleaved.
fn busy_at_info(scenario: &str) -> String {
    let mut out = String::new();
    for i in 0..3000u32 {
        let user = other_user(i);
        let (a, b, port) = (i / 250, i % 250, 30_000 + i);
        out.push_str(&format!(
            "Failed publickey for {user} from 10.0.{a}.{b} port {port} ssh2: ED25519 SHA256:other{i}\n"
        ));
        if i % 1000 == 500 {
            out.push_str(&info_level(scenario));
        }
        out.push_str(&format!(
            "Connection closed by authenticating user {user} 10.0.{a}.{b} port {port} [preauth]\n"
        ));
    }
    out
}

#[test]
fn a_busy_servers_log_at_info_without_ids_still_pairs_the_right_connection() {
    for (id, name) in [
        ("auth-key-rejected", "ssh-vvv"),
        ("auth-user-denied", "ssh-vvv"),
        ("authorized-keys-perms", "ssh-vvv"),
        ("root-login-denied", "ssh-vvv"),
    ] {
        let verdict = among_many(id, name, busy_at_info);
        let server = verdict.decision.server.as_ref().unwrap();
        assert!(server.paired, "{id}");
        let top = verdict.decision.causes.first().map(|c| c.id.as_str());
        assert_eq!(top, Some(id), "{id}: {:#?}", server.lines);
        // The paired connection is the scenario's alone: none of the others' lines in it.
        assert!(
            server.lines.iter().all(|l| !l.text.contains("10.0.")),
            "{id}"
        );
    }
}

#[test]
fn pairing_costs_the_same_per_server_line_however_busy_the_server() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/auth-key-rejected/fixtures");
    let raw = std::fs::read_to_string(fixtures.join("ssh-vvv.sshd.log")).unwrap();
    let client = std::fs::File::open(fixtures.join("ssh-vvv.log")).unwrap();
    let timeline = timeline_of(std::io::BufReader::new(client)).unwrap();
    // Server lines looked at per server line read, for a busy and a four times busier server.
    let per_line = |others: u32| {
        let log = ServerLog::read(busy_with(&raw, others).as_bytes()).unwrap();
        let pairing = vvvexplain::server::pair(&log, &timeline.sessions[0]).unwrap();
        assert_eq!(pairing.connection.pid, Some(4242));
        pairing.lines_examined as f64 / log.lines_read as f64
    };
    let (busy, busier) = (per_line(1000), per_line(4000));
    assert!(busy <= 2.0 && busier <= 2.0, "{busy} {busier}");
    assert!((busier - busy).abs() < 0.05, "{busy} then {busier}");
}

/// The client's lines as VS Code's output panel shows them, `[21:00:00.123] debug1: …`, from
/// `start` (`hh:mm`) on, a second every fifty lines.
fn timed(client: &str, start: &str) -> String {
    let lines = client.lines().enumerate();
    let timed = lines.map(|(i, line)| format!("[{start}:{:02}.123] {line}\n", i / 50));
    timed.collect()
}

/// The scenario's server lines as `journalctl -u ssh` shows them, logged at `clock`
/// (`hh:mm:ss`) by sshd process `pid`.
fn journal_at(raw: &str, pid: u32, clock: &str) -> String {
    collected(raw, &|program, _| {
        format!("Dec 06 {clock} lab {program}[{pid}]: ")
    })
}

/// The server evidence of the client's first connection, paired within `server`.
fn paired(client: &str, server: &str) -> serde_json::Value {
    let rules = RuleSet::builtin().unwrap();
    let timeline = timeline_of(client.as_bytes()).unwrap();
    let log = ServerLog::read(server.as_bytes()).unwrap();
    let verdict = Verdict::build_with_server(&timeline, &rules, Some(&log)).unwrap();
    serde_json::to_value(verdict.decision.server.as_ref().unwrap()).unwrap()
}

#[test]
fn the_connection_logged_during_the_clients_run_is_paired_whatever_the_time_zones() {
    let client = std::fs::read_to_string(DENIED).unwrap();
    let raw = std::fs::read_to_string(DENIED_SERVER).unwrap();
    // The client's local time is UTC+1; the journal is in UTC. The same refusal was logged twice;
    // the later one, seven minutes after the client's run, is not its.
    let client = timed(&client, "21:00");
    let server = journal_at(&raw, 100, "20:00:01") + &journal_at(&raw, 200, "20:07:40");
    let v = paired(&client, &server);
    assert_eq!(v["pid"], 100, "{v}");
    assert_eq!(
        v["agreed"],
        serde_json::json!(["user", "port", "address", "time"])
    );
    // Agreeing only once a zone difference is allowed for does not raise the sureness.
    assert_eq!(v["sureness"], "medium");
    assert_eq!(v["equals"], 0);

    // On one clock it does.
    let server = journal_at(&raw, 100, "21:00:01") + &journal_at(&raw, 200, "21:07:40");
    let v = paired(&client, &server);
    assert_eq!((&v["pid"], &v["sureness"]), (&100.into(), &"high".into()));

    // Neither logged during the run: the nearest.
    let server = journal_at(&raw, 100, "20:03:00") + &journal_at(&raw, 200, "20:07:40");
    let v = paired(&client, &server);
    assert_eq!(v["pid"], 100, "{v}");
    assert_eq!(v["agreed"], serde_json::json!(["user", "port", "address"]));
}

#[test]
fn among_equals_without_times_the_latest_whose_outcome_agrees_is_paired() {
    let client = std::fs::read_to_string(DENIED).unwrap();
    let raw = std::fs::read_to_string(DENIED_SERVER).unwrap();
    let refused = |pid| journal_at(&raw, pid, "20:47:28");
    // The same user let in later, by password (auth.c's `Accepted %s for %s from %s port %d`).
    let let_in = "Dec 06 20:47:29 lab sshd[300]: Connection from 127.0.0.1 port 60000 on 127.0.0.1 port 22430 rdomain \"\"\n\
                  Dec 06 20:47:29 lab sshd[300]: Accepted password for vvvlab from 127.0.0.1 port 60000 ssh2\n";
    let v = paired(&client, &(refused(100) + &refused(200)));
    assert_eq!((&v["pid"], &v["equals"]), (&200.into(), &1.into()), "{v}");
    assert_eq!(v["sureness"], "medium");
    let server = std::env::temp_dir().join(format!("vvv-equals-{}.log", std::process::id()));
    std::fs::write(&server, refused(100) + &refused(200)).unwrap();
    let (human, _) = run(&[DENIED, "--server-log", server.to_str().unwrap()]);
    let _ = std::fs::remove_file(&server);
    let why =
        "(medium sureness: user, port, address and outcome agree; 2 fit as well, the latest whose \
               outcome agrees chosen)";
    assert!(human.replace("\n  ", " ").contains(why), "{human}");
    let v = paired(&client, &(refused(100) + let_in));
    assert_eq!(v["pid"], 100, "{v}");
    assert_eq!(
        v["agreed"],
        serde_json::json!(["user", "port", "address", "outcome"])
    );
}

#[test]
fn when_nothing_pairs_nothing_from_the_server_log_is_used() {
    let rules = RuleSet::builtin().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/auth-key-rejected/fixtures");
    let other = "Dec  6 20:47:28 lab sshd[9]: User bob from 10.0.0.1 not allowed because listed in DenyUsers\n";
    let log = ServerLog::read(other.as_bytes()).unwrap();
    let client = std::fs::File::open(fixtures.join("ssh-vvv.log")).unwrap();
    let timeline = timeline_of(std::io::BufReader::new(client)).unwrap();
    let with = Verdict::build_with_server(&timeline, &rules, Some(&log)).unwrap();
    let without = Verdict::build(&timeline, &rules).unwrap();
    assert!(!with.decision.server.as_ref().unwrap().paired);
    let ids = |v: &Verdict| {
        v.decision
            .causes
            .iter()
            .map(|c| c.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&with), ids(&without));
    assert!(with.decision.causes.iter().all(|c| c.server_line.is_none()));
}

/// Runs the binary with `args`, standard input empty; its stdout and exit code.
/// The top cause and whether the server's log proves it.
fn proven_top(client: &str, server: &str) -> (String, bool) {
    let rules = RuleSet::builtin().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let client = std::fs::File::open(root.join(client)).unwrap();
    let timeline = timeline_of(std::io::BufReader::new(client)).unwrap();
    let log = ServerLog::read(server.as_bytes()).unwrap();
    let verdict = Verdict::build_with_server(&timeline, &rules, Some(&log)).unwrap();
    let top = &verdict.decision.causes[0];
    (top.id.clone(), top.server_line.is_some())
}

#[test]
fn a_server_proven_cause_ranks_first_where_the_client_log_is_another_causes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap();
    // An expired account without PAM: the client log is a refused key's.
    let expired = read("rules/account-expired/fixtures/ssh-vvv-nopam.sshd.log");
    assert_eq!(
        proven_top("rules/account-expired/fixtures/ssh-vvv-nopam.log", &expired),
        ("account-expired".to_string(), true)
    );
    // Data corrupted on the way up: the client sees a remote close. The lab's relay listens on
    // the port before sshd's; sshd's log as it reads behind a port forward names the client's.
    let upload = read("rules/corrupted-mac/fixtures/ssh-vvv-upload.sshd.log");
    let forwarded = upload.replace(" port 22631", " port 22630");
    let client = "rules/corrupted-mac/fixtures/ssh-vvv-upload.log";
    assert_eq!(
        proven_top(client, &forwarded),
        ("corrupted-mac".to_string(), true)
    );
    // Without sshd's line, the generic cause.
    let unproven = forwarded.replace("message authentication code incorrect", "other");
    assert_eq!(
        proven_top(client, &unproven),
        ("remote-closed-mid-session".to_string(), false)
    );
}

/// Runs the binary with `args`, standard input empty; its stdout and exit code.
fn run(args: &[&str]) -> (String, i32) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vvvexplain"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

const DENIED: &str = "rules/auth-user-denied/fixtures/ssh-vvv.log";
const DENIED_SERVER: &str = "rules/auth-user-denied/fixtures/ssh-vvv.sshd.log";

#[test]
fn the_report_shows_and_cites_the_paired_server_lines() {
    let (human, code) = run(&[DENIED, "--server-log", DENIED_SERVER, "--width", "100"]);
    assert_eq!(code, 1);
    assert!(
        human.contains("[auth-user-denied, high confidence]"),
        "{human}"
    );
    assert!(
        human.contains(
            "the server's log says it, at server line 33: User vvvlab from 127.0.0.1 not allowed"
        ),
        "{human}"
    );
    assert!(
        human.contains("Paired with the server's connection at server lines 8–"),
        "{human}"
    );
    assert!(
        human
            .replace("\n  ", " ")
            .contains("(medium sureness: user, port and address agree)."),
        "{human}"
    );
    // In the timeline, under the phase in which sshd logged them: the refusal under auth.
    let rows: Vec<&str> = human.lines().collect();
    let auth = rows.iter().position(|r| r.starts_with("  ✗ auth")).unwrap();
    let connect = rows
        .iter()
        .position(|r| r.starts_with("  ✓ connect"))
        .unwrap();
    assert!(
        rows[connect + 1]
            .trim_start()
            .starts_with("server 8: Connection from 127.0.0.1"),
        "{human}"
    );
    let under_auth: Vec<&str> = rows[auth + 1..]
        .iter()
        .take_while(|r| r.trim_start().starts_with("server "))
        .map(|r| r.trim_start())
        .collect();
    assert!(
        under_auth
            .iter()
            .any(|r| r.starts_with("server 33: User vvvlab from 127.0.0.1 not allowed")),
        "{human}"
    );

    let (json, _) = run(&[DENIED, "--server-log", DENIED_SERVER, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["server"]["paired"], true);
    assert_eq!(v["server"]["sureness"], "medium");
    assert_eq!(
        v["server"]["agreed"],
        serde_json::json!(["user", "port", "address"])
    );
    assert_eq!(v["server"]["first_line"], 8);
    assert_eq!(v["causes"][0]["id"], "auth-user-denied");
    assert_eq!(v["causes"][0]["confidence"], "high");
    assert_eq!(v["causes"][0]["server_line"]["line"], 33);

    let (markdown, _) = run(&[
        DENIED,
        "--server-log",
        DENIED_SERVER,
        "--format",
        "markdown",
    ]);
    assert!(markdown.contains("#### Server log"), "{markdown}");
    assert!(
        markdown.contains("- server 33: `User vvvlab from 127.0.0.1"),
        "{markdown}"
    );

    // Without the server log, no `server` key and the verdict of old.
    let (json, _) = run(&[DENIED, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v.get("server").is_none());
    assert!(v["causes"][0].get("server_line").is_none());
}

#[test]
fn a_server_log_alone_lists_its_refusals_most_recent_first() {
    let two = [
        DENIED_SERVER,
        "rules/authorized-keys-perms/fixtures/ssh-vvv.sshd.log",
    ];
    let (human, code) = run(&[
        "--server-log",
        two[0],
        "--server-log",
        two[1],
        "--width",
        "100",
    ]);
    assert_eq!(code, 1);
    let perms = human
        .find("Authentication refused: bad ownership")
        .expect(&human);
    let denied = human
        .find("not allowed because listed in DenyUsers")
        .expect(&human);
    assert!(
        perms < denied,
        "the second log's connection is the more recent:\n{human}"
    );
    assert!(
        human.contains("vvvlab from 127.0.0.1 port 58442: failed in auth"),
        "{human}"
    );

    let (json, _) = run(&[
        "--server-log",
        two[0],
        "--format",
        "json",
        "--from",
        "127.0.0.1",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["connections"][0]["user"], "vvvlab");
    assert_eq!(v["connections"][0]["phase"], "auth");
    assert_eq!(v["connections"][0]["why"]["line"], 33);

    let (_, code) = run(&["--server-log", two[0], "--user", "nobody"]);
    assert_eq!(code, 0);
}

#[test]
fn dropbears_log_alone_lists_who_failed_from_where_and_why() {
    let logs: Vec<String> = [
        "ok/fixtures/dropbear-ssh-vvv",
        "root-login-denied/fixtures/dropbear-ssh-vvv",
        "auth-unknown-user/fixtures/dropbear-ssh-vvv-nonexistent-user",
        "auth-too-many-failures/fixtures/dropbear-ssh-vvv-password",
        "auth-key-rejected/fixtures/dropbear-ssh-vvv",
    ]
    .iter()
    .map(|f| format!("rules/{f}.sshd.log"))
    .collect();
    let mut args: Vec<&str> = logs.iter().flat_map(|l| ["--server-log", l]).collect();
    args.extend(["--format", "json"]);
    let (json, code) = run(&args);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let failed: Vec<(String, String)> = v["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["phase"], "auth");
            let why = c["why"]["text"].as_str().unwrap_or_default();
            let why = why.split_once(' ').map_or("", |(_, w)| w).get(16..);
            (c["user"].to_string(), why.unwrap_or_default().to_string())
        })
        .collect();
    // Most recent first; the accepted login is no failure.
    let users: Vec<&str> = failed.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(
        users,
        ["\"vvvlab\"", "\"vvvlive\"", "null", "\"root\""],
        "{json}"
    );
    assert!(
        failed[0].1.starts_with("Exit before auth from <127.0.0.1:"),
        "{json}"
    );
    assert!(
        failed[1]
            .1
            .ends_with("Max auth tries reached - user 'vvvlive'"),
        "{json}"
    );
    assert_eq!(failed[2].1, "Login attempt for nonexistent user");
    assert_eq!(failed[3].1, "root login rejected");

    let (human, _) = run(&["--server-log", &logs[1], "--width", "100"]);
    assert!(
        human.contains("root from 127.0.0.1 port 49304: failed in auth"),
        "{human}"
    );
    assert!(human.contains("root login rejected"), "{human}");
    let (redacted, _) = run(&["--server-log", &logs[3], "--redact"]);
    assert!(
        !redacted.contains("vvvlive") && !redacted.contains("127.0.0.1"),
        "{redacted}"
    );

    // With the client's log: Dropbear's line is cited as the proof.
    let client = "rules/root-login-denied/fixtures/dropbear-ssh-vvv.log";
    let (human, code) = run(&[client, "--server-log", &logs[1], "--width", "100"]);
    assert_eq!(code, 1);
    assert!(
        human.contains("[root-login-denied, high confidence]"),
        "{human}"
    );
    assert!(
        human.contains("the server's log says it, at server line 3: [11343] Dec 06 21:58:33 root login rejected"),
        "{human}"
    );
}

#[test]
fn a_server_log_alone_says_why_for_the_new_refusals() {
    let logs = [
        "rules/auth-unknown-user/fixtures/ssh-vvv.sshd.log",
        "rules/user-shell-missing/fixtures/ssh-vvv.sshd.log",
        "rules/account-expired/fixtures/ssh-vvv.sshd.log",
        "rules/account-expired/fixtures/ssh-vvv-nopam.sshd.log",
        "rules/sshd-no-hostkeys/fixtures/ssh-vvv.sshd.log",
        "rules/password-expired/fixtures/ssh-vvv.sshd.log",
        "rules/account-locked/fixtures/ssh-vvv.sshd.log",
    ];
    let mut args: Vec<&str> = logs.iter().flat_map(|l| ["--server-log", l]).collect();
    args.extend(["--format", "json"]);
    let (json, code) = run(&args);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let why: Vec<(String, String)> = v["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let text = c["why"]["text"].as_str().unwrap_or_default();
            let message = text.rsplit_once("]: ").map_or(text, |(_, m)| m);
            (
                c["phase"].as_str().unwrap().to_string(),
                message.to_string(),
            )
        })
        .collect();
    let expected = [
        (
            "auth",
            "User vvvlocked not allowed because account is locked",
        ),
        ("connect", "sshd: no hostkeys available -- exiting."),
        ("auth", "Account vvvexpired has expired"),
        (
            "auth",
            "pam_unix(sshd:account): account vvvexpired has expired (account expired)",
        ),
        (
            "auth",
            "User vvvnoshell not allowed because shell /bin/no-such-shell does not exist",
        ),
    ];
    for (i, (phase, message)) in expected.iter().enumerate() {
        assert_eq!((why[i].0.as_str(), why[i].1.as_str()), (*phase, *message));
    }
    assert!(why[5]
        .1
        .starts_with("Invalid user vvvnobody from 127.0.0.1"));
    // The expired password's key login went through: it is no refusal.
    assert_eq!(why.len(), 6, "{why:?}");
}

#[test]
fn redaction_covers_the_server_lines() {
    let (json, _) = run(&[
        DENIED,
        "--server-log",
        DENIED_SERVER,
        "--format",
        "json",
        "--redact",
    ]);
    assert!(!json.contains("vvvlab"), "{json}");
    assert!(json.contains("User user-1 from"), "{json}");
    let (alone, _) = run(&["--server-log", DENIED_SERVER, "--redact"]);
    assert!(
        !alone.contains("vvvlab") && !alone.contains("127.0.0.1"),
        "{alone}"
    );

    let journal =
        std::env::temp_dir().join(format!("vvvexplain-journal-{}.log", std::process::id()));
    std::fs::write(
        &journal,
        "Dec 06 20:47:28 web1 sshd[9]: Invalid user bobby from 192.0.2.7 port 4711\n",
    )
    .unwrap();
    let (alone, code) = run(&["--server-log", journal.to_str().unwrap(), "--redact"]);
    std::fs::remove_file(&journal).unwrap();
    assert_eq!(code, 1);
    for value in ["web1", "bobby", "192.0.2.7"] {
        assert!(!alone.contains(value), "{value} in {alone}");
    }
    assert!(alone.contains("port 4711"), "{alone}");
}

#[test]
fn standard_input_is_either_log_not_both() {
    let (_, code) = run(&["-", "--server-log", "-"]);
    assert_eq!(code, 2);
}

/// A timed client log (auth-user-denied's, as VS Code shows it), read once.
static TIMED_CLIENT: std::sync::LazyLock<vvvexplain::timeline::Timeline> =
    std::sync::LazyLock::new(|| {
        let client = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(DENIED));
        timeline_of(timed(&client.unwrap(), "20:47").as_bytes()).unwrap()
    });

proptest::proptest! {
    /// No bytes make reading a server log panic, and nothing but sshd's (and Dropbear's) lines is kept.
    #[test]
    fn any_bytes_are_read(
        lines in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::collection::vec(proptest::num::u8::ANY, 0..80),
                "(Dec  6 20:47:28 h |<1>1 2026-12-06T20:47:28Z h sshd 9 - - |\\[[0-9]{1,6}\\] Dec 06 20:47:28 |2026-12-06T2[0-9]:[0-9]{2}:[0-9]{2}[-+][0-9]{2}:?[0-9]{2} h )?((sshd|dropbear)\\[[0-9]{1,6}\\]: )?(Connection from |Failed publickey for |User |drop connection #|Child connection from |Exit before auth from <|Pubkey auth succeeded for ')[ -~]{0,60}"
                    .prop_map(String::into_bytes),
            ],
            0..40,
        )
    ) {
        let text = lines.join(&b'\n');
        let log = ServerLog::read(&text[..]).unwrap();
        for connection in &log.connections {
            // Without an address only an sshd that could not serve at all.
            let cannot_serve = connection
                .failure()
                .is_some_and(|f| f.phase == vvvexplain::timeline::Phase::Connect);
            proptest::prop_assert!(connection.address().is_some() || cannot_serve);
            let _ = connection.failure();
        }
        // Pairing with a timed client reads every server time without panic.
        let _ = vvvexplain::server::pair(&log, &TIMED_CLIENT.sessions[0]);
    }
}

#[test]
fn a_cause_the_server_proves_is_said_without_doubt_and_cited() {
    let rules = RuleSet::builtin().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/auth-user-denied/fixtures");
    let raw = std::fs::read_to_string(fixtures.join("ssh-vvv.sshd.log")).unwrap();
    let journal = &shapes(&raw)[1].1;
    let client = std::fs::File::open(fixtures.join("ssh-vvv.log")).unwrap();
    let timeline = timeline_of(std::io::BufReader::new(client)).unwrap();
    let log = ServerLog::read(journal.as_bytes()).unwrap();
    let verdict = Verdict::build_with_server(&timeline, &rules, Some(&log)).unwrap();
    let top = &verdict.decision.causes[0];
    assert_eq!(top.id, "auth-user-denied");
    assert!(top
        .advice
        .title
        .starts_with("The server refuses this account"));
    let line = top.server_line.as_ref().unwrap().line;
    let cited = format!(
        "The server's log says so (server line {line}): \"User vvvlab from 127.0.0.1 not allowed \
         because listed in DenyUsers\"."
    );
    assert!(
        verdict.decision.summary.contains(&cited),
        "{}",
        verdict.decision.summary
    );

    // Without the server's log the client log leaves the doubt, and says so.
    let timeline = timeline_of(std::io::BufReader::new(
        std::fs::File::open(fixtures.join("ssh-vvv.log")).unwrap(),
    ))
    .unwrap();
    let verdict = Verdict::build(&timeline, &rules).unwrap();
    let denied = verdict
        .decision
        .causes
        .iter()
        .find(|c| c.id == "auth-user-denied");
    assert!(denied
        .unwrap()
        .advice
        .title
        .starts_with("The server may refuse"));
    assert!(!verdict.decision.summary.contains("server's log says"));
}
