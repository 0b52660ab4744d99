//! What a rule tells the user when it matches: the advice a rule holds and a cause repeats.

use std::borrow::Cow;

use serde::Serialize;

use super::raw::{Confidence, Side};

/// A text a rule gives: a built-in rule's is the binary's own, not a copy made at every start.
pub type RuleText = Cow<'static, str>;

/// A cause in the user's words: what it is, why it happens, what to check and what to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advice {
    /// The cause in one line, as a user would say it.
    pub title: RuleText,
    pub confidence: Confidence,
    /// Why it happens, in plain words.
    pub explanation: RuleText,
    pub checks: Vec<Step>,
    pub fixes: Vec<Step>,
    /// What the server's log says when this is the cause.
    pub server_log: Vec<RuleText>,
    /// Man page options and documents to read.
    pub references: Vec<RuleText>,
}

/// A check or fix a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub side: Side,
    pub text: RuleText,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<RuleText>,
}

impl Advice {
    /// The same advice with `fill` applied to every text a user reads and every command.
    pub fn filled(&self, fill: impl Fn(&str) -> String) -> Advice {
        let steps = |steps: &[Step]| -> Vec<Step> {
            steps
                .iter()
                .map(|step| Step {
                    side: step.side,
                    text: fill(&step.text).into(),
                    command: step.command.as_deref().map(|c| fill(c).into()),
                })
                .collect()
        };
        Advice {
            title: self.title.clone(),
            confidence: self.confidence,
            explanation: fill(&self.explanation).into(),
            checks: steps(&self.checks),
            fixes: steps(&self.fixes),
            server_log: self.server_log.clone(),
            references: self.references.clone(),
        }
    }
}
