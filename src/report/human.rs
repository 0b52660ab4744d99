//! The human report, verdict first: the verdict, the top cause with its fixes, the facts that
//! bear on it, then the timeline and the other causes; every line fits the view's width.

use std::io::{self, Write};

use owo_colors::{OwoColorize, Style};

use super::shown::{self, Shown};
use super::text::{clip, columns, wrap, wrap_command};
use super::{connection_label, line_range, outcome_word, status_mark, why_paired, Detail, View};
use crate::rules::{Side, Step};
use crate::server::ServerLine;
use crate::timeline::{LineRef, Outcome, Phase};
use crate::verdict::{Cause, PhaseStatus, SessionVerdict, Verdict};

/// Causes shown with their explanation, checks and fixes; the rest are listed by title.
const DETAILED_CAUSES: usize = 3;
/// Fewer columns than this left for a quoted log line: it goes on a line of its own.
const MIN_QUOTE: usize = 24;
/// Server log lines listed before "… and N more".
const SERVER_LINES_SHOWN: usize = 12;
/// Where the server's lines start under a timeline row: past the mark and the phase's name.
const SERVER_INDENT: &str = "               ";
/// Warnings listed before "… and N more".
const WARNINGS_SHOWN: usize = 8;

/// Writes the report of `verdict` for a reader at a terminal `view.width` columns wide.
pub fn write(
    out: &mut dyn Write,
    verdict: &Verdict,
    view: &View,
    source: Option<&str>,
) -> io::Result<()> {
    let mut r = Report { out, view };
    let v = &verdict.decision;
    if let Some(source) = source {
        let name = clip(&format!("==> {source} <=="), view.width);
        r.line(&name, view.styles.dim)?;
    }
    r.headline(v)?;
    if view.detail == Detail::Brief {
        return r.brief(v);
    }
    r.verdict(v)?;
    if let Some(top) = v.causes.first().filter(|_| shows_causes(v)) {
        r.blank()?;
        r.cause(top, "Most likely:", true)?;
    }
    r.facts(v)?;
    r.timeline(v)?;
    if view.detail == Detail::Verbose {
        r.phase_lines(v)?;
    }
    r.server(v)?;
    r.other_causes(v)?;
    r.warnings(v)?;
    r.notes(v)?;
    r.connections(verdict)
}

/// Whether the causes say more than "it worked".
fn shows_causes(v: &SessionVerdict) -> bool {
    !(v.outcome == Outcome::Success && v.causes.iter().all(|c| c.success))
}

struct Report<'a> {
    out: &'a mut dyn Write,
    view: &'a View,
}

impl Report<'_> {
    fn line(&mut self, text: &str, style: Style) -> io::Result<()> {
        writeln!(self.out, "{}", text.style(style))
    }

    fn blank(&mut self) -> io::Result<()> {
        writeln!(self.out)
    }

    fn heading(&mut self, text: &str) -> io::Result<()> {
        self.blank()?;
        self.line(text, self.view.styles.heading)
    }

    /// `text` wrapped, the first line after `first`, the rest indented as deep as `rest`.
    fn para(&mut self, text: &str, first: &str, rest: &str, style: Style) -> io::Result<()> {
        for line in wrap(text, self.view.width, first, rest) {
            self.line(&line, style)?;
        }
        Ok(())
    }

    /// `label` then a line of the log, clipped to the width.
    fn log_line(&mut self, label: &str, line: &LineRef, style: Style) -> io::Result<()> {
        let head = format!("{label} {}: ", line.line);
        let room = self.view.width.saturating_sub(columns(&head));
        if room < MIN_QUOTE {
            self.para(head.trim_end(), "", "  ", style)?;
            let text = format!("  {}", clip(&line.text, self.view.width - 2));
            return self.line(&text, style);
        }
        let text = format!("{head}{}", clip(&line.text, room));
        self.line(&text, style)
    }

    fn headline(&mut self, v: &SessionVerdict) -> io::Result<()> {
        let s = self.view.styles;
        let to = target(v).map(|t| format!(" to {t}")).unwrap_or_default();
        let headline = format!("{}{to} — ", v.connection.program.id());
        let word = outcome_word(v);
        let style = if v.outcome == Outcome::Success {
            s.ok
        } else {
            s.failed
        };
        if columns(&headline) + columns(&word) > self.view.width {
            self.para(&headline, "", "", s.emphasis)?;
            return self.line(&word, style);
        }
        writeln!(
            self.out,
            "{}{}",
            headline.style(s.emphasis),
            word.style(style)
        )
    }

    fn verdict(&mut self, v: &SessionVerdict) -> io::Result<()> {
        let s = self.view.styles;
        self.para(&v.summary, "Verdict: ", "  ", s.emphasis)?;
        if let Some(evidence) = &v.evidence {
            let label = if v.outcome == Outcome::Failure {
                "Failing line"
            } else {
                "Stops at line"
            };
            // The decisive line in full: its end often names what failed.
            let first = format!("{label} {}: ", evidence.line);
            self.para(&evidence.text, &first, "  ", s.failed)?;
        }
        if let Some(waiting) = &v.waiting_for {
            self.para(waiting, "Waiting for: ", "  ", s.plain)?;
        }
        Ok(())
    }

    /// The top cause and its first fix on each side, nothing else.
    fn brief(&mut self, v: &SessionVerdict) -> io::Result<()> {
        let Some(top) = v.causes.first().filter(|_| shows_causes(v)) else {
            return self.para(&v.summary, "Verdict: ", "  ", self.view.styles.emphasis);
        };
        let s = self.view.styles;
        // The summary names the top cause; its id leads to `rules show`.
        let verdict = format!("{} [{}]", v.summary, top.id);
        self.para(&verdict, "Verdict: ", "  ", s.emphasis)?;
        for side in [Side::Client, Side::Server] {
            if let Some(fix) = top.advice.fixes.iter().find(|f| f.side == side) {
                let label = match side {
                    Side::Client => "Fix on the client: ",
                    Side::Server => "Fix on the server: ",
                };
                let text = first_sentence(&fix.text);
                match fix.command.as_deref() {
                    // A script of several lines would take the brief report over.
                    Some(command) if command.trim_end().contains('\n') => {
                        let text = format!("{text} (the full report has the commands)");
                        self.para(&text, label, "  ", s.plain)?;
                    }
                    Some(command) => {
                        self.para(text, label, "  ", s.plain)?;
                        self.command(command, "  $ ")?;
                    }
                    None => self.para(text, label, "  ", s.plain)?,
                }
            }
        }
        Ok(())
    }

    fn command(&mut self, command: &str, prefix: &str) -> io::Result<()> {
        for line in wrap_command(command, self.view.width, prefix) {
            self.line(&line, self.view.styles.command)?;
        }
        Ok(())
    }

    /// A cause: title, explanation, fixes on each side, then checks, the lines seen and the
    /// server log lines to look for.
    /// A cause in full; with `evidence` false (a cause below the top one, not `--verbose`),
    /// without the lines it matched, the server log lines and the man pages.
    fn cause(&mut self, cause: &Cause, label: &str, evidence: bool) -> io::Result<()> {
        let s = self.view.styles;
        let title = format!("{label} {}", cause.advice.title);
        self.para(&title, "", "  ", s.emphasis)?;
        let tag = format!(
            "[{}, {} confidence]",
            cause.id,
            cause.advice.confidence.id()
        );
        self.para(&tag, "  ", "  ", s.dim)?;
        self.para(&cause.advice.explanation, "  ", "  ", s.plain)?;
        for (kind, steps) in [
            ("Fix", &cause.advice.fixes),
            ("Check", &cause.advice.checks),
        ] {
            for side in [Side::Client, Side::Server] {
                self.steps(kind, side, steps)?;
            }
        }
        if !evidence {
            return Ok(());
        }
        for line in cause.matched_lines.iter().take(3) {
            self.log_line("  seen at line", line, s.dim)?;
        }
        if let Some(line) = &cause.server_line {
            let first = format!("  the server's log says it, at server line {}: ", line.line);
            return self.para(&line.text, &first, "    ", s.emphasis);
        }
        for log in &cause.advice.server_log {
            self.para(log, "  the server's log may say: ", "    ", s.dim)?;
        }
        if !cause.advice.references.is_empty() {
            self.para(
                &cause.advice.references.join("; "),
                "  read: ",
                "    ",
                s.dim,
            )?;
        }
        Ok(())
    }

    fn steps(&mut self, kind: &str, side: Side, steps: &[Step]) -> io::Result<()> {
        let mut steps = steps.iter().filter(|step| step.side == side).peekable();
        if steps.peek().is_none() {
            return Ok(());
        }
        let side = match side {
            Side::Client => "client",
            Side::Server => "server",
        };
        self.line(
            &format!("  {kind} on the {side}:"),
            self.view.styles.emphasis,
        )?;
        for step in steps {
            self.para(&step.text, "  - ", "    ", self.view.styles.plain)?;
            if let Some(command) = &step.command {
                self.command(command, "    $ ")?;
            }
        }
        Ok(())
    }

    fn facts(&mut self, v: &SessionVerdict) -> io::Result<()> {
        let facts = if self.view.detail == Detail::Verbose {
            shown::all(v)
        } else {
            shown::relevant(v)
        };
        if facts.is_empty() {
            return Ok(());
        }
        self.heading("What the log shows")?;
        for Shown { label, values } in &facts {
            if let [value] = values.as_slice() {
                self.para(
                    value,
                    &format!("  {label}: "),
                    "      ",
                    self.view.styles.plain,
                )?;
                continue;
            }
            self.line(&format!("  {label}:"), self.view.styles.plain)?;
            for value in values {
                self.para(value, "    ", "      ", self.view.styles.plain)?;
            }
        }
        Ok(())
    }

    fn timeline(&mut self, v: &SessionVerdict) -> io::Result<()> {
        let s = self.view.styles;
        self.heading("Timeline")?;
        let spans: Vec<String> = v
            .timeline
            .iter()
            .map(|entry| {
                let mut lines = line_range(entry.first_line, entry.last_line);
                if let Some(secs) = entry.seconds.filter(|secs| *secs >= 0.05) {
                    lines.push_str(&format!(" ({secs:.1}s)"));
                }
                lines
            })
            .collect();
        // The lines column as wide as its widest entry: the rest of the row is the key line's.
        let span_width = spans.iter().map(|l| columns(l)).max().unwrap_or(0);
        for (entry, lines) in v.timeline.iter().zip(&spans) {
            let style = match entry.status {
                PhaseStatus::Ok => s.ok,
                PhaseStatus::Failed => s.failed,
                PhaseStatus::NotReached => s.not_reached,
            };
            let row = format!(
                "  {} {:<10} {:<span_width$}  ",
                status_mark(entry.status),
                entry.phase.id(),
                lines
            );
            let room = self.view.width.saturating_sub(columns(&row));
            let detail = match (&entry.key_line, entry.status) {
                (_, PhaseStatus::NotReached) => "not reached".to_string(),
                (Some(key), _) => clip(&key.text, room),
                (None, PhaseStatus::Ok) if entry.first_line.is_none() => {
                    clip("(implied: later phases ran)", room)
                }
                (None, _) => String::new(),
            };
            let detail_style = if entry.status == PhaseStatus::Failed {
                s.failed
            } else {
                s.dim
            };
            writeln!(
                self.out,
                "{}{}",
                row.style(style),
                detail.style(detail_style)
            )?;
            self.server_lines_of(v, entry.phase)?;
        }
        if let Some(last) = &v.last_ok {
            let label = format!("Last success ({}) at line", last.description);
            let line = LineRef {
                line: last.line,
                text: last.text.clone(),
                time: None,
                millis: None,
            };
            self.log_line(&label, &line, s.plain)?;
        }
        self.timing(v)
    }

    /// Under a phase's row of the timeline, what the paired server connection logged in that
    /// phase, marked as the server's (the line that proves the top cause stands out).
    fn server_lines_of(&mut self, v: &SessionVerdict, phase: Phase) -> io::Result<()> {
        let Some(server) = v.server.as_ref().filter(|s| s.paired) else {
            return Ok(());
        };
        let s = self.view.styles;
        let proof = v.causes.first().and_then(|c| c.server_line.as_ref());
        // A phase the client's timeline has no row for (an sftp run has no session row) is shown
        // under the next row it has.
        let row_of = |line: &ServerLine| {
            let logged = line.phase()?;
            let mut rows = v.timeline.iter().map(|e| e.phase);
            rows.clone().find(|&p| p >= logged).or(rows.next_back())
        };
        let shown = server.lines.iter().take(SERVER_LINES_SHOWN);
        for line in shown.filter(|l| row_of(l) == Some(phase)) {
            let style = if proof.is_some_and(|p| p.line == line.line) {
                s.failed
            } else {
                s.dim
            };
            let text = format!("server {}: {}", line.line, line.text);
            let text = clip(&text, self.view.width.saturating_sub(SERVER_INDENT.len()));
            writeln!(self.out, "{SERVER_INDENT}{}", text.style(style))?;
        }
        Ok(())
    }

    /// The server log's connection paired with this one: which, how sure and why (its lines are
    /// in the timeline).
    fn server(&mut self, v: &SessionVerdict) -> io::Result<()> {
        let Some(server) = &v.server else {
            return Ok(());
        };
        let s = self.view.styles;
        self.heading("Server log")?;
        if !server.paired {
            let text = "No connection in the server log fits this one: nothing from it is used.";
            return self.para(text, "  ", "  ", s.plain);
        }
        let pid = server
            .pid
            .map(|p| format!("process {p}, "))
            .unwrap_or_default();
        let lines = if server.first_line == server.last_line {
            "line"
        } else {
            "lines"
        };
        let text = format!(
            "Paired with the server's connection at {pid}server {lines} {} ({}).",
            line_range(server.first_line, server.last_line),
            why_paired(server)
        );
        self.para(&text, "  ", "  ", s.plain)?;
        if server.lines.len() > SERVER_LINES_SHOWN {
            let more = format!(
                "  The timeline shows its first {SERVER_LINES_SHOWN} typed lines of {}.",
                server.lines.len()
            );
            self.line(&more, s.dim)?;
        }
        Ok(())
    }

    fn timing(&mut self, v: &SessionVerdict) -> io::Result<()> {
        let Some(timing) = &v.timing else {
            return Ok(());
        };
        let mut text = format!("set-up took {:.1}s", timing.setup_seconds);
        if let Some(step) = timing.slowest_step.as_ref().filter(|s| s.seconds >= 0.5) {
            text.push_str(&format!(
                "; the longest wait, {:.1}s in {}, came after line {}: {}",
                step.seconds,
                step.phase.id(),
                step.after.line,
                clip(&step.after.text, self.view.width)
            ));
        }
        self.para(&text, "Timing: ", "  ", self.view.styles.plain)
    }

    fn phase_lines(&mut self, v: &SessionVerdict) -> io::Result<()> {
        if v.failed_phase_lines.is_empty() {
            return Ok(());
        }
        let phase = v.failed_phase.map(|p| p.id()).unwrap_or("failed");
        self.heading(&format!("Lines of the {phase} phase"))?;
        for line in &v.failed_phase_lines {
            self.log_line(" ", line, self.view.styles.dim)?;
        }
        Ok(())
    }

    fn other_causes(&mut self, v: &SessionVerdict) -> io::Result<()> {
        if v.causes.is_empty() && v.outcome != Outcome::Success {
            self.blank()?;
            let text = "No rule matches this connection. The failing line and the timeline are \
                        what the log shows; a rule for it can be added as rules/<id>/rule.yaml \
                        (see README, \"Adding a rule\").";
            return self.para(text, "", "", self.view.styles.plain);
        }
        if v.causes.len() < 2 || !shows_causes(v) {
            return Ok(());
        }
        self.heading("Other possible causes")?;
        for (i, cause) in v.causes.iter().enumerate().skip(1) {
            if i < DETAILED_CAUSES {
                self.blank()?;
                let verbose = self.view.detail == Detail::Verbose;
                self.cause(cause, &format!("{}.", i + 1), verbose)?;
            } else {
                let title = format!("{}. {} ({})", i + 1, cause.advice.title, cause.id);
                self.para(&title, "", "   ", self.view.styles.plain)?;
            }
        }
        Ok(())
    }

    fn warnings(&mut self, v: &SessionVerdict) -> io::Result<()> {
        if v.warnings.is_empty() {
            return Ok(());
        }
        self.heading("Also worth a look")?;
        for w in v.warnings.iter().take(WARNINGS_SHOWN) {
            self.log_line("  line", w, self.view.styles.plain)?;
        }
        if v.warnings.len() > WARNINGS_SHOWN {
            let more = format!("  … and {} more", v.warnings.len() - WARNINGS_SHOWN);
            self.line(&more, self.view.styles.plain)?;
        }
        Ok(())
    }

    fn notes(&mut self, v: &SessionVerdict) -> io::Result<()> {
        if !v.notes.is_empty() {
            self.blank()?;
        }
        for note in &v.notes {
            self.para(note, "Note: ", "  ", self.view.styles.plain)?;
        }
        Ok(())
    }

    fn connections(&mut self, verdict: &Verdict) -> io::Result<()> {
        if verdict.sessions.len() < 2 {
            return Ok(());
        }
        self.heading("Connections in this input")?;
        for (i, session) in verdict.sessions.iter().enumerate() {
            let marker = if i == verdict.decided_by { "→" } else { " " };
            let label = format!(
                "{marker} #{} {}: ",
                session.connection.number,
                connection_label(session)
            );
            self.para(&session.summary, &label, "      ", self.view.styles.plain)?;
        }
        Ok(())
    }
}

/// A step's text up to the end of its first sentence.
fn first_sentence(text: &str) -> &str {
    text.find(". ").map_or(text, |end| &text[..=end])
}

fn target(v: &SessionVerdict) -> Option<String> {
    crate::verdict::target(&v.facts)
}
