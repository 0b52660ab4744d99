//! The Markdown report: the same verdict, ready to paste into a ticket or a forum post.

use std::io::{self, Write};

use super::{connection_label, line_range, outcome_word, status_mark};
use crate::rules::Side;
use crate::verdict::{SessionVerdict, Verdict};

pub fn write(out: &mut dyn Write, verdict: &Verdict, source: Option<&str>) -> io::Result<()> {
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
    writeln!(out, "| | phase | lines | key line |")?;
    writeln!(out, "|---|---|---|---|")?;
    for entry in &v.timeline {
        let key = entry
            .key_line
            .as_ref()
            .map(|l| code(&l.text))
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
    writeln!(out)?;
    if let Some(last) = &v.last_ok {
        writeln!(
            out,
            "- **Last success:** line {} ({}): {}",
            last.line,
            last.description,
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
    if !v.facts.is_empty() {
        writeln!(out)?;
        writeln!(out, "<details><summary>Facts</summary>")?;
        writeln!(out)?;
        for (fact, _) in v.facts.iter() {
            let value = v.facts.text(fact).unwrap_or_default();
            writeln!(out, "- {}: {}", fact.name(), code(&value))?;
        }
        writeln!(out)?;
        writeln!(out, "</details>")?;
    }
    for note in &v.notes {
        writeln!(out)?;
        writeln!(out, "> {}", escape(note))?;
    }
    if verdict.sessions.len() > 1 {
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
                "{}. {}{marker}: {}",
                i + 1,
                connection_label(session),
                escape(&session.summary)
            )?;
        }
    }
    Ok(())
}

fn write_causes(out: &mut dyn Write, v: &SessionVerdict) -> io::Result<()> {
    if v.causes.is_empty() || v.causes.iter().all(|c| c.id == "ok") {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "#### Likely causes")?;
    for (i, cause) in v.causes.iter().enumerate() {
        let confidence = cause.confidence.id();
        writeln!(out)?;
        writeln!(
            out,
            "{}. **{}** (`{}`, {confidence} confidence)",
            i + 1,
            escape(&cause.title),
            cause.id
        )?;
        writeln!(out)?;
        writeln!(out, "   {}", escape(&cause.explanation))?;
        for (side, name) in [(Side::Client, "client"), (Side::Server, "server")] {
            for (label, steps) in [("check", &cause.checks), ("fix", &cause.fixes)] {
                for step in steps.iter().filter(|s| s.side == side) {
                    let command = step
                        .command
                        .as_deref()
                        .map(|c| format!(": {}", code(c)))
                        .unwrap_or_default();
                    writeln!(out, "   - {name} {label}: {}{command}", escape(&step.text))?;
                }
            }
        }
        for log in &cause.server_log {
            writeln!(out, "   - server log: {}", code(log))?;
        }
    }
    Ok(())
}

/// Inline code that survives backticks and pipes inside the text: the fence is one backtick
/// longer than the longest run of backticks in it.
fn code(text: &str) -> String {
    let text = text.replace('|', "\\|").replace('\n', " ");
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    if longest_run == 0 {
        format!("{fence}{text}{fence}")
    } else {
        format!("{fence} {text} {fence}")
    }
}

/// Markdown-significant characters of prose taken from a log or a rule.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '*' | '_' | '<' | '>' | '[' | ']' | '|' | '#') {
            out.push('\\');
        }
        out.push(if c == '\n' { ' ' } else { c });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::code;

    #[test]
    fn inline_code_survives_backticks_and_pipes() {
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("x `y` z"), "`` x `y` z ``");
        assert_eq!(code("ends with ``"), "``` ends with `` ```");
    }
}
