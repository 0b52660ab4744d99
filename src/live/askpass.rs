//! ssh's questions (host key, password, passphrase, keyboard-interactive) asked through the
//! wrapper: ssh runs vvvexplain as its `SSH_ASKPASS` (`SSH_ASKPASS_REQUIRE=force`, OpenSSH 8.4+),
//! which hands the prompt to the wrapper over a private socket. The wrapper shows it on the
//! terminal after everything the client printed before it, exactly as ssh words it, with no
//! status line around, and reads the answer as ssh would (without echo, except for the host key
//! question's yes/no).

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use super::screen::Screen;
use crate::event::{self, Event};

/// Set in the client's environment: the socket vvvexplain, started as ssh's askpass, asks through.
const SOCKET_ENV: &str = "VVVEXPLAIN_ASKPASS_SOCKET";

/// The terminal's settings while an answer is read without echo, to restore if the client is
/// interrupted in the middle (Ctrl-C ends ssh, not the wrapper's read).
static HIDDEN_ECHO: Mutex<Option<(i32, libc::termios)>> = Mutex::new(None);

/// Started by ssh as its askpass: passes the prompt to the wrapper, prints the answer for ssh and
/// returns the exit code (1: no answer, as when the user cancels). `None` when started normally.
pub fn shim() -> Option<i32> {
    let socket = std::env::var_os(SOCKET_ENV)?;
    let prompt = std::env::args_os().nth(1).unwrap_or_default();
    Some(match ask_wrapper(socket, prompt) {
        Ok(Some(answer)) => {
            let mut out = io::stdout().lock();
            let ok = writeln!(out, "{answer}").and_then(|_| out.flush()).is_ok();
            i32::from(!ok)
        }
        _ => 1,
    })
}

fn ask_wrapper(socket: OsString, prompt: OsString) -> io::Result<Option<String>> {
    let mut stream = UnixStream::connect(socket)?;
    stream.write_all(prompt.as_encoded_bytes())?;
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply)?;
    Ok(match reply.split_first() {
        Some((b'y', answer)) => Some(String::from_utf8_lossy(answer).into_owned()),
        _ => None,
    })
}

/// The wrapper's end: a private directory with the socket, removed when dropped.
pub struct Askpass {
    dir: PathBuf,
}

impl Askpass {
    /// Routes the client's questions through the wrapper when there is a terminal to ask on and
    /// the user did not choose how ssh asks (`SSH_ASKPASS_REQUIRE`); `None` otherwise.
    pub fn start(command: &mut Command, screen: Arc<Screen>) -> Option<Askpass> {
        if std::env::var_os("SSH_ASKPASS_REQUIRE").is_some() || File::open("/dev/tty").is_err() {
            return None;
        }
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "vvvexplain-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::SeqCst)
        ));
        fs::DirBuilder::new().mode(0o700).create(&dir).ok()?;
        let askpass = Askpass { dir };
        let socket = askpass.dir.join("askpass");
        let listener = UnixListener::bind(&socket).ok()?;
        let me = std::env::current_exe().ok()?;
        command
            .env("SSH_ASKPASS", me)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env(SOCKET_ENV, &socket);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                answer(stream, &screen);
            }
        });
        Some(askpass)
    }
}

impl Drop for Askpass {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Puts the terminal back as it was if the client ended in the middle of a question.
pub fn restore_terminal() {
    let saved = HIDDEN_ECHO.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some((fd, termios)) = saved {
        // SAFETY: fd is the wrapper's /dev/tty, still open (its reader thread holds it).
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &termios) };
    }
}

fn answer(mut stream: UnixStream, screen: &Screen) {
    let mut prompt = Vec::new();
    if stream.read_to_end(&mut prompt).is_err() {
        return;
    }
    let prompt = String::from_utf8_lossy(&prompt);
    let first_line = prompt.lines().next().unwrap_or_default();
    let echo = matches!(
        event::classify(first_line).event,
        Event::HostAuthenticityUnknown
    );
    let reply = match screen.ask(|| read_answer(&prompt, echo)) {
        Ok(answer) => [b"y", answer.as_bytes()].concat(),
        Err(_) => b"n".to_vec(),
    };
    let _ = stream.write_all(&reply);
}

/// Shows the prompt on the terminal and reads one line, as ssh's own prompt does.
fn read_answer(prompt: &str, echo: bool) -> io::Result<String> {
    let mut tty = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open("/dev/tty")?;
    tty.write_all(prompt.as_bytes())?;
    tty.flush()?;
    if !echo {
        hide_echo(&tty);
    }
    let mut line = String::new();
    let read = BufReader::new(&tty).read_line(&mut line);
    if !echo {
        restore_terminal();
        // The Enter key was not echoed either.
        let _ = tty.write_all(b"\n");
    }
    if read? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

fn hide_echo(tty: &File) {
    let fd = tty.as_raw_fd();
    // SAFETY: termios is plain data; tcgetattr fills it for an open descriptor.
    let mut termios: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut termios) } != 0 {
        return;
    }
    *HIDDEN_ECHO.lock().unwrap_or_else(|e| e.into_inner()) = Some((fd, termios));
    let mut hidden = termios;
    hidden.c_lflag &= !(libc::ECHO | libc::ECHONL);
    // SAFETY: as above; the settings come from tcgetattr.
    unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &hidden) };
}
