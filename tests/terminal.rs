//! Live mode as a user sees it: `vvvexplain ssh|sftp|scp` in a real terminal (tmux), against a
//! throwaway sshd on 127.0.0.1 with a password user, reading the screen and its scrollback with
//! `capture-pane`. It needs root, /usr/sbin/sshd and tmux (CI installs them); elsewhere it says
//! why it skipped, and under CI (CI=true) a skip is a failure. Every wait is bounded.

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod throwaway_sshd;
use throwaway_sshd::{free_port, Sshd};

const USER: &str = "vvvlive";
const PASSWORD: &str = "live-Pa55word";
const PASSPHRASE: &str = "key-Pa55phrase";
const BANNER: &str = "Welcome to the test server";

fn vvvexplain() -> &'static str {
    env!("CARGO_BIN_EXE_vvvexplain")
}

/// Printed past the harness's capture, so a skip is visible in `cargo test` output.
fn say(message: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{message}");
}

fn skip_unless_ci(why: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "the terminal tests must run in CI, but: {why}"
    );
    say(&format!("terminal test skipped: {why}"));
}

fn why_not_runnable() -> Option<String> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !root {
        return Some("needs root (it creates a password user and starts sshd)".into());
    }
    for (program, arg) in [("tmux", "-V"), ("ssh", "-V"), ("/usr/sbin/sshd", "-V")] {
        if Command::new(program).arg(arg).output().is_err() {
            return Some(format!("{program} is not installed"));
        }
    }
    None
}

/// A throwaway sshd on 127.0.0.1: password and keyboard-interactive logins (PAM), a banner, and
/// two authorized client keys (`key`, and `locked_key` with a passphrase; `other_key` is refused).
fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

/// Once for all the tests of this file, which run in parallel.
fn ensure_password_user() {
    static READY: std::sync::Once = std::sync::Once::new();
    READY.call_once(create_password_user);
}

fn create_password_user() {
    if !run("id", &[USER]).status.success() {
        assert!(run("useradd", &["-m", "-s", "/bin/sh", USER])
            .status
            .success());
    }
    let mut chpasswd = Command::new("chpasswd")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let line = format!("{USER}:{PASSWORD}\n");
    chpasswd
        .stdin
        .take()
        .unwrap()
        .write_all(line.as_bytes())
        .unwrap();
    assert!(chpasswd.wait().unwrap().success());
}

fn start_sshd(name: &str) -> Result<Sshd, String> {
    if let Some(why) = why_not_runnable() {
        return Err(why);
    }
    ensure_password_user();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("terminal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for key in ["host", "key", "other_key"] {
        let path = dir.join(key);
        let out = run(
            "ssh-keygen",
            &[
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-f",
                path.to_str().unwrap(),
            ],
        );
        assert!(out.status.success());
    }
    let path = dir.join("locked_key");
    let locked = [
        "-q",
        "-t",
        "ed25519",
        "-N",
        PASSPHRASE,
        "-f",
        path.to_str().unwrap(),
    ];
    assert!(run("ssh-keygen", &locked).status.success());
    let authorized = [dir.join("key.pub"), dir.join("locked_key.pub")]
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect::<String>();
    std::fs::write(dir.join("authorized_keys"), authorized).unwrap();
    std::fs::write(dir.join("banner"), format!("{BANNER}\n")).unwrap();
    let port = free_port();
    let config = format!(
        "HostKey {d}/host\nPidFile none\nUsePAM yes\nStrictModes no\nListenAddress 127.0.0.1\n\
         Port {port}\nPasswordAuthentication yes\nKbdInteractiveAuthentication yes\n\
         AuthorizedKeysFile {d}/authorized_keys\nBanner {d}/banner\nLogLevel ERROR\n",
        d = dir.display()
    );
    throwaway_sshd::start(dir, port, &config)
}

impl Sshd {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// `ssh` options for this server: no user config, a known_hosts of the test's own.
    fn options(&self, known_hosts: &str) -> String {
        format!(
            "-F /dev/null -o UserKnownHostsFile={} -o ConnectTimeout=10 -p {}",
            self.path(known_hosts),
            self.port
        )
    }
}

/// A command running in its own tmux server (a private socket), read as its screen shows it.
struct Terminal {
    socket: String,
}

impl Terminal {
    fn start(name: &str, command: &str) -> Terminal {
        let socket = format!("vvvexplain-{name}-{}", std::process::id());
        // The exit code is printed, then the pane stays for the screen to be read.
        let shell = format!("{command}; echo EXIT=$?; sleep 120");
        let out = run(
            "tmux",
            &[
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "200",
                "-y",
                "50",
                &shell,
            ],
        );
        assert!(out.status.success(), "tmux: {out:?}");
        Terminal { socket }
    }

    fn screen(&self) -> String {
        let out = run(
            "tmux",
            &["-L", &self.socket, "capture-pane", "-p", "-J", "-S", "-"],
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["-L", self.socket.as_str(), "send-keys"];
        args.extend(keys);
        assert!(run("tmux", &args).status.success());
    }

    fn type_line(&self, text: &str) {
        self.keys(&["-l", text]);
        self.keys(&["Enter"]);
    }

    /// Waits until the screen shows `text`; the screen then.
    fn wait_for(&self, text: &str, within: Duration) -> String {
        let until = Instant::now() + within;
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < until,
                "{text:?} not on the screen after {within:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn pane_tty(&self) -> String {
        let out = run(
            "tmux",
            &["-L", &self.socket, "display", "-p", "#{pane_tty}"],
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = run("tmux", &["-L", &self.socket, "kill-server"]);
    }
}

/// The line of the screen that holds `text`.
fn line_with<'a>(screen: &'a str, text: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(text))
        .unwrap_or_else(|| panic!("no line with {text:?}:\n{screen}"))
}

const HOST_KEY_QUESTION: &str =
    "Are you sure you want to continue connecting (yes/no/[fingerprint])?";
const SECONDS: Duration = Duration::from_secs(15);

#[test]
fn the_host_key_question_and_the_password_prompt_are_shown_and_answered() {
    let sshd = match start_sshd("password") {
        Ok(sshd) => sshd,
        Err(why) => return skip_unless_ci(&why),
    };
    let term = Terminal::start(
        "password",
        &format!(
            "{} --slow-setup 60 ssh {} -o PreferredAuthentications=password {USER}@127.0.0.1 'echo hello from host'",
            vvvexplain(),
            sshd.options("known_hosts")
        ),
    );
    let screen = term.wait_for(HOST_KEY_QUESTION, SECONDS);
    assert!(
        screen.contains("The authenticity of host '[127.0.0.1]:"),
        "{screen}"
    );
    assert_eq!(
        line_with(&screen, HOST_KEY_QUESTION).trim_end(),
        HOST_KEY_QUESTION,
        "the question is on a line of its own:\n{screen}"
    );
    term.type_line("yes");
    let prompt = format!("{USER}@127.0.0.1's password:");
    let screen = term.wait_for(&prompt, SECONDS);
    assert!(
        screen.contains(&format!("{HOST_KEY_QUESTION} yes")),
        "the answer is echoed:\n{screen}"
    );
    assert_eq!(line_with(&screen, &prompt).trim_end(), prompt, "{screen}");
    assert!(
        screen.find(BANNER) < screen.find(&prompt),
        "the banner comes before the prompt, as ssh prints it:\n{screen}"
    );
    term.type_line(PASSWORD);
    let screen = term.wait_for("EXIT=", SECONDS);
    assert!(screen.contains("EXIT=0"), "the login works:\n{screen}");
    assert!(
        screen.lines().any(|l| l.trim_end() == "hello from host"),
        "the remote output is on its own line:\n{screen}"
    );
    assert!(!screen.contains(PASSWORD), "the password is not echoed");
    assert!(
        !screen.contains("vvvexplain"),
        "nothing of the wrapper shows on a quick login:\n{screen}"
    );
}

#[test]
fn a_keyboard_interactive_prompt_is_shown_and_answered() {
    let sshd = match start_sshd("kbdint") {
        Ok(sshd) => sshd,
        Err(why) => return skip_unless_ci(&why),
    };
    let term = Terminal::start(
        "kbdint",
        &format!(
            "{} --slow-setup 60 ssh {} -o StrictHostKeyChecking=accept-new -o PreferredAuthentications=keyboard-interactive {USER}@127.0.0.1 'echo hello from host'",
            vvvexplain(),
            sshd.options("known_hosts")
        ),
    );
    let prompt = format!("({USER}@127.0.0.1) Password:");
    let screen = term.wait_for(&prompt, SECONDS);
    assert_eq!(line_with(&screen, &prompt).trim_end(), prompt, "{screen}");
    term.type_line(PASSWORD);
    let screen = term.wait_for("EXIT=", SECONDS);
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        screen.lines().any(|l| l.trim_end() == "hello from host"),
        "{screen}"
    );
}

#[test]
fn ctrl_c_at_the_password_prompt_says_ssh_was_waiting_for_you() {
    let sshd = match start_sshd("ctrlc") {
        Ok(sshd) => sshd,
        Err(why) => return skip_unless_ci(&why),
    };
    let term = Terminal::start(
        "ctrlc",
        &format!(
            "{} --hang-after 1 ssh {} -o StrictHostKeyChecking=accept-new -o PreferredAuthentications=password {USER}@127.0.0.1 true",
            vvvexplain(),
            sshd.options("known_hosts")
        ),
    );
    let prompt = format!("{USER}@127.0.0.1's password:");
    term.wait_for(&prompt, SECONDS);
    // Longer than --hang-after: the user's time is no hang.
    std::thread::sleep(Duration::from_secs(3));
    let screen = term.screen();
    assert!(!screen.contains("no progress"), "{screen}");
    term.keys(&["C-c"]);
    let screen = term.wait_for("EXIT=", SECONDS);
    assert!(
        screen.contains("waiting for you to type the password"),
        "{screen}"
    );
    assert!(
        screen.contains("[waiting-for-user, high confidence]"),
        "{screen}"
    );
    assert!(!screen.contains("slow-auth-server"), "{screen}");
    assert!(
        screen.contains("EXIT=130"),
        "ssh's own exit code:\n{screen}"
    );
    let stty = run("stty", &["-a", "-F", &term.pane_tty()]);
    assert!(
        String::from_utf8_lossy(&stty.stdout).contains(" echo "),
        "the terminal echoes again"
    );
}

/// A loopback listener that accepts connections and never says a word.
fn silent_listener() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

#[test]
fn a_hang_at_the_banner_is_named_on_time_and_ctrl_c_gives_the_verdict_with_its_timing() {
    if let Some(why) = why_not_runnable() {
        return skip_unless_ci(&why);
    }
    let port = silent_listener();
    let term = Terminal::start(
        "hang",
        &format!(
            "{} --hang-after 1 ssh -F /dev/null -o BatchMode=yes -p {port} 127.0.0.1 true",
            vvvexplain()
        ),
    );
    let started = Instant::now();
    let screen = term.wait_for("vvvexplain: no progress for 1s", SECONDS);
    assert!(started.elapsed() < Duration::from_secs(5), "{screen}");
    assert!(screen.contains("SSH version banner"), "{screen}");
    std::thread::sleep(Duration::from_secs(3));
    term.keys(&["C-c"]);
    let screen = term.wait_for("EXIT=", SECONDS);
    assert!(
        screen.contains("stops while exchanging SSH version banners (banner)"),
        "{screen}"
    );
    let timing = line_with(&screen, "Timing: set-up took ");
    let took: f64 = timing["Timing: set-up took ".len()..]
        .split('s')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{timing}"));
    assert!(took >= 3.5, "the hang counts until Ctrl-C: {timing}");
    assert!(
        timing.contains("in banner, came after line"),
        "the hang is the longest wait: {timing}"
    );
    assert!(
        !screen
            .lines()
            .any(|l| l.contains("vvvexplain: ") && l.contains("(banner)…")),
        "the status line was cleared:\n{screen}"
    );
}

/// The verdict's outcome, failed phase and top cause, from a JSON report.
fn verdict_of(json: &str) -> (String, String, String) {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("null").to_string();
    (
        text(&v["outcome"]),
        text(&v["failed_phase"]),
        text(&v["causes"][0]["id"]),
    )
}

/// `vvvexplain --format json CLIENT ARGS` (its report is on stderr, after what the client
/// printed) and `CLIENT -vvv ARGS 2>&1 | vvvexplain --format json`: both verdicts, and what the
/// live run showed besides its report.
fn live_and_piped(
    client: &str,
    args: &str,
) -> ((String, String, String), (String, String, String), String) {
    let live = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "timeout 60 {} --format json {client} {args}",
            vvvexplain()
        ))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&live.stderr);
    let report = err.find("\n{\n").map_or(0, |i| i + 1);
    let piped = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "timeout 60 {client} -vvv {args} 2>&1 | {} --format json",
            vvvexplain()
        ))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        verdict_of(&err[report..]),
        verdict_of(&String::from_utf8_lossy(&piped.stdout)),
        err[..report].to_string(),
    )
}

#[test]
fn sftp_and_scp_fast_failures_get_the_verdict_of_the_piped_log() {
    let sshd = match start_sshd("sftp") {
        Ok(sshd) => sshd,
        Err(why) => return skip_unless_ci(&why),
    };
    let common = format!(
        "-F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={}",
        sshd.path("known_hosts")
    );
    let key = sshd.path("key");
    let other_key = sshd.path("other_key");
    let port = sshd.port;
    let closed = free_port();
    let scenarios = [
        ("refused port", format!("{common} -P {closed} {USER}@127.0.0.1"), "port-closed"),
        ("unknown host", format!("{common} {USER}@nosuchhost.invalid"), "dns-failure"),
        ("unknown user", format!("{common} -i {key} -P {port} nosuchuser@127.0.0.1"), ""),
        ("rejected key", format!("{common} -i {other_key} -o PreferredAuthentications=publickey -P {port} {USER}@127.0.0.1"), "auth-key-rejected"),
    ];
    for (what, target, cause) in &scenarios {
        for client in ["sftp", "scp"] {
            let args = match client {
                "sftp" => target.clone(),
                _ => {
                    let (options, destination) = target.rsplit_once(' ').unwrap();
                    format!("{options} /etc/hostname {destination}:/tmp/vvvexplain-scp-test")
                }
            };
            let (live, piped, shown) = live_and_piped(client, &args);
            say(&format!("{client} {what}: live {live:?}, piped {piped:?}"));
            assert_eq!(
                live, piped,
                "{client} {what}: live and piped differ\n{shown}"
            );
            assert_eq!(live.0, "failure", "{client} {what}");
            if !cause.is_empty() {
                assert_eq!(live.2, *cause, "{client} {what}");
            }
            for plumbing in ["Executing: program", "debug1:", "OpenSSH_"] {
                assert!(
                    !shown.contains(plumbing),
                    "{client} {what} shows {plumbing:?}:\n{shown}"
                );
            }
        }
    }
    // A user's own -S program is kept: scp runs it, and the verdict is still the piped one.
    let own_ssh =
        format!("-S /usr/bin/ssh {common} -P {closed} /etc/hostname {USER}@127.0.0.1:/tmp/x");
    let (live, piped, shown) = live_and_piped("scp", &own_ssh);
    assert_eq!(live, piped, "scp -S: live and piped differ\n{shown}");
    assert_eq!(live.2, "port-closed", "scp -S");
}

#[test]
fn git_and_rsync_run_over_vvvexplain_ssh_with_the_clients_exit_code() {
    let sshd = match start_sshd("git") {
        Ok(sshd) => sshd,
        Err(why) => return skip_unless_ci(&why),
    };
    for program in ["git", "rsync"] {
        if Command::new(program).arg("--version").output().is_err() {
            return skip_unless_ci(&format!("{program} is not installed"));
        }
    }
    let ssh = format!(
        "{} ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile={} -i {} -p {}",
        vvvexplain(),
        sshd.path("known_hosts"),
        sshd.path("key"),
        sshd.port
    );
    let repo = format!("/home/{USER}/vvvexplain-test.git");
    let setup = run(
        "su",
        &[
            USER,
            "-c",
            &format!("rm -rf {repo} && git init -q --bare {repo}"),
        ],
    );
    assert!(setup.status.success(), "{setup:?}");
    let clone = sshd.path("clone");
    let out = Command::new("git")
        .args([
            "clone",
            "-q",
            &format!("ssh://{USER}@127.0.0.1{repo}"),
            &clone,
        ])
        .env("GIT_SSH_COMMAND", &ssh)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "git clone: {out:?}");
    assert!(Path::new(&clone).join(".git").is_dir());

    let source = sshd.path("known_hosts");
    let out = Command::new("rsync")
        .args([
            "-e",
            &ssh,
            &source,
            &format!("{USER}@127.0.0.1:/tmp/vvvexplain-rsync-test"),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "rsync: {out:?}");
    let out = Command::new("rsync")
        .args([
            "-e",
            &ssh,
            &format!("{USER}@127.0.0.1:/nonexistent/file"),
            "/tmp/",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(23),
        "rsync's own exit code: {out:?}"
    );
}

#[test]
fn a_remote_prompt_on_stderr_without_a_line_end_is_shown_at_once_and_alone() {
    let sshd = match start_sshd("remote-prompt") {
        Ok(sshd) => sshd,
        Err(why) => return skip_unless_ci(&why),
    };
    let term = Terminal::start(
        "remote-prompt",
        &format!(
            "{} ssh {} -o BatchMode=yes -o StrictHostKeyChecking=accept-new -i {} {USER}@127.0.0.1 'printf \"Name: \" >&2; read n; echo \"got $n\"'",
            vvvexplain(),
            sshd.options("known_hosts"),
            sshd.path("key")
        ),
    );
    let screen = term.wait_for("Name:", SECONDS);
    assert_eq!(line_with(&screen, "Name:").trim_end(), "Name:", "{screen}");
    term.type_line("bob");
    let screen = term.wait_for("EXIT=", SECONDS);
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert_eq!(
        line_with(&screen, "Name:").trim_end(),
        "Name: bob",
        "{screen}"
    );
    assert!(
        screen.lines().any(|l| l.trim_end() == "got bob"),
        "{screen}"
    );
    assert!(!screen.contains("debug"), "{screen}");
}

#[test]
fn a_key_passphrase_prompt_is_shown_and_answered() {
    let sshd = match start_sshd("passphrase") {
        Ok(sshd) => sshd,
        Err(why) => return skip_unless_ci(&why),
    };
    let key = sshd.path("locked_key");
    let term = Terminal::start(
        "passphrase",
        &format!(
            "{} --slow-setup 60 ssh {} -o StrictHostKeyChecking=accept-new -o IdentitiesOnly=yes -o PreferredAuthentications=publickey -i {key} {USER}@127.0.0.1 'echo hello from host'",
            vvvexplain(),
            sshd.options("known_hosts"),
        ),
    );
    let prompt = format!("Enter passphrase for key '{key}':");
    let screen = term.wait_for(&prompt, SECONDS);
    assert_eq!(line_with(&screen, &prompt).trim_end(), prompt, "{screen}");
    term.type_line(PASSPHRASE);
    let screen = term.wait_for("EXIT=", SECONDS);
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(!screen.contains(PASSPHRASE), "{screen}");
    assert!(
        screen.lines().any(|l| l.trim_end() == "hello from host"),
        "{screen}"
    );
}

#[test]
fn ctrl_c_at_the_host_key_question_says_ssh_was_waiting_for_you() {
    let sshd = match start_sshd("hostkey-ctrlc") {
        Ok(sshd) => sshd,
        Err(why) => return skip_unless_ci(&why),
    };
    let term = Terminal::start(
        "hostkey-ctrlc",
        &format!(
            "{} --hang-after 1 ssh {} {USER}@127.0.0.1 true",
            vvvexplain(),
            sshd.options("known_hosts")
        ),
    );
    term.wait_for(HOST_KEY_QUESTION, SECONDS);
    std::thread::sleep(Duration::from_secs(2));
    term.keys(&["C-c"]);
    let screen = term.wait_for("EXIT=", SECONDS);
    assert!(!screen.contains("no progress"), "{screen}");
    assert!(
        screen.contains("waiting for you to answer the host key question"),
        "{screen}"
    );
    assert!(
        screen.contains("[waiting-for-user, high confidence]"),
        "{screen}"
    );
    assert!(screen.contains("EXIT=130"), "{screen}");
}
