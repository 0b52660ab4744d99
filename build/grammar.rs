//! The line parser and the tables of its fast path, derived from `grammar/openssh.pest` (and,
//! for the sshd grammar, its plain parser and the literals of its events, `anchor_literals`).
//!
//! Six things come out of the client grammar here:
//! - the parser: pest's generator runs here rather than through `#[derive(Parser)]`, so that the
//!   entry rules below are part of it;
//! - for each alternative of `event`, an entry rule: `line` with `event` narrowed to that one
//!   alternative. A line whose literals fit a single event is parsed through its entry rule: the
//!   same result as `line` (no other event can match that line), without trying ninety events;
//! - what each alternative needs a line to contain (clauses of literals, one of them chosen as
//!   its anchor), and how many bytes of a line `unknown_line` reads, so its result can be reused
//!   for every line that starts with the same bytes;
//! - for each event that ends in `unread_rest`, how many first bytes of a line decide it, so the
//!   classifier can answer a transfer log's request lines from memory (`prefix.rs`);
//! - the tags a line is always parsed with before any event when it starts with them
//!   (`scp: debug3: `), so the filter looks for events' literals only past them (`prefix.rs`);
//! - the events' names, as rules name them (`EVENT_NAMES`), and each event token's place there.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use pest_meta::ast::{Expr, Rule, RuleType};

pub struct Grammar<'a> {
    text: &'a str,
    rules: Vec<Rule>,
    /// The names of the alternatives of `event`, silent groups looked through, in grammar order.
    alternatives: Vec<String>,
    /// For each alternative, the silent group that lists it (`auth_event`): the grammars group
    /// their events by the phase in which they are logged.
    groups: Vec<String>,
}

impl<'a> Grammar<'a> {
    pub fn read(text: &'a str) -> Self {
        let pairs = pest_meta::parser::parse(pest_meta::parser::Rule::grammar_rules, text)
            .unwrap_or_else(|e| panic!("a grammar does not parse:\n{e}"));
        let rules = pest_meta::parser::consume_rules(pairs)
            .unwrap_or_else(|e| panic!("a grammar is invalid: {e:?}"));
        let mut grammar = Grammar {
            text,
            rules,
            alternatives: Vec::new(),
            groups: Vec::new(),
        };
        let silent: HashMap<&str, &Expr> = grammar
            .rules
            .iter()
            .filter(|r| r.ty == RuleType::Silent)
            .map(|r| (r.name.as_str(), &r.expr))
            .collect();
        let mut alternatives = Vec::new();
        flatten_choice(grammar.expr("event"), "event", &silent, &mut alternatives);
        let (groups, names): (Vec<String>, Vec<String>) = alternatives
            .into_iter()
            .map(|(group, alt)| match alt {
                Expr::Ident(name) => (group.to_string(), name.clone()),
                other => panic!("every alternative of `event` must be a named rule, not `{other}`"),
            })
            .unzip();
        grammar.alternatives = names;
        grammar.groups = groups;
        grammar
    }

    fn by_name(&self) -> HashMap<&str, &Expr> {
        self.rules
            .iter()
            .map(|r| (r.name.as_str(), &r.expr))
            .collect()
    }

    fn expr(&self, name: &str) -> &Expr {
        self.by_name()
            .get(name)
            .copied()
            .unwrap_or_else(|| panic!("the grammar has no `{name}` rule"))
    }

    /// Rust code naming the events: `EVENT_NAMES`, the alternatives of `event` in grammar order,
    /// and `event_kind`, which of them a parsed rule is.
    pub fn events(&self) -> String {
        assert!(
            self.alternatives.len() <= 128,
            "a session records the events it saw in 128 bits"
        );
        let mut code = String::from("/// The grammar's events, in grammar order.\n");
        code.push_str("static EVENT_NAMES: &[&str] = &[\n");
        for name in &self.alternatives {
            let _ = writeln!(code, "    {name:?},");
        }
        code.push_str("];\n\n/// Which event of [`EVENT_NAMES`] a parsed rule is.\n");
        code.push_str("fn event_kind(rule: Rule) -> Option<EventKind> {\n    match rule {\n");
        for (i, name) in self.alternatives.iter().enumerate() {
            let _ = writeln!(code, "        Rule::{name} => Some(EventKind({i})),");
        }
        code.push_str("        _ => None,\n    }\n}\n");
        code
    }

    /// Rust code naming each event's group, in the order of `EVENT_NAMES`: `EVENT_GROUPS`.
    pub fn event_groups(&self) -> String {
        let mut code =
            String::from("/// The silent group that lists each event, in grammar order.\n");
        code.push_str("static EVENT_GROUPS: &[&str] = &[\n");
        for group in &self.groups {
            let _ = writeln!(code, "    {group:?},");
        }
        code.push_str("];\n");
        code
    }

    /// Rust code of the parser: the grammar's own rules and one entry rule per event.
    pub fn parser(&self) -> String {
        let grammar = format!(
            "{}\n// Generated by the build script: `line` narrowed to each event.\n{}",
            self.text,
            self.entry_rules()
        );
        let input = format!("#[grammar_inline = {grammar:?}] struct OpenSshGrammar;");
        let tokens: proc_macro2::TokenStream =
            input.parse().expect("the derive input is Rust tokens");
        pest_generator::derive_parser(tokens, false).to_string()
    }

    /// Rust code of a parser of the grammar's own rules only (for a grammar read line by line
    /// without a fast path).
    pub fn plain_parser(&self, name: &str) -> String {
        let input = format!("#[grammar_inline = {:?}] struct {name};", self.text);
        let tokens: proc_macro2::TokenStream =
            input.parse().expect("the derive input is Rust tokens");
        pest_generator::derive_parser(tokens, false).to_string()
    }

    /// `line` copied once per event alternative `A`, each rule between `line` and `event`
    /// renamed `<rule>_only_A` and `event` replaced by `A`.
    fn entry_rules(&self) -> String {
        let path = self.rules_between("line", "event");
        let names: HashSet<&str> = self.rules.iter().map(|r| r.name.as_str()).collect();
        let mut text = String::new();
        for alternative in &self.alternatives {
            let renamed = |name: &str| format!("{name}_only_{alternative}");
            for rule in self.rules.iter().filter(|r| path.contains(&r.name)) {
                let name = renamed(&rule.name);
                assert!(
                    !names.contains(name.as_str()),
                    "the grammar already has a rule named `{name}`"
                );
                let expr = rule.expr.clone().map_bottom_up(|e| match e {
                    Expr::Ident(id) if id == "event" => Expr::Ident(alternative.clone()),
                    Expr::Ident(id) if path.contains(&id) => Expr::Ident(renamed(&id)),
                    other => other,
                });
                let modifier = match rule.ty {
                    RuleType::Normal => "",
                    RuleType::Silent => "_",
                    RuleType::Atomic => "@",
                    RuleType::CompoundAtomic => "$",
                    RuleType::NonAtomic => "!",
                };
                let _ = writeln!(text, "{name} = {modifier}{{ {expr} }}");
            }
        }
        text
    }

    /// The rules reachable from `from` through which `to` is reached (`to` itself left out).
    fn rules_between(&self, from: &str, to: &str) -> BTreeSet<String> {
        let by_name = self.by_name();
        let refs = |name: &str| -> Vec<String> {
            by_name.get(name).map_or_else(Vec::new, |expr| {
                expr.iter_top_down()
                    .filter_map(|e| match e {
                        Expr::Ident(id) if by_name.contains_key(id.as_str()) => Some(id),
                        _ => None,
                    })
                    .collect()
            })
        };
        let mut reachable = BTreeSet::from([from.to_string()]);
        let mut queue = vec![from.to_string()];
        while let Some(name) = queue.pop() {
            for next in refs(&name) {
                if reachable.insert(next.clone()) {
                    queue.push(next);
                }
            }
        }
        // Grow backwards from `to` until nothing more refers to the set.
        let mut leads_to = BTreeSet::from([to.to_string()]);
        loop {
            let more: Vec<String> = reachable
                .iter()
                .filter(|r| !leads_to.contains(*r) && refs(r).iter().any(|x| leads_to.contains(x)))
                .cloned()
                .collect();
            if more.is_empty() {
                break;
            }
            leads_to.extend(more);
        }
        leads_to.remove(to);
        leads_to
    }

    /// For each alternative of `event`, in order: the clauses of literals a line must satisfy
    /// for it to match (each: the line contains one of the clause's literals). Empty for an
    /// alternative that needs no literal.
    fn requirements(&self) -> Vec<Vec<BTreeSet<String>>> {
        let by_name = self.by_name();
        self.alternatives
            .iter()
            .map(|name| required(by_name[name.as_str()], &by_name, 0))
            .collect()
    }

    /// Which clause of each alternative is its anchor, the one searched for first: the one with
    /// the most telling literals (long, and needed by few other events).
    fn anchors(requirements: &[Vec<BTreeSet<String>>]) -> Vec<usize> {
        // How many alternatives need each literal: one that many share says little.
        let mut users: HashMap<&str, usize> = HashMap::new();
        for clauses in requirements {
            let mut mine: BTreeSet<&str> = BTreeSet::new();
            mine.extend(clauses.iter().flatten().map(String::as_str));
            for literal in mine {
                *users.entry(literal).or_default() += 1;
            }
        }
        let telling = |clause: &BTreeSet<String>| {
            clause
                .iter()
                .map(|l| l.len() as isize - 4 * (users[l.as_str()] as isize - 1))
                .min()
                .unwrap_or(0)
        };
        requirements
            .iter()
            .map(|clauses| {
                (0..clauses.len())
                    .rev()
                    .max_by_key(|&i| telling(&clauses[i]))
                    .unwrap_or(0)
            })
            .collect()
    }

    /// Rust code of a grammar's literal filter, for a grammar parsed without entry rules (the
    /// sshd grammar): `EVENT_ANCHORS`, every literal of every event's anchor clause. A line that
    /// contains none of them is no event (each event needs one of its anchor's literals), so
    /// it need not be parsed. `None` when some event needs no literal.
    pub fn anchor_literals(&self) -> String {
        let requirements = self.requirements();
        let mut literals = BTreeSet::new();
        let complete = !requirements.iter().any(Vec::is_empty);
        for (clauses, anchor) in requirements.iter().zip(Self::anchors(&requirements)) {
            literals.extend(clauses.get(anchor).into_iter().flatten());
        }
        let literals: Vec<String> = literals.iter().map(|l| format!("{l:?}")).collect();
        let value = match complete {
            true => format!("Some(&[{}])", literals.join(", ")),
            false => "None".to_string(),
        };
        format!(
            "/// Every literal of every event's anchor clause: a line holding none is no event\n\
             /// (`None`: some event needs no literal, every line is parsed).\n\
             static EVENT_ANCHORS: Option<&[&str]> = {value};\n"
        )
    }

    /// Rust code of the fast path's tables.
    pub fn tables(&self) -> String {
        let by_name = self.by_name();
        let requirements = self.requirements();
        let mut code = String::from(
            "/// Every alternative of the grammar's `event`, in order: its entry rule, the clauses a\n\
             /// line must satisfy for it to match (each: the line contains one of the literals) and\n\
             /// the clause searched for first. `None` when some event needs no literal at all (then\n\
             /// every line gets the full parse).\n",
        );
        if requirements.iter().any(Vec::is_empty) {
            code.push_str("static EVENT_ALTERNATIVES: Option<&[EventAlternative]> = None;\n");
        } else {
            code.push_str("static EVENT_ALTERNATIVES: Option<&[EventAlternative]> = Some(&[\n");
            let anchors = Self::anchors(&requirements);
            for ((name, clauses), anchor) in
                self.alternatives.iter().zip(&requirements).zip(anchors)
            {
                let clauses: Vec<String> = clauses
                    .iter()
                    .map(|c| {
                        let literals: Vec<String> = c.iter().map(|l| format!("{l:?}")).collect();
                        format!("&[{}]", literals.join(", "))
                    })
                    .collect();
                let decided = match crate::prefix::decided_by_start(&by_name, name) {
                    None => "None".to_string(),
                    Some(d) => {
                        let leading: Vec<String> = d
                            .leading
                            .iter()
                            .map(|(literal, rule, reads)| {
                                format!("LeadingToken {{ literal: {literal:?}, token: Rule::{rule}, event_reads: {reads:?} }}")
                            })
                            .collect();
                        format!(
                            "Some(DecidedByStart {{ rest_reads: {}, event_reads: {:?}, leading: &[{}] }})",
                            d.rest_reads,
                            d.event_reads,
                            leading.join(", ")
                        )
                    }
                };
                let _ = writeln!(
                    code,
                    "    EventAlternative {{ entry: Rule::line_only_{name}, clauses: &[{}], anchor: {anchor}, decided_by_start: {decided} }},",
                    clauses.join(", ")
                );
            }
            code.push_str("]);\n");
        }
        let tags = crate::prefix::tags_before_events(&by_name);
        let _ = writeln!(
            code,
            "/// The tags every line that starts with them is parsed with, before any event (the\n\
             /// bytes each position may hold): events, and their literals, lie past them.\n\
             pub const TAGS_BEFORE_EVENTS: Option<&[(u8, u8)]> = {};",
            match tags {
                Some(classes) => format!("Some(&{classes:?})"),
                None => "None".to_string(),
            }
        );
        let reads = extent(self.expr("unknown_line"), &by_name, 0).map(|(reads, _)| reads);
        let _ = write!(
            code,
            "/// The most bytes `unknown_line` looks at, from the start of a line (`None`: no bound).\n\
             pub const UNKNOWN_LINE_READS_AT_MOST: Option<usize> = {reads:?};\n"
        );
        code
    }
}

/// The alternatives of a choice, looking through the silent rules that group them by phase, each
/// with the name of the group that lists it (`group` for the choice itself).
fn flatten_choice<'a>(
    expr: &'a Expr,
    group: &'a str,
    silent: &HashMap<&'a str, &'a Expr>,
    out: &mut Vec<(&'a str, &'a Expr)>,
) {
    match expr {
        Expr::Choice(a, b) => {
            flatten_choice(a, group, silent, out);
            flatten_choice(b, group, silent, out);
        }
        Expr::Ident(name) if silent.contains_key(name.as_str()) => {
            flatten_choice(silent[name.as_str()], name, silent, out)
        }
        other => out.push((group, other)),
    }
}

/// Clauses every match of `expr` satisfies: each clause is a set of literals, one of which the
/// matched text contains. Empty when nothing is required.
fn required(expr: &Expr, rules: &HashMap<&str, &Expr>, depth: usize) -> Vec<BTreeSet<String>> {
    if depth > 64 {
        return Vec::new();
    }
    let inner = |e: &Expr| required(e, rules, depth + 1);
    match expr {
        Expr::Str(s) if !s.is_empty() => vec![BTreeSet::from([s.clone()])],
        Expr::Ident(name) => rules
            .get(name.as_str())
            .map(|e| inner(e))
            .unwrap_or_default(),
        Expr::Seq(a, b) => {
            let mut clauses = inner(a);
            clauses.extend(inner(b));
            clauses
        }
        Expr::Choice(a, b) => {
            // (A1 and A2 …) or (B1 and B2 …) implies (Ai or Bj) for every pair.
            let (x, y) = (inner(a), inner(b));
            if x.len() * y.len() > 16 {
                return match (
                    x.iter().max_by_key(|c| shortest(c)),
                    y.iter().max_by_key(|c| shortest(c)),
                ) {
                    (Some(p), Some(q)) => vec![p.union(q).cloned().collect()],
                    _ => Vec::new(),
                };
            }
            x.iter()
                .flat_map(|p| y.iter().map(move |q| p.union(q).cloned().collect()))
                .collect()
        }
        Expr::PosPred(e) | Expr::RepOnce(e) | Expr::Push(e) => inner(e),
        Expr::RepExact(e, n) | Expr::RepMin(e, n) | Expr::RepMinMax(e, n, _) if *n > 0 => inner(e),
        _ => Vec::new(),
    }
}

/// The length of the shortest literal of a clause: the longer, the fewer lines it lets through.
fn shortest(clause: &BTreeSet<String>) -> usize {
    clause.iter().map(String::len).min().unwrap_or(0)
}

/// How far into the input `expr` may look and how much it may consume, in bytes, at most; `None`
/// when that has no bound.
fn extent(expr: &Expr, rules: &HashMap<&str, &Expr>, depth: usize) -> Option<(usize, usize)> {
    if depth > 64 {
        return None;
    }
    let inner = |e: &Expr| extent(e, rules, depth + 1);
    let repeated = |e: &Expr, n: u32| {
        let (reads, consumes) = inner(e)?;
        let n = usize::try_from(n).ok()?;
        Some((n.saturating_sub(1) * consumes + reads, n * consumes))
    };
    match expr {
        Expr::Str(s) => Some((s.len(), s.len())),
        Expr::Insens(s) if s.is_ascii() => Some((s.len(), s.len())),
        Expr::Range(..) => Some((4, 4)),
        Expr::Ident(name) => match rules.get(name.as_str()) {
            Some(e) => inner(e),
            None => match name.as_str() {
                "SOI" => Some((0, 0)),
                // Ending here is known only by looking for one more byte.
                "EOI" => Some((1, 0)),
                "ANY" => Some((4, 4)),
                ascii if ascii.starts_with("ASCII_") => Some((1, 1)),
                _ => None,
            },
        },
        Expr::Seq(a, b) => {
            let ((ra, ca), (rb, cb)) = (inner(a)?, inner(b)?);
            Some((ra.max(ca + rb), ca + cb))
        }
        Expr::Choice(a, b) => {
            let ((ra, ca), (rb, cb)) = (inner(a)?, inner(b)?);
            Some((ra.max(rb), ca.max(cb)))
        }
        Expr::Opt(e) => inner(e),
        Expr::PosPred(e) | Expr::NegPred(e) => inner(e).map(|(reads, _)| (reads, 0)),
        Expr::RepExact(e, n) | Expr::RepMax(e, n) | Expr::RepMinMax(e, _, n) => repeated(e, *n),
        _ => None,
    }
}
