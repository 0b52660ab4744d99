//! `vvvexplain rules test`: every rule's fixture transcripts through the real pipeline, each
//! compared with the verdict its rule file says it must get.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use crate::analyze::timeline_of;
use crate::rules::{Confidence, Rule, RuleSet, RuleTest};
use crate::timeline::Outcome;
use crate::verdict::Verdict;

/// The result of one fixture test.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// `rule-id/fixtures/name.log`
    pub name: String,
    /// What the pipeline said: `failure auth auth-key-rejected`.
    pub verdict: String,
    /// Why it failed, if it did.
    pub failure: Option<String>,
}

/// Runs every fixture test of every rule in `set`, judged by `set`.
pub fn run(set: &RuleSet) -> Vec<TestResult> {
    set.rules()
        .iter()
        .flat_map(|rule| rule.tests.iter().map(move |test| run_one(set, rule, test)))
        .collect()
}

fn run_one(set: &RuleSet, rule: &Rule, test: &RuleTest) -> TestResult {
    run_on(set, rule, test, &test.fixture)
}

/// Runs one fixture test on another transcript of the same scenario (a fresh recording, as the
/// live test makes): the expectation is the test's, the transcript is `transcript`.
pub fn run_on(set: &RuleSet, rule: &Rule, test: &RuleTest, transcript: &Path) -> TestResult {
    let name = match &rule.dir {
        Some(dir) => format!(
            "{}/{}",
            rule.id,
            test.fixture
                .strip_prefix(dir)
                .unwrap_or(&test.fixture)
                .display()
        ),
        None => format!("{}/{}", rule.id, test.fixture.display()),
    };
    let verdict = File::open(transcript)
        .and_then(|f| timeline_of(BufReader::new(f)))
        .map_err(|e| format!("cannot read fixture: {e}"))
        .and_then(|t| {
            Verdict::build(&t, set)
                .ok_or_else(|| "no OpenSSH output found in the fixture".to_string())
        });
    match verdict {
        Err(why) => TestResult {
            name,
            verdict: "-".into(),
            failure: Some(why),
        },
        Ok(verdict) => {
            let failure = judge(rule, test, &verdict).err();
            TestResult {
                name,
                verdict: describe(&verdict),
                failure,
            }
        }
    }
}

fn describe(verdict: &Verdict) -> String {
    let v = &verdict.decision;
    let outcome = format!("{:?}", v.outcome).to_lowercase();
    let phase = v.failed_phase.map_or("-", |p| p.id());
    let top = v.causes.first().map_or("(no cause)", |c| c.id.as_str());
    format!("{outcome} {phase} {top}")
}

/// Compares a verdict with what the test expects.
fn judge(rule: &Rule, test: &RuleTest, verdict: &Verdict) -> Result<(), String> {
    let v = &verdict.decision;
    let ids: Vec<&str> = v.causes.iter().map(|c| c.id.as_str()).collect();
    if let Some(outcome) = test.outcome {
        if v.outcome != outcome {
            return Err(format!("expected outcome {outcome:?}, got {:?}", v.outcome));
        }
    }
    if let Some(phase) = test.failed_phase {
        if v.failed_phase != phase {
            let show = |p: Option<crate::timeline::Phase>| p.map_or("null", |p| p.id());
            return Err(format!(
                "expected failed phase {}, got {}",
                show(phase),
                show(v.failed_phase)
            ));
        }
    }
    if !test.top_cause.is_empty() {
        let top = ids.first().copied().unwrap_or("(none)");
        if !test.top_cause.iter().any(|t| t == top) {
            return Err(format!(
                "expected top cause {}, got {top} (causes: {})",
                test.top_cause.join(" or "),
                ids.join(", ")
            ));
        }
    }
    for id in &test.causes_include {
        if !ids.contains(&&**id) {
            return Err(format!(
                "expected {id} among the causes, got: {}",
                ids.join(", ")
            ));
        }
    }
    if test.quiet && ids.contains(&&*rule.id) {
        return Err(format!(
            "rule {} must stay quiet on this fixture, but it matched",
            rule.id
        ));
    }
    // The false-positive guard: a high-confidence cause must be one the test names as right. A
    // quiet test only says this rule stays out; the fixture's own test applies the guard there.
    if test.quiet {
        return Ok(());
    }
    let named: BTreeSet<&str> = test
        .top_cause
        .iter()
        .chain(test.causes_include.iter())
        .map(|id| &**id)
        .chain((!test.quiet && v.outcome != Outcome::Success).then_some(&*rule.id))
        .collect();
    // On a connection that worked, a rule describing a working connection is always right.
    let stray: Vec<&str> = v
        .causes
        .iter()
        .filter(|c| !(c.success && v.outcome == Outcome::Success))
        .filter(|c| c.advice.confidence == Confidence::High && !named.contains(c.id.as_str()))
        .map(|c| c.id.as_str())
        .collect();
    if !stray.is_empty() {
        return Err(format!(
            "high-confidence cause(s) {} also fired; name them in causes_include if they are right here too",
            stray.join(", ")
        ));
    }
    Ok(())
}
