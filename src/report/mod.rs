//! The reporter: prints a [`Verdict`] as human text, JSON or Markdown. It reads only the verdict.

mod human;
mod markdown;
pub mod rules;
pub mod server;
mod shown;
mod styles;
mod text;

use std::io::{self, Write};

pub use styles::Styles;

use crate::timeline::{Outcome, Role};
use crate::verdict::{PhaseStatus, ServerEvidence, SessionVerdict, Verdict};

/// The output formats of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    /// One JSON object per line: for several inputs, or a stream of results.
    Jsonl,
    Markdown,
}

/// How much of the verdict the human report shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detail {
    /// The verdict, the top cause and its first fix on each side.
    Brief,
    #[default]
    Normal,
    /// Also the lines of the failed phase and every fact.
    Verbose,
}

/// How a report is laid out for its reader.
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub styles: Styles,
    /// Columns the human report fits in.
    pub width: usize,
    pub detail: Detail,
    /// The verdict was redacted (`--redact`): the Markdown says so.
    pub redacted: bool,
}

impl View {
    /// Columns when the output is not a terminal (a file, a pipe, a snapshot).
    pub const DEFAULT_WIDTH: usize = 100;
    /// Narrower than this, indented text would have no room left.
    pub const MIN_WIDTH: usize = 40;

    /// Plain text at the default width.
    pub fn plain() -> Self {
        View {
            styles: Styles::plain(),
            width: Self::DEFAULT_WIDTH,
            detail: Detail::Normal,
            redacted: false,
        }
    }
}

/// Writes one verdict; `source` names the input when there are several.
pub fn write(
    out: &mut dyn Write,
    verdict: &Verdict,
    format: Format,
    styles: &Styles,
    source: Option<&str>,
) -> io::Result<()> {
    let view = View {
        styles: *styles,
        ..View::plain()
    };
    write_view(out, verdict, format, &view, source)
}

/// Writes one verdict laid out as `view` says.
pub fn write_view(
    out: &mut dyn Write,
    verdict: &Verdict,
    format: Format,
    view: &View,
    source: Option<&str>,
) -> io::Result<()> {
    match format {
        Format::Human => human::write(out, verdict, view, source),
        Format::Markdown => markdown::write(out, verdict, view, source),
        Format::Json => write_json(out, verdict),
        Format::Jsonl => write_json_line(out, verdict),
    }
}

/// One JSON object on one line.
pub fn write_json_line<T: serde::Serialize + ?Sized>(
    out: &mut dyn Write,
    value: &T,
) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(json_io_error)?;
    writeln!(out)
}

/// Pretty JSON and a newline.
pub fn write_json<T: serde::Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(json_io_error)?;
    writeln!(out)
}

/// A JSON writing error as an I/O error that keeps its kind (a closed pipe stays `BrokenPipe`).
fn json_io_error(e: serde_json::Error) -> io::Error {
    match e.io_error_kind() {
        Some(kind) => io::Error::new(kind, e),
        None => io::Error::other(e),
    }
}

/// The one-word result shown in headings.
fn outcome_word(verdict: &SessionVerdict) -> String {
    match (verdict.outcome, verdict.failed_phase) {
        (Outcome::Success, _) => "OK".to_string(),
        (Outcome::Failure, Some(p)) => format!("FAILED in {}", p.id()),
        (Outcome::Failure, None) => "FAILED".to_string(),
        (Outcome::Incomplete, Some(p)) => format!("INCOMPLETE: stops in {}", p.id()),
        (Outcome::Incomplete, None) => "INCOMPLETE".to_string(),
    }
}

/// One connection of several in an input: `lines 27–209 (jump host)`.
fn connection_label(session: &SessionVerdict) -> String {
    let c = &session.connection;
    let role = match c.role {
        Role::Direct => "",
        Role::JumpHost => " (jump host)",
    };
    format!(
        "lines {}{role}",
        line_range(Some(c.first_line), Some(c.last_line))
    )
}

/// Why a server connection was paired, as the "Server log" section says it: `high sureness:
/// key, user and port agree; 3 fit as well, the latest chosen`.
fn why_paired(server: &ServerEvidence) -> String {
    let sureness = server.sureness.map_or("", |s| s.id());
    let mut why = format!("{sureness} sureness");
    if let Some((last, rest)) = server.agreed.split_last() {
        let what = match rest {
            [] => format!("{last} agrees"),
            _ => format!("{} and {last} agree", rest.join(", ")),
        };
        why.push_str(&format!(": {what}"));
    }
    if server.equals > 0 {
        let n = server.equals + 1;
        let which = match server.agreed.contains(&"outcome") {
            true => "the latest whose outcome agrees",
            false => "the latest",
        };
        why.push_str(&format!("; {n} fit as well, {which} chosen"));
    }
    why
}

/// `12–40`, `12`, or nothing.
fn line_range(first: Option<u64>, last: Option<u64>) -> String {
    match (first, last) {
        (Some(a), Some(b)) if a != b => format!("{a}–{b}"),
        (Some(a), _) => a.to_string(),
        _ => String::new(),
    }
}

fn status_mark(status: PhaseStatus) -> &'static str {
    match status {
        PhaseStatus::Ok => "✓",
        PhaseStatus::Failed => "✗",
        PhaseStatus::NotReached => "·",
    }
}
