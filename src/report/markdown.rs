//! The Markdown report: the same verdict, ready to paste into a ticket or a forum post. It is
//! CommonMark with GitHub's tables: commands in fenced blocks, log lines in code spans.

use std::io::{self, Write};

use super::shown;
use super::{connection_label, line_range, outcome_word, status_mark, why_paired, View};
use crate::rules::Side;
use crate::verdict::{Cause, SessionVerdict, Verdict};

pub fn write(
    out: &mut dyn Write,
    verdict: &Verdict,
    view: &View,
    source: Option<&str>,
) -> io::Result<()> {
    let v = &verdict.decision;
    let source = source
        .map(|s| format!(" ({})", code(s)))
        .unwrap_or_default();
    writeln!(
        out,
        "### vvvexplain: {} — {}{source}",
        v.connection.program.id(),
        outcome_word(v)
    )?;
    writeln!(out)?;
    writeln!(out, "**Verdict:** {}", escape(&v.summary))?;
    writeln!(out)?;
    if let Some(version) = &v.connection.client_version {
        writeln!(
            out,
            "Client: {} · verbosity -{}",
            code(version),
            "v".repeat(usize::from(v.connection.verbosity))
        )?;
        writeln!(out)?;
    }
    write_timeline(out, v)?;
    if let Some(last) = &v.last_ok {
        writeln!(
            out,
            "- **Last success:** line {} ({}): {}",
            last.line,
            escape(last.description),
            code(&last.text)
        )?;
    }
    if let Some(evidence) = &v.evidence {
        writeln!(
            out,
            "- **Decisive line:** line {}: {}",
            evidence.line,
            code(&evidence.text)
        )?;
    }
    if let Some(waiting) = &v.waiting_for {
        writeln!(out, "- **Waiting for:** {}", escape(waiting))?;
    }
    write_causes(out, v)?;
    write_server(out, v)?;
    write_facts(out, v)?;
    for note in &v.notes {
        writeln!(out)?;
        writeln!(out, "> {}", escape(note))?;
    }
    if view.redacted {
        writeln!(out)?;
        writeln!(
            out,
            "> Redacted by `vvvexplain --redact`: host names, addresses, user names, home paths, \
             fingerprints and key comments are replaced with placeholders (host-1, ip-1, user-1, …)."
        )?;
    }
    write_connections(out, verdict)
}

fn write_timeline(out: &mut dyn Write, v: &SessionVerdict) -> io::Result<()> {
    writeln!(out, "| | phase | lines | key line |")?;
    writeln!(out, "|---|---|---|---|")?;
    for entry in &v.timeline {
        let key = entry
            .key_line
            .as_ref()
            .map(|l| cell(&code(&l.text)))
            .unwrap_or_default();
        writeln!(
            out,
            "| {} | {} | {} | {} |",
            status_mark(entry.status),
            entry.phase.id(),
            line_range(entry.first_line, entry.last_line),
            key
        )?;
    }
    writeln!(out)
}

fn write_causes(out: &mut dyn Write, v: &SessionVerdict) -> io::Result<()> {
    if v.causes.is_empty() || v.causes.iter().all(|c| c.success) {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "#### Likely causes")?;
    for (i, cause) in v.causes.iter().enumerate() {
        write_cause(out, i + 1, cause)?;
    }
    Ok(())
}

fn write_cause(out: &mut dyn Write, rank: usize, cause: &Cause) -> io::Result<()> {
    let confidence = cause.advice.confidence.id();
    writeln!(out)?;
    writeln!(
        out,
        "{rank}. **{}** (`{}`, {confidence} confidence)",
        escape(&cause.advice.title),
        cause.id
    )?;
    writeln!(out)?;
    writeln!(out, "   {}", escape(&cause.advice.explanation))?;
    writeln!(out)?;
    for (side, name) in [(Side::Client, "client"), (Side::Server, "server")] {
        for (label, steps) in [
            ("fix", &cause.advice.fixes),
            ("check", &cause.advice.checks),
        ] {
            for step in steps.iter().filter(|s| s.side == side) {
                writeln!(out, "   - {name} {label}: {}", escape(&step.text))?;
                if let Some(command) = &step.command {
                    // A block inside a list item: indented as deep as the item's text.
                    writeln!(out)?;
                    for line in fenced(command, "sh").lines() {
                        writeln!(out, "     {line}")?;
                    }
                    writeln!(out)?;
                }
            }
        }
    }
    if let Some(line) = &cause.server_line {
        let text = code(&line.text);
        return writeln!(
            out,
            "   - the server's log says it, at server line {}: {text}",
            line.line
        );
    }
    for log in &cause.advice.server_log {
        writeln!(out, "   - the server's log may say: {}", code(log))?;
    }
    Ok(())
}

/// The server log's connection paired with this one (`--server-log`).
fn write_server(out: &mut dyn Write, v: &SessionVerdict) -> io::Result<()> {
    let Some(server) = &v.server else {
        return Ok(());
    };
    writeln!(out)?;
    writeln!(out, "#### Server log")?;
    writeln!(out)?;
    if !server.paired {
        return writeln!(
            out,
            "No connection in the server log fits this one: nothing from it is used."
        );
    }
    let pid = server
        .pid
        .map(|p| format!("process {p}, "))
        .unwrap_or_default();
    writeln!(
        out,
        "Paired with the server's connection at {pid}server lines {} ({}).",
        line_range(server.first_line, server.last_line),
        why_paired(server)
    )?;
    writeln!(out)?;
    for line in &server.lines {
        writeln!(out, "- server {}: {}", line.line, code(&line.text))?;
    }
    Ok(())
}

fn write_facts(out: &mut dyn Write, v: &SessionVerdict) -> io::Result<()> {
    let facts = shown::all(v);
    if facts.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "<details><summary>What the log shows</summary>")?;
    writeln!(out)?;
    for fact in &facts {
        let values: Vec<String> = fact.values.iter().map(|v| code(v)).collect();
        writeln!(out, "- {}: {}", escape(&fact.label), values.join(", "))?;
    }
    writeln!(out)?;
    writeln!(out, "</details>")
}

fn write_connections(out: &mut dyn Write, verdict: &Verdict) -> io::Result<()> {
    if verdict.sessions.len() < 2 {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "#### Connections in this input")?;
    writeln!(out)?;
    for (i, session) in verdict.sessions.iter().enumerate() {
        let marker = if i == verdict.decided_by {
            " (the verdict above)"
        } else {
            ""
        };
        writeln!(
            out,
            "- #{} {}{marker}: {}",
            session.connection.number,
            connection_label(session),
            escape(&session.summary)
        )?;
    }
    Ok(())
}

/// Inline code on one line that survives backticks in the text: the fence is one backtick
/// longer than the longest run of backticks in it.
fn code(text: &str) -> String {
    let text = text.replace('\n', " ");
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    if longest_run == 0 {
        format!("{fence}{text}{fence}")
    } else {
        format!("{fence} {text} {fence}")
    }
}

/// Text inside a table cell: GitHub's tables split cells at `|` before anything else, even in
/// code, and give back `\|` as `|`.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// A fenced code block (ending in a newline) whose fence no line of `text` can close.
pub(super) fn fenced(text: &str, info: &str) -> String {
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest_run + 1).max(3));
    format!("{fence}{info}\n{}\n{fence}\n", text.trim_end_matches('\n'))
}

/// Markdown-significant characters of prose taken from a log or a rule.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '<' | '>' | '[' | ']' | '|' | '#' | '`'
        ) {
            out.push('\\');
        }
        out.push(if c == '\n' { ' ' } else { c });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_code_survives_backticks_and_pipes() {
        assert_eq!(code("a|b"), "`a|b`");
        assert_eq!(cell(&code("a|b")), "`a\\|b`");
        assert_eq!(code("x `y` z"), "`` x `y` z ``");
        assert_eq!(code("ends with ``"), "``` ends with `` ```");
    }

    #[test]
    fn fences_outlast_the_backticks_inside() {
        assert_eq!(fenced("a\nb", "sh"), "```sh\na\nb\n```\n");
        assert_eq!(fenced("echo ````", ""), "`````\necho ````\n`````\n");
    }
}
