//! The user's terminal (vvvexplain's stderr) as live mode shares it with the client: what the
//! client prints passes through here, and the status line is cleared before anything is written
//! and drawn only on an empty line after the client has been quiet for a while.

use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long the client must have printed nothing before a status line may be drawn.
const QUIET: Duration = Duration::from_millis(200);
/// ssh writes what precedes a question (a banner, a warning) before it starts its askpass; the
/// relay has passed it on once the stream has been still this long (longer than the relay holds
/// an unfinished line). Only askpass (unix) asks.
#[cfg(unix)]
const BEFORE_A_QUESTION: Duration = Duration::from_millis(80);

pub struct Screen {
    /// stderr is a terminal: only then is a status line drawn.
    terminal: bool,
    state: Mutex<State>,
}

struct State {
    status_shown: bool,
    /// A question of the client's is on the terminal, waiting for the user.
    prompting: bool,
    /// The last byte written to stderr ended a line (or nothing was written yet).
    at_line_start: bool,
    last_output: Instant,
}

impl Screen {
    pub fn new() -> Self {
        Screen {
            terminal: io::stderr().is_terminal(),
            state: Mutex::new(State {
                status_shown: false,
                prompting: false,
                at_line_start: true,
                last_output: Instant::now(),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The client printed something (shown or not): no status line now, nor until it is quiet.
    pub fn client_spoke(&self) {
        let mut state = self.state();
        state.last_output = Instant::now();
        clear(&mut state);
    }

    /// Writes the client's bytes as they are, after clearing the status line.
    pub fn pass_through(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut state = self.state();
        clear(&mut state);
        let mut err = io::stderr().lock();
        let _ = err.write_all(bytes);
        let _ = err.flush();
        state.at_line_start = bytes.ends_with(b"\n");
        state.last_output = Instant::now();
    }

    /// Writes vvvexplain's own lines, starting on a line of their own.
    pub fn lines(&self, text: &str) {
        let mut state = self.state();
        clear(&mut state);
        let mut err = io::stderr().lock();
        if !state.at_line_start {
            let _ = err.write_all(b"\n");
        }
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
        state.at_line_start = text.ends_with('\n');
    }

    /// Draws the status line if the terminal's cursor is on an empty line and the client has
    /// been quiet; `false` when it was not drawn.
    pub fn status(&self, text: &str) -> bool {
        let mut state = self.state();
        if !self.terminal
            || state.prompting
            || !state.at_line_start
            || state.last_output.elapsed() < QUIET
        {
            clear(&mut state);
            return false;
        }
        let mut err = io::stderr().lock();
        let _ = write!(err, "\r\x1b[K{text}");
        let _ = err.flush();
        state.status_shown = true;
        true
    }

    /// Asks the user a question of the client's with `read`, once what the client printed
    /// before it asked has reached the terminal; no status line until it is answered.
    #[cfg(unix)]
    pub fn ask<T>(&self, read: impl FnOnce() -> T) -> T {
        let asked = Instant::now();
        while self.state().last_output.elapsed() < BEFORE_A_QUESTION && asked.elapsed() < QUIET {
            std::thread::sleep(Duration::from_millis(5));
        }
        {
            let mut state = self.state();
            clear(&mut state);
            state.prompting = true;
        }
        let answer = read();
        let mut state = self.state();
        state.prompting = false;
        state.at_line_start = true;
        state.last_output = Instant::now();
        answer
    }

    pub fn prompting(&self) -> bool {
        self.state().prompting
    }

    pub fn clear_status(&self) {
        clear(&mut self.state());
    }
}

fn clear(state: &mut State) {
    if state.status_shown {
        let mut err = io::stderr().lock();
        let _ = err.write_all(b"\r\x1b[K");
        let _ = err.flush();
        state.status_shown = false;
    }
}
