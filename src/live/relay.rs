//! The client's stderr, one ordered stream as in `ssh -vvv 2>&1`: its debug log (and that of the
//! ssh that sftp/scp start) goes to the analysis, everything else to the user's terminal as it
//! comes, partial lines (a remote `read -p` prompt) included.

use std::io::Read;
use std::process::ChildStderr;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::screen::Screen;
use super::Arrival;
use crate::event::{self, Event, Level};

/// ssh writes each log line at once; a line still unfinished after this long is the terminal's.
const PARTIAL_WAIT: Duration = Duration::from_millis(50);

/// Starts the threads that read the client's stderr; every line goes to `tx`, the end of the
/// stream drops it.
pub fn relay(mut stderr: ChildStderr, screen: Arc<Screen>, tx: Sender<Arrival>) {
    let (chunks, received) = mpsc::channel::<(Vec<u8>, Instant)>();
    thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 || chunks.send((buf[..n].to_vec(), Instant::now())).is_err() {
                break;
            }
        }
    });
    thread::spawn(move || {
        let mut lines = Lines::new(screen, tx);
        loop {
            match received.recv_timeout(PARTIAL_WAIT) {
                Ok((chunk, at)) => lines.take(&chunk, at),
                Err(RecvTimeoutError::Timeout) => lines.show_partial(),
                Err(RecvTimeoutError::Disconnected) => break lines.finish(),
            }
        }
    });
}

/// Splits the stream into lines and decides, line by line, what the user sees.
struct Lines {
    screen: Arc<Screen>,
    tx: Sender<Arrival>,
    /// The current line so far, and how many of its bytes the terminal already has.
    line: Vec<u8>,
    shown: usize,
    at: Instant,
    /// The previous line was the client's log (a message of several lines continues it).
    in_log: bool,
}

impl Lines {
    fn new(screen: Arc<Screen>, tx: Sender<Arrival>) -> Self {
        Lines {
            screen,
            tx,
            line: Vec::new(),
            shown: 0,
            at: Instant::now(),
            in_log: false,
        }
    }

    fn take(&mut self, mut chunk: &[u8], at: Instant) {
        self.screen.client_spoke();
        if self.line.is_empty() {
            self.at = at;
        }
        while let Some(end) = memchr::memchr(b'\n', chunk) {
            self.line.extend_from_slice(&chunk[..=end]);
            chunk = &chunk[end + 1..];
            self.end_line();
            self.at = at;
        }
        self.line.extend_from_slice(chunk);
    }

    /// A line left unfinished is not a log line: the terminal gets it now.
    fn show_partial(&mut self) {
        if self.line.len() > self.shown {
            self.screen.pass_through(&self.line[self.shown..]);
            self.shown = self.line.len();
        }
    }

    fn end_line(&mut self) {
        let text = trim_end(&self.line);
        if self.shown > 0 {
            self.screen.pass_through(&self.line[self.shown..]);
            self.in_log = false;
        } else {
            self.in_log = is_log(text, self.in_log);
            if !self.in_log {
                self.screen.pass_through(&self.line);
            }
        }
        let _ = self.tx.send(Arrival {
            bytes: text.to_vec(),
            at: self.at,
        });
        self.line.clear();
        self.shown = 0;
    }

    fn finish(&mut self) {
        if !self.line.is_empty() {
            self.line.push(b'\n');
            self.end_line();
        }
    }
}

fn trim_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A line of the debug log the wrapper asked for: debug lines, and the lines `-v` adds that the
/// user does not see without it (the version, "Authenticated to", the byte counts, scp's
/// "Executing: program"). Errors and warnings are not: ssh shows them without `-v` too.
fn is_log(text: &[u8], after_log: bool) -> bool {
    // A debug message of several lines (`channel 0: status: The following connections …`,
    // indented, then an empty line).
    if after_log && text.first().is_none_or(|b| *b == b' ') {
        return true;
    }
    let classified = event::classify(&String::from_utf8_lossy(text));
    classified.level != Level::Plain
        || matches!(
            classified.event,
            Event::ClientVersion { .. }
                | Event::Authenticated { .. }
                | Event::Transferred { .. }
                | Event::BytesPerSecond
                | Event::ScpExecuting { .. }
        )
}
