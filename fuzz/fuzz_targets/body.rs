//! The body every fuzz driver runs: bytes → explain → redact a clone → all three reports.
//! Included by the libFuzzer target and by the stable driver, so both test the same thing.

use std::sync::OnceLock;

use vvvexplain::report::{self, Format, Styles};
use vvvexplain::rules::RuleSet;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::builtin().expect("the built-in rules compile"))
}

pub fn run(data: &[u8]) {
    let Ok(Some(verdict)) = vvvexplain::explain(data, rules()) else {
        return;
    };
    let mut redacted = verdict.clone();
    vvvexplain::redact::redact(&mut redacted);
    for v in [&verdict, &redacted] {
        for format in [Format::Human, Format::Json, Format::Markdown] {
            let mut out = Vec::new();
            report::write(&mut out, v, format, &Styles::plain(), None).expect("write to a Vec");
            let mut colored = Vec::new();
            if format == Format::Human {
                report::write(
                    &mut colored,
                    v,
                    format,
                    &Styles::colored(),
                    Some("fuzz.log"),
                )
                .expect("write to a Vec");
            }
        }
    }
    // Redaction is idempotent on its own output: nothing is left to find.
    let mut again = redacted.clone();
    vvvexplain::redact::redact(&mut again);
}
