//! The reporter: prints a [`Verdict`] as human text, JSON or Markdown. It reads only the verdict.

mod human;
mod markdown;
mod styles;

use std::io::{self, Write};

pub use styles::Styles;

use crate::timeline::{Outcome, Role};
use crate::verdict::{PhaseStatus, SessionVerdict, Verdict};

/// The output formats of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Markdown,
}

/// Writes one verdict; `source` names the input when there are several.
pub fn write(
    out: &mut dyn Write,
    verdict: &Verdict,
    format: Format,
    styles: &Styles,
    source: Option<&str>,
) -> io::Result<()> {
    match format {
        Format::Human => human::write(out, verdict, styles, source),
        Format::Markdown => markdown::write(out, verdict, source),
        Format::Json => write_json(out, verdict),
    }
}

/// Pretty JSON and a newline; an I/O error keeps its kind (a closed pipe stays `BrokenPipe`).
pub fn write_json<T: serde::Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(|e| match e.io_error_kind() {
        Some(kind) => io::Error::new(kind, e),
        None => io::Error::other(e),
    })?;
    writeln!(out)
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

/// A line cut to `max` characters for display, marked with `…` if cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}
