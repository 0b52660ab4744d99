//! insta snapshots of exactly what a user sees for every transcript: the human report (plain,
//! as in a pipe) and the JSON report. A snapshot that shows a wrong verdict is a bug to fix, not
//! a baseline to accept.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

mod common;

use vvvexplain::report::{self, Format, Styles};
use vvvexplain::rules::RuleSet;

fn render(path: &Path, rules: &RuleSet, format: Format) -> String {
    let file = File::open(path).unwrap();
    let verdict = vvvexplain::explain(BufReader::new(file), rules)
        .unwrap()
        .expect("OpenSSH output");
    let mut out = Vec::new();
    report::write(&mut out, &verdict, format, &Styles::plain(), None).unwrap();
    String::from_utf8(out).unwrap()
}

fn snapshot_all(format: Format, suffix: &str) {
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
            insta::assert_snapshot!(name, render(&path, &rules, format));
        }
    });
}

#[test]
fn human_reports() {
    snapshot_all(Format::Human, "human");
}

#[test]
fn json_reports() {
    snapshot_all(Format::Json, "json");
}

#[test]
fn markdown_report() {
    let rules = RuleSet::builtin().unwrap();
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/auth-key-rejected/fixtures/ssh-vvv.log");
    insta::assert_snapshot!(
        "markdown__auth-key-rejected__ssh-vvv",
        render(&path, &rules, Format::Markdown)
    );
}
