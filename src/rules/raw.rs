//! The YAML schema of a rule file, read as it is written (`Raw*`), before it is checked and compiled.
//!
//! Unknown keys are refused (`deny_unknown_fields`), so a typo in a rule is an error with its
//! place in the file, not a condition silently ignored.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::timeline::{Milestone, Outcome, Phase, Program};

/// One value or a list of them: `failed_phase: auth` or `failed_phase: [kex, auth]`.
#[derive(Debug, Clone)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(untagged))]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

/// Read by hand rather than `untagged`: a bad value then gets the value's own error (`unknown
/// variant `authh`, expected one of …`) at its place, not "did not match any variant".
impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visitor<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("one value or a list of them")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                T::deserialize(serde::de::value::StrDeserializer::new(v)).map(OneOrMany::One)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<Self::Value, A::Error> {
                Vec::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(OneOrMany::Many)
            }
        }
        d.deserialize_any(Visitor(std::marker::PhantomData))
    }
}

impl<T> OneOrMany<T> {
    pub fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(v) => vec![v],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    /// As written in rule files and reports.
    pub fn id(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Client,
    Server,
}

/// `rules/<id>/rule.yaml`
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[cfg_attr(test, schemars(title = "vvvexplain rule"))]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// The cause in one line, as a user would say it.
    pub title: String,
    /// The title when the paired server log proves this cause (a `server_events:` condition
    /// matched): what the server did, without the doubt the client log alone leaves
    /// ("The server refuses this account" for "The server may refuse this account").
    #[serde(default)]
    pub proven_title: Option<String>,
    /// The phase this cause makes fail.
    pub phase: Phase,
    pub confidence: Confidence,
    /// This rule describes a connection that worked (a success and what to know about it), not
    /// a cause of failure.
    #[serde(default)]
    pub success: bool,
    /// What must hold of a connection for this cause to be a candidate.
    #[serde(rename = "match")]
    pub matches: RawMatch,
    /// Why it happens, in plain words.
    pub explanation: String,
    #[serde(default)]
    pub checks: Vec<RawStep>,
    #[serde(default)]
    pub fixes: Vec<RawStep>,
    /// Rules this one is ranked above whenever both match (it is the more specific diagnosis).
    #[serde(default)]
    pub outranks: Vec<String>,
    /// What the server's log says when this is the cause.
    #[serde(default)]
    pub server_log: Vec<String>,
    /// Man page options and documents to read.
    #[serde(default)]
    pub references: Vec<String>,
    /// The fixture transcripts this rule is proven on, with their expected verdicts.
    #[serde(default)]
    pub tests: Vec<RawTest>,
}

/// Conditions, all of which must hold.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    pub outcome: Option<OneOrMany<Outcome>>,
    pub failed_phase: Option<OneOrMany<Phase>>,
    /// The last milestone reached is one of these.
    pub last_milestone: Option<OneOrMany<Milestone>>,
    /// These milestones were all reached.
    #[serde(default)]
    pub reached: Vec<Milestone>,
    /// None of these milestones was reached.
    #[serde(default)]
    pub not_reached: Vec<Milestone>,
    pub program: Option<OneOrMany<Program>>,
    /// OpenSSH client version range, e.g. `">=8.0, <9.8"`.
    pub version: Option<String>,
    /// A regex the decisive line (the failure, or where the log stops) must match.
    pub evidence: Option<String>,
    /// Regexes that must each match some line of the connection.
    #[serde(default)]
    pub lines: Vec<String>,
    /// Regexes of which at least one must match some line.
    #[serde(default)]
    pub any_lines: Vec<String>,
    /// Regexes no line may match.
    #[serde(default)]
    pub absent: Vec<String>,
    /// Events (the grammar's names, `no_mutual_signature`) that must each have occurred.
    #[serde(default)]
    #[cfg_attr(test, schemars(schema_with = "tests::event_names_schema"))]
    pub events: Vec<String>,
    /// Events of which at least one must have occurred; the line shown is that of the first
    /// listed that did.
    #[serde(default)]
    #[cfg_attr(test, schemars(schema_with = "tests::event_names_schema"))]
    pub any_events: Vec<String>,
    /// Events none of which may have occurred.
    #[serde(default)]
    #[cfg_attr(test, schemars(schema_with = "tests::event_names_schema"))]
    pub no_events: Vec<String>,
    /// sshd's events (`grammar/sshd.pest`'s names, `user_not_allowed`) of which one must be in
    /// the server connection paired with this one (`--server-log`); one that is makes the cause
    /// certain. Without a paired server log this condition is not looked at.
    #[serde(default)]
    #[cfg_attr(test, schemars(schema_with = "tests::server_event_names_schema"))]
    pub server_events: Vec<String>,
    /// sshd's events none of which may be in the paired server connection.
    #[serde(default)]
    #[cfg_attr(test, schemars(schema_with = "tests::server_event_names_schema"))]
    pub no_server_events: Vec<String>,
    /// Regexes over the message text of the paired server connection's lines (without the log's
    /// prefix), for sshd wordings no sshd event types yet; one that matches proves the cause as a
    /// server event does. Prefer `server_events` (type the message in `grammar/sshd.pest`).
    /// Without a paired server log this condition is not looked at.
    #[serde(default)]
    pub server_lines: Vec<String>,
    /// Another way to match, for a cause whose client log can be another cause's: when the
    /// paired server connection holds one of these sshd events, these client conditions suffice
    /// instead of the ones above (`no_server_events` still rule the cause out).
    pub server_proven: Option<RawServerProven>,
    /// Facts that must be present and match a regex (`user: '^root$'`); `''` = present at all.
    #[serde(default)]
    pub facts: BTreeMap<String, String>,
    /// Facts that must not be present.
    #[serde(default)]
    pub no_facts: Vec<String>,
    /// The longest wait while the connection was being set up (logs with times only).
    pub slow_step: Option<RawSlowStep>,
}

/// `server_proven: { server_events: [account_expired], failed_phase: auth, events: [permission_denied] }`
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawServerProven {
    /// sshd's events of which one must be in the paired server connection.
    #[cfg_attr(test, schemars(schema_with = "tests::server_event_names_schema"))]
    pub server_events: Vec<String>,
    pub failed_phase: Option<OneOrMany<Phase>>,
    /// These milestones were all reached.
    #[serde(default)]
    pub reached: Vec<Milestone>,
    /// Events (the client grammar's names) that must each have occurred.
    #[serde(default)]
    #[cfg_attr(test, schemars(schema_with = "tests::event_names_schema"))]
    pub events: Vec<String>,
}

/// `slow_step: { seconds: 3, after: 'Next authentication method: gssapi' }`
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawSlowStep {
    /// The wait lasted at least this long.
    pub seconds: f64,
    /// The phase the connection was in while it waited.
    pub phase: Option<Phase>,
    /// A regex the line before the wait matches.
    pub after: Option<String>,
    /// A regex the line that ended the wait matches.
    pub before: Option<String>,
}

/// A check or a fix: what to do, on which side, and the exact command.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub side: Side,
    pub text: String,
    pub command: Option<String>,
}

/// A fixture and what the pipeline must say about it.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawTest {
    /// Path relative to the rule's folder.
    pub fixture: String,
    pub outcome: Option<Outcome>,
    /// The expected failed phase; `null` for a success.
    #[serde(default, deserialize_with = "present")]
    pub failed_phase: Option<Option<Phase>>,
    /// The expected top cause, or a list of acceptable top causes.
    pub top_cause: Option<OneOrMany<String>>,
    /// Causes that must be among the ranked causes.
    #[serde(default)]
    pub causes_include: Vec<String>,
    /// This rule must not be among the causes at all (a near miss).
    #[serde(default)]
    pub quiet: bool,
}

/// Tells `failed_phase: null` (present, none) from a missing key.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<Phase>>, D::Error> {
    Option::<Phase>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::RawRule;
    use schemars::{json_schema, Schema, SchemaGenerator};

    const SCHEMA: &str = "docs/rule.schema.json";

    /// A list of the grammar's event names, for editors to complete and check.
    pub fn event_names_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "array",
            "items": { "enum": crate::event::event_names() },
        })
    }

    /// A list of the sshd grammar's event names.
    pub fn server_event_names_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "array",
            "items": { "enum": crate::server::event_names() },
        })
    }

    /// The committed schema is the one these types give; `VVVEXPLAIN_UPDATE_SCHEMA=1 cargo test
    /// --lib rule_schema` writes it anew.
    #[test]
    fn rule_schema_is_current() {
        let schema = schemars::schema_for!(RawRule);
        let text = serde_json::to_string_pretty(&schema).expect("a schema is JSON") + "\n";
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SCHEMA);
        if std::env::var_os("VVVEXPLAIN_UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &text).expect("write the schema");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == text,
            "{SCHEMA} is not the schema of the rule types; regenerate it with \
             `VVVEXPLAIN_UPDATE_SCHEMA=1 cargo test --lib rule_schema` and commit it"
        );
    }
}
