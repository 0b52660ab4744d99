//! Rules as their readers see them: `rules show ID` on a terminal, and the rules reference
//! (`docs/rules.md`) generated from the rule files.

use std::io::{self, Write};

use serde::Serialize;

use super::markdown::{escape, fenced};
use super::text::{wrap, wrap_command};
use crate::rules::{Rule, Side, Step};

/// One rule in `rules list --format json`.
#[derive(Debug, Serialize)]
pub struct ListedRule<'a> {
    pub id: &'a str,
    pub phase: &'static str,
    pub confidence: &'static str,
    pub title: &'a str,
}

impl<'a> From<&'a Rule> for ListedRule<'a> {
    fn from(rule: &'a Rule) -> Self {
        ListedRule {
            id: &rule.id,
            phase: rule.phase.id(),
            confidence: rule.advice.confidence.id(),
            title: &rule.advice.title,
        }
    }
}

/// Where a rule's fixture is, as the reference shows it: `rules/<id>/fixtures/…`.
fn fixture_path(rule: &Rule, fixture: &std::path::Path) -> String {
    let relative = format!("rules/{}/{}", rule.id, fixture.display());
    // `../ok/fixtures/x.log` from `rules/<id>/` is `rules/ok/fixtures/x.log`.
    let mut parts: Vec<&str> = Vec::new();
    for part in relative.split('/') {
        match part {
            ".." => {
                parts.pop();
            }
            "." => {}
            _ => parts.push(part),
        }
    }
    parts.join("/")
}

/// A rule's text with its placeholders said in words (`<user name>`), as no log fills them here.
fn words(text: &str) -> String {
    crate::verdict::fill(text, &crate::facts::Facts::default())
}

fn side_name(side: Side) -> &'static str {
    match side {
        Side::Client => "client",
        Side::Server => "server",
    }
}

/// `rules show ID`: everything the rule says, wrapped to `width`.
pub fn write_text(out: &mut dyn Write, rule: &Rule, width: usize) -> io::Result<()> {
    let para = |out: &mut dyn Write, text: &str, first: &str, rest: &str| {
        wrap(text, width, first, rest)
            .iter()
            .try_for_each(|line| writeln!(out, "{line}"))
    };
    para(out, &rule.advice.title, "", "")?;
    let tag = format!(
        "{} · fails in {} · {} confidence",
        rule.id,
        rule.phase.id(),
        rule.advice.confidence.id()
    );
    para(out, &tag, "", "")?;
    if let Some(proven) = &rule.proven_title {
        para(
            out,
            &format!("When the server's log proves it: {}", words(proven)),
            "",
            "",
        )?;
    }
    writeln!(out)?;
    para(out, &words(&rule.advice.explanation), "", "")?;
    for (kind, steps) in [
        ("Checks", &rule.advice.checks),
        ("Fixes", &rule.advice.fixes),
    ] {
        if steps.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "{kind}")?;
        for step in steps.iter() {
            let first = format!("- on the {}: ", side_name(step.side));
            para(out, &words(&step.text), &first, "  ")?;
            if let Some(command) = &step.command {
                for line in wrap_command(&words(command), width, "    $ ") {
                    writeln!(out, "{line}")?;
                }
            }
        }
    }
    let lists = [
        ("The server's log may say", &rule.advice.server_log),
        ("Read", &rule.advice.references),
    ];
    for (heading, items) in lists {
        if items.is_empty() {
            continue;
        }
        writeln!(out)?;
        writeln!(out, "{heading}")?;
        for item in items.iter() {
            para(out, item, "- ", "  ")?;
        }
    }
    let fixtures: Vec<String> = rule
        .tests
        .iter()
        .map(|t| fixture_path(rule, &t.fixture) + if t.quiet { " (must not match)" } else { "" })
        .collect();
    if !fixtures.is_empty() {
        writeln!(out)?;
        writeln!(out, "Fixtures")?;
        for fixture in &fixtures {
            para(out, fixture, "- ", "  ")?;
        }
    }
    Ok(())
}

/// The rules reference, `docs/rules.md`: an index, then every rule in full.
pub fn write_reference(out: &mut dyn Write, rules: &[Rule]) -> io::Result<()> {
    writeln!(out, "# Rules reference")?;
    writeln!(out)?;
    writeln!(
        out,
        "<!-- Generated from rules/*/rule.yaml by `vvvexplain rules docs rules > docs/rules.md`; \
         do not edit by hand (a test fails when it is stale). -->"
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "Every cause vvvexplain can name, by the phase it makes fail. \
         `vvvexplain rules show ID` prints one on a terminal."
    )?;
    writeln!(out)?;
    writeln!(out, "| id | phase | confidence | cause |")?;
    writeln!(out, "|---|---|---|---|")?;
    for rule in rules {
        writeln!(
            out,
            "| [`{id}`](#{id}) | {} | {} | {} |",
            rule.phase.id(),
            rule.advice.confidence.id(),
            escape(&rule.advice.title).replace('|', "\\|"),
            id = rule.id,
        )?;
    }
    for rule in rules {
        write_rule_markdown(out, rule)?;
    }
    Ok(())
}

fn write_rule_markdown(out: &mut dyn Write, rule: &Rule) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "## {}", rule.id)?;
    writeln!(out)?;
    writeln!(out, "**{}**", escape(&rule.advice.title))?;
    writeln!(out)?;
    writeln!(
        out,
        "Fails in `{}` · {} confidence",
        rule.phase.id(),
        rule.advice.confidence.id()
    )?;
    if let Some(proven) = &rule.proven_title {
        writeln!(out)?;
        writeln!(
            out,
            "When the server's log proves it: {}",
            escape(&words(proven))
        )?;
    }
    writeln!(out)?;
    writeln!(out, "{}", escape(words(&rule.advice.explanation).trim()))?;
    for (kind, steps) in [
        ("Checks", &rule.advice.checks),
        ("Fixes", &rule.advice.fixes),
    ] {
        write_steps_markdown(out, kind, steps)?;
    }
    if !rule.advice.server_log.is_empty() {
        writeln!(out)?;
        writeln!(out, "The server's log may say:")?;
        writeln!(out)?;
        writeln!(
            out,
            "{}",
            fenced(&rule.advice.server_log.join("\n"), "text").trim_end()
        )?;
    }
    if !rule.advice.references.is_empty() {
        writeln!(out)?;
        writeln!(out, "Read: {}", escape(&rule.advice.references.join("; ")))?;
    }
    if !rule.tests.is_empty() {
        writeln!(out)?;
        writeln!(out, "Fixtures:")?;
        writeln!(out)?;
        for test in &rule.tests {
            let near_miss = if test.quiet { " (must not match)" } else { "" };
            writeln!(out, "- `{}`{near_miss}", fixture_path(rule, &test.fixture))?;
        }
    }
    Ok(())
}

fn write_steps_markdown(out: &mut dyn Write, kind: &str, steps: &[Step]) -> io::Result<()> {
    if steps.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "### {kind}")?;
    writeln!(out)?;
    for step in steps {
        writeln!(
            out,
            "- on the {}: {}",
            side_name(step.side),
            escape(&words(&step.text))
        )?;
        if let Some(command) = &step.command {
            writeln!(out)?;
            for line in fenced(&words(command), "sh").lines() {
                writeln!(out, "  {line}")?;
            }
        }
    }
    Ok(())
}
