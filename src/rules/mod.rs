//! The rule set: loads `rules/<id>/rule.yaml` files (built-in and the user's), checks and compiles
//! them with every error collected, and ranks the rules that match a connection.
//!
//! A rule is data: adding a failure mode is adding a folder, never editing this engine.

mod raw;

use std::fmt;
use std::path::{Path, PathBuf};

use std::sync::OnceLock;

use regex::bytes::{Regex, RegexBuilder};
use serde::Serialize;

pub use raw::{Confidence, Side};
use raw::{OneOrMany, RawMatch, RawRule, RawStep, RawTest};

use crate::facts::{self, Fact};
use crate::timeline::{KeptLine, LineRef, Milestone, Outcome, Phase, Program, Session, Timeline};

/// The text of one rule file and where it came from.
#[derive(Debug, Clone)]
pub struct RuleSource {
    /// The rule's id: the name of its folder.
    pub id: String,
    /// Where the file is, as shown in errors (`rules/auth-key-rejected/rule.yaml`).
    pub path: PathBuf,
    pub text: String,
    /// The same document as JSON, converted from `text` when the binary was built (built-in rules
    /// only): it says nothing more, it is only read ten times faster than YAML.
    pub as_json: Option<&'static str>,
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
        .map(|&(id, text, as_json)| RuleSource {
            id: id.to_string(),
            path: PathBuf::from(format!("<built-in>/rules/{id}/rule.yaml")),
            text: text.to_string(),
            as_json,
            built_in: true,
            dir: None,
        })
        .collect()
}

/// Reads every `*/rule.yaml` under `dir`, in name order.
pub fn load_dir(dir: &Path) -> Result<Vec<RuleSource>, RuleErrors> {
    let io_error =
        |path: &Path, e: std::io::Error| RuleErrors(vec![RuleError::at_file(path, e.to_string())]);
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io_error(dir, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.join("rule.yaml").is_file())
        .collect();
    folders.sort();
    folders
        .into_iter()
        .map(|folder| {
            let path = folder.join("rule.yaml");
            let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
            let id = folder
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(RuleSource {
                id,
                path,
                text,
                as_json: None,
                built_in: false,
                dir: Some(folder),
            })
        })
        .collect()
}

/// One problem in one rule file, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl RuleError {
    fn at_file(path: &Path, message: String) -> Self {
        RuleError {
            path: path.to_path_buf(),
            line: 1,
            column: 1,
            message,
        }
    }

    /// An error about `needle`, placed where it first appears in the file (or at the top).
    fn near(source: &RuleSource, needle: &str, message: String) -> Self {
        let (line, column) = locate(&source.text, needle);
        RuleError {
            path: source.path.clone(),
            line,
            column,
            message,
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// Every problem found in a rule set: a rule set loads whole or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleErrors(pub Vec<RuleError>);

impl fmt::Display for RuleErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// 1-based line and column of the first occurrence of `needle` in `text` (1:1 if absent).
fn locate(text: &str, needle: &str) -> (usize, usize) {
    let Some(at) = (!needle.is_empty()).then(|| text.find(needle)).flatten() else {
        return (1, 1);
    };
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(at, |nl| at - nl - 1) + 1;
    (line, column)
}

/// A check or fix a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub side: Side,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// A fixture and its expected verdict.
#[derive(Debug, Clone)]
pub struct RuleTest {
    pub fixture: PathBuf,
    pub outcome: Option<Outcome>,
    pub failed_phase: Option<Option<Phase>>,
    pub top_cause: Vec<String>,
    pub causes_include: Vec<String>,
    pub quiet: bool,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub path: PathBuf,
    pub dir: Option<PathBuf>,
    pub title: String,
    pub phase: Phase,
    pub confidence: Confidence,
    pub explanation: String,
    pub checks: Vec<Step>,
    pub fixes: Vec<Step>,
    pub server_log: Vec<String>,
    pub references: Vec<String>,
    pub tests: Vec<RuleTest>,
    pub outranks: Vec<String>,
    conditions: Conditions,
}

/// The match conditions. Regexes are compiled when a connection first gets as far as needing
/// them: most rules are ruled out by their phase and milestones first.
#[derive(Debug, Clone, Default)]
struct Conditions {
    outcome: Vec<Outcome>,
    failed_phase: Vec<Phase>,
    last_milestone: Vec<Milestone>,
    reached: Vec<Milestone>,
    not_reached: Vec<Milestone>,
    program: Vec<Program>,
    version: Vec<VersionBound>,
    evidence: Option<LazyRegex>,
    lines: Vec<LazyRegex>,
    any_lines: Vec<LazyRegex>,
    absent: Vec<LazyRegex>,
    facts: Vec<(Fact, LazyRegex)>,
    no_facts: Vec<Fact>,
    slow_step: Option<SlowStepCondition>,
}

/// A regex compiled on first use: most rules are ruled out by their cheap conditions (phase,
/// milestones) before any of their regexes is needed, so start-up compiles only what matches need.
#[derive(Debug, Clone)]
struct LazyRegex {
    pattern: String,
    compiled: OnceLock<Option<Regex>>,
}

impl LazyRegex {
    fn new(pattern: String) -> Self {
        LazyRegex {
            pattern,
            compiled: OnceLock::new(),
        }
    }

    /// A pattern that parsed but cannot be compiled (over the size limit) matches nothing.
    ///
    /// ASCII mode: OpenSSH escapes every non-ASCII byte it logs (as `\ooo`), and Unicode classes
    /// (`.`, `\d`, `\w`) would make the automata many times larger and slower to build.
    fn is_match(&self, text: &str) -> bool {
        self.compiled
            .get_or_init(|| RegexBuilder::new(&self.pattern).unicode(false).build().ok())
            .as_ref()
            .is_some_and(|r| r.is_match(text.as_bytes()))
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
    /// How much a match of these conditions says: more conditions, more specific.
    fn specificity(&self) -> usize {
        [
            !self.outcome.is_empty(),
            !self.failed_phase.is_empty(),
            !self.last_milestone.is_empty(),
            !self.program.is_empty(),
            !self.version.is_empty(),
            !self.any_lines.is_empty(),
        ]
        .iter()
        .filter(|b| **b)
        .count()
            + 2 * usize::from(self.evidence.is_some())
            + 2 * self.lines.len()
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
    score: (Confidence, usize),
}

/// What rules are matched against: one connection and the jump-host connections it went through.
pub struct Subject<'a> {
    pub session: &'a Session,
    pub lines: Vec<KeptLine<'a>>,
    /// The decisive line: the failure, or for a log that stops, the last line OpenSSH printed.
    pub evidence: Option<&'a LineRef>,
}

impl<'a> Subject<'a> {
    pub fn new(timeline: &'a Timeline, session: &'a Session) -> Self {
        let mut lines: Vec<KeptLine> = session.lines.iter().collect();
        for jump in timeline.jumps_of(session) {
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
            lines,
            evidence,
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
        let mut rules = Vec::new();
        let mut seen: Vec<(&str, &Path)> = Vec::new();
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
                .as_json
                .and_then(|json| serde_json::from_str(json).ok())
            {
                Some(raw) => Ok(raw),
                None => serde_yaml::from_str::<RawRule>(&source.text),
            };
            let raw = match raw {
                Ok(raw) => raw,
                Err(e) => {
                    let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
                    let message = e.to_string();
                    // serde_yaml appends " at line L column C"; the prefix already says where.
                    let message = message
                        .split(" at line ")
                        .next()
                        .unwrap_or(&message)
                        .to_string();
                    errors.push(RuleError {
                        path: source.path.clone(),
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
        let ids: Vec<&str> = rules.iter().map(|r: &Rule| r.id.as_str()).collect();
        for rule in &rules {
            for other in rule.outranks.iter().filter(|o| !ids.contains(&o.as_str())) {
                let source = sources
                    .iter()
                    .find(|s| s.id == rule.id)
                    .expect("every rule has its source");
                errors.push(RuleError::near(
                    source,
                    other,
                    format!("`outranks` names `{other}`, which is not a rule"),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(RuleErrors(errors));
        }
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
                let matched_lines = rule.conditions.check(subject)?;
                let score = (rule.confidence, rule.conditions.specificity());
                Some(Match {
                    rule,
                    matched_lines,
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
            let first_outranked =
                (0..i).find(|&j| matches[i].rule.outranks.contains(&matches[j].rule.id));
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
    /// The lines that made the rule match, or `None` if it does not.
    fn check(&self, subject: &Subject<'_>) -> Option<Vec<LineRef>> {
        let session = subject.session;
        let outcome = session.outcome();
        let any_of = |list: &[_], value| list.is_empty() || list.contains(&value);
        if !any_of(&self.outcome, outcome) {
            return None;
        }
        if !self.failed_phase.is_empty()
            && !session
                .failed_phase()
                .is_some_and(|p| self.failed_phase.contains(&p))
        {
            return None;
        }
        if !self.last_milestone.is_empty()
            && !session
                .last_milestone
                .as_ref()
                .is_some_and(|(m, _)| self.last_milestone.contains(m))
        {
            return None;
        }
        if !self.reached.iter().all(|m| session.reached(*m))
            || self.not_reached.iter().any(|m| session.reached(*m))
        {
            return None;
        }
        if !self.program.is_empty()
            && !self
                .program
                .contains(&session.program.unwrap_or(Program::Ssh))
        {
            return None;
        }
        if !self.version.is_empty() {
            let version = session
                .client_version
                .as_deref()
                .and_then(parse_openssh_version)?;
            if !self
                .version
                .iter()
                .all(|(cmp, bound)| compare(version, *cmp, *bound))
            {
                return None;
            }
        }
        // What needs no regex first: a regex is compiled on its first use, so a rule ruled out
        // by a missing fact or a short wait never compiles one.
        if self.no_facts.iter().any(|&fact| session.has_fact(fact))
            || self.facts.iter().any(|&(fact, _)| !session.has_fact(fact))
        {
            return None;
        }
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
        let mut matched: Vec<LineRef> = Vec::new();
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

fn compile_rule(source: &RuleSource, raw: RawRule) -> Result<Rule, Vec<RuleError>> {
    let mut errors = Vec::new();
    let conditions = compile_conditions(source, raw.matches, &mut errors);
    let mut check_text = |field: &str, value: &str| {
        if value.trim().is_empty() {
            errors.push(RuleError::near(
                source,
                &format!("{field}:"),
                format!("`{field}` must not be empty"),
            ));
        }
    };
    check_text("title", &raw.title);
    check_text("explanation", &raw.explanation);
    let steps = |list: Vec<RawStep>| -> Vec<Step> {
        list.into_iter()
            .map(|s| Step {
                side: s.side,
                text: s.text.trim().to_string(),
                command: s.command,
            })
            .collect()
    };
    let tests = raw
        .tests
        .into_iter()
        .map(|t: RawTest| {
            let fixture = match &source.dir {
                Some(dir) => dir.join(&t.fixture),
                None => PathBuf::from(&t.fixture),
            };
            if source.dir.is_some() && !fixture.is_file() {
                errors.push(RuleError::near(
                    source,
                    &t.fixture,
                    format!(
                        "fixture `{}` does not exist ({})",
                        t.fixture,
                        fixture.display()
                    ),
                ));
            }
            RuleTest {
                fixture,
                outcome: t.outcome,
                failed_phase: t.failed_phase,
                top_cause: t.top_cause.map(OneOrMany::into_vec).unwrap_or_default(),
                causes_include: t.causes_include,
                quiet: t.quiet,
            }
        })
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Rule {
        id: source.id.clone(),
        path: source.path.clone(),
        dir: source.dir.clone(),
        title: raw.title.trim().to_string(),
        phase: raw.phase,
        confidence: raw.confidence,
        explanation: raw.explanation.trim().to_string(),
        checks: steps(raw.checks),
        fixes: steps(raw.fixes),
        server_log: raw.server_log,
        references: raw.references,
        tests,
        outranks: raw.outranks,
        conditions,
    })
}

/// The fact a rule names, or an error saying which facts there are.
fn known_fact(source: &RuleSource, key: &str, errors: &mut Vec<RuleError>) -> Option<Fact> {
    let known = facts::definition(key).map(|d| d.fact);
    if known.is_none() {
        let names: Vec<&str> = facts::ALL.iter().map(|d| d.name).collect();
        errors.push(RuleError::near(
            source,
            &format!("{key}:"),
            format!("unknown fact `{key}`; known facts: {}", names.join(", ")),
        ));
    }
    known
}

fn compile_conditions(
    source: &RuleSource,
    raw: RawMatch,
    errors: &mut Vec<RuleError>,
) -> Conditions {
    let regexes = |list: Vec<String>, errors: &mut Vec<RuleError>| -> Vec<LazyRegex> {
        list.iter()
            .filter_map(|p| compile_regex(source, p, errors))
            .collect()
    };
    let lines = regexes(raw.lines, errors);
    let any_lines = regexes(raw.any_lines, errors);
    let absent = regexes(raw.absent, errors);
    let evidence = raw
        .evidence
        .as_deref()
        .and_then(|p| compile_regex(source, p, errors));
    let mut facts = Vec::new();
    for (key, pattern) in raw.facts {
        let fact = known_fact(source, &key, errors);
        if let (Some(fact), Some(r)) = (fact, compile_regex(source, &pattern, errors)) {
            facts.push((fact, r));
        }
    }
    let no_facts = raw
        .no_facts
        .iter()
        .filter_map(|key| known_fact(source, key, errors))
        .collect();
    let version = raw.version.map(|v| {
        parse_version_range(&v).unwrap_or_else(|e| {
            errors.push(RuleError::near(source, &v, e));
            Vec::new()
        })
    });
    Conditions {
        outcome: raw.outcome.map(OneOrMany::into_vec).unwrap_or_default(),
        failed_phase: raw
            .failed_phase
            .map(OneOrMany::into_vec)
            .unwrap_or_default(),
        last_milestone: raw
            .last_milestone
            .map(OneOrMany::into_vec)
            .unwrap_or_default(),
        reached: raw.reached,
        not_reached: raw.not_reached,
        program: raw.program.map(OneOrMany::into_vec).unwrap_or_default(),
        version: version.unwrap_or_default(),
        evidence,
        lines,
        any_lines,
        absent,
        facts,
        no_facts,
        slow_step: raw.slow_step.and_then(|step| {
            let regex = |p: &Option<String>, errors: &mut Vec<RuleError>| match p {
                Some(p) => compile_regex(source, p, errors).map(Some),
                None => Some(None),
            };
            if !(step.seconds >= 0.0 && step.seconds.is_finite()) {
                errors.push(RuleError::near(
                    source,
                    "seconds:",
                    "`seconds` must be a number of seconds, 0 or more".into(),
                ));
                return None;
            }
            Some(SlowStepCondition {
                millis: (step.seconds * 1000.0) as u64,
                phase: step.phase,
                after: regex(&step.after, errors)?,
                before: regex(&step.before, errors)?,
            })
        }),
    }
}

/// Parses one regex of a rule without compiling it; a bad one is reported at its place.
fn check_regex(source: &RuleSource, pattern: &str, errors: &mut Vec<RuleError>) -> Option<()> {
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
            errors.push(RuleError::near(
                source,
                pattern,
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
    pattern: &str,
    errors: &mut Vec<RuleError>,
) -> Option<LazyRegex> {
    if !source.built_in {
        check_regex(source, pattern, errors)?;
    }
    Some(LazyRegex::new(pattern.to_string()))
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
            id: id.into(),
            path: PathBuf::from(format!("rules/{id}/rule.yaml")),
            text: text.into(),
            as_json: None,
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
    fn builtin_json_copies_say_what_the_yaml_says() {
        for source in builtin_sources() {
            let json = source
                .as_json
                .unwrap_or_else(|| panic!("{} has no JSON copy", source.id));
            let from_json: RawRule = serde_json::from_str(json).expect("JSON copy reads");
            let from_yaml: RawRule = serde_yaml::from_str(&source.text).expect("YAML reads");
            assert_eq!(
                format!("{from_json:?}"),
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
        assert_eq!((err.0[0].line, err.0[0].column), (6, 12), "{}", err.0[0]);
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
