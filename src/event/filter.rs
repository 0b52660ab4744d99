//! The classifier's literal filter: which of the grammar's events could match a line, judged by
//! the literals each one needs (derived from the grammar by the build script, see
//! `build/grammar.rs`), so that the pest parser only sees lines that can matter.

use super::generated::Rule;
use super::shape::{self, Guard};

/// One alternative of the grammar's `event`.
#[derive(Debug)]
pub struct EventAlternative {
    /// `line` with `event` narrowed to this alternative.
    pub entry: Rule,
    /// What a line must contain for this event to match: every clause holds, a clause holds when
    /// the line contains one of its literals.
    clauses: &'static [&'static [&'static str]],
    /// The clause searched for in every line; the others are checked only where it holds.
    anchor: usize,
    /// For an event that ends in `unread_rest`: how many first bytes of a line parsed through
    /// `entry` decide what it says.
    pub decided_by_start: Option<DecidedByStart>,
}

/// How far the parser reads into a line parsed through an event's entry rule, for an event that
/// ends in `unread_rest`, as the build script proves it from the grammar (`build/prefix.rs`):
/// every line that has the same bytes up to the farthest of these says the same.
#[derive(Debug)]
pub struct DecidedByStart {
    /// Bytes read past the start of `unread_rest`, by the event.
    pub rest_reads: usize,
    /// Bytes read past the start of the event, before it, on a line that starts with none of the
    /// `leading` literals (`None`: no bound).
    pub event_reads: Option<usize>,
    /// The tokens that start some alternatives of `line`.
    pub leading: &'static [LeadingToken],
}

/// A token made of one literal that starts some alternatives of `line` (`scp: `).
#[derive(Debug)]
pub struct LeadingToken {
    pub literal: &'static str,
    pub token: Rule,
    /// Bytes read past the start of the event, before it, on a line whose first token is this
    /// one (`None`: no bound).
    pub event_reads: Option<usize>,
}

/// The clauses of one alternative other than its anchor, each literal with its searcher.
type OtherClauses = Vec<Vec<memchr::memmem::Finder<'static>>>;

impl EventAlternative {
    fn other_clauses(&self) -> OtherClauses {
        let clauses = self.clauses.iter().enumerate();
        clauses
            .filter(|&(i, _)| i != self.anchor)
            .map(|(_, clause)| clause.iter().map(memchr::memmem::Finder::new).collect())
            .collect()
    }
}

include!(concat!(env!("OUT_DIR"), "/grammar_tables.rs"));

/// Which events could match a line.
#[derive(Debug, Clone, Copy)]
pub enum Candidates {
    None,
    /// Exactly one: parse the line with its entry rule.
    One(&'static EventAlternative),
    Several,
}

/// Finds the anchor literals of the grammar's events in a line, then checks the rest of what the
/// events anchored there need.
pub struct EventFilter {
    anchors: AnchorFinder,
    /// For each anchor literal, the alternatives anchored on it.
    anchored: Vec<Vec<usize>>,
    alternatives: &'static [EventAlternative],
    /// Each alternative's other clauses, built the first time a line has its anchor: searchers
    /// made once instead of on every `contains`, but only for the events a log has.
    other_clauses: Vec<std::sync::OnceLock<OtherClauses>>,
    /// What keeps a line's shape from standing for it (`None`: shapes cannot, with these literals).
    shape_guard: Option<Guard>,
}

impl EventFilter {
    /// The filter for the grammar's events; `None` when some event needs no literal (every line
    /// then gets the full parse).
    pub fn get() -> Option<&'static EventFilter> {
        static FILTER: std::sync::OnceLock<Option<EventFilter>> = std::sync::OnceLock::new();
        FILTER.get_or_init(Self::new).as_ref()
    }

    fn new() -> Option<EventFilter> {
        let alternatives = EVENT_ALTERNATIVES?;
        // `candidates` keeps one bit per alternative in 256 bits.
        if alternatives.len() > 256 {
            return None;
        }
        let mut literals: Vec<&'static str> = Vec::new();
        let mut anchored: Vec<Vec<usize>> = Vec::new();
        for (i, alternative) in alternatives.iter().enumerate() {
            for &literal in alternative.clauses[alternative.anchor] {
                match literals.iter().position(|&l| l == literal) {
                    Some(at) => anchored[at].push(i),
                    None => {
                        literals.push(literal);
                        anchored.push(vec![i]);
                    }
                }
            }
        }
        let every_literal = alternatives
            .iter()
            .flat_map(|a| a.clauses.iter())
            .flat_map(|c| c.iter());
        Some(EventFilter {
            anchors: AnchorFinder::new(literals),
            anchored,
            alternatives,
            other_clauses: alternatives.iter().map(|_| Default::default()).collect(),
            // A shape keeps its first bytes as they are: whether a line starts with the tags
            // must be told by them for lines of one shape to get one answer.
            shape_guard: Guard::new(every_literal.copied())
                .filter(|_| TAGS_BEFORE_EVENTS.is_none_or(|tags| tags.len() <= shape::KEPT)),
        })
    }

    /// What keeps a line's shape from standing for it; `None` when shapes cannot.
    pub fn shape_guard(&self) -> Option<&Guard> {
        self.shape_guard.as_ref()
    }

    /// Whether a line that has alternative `i`'s anchor has the rest of what it needs.
    fn holds(&self, i: usize, text: &str) -> bool {
        let clauses = self.other_clauses[i].get_or_init(|| self.alternatives[i].other_clauses());
        clauses.iter().all(|clause| {
            clause
                .iter()
                .any(|literal| literal.find(text.as_bytes()).is_some())
        })
    }

    pub fn candidates(&self, text: &str) -> Candidates {
        // Past the tags a line starts with, when events can only lie past them.
        let text = match TAGS_BEFORE_EVENTS {
            Some(tags) if starts_with_tags(text.as_bytes(), tags) => {
                text.get(tags.len()..).unwrap_or(text)
            }
            _ => text,
        };
        let mut checked = [0u64; 4];
        let mut found = None;
        let mut several = false;
        self.anchors.each_in(text.as_bytes(), |literal| {
            for &i in &self.anchored[literal] {
                let bit = 1u64 << (i % 64);
                if several || checked[i / 64] & bit != 0 {
                    continue;
                }
                checked[i / 64] |= bit;
                if self.holds(i, text) {
                    several = found.is_some();
                    found = Some(&self.alternatives[i]);
                }
            }
        });
        match found {
            _ if several => Candidates::Several,
            Some(entry) => Candidates::One(entry),
            None => Candidates::None,
        }
    }
}

/// Whether a line starts with bytes each within its pair of `tags`.
fn starts_with_tags(line: &[u8], tags: &[(u8, u8)]) -> bool {
    line.len() >= tags.len()
        && line
            .iter()
            .zip(tags)
            .all(|(b, &(low, high))| (low..=high).contains(b))
}

/// Finds which of a set of literals occur in a line.
///
/// Every literal of eight bytes or more contains, at its first `step` offsets, `step` four-byte
/// windows (`step` = the shortest such literal's length minus three), so reading a line's windows
/// only at every `step`-th offset meets one of them wherever it occurs. A bitmap indexed by a
/// hash of four bytes says whether a window may be one of those (rare: a few hundred windows in
/// 65,536 bits); only then are the literals compared. The few shorter literals are searched for
/// together, in one SIMD pass (Teddy). Cheaper per line than an automaton, and built in
/// microseconds, which matters as much: it is built on every run.
struct AnchorFinder {
    starts: Box<[u64]>,
    /// `(window, literal, offset of the window in the literal)`, sorted.
    windows: Vec<(u32, usize, usize)>,
    step: usize,
    literals: Vec<&'static str>,
    /// Literals shorter than [`LONG_LITERAL`].
    short: ShortLiterals,
}

/// The literals too short to sample.
enum ShortLiterals {
    /// Searched for together, in one pass, where the CPU has the SIMD instructions for it.
    Packed {
        searcher: aho_corasick::packed::Searcher,
        /// For each of the searcher's patterns: the literal it is, and those that are its
        /// prefixes (found at the same place, where the searcher reports only the longest).
        literals: Vec<Vec<usize>>,
    },
    /// Searched for one by one.
    OneByOne(Vec<(usize, memchr::memmem::Finder<'static>)>),
}

impl ShortLiterals {
    fn new(mut short: Vec<(usize, &'static str)>) -> Self {
        // Longest first: of the patterns that match at one place, the first one added is found.
        short.sort_by_key(|&(_, literal)| std::cmp::Reverse(literal.len()));
        let packed = aho_corasick::packed::Config::new()
            .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(short.iter().map(|&(_, literal)| literal))
            .build();
        match packed {
            Some(searcher) => ShortLiterals::Packed {
                searcher,
                literals: short
                    .iter()
                    .map(|&(_, literal)| {
                        let prefixes = short.iter().filter(|&&(_, l)| literal.starts_with(l));
                        prefixes.map(|&(i, _)| i).collect()
                    })
                    .collect(),
            },
            None => Self::one_by_one(&short),
        }
    }

    fn one_by_one(short: &[(usize, &'static str)]) -> Self {
        let finders = short
            .iter()
            .map(|&(i, literal)| (i, memchr::memmem::Finder::new(literal)));
        ShortLiterals::OneByOne(finders.collect())
    }

    fn each_in(&self, bytes: &[u8], found: &mut impl FnMut(usize)) {
        match self {
            ShortLiterals::Packed { searcher, literals } => {
                let mut at = 0;
                while let Some(m) =
                    searcher.find_in(bytes, aho_corasick::Span::from(at..bytes.len()))
                {
                    literals[m.pattern().as_usize()]
                        .iter()
                        .for_each(|&i| found(i));
                    // From the next byte, not the match's end: another literal may start inside
                    // this one.
                    at = m.start() + 1;
                }
            }
            ShortLiterals::OneByOne(finders) => {
                for (i, finder) in finders {
                    if finder.find(bytes).is_some() {
                        found(*i);
                    }
                }
            }
        }
    }
}

const START_BITS: u32 = 16;
/// Literals this long are found by sampling windows; shorter ones are searched for one by one.
const LONG_LITERAL: usize = 8;

fn window_hash(window: u32) -> usize {
    (window.wrapping_mul(0x9E37_79B1) >> (32 - START_BITS)) as usize
}

fn window_at(bytes: &[u8], at: usize) -> Option<u32> {
    match bytes.get(at..at + 4)? {
        &[a, b, c, d] => Some(u32::from_le_bytes([a, b, c, d])),
        _ => None,
    }
}

impl AnchorFinder {
    fn new(literals: Vec<&'static str>) -> Self {
        let step = literals
            .iter()
            .map(|l| l.len())
            .filter(|&len| len >= LONG_LITERAL)
            .min()
            .map_or(1, |len| len - 3);
        let mut starts = vec![0u64; 1 << (START_BITS - 6)].into_boxed_slice();
        let mut windows = Vec::new();
        let mut short = Vec::new();
        for (i, literal) in literals.iter().enumerate() {
            let bytes = literal.as_bytes();
            if bytes.len() < LONG_LITERAL {
                short.push((i, *literal));
                continue;
            }
            for offset in 0..step {
                let window = window_at(bytes, offset).expect("a long literal has `step` windows");
                let h = window_hash(window);
                starts[h / 64] |= 1 << (h % 64);
                windows.push((window, i, offset));
            }
        }
        windows.sort_unstable();
        AnchorFinder {
            starts,
            windows,
            step,
            literals,
            short: ShortLiterals::new(short),
        }
    }

    /// Calls `found` with the index of every literal that occurs in `bytes` (at least once each).
    fn each_in(&self, bytes: &[u8], mut found: impl FnMut(usize)) {
        self.short.each_in(bytes, &mut found);
        let mut at = 0;
        while let Some(window) = window_at(bytes, at) {
            let h = window_hash(window);
            if self.starts[h / 64] & (1 << (h % 64)) != 0 {
                let first = self.windows.partition_point(|&(w, ..)| w < window);
                for &(_, i, offset) in self.windows[first..]
                    .iter()
                    .take_while(|&&(w, ..)| w == window)
                {
                    let literal = self.literals[i].as_bytes();
                    if at >= offset && bytes[at - offset..].starts_with(literal) {
                        found(i);
                    }
                }
            }
            at += self.step;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_literals_are_found_alike_together_or_one_by_one() {
        let short = vec![
            (0, "scp: "),
            (1, "sftp> "),
            (2, "sft"),
            (3, ": new "),
            (4, "p: new"),
        ];
        let together = ShortLiterals::new(short.clone());
        let one_by_one = ShortLiterals::one_by_one(&short);
        for line in [
            "scp: new [x]",
            "sftp> put a",
            "x: new y",
            "none here",
            "sftsftp> scp: ",
        ] {
            let found = |literals: &ShortLiterals| {
                let mut found = Vec::new();
                literals.each_in(line.as_bytes(), &mut |i| found.push(i));
                found.sort_unstable();
                found.dedup();
                found
            };
            let expected: Vec<usize> = short
                .iter()
                .filter(|(_, l)| line.contains(l))
                .map(|&(i, _)| i)
                .collect();
            assert_eq!(found(&together), expected, "{line:?}");
            assert_eq!(found(&one_by_one), expected, "{line:?}");
        }
    }

    #[test]
    fn anchors_are_found_at_every_offset() {
        let literals = vec![
            "scp: ",
            "sftp> ",
            "sft",
            ": new ",
            "p: new",
            "Sent message ",
            "SSH2_FXP_",
            "Connection to ",
            "Connection reset",
        ];
        let finder = AnchorFinder::new(literals.clone());
        // Each literal alone, and literals that overlap or share a start.
        let texts = literals.iter().copied().chain([
            "scp: new [",
            "sftp> Sent message SSH2_FXP_",
            "Connection to Connection reset",
        ]);
        for literal in texts {
            for offset in 0..24 {
                for tail in 0..12 {
                    let line = format!("{}{literal}{}", "x".repeat(offset), "y".repeat(tail));
                    let mut found = Vec::new();
                    finder.each_in(line.as_bytes(), |i| found.push(literals[i]));
                    let expected: Vec<&str> = literals
                        .iter()
                        .copied()
                        .filter(|l| line.contains(l))
                        .collect();
                    found.sort_unstable();
                    found.dedup();
                    let mut expected = expected;
                    expected.sort_unstable();
                    assert_eq!(found, expected, "{line:?}");
                }
            }
        }
    }
}
