//! Live mode, for real: `vvvexplain ssh …` runs the installed ssh against loopback listeners and
//! (as root, with sshd installed) a throwaway sshd, and explains while it happens.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod throwaway_sshd;
use throwaway_sshd::{free_port, Sshd};

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Printed past the harness's capture, so a skip is visible in `cargo test` output; under CI
/// (CI=true) a skip is a failure.
fn skip(message: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "the wrapper tests must run in CI, but: {message}"
    );
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}

fn vvvexplain(args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let output = Command::new("timeout")
        .arg("60")
        .arg(env!("CARGO_BIN_EXE_vvvexplain"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run vvvexplain");
    (output, started.elapsed())
}

/// A loopback listener that accepts connections and never says a word.
fn silent_listener() -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        listener.set_nonblocking(true).unwrap();
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            match listener.accept() {
                Ok((stream, _)) => held.push(stream),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    (port, handle)
}

#[test]
fn a_server_that_never_sends_its_banner_is_diagnosed_while_it_hangs() {
    if !have("ssh") {
        return skip("wrapper test skipped: no ssh client installed");
    }
    let (port, _listener) = silent_listener();
    let port = port.to_string();
    let (out, took) = vvvexplain(&[
        "--hang-after",
        "1",
        "ssh",
        "-o",
        "ConnectTimeout=6",
        "-o",
        "BatchMode=yes",
        "-F",
        "/dev/null",
        "-p",
        &port,
        "127.0.0.1",
        "true",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(255),
        "ssh's own exit code is kept\n{err}"
    );
    let hang = err
        .find("vvvexplain: no progress for")
        .unwrap_or_else(|| panic!("no live hang message:\n{err}"));
    let verdict = err
        .find("FAILED in banner")
        .unwrap_or_else(|| panic!("no final verdict:\n{err}"));
    assert!(
        hang < verdict,
        "the hang is named before ssh gives up\n{err}"
    );
    assert!(err[hang..verdict].contains("SSH version banner"), "{err}");
    assert!(took < Duration::from_secs(20));
}

/// ssh, with no configuration and nobody to ask, to `port` on 127.0.0.1 (nothing listens there).
fn refused_client(port: &str) -> [&str; 8] {
    [
        "ssh",
        "-F",
        "/dev/null",
        "-o",
        "BatchMode=yes",
        "-p",
        port,
        "127.0.0.1",
    ]
}

#[test]
fn a_refused_port_gets_the_verdict_and_ssh_exit_code() {
    if !have("ssh") {
        return skip("wrapper test skipped: no ssh client installed");
    }
    let port = free_port().to_string();
    let (out, _) = vvvexplain(&[&refused_client(&port)[..], &["true"]].concat());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(255));
    assert!(
        out.stdout.is_empty(),
        "the session's stdout stays the session's"
    );
    assert!(
        err.contains("FAILED in connect") && err.contains("[port-closed, high confidence]"),
        "{err}"
    );
    assert!(!std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("vvvexplain-{}-", std::process::id()))
        }));
}

#[test]
fn the_live_report_follows_brief_and_width() {
    if !have("ssh") {
        return skip("wrapper test skipped: no ssh client installed");
    }
    let port = free_port().to_string();
    let client = refused_client(&port);
    let (brief, _) = vvvexplain(&[&["--brief", "--width", "80"][..], &client].concat());
    let err = String::from_utf8_lossy(&brief.stderr);
    let report: Vec<&str> = err
        .lines()
        .skip_while(|l| !l.contains("FAILED in connect"))
        .collect();
    assert!(!report.is_empty(), "{err}");
    assert!(report.len() <= 10, "--brief is a few lines:\n{err}");
    assert!(report.iter().all(|l| l.chars().count() <= 80), "{err}");
    assert!(err.contains("[port-closed]"), "{err}");
}

#[test]
fn on_a_terminal_a_status_line_shows_the_phase_and_is_cleared() {
    if !have("ssh") || Command::new("script").arg("--version").output().is_err() {
        return skip("wrapper pty test skipped: needs ssh and script(1) from util-linux");
    }
    let (port, _listener) = silent_listener();
    let command = format!(
        "{} --hang-after 30 ssh -F /dev/null -o ConnectTimeout=3 -o BatchMode=yes -p {port} 127.0.0.1 true",
        env!("CARGO_BIN_EXE_vvvexplain")
    );
    let out = Command::new("timeout")
        .args(["30", "script", "-qec", &command, "/dev/null"])
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("\r\u{1b}[Kvvvexplain: exchanging SSH version banners (banner)"),
        "{screen}"
    );
    let after_status = &screen[screen.rfind("vvvexplain: exchanging").unwrap()..];
    let cleared = after_status
        .find("\r\u{1b}[K")
        .expect("the status line is cleared");
    assert!(
        !after_status[..cleared].contains('\n'),
        "the status line is cleared before anything else is written:\n{screen}"
    );
    assert!(screen.contains("FAILED in banner"), "{screen}");
}

/// A throwaway sshd on 127.0.0.1 that takes 2 s to look up keys (a slow AuthorizedKeysCommand).
fn slow_sshd() -> Result<Sshd, String> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .is_some_and(|o| o.stdout.starts_with(b"0\n"));
    if !root || !Path::new("/usr/sbin/sshd").exists() {
        return Err("needs root and /usr/sbin/sshd".into());
    }
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("wrapper-sshd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let keygen = |name: &str| {
        let status = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(dir.join(name))
            .status();
        assert!(status.unwrap().success());
    };
    keygen("host");
    keygen("client");
    std::fs::copy(dir.join("client.pub"), dir.join("authorized_keys")).unwrap();
    let port = free_port();
    let config = format!(
        "HostKey {d}/host\nPidFile none\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n\
         AuthorizedKeysFile none\nAuthorizedKeysCommand /bin/sh -c \"sleep 2; cat {d}/authorized_keys\"\n\
         AuthorizedKeysCommandUser root\nListenAddress 127.0.0.1\nPort {port}\n",
        d = dir.display()
    );
    throwaway_sshd::start(dir, port, &config)
}

#[test]
fn a_slow_login_is_named_with_its_phase_and_the_session_is_untouched() {
    let sshd = match slow_sshd() {
        Ok(sshd) => sshd,
        Err(why) => return skip(&format!("wrapper slow-login test skipped: {why}")),
    };
    let key = sshd.dir.join("client");
    let known = sshd.dir.join("known_hosts");
    let save = sshd.dir.join("saved.log");
    let port = sshd.port.to_string();
    let (out, _) = vvvexplain(&[
        "--slow-setup",
        "1",
        "--save",
        save.to_str().unwrap(),
        "ssh",
        "-F",
        "/dev/null",
        "-i",
        key.to_str().unwrap(),
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        &format!("UserKnownHostsFile={}", known.display()),
        "-p",
        &port,
        "root@127.0.0.1",
        "echo out; echo err >&2; exit 3",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(3),
        "the remote command's exit status comes back\n{err}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "out\n",
        "the remote stdout passes through unchanged"
    );
    assert!(
        err.contains("err\n"),
        "the remote stderr passes through\n{err}"
    );
    let summary = err
        .lines()
        .find(|l| l.starts_with("vvvexplain: setting up took"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(summary.contains(" in auth after line"), "{summary}");
    assert!(summary.contains("(slow-auth-server)"), "{summary}");
    let saved = std::fs::read_to_string(&save).unwrap();
    assert!(
        saved
            .lines()
            .next()
            .is_some_and(|l| l.starts_with("[+") && l.contains("OpenSSH_")),
        "{saved}"
    );
    // The saved log, with its arrival times, gives the same diagnosis offline.
    let (offline, _) = vvvexplain(&["--format", "json", save.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&offline.stdout).unwrap();
    assert_eq!(v["causes"][0]["id"], "slow-auth-server");
    assert!(v["timing"]["slowest_step"]["seconds"].as_f64().unwrap() >= 1.9);
}

#[test]
fn ctrl_c_ends_the_client_and_prints_what_was_seen() {
    use std::os::unix::process::CommandExt;
    if !have("ssh") {
        return skip("wrapper Ctrl-C test skipped: no ssh client installed");
    }
    let (port, _listener) = silent_listener();
    // A terminal's Ctrl-C goes to the whole foreground process group: vvvexplain and ssh.
    let child = Command::new(env!("CARGO_BIN_EXE_vvvexplain"))
        .args([
            "--hang-after",
            "30",
            "ssh",
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-p",
            &port.to_string(),
            "127.0.0.1",
            "true",
        ])
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let group = format!("-{}", child.id());
    assert!(Command::new("kill")
        .args(["-INT", "--", &group])
        .status()
        .unwrap()
        .success());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("INCOMPLETE: stops in banner"),
        "the verdict of what was seen:\n{err}"
    );
    assert!(
        err.contains("waiting for the server's SSH version banner"),
        "{err}"
    );
}
