//! insta snapshots of exactly what a user sees for every transcript: the human report (plain)
//! at 80 and 120 columns and with `--brief`, and the JSON report. A snapshot that shows a wrong
//! verdict is a bug to fix, not a baseline to accept.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

mod common;

use vvvexplain::report::{self, Detail, Format, View};
use vvvexplain::rules::RuleSet;

fn render(path: &Path, rules: &RuleSet, format: Format, view: &View) -> String {
    let file = File::open(path).unwrap();
    let verdict = vvvexplain::explain(BufReader::new(file), rules)
        .unwrap()
        .expect("OpenSSH output");
    let mut out = Vec::new();
    report::write_view(&mut out, &verdict, format, view, None).unwrap();
    String::from_utf8(out).unwrap()
}

fn view(width: usize, detail: Detail) -> View {
    View {
        width,
        detail,
        ..View::plain()
    }
}

fn snapshot_all(format: Format, view: &View, suffix: &str) {
    let rules = RuleSet::builtin().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path(root.join("tests/snapshots").join(suffix));
    settings.bind(|| {
        for path in common::all_transcripts() {
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('/', "__");
            let name = relative
                .trim_end_matches(".log")
                .replace("__fixtures__", "__");
            insta::assert_snapshot!(name, render(&path, &rules, format, view));
        }
    });
}

#[test]
fn human_reports_at_80_columns() {
    snapshot_all(Format::Human, &view(80, Detail::Normal), "human-80");
}

#[test]
fn human_reports_at_120_columns() {
    snapshot_all(Format::Human, &view(120, Detail::Normal), "human-120");
}

#[test]
fn brief_reports() {
    snapshot_all(Format::Human, &view(80, Detail::Brief), "brief");
}

#[test]
fn json_reports() {
    snapshot_all(Format::Json, &View::plain(), "json");
}

#[test]
fn markdown_report() {
    let rules = RuleSet::builtin().unwrap();
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/auth-key-rejected/fixtures/ssh-vvv.log");
    insta::assert_snapshot!(
        "markdown__auth-key-rejected__ssh-vvv",
        render(&path, &rules, Format::Markdown, &View::plain())
    );
}

/// Every verdict of every transcript, with its name, judged once.
fn all_verdicts() -> Vec<(String, vvvexplain::verdict::Verdict)> {
    let rules = RuleSet::builtin().unwrap();
    common::all_transcripts()
        .into_iter()
        .map(|path| {
            let file = File::open(&path).unwrap();
            let verdict = vvvexplain::explain(BufReader::new(file), &rules)
                .unwrap()
                .expect("OpenSSH output");
            (path.display().to_string(), verdict)
        })
        .collect()
}

fn human(verdict: &vvvexplain::verdict::Verdict, view: &View) -> String {
    let mut out = Vec::new();
    report::write_view(&mut out, verdict, Format::Human, view, None).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn no_line_is_wider_than_the_view() {
    let details = [Detail::Brief, Detail::Normal, Detail::Verbose];
    for (name, verdict) in all_verdicts() {
        for width in [80, 120] {
            for detail in details {
                let text = human(&verdict, &view(width, detail));
                for line in text.lines() {
                    let columns = line.chars().count();
                    assert!(
                        columns <= width,
                        "{name} at {width} columns ({detail:?}): {columns} columns:\n{line}"
                    );
                }
            }
        }
    }
}

/// No fact key (`keys_offered`), unfilled `{placeholder}` or capitals placeholder (`USER`,
/// `KEY_TOO_OPEN`, `THE_SSH_PORT`) reaches a human. OpenSSH's own capitals (protocol message
/// names such as `SSH2_MSG_NEWKEYS`, a man page section) are what the log and the manuals say.
#[test]
fn no_internal_name_or_placeholder_reaches_a_human() {
    let capitals = regex::Regex::new(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b").unwrap();
    let braces = regex::Regex::new(r"\{[a-z_]+\}").unwrap();
    let bare = regex::Regex::new(r"\b(USER|HOST|PORT|ADDRESS|TARGET|JUMPHOST)\b").unwrap();
    let protocol = [
        "SSH",
        "FXP_",
        "SERVICE_ACCEPT",
        "CHANNEL_OPEN_",
        "AUTHORIZED_KEYS",
    ];
    let mut verdicts = all_verdicts();
    // Redaction's placeholders are words too (`host-1`), never capitals.
    let redacted: Vec<_> = verdicts
        .iter()
        .map(|(name, verdict)| {
            let mut verdict = verdict.clone();
            vvvexplain::redact::redact(&mut verdict);
            (format!("{name} (redacted)"), verdict)
        })
        .collect();
    verdicts.extend(redacted);
    // Every fact's name that could not pass for a word of prose.
    let fact_keys: Vec<&str> = vvvexplain::facts::ALL
        .iter()
        .map(|d| d.name)
        .filter(|k| k.contains('_'))
        .collect();
    let fact_key = regex::Regex::new(&format!(r"\b({})\b", fact_keys.join("|"))).unwrap();
    let details = [Detail::Brief, Detail::Normal, Detail::Verbose];
    for (name, verdict) in &verdicts {
        for detail in details {
            let text = human(verdict, &view(100, detail));
            for line in text.lines().filter_map(prose) {
                let said = |what: &str| format!("{name} ({detail:?}) shows {what}:\n{line}");
                for m in capitals.find_iter(line) {
                    let word = m.as_str();
                    assert!(
                        protocol.iter().any(|p| word.starts_with(p)),
                        "{}",
                        said(word)
                    );
                }
                assert!(!braces.is_match(line), "{}", said("a placeholder"));
                assert!(!bare.is_match(line), "{}", said("a capitals placeholder"));
                if let Some(key) = fact_key.find(line) {
                    panic!("{}", said(key.as_str()));
                }
            }
        }
    }
}

/// A report line without the log line it quotes (`line 12: …`, `  12: …`, a timeline row):
/// the log says what it says.
fn prose(line: &str) -> Option<&str> {
    static QUOTING: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"(^|line )\s*\d+: ").unwrap());
    let quoting = &*QUOTING;
    if line.trim_start().starts_with(['✓', '✗', '·']) {
        return None;
    }
    let line = quoting.find(line).map_or(line, |m| &line[..m.start()]);
    // A man page section, as ssh(1) names it.
    Some(line.split("VERIFYING HOST KEYS").next().unwrap_or(line))
}

/// The Markdown renders as meant on GitHub (CommonMark with tables): the timeline is a table,
/// commands are code blocks with every line, and no code shows a backslash before a pipe.
#[test]
fn markdown_renders_as_commonmark() {
    use pulldown_cmark::{html, Options, Parser};
    for (name, verdict) in all_verdicts() {
        for redacted in [false, true] {
            let view = View {
                redacted,
                ..View::plain()
            };
            let mut out = Vec::new();
            report::write_view(&mut out, &verdict, Format::Markdown, &view, None).unwrap();
            let markdown = String::from_utf8(out).unwrap();
            let mut page = String::new();
            html::push_html(
                &mut page,
                Parser::new_ext(&markdown, Options::ENABLE_TABLES),
            );
            assert!(page.contains("<table>"), "{name}: no timeline table");
            assert!(
                page.contains("<td>✓</td>") || page.contains("<td>✗</td>"),
                "{name}"
            );
            for code in page.split("<code").skip(1) {
                let code = &code[..code.find("</code>").unwrap()];
                assert!(
                    !code.contains("\\|"),
                    "{name}: an escaped pipe in code:\n{code}"
                );
            }
            for cause in &verdict.decision.causes {
                for step in cause.advice.fixes.iter().chain(&cause.advice.checks) {
                    let Some(command) = step.command.as_deref() else {
                        continue;
                    };
                    if command.trim_end().lines().count() < 2 {
                        continue;
                    }
                    let block = html_escape(command.trim_end());
                    assert!(
                        page.contains(&format!("<pre><code class=\"language-sh\">{block}\n")),
                        "{name}: the command is not one code block:\n{command}"
                    );
                }
            }
            assert_eq!(
                page.contains("Redacted by"),
                redacted,
                "{name}: the redaction note"
            );
        }
    }
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// On a terminal of 80×24 the verdict and the top cause's first fix or check are on the first
/// screen, whatever the failure.
#[test]
fn the_verdict_and_the_first_fix_fit_the_first_screen() {
    for (name, verdict) in all_verdicts() {
        let v = &verdict.decision;
        if v.causes.iter().all(|c| c.id == "ok") {
            continue;
        }
        let text = human(&verdict, &view(80, Detail::Normal));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("Verdict: "), "{name}:\n{text}");
        let first_step = lines
            .iter()
            .position(|l| l.starts_with("  Fix on the") || l.starts_with("  Check on the"));
        assert!(
            first_step.is_some_and(|at| at + 2 < 24),
            "{name}: the first fix is not on the first screen:\n{text}"
        );
    }
}
