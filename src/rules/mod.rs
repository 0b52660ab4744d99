//! The rule set: loads `rules/<id>/rule.yaml` files (built-in and the user's), checks and compiles
//! them with every error collected, and ranks the rules that match a connection.
//!
//! A rule is data: adding a failure mode is adding a folder, never editing this engine.

mod advice;
mod error;
mod raw;
mod tree;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use regex::bytes::{Regex, RegexBuilder};

pub use advice::{Advice, RuleText, Step};
pub use error::{RuleError, RuleErrors};
use error::{Seg, Target};
pub use raw::OneOrMany;
pub use raw::{Confidence, Side};
use raw::{RawMatch, RawRule, RawServerProven, RawSlowStep, RawStep, RawTest, Text};
use tree::Node;

use crate::event::{event_names, EventKind};
use crate::facts::{self, Fact};
use crate::server::{EventKind as ServerEventKind, ServerConnection, ServerLine};
use crate::timeline::{KeptLine, LineRef, Milestone, Outcome, Phase, Program, Session, Timeline};

/// The text of one rule file and where it came from.
#[derive(Debug, Clone)]
pub struct RuleSource {
    /// The rule's id: the name of its folder.
    pub id: Cow<'static, str>,
    /// Where the file is, as shown in errors (`rules/auth-key-rejected/rule.yaml`).
    pub path: Cow<'static, Path>,
    /// A built-in rule's is the binary's own copy, not one made at every start.
    pub text: Cow<'static, str>,
    /// The same document as a static tree, converted from `text` when the binary was built
    /// (built-in rules only): it says nothing more, it is only read with no parsing at all.
    pub as_tree: Option<&'static Node>,
    /// Built into the binary: its regexes are parsed when first used instead of on every start
    /// (the test suite checks them all, as any rule's, in `builtin_rules_are_valid`).
    pub built_in: bool,
    /// The folder its fixtures are relative to, when the rule is on disk.
    pub dir: Option<PathBuf>,
}

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// The rules built into the binary, as sources for the same loader that reads user rules.
pub fn builtin_sources() -> Vec<RuleSource> {
    BUILTIN_RULES
        .iter()
        .map(|&(id, path, text, as_tree)| RuleSource {
            id: Cow::Borrowed(id),
            path: Cow::Borrowed(Path::new(path)),
            text: Cow::Borrowed(text),
            as_tree,
            built_in: true,
            dir: None,
        })
        .collect()
}

/// Reads every `*/rule.yaml` under `dir`, in name order. A YAML file anywhere else in `dir` or
/// its rule folders is an error saying where it belongs: it would otherwise be silently ignored.
pub fn load_dir(dir: &Path) -> Result<Vec<RuleSource>, RuleErrors> {
    let io_error = |path: &Path, e: std::io::Error| RuleError::at_file(path, e.to_string());
    let entries = |dir: &Path| -> Result<Vec<PathBuf>, RuleError> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io_error(dir, e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .collect();
        paths.sort();
        Ok(paths)
    };
    let mut errors = Vec::new();
    let mut sources = Vec::new();
    for path in entries(dir).map_err(|e| RuleErrors(vec![e]))? {
        if !path.is_dir() {
            errors.extend(misplaced_yaml(&path, dir));
            continue;
        }
        let folder = path;
        for inner in entries(&folder).unwrap_or_default() {
            if inner.file_name().is_some_and(|n| n != "rule.yaml") {
                errors.extend(misplaced_yaml(&inner, dir));
            }
        }
        let path = folder.join("rule.yaml");
        if !path.is_file() {
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => sources.push(RuleSource {
                id: folder
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned().into())
                    .unwrap_or_default(),
                path: path.into(),
                text: Cow::Owned(text),
                as_tree: None,
                built_in: false,
                dir: Some(folder),
            }),
            Err(e) => errors.push(io_error(&path, e)),
        }
    }
    if errors.is_empty() {
        Ok(sources)
    } else {
        Err(RuleErrors(errors))
    }
}

/// The error for a YAML file a rules folder `root` holds where no rule is read from: each rule is
/// `<id>/rule.yaml`.
fn misplaced_yaml(path: &Path, root: &Path) -> Option<RuleError> {
    let extension = path.extension()?.to_str()?;
    if !matches!(extension, "yaml" | "yml") {
        return None;
    }
    let stem = path.file_stem()?.to_string_lossy();
    let parent = path.parent()?;
    let home = if parent == root {
        root.join(&*stem).join("rule.yaml")
    } else {
        parent.join("rule.yaml")
    };
    let message = if home.exists() {
        format!(
            "not read: a rule folder holds one rule file, {}",
            home.display()
        )
    } else {
        format!(
            "not read: a rule is a folder named by its id with a rule.yaml in it; move this file to {}",
            home.display()
        )
    };
    Some(RuleError::at_file(path, message))
}

/// A fixture and its expected verdict.
#[derive(Debug, Clone)]
pub struct RuleTest {
    /// A built-in rule's is the binary's own path, relative to its rule folder.
    pub fixture: Cow<'static, Path>,
    pub outcome: Option<Outcome>,
    pub failed_phase: Option<Option<Phase>>,
    pub top_cause: OneOrMany<RuleText>,
    pub causes_include: Vec<RuleText>,
    pub quiet: bool,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// A built-in rule's is the binary's own.
    pub id: RuleText,
    pub dir: Option<PathBuf>,
    pub phase: Phase,
    pub advice: Advice,
    /// The title once the server's log proves the cause (`proven_title`).
    pub proven_title: Option<RuleText>,
    /// It describes a connection that worked, not a cause of failure.
    pub success: bool,
    pub tests: Vec<RuleTest>,
    pub outranks: Vec<RuleText>,
    conditions: Conditions,
}

/// The match conditions. Regexes are compiled when a connection first gets as far as needing
/// them: most rules are ruled out by their phase and milestones first.
#[derive(Debug, Clone, Default)]
struct Conditions {
    outcome: OneOrMany<Outcome>,
    failed_phase: OneOrMany<Phase>,
    last_milestone: OneOrMany<Milestone>,
    reached: Vec<Milestone>,
    not_reached: Vec<Milestone>,
    program: OneOrMany<Program>,
    version: Vec<VersionBound>,
    evidence: Option<LazyRegex>,
    lines: Vec<LazyRegex>,
    any_lines: Vec<LazyRegex>,
    absent: Vec<LazyRegex>,
    events: Vec<EventKind>,
    any_events: Vec<EventKind>,
    no_events: Vec<EventKind>,
    server_events: Vec<ServerEventKind>,
    no_server_events: Vec<ServerEventKind>,
    server_lines: Vec<LazyRegex>,
    /// The other way to match when the server's log proves the cause (`server_proven:`).
    server_proven: Option<Box<Conditions>>,
    facts: Vec<(Fact, LazyRegex)>,
    no_facts: Vec<Fact>,
    slow_step: Option<SlowStepCondition>,
}

/// A regex compiled on first use: most rules are ruled out by their cheap conditions (phase,
/// milestones) before any of their regexes is needed, so start-up compiles only what matches need.
/// Clones share one compiled regex: rules that repeat a pattern (`Permission denied`) compile it
/// once per rule set (see `share_patterns`), and compiling is most of what a match costs.
#[derive(Debug, Clone)]
struct LazyRegex(Arc<PatternSlot>);

#[derive(Debug)]
struct PatternSlot {
    pattern: RuleText,
    compiled: OnceLock<Option<Regex>>,
}

impl LazyRegex {
    fn new(pattern: RuleText) -> Self {
        LazyRegex(Arc::new(PatternSlot {
            pattern,
            compiled: OnceLock::new(),
        }))
    }

    /// A pattern that parsed but cannot be compiled (over the size limit) matches nothing. The
    /// empty pattern (`facts: {user: ''}`, "present at all") matches everything without a regex.
    ///
    /// ASCII mode: OpenSSH escapes every non-ASCII byte it logs (as `\ooo`), and Unicode classes
    /// (`.`, `\d`, `\w`) would make the automata many times larger and slower to build.
    fn is_match(&self, text: &str) -> bool {
        let slot = &*self.0;
        slot.pattern.is_empty()
            || slot
                .compiled
                .get_or_init(|| RegexBuilder::new(&slot.pattern).unicode(false).build().ok())
                .as_ref()
                .is_some_and(|r| r.is_match(text.as_bytes()))
    }
}

/// Makes every rule's copy of a pattern the same lazily compiled regex, so a pattern several rules
/// use is compiled once however many of them are checked.
fn share_patterns(rules: &mut [Rule]) {
    let all: Vec<LazyRegex> = rules
        .iter_mut()
        .flat_map(|r| r.conditions.regexes_mut())
        .map(|regex| regex.clone())
        .collect();
    let mut first: HashMap<&str, &LazyRegex> = HashMap::new();
    for regex in &all {
        first.entry(&*regex.0.pattern).or_insert(regex);
    }
    for regex in rules.iter_mut().flat_map(|r| r.conditions.regexes_mut()) {
        if let Some(&shared) = first.get(&*regex.0.pattern) {
            *regex = shared.clone();
        }
    }
}

/// A wait of at least `millis`, after and before lines matching the regexes.
#[derive(Debug, Clone)]
struct SlowStepCondition {
    millis: u64,
    phase: Option<Phase>,
    after: Option<LazyRegex>,
    before: Option<LazyRegex>,
}

impl Conditions {
    /// Every regex of these conditions.
    fn regexes_mut(&mut self) -> impl Iterator<Item = &mut LazyRegex> {
        let slow_step = self
            .slow_step
            .iter_mut()
            .flat_map(|s| s.after.iter_mut().chain(s.before.iter_mut()));
        self.evidence
            .iter_mut()
            .chain(&mut self.lines)
            .chain(&mut self.any_lines)
            .chain(&mut self.absent)
            .chain(self.facts.iter_mut().map(|(_, regex)| regex))
            .chain(slow_step)
    }

    /// How much a match of these conditions says: more conditions, more specific.
    fn specificity(&self) -> usize {
        [
            !self.outcome.is_empty(),
            !self.failed_phase.is_empty(),
            !self.last_milestone.is_empty(),
            !self.program.is_empty(),
            !self.version.is_empty(),
            !self.any_lines.is_empty(),
            !self.any_events.is_empty(),
        ]
        .iter()
        .filter(|b| **b)
        .count()
            + 2 * usize::from(self.evidence.is_some())
            + 2 * self.lines.len()
            + 2 * self.events.len()
            + self.no_events.len()
            + self.reached.len()
            + self.not_reached.len()
            + self.absent.len()
            + 2 * self.facts.len()
            + self.no_facts.len()
            + 3 * usize::from(self.slow_step.is_some())
    }
}

/// One bound of a version range: `>= 8.5` is `(GreaterOrEqual, (8, 5))`.
type VersionBound = (Comparison, (u32, u32));

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Less,
    LessOrEqual,
    Equal,
    GreaterOrEqual,
    Greater,
}

/// A loaded, checked rule set.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

/// A rule that matched, with the lines that made it match.
#[derive(Debug, Clone)]
pub struct Match<'r> {
    pub rule: &'r Rule,
    pub matched_lines: Vec<LineRef>,
    /// The paired server connection's line that proves this cause (`server_events`,
    /// `server_lines`, `server_proven`).
    pub server_line: Option<ServerLine>,
    /// Proven by the server's log first, then confidence, then specificity.
    score: (bool, Confidence, usize),
}

/// What rules are matched against: one connection and the jump-host connections it went through.
pub struct Subject<'a> {
    pub session: &'a Session,
    /// The jump-host connections it went through.
    pub jumps: Vec<&'a Session>,
    pub lines: Vec<KeptLine<'a>>,
    /// The decisive line: the failure, or for a log that stops, the last line OpenSSH printed.
    pub evidence: Option<&'a LineRef>,
    /// The server log's connection paired with this one (`--server-log`).
    pub server: Option<&'a ServerConnection>,
}

impl<'a> Subject<'a> {
    /// The first line typed as `event`, in the connection or a jump host it went through.
    fn first_event_line(&self, event: EventKind) -> Option<&'a LineRef> {
        let name = event.name();
        std::iter::once(self.session)
            .chain(self.jumps.iter().copied())
            .filter_map(|s| s.first_event_line(name))
            .min_by_key(|l| l.line)
    }

    pub fn new(timeline: &'a Timeline, session: &'a Session) -> Self {
        let mut lines: Vec<KeptLine> = session.lines.iter().collect();
        let jumps: Vec<&Session> = timeline.jumps_of(session).collect();
        for jump in &jumps {
            lines.extend(jump.lines.iter());
        }
        lines.sort_by_key(|l| l.line);
        let evidence = session.failure.as_ref().map(|(_, l)| l).or_else(|| {
            if session.ended.is_some() {
                None
            } else {
                session
                    .expecting
                    .as_ref()
                    .map(|(_, line)| line)
                    .or(session.last_event.as_ref())
            }
        });
        Subject {
            session,
            jumps,
            lines,
            evidence,
            server: None,
        }
    }
}

impl RuleSet {
    /// Loads the built-in rules.
    pub fn builtin() -> Result<RuleSet, RuleErrors> {
        RuleSet::compile(builtin_sources())
    }

    /// Checks and compiles rule sources, collecting every error in every file.
    pub fn compile(sources: Vec<RuleSource>) -> Result<RuleSet, RuleErrors> {
        let mut errors = Vec::new();
        let mut rules = Vec::with_capacity(sources.len());
        let mut seen: Vec<(&str, &Path)> = Vec::with_capacity(sources.len());
        for source in &sources {
            if let Some((_, first)) = seen.iter().find(|(id, _)| *id == source.id) {
                errors.push(RuleError::at_file(
                    &source.path,
                    format!(
                        "rule id `{}` is already defined in {}",
                        source.id,
                        first.display()
                    ),
                ));
                continue;
            }
            seen.push((&source.id, &source.path));
            if let Err(e) = check_id(&source.id) {
                errors.push(RuleError::at_file(&source.path, e));
            }
            let raw = match source
                .as_tree
                .and_then(|tree| serde::Deserialize::deserialize(tree).ok())
            {
                Some(raw) => Ok(raw),
                None => read_yaml(&source.text),
            };
            let raw = match raw {
                Ok(raw) => raw,
                Err(e) => {
                    let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
                    let message = e.to_string();
                    // serde_yaml appends " at line L column C"; the prefix already says where.
                    let message = message.split(" at line ").next().unwrap_or(&message);
                    let message = format!("{message}{}", suggestion(message));
                    errors.push(RuleError {
                        path: source.path.to_path_buf(),
                        line,
                        column,
                        message,
                    });
                    continue;
                }
            };
            match compile_rule(source, raw) {
                Ok(rule) => rules.push(rule),
                Err(mut e) => errors.append(&mut e),
            }
        }
        let ids: Vec<&str> = rules.iter().map(|r: &Rule| &*r.id).collect();
        for rule in &rules {
            let unknown = rule.outranks.iter().enumerate();
            for (i, other) in unknown.filter(|(_, o)| !ids.contains(&o.as_ref())) {
                let source = sources
                    .iter()
                    .find(|s| s.id == rule.id)
                    .expect("every rule has its source");
                errors.push(RuleError::at(
                    source,
                    &[Seg::Key("outranks"), Seg::Index(i)],
                    Target::Value,
                    format!("`outranks` names `{other}`, which is not a rule"),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(RuleErrors(errors));
        }
        share_patterns(&mut rules);
        Ok(RuleSet { rules })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Every rule that matches, best first: higher confidence, then more specific, then by id.
    pub fn rank<'r>(&'r self, subject: &Subject<'_>) -> Vec<Match<'r>> {
        let mut matches: Vec<Match<'r>> = self
            .rules
            .iter()
            .filter_map(|rule| {
                let (server_line, matched_lines) = rule.conditions.matches(subject)?;
                let confidence = match server_line {
                    Some(_) => Confidence::High,
                    None => rule.advice.confidence,
                };
                let score = (
                    server_line.is_some(),
                    confidence,
                    rule.conditions.specificity(),
                );
                Some(Match {
                    rule,
                    matched_lines,
                    server_line: server_line.cloned(),
                    score,
                })
            })
            .collect();
        matches.sort_by(|a, b| {
            b.score
                .cmp(&a.score)
                .then_with(|| a.rule.id.cmp(&b.rule.id))
        });
        apply_outranks(&mut matches);
        matches
    }
}

/// Moves each match above the matches it declares it outranks. The passes are bounded, so rules
/// that outrank each other in a cycle cannot make it loop.
fn apply_outranks(matches: &mut Vec<Match<'_>>) {
    for _ in 0..matches.len() {
        let mut moved = false;
        for i in 0..matches.len() {
            let first_outranked = (0..i).find(|&j| {
                matches[i]
                    .rule
                    .outranks
                    .iter()
                    .any(|o| *o == matches[j].rule.id)
            });
            if let Some(j) = first_outranked {
                let m = matches.remove(i);
                matches.insert(j, m);
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
}

impl Conditions {
    /// The server line that proves the rule, if any, and the client lines that made it match;
    /// `None` if it does not. Its `server_proven:` conditions are tried when the others fail.
    fn matches<'a>(&self, subject: &Subject<'a>) -> Option<(Option<&'a ServerLine>, Vec<LineRef>)> {
        let server_line = self.server_proof(subject)?;
        if let Some(lines) = self.check(subject) {
            return Some((server_line, lines));
        }
        let alternative = self.server_proven.as_deref()?;
        let proof = alternative.server_proof(subject)??;
        Some((Some(proof), alternative.check(subject)?))
    }

    /// What the paired server connection says of this rule: `None` rules it out (it logged an
    /// event the rule excludes, or none of the events and lines the rule needs),
    /// `Some(Some(line))` proves it, `Some(None)` when there is no server connection or the rule
    /// names no server event or line.
    fn server_proof<'a>(&self, subject: &Subject<'a>) -> Option<Option<&'a ServerLine>> {
        let Some(server) = subject.server else {
            return Some(None);
        };
        if self
            .no_server_events
            .iter()
            .any(|&k| server.first(k).is_some())
        {
            return None;
        }
        if self.server_events.is_empty() && self.server_lines.is_empty() {
            return Some(None);
        }
        let by_line = || {
            server
                .lines
                .iter()
                .find(|l| self.server_lines.iter().any(|r| r.is_match(l.message())))
        };
        self.server_events
            .iter()
            .find_map(|&k| server.first(k))
            .or_else(by_line)
            .map(Some)
    }

    /// The lines that made the rule match, or `None` if it does not.
    fn check(&self, subject: &Subject<'_>) -> Option<Vec<LineRef>> {
        let session = subject.session;
        if !self.fits_progress(session) {
            return None;
        }
        // What needs no regex first: a regex is compiled on its first use, so a rule ruled out
        // by a missing fact or a short wait never compiles one.
        if self.no_facts.iter().any(|&fact| session.has_fact(fact))
            || self.facts.iter().any(|&(fact, _)| !session.has_fact(fact))
        {
            return None;
        }
        let mut matched = self.event_lines(subject)?;
        let slow_step = match &self.slow_step {
            Some(condition) => {
                let step = session.slowest_setup_step.as_ref()?;
                if condition.phase.is_some_and(|p| p != step.phase)
                    || step.millis < condition.millis
                {
                    return None;
                }
                Some((condition, step))
            }
            None => None,
        };
        if let Some(evidence) = &self.evidence {
            let line = subject.evidence.filter(|l| evidence.is_match(&l.text))?;
            matched.push(line.clone());
        }
        for (fact, pattern) in &self.facts {
            if !session
                .fact_text(*fact)
                .is_some_and(|v| pattern.is_match(&v))
            {
                return None;
            }
        }
        if let Some((condition, step)) = slow_step {
            let matches = |regex: &Option<LazyRegex>, line: &LineRef| {
                regex.as_ref().is_none_or(|r| r.is_match(&line.text))
            };
            if !matches(&condition.after, &step.after) || !matches(&condition.before, &step.before)
            {
                return None;
            }
            matched.push(step.after.clone());
            matched.push(step.before.clone());
        }
        let first_hit = |regex: &LazyRegex| subject.lines.iter().find(|l| regex.is_match(l.text));
        for regex in &self.lines {
            matched.push(first_hit(regex)?.to_line_ref());
        }
        if !self.any_lines.is_empty() {
            let hit = self.any_lines.iter().find_map(first_hit)?;
            matched.push(hit.to_line_ref());
        }
        if self.absent.iter().any(|regex| first_hit(regex).is_some()) {
            return None;
        }
        matched.sort_by_key(|l| l.line);
        matched.dedup_by_key(|l| l.line);
        Some(matched)
    }

    /// Whether the connection got as far as the rule says, and no further: its outcome, phase,
    /// milestones, program and client version.
    fn fits_progress(&self, session: &Session) -> bool {
        let outcome = session.outcome();
        let any_of = |list: &[_], value| list.is_empty() || list.contains(&value);
        if !any_of(&self.outcome, outcome) {
            return false;
        }
        if !self.failed_phase.is_empty()
            && !session
                .failed_phase()
                .is_some_and(|p| self.failed_phase.contains(&p))
        {
            return false;
        }
        if !self.last_milestone.is_empty()
            && !session
                .last_milestone
                .as_ref()
                .is_some_and(|(m, _)| self.last_milestone.contains(m))
        {
            return false;
        }
        if !self.reached.iter().all(|m| session.reached(*m))
            || self.not_reached.iter().any(|m| session.reached(*m))
        {
            return false;
        }
        if !self.program.is_empty()
            && !self
                .program
                .contains(&session.program.unwrap_or(Program::Ssh))
        {
            return false;
        }
        if !self.version.is_empty() {
            let version = session
                .client_version
                .as_deref()
                .and_then(parse_openssh_version);
            let Some(version) = version else {
                return false;
            };
            if !self
                .version
                .iter()
                .all(|(cmp, bound)| compare(version, *cmp, *bound))
            {
                return false;
            }
        }
        true
    }

    /// The lines of the events the rule needs, or `None` if one is missing or one it rules out
    /// occurred.
    fn event_lines(&self, subject: &Subject<'_>) -> Option<Vec<LineRef>> {
        if self
            .no_events
            .iter()
            .any(|&e| subject.first_event_line(e).is_some())
        {
            return None;
        }
        let mut matched: Vec<LineRef> = Vec::new();
        for &event in &self.events {
            matched.push(subject.first_event_line(event)?.clone());
        }
        if !self.any_events.is_empty() {
            // The first listed that occurred is the one shown: the author orders them so.
            let hit = self
                .any_events
                .iter()
                .find_map(|&e| subject.first_event_line(e))?;
            matched.push(hit.clone());
        }
        Some(matched)
    }
}

fn compare(version: (u32, u32), cmp: Comparison, bound: (u32, u32)) -> bool {
    match cmp {
        Comparison::Less => version < bound,
        Comparison::LessOrEqual => version <= bound,
        Comparison::Equal => version == bound,
        Comparison::GreaterOrEqual => version >= bound,
        Comparison::Greater => version > bound,
    }
}

/// `OpenSSH_9.2p1 Debian-2`, `OpenSSH_for_Windows_9.5p1` → (9, 2) / (9, 5).
pub fn parse_openssh_version(software: &str) -> Option<(u32, u32)> {
    let rest = software.strip_prefix("OpenSSH_")?;
    let rest = rest.strip_prefix("for_Windows_").unwrap_or(rest);
    let mut parts = rest.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// A rule's YAML, read from a copy of its text: its texts are then its own (`Cow::Owned`), while
/// a built-in rule's tree lends it the binary's (`Cow::Borrowed`).
fn read_yaml(text: &str) -> Result<RawRule<'static>, serde_yaml::Error> {
    let copy = std::io::Cursor::new(text.as_bytes().to_vec());
    serde::Deserialize::deserialize(serde_yaml::Deserializer::from_reader(copy))
}

/// A rule's text without the blank space around it, still the document's own when it was.
fn trimmed(text: Text<'static>) -> RuleText {
    match text.0 {
        Cow::Borrowed(text) => Cow::Borrowed(text.trim()),
        Cow::Owned(text) if text.trim().len() == text.len() => Cow::Owned(text),
        Cow::Owned(text) => Cow::Owned(text.trim().to_string()),
    }
}

fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "rule folder name `{id}` is not a valid id: use lowercase letters, digits and `-`"
        ))
    }
}

fn compile_rule(source: &RuleSource, raw: RawRule<'static>) -> Result<Rule, Vec<RuleError>> {
    let mut errors = Vec::new();
    let conditions = compile_conditions(source, raw.matches, &mut errors);
    let mut check_text = |field: &str, value: &str| {
        if value.trim().is_empty() {
            errors.push(RuleError::at(
                source,
                &[Seg::Key(field)],
                Target::Key,
                format!("`{field}` must not be empty"),
            ));
        }
    };
    check_text("title", &raw.title);
    check_text("explanation", &raw.explanation);
    if let Some(proven) = &raw.proven_title {
        check_text("proven_title", proven);
        if conditions.server_events.is_empty() {
            errors.push(RuleError::at(
                source,
                &[Seg::Key("proven_title")],
                Target::Key,
                "`proven_title` needs a `server_events` condition in `match`: only a server's line \
                 can prove the cause"
                    .to_string(),
            ));
        }
    }
    let steps = |list: Vec<RawStep<'static>>| -> Vec<Step> {
        list.into_iter()
            .map(|s| Step {
                side: s.side,
                text: trimmed(s.text),
                command: s.command.map(|c| c.0),
            })
            .collect()
    };
    let tests = raw
        .tests
        .into_iter()
        .enumerate()
        .map(|(i, t): (usize, RawTest<'static>)| {
            let fixture = match (&source.dir, &t.fixture.0) {
                (Some(dir), name) => Cow::Owned(dir.join(&**name)),
                (None, Cow::Borrowed(name)) => Cow::Borrowed(Path::new(*name)),
                (None, Cow::Owned(name)) => Cow::Owned(PathBuf::from(name)),
            };
            if source.dir.is_some() && !fixture.is_file() {
                errors.push(RuleError::at(
                    source,
                    &[Seg::Key("tests"), Seg::Index(i), Seg::Key("fixture")],
                    Target::Value,
                    format!(
                        "fixture `{}` does not exist ({})",
                        &*t.fixture,
                        fixture.display()
                    ),
                ));
            }
            RuleTest {
                fixture,
                outcome: t.outcome,
                failed_phase: t.failed_phase,
                top_cause: match t.top_cause.unwrap_or_default() {
                    OneOrMany::One(id) => OneOrMany::One(id.0),
                    OneOrMany::Many(ids) => OneOrMany::Many(texts(ids)),
                },
                causes_include: texts(t.causes_include),
                quiet: t.quiet,
            }
        })
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Rule {
        id: source.id.clone(),
        dir: source.dir.clone(),
        phase: raw.phase,
        advice: Advice {
            title: trimmed(raw.title),
            confidence: raw.confidence,
            explanation: trimmed(raw.explanation),
            checks: steps(raw.checks),
            fixes: steps(raw.fixes),
            server_log: texts(raw.server_log),
            references: texts(raw.references),
        },
        proven_title: raw.proven_title.map(trimmed),
        success: raw.success,
        tests,
        outranks: texts(raw.outranks),
        conditions,
    })
}

/// A list of a rule's texts, as the compiled rule keeps them.
fn texts(list: Vec<Text<'static>>) -> Vec<RuleText> {
    list.into_iter().map(|text| text.0).collect()
}

/// The fact a rule names at `at`, or an error there saying which facts there are.
fn known_fact(
    source: &RuleSource,
    at: &[Seg],
    target: Target,
    key: &str,
    errors: &mut Vec<RuleError>,
) -> Option<Fact> {
    let known = facts::definition(key).map(|d| d.fact);
    if known.is_none() {
        let names: Vec<&str> = facts::ALL.iter().map(|d| d.name).collect();
        errors.push(RuleError::at(
            source,
            at,
            target,
            format!(
                "unknown fact `{key}`{}; known facts: {}",
                did_you_mean(key, &names),
                names.join(", ")
            ),
        ));
    }
    known
}

fn compile_conditions(
    source: &RuleSource,
    raw: RawMatch<'static>,
    errors: &mut Vec<RuleError>,
) -> Conditions {
    let regexes = |list: Vec<Text<'static>>, field: &str, errors: &mut Vec<RuleError>| {
        let at = |i| [Seg::Key("match"), Seg::Key(field), Seg::Index(i)];
        list.into_iter()
            .enumerate()
            .filter_map(|(i, p)| compile_regex(source, &at(i), p, errors))
            .collect::<Vec<LazyRegex>>()
    };
    let lines = regexes(raw.lines, "lines", errors);
    let any_lines = regexes(raw.any_lines, "any_lines", errors);
    let absent = regexes(raw.absent, "absent", errors);
    let server_lines = regexes(raw.server_lines, "server_lines", errors);
    let evidence = raw.evidence.and_then(|p| {
        compile_regex(
            source,
            &[Seg::Key("match"), Seg::Key("evidence")],
            p,
            errors,
        )
    });
    let within: &[Seg] = &[Seg::Key("match")];
    let (all_events, any_events, no_events) = (
        compile_names(source, raw.events, (within, "events"), errors, EVENTS),
        compile_names(
            source,
            raw.any_events,
            (within, "any_events"),
            errors,
            EVENTS,
        ),
        compile_names(source, raw.no_events, (within, "no_events"), errors, EVENTS),
    );
    let (server_events, no_server_events) = (
        compile_names(
            source,
            raw.server_events,
            (within, "server_events"),
            errors,
            SERVER_EVENTS,
        ),
        compile_names(
            source,
            raw.no_server_events,
            (within, "no_server_events"),
            errors,
            SERVER_EVENTS,
        ),
    );
    let server_proven = raw
        .server_proven
        .map(|alt| Box::new(compile_server_proven(source, alt, errors)));
    let (facts, no_facts) = compile_facts(source, raw.facts, &raw.no_facts, errors);
    let version = raw.version.map(|v| {
        parse_version_range(&v).unwrap_or_else(|e| {
            let at = [Seg::Key("match"), Seg::Key("version")];
            errors.push(RuleError::at(source, &at, Target::Value, e));
            Vec::new()
        })
    });
    Conditions {
        outcome: raw.outcome.unwrap_or_default(),
        failed_phase: raw.failed_phase.unwrap_or_default(),
        last_milestone: raw.last_milestone.unwrap_or_default(),
        reached: raw.reached,
        not_reached: raw.not_reached,
        program: raw.program.unwrap_or_default(),
        version: version.unwrap_or_default(),
        evidence,
        lines,
        any_lines,
        absent,
        events: all_events,
        any_events,
        no_events,
        server_events,
        no_server_events,
        server_lines,
        server_proven,
        facts,
        no_facts,
        slow_step: raw
            .slow_step
            .and_then(|step| compile_slow_step(source, step, errors)),
    }
}

/// `server_proven:`: its sshd events and the client conditions they stand in for.
fn compile_server_proven(
    source: &RuleSource,
    raw: RawServerProven<'static>,
    errors: &mut Vec<RuleError>,
) -> Conditions {
    let within: &[Seg] = &[Seg::Key("match"), Seg::Key("server_proven")];
    Conditions {
        server_events: compile_names(
            source,
            raw.server_events,
            (within, "server_events"),
            errors,
            SERVER_EVENTS,
        ),
        failed_phase: raw.failed_phase.unwrap_or_default(),
        reached: raw.reached,
        events: compile_names(source, raw.events, (within, "events"), errors, EVENTS),
        ..Conditions::default()
    }
}

/// What a list of names in `match:` names: the grammar's events or sshd's.
struct Names<K> {
    /// As errors say it: `event`, `sshd event`.
    what: &'static str,
    known: fn() -> &'static [&'static str],
    named: fn(&str) -> Option<K>,
}

const EVENTS: Names<EventKind> = Names {
    what: "event",
    known: event_names,
    named: EventKind::named,
};

const SERVER_EVENTS: Names<ServerEventKind> = Names {
    what: "sshd event",
    known: crate::server::event_names,
    named: ServerEventKind::named,
};

/// Each name of the list `<field>` under `within` (`match`, `match.server_proven`); an unknown
/// one is an error at its place, with the closest known name and all of them.
fn compile_names<K>(
    source: &RuleSource,
    list: Vec<Text<'_>>,
    (within, field): (&[Seg], &str),
    errors: &mut Vec<RuleError>,
    names: Names<K>,
) -> Vec<K> {
    let mut kinds = Vec::new();
    for (i, name) in list.iter().enumerate() {
        match (names.named)(name) {
            Some(kind) => kinds.push(kind),
            None => {
                let known = (names.known)();
                let at = [within, &[Seg::Key(field), Seg::Index(i)]].concat();
                let what = names.what;
                errors.push(RuleError::at(
                    source,
                    &at,
                    Target::Value,
                    format!(
                        "unknown {what} `{}` in `{field}`{}; known {what}s: {}",
                        &**name,
                        did_you_mean(name, known),
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    kinds
}

/// `facts:` (each fact with its pattern) and `no_facts:`, every name a known fact.
fn compile_facts(
    source: &RuleSource,
    facts: BTreeMap<Text<'static>, Text<'static>>,
    no_facts: &[Text<'_>],
    errors: &mut Vec<RuleError>,
) -> (Vec<(Fact, LazyRegex)>, Vec<Fact>) {
    let mut patterns = Vec::new();
    for (key, pattern) in facts {
        let at = [Seg::Key("match"), Seg::Key("facts"), Seg::Key(&key)];
        let fact = known_fact(source, &at, Target::Key, &key, errors);
        if let (Some(fact), Some(r)) = (fact, compile_regex(source, &at, pattern, errors)) {
            patterns.push((fact, r));
        }
    }
    let absent = no_facts
        .iter()
        .enumerate()
        .filter_map(|(i, key)| {
            let at = [Seg::Key("match"), Seg::Key("no_facts"), Seg::Index(i)];
            known_fact(source, &at, Target::Value, key, errors)
        })
        .collect();
    (patterns, absent)
}

/// `slow_step:`, its regexes compiled and its seconds checked.
fn compile_slow_step(
    source: &RuleSource,
    step: RawSlowStep<'static>,
    errors: &mut Vec<RuleError>,
) -> Option<SlowStepCondition> {
    let at = |key| [Seg::Key("match"), Seg::Key("slow_step"), Seg::Key(key)];
    let regex = |key, p: Option<Text<'static>>, errors: &mut Vec<RuleError>| match p {
        Some(p) => compile_regex(source, &at(key), p, errors).map(Some),
        None => Some(None),
    };
    if !(step.seconds >= 0.0 && step.seconds.is_finite()) {
        errors.push(RuleError::at(
            source,
            &at("seconds"),
            Target::Value,
            "`seconds` must be a number of seconds, 0 or more".into(),
        ));
        return None;
    }
    Some(SlowStepCondition {
        millis: (step.seconds * 1000.0) as u64,
        phase: step.phase,
        after: regex("after", step.after, errors)?,
        before: regex("before", step.before, errors)?,
    })
}

/// For serde's "unknown variant `authh`, expected one of `config`, …" (or field): the closest
/// allowed value, as `; did you mean `auth`?`.
fn suggestion(message: &str) -> String {
    let Some((_, rest)) = message
        .split_once("unknown variant `")
        .or_else(|| message.split_once("unknown field `"))
    else {
        return String::new();
    };
    let Some((word, allowed)) = rest.split_once('`') else {
        return String::new();
    };
    let allowed: Vec<&str> = allowed.split('`').skip(1).step_by(2).collect();
    did_you_mean(word, &allowed)
}

/// `; did you mean `auth`?` when one of `known` is close to `word`, else nothing.
fn did_you_mean(word: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(word, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!("; did you mean `{k}`?"))
        .unwrap_or_default()
}

/// Parses one regex of a rule without compiling it; a bad one is reported at its place.
fn check_regex(
    source: &RuleSource,
    at: &[Seg],
    pattern: &str,
    errors: &mut Vec<RuleError>,
) -> Option<()> {
    // Rule regexes run in ASCII mode on bytes (see LazyRegex::is_match): parse them the same way.
    let mut parser = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build();
    match parser.parse(pattern) {
        Ok(_) => Some(()),
        Err(e) => {
            let reason = e
                .to_string()
                .lines()
                .last()
                .unwrap_or("invalid regex")
                .trim()
                .to_string();
            errors.push(RuleError::at(
                source,
                at,
                Target::Value,
                format!("bad regex `{pattern}`: {reason}"),
            ));
            None
        }
    }
}

/// Checks one regex of a rule, to be compiled when first needed; a bad one is reported at its
/// place in the file.
fn compile_regex(
    source: &RuleSource,
    at: &[Seg],
    pattern: Text<'static>,
    errors: &mut Vec<RuleError>,
) -> Option<LazyRegex> {
    if !source.built_in {
        check_regex(source, at, &pattern, errors)?;
    }
    Some(LazyRegex::new(pattern.0))
}

/// `">=7.4, <8.0"` → comparisons on (major, minor).
fn parse_version_range(text: &str) -> Result<Vec<VersionBound>, String> {
    text.split(',')
        .map(|part| {
            let part = part.trim();
            let (cmp, rest) = [
                (">=", Comparison::GreaterOrEqual),
                ("<=", Comparison::LessOrEqual),
                (">", Comparison::Greater),
                ("<", Comparison::Less),
                ("=", Comparison::Equal),
            ]
            .iter()
            .find_map(|(op, cmp)| part.strip_prefix(op).map(|rest| (*cmp, rest.trim())))
            .ok_or_else(|| {
                format!("version condition `{part}` must start with <, <=, =, >= or >")
            })?;
            let mut numbers = rest.split('.');
            let major = numbers.next().and_then(|n| n.parse().ok());
            let minor = numbers.next().map_or(Some(0), |n| n.parse().ok());
            match (major, minor, numbers.next()) {
                (Some(major), Some(minor), None) => Ok((cmp, (major, minor))),
                _ => Err(format!("version `{rest}` must look like 8 or 8.5")),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(id: &str, text: &str) -> RuleSource {
        RuleSource {
            id: id.to_string().into(),
            path: PathBuf::from(format!("rules/{id}/rule.yaml")).into(),
            text: Cow::Owned(text.into()),
            as_tree: None,
            built_in: false,
            dir: None,
        }
    }

    const GOOD: &str =
        "title: t\nphase: auth\nconfidence: high\nmatch:\n  failed_phase: auth\nexplanation: e\n";

    #[test]
    fn builtin_rules_are_valid() {
        let set = RuleSet::builtin().unwrap_or_else(|e| panic!("built-in rules are invalid:\n{e}"));
        assert!(set.get("ok").is_some());
        // Every regex parsed now, as a user's rule's are at load.
        let as_user_rules = builtin_sources()
            .into_iter()
            .map(|source| RuleSource {
                built_in: false,
                ..source
            })
            .collect();
        if let Err(e) = RuleSet::compile(as_user_rules) {
            panic!("built-in rules are invalid:\n{e}");
        }
    }

    #[test]
    fn the_first_fix_shown_is_no_alternative() {
        // Reports show the client's fixes, then the server's: the first one shown cannot start
        // with "Or" or "Otherwise", which only read right after another fix.
        let set = RuleSet::builtin().unwrap();
        for rule in set.rules() {
            let fixes = &rule.advice.fixes;
            let first = [Side::Client, Side::Server]
                .iter()
                .find_map(|&side| fixes.iter().find(|f| f.side == side));
            if let Some(fix) = first {
                let alternative = ["Or ", "Otherwise "]
                    .iter()
                    .any(|w| fix.text.starts_with(w));
                assert!(!alternative, "{}: {}", rule.id, fix.text);
            }
        }
    }

    #[test]
    fn builtin_trees_say_what_the_yaml_says() {
        for source in builtin_sources() {
            let tree = source
                .as_tree
                .unwrap_or_else(|| panic!("{} has no tree", source.id));
            let from_tree: RawRule = serde::Deserialize::deserialize(tree).expect("tree reads");
            let from_yaml: RawRule = serde_yaml::from_str(&source.text).expect("YAML reads");
            assert_eq!(
                format!("{from_tree:?}"),
                format!("{from_yaml:?}"),
                "{}",
                source.id
            );
        }
    }

    #[test]
    fn unknown_key_is_refused_with_its_place() {
        let text = "title: t\nphase: auth\nconfidence: high\nmatch:\n  failed_phse: auth\nexplanation: e\n";
        let err = RuleSet::compile(vec![source("x", text)]).unwrap_err();
        let e = &err.0[0];
        assert_eq!((e.line, e.column), (5, 3), "{e}");
        assert!(e.message.contains("unknown field `failed_phse`"), "{e}");
    }

    #[test]
    fn bad_regex_is_placed_at_the_regex() {
        let text = GOOD.replace(
            "  failed_phase: auth\n",
            "  failed_phase: auth\n  lines: ['Permission (denied']\n",
        );
        let err = RuleSet::compile(vec![source("x", &text)]).unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!((err.0[0].line, err.0[0].column), (6, 11), "{}", err.0[0]);
        assert!(err.0[0].message.starts_with("bad regex"));
    }

    #[test]
    fn every_error_is_collected_and_ids_are_unique() {
        let bad_phase = GOOD.replace("phase: auth\nconfidence", "phase: nowhere\nconfidence");
        let err = RuleSet::compile(vec![
            source("a", GOOD),
            source("a", GOOD),
            source("b", &bad_phase),
            source("Bad", GOOD),
        ])
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("already defined"), "{text}");
        assert!(
            text.contains("rules/b/rule.yaml:2:8: phase: unknown variant `nowhere`"),
            "{text}"
        );
        assert!(text.contains("not a valid id"), "{text}");
    }

    /// The timeline of the fixture at `path` (relative to the crate).
    fn timeline_of(path: &str) -> Timeline {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        let file = std::io::BufReader::new(std::fs::File::open(path).expect("fixture"));
        crate::analyze::timeline_of(file).expect("reads")
    }

    /// The ranked rule ids of `set` for the fixture at `path`.
    fn ranked(set: &RuleSet, path: &str) -> Vec<String> {
        let timeline = timeline_of(path);
        let subject = Subject::new(&timeline, timeline.sessions.last().expect("a session"));
        set.rank(&subject)
            .iter()
            .map(|m| m.rule.id.to_string())
            .collect()
    }

    #[test]
    fn events_match_typed_lines_and_no_events_rule_out() {
        let rule = |conditions: &str| GOOD.replace("  failed_phase: auth\n", conditions);
        let set = RuleSet::compile(vec![
            source(
                "seen",
                &rule("  events: [no_mutual_signature, permission_denied]\n"),
            ),
            source(
                "any",
                &rule("  any_events: [host_key_failed, no_mutual_signature]\n"),
            ),
            source("not", &rule("  no_events: [no_mutual_signature]\n")),
            source("missing", &rule("  events: [server_accepts_key]\n")),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let fixture = "rules/auth-no-mutual-signature/fixtures/ssh-vvv.log";
        assert_eq!(ranked(&set, fixture), ["seen", "any"]);
        assert_eq!(
            ranked(&set, "rules/ok/fixtures/ssh-vvv.log"),
            ["missing", "not"]
        );
    }

    #[test]
    fn an_events_line_is_shown_as_evidence() {
        let text = GOOD.replace(
            "  failed_phase: auth\n",
            "  events: [no_mutual_signature]\n",
        );
        let set = RuleSet::compile(vec![source("x", &text)]).unwrap();
        let timeline = timeline_of("rules/auth-no-mutual-signature/fixtures/ssh-vvv.log");
        let session = timeline.sessions.last().unwrap();
        let matches = set.rank(&Subject::new(&timeline, session));
        let lines = &matches[0].matched_lines;
        assert_eq!(lines.len(), 1);
        assert!(lines[0].text.contains("no mutual signature"), "{lines:?}");
    }

    #[test]
    fn server_lines_prove_a_cause_and_bad_server_conditions_are_placed() {
        let rule = |conditions: &str| GOOD.replace("  failed_phase: auth\n", conditions);
        let set = RuleSet::compile(vec![
            source("plain", &rule("  failed_phase: auth\n")),
            // Anchored at the message: the collector's prefix is not part of it.
            source(
                "proven",
                &rule("  server_lines: ['^Invalid user \\S+ from']\n"),
            ),
            source("unproven", &rule("  server_lines: ['^no such words']\n")),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let timeline = timeline_of("rules/auth-key-rejected/fixtures/ssh-vvv.log");
        let session = timeline.sessions.last().unwrap();
        let log = "Dec  6 20:47:28 lab sshd[9]: Invalid user vvvlab from 127.0.0.1 port 4711\n";
        let log = crate::server::ServerLog::read(log.as_bytes()).unwrap();
        let mut subject = Subject::new(&timeline, session);
        subject.server = log.connections.first();
        let matches = set.rank(&subject);
        let ids: Vec<&str> = matches.iter().map(|m| &*m.rule.id).collect();
        assert_eq!(ids, ["proven", "plain"]);
        let line = matches[0].server_line.as_ref().unwrap();
        assert_eq!(
            line.message(),
            "Invalid user vvvlab from 127.0.0.1 port 4711"
        );
        // Without a server log the condition is not looked at.
        subject.server = None;
        assert_eq!(set.rank(&subject).len(), 3);

        let err = RuleSet::compile(vec![source("x", &rule("  server_lines: ['(x']\n"))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("rules/x/rule.yaml:5:18: bad regex"), "{err}");
        let bad = "  server_proven:\n    server_events: [acount_expired]\n";
        let err = RuleSet::compile(vec![source("x", &rule(bad))])
            .unwrap_err()
            .to_string();
        assert!(err.contains("rules/x/rule.yaml:6:21"), "{err}");
        assert!(err.contains("did you mean `account_expired`?"), "{err}");
    }

    #[test]
    fn unknown_event_is_placed_with_a_suggestion() {
        let text = GOOD.replace(
            "  failed_phase: auth\n",
            "  failed_phase: auth\n  no_events: [unprotected_key, no_mutal_signature]\n",
        );
        let err = RuleSet::compile(vec![source("x", &text)]).unwrap_err();
        assert_eq!(err.0.len(), 1, "{err}");
        let e = &err.0[0];
        assert_eq!((e.line, e.column), (6, 32), "{e}");
        assert!(
            e.message.starts_with(
                "unknown event `no_mutal_signature` in `no_events`; did you mean `no_mutual_signature`?"
            ),
            "{e}"
        );
        assert!(e.message.contains("known events: client_version, "), "{e}");
    }

    #[test]
    fn a_proven_title_needs_a_server_event_to_prove_it() {
        let text = GOOD.replacen("phase: auth\n", "phase: auth\nproven_title: sure\n", 1);
        let err = RuleSet::compile(vec![source("x", &text)]).unwrap_err();
        let e = &err.0[0];
        assert_eq!((e.line, e.column), (3, 1), "{e}");
        assert!(
            e.message.contains("needs a `server_events` condition"),
            "{e}"
        );
        let text = text.replace(
            "  failed_phase: auth\n",
            "  failed_phase: auth\n  server_events: [user_not_allowed]\n",
        );
        let set = RuleSet::compile(vec![source("x", &text)]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.rules()[0].proven_title.as_deref(), Some("sure"));
    }

    #[test]
    fn a_bad_value_names_its_field_the_allowed_values_and_the_closest() {
        let text = GOOD.replace("  failed_phase: auth\n", "  failed_phase: [kex, authh]\n");
        let err = RuleSet::compile(vec![source("x", &text)]).unwrap_err();
        let e = &err.0[0];
        assert_eq!((e.line, e.column), (5, 23), "{e}");
        assert!(
            e.message.starts_with(
                "match.failed_phase[1]: unknown variant `authh`, expected one of `config`"
            ),
            "{e}"
        );
        assert!(e.message.ends_with("; did you mean `auth`?"), "{e}");
        let text = GOOD.replace("  failed_phase: auth\n", "  facts: { usr: '' }\n");
        let err = RuleSet::compile(vec![source("x", &text)]).unwrap_err();
        assert!(
            err.0[0]
                .message
                .starts_with("unknown fact `usr`; did you mean `user`?"),
            "{err}"
        );
    }

    #[test]
    fn an_error_is_placed_at_its_value_even_when_the_text_appears_before() {
        // `auth` is first written as the phase; the error is about the second `auth`.
        let text = format!("{GOOD}outranks: [ok, auth]\n");
        let err = RuleSet::compile(vec![source("x", &text), source("ok", GOOD)]).unwrap_err();
        let e = &err.0[0];
        assert_eq!((e.line, e.column), (7, 16), "{e}");
        assert_eq!(e.message, "`outranks` names `auth`, which is not a rule");
        // The same regex twice, bad both times: each error at its own place.
        let text = GOOD.replace(
            "  failed_phase: auth\n",
            "  lines: ['(x']\n  absent:\n    - '(x'\n",
        );
        let err = RuleSet::compile(vec![source("x", &text)]).unwrap_err();
        let places: Vec<_> = err.0.iter().map(|e| (e.line, e.column)).collect();
        assert_eq!(places, [(5, 11), (7, 7)], "{err}");
    }

    #[test]
    fn versions() {
        assert_eq!(
            parse_openssh_version("OpenSSH_9.2p1 Debian-2+deb12u6"),
            Some((9, 2))
        );
        assert_eq!(
            parse_openssh_version("OpenSSH_for_Windows_9.5p1"),
            Some((9, 5))
        );
        assert_eq!(parse_openssh_version("OpenSSH_10.0"), Some((10, 0)));
        let range = parse_version_range(">=7.4, <8").unwrap();
        assert!(range.iter().all(|(c, b)| compare((7, 9), *c, *b)));
        assert!(!range.iter().all(|(c, b)| compare((8, 0), *c, *b)));
        assert!(parse_version_range("~8").is_err());
    }
}
