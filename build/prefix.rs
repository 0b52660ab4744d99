//! The proof behind the classifier's memory of event lines: for an event that ends in
//! `unread_rest`, how many bytes of a line decide what the grammar makes of it.
//!
//! A PEG parser is deterministic: on two lines where it reads the same bytes it does the same
//! things. Parsing a line through an event's entry rule (`line` with `event` narrowed to that
//! event), the parser reads the tags, may try the event and fail, may try other alternatives,
//! enters the event and finally enters `unread_rest`, which takes every byte to the end of the
//! line (a line holds no newline), where only the end of input may follow: from there the parse
//! cannot fail, and nothing reads the bytes it took. So if the parser read nothing past `e + E`
//! before entering the event at `e`, and nothing past `s + S` inside the event before entering
//! `unread_rest` at `s`, then every line that has the same first `max(e + E, s + S)` bytes parses
//! the same way, with the same tokens up to `unread_rest`.
//!
//! The bounds come from the grammar's expressions alone: for each one, how far past its start it
//! may read when it fails, how far past its end when it matches, and how few bytes it consumes.
//! What pest's optimiser makes of an expression matches exactly what the expression matches, so
//! the bounds hold for the generated parser.

use std::collections::HashMap;

use pest_meta::ast::Expr;

/// The token that ends a line with bytes its event does not read.
pub const UNREAD_REST: &str = "unread_rest";

/// How far past a place the parser may read, in bytes (negative: it stops short of it); `None`:
/// no bound.
type Bound = Option<i64>;

/// Reads nothing there, or cannot fail: lower than any real bound, and small numbers added to or
/// taken from it keep it so.
const NOTHING: i64 = i64::MIN / 4;

fn max(a: Bound, b: Bound) -> Bound {
    Some(a?.max(b?))
}

fn plus(a: Bound, b: Bound) -> Bound {
    Some(a?.saturating_add(b?).max(NOTHING))
}

fn minus(a: Bound, b: i64) -> Bound {
    Some(a?.saturating_sub(b).max(NOTHING))
}

fn times(a: Bound, n: u32) -> Bound {
    Some(a?.saturating_mul(i64::from(n)).max(NOTHING))
}

/// The grammar's rules, with `event` read as one of its alternatives, or as it is.
pub struct Reads<'a> {
    rules: &'a HashMap<&'a str, &'a Expr>,
    event: Option<Expr>,
}

impl<'a> Reads<'a> {
    pub fn new(rules: &'a HashMap<&'a str, &'a Expr>, event: &str) -> Self {
        Reads {
            rules,
            event: Some(Expr::Ident(event.to_string())),
        }
    }

    fn rule(&self, name: &str) -> Option<&Expr> {
        match (name, &self.event) {
            ("event", Some(event)) => Some(event),
            _ => self.rules.get(name).copied(),
        }
    }

    /// Bytes consumed by a match of `e`: the fewest, and the most (`None`: no bound).
    fn consumed(&self, e: &Expr) -> (i64, Bound) {
        let len = |s: &str| i64::try_from(s.len()).unwrap_or(i64::MAX);
        match e {
            Expr::Str(s) | Expr::Insens(s) => (len(s), Some(len(s))),
            // One character: one to four bytes.
            Expr::Range(..) => (1, Some(4)),
            Expr::Ident(name) => match self.rule(name) {
                Some(rule) => self.consumed(rule),
                None => match name.as_str() {
                    "ANY" => (1, Some(4)),
                    "SOI" | "EOI" => (0, Some(0)),
                    ascii if ascii.starts_with("ASCII_") => (1, Some(1)),
                    _ => (0, None),
                },
            },
            Expr::PosPred(_) | Expr::NegPred(_) => (0, Some(0)),
            Expr::Seq(a, b) => {
                let ((min_a, max_a), (min_b, max_b)) = (self.consumed(a), self.consumed(b));
                (min_a.saturating_add(min_b), plus(max_a, max_b))
            }
            Expr::Choice(a, b) => {
                let ((min_a, max_a), (min_b, max_b)) = (self.consumed(a), self.consumed(b));
                (min_a.min(min_b), max(max_a, max_b))
            }
            Expr::Opt(a) => (0, self.consumed(a).1),
            Expr::Rep(_) => (0, None),
            Expr::RepOnce(a) => (self.consumed(a).0, None),
            Expr::RepMin(a, n) => (self.consumed(a).0.saturating_mul(i64::from(*n)), None),
            Expr::RepExact(a, n) => {
                let (min_a, max_a) = self.consumed(a);
                (min_a.saturating_mul(i64::from(*n)), times(max_a, *n))
            }
            Expr::RepMax(a, n) => (0, times(self.consumed(a).1, *n)),
            Expr::RepMinMax(a, n, m) => {
                let (min_a, max_a) = self.consumed(a);
                (min_a.saturating_mul(i64::from(*n)), times(max_a, *m))
            }
            _ => (0, None),
        }
    }

    fn fewest(&self, e: &Expr) -> i64 {
        self.consumed(e).0
    }

    fn most(&self, e: &Expr) -> Bound {
        self.consumed(e).1
    }

    /// How far past its start `e` may read when it fails ([`NOTHING`]: it cannot fail).
    fn on_failure(&self, e: &Expr) -> Bound {
        let len = |s: &str| i64::try_from(s.len()).ok();
        match e {
            Expr::Str(s) | Expr::Insens(s) if s.is_empty() => Some(NOTHING),
            Expr::Str(s) | Expr::Insens(s) => len(s),
            // A character outside an ASCII range is told by its first byte alone.
            Expr::Range(from, to) if from.is_ascii() && to.is_ascii() => Some(1),
            Expr::Range(..) => Some(4),
            Expr::Ident(name) => match self.rule(name) {
                Some(rule) => self.on_failure(rule),
                None => match name.as_str() {
                    "SOI" => Some(0),
                    "ANY" | "EOI" => Some(1),
                    ascii if ascii.starts_with("ASCII_") => Some(1),
                    _ => None,
                },
            },
            Expr::Seq(a, b) => {
                let then_b = match self.on_failure(b) {
                    Some(NOTHING) => Some(NOTHING),
                    fails => plus(self.most(a), max(self.on_match(a), fails)),
                };
                max(self.on_failure(a), then_b)
            }
            Expr::Choice(a, b) => match (self.on_failure(a), self.on_failure(b)) {
                (Some(NOTHING), _) | (_, Some(NOTHING)) => Some(NOTHING),
                (fa, fb) => max(fa, fb),
            },
            Expr::Opt(_) | Expr::Rep(_) | Expr::RepMax(..) => Some(NOTHING),
            Expr::RepOnce(a) => self.on_failure(a),
            Expr::RepExact(a, n) | Expr::RepMin(a, n) | Expr::RepMinMax(a, n, _) => match n {
                0 => Some(NOTHING),
                1 => self.on_failure(a),
                // Some of the first `n` matched, then one failed.
                _ => plus(
                    times(self.most(a), n - 1),
                    max(self.on_failure(a), self.on_match(a)),
                ),
            },
            Expr::PosPred(a) => self.on_failure(a),
            Expr::NegPred(a) => plus(self.most(a), self.on_match(a)),
            _ => None,
        }
    }

    /// How far past the end of its match `e` may read when it matches.
    fn on_match(&self, e: &Expr) -> Bound {
        match e {
            Expr::Str(_) | Expr::Insens(_) | Expr::Range(..) => Some(0),
            Expr::Ident(name) => match self.rule(name) {
                Some(rule) => self.on_match(rule),
                None => match name.as_str() {
                    "SOI" | "EOI" | "ANY" => Some(0),
                    ascii if ascii.starts_with("ASCII_") => Some(0),
                    _ => None,
                },
            },
            Expr::Seq(a, b) => max(minus(self.on_match(a), self.fewest(b)), self.on_match(b)),
            // `b` is tried where `a` failed, and its match ends at least its fewest bytes later.
            Expr::Choice(a, b) => max(
                max(self.on_match(a), self.on_match(b)),
                minus(self.on_failure(a), self.fewest(b)),
            ),
            // The last try failed where the match ends.
            Expr::Opt(a)
            | Expr::Rep(a)
            | Expr::RepOnce(a)
            | Expr::RepMin(a, _)
            | Expr::RepMax(a, _)
            | Expr::RepMinMax(a, _, _) => max(self.on_match(a), self.on_failure(a)),
            Expr::RepExact(a, _) => self.on_match(a),
            Expr::PosPred(a) => plus(self.most(a), self.on_match(a)),
            Expr::NegPred(a) => self.on_failure(a),
            _ => None,
        }
    }

    fn contains(&self, e: &Expr, target: &str) -> bool {
        e.iter_top_down().any(|e| match e {
            Expr::Ident(name) if name == target => true,
            Expr::Ident(name) => self.rule(&name).is_some_and(|r| self.contains(r, target)),
            _ => false,
        })
    }

    /// Whether every place `target` is entered in `e` is followed by nothing but the end of
    /// input (`at_end`: what follows `e` is).
    pub fn only_at_end(&self, e: &Expr, target: &str, at_end: bool) -> bool {
        let is_end = |e: &Expr| {
            e.iter_top_down().all(|e| match e {
                Expr::Seq(..) => true,
                Expr::Ident(name) => name == "EOI",
                _ => false,
            })
        };
        match e {
            Expr::Ident(name) if name == target => at_end,
            Expr::Ident(name) => self
                .rule(name)
                .is_none_or(|rule| self.only_at_end(rule, target, at_end)),
            Expr::Seq(a, b) => {
                self.only_at_end(a, target, at_end && is_end(b))
                    && self.only_at_end(b, target, at_end)
            }
            Expr::Choice(a, b) => {
                self.only_at_end(a, target, at_end) && self.only_at_end(b, target, at_end)
            }
            Expr::Opt(a) => self.only_at_end(a, target, at_end),
            _ => !self.contains(e, target),
        }
    }

    /// On a match of `e` that enters `target`: how far past the place it enters `target` the
    /// parser may read before, and the fewest bytes consumed before it. `None` when `e` never
    /// enters `target`.
    pub fn before(&self, e: &Expr, target: &str) -> Option<(Bound, i64)> {
        match e {
            Expr::Ident(name) if name == target => Some((Some(NOTHING), 0)),
            Expr::Ident(name) => self.before(self.rule(name)?, target),
            Expr::Seq(a, b) => {
                // Entered in `b`: `a` matched first, ending at least `fewest` bytes before.
                let in_b = self.before(b, target).map(|(reads, fewest)| {
                    (
                        max(minus(self.on_match(a), fewest), reads),
                        self.fewest(a).saturating_add(fewest),
                    )
                });
                either(self.before(a, target), in_b)
            }
            Expr::Choice(a, b) => {
                // Entered in `b`: `a` failed first, where `b` starts.
                let in_b = self
                    .before(b, target)
                    .map(|(reads, fewest)| (max(minus(self.on_failure(a), fewest), reads), fewest));
                either(self.before(a, target), in_b)
            }
            Expr::Opt(a) => self.before(a, target),
            // Inside a repetition or a lookahead: no bound is claimed.
            _ => self.contains(e, target).then_some((None, 0)),
        }
    }
}

/// What holds whichever of two ways `target` was entered.
fn either(a: Option<(Bound, i64)>, b: Option<(Bound, i64)>) -> Option<(Bound, i64)> {
    match (a, b) {
        (Some((ra, fa)), Some((rb, fb))) => Some((max(ra, rb), fa.min(fb))),
        (one, None) | (None, one) => one,
    }
}

/// What decides a line parsed through an event's entry rule, for an event that ends in
/// [`UNREAD_REST`], in bytes read past a place (see the module's documentation).
pub struct Decided {
    /// Past the start of `unread_rest`, by the event.
    pub rest_reads: usize,
    /// Past the start of the event, before it, on a line that starts with no leading literal.
    pub event_reads: Option<usize>,
    /// The tokens that lead alternatives of `line` (`scp_tag`), each a literal: on a line that
    /// starts with one and is parsed through an alternative it leads, the bytes read past the
    /// start of the event before it.
    pub leading: Vec<(String, String, Option<usize>)>,
}

/// The parts of a sequence or the alternatives of a choice, in order.
fn flatten<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>, seq: bool) {
    match e {
        Expr::Seq(a, b) if seq => {
            flatten(a, out, seq);
            flatten(b, out, seq);
        }
        Expr::Choice(a, b) if !seq => {
            flatten(a, out, seq);
            flatten(b, out, seq);
        }
        other => out.push(other),
    }
}

/// The alternatives of the choice `line` makes at the start of a line, when `line` is that choice
/// between SOI and EOI.
fn line_alternatives<'e>(rules: &HashMap<&str, &'e Expr>) -> Option<Vec<&'e Expr>> {
    let mut parts = Vec::new();
    flatten(rules.get("line")?, &mut parts, true);
    let [Expr::Ident(soi), choice, Expr::Ident(eoi)] = parts[..] else {
        return None;
    };
    if soi != "SOI" || eoi != "EOI" {
        return None;
    }
    let mut alternatives = Vec::new();
    flatten(choice, &mut alternatives, false);
    Some(alternatives)
}

/// The rule that starts an alternative when it is a token made of one literal: `(rule, literal)`.
fn leading_literal<'e>(
    rules: &HashMap<&str, &'e Expr>,
    alternative: &'e Expr,
) -> Option<(&'e str, &'e str)> {
    let mut parts = Vec::new();
    flatten(alternative, &mut parts, true);
    match parts.first() {
        Some(Expr::Ident(name)) => match rules.get(name.as_str()) {
            Some(Expr::Str(literal)) if !literal.is_empty() => Some((name, literal)),
            _ => None,
        },
        _ => None,
    }
}

/// For an alternative of `event` that ends in [`UNREAD_REST`]: what decides a line parsed
/// through its entry rule. `None` for an alternative without it, or when the grammar gives no
/// bound.
///
/// A failed alternative of `line` may have read far (`scp: ` matched, then the message not), so
/// the paths through `line` are told apart by what the line starts with: on a line that starts
/// with no leading literal, the alternatives it leads failed at once.
pub fn decided_by_start(rules: &HashMap<&str, &Expr>, alternative: &str) -> Option<Decided> {
    let reads = Reads::new(rules, alternative);
    let event = rules[alternative];
    if !reads.contains(event, UNREAD_REST)
        || ["WHITESPACE", "COMMENT"]
            .iter()
            .any(|r| rules.contains_key(r))
    {
        return None;
    }
    assert!(
        reads.only_at_end(event, UNREAD_REST, true)
            && reads.only_at_end(rules["line"], alternative, true),
        "`{UNREAD_REST}` must end `{alternative}`, and `{alternative}` must end a line"
    );
    let bytes = |bound: Bound| bound.map(|b| usize::try_from(b.max(0)).unwrap_or(0));
    let rest_reads = bytes(reads.before(event, UNREAD_REST)?.0)?;
    let alternatives = line_alternatives(rules)?;
    let mut untagged = Some(NOTHING);
    // Every leading literal, whether or not its alternatives hold the event: a line that starts
    // with none of them is one on which they all failed at once.
    let mut leading: Vec<(String, String, Bound)> = Vec::new();
    for (rule, literal) in alternatives
        .iter()
        .filter_map(|a| leading_literal(rules, a))
    {
        if !leading.iter().any(|(r, ..)| r == rule) {
            leading.push((rule.to_string(), literal.to_string(), Some(NOTHING)));
        }
    }
    for (i, alt) in alternatives.iter().enumerate() {
        let Some((inside, fewest)) = reads.before(alt, alternative) else {
            continue;
        };
        let led = leading_literal(rules, alt);
        let failed = alternatives[..i]
            .iter()
            .map(|earlier| match (led, leading_literal(rules, earlier)) {
                // The line does not start with that literal: the alternative failed on it.
                (None, Some((_, literal))) => i64::try_from(literal.len()).ok(),
                _ => reads.on_failure(earlier),
            })
            .try_fold(NOTHING, |bound, fails| Some(bound.max(fails?)));
        let bound = max(inside, minus(failed, fewest));
        match led {
            None => untagged = max(untagged, bound),
            Some((rule, _)) => {
                // Its token as a line's first token must mean this alternative was taken.
                let elsewhere = alternatives
                    .iter()
                    .any(|a| leading_literal(rules, a) != led && reads.contains(a, rule));
                let bound = if elsewhere { None } else { bound };
                if let Some((_, _, known)) = leading.iter_mut().find(|(r, ..)| r == rule) {
                    *known = max(*known, bound);
                }
            }
        }
    }
    Some(Decided {
        rest_reads,
        event_reads: bytes(untagged),
        leading: leading
            .into_iter()
            .map(|(rule, literal, bound)| (literal, rule, bytes(bound)))
            .collect(),
    })
}

/// The tags every line that starts with them is parsed with, before any event: the bytes each
/// position of them may hold (`(low, high)`), or `None`.
///
/// When the first alternative of `line` starts with tokens of fixed length made of literals and
/// ASCII classes (`scp_tag ~ level`, `scp: debug3: `) and what follows them cannot fail, a line
/// that starts with those bytes is parsed through that alternative, those tokens take exactly
/// those bytes, and every event, with the literals it needs, lies past them.
pub fn tags_before_events(rules: &HashMap<&str, &Expr>) -> Option<Vec<(u8, u8)>> {
    let reads = Reads { rules, event: None };
    let alternatives = line_alternatives(rules)?;
    let mut first = Vec::new();
    flatten(alternatives.first()?, &mut first, true);
    let mut classes = Vec::new();
    let mut tokens = 0;
    for part in &first {
        match byte_classes(part, rules, 0) {
            Some(more) if matches!(part, Expr::Ident(_)) => {
                classes.extend(more);
                tokens += 1;
            }
            _ => break,
        }
    }
    let rest = &first[tokens..];
    let cannot_fail = rest.iter().all(|e| reads.on_failure(e) == Some(NOTHING));
    let holds_event = rest.iter().any(|e| reads.contains(e, "event"));
    (tokens > 0 && cannot_fail && holds_event).then_some(classes)
}

/// The bytes each position of every match of `e` may hold, when its matches all have one length
/// and it is made of ASCII literals and ASCII classes.
fn byte_classes(e: &Expr, rules: &HashMap<&str, &Expr>, depth: usize) -> Option<Vec<(u8, u8)>> {
    if depth > 64 {
        return None;
    }
    match e {
        Expr::Str(s) if s.is_ascii() => Some(s.bytes().map(|b| (b, b)).collect()),
        Expr::Ident(name) => match rules.get(name.as_str()) {
            Some(rule) => byte_classes(rule, rules, depth + 1),
            None => match name.as_str() {
                "ASCII_DIGIT" => Some(vec![(b'0', b'9')]),
                _ => None,
            },
        },
        Expr::Seq(a, b) => {
            let mut classes = byte_classes(a, rules, depth + 1)?;
            classes.extend(byte_classes(b, rules, depth + 1)?);
            Some(classes)
        }
        _ => None,
    }
}
