//! Live mode: `vvvexplain ssh|sftp|scp ARGS…` runs the real client with `-vvv`, reads its debug
//! output as it arrives (each line timed on arrival), shows the phase it is in, names a hang while
//! it happens, and explains a failure when the client ends. The user's terminal, prompts and the
//! remote command's output stay as they are without the wrapper; the client's exit code is kept.
//!
//! ssh writes its debug log with `-E FILE`, which this module follows. sftp and scp start ssh
//! themselves: they get `-S vvvexplain`, and vvvexplain, started that way, runs `ssh -E FILE`.
//! Their own messages arrive on their stderr, which is passed through except for debug lines.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::analyze::{read_lines, Analyzer};
use crate::error::Error;
use crate::report::{self, Format, Styles};
use crate::rules::RuleSet;
use crate::timeline::{Expecting, Outcome, Program, Session};
use crate::verdict::Verdict;

/// Set in the environment of sftp/scp: the file the ssh they start must write its log to.
const SHIM_LOG_ENV: &str = "VVVEXPLAIN_SSH_LOG";
/// How often the status line and the hang check run.
const TICK: Duration = Duration::from_millis(100);
/// How often the debug log file is polled for new lines.
const POLL: Duration = Duration::from_millis(20);

/// What `vvvexplain ssh|sftp|scp` was asked to do.
#[derive(Debug, Clone)]
pub struct LiveRun {
    pub program: Program,
    pub args: Vec<OsString>,
    /// Keep the debug log, each line with its arrival time, in this file.
    pub save: Option<PathBuf>,
    /// Name the likely cause once setting up makes no progress for this long.
    pub hang_after: Duration,
    /// On success, print a one-line timing summary when setting up took longer than this.
    pub slow_setup: Duration,
    pub format: Format,
    pub redact: bool,
    pub styles: Styles,
}

/// One line of the client's output and when it arrived.
struct Arrival {
    bytes: Vec<u8>,
    at: Instant,
}

/// When vvvexplain is the `-S` program of sftp/scp, it becomes `ssh -E LOG ARGS…` and never
/// returns; `None` when it was started normally.
#[cfg(unix)]
pub fn exec_ssh_shim() -> Option<i32> {
    use std::os::unix::process::CommandExt;
    let log = std::env::var_os(SHIM_LOG_ENV)?;
    let error = Command::new("ssh")
        .arg("-E")
        .arg(log)
        .args(std::env::args_os().skip(1))
        .exec();
    eprintln!("vvvexplain: cannot run ssh: {error}");
    Some(255)
}

#[cfg(not(unix))]
pub fn exec_ssh_shim() -> Option<i32> {
    None
}

/// Runs the client to its end and returns its exit code.
pub fn run(live: &LiveRun, rules: &RuleSet) -> Result<i32, Error> {
    let log = DebugLog::create()?;
    let mut child = spawn(live, log.path())?;
    let start = Instant::now();
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    // The client gets the terminal's Ctrl-C itself; vvvexplain stays to explain what it saw.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));

    let child_done = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    follow_file(
        log.path().to_path_buf(),
        Arc::clone(&child_done),
        tx.clone(),
    );
    if let Some(stderr) = child.stderr.take() {
        pass_through_stderr(stderr, tx.clone());
    }
    drop(tx);

    let mut save = match &live.save {
        Some(path) => {
            Some(File::create(path).map_err(|source| Error::Write(annotate(source, path)))?)
        }
        None => None,
    };
    let mut analyzer = Analyzer::new();
    let mut watch = Watch::new(live.hang_after, live.program);
    let status = loop {
        match rx.recv_timeout(TICK) {
            Ok(arrival) => {
                let elapsed = arrival.at.duration_since(start);
                if let Some(file) = save.as_mut() {
                    let text = String::from_utf8_lossy(&arrival.bytes);
                    let _ = writeln!(file, "[+{:.3}s] {text}", elapsed.as_secs_f64());
                }
                analyzer.push_at(&arrival.bytes, false, Some(elapsed));
                watch.progress();
            }
            Err(RecvTimeoutError::Timeout) => {}
            // Both readers ended: the client has exited and its output is read.
            Err(RecvTimeoutError::Disconnected) => {
                break child.wait().map_err(spawn_error(live))?
            }
        }
        if !child_done.load(Ordering::SeqCst)
            && child.try_wait().map_err(spawn_error(live))?.is_some()
        {
            child_done.store(true, Ordering::SeqCst);
        }
        watch.tick(&analyzer, rules, start);
    };
    watch.clear();
    let code = exit_code(status);
    match Verdict::build(&analyzer.finish(), rules) {
        Some(mut verdict) => {
            if live.redact {
                crate::redact::redact(&mut verdict);
            }
            report_end(live, &verdict, code, interrupted.load(Ordering::SeqCst))?
        }
        None if code != 0 => {
            eprintln!(
                "vvvexplain: {} printed no debug output (exit code {code})",
                live.program.id()
            )
        }
        None => {}
    }
    Ok(code)
}

fn annotate(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

fn spawn_error(live: &LiveRun) -> impl Fn(io::Error) -> Error + '_ {
    move |source| Error::Spawn {
        program: live.program.id().to_string(),
        source,
    }
}

fn spawn(live: &LiveRun, log: &Path) -> Result<Child, Error> {
    let mut command = Command::new(live.program.id());
    command.arg("-vvv");
    match live.program {
        Program::Ssh => {
            command.arg("-E").arg(log);
        }
        Program::Sftp | Program::Scp => {
            let me = std::env::current_exe().map_err(spawn_error(live))?;
            command
                .arg("-S")
                .arg(me)
                .env(SHIM_LOG_ENV, log)
                .stderr(Stdio::piped());
        }
    }
    command.args(&live.args).spawn().map_err(spawn_error(live))
}

/// The exit code the client ended with; a signal counts as 128 + its number, as in a shell.
fn exit_code(status: ExitStatus) -> i32 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return 128 + signal;
        }
    }
    status.code().unwrap_or(255)
}

/// A private temporary file for the client's debug log, removed when dropped.
struct DebugLog {
    path: PathBuf,
}

impl DebugLog {
    fn create() -> Result<Self, Error> {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "vvvexplain-{}-{}.log",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::SeqCst)
        );
        let path = std::env::temp_dir().join(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options
            .open(&path)
            .map_err(|e| Error::Write(annotate(e, &path)))?;
        Ok(DebugLog { path })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DebugLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Follows the log file as ssh appends to it, until the client is done and the file is read.
fn follow_file(path: PathBuf, child_done: Arc<AtomicBool>, tx: Sender<Arrival>) {
    thread::spawn(move || {
        let Ok(file) = File::open(&path) else {
            return;
        };
        let growing = GrowingFile { file, child_done };
        let _ = read_lines(BufReader::with_capacity(64 * 1024, growing), |line, _| {
            let _ = tx.send(Arrival {
                bytes: line.to_vec(),
                at: Instant::now(),
            });
        });
    });
}

/// A file another process is still writing: a read waits for more until that process is done,
/// so the end of the file is only reported once the writer has exited and everything is read.
struct GrowingFile {
    file: File,
    child_done: Arc<AtomicBool>,
}

impl Read for GrowingFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // Read the done flag before reading: whatever ssh wrote before it exited is then read.
            let done = self.child_done.load(Ordering::SeqCst);
            let n = self.file.read(buf)?;
            if n > 0 || done {
                return Ok(n);
            }
            thread::sleep(POLL);
        }
    }
}

/// Passes sftp's/scp's own stderr through to the user, minus the debug lines the wrapper asked
/// for, and sends every line to the analysis.
fn pass_through_stderr(stderr: ChildStderr, tx: Sender<Arrival>) {
    thread::spawn(move || {
        let mut out = io::stderr();
        let _ = read_lines(BufReader::new(stderr), |line, _| {
            let text = line.strip_prefix(b"scp: ").unwrap_or(line);
            if !text.starts_with(b"debug1: ")
                && !text.starts_with(b"debug2: ")
                && !text.starts_with(b"debug3: ")
            {
                let _ = out.write_all(line);
                let _ = out.write_all(b"\n");
            }
            let _ = tx.send(Arrival {
                bytes: line.to_vec(),
                at: Instant::now(),
            });
        });
    });
}

/// The status line and the hang check while the connection is being set up.
struct Watch {
    program: Program,
    /// stderr is a terminal, so a status line can be drawn and cleared.
    terminal: bool,
    shown: bool,
    last_draw: Option<Instant>,
    last_progress: Instant,
    hang_after: Duration,
    hang_reported: bool,
}

impl Watch {
    fn new(hang_after: Duration, program: Program) -> Self {
        Watch {
            program,
            terminal: io::stderr().is_terminal(),
            shown: false,
            last_draw: None,
            last_progress: Instant::now(),
            hang_after,
            hang_reported: false,
        }
    }

    fn progress(&mut self) {
        self.last_progress = Instant::now();
        self.hang_reported = false;
    }

    fn clear(&mut self) {
        if self.shown {
            eprint!("\r\x1b[K");
            let _ = io::stderr().flush();
            self.shown = false;
        }
    }

    fn tick(&mut self, analyzer: &Analyzer, rules: &RuleSet, start: Instant) {
        let Some(session) = analyzer.current() else {
            return;
        };
        if !setting_up(session) || waiting_for_the_user(session) {
            self.clear();
            return;
        }
        let phase = session.frontier;
        if self.terminal && self.last_draw.is_none_or(|t| t.elapsed() >= TICK) {
            self.last_draw = Some(Instant::now());
            eprint!(
                "\r\x1b[Kvvvexplain: {} ({})… {:.1}s",
                phase.describe(),
                phase.id(),
                start.elapsed().as_secs_f64()
            );
            let _ = io::stderr().flush();
            self.shown = true;
        }
        let stalled = self.last_progress.elapsed();
        if stalled >= self.hang_after && !self.hang_reported {
            self.hang_reported = true;
            let Some(verdict) = Verdict::build(&analyzer.snapshot(), rules) else {
                return;
            };
            self.clear();
            eprintln!(
                "vvvexplain: no progress for {}s. {}",
                stalled.as_secs(),
                verdict.decision.summary
            );
            eprintln!(
                "vvvexplain: the full explanation follows when {} ends (Ctrl-C ends it now)",
                self.program.id()
            );
        }
    }
}

/// The connection is not up yet and has not failed.
fn setting_up(session: &Session) -> bool {
    session.setup_done_millis.is_none() && session.outcome() == Outcome::Incomplete
}

/// ssh is (probably) asking the user something: a password or the host key question. No status
/// line then, and no progress is expected.
fn waiting_for_the_user(session: &Session) -> bool {
    matches!(session.expecting, Some((Expecting::HostKeyAnswer, _)))
        || matches!(
            session.auth_method.as_deref(),
            Some("password" | "keyboard-interactive")
        )
}

/// After the client ended: the full verdict when it failed, a line when setting up was slow.
fn report_end(
    live: &LiveRun,
    verdict: &Verdict,
    code: i32,
    interrupted: bool,
) -> Result<(), Error> {
    let v = &verdict.decision;
    let mut err = io::stderr().lock();
    if v.outcome != Outcome::Success || (code != 0 && interrupted) {
        writeln!(err).map_err(Error::Write)?;
        return report::write(&mut err, verdict, live.format, &live.styles, None)
            .map_err(Error::Write);
    }
    let Some(timing) = &v.timing else {
        return Ok(());
    };
    if timing.setup_seconds < live.slow_setup.as_secs_f64() {
        return Ok(());
    }
    let mut line = format!("vvvexplain: setting up took {:.1}s", timing.setup_seconds);
    if let Some(step) = &timing.slowest_step {
        line.push_str(&format!(
            ", {:.1}s of it in {} after line {}: {}",
            step.seconds,
            step.phase.id(),
            step.after.line,
            step.after.text
        ));
    }
    if let Some(cause) = v.causes.iter().find(|c| !c.success) {
        line.push_str(&format!(". Likely: {} ({})", cause.advice.title, cause.id));
    }
    writeln!(err, "{line}").map_err(Error::Write)
}
