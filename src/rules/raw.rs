//! The YAML schema of a rule file, read as it is written (`Raw*`), before it is checked and compiled.
//!
//! Unknown keys are refused (`deny_unknown_fields`), so a typo in a rule is an error with its
//! place in the file, not a condition silently ignored.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::de::value::BorrowedStrDeserializer;
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
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                T::deserialize(BorrowedStrDeserializer::new(v)).map(OneOrMany::One)
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

/// The values as a list; one value needs no list made for it (most rules give one).
impl<T> std::ops::Deref for OneOrMany<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            OneOrMany::One(v) => std::slice::from_ref(v),
            OneOrMany::Many(v) => v,
        }
    }
}

/// No value: an empty list.
impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany::Many(Vec::new())
    }
}

/// A text of a rule file, borrowed from the document when it can be: a built-in rule's texts are
/// the binary's own (its tree's `&'static str`s), a user's rule's are read from its YAML.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(test, derive(serde::Serialize))] // for the schema to give fields' defaults
pub struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v))
            }
        }
        d.deserialize_str(Visitor).map(Text)
    }
}

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// In the schema a text is a string, as it is written.
#[cfg(test)]
impl schemars::JsonSchema for Text<'_> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> Cow<'static, str> {
        String::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        String::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
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
pub struct RawRule<'a> {
    /// The cause in one line, as a user would say it.
    #[serde(borrow)]
    pub title: Text<'a>,
    /// The title when the paired server log proves this cause (a `server_events:` condition
    /// matched): what the server did, without the doubt the client log alone leaves
    /// ("The server refuses this account" for "The server may refuse this account").
    #[serde(borrow, default)]
    pub proven_title: Option<Text<'a>>,
    /// The phase this cause makes fail.
    pub phase: Phase,
    pub confidence: Confidence,
    /// This rule describes a connection that worked (a success and what to know about it), not
    /// a cause of failure.
    #[serde(default)]
    pub success: bool,
    /// What must hold of a connection for this cause to be a candidate.
    #[serde(borrow, rename = "match")]
    pub matches: RawMatch<'a>,
    /// Why it happens, in plain words.
    #[serde(borrow)]
    pub explanation: Text<'a>,
    #[serde(borrow, default)]
    pub checks: Vec<RawStep<'a>>,
    #[serde(borrow, default)]
    pub fixes: Vec<RawStep<'a>>,
    /// Rules this one is ranked above whenever both match (it is the more specific diagnosis).
    #[serde(borrow, default)]
    pub outranks: Vec<Text<'a>>,
    /// What the server's log says when this is the cause.
    #[serde(borrow, default)]
    pub server_log: Vec<Text<'a>>,
    /// Man page options and documents to read.
    #[serde(borrow, default)]
    pub references: Vec<Text<'a>>,
    /// The fixture transcripts this rule is proven on, with their expected verdicts.
    #[serde(borrow, default)]
    pub tests: Vec<RawTest<'a>>,
}

/// Conditions, all of which must hold.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawMatch<'a> {
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
    #[serde(borrow)]
    pub version: Option<Text<'a>>,
    /// A regex the decisive line (the failure, or where the log stops) must match.
    #[serde(borrow)]
    pub evidence: Option<Text<'a>>,
    /// Regexes that must each match some line of the connection.
    #[serde(borrow, default)]
    pub lines: Vec<Text<'a>>,
    /// Regexes of which at least one must match some line.
    #[serde(borrow, default)]
    pub any_lines: Vec<Text<'a>>,
    /// Regexes no line may match.
    #[serde(borrow, default)]
    pub absent: Vec<Text<'a>>,
    /// Events (the grammar's names, `no_mutual_signature`) that must each have occurred.
    #[serde(borrow, default)]
    #[cfg_attr(test, schemars(schema_with = "tests::event_names_schema"))]
    pub events: Vec<Text<'a>>,
    /// Events of which at least one must have occurred; the line shown is that of the first
    /// listed that did.
    #[serde(borrow, default)]
    #[cfg_attr(test, schemars(schema_with = "tests::event_names_schema"))]
    pub any_events: Vec<Text<'a>>,
    /// Events none of which may have occurred.
    #[serde(borrow, default)]
    #[cfg_attr(test, schemars(schema_with = "tests::event_names_schema"))]
    pub no_events: Vec<Text<'a>>,
    /// sshd's events (`grammar/sshd.pest`'s names, `user_not_allowed`) of which one must be in
    /// the server connection paired with this one (`--server-log`); one that is makes the cause
    /// certain. Without a paired server log this condition is not looked at.
    #[serde(borrow, default)]
    #[cfg_attr(test, schemars(schema_with = "tests::server_event_names_schema"))]
    pub server_events: Vec<Text<'a>>,
    /// sshd's events none of which may be in the paired server connection.
    #[serde(borrow, default)]
    #[cfg_attr(test, schemars(schema_with = "tests::server_event_names_schema"))]
    pub no_server_events: Vec<Text<'a>>,
    /// Regexes over the message text of the paired server connection's lines (without the log's
    /// prefix), for sshd wordings no sshd event types yet; one that matches proves the cause as a
    /// server event does. Prefer `server_events` (type the message in `grammar/sshd.pest`).
    /// Without a paired server log this condition is not looked at.
    #[serde(borrow, default)]
    pub server_lines: Vec<Text<'a>>,
    /// Another way to match, for a cause whose client log can be another cause's: when the
    /// paired server connection holds one of these sshd events, these client conditions suffice
    /// instead of the ones above (`no_server_events` still rule the cause out).
    #[serde(borrow)]
    pub server_proven: Option<RawServerProven<'a>>,
    /// Facts that must be present and match a regex (`user: '^root$'`); `''` = present at all.
    #[serde(borrow, default)]
    pub facts: BTreeMap<Text<'a>, Text<'a>>,
    /// Facts that must not be present.
    #[serde(borrow, default)]
    pub no_facts: Vec<Text<'a>>,
    /// The longest wait while the connection was being set up (logs with times only).
    #[serde(borrow)]
    pub slow_step: Option<RawSlowStep<'a>>,
}

/// `server_proven: { server_events: [account_expired], failed_phase: auth, events: [permission_denied] }`
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawServerProven<'a> {
    /// sshd's events of which one must be in the paired server connection.
    #[cfg_attr(test, schemars(schema_with = "tests::server_event_names_schema"))]
    #[serde(borrow)]
    pub server_events: Vec<Text<'a>>,
    pub failed_phase: Option<OneOrMany<Phase>>,
    /// These milestones were all reached.
    #[serde(default)]
    pub reached: Vec<Milestone>,
    /// Events (the client grammar's names) that must each have occurred.
    #[serde(borrow, default)]
    #[cfg_attr(test, schemars(schema_with = "tests::event_names_schema"))]
    pub events: Vec<Text<'a>>,
}

/// `slow_step: { seconds: 3, after: 'Next authentication method: gssapi' }`
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawSlowStep<'a> {
    /// The wait lasted at least this long.
    pub seconds: f64,
    /// The phase the connection was in while it waited.
    pub phase: Option<Phase>,
    /// A regex the line before the wait matches.
    #[serde(borrow)]
    pub after: Option<Text<'a>>,
    /// A regex the line that ended the wait matches.
    #[serde(borrow)]
    pub before: Option<Text<'a>>,
}

/// A check or a fix: what to do, on which side, and the exact command.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawStep<'a> {
    pub side: Side,
    #[serde(borrow)]
    pub text: Text<'a>,
    #[serde(borrow)]
    pub command: Option<Text<'a>>,
}

/// A fixture and what the pipeline must say about it.
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct RawTest<'a> {
    /// Path relative to the rule's folder.
    #[serde(borrow)]
    pub fixture: Text<'a>,
    pub outcome: Option<Outcome>,
    /// The expected failed phase; `null` for a success.
    #[serde(default, deserialize_with = "present")]
    pub failed_phase: Option<Option<Phase>>,
    /// The expected top cause, or a list of acceptable top causes.
    #[serde(borrow)]
    pub top_cause: Option<OneOrMany<Text<'a>>>,
    /// Causes that must be among the ranked causes.
    #[serde(borrow, default)]
    pub causes_include: Vec<Text<'a>>,
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
