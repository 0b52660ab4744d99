//! The human report: a compact timeline, the verdict in one sentence, then the ranked causes with
//! the checks and fixes for each side.

use std::io::{self, Write};

use owo_colors::OwoColorize;

use super::{clip, connection_label, line_range, outcome_word, status_mark, Styles};
use crate::rules::Side;
use crate::timeline::Outcome;
use crate::verdict::{Cause, PhaseStatus, SessionVerdict, Verdict};

/// Causes shown with their explanation, checks and fixes; the rest are listed by title.
const DETAILED_CAUSES: usize = 3;
const WIDTH: usize = 100;

pub fn write(
    out: &mut dyn Write,
    verdict: &Verdict,
    s: &Styles,
    source: Option<&str>,
) -> io::Result<()> {
    let v = &verdict.decision;
    if let Some(source) = source {
        writeln!(out, "{}", format!("==> {source} <==").style(s.dim))?;
    }
    let headline = format!(
        "{} {}",
        v.connection.program.id(),
        target(v).map(|t| format!("to {t} ")).unwrap_or_default()
    );
    let word_style = match v.outcome {
        Outcome::Success => s.ok,
        _ => s.failed,
    };
    writeln!(
        out,
        "{}— {}",
        headline.style(s.emphasis),
        outcome_word(v).style(word_style)
    )?;
    writeln!(out)?;
    write_timeline(out, v, s)?;
    writeln!(out)?;
    writeln!(out, "{} {}", "Verdict:".style(s.emphasis), v.summary)?;
    // The command run, as typed at a prompt in a pasted session (or as 10.x logs it).
    if let Some(command) = v.facts.get("command_line") {
        let command = clip(command, WIDTH);
        writeln!(out, "{} {command}", "Command:".style(s.emphasis))?;
    }
    if let Some(last) = &v.last_ok {
        writeln!(
            out,
            "{} line {}, {}: {}",
            "Last success:".style(s.emphasis),
            last.line,
            last.description,
            clip(&last.text, WIDTH)
        )?;
    }
    if let Some(evidence) = &v.evidence {
        let label = if v.outcome == Outcome::Failure {
            "Failing line:"
        } else {
            "Stops at:"
        };
        writeln!(
            out,
            "{} line {}: {}",
            label.style(s.emphasis),
            evidence.line,
            clip(&evidence.text, WIDTH)
        )?;
    }
    if let Some(waiting) = &v.waiting_for {
        writeln!(out, "{} {waiting}", "Waiting for:".style(s.emphasis))?;
    }
    if let Some(timing) = &v.timing {
        let mut line = format!("set-up took {:.1}s", timing.setup_seconds);
        if let Some(step) = timing
            .slowest_step
            .as_ref()
            .filter(|step| step.seconds >= 0.5)
        {
            line.push_str(&format!(
                "; the longest wait, {:.1}s in {}, came after line {}: {}",
                step.seconds,
                step.phase.id(),
                step.after.line,
                clip(&step.after.text, WIDTH - 40)
            ));
        }
        writeln!(out, "{} {line}", "Timing:".style(s.emphasis))?;
    }
    write_causes(out, v, s)?;
    if !v.warnings.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", "Also worth a look".style(s.heading))?;
        for w in v.warnings.iter().take(8) {
            writeln!(out, "  line {}: {}", w.line, clip(&w.text, WIDTH))?;
        }
        if v.warnings.len() > 8 {
            writeln!(out, "  … and {} more", v.warnings.len() - 8)?;
        }
    }
    if !v.notes.is_empty() {
        writeln!(out)?;
        for note in &v.notes {
            wrap(out, "Note: ", note)?;
        }
    }
    if verdict.sessions.len() > 1 {
        writeln!(out)?;
        writeln!(out, "{}", "Connections in this input".style(s.heading))?;
        for (i, session) in verdict.sessions.iter().enumerate() {
            let marker = if i == verdict.decided_by { "→" } else { " " };
            writeln!(
                out,
                "{marker} #{} {}: {}",
                i + 1,
                connection_label(session),
                session.summary
            )?;
        }
    }
    Ok(())
}

fn target(v: &SessionVerdict) -> Option<String> {
    let fact = |key: &str| v.facts.get(key).map(String::as_str);
    crate::verdict::target(fact("host"), fact("port"))
}

fn write_timeline(out: &mut dyn Write, v: &SessionVerdict, s: &Styles) -> io::Result<()> {
    for entry in &v.timeline {
        let style = match entry.status {
            PhaseStatus::Ok => s.ok,
            PhaseStatus::Failed => s.failed,
            PhaseStatus::NotReached => s.not_reached,
        };
        let lines = line_range(entry.first_line, entry.last_line);
        let detail = match (&entry.key_line, entry.status) {
            (_, PhaseStatus::NotReached) => "not reached".to_string(),
            (Some(key), _) => clip(&key.text, 72),
            (None, PhaseStatus::Ok) if entry.first_line.is_none() => {
                "(implied: later phases ran)".to_string()
            }
            (None, _) => String::new(),
        };
        let lines = match entry.seconds {
            Some(secs) if secs >= 0.05 => format!("{lines} ({secs:.1}s)"),
            _ => lines,
        };
        let row = format!(
            "  {} {:<10} {:<16} ",
            status_mark(entry.status),
            entry.phase.id(),
            lines
        );
        writeln!(
            out,
            "{}{}",
            row.style(style),
            detail.style(if entry.status == PhaseStatus::Failed {
                s.failed
            } else {
                s.dim
            })
        )?;
    }
    Ok(())
}

fn write_causes(out: &mut dyn Write, v: &SessionVerdict, s: &Styles) -> io::Result<()> {
    if v.causes.is_empty() {
        if v.outcome != Outcome::Success {
            writeln!(out)?;
            writeln!(out, "No rule matches this connection. The failing line above and the timeline are what the log shows;")?;
            writeln!(out, "a rule for it can be added as rules/<id>/rule.yaml (see README, \"Adding a rule\").")?;
        }
        return Ok(());
    }
    if v.outcome == Outcome::Success && v.causes.len() == 1 && v.causes[0].id == "ok" {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "{}", "Likely causes".style(s.heading))?;
    for (i, cause) in v.causes.iter().enumerate() {
        if i < DETAILED_CAUSES {
            write_cause(out, i + 1, cause, s)?;
        } else {
            writeln!(
                out,
                "{}. {} [{}]",
                i + 1,
                cause.title,
                cause.id.style(s.dim)
            )?;
        }
    }
    Ok(())
}

fn write_cause(out: &mut dyn Write, rank: usize, cause: &Cause, s: &Styles) -> io::Result<()> {
    writeln!(out)?;
    let confidence = cause.confidence.id();
    writeln!(
        out,
        "{} {}  {}",
        format!("{rank}.").style(s.emphasis),
        cause.title.style(s.emphasis),
        format!("[{}, {confidence} confidence]", cause.id).style(s.dim)
    )?;
    wrap(out, "   ", &cause.explanation)?;
    for line in cause.matched_lines.iter().take(3) {
        writeln!(
            out,
            "   {} line {}: {}",
            "seen:".style(s.dim),
            line.line,
            clip(&line.text, WIDTH - 20)
        )?;
    }
    for side in [Side::Client, Side::Server] {
        let checks: Vec<_> = cause.checks.iter().filter(|c| c.side == side).collect();
        let fixes: Vec<_> = cause.fixes.iter().filter(|c| c.side == side).collect();
        let logs = if side == Side::Server {
            cause.server_log.as_slice()
        } else {
            &[]
        };
        if checks.is_empty() && fixes.is_empty() && logs.is_empty() {
            continue;
        }
        let heading = if side == Side::Client {
            "On the client"
        } else {
            "On the server"
        };
        writeln!(out, "   {}", heading.style(s.emphasis))?;
        for (label, steps) in [("check", &checks), ("fix", &fixes)] {
            for step in steps.iter() {
                wrap(out, &format!("     {label:<6}"), &step.text)?;
                if let Some(command) = &step.command {
                    // One prompt per block: a multi-line command is pasted as a whole.
                    for (i, line) in command.lines().enumerate() {
                        let prompt = if i == 0 { "$" } else { " " };
                        writeln!(
                            out,
                            "           {}",
                            format!("{prompt} {line}").style(s.command)
                        )?;
                    }
                }
            }
        }
        for log in logs {
            writeln!(
                out,
                "     {:<6}{}",
                "log",
                format!("sshd: {log}").style(s.dim)
            )?;
        }
    }
    if !cause.references.is_empty() {
        writeln!(
            out,
            "   {} {}",
            "see:".style(s.dim),
            cause.references.join("; ")
        )?;
    }
    Ok(())
}

/// Writes `text` wrapped at [`WIDTH`], the first line after `prefix`, the rest indented as deep.
fn wrap(out: &mut dyn Write, prefix: &str, text: &str) -> io::Result<()> {
    let indent = " ".repeat(prefix.chars().count());
    let mut line = prefix.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            writeln!(out, "{line}")?;
            line = indent.clone();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    writeln!(out, "{line}")
}
