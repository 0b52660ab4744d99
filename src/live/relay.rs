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
    /// The current line so far, and how many of its bytes the terminal already has (all of
    /// them, or none).
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
        if self.shown > 0 {
            // The terminal has an unfinished line; ssh writes each log line at once, so what
            // comes next is judged on its own (a debug line after a remote `read -p` prompt).
            self.send_line();
        }
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
            self.in_log = false;
        }
    }

    fn end_line(&mut self) {
        match log_start(trim_end(&self.line), self.in_log) {
            Some(0) => self.in_log = true,
            // Remote stderr without a line end, then ssh's next debug line: only the first
            // reaches the terminal, and each goes to the analysis as a line of its own.
            Some(start) => {
                self.screen.pass_through(&self.line[..start]);
                let log = self.line.split_off(start);
                self.send_line();
                self.line = log;
                self.in_log = true;
            }
            None => {
                self.screen.pass_through(&self.line);
                self.in_log = false;
            }
        }
        self.send_line();
    }

    /// The line so far goes to the analysis; the next bytes start another.
    fn send_line(&mut self) {
        let _ = self.tx.send(Arrival {
            bytes: trim_end(&self.line).to_vec(),
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

/// Where the debug log starts in a line: at 0 for a log line, further on when remote output
/// without a line end came first (`Name: debug2: channel 0: written 6 to efd 6`).
fn log_start(text: &[u8], after_log: bool) -> Option<usize> {
    if is_log(text, after_log) {
        return Some(0);
    }
    memchr::memmem::find_iter(text, b"debug")
        .filter(|&at| at > 0)
        .find(|&at| event::classify(&String::from_utf8_lossy(&text[at..])).level != Level::Plain)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `chunks` through the relay's line logic; the lines the analysis got.
    fn analysed(chunks: &[&[u8]]) -> Vec<String> {
        let (tx, rx) = mpsc::channel();
        let mut lines = Lines::new(Arc::new(Screen::new()), tx);
        for chunk in chunks {
            lines.take(chunk, Instant::now());
        }
        lines.finish();
        drop(lines);
        rx.iter()
            .map(|a| String::from_utf8_lossy(&a.bytes).into_owned())
            .collect()
    }

    #[test]
    fn what_only_the_debug_log_says_is_not_shown() {
        for line in [
            "debug1: Connecting to 127.0.0.1 [127.0.0.1] port 22.",
            "scp: debug2: Remote version: 3",
            "OpenSSH_9.2p1 Debian-2+deb12u6, OpenSSL 3.0.19 27 Jan 2026",
            "Authenticated to 127.0.0.1 ([127.0.0.1]:2222) using \"publickey\".",
            "Transferred: sent 3532, received 3340 bytes, in 0.2 seconds",
            "Bytes per second: sent 97046.8, received 85528.2",
            "Executing: program /usr/bin/ssh host 127.0.0.1, user alice, command sftp",
        ] {
            assert!(is_log(line.as_bytes(), false), "{line}");
        }
    }

    #[test]
    fn what_ssh_shows_without_v_is_shown() {
        for line in [
            "ssh: connect to host 127.0.0.1 port 1: Connection refused",
            "Warning: Permanently added '[127.0.0.1]:2222' (ED25519) to the list of known hosts.",
            "alice@127.0.0.1: Permission denied (publickey).",
            "Connection closed",
            "hello from the remote stderr",
        ] {
            assert!(!is_log(line.as_bytes(), false), "{line}");
        }
    }

    #[test]
    fn a_debug_message_of_several_lines_is_not_shown() {
        assert!(is_log(b"  #0 client-session (t4 [session] r0 i3/0)", true));
        assert!(is_log(b"", true));
        assert!(!is_log(b"  indented remote output", false));
    }

    #[test]
    fn after_an_unfinished_line_is_shown_a_log_line_is_still_recognised() {
        let (tx, rx) = mpsc::channel();
        let mut lines = Lines::new(Arc::new(Screen::new()), tx);
        lines.take(b"Name: ", Instant::now());
        lines.show_partial();
        lines.take(b"debug2: channel 0: written 6 to efd 6\r\n", Instant::now());
        assert!(lines.in_log, "the debug line is not shown");
        // Both in one read: the remote prompt, then ssh's debug line.
        lines.take(
            b"Age: debug2: channel 0: written 5 to efd 6\r\n",
            Instant::now(),
        );
        assert!(lines.in_log);
        drop(lines);
        let got: Vec<Vec<u8>> = rx.iter().map(|a| a.bytes).collect();
        assert_eq!(
            got,
            [
                &b"Name: "[..],
                b"debug2: channel 0: written 6 to efd 6",
                b"Age: ",
                b"debug2: channel 0: written 5 to efd 6"
            ]
        );
    }

    #[test]
    fn lines_split_across_reads_reach_the_analysis_whole_without_line_ends() {
        let got = analysed(&[b"debug1: Connection est", b"ablished.\r\nlast"]);
        assert_eq!(got, ["debug1: Connection established.", "last"]);
    }
}
