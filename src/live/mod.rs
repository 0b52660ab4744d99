//! Live mode: `vvvexplain ssh|sftp|scp ARGS…` runs the real client with `-vvv`, reads its debug
//! output as it arrives (each line timed on arrival), shows the phase it is in, names a hang while
//! it happens, and explains a failure when the client ends. The user's terminal, prompts and the
//! remote command's output stay as they are without the wrapper; the client's exit code is kept.
//!
//! The client's stderr is read as one stream, as `CLIENT -vvv 2>&1 | vvvexplain` reads it (sftp
//! and scp pass `-v` on to the ssh they start, which inherits that stderr): the debug lines go to
//! the analysis, the rest to the terminal (`relay`). ssh asks its questions on /dev/tty, which
//! the wrapper does not touch: the status line keeps to the phases where none can come (`watch`).

#[cfg(unix)]
mod askpass;
#[cfg(not(unix))]
#[path = "no_askpass.rs"]
mod askpass;
mod relay;
mod screen;
mod watch;

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::analyze::Analyzer;
use crate::error::Error;
use crate::report::{self, Format, View};
use crate::rules::RuleSet;
use crate::timeline::{Outcome, Program, Timeline};
use crate::verdict::Verdict;
use askpass::Askpass;
use screen::Screen;
use watch::Watch;

/// How often the status line and the hang check run.
const TICK: Duration = Duration::from_millis(100);
/// After the client exits, how long its stderr may stay open (`ssh -f`, a ControlPersist
/// master keep it) before the wrapper stops reading and explains.
const LINGER: Duration = Duration::from_millis(300);

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
    /// How the report is laid out on stderr (width, colour, `--brief`/`--verbose`).
    pub view: View,
}

/// One line of the client's output and when it arrived.
struct Arrival {
    bytes: Vec<u8>,
    at: Instant,
}

/// When vvvexplain was started by ssh as its askpass: asks the wrapper, returns the exit code.
pub fn askpass_shim() -> Option<i32> {
    askpass::shim()
}

/// Runs the client to its end and returns its exit code.
pub fn run(live: &LiveRun, rules: &RuleSet) -> Result<i32, Error> {
    let mut save = match &live.save {
        Some(path) => Some(File::create(path).map_err(|source| Error::Save {
            path: path.clone(),
            source,
        })?),
        None => None,
    };
    let screen = Arc::new(Screen::new());
    let (mut child, _askpass) = spawn(live, &screen)?;
    let start = Instant::now();
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    // The client gets the terminal's Ctrl-C itself; vvvexplain stays to explain what it saw.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));

    let (tx, rx) = mpsc::channel();
    if let Some(stderr) = child.stderr.take() {
        relay::relay(stderr, Arc::clone(&screen), tx);
    }
    let mut analyzer = Analyzer::new();
    let mut watch = Watch::new(live.hang_after, live.program);
    let mut exited: Option<(ExitStatus, Instant)> = None;
    loop {
        match rx.recv_timeout(TICK) {
            Ok(arrival) => {
                let elapsed = arrival.at.saturating_duration_since(start);
                if let Some(file) = save.as_mut() {
                    let text = String::from_utf8_lossy(&arrival.bytes);
                    let _ = writeln!(file, "[+{:.3}s] {text}", elapsed.as_secs_f64());
                }
                analyzer.push_at(&arrival.bytes, false, Some(elapsed));
                watch.progress();
            }
            Err(RecvTimeoutError::Timeout) => {}
            // The client's stderr is closed: it has exited and its output is read.
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if exited.is_none() {
            let status = child.try_wait().map_err(spawn_error(live))?;
            exited = status.map(|status| (status, Instant::now()));
        }
        if exited.is_some_and(|(_, at)| at.elapsed() >= LINGER) {
            break;
        }
        watch.tick(&analyzer, rules, &screen, start);
    }
    screen.clear_status();
    askpass::restore_terminal();
    let (status, ended) = match exited {
        Some(exited) => exited,
        None => (child.wait().map_err(spawn_error(live))?, Instant::now()),
    };
    let code = exit_code(status);
    let mut timeline = analyzer.finish();
    let ended = ended.saturating_duration_since(start).as_millis();
    if let Some(session) = timeline.sessions.last_mut() {
        session.client_ended_at(u64::try_from(ended).unwrap_or(u64::MAX));
    }
    // The exit code stays the client's whatever happens to the explanation (a closed pipe).
    let _ = explain(
        live,
        &timeline,
        rules,
        code,
        interrupted.load(Ordering::SeqCst),
    );
    Ok(code)
}

fn explain(
    live: &LiveRun,
    timeline: &Timeline,
    rules: &RuleSet,
    code: i32,
    interrupted: bool,
) -> Result<(), Error> {
    match Verdict::build(timeline, rules) {
        Some(mut verdict) => {
            if live.redact {
                crate::redact::redact(&mut verdict);
            }
            let user_wait = timeline.sessions.last().map_or(0, |s| s.user_wait_millis);
            report_end(live, &verdict, code, interrupted, user_wait)
        }
        None if code != 0 => {
            eprintln!(
                "vvvexplain: {} printed no debug output (exit code {code})",
                live.program.id()
            );
            Ok(())
        }
        None => Ok(()),
    }
}

fn spawn_error(live: &LiveRun) -> impl Fn(io::Error) -> Error + '_ {
    move |source| Error::Spawn {
        program: live.program.id().to_string(),
        source,
    }
}

/// The client with `-vvv` and its stderr to the wrapper; its stdin and stdout stay the user's,
/// its questions come to the wrapper (see `askpass`).
fn spawn(live: &LiveRun, screen: &Arc<Screen>) -> Result<(Child, Option<Askpass>), Error> {
    let mut command = Command::new(live.program.id());
    command.arg("-vvv").args(&live.args).stderr(Stdio::piped());
    let askpass = Askpass::start(&mut command, Arc::clone(screen));
    let child = command.spawn().map_err(spawn_error(live))?;
    Ok((child, askpass))
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

/// After the client ended: the full verdict when it failed, a line when setting up was slow
/// (the time the user took to answer ssh's questions does not make it slow).
fn report_end(
    live: &LiveRun,
    verdict: &Verdict,
    code: i32,
    interrupted: bool,
    user_wait_millis: u64,
) -> Result<(), Error> {
    let v = &verdict.decision;
    let mut err = io::stderr().lock();
    if v.outcome != Outcome::Success || (code != 0 && interrupted) {
        writeln!(err).map_err(Error::Write)?;
        return report::write_view(&mut err, verdict, live.format, &live.view, None)
            .map_err(Error::Write);
    }
    let Some(timing) = &v.timing else {
        return Ok(());
    };
    let user_wait = user_wait_millis as f64 / 1000.0;
    if timing.setup_seconds - user_wait < live.slow_setup.as_secs_f64() {
        return Ok(());
    }
    let mut line = format!("vvvexplain: setting up took {:.1}s", timing.setup_seconds);
    if user_wait >= 0.1 {
        line.push_str(&format!(" ({user_wait:.1}s of it waiting for you)"));
    }
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
