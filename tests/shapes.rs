//! The same verdict however a log is pasted: every recorded lab transcript turned into the shapes
//! people paste logs in (other encodings, indentation, padding, wrappers around the lines, a
//! shell session around the run, and mixes of these) must get the outcome, failed phase and top
//! cause of its raw recording.

mod common;

use std::path::Path;
use vvvexplain::facts::Fact;

use vvvexplain::rules::RuleSet;
use vvvexplain::timeline::Outcome;
use vvvexplain::verdict::Verdict;

/// Outcome, failed phase and top cause: what a shape must keep.
fn verdict_of(bytes: &[u8], rules: &RuleSet) -> String {
    let timeline = vvvexplain::analyze::timeline_of(bytes).expect("reading from memory");
    match Verdict::build(&timeline, rules) {
        None => "no OpenSSH output".into(),
        Some(v) => {
            let d = &v.decision;
            let phase = d.failed_phase.map_or("-", |p| p.id());
            let top = d.causes.first().map_or("(no cause)", |c| c.id.as_str());
            format!("{:?} {phase} {top}", d.outcome)
        }
    }
}

/// A transcript's lines, without their line ends (CR or not: a shape adds its own).
fn lines_of(text: &str) -> Vec<&str> {
    text.lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect()
}

fn each_line(text: &str, shape: impl Fn(&str) -> String) -> String {
    lines_of(text).iter().map(|l| shape(l) + "\n").collect()
}

/// A transcript as a JSON string holds it, its line ends escaped as CR LF (ssh's stderr in
/// Ansible's output).
fn escaped(text: &str) -> String {
    let json = lines_of(text).join("\r\n");
    let json = serde_json::to_string(&json).expect("a string serialises");
    json[1..json.len() - 1].to_string()
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let units = bom.then_some(0xfeff).into_iter().chain(text.encode_utf16());
    units
        .flat_map(|u| match big_endian {
            true => u.to_be_bytes(),
            false => u.to_le_bytes(),
        })
        .collect()
}

/// The time column a wrapper puts before line `n`.
fn clock(n: usize) -> String {
    format!(
        "10:{:02}:{:02}.{:03}",
        (n / 60) % 60,
        n % 60,
        (n * 37) % 1000
    )
}

/// A shell session: a prompt, `ls -l ~/.ssh`, `ssh -V` and its answer, the command that made the
/// log, the log, and the next prompt.
fn shell(text: &str, prompt: &str) -> String {
    let program = if text.contains("sftp>") || text.contains("subsystem: sftp") {
        "sftp"
    } else {
        "ssh"
    };
    format!(
        "{prompt}ls -l ~/.ssh\ntotal 8\n-rw------- 1 me me 411 Jan  1 10:00 id_ed25519\n\
         {prompt}ssh -V\nOpenSSH_9.6p1 Ubuntu-3ubuntu13.5, OpenSSL 3.0.13 30 Jan 2024\n\
         {prompt}{program} -vvv -p 2222 me@127.0.0.1\n{}{prompt}\n",
        each_line(text, str::to_string)
    )
}

/// Makes a shape's bytes from a transcript's text.
type Make = Box<dyn Fn(&str) -> Vec<u8>>;
type Shape = (&'static str, Make);

fn shapes() -> Vec<Shape> {
    let text = |f: fn(&str) -> String| -> Make { Box::new(move |t| f(t).into_bytes()) };
    vec![
        ("crlf", text(|t| each_line(t, |l| format!("{l}\r")))),
        ("utf8-bom", text(|t| format!("\u{feff}{t}"))),
        ("utf16le-bom", Box::new(|t| utf16(t, false, true))),
        ("utf16le", Box::new(|t| utf16(t, false, false))),
        ("utf16be-bom", Box::new(|t| utf16(t, true, true))),
        ("utf16be", Box::new(|t| utf16(t, true, false))),
        ("indent-4", text(|t| each_line(t, |l| format!("    {l}")))),
        ("indent-1", text(|t| each_line(t, |l| format!(" {l}")))),
        ("indent-tab", text(|t| each_line(t, |l| format!("\t{l}")))),
        ("padded", text(|t| each_line(t, |l| format!("{l:<120}")))),
        ("nbsp", text(|t| each_line(t, |l| l.replace(' ', "\u{a0}")))),
        (
            "nbsp-indent",
            text(|t| each_line(t, |l| format!("\u{a0}\u{a0}{l}"))),
        ),
        (
            "markdown-fence",
            text(|t| format!("Here is my log:\n\n```\n{t}```\n\nAny idea?\n")),
        ),
        (
            "markdown-indent",
            text(|t| {
                let block = each_line(t, |l| format!("    {l}"));
                format!("Here is my log:\n\n{block}\nAny idea?\n")
            }),
        ),
        ("quoted", text(|t| each_line(t, |l| format!("> {l}")))),
        (
            "vscode",
            text(|t| {
                let mut out = String::from(
                    "[10:00:00.001] Log Level: 2\n[10:00:00.002] remote-ssh@0.113.1\n\
                     [10:00:00.003] SSH Resolver called for \"ssh-remote+me@127.0.0.1\", attempt 1\n\
                     [10:00:00.004] Spawned ssh, pid=4242\n",
                );
                for (n, l) in lines_of(t).iter().enumerate() {
                    out += &format!("[{}] > {l}\n", clock(n));
                }
                out + "[10:59:59.000] \"install\" terminal command done\n\
                       [10:59:59.001] Install terminal quit with output: \n"
            }),
        ),
        (
            "github-actions",
            text(|t| {
                let mut out = String::from(
                    "2025-01-01T10:00:00.0000000Z ##[group]Run ssh -vvv me@127.0.0.1\n\
                     2025-01-01T10:00:00.0000001Z ##[endgroup]\n",
                );
                for (n, l) in lines_of(t).iter().enumerate() {
                    out += &format!("2025-01-01T{}4567Z {l}\n", clock(n));
                }
                out + "2025-01-01T10:59:59.0000000Z ##[error]Process completed with exit code 255.\n"
            }),
        ),
        (
            "gitlab",
            text(|t| {
                let mut out =
                    String::from("2025-01-01T10:00:00.000001Z 00O $ ssh -vvv me@127.0.0.1\n");
                for (n, l) in lines_of(t).iter().enumerate() {
                    out += &format!("2025-01-01T{}123Z 01E {l}\n", clock(n));
                }
                out
            }),
        ),
        (
            "jenkins",
            text(|t| {
                let mut out = String::from("[2025-01-01T10:00:00.000Z] + ssh -vvv me@127.0.0.1\n");
                for (n, l) in lines_of(t).iter().enumerate() {
                    out += &format!("[2025-01-01T{}Z] {l}\n", clock(n));
                }
                out
            }),
        ),
        ("shell-bash", text(|t| shell(t, "me@laptop:~$ "))),
        ("shell-dollar", text(|t| shell(t, "$ "))),
        ("shell-zsh", text(|t| shell(t, "❯ "))),
        ("shell-root", text(|t| shell(t, "# "))),
        ("shell-powershell", text(|t| shell(t, "PS C:\\Users\\me> "))),
        ("shell-cmd", text(|t| shell(t, "C:\\Users\\me>"))),
        (
            "git",
            text(|t| {
                format!(
                    "$ GIT_SSH_COMMAND=\"ssh -vvv\" git clone ssh://me@127.0.0.1:2222/repo.git\n\
                     Cloning into 'repo'...\n{}",
                    each_line(t, str::to_string)
                )
            }),
        ),
        (
            "scp-by-path",
            text(|t| {
                each_line(t, |l| match l.strip_prefix("scp: ") {
                    Some(rest) => format!("/usr/bin/scp: {rest}"),
                    None => l.to_string(),
                })
            }),
        ),
        (
            "ansible-json",
            text(|t| {
                format!(
                    "<127.0.0.1> ESTABLISH SSH CONNECTION FOR USER: me\n\
                     fatal: [lab]: UNREACHABLE! => {{\"changed\": false, \"msg\": \"Failed to \
                     connect to the host via ssh: {}\", \"unreachable\": true}}\n",
                    escaped(t)
                )
            }),
        ),
        (
            "ansible-vvvv",
            text(|t| {
                let t = escaped(t).replace("\\\"", "\"").replace('\'', "\\'");
                format!("<127.0.0.1> SSH: EXEC ssh -vvv lab\n<127.0.0.1> (255, b'', b'{t}')\n")
            }),
        ),
        (
            "indent+crlf+utf16le",
            Box::new(|t| utf16(&each_line(t, |l| format!("    {l}\r")), false, true)),
        ),
        (
            "vscode+nbsp+padded",
            text(|t| {
                each_line(t, |l| {
                    format!("[10:00:00.000] > {:<100}", l.replace(' ', "\u{a0}"))
                })
            }),
        ),
        (
            "shell+markdown+crlf",
            text(|t| {
                let session = shell(t, "$ ");
                format!(
                    "```console\r\n{}```\r\n",
                    each_line(&session, |l| format!("{l}\r"))
                )
            }),
        ),
        (
            "tab+padded+utf16be",
            Box::new(|t| utf16(&each_line(t, |l| format!("\t{l}   ")), true, false)),
        ),
    ]
}

#[test]
fn every_shape_of_every_recording_gets_its_raw_verdict() {
    let rules = RuleSet::builtin().expect("built-in rules");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let shapes = shapes();
    let (mut runs, mut misses) = (0, Vec::new());
    // The lab's recordings: not the synthetic transcripts (whose shapes are no paste's).
    let recorded = common::all_transcripts()
        .into_iter()
        .filter(|p| p.starts_with(&root));
    for path in recorded {
        let raw = std::fs::read(&path).expect("read fixture");
        let expected = verdict_of(&raw, &rules);
        let text = String::from_utf8_lossy(&raw);
        for (name, shape) in &shapes {
            runs += 1;
            let got = verdict_of(&shape(&text), &rules);
            if got != expected {
                let file = path.strip_prefix(&root).unwrap_or(&path).display();
                misses.push(format!("{name:<22} {file}: {expected} → {got}"));
            }
        }
    }
    let right = 100.0 * (runs - misses.len()) as f64 / runs as f64;
    println!("{right:.1}% of {runs} shaped transcripts get their raw verdict");
    for miss in &misses {
        println!("miss: {miss}");
    }
    assert!(
        right >= 99.0,
        "{right:.1}% of {runs} shaped transcripts get their raw verdict; misses:\n{}",
        misses.join("\n")
    );
}

fn fixture(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("rules")
        .join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn in_a_shell_session_the_last_command_run_decides_and_is_shown() {
    let rules = RuleSet::builtin().expect("built-in rules");
    let (failed, worked) = (
        fixture("port-closed/fixtures/ssh-vvv.log"),
        fixture("ok/fixtures/ssh-vvv.log"),
    );
    // Failed, then worked, then `ssh -V`: the last connection decides, the version line nothing.
    let session = format!(
        "me@laptop:~$ ssh -vvv -p 2 me@127.0.0.1\n{failed}\
         me@laptop:~$ ssh -vvv -i ~/.ssh/id_ed25519 -o BatchMode=yes me@127.0.0.1\n{worked}\
         me@laptop:~$ ssh -V\nOpenSSH_9.6p1 Ubuntu-3ubuntu13.5, OpenSSL 3.0.13 30 Jan 2024\n\
         me@laptop:~$ \n"
    );
    let timeline = vvvexplain::analyze::timeline_of(session.as_bytes()).unwrap();
    let verdict = Verdict::build(&timeline, &rules).unwrap();
    assert_eq!(
        verdict_of(session.as_bytes(), &rules),
        verdict_of(worked.as_bytes(), &rules)
    );
    assert_eq!(
        verdict.decision.facts.text(Fact::CommandLine).as_deref(),
        Some("ssh -vvv -i ~/.ssh/id_ed25519 -o BatchMode=yes me@127.0.0.1")
    );
    // Worked, then failed: the failure decides, though both runs print the same first lines.
    let session =
        format!("$ ssh -vvv me@127.0.0.1\n{worked}$ ssh -vvv -p 2 me@127.0.0.1\n{failed}");
    assert_eq!(
        verdict_of(session.as_bytes(), &rules),
        verdict_of(failed.as_bytes(), &rules)
    );
}

#[test]
fn a_typed_command_without_client_output_is_no_openssh_output() {
    let rules = RuleSet::builtin().expect("built-in rules");
    let typed = "$ ssh -V\n$ ls -l ~/.ssh\ntotal 0\n";
    assert_eq!(verdict_of(typed.as_bytes(), &rules), "no OpenSSH output");
}

#[test]
fn the_cli_reads_utf16_from_a_file_and_from_stdin() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let raw = fixture("auth-key-rejected/fixtures/ssh-vvv.log");
    let text = each_line(&raw, |l| format!("{l}\r"));
    let path = std::env::temp_dir().join(format!("vvvexplain-utf16-{}.log", std::process::id()));
    std::fs::write(&path, utf16(&text, false, true)).unwrap();
    let bin = env!("CARGO_BIN_EXE_vvvexplain");
    let from_file = Command::new(bin).arg(&path).output().unwrap();
    std::fs::remove_file(&path).unwrap();
    let mut child = Command::new(bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let input = utf16(&text, true, false);
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let from_stdin = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    for output in [from_file, from_stdin] {
        let shown = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(1), "{shown}");
        assert!(shown.contains("FAILED in auth"), "{shown}");
    }
}

#[test]
fn thin_logs_say_what_their_lines_decide() {
    let rules = RuleSet::builtin().expect("built-in rules");
    let verdict = |text: &str| {
        let timeline = vvvexplain::analyze::timeline_of(text.as_bytes()).unwrap();
        Verdict::build(&timeline, &rules).expect("client output")
    };
    // sftp's own line names the program; a password prompt shows authentication was reached.
    let v = verdict(
        "Connecting to files.example.org...\nalice@files.example.org's password: \n\
         alice@files.example.org: Permission denied (publickey,password).\nConnection closed\n",
    );
    assert_eq!(
        v.decision.connection.program,
        vvvexplain::timeline::Program::Sftp
    );
    assert_eq!(v.decision.failed_phase.map(|p| p.id()), Some("auth"));
    assert_eq!(v.decision.facts.text(Fact::User).as_deref(), Some("alice"));
    // Without -v, the progress meter's file done is a transfer that worked, unless the next
    // file fails.
    let done = "$ scp -O ./README.md me@host:/tmp/
                README.md                                100%    0     0.0KB/s   00:00 
";
    assert_eq!(verdict(done).decision.outcome, Outcome::Success);
    let v = verdict(&format!(
        "{done}scp: /tmp/b: No such file or directory
"
    ));
    assert_eq!(v.decision.outcome, Outcome::Failure);
    assert_eq!(v.decision.failed_phase.map(|p| p.id()), Some("transfer"));
    // The session's loop runs once the session is up.
    let v = verdict("client_loop: send disconnect: Broken pipe\n");
    assert_eq!(v.decision.failed_phase.map(|p| p.id()), Some("session"));
}

#[test]
fn a_log_cut_in_the_middle_keeps_its_phase_and_says_its_start_is_missing() {
    let rules = RuleSet::builtin().expect("built-in rules");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut cut_logs = 0;
    for path in common::all_transcripts()
        .into_iter()
        .filter(|p| p.starts_with(&root))
    {
        let raw = std::fs::read_to_string(&path).expect("read fixture");
        let lines = lines_of(&raw);
        // Cut where the server's algorithm list arrives, as a paste that starts with `...`.
        let Some(at) = lines
            .iter()
            .position(|l| l.ends_with("SSH2_MSG_KEXINIT received"))
        else {
            continue;
        };
        let whole = vvvexplain::analyze::timeline_of(raw.as_bytes()).unwrap();
        let Some(whole) = Verdict::build(&whole, &rules) else {
            continue;
        };
        // One connection, which got past the banner: what the cut keeps decides it.
        if whole
            .decision
            .notes
            .iter()
            .any(|n| n.contains("connections"))
        {
            continue;
        }
        let text = format!("...\n{}\n", lines[at..].join("\n"));
        let cut = vvvexplain::analyze::timeline_of(text.as_bytes()).unwrap();
        let cut = Verdict::build(&cut, &rules).expect("client output");
        let file = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        assert_eq!(
            (cut.decision.outcome, cut.decision.failed_phase),
            (whole.decision.outcome, whole.decision.failed_phase),
            "{file}"
        );
        assert!(
            cut.decision
                .notes
                .iter()
                .any(|n| n.starts_with("The log starts in the middle, in kex")),
            "{file}: {:?}",
            cut.decision.notes
        );
        cut_logs += 1;
    }
    assert!(
        cut_logs >= 20,
        "only {cut_logs} recordings reach the key exchange"
    );
}

#[test]
fn a_thin_log_says_what_vvv_would_add() {
    let rules = RuleSet::builtin().expect("built-in rules");
    for text in [
        "git@github.com: Permission denied (publickey).\n",
        "...\ndebug1: SSH2_MSG_KEXINIT received\ndebug1: kex: algorithm: curve25519-sha256\n",
    ] {
        let timeline = vvvexplain::analyze::timeline_of(text.as_bytes()).unwrap();
        let v = Verdict::build(&timeline, &rules).expect("client output");
        assert!(
            v.decision.notes.iter().any(|n| n.contains("-vvv")),
            "{text}: {:?}",
            v.decision.notes
        );
    }
}

#[test]
fn older_and_windows_wording_decides() {
    let rules = RuleSet::builtin().expect("built-in rules");
    let verdict = |text: &str| verdict_of(text.as_bytes(), &rules);
    // 7.x logged the kind it found no match for before the line naming the server's offer.
    assert_eq!(
        verdict(
            "debug1: SSH2_MSG_KEXINIT received\ndebug1: kex: algorithm: (no match)\n\
             Unable to negotiate with 203.0.113.9 port 22: no matching key exchange method found. \
             Their offer: diffie-hellman-group1-sha1\n"
        ),
        "Failure kex kex-no-common-kex"
    );
    // OpenSSH_for_Windows names the account that makes the key too open: its ACL is the cause.
    assert_eq!(
        verdict(
            "Bad permissions. Try removing permissions for user: NT AUTHORITY\\\\Authenticated \
             Users (S-1-5-11) on file D:/aws/ec2-test.pem.\n\
             @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
             @         WARNING: UNPROTECTED PRIVATE KEY FILE!          @\n\
             @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
             Load key \"D:/aws/ec2-test.pem\": bad permissions\n\
             ec2-user@203.0.113.7: Permission denied (publickey).\n"
        ),
        "Failure auth windows-key-acl"
    );
}
