//! The classifier's memory of line shapes: lines that differ only in their digits get one answer
//! from the literal filter, and, when no event can match them, one classification.
//!
//! What the filter says of a line depends only on which of the grammar's literals the line
//! contains. A line's shape is the line with every digit past its first [`KEPT`] bytes replaced
//! by a mark: a literal with neither digits nor the mark occurs in a line exactly where it occurs
//! in its shape, since the other bytes stay where they are. A literal that holds a digit
//! (`SSH2_MSG_`, `x11-req`) occurs alike in two lines of one shape too, unless one of its digits
//! falls where digits are marked: where a shape holds such a marked occurrence (`SSH\0_MSG_`),
//! the digits of the line it was made from are remembered with it, and it stands only for lines
//! with the same digits there. The first bytes are kept as they are because a line's tags are
//! read from them (`unknown_line` reads at most [`KEPT`]): so a line with the shape of one no
//! event can match has that line's tags as well.

use super::filter::Candidates;
use super::{Classified, Level};

/// Bytes kept as they are at the start of a line: its tags (whole words of eight bytes).
pub(super) const KEPT: usize = 16;
const _: () = assert!(KEPT % 8 == 0);

/// What replaces a digit in a shape: a byte that is in no literal of the grammar.
const MARK: u8 = 0;

/// Lines longer than this are not remembered: routine lines are short, and a long one is rare.
const LONGEST: usize = 256;

/// Sets of slots for shapes, and slots per set. A long transfer log has a few dozen shapes (its
/// numbers grow a digit now and then); a log of hundreds of runs, a few hundred.
const SETS: usize = 256;
const WAYS: usize = 4;

/// What a shape told.
#[derive(Debug, Clone)]
pub(super) enum Answer {
    /// No event can match; the line's tags are these (its event is `Other`).
    Tags { level: Level, from_scp: bool },
    /// The filter's answer, for the classifier to act on.
    Events(Candidates),
}

#[derive(Debug)]
struct Shape {
    /// The key of its set: see [`Shapes::key`].
    key: u64,
    text: ShapeText,
    answer: Answer,
    /// Where the shape holds a literal with a digit marked: the place, and the digit the line
    /// had there. Lines with other digits there are not of this shape.
    digits: Vec<(usize, u8)>,
    /// For a shape events may match: the line it was made from, and what that line says, for
    /// the same line again (a log of many runs repeats their set-up lines).
    line: Vec<u8>,
    said: Option<Classified>,
}

/// The grammar's literals that hold a digit, as they occur in a shape with digits marked.
#[derive(Debug)]
pub(super) struct Guard {
    marked: Vec<memchr::memmem::Finder<'static>>,
}

impl Guard {
    /// The guard for a set of literals; `None` when shapes cannot stand for lines with them (a
    /// literal with the mark in it).
    pub(super) fn new<'a>(literals: impl Iterator<Item = &'a str>) -> Option<Guard> {
        let mut marked = Vec::new();
        for literal in literals {
            let mut bytes = literal.as_bytes().to_vec();
            if bytes.contains(&MARK) {
                return None;
            }
            // Digits are marked from a place on: in an occurrence, the last one, two, … of the
            // literal's digits are marked.
            for at in (0..bytes.len()).rev() {
                if bytes[at].is_ascii_digit() {
                    bytes[at] = MARK;
                    marked.push(memchr::memmem::Finder::new(&bytes).into_owned());
                }
            }
        }
        Some(Guard { marked })
    }

    /// The places of the marks of every marked occurrence of a literal in `shape`, each with the
    /// digit `line` has there.
    fn digits_in(&self, shape: &[u8], line: &[u8], digits: &mut Vec<(usize, u8)>) {
        digits.clear();
        for marked in &self.marked {
            let pattern = marked.needle();
            let mut from = 0;
            // Every occurrence, overlapping ones too.
            while let Some(found) = shape.get(from..).and_then(|rest| marked.find(rest)) {
                let at = from + found;
                for (i, _) in pattern.iter().enumerate().filter(|&(_, &b)| b == MARK) {
                    if let Some(&digit) = line.get(at + i) {
                        digits.push((at + i, digit));
                    }
                }
                from = at + 1;
            }
        }
    }
}

/// Shapes seen, and what each told.
#[derive(Debug, Default)]
pub(super) struct Shapes {
    /// [`SETS`] × [`WAYS`] slots, made on first use.
    slots: Vec<Option<Shape>>,
    /// The shape of the line last looked up and not found, and its key.
    current: ShapeText,
    key: u64,
    /// The bytes of `current`, for the guard to read.
    bytes: Vec<u8>,
    /// The digits the guard found in the line last remembered.
    digits: Vec<(usize, u8)>,
}

/// A shape: its length and its bytes eight at a time, the last word padded with zeros.
#[derive(Debug, Default)]
struct ShapeText {
    len: usize,
    words: Vec<u64>,
}

impl PartialEq for ShapeText {
    /// Word by word: the words of the shape being looked up were just written one at a time,
    /// and the wide loads of a byte comparison (`memcmp`) cannot take them from the CPU's store
    /// buffer: it waited for them on every line (a fifth of a transfer log's time).
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len
            && self.words.len() == other.words.len()
            && self.words.iter().zip(&other.words).all(|(a, b)| a == b)
    }
}

impl Clone for ShapeText {
    fn clone(&self) -> Self {
        ShapeText {
            len: self.len,
            words: self.words.clone(),
        }
    }

    /// Reuses this shape's buffer (the derived one would allocate another).
    fn clone_from(&mut self, source: &Self) {
        self.len = source.len;
        self.words.clone_from(&source.words);
    }
}

/// Where a line's shape was looked up.
pub(super) enum Lookup {
    /// What the shape told, and what the line says if it is the very line the shape was made
    /// from.
    Known(Answer, Option<Classified>),
    /// Not seen: what the line turns out to say can be remembered.
    New,
    /// A line whose shape is not remembered.
    Unfit,
}

impl Shapes {
    /// Looks up the shape of `text`.
    pub(super) fn look_up(&mut self, text: &str) -> Lookup {
        let line = text.as_bytes();
        let Some(key) = Self::key(line) else {
            return Lookup::Unfit;
        };
        self.key = key;
        if self.slots.is_empty() {
            self.slots.resize_with(SETS * WAYS, || None);
        }
        let set = self.set();
        // Compared word by word as the line's shape is made, never written out: most lines
        // match the first shape compared.
        let known = self.slots[set..set + WAYS].iter().flatten().find(|s| {
            s.key == key
                && s.text.len == line.len()
                && {
                    let mut known = s.text.words.iter();
                    each_shape_word(line, |word| word.is_some() && word == known.next().copied())
                }
                && s.digits
                    .iter()
                    .all(|&(at, digit)| line.get(at) == Some(&digit))
        });
        if let Some(shape) = known {
            let same_line = shape.said.as_ref().filter(|_| shape.line == line);
            return Lookup::Known(shape.answer.clone(), same_line.cloned());
        }
        match self.shape_of(line) {
            true => Lookup::New,
            false => Lookup::Unfit,
        }
    }

    /// Remembers what `line`, the line last looked up, said: the filter's `answer`, and for a
    /// line events may match, what it `said`.
    pub(super) fn remember(
        &mut self,
        guard: &Guard,
        line: &str,
        answer: Answer,
        said: Option<&Classified>,
    ) {
        self.bytes.clear();
        let words = self.current.words.iter().flat_map(|w| w.to_le_bytes());
        self.bytes.extend(words.take(self.current.len));
        guard.digits_in(&self.bytes, line.as_bytes(), &mut self.digits);
        let set = self.set();
        let slots = &mut self.slots[set..set + WAYS];
        let free = slots.iter().position(Option::is_none);
        let slot = &mut slots[free.unwrap_or((self.key >> 16) as usize % WAYS)];
        match slot {
            // A shape taken over lends its buffer: no allocation once the slots are filled.
            Some(old) => {
                old.key = self.key;
                old.text.clone_from(&self.current);
                old.answer = answer;
                old.digits.clone_from(&self.digits);
                old.line.clear();
                if said.is_some() {
                    old.line.extend_from_slice(line.as_bytes());
                }
                old.said = said.cloned();
            }
            None => {
                *slot = Some(Shape {
                    key: self.key,
                    text: self.current.clone(),
                    answer,
                    digits: self.digits.clone(),
                    line: said.map(|_| line.as_bytes().to_vec()).unwrap_or_default(),
                    said: said.cloned(),
                })
            }
        }
    }

    fn set(&self) -> usize {
        ((self.key >> 40) as usize % SETS) * WAYS
    }

    /// Which shapes a line's may be: a hash of the line's length and of the first and last words
    /// of its shape (shapes of a log's lines mostly differ there, and the ones between cost more
    /// to make than to compare). `None` for a line not remembered: a long one, or one with a byte
    /// past ASCII in its last word.
    fn key(line: &[u8]) -> Option<u64> {
        if line.len() > LONGEST {
            return None;
        }
        let last = match line.len().div_ceil(8).checked_sub(1) {
            Some(i) => shape_word(i, word_at(line, i))?,
            None => 0,
        };
        let key = [word_at(line, 0), word_at(line, 1), last].into_iter().fold(
            line.len() as u64,
            |key, word| {
                (key ^ word)
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                    .rotate_left(29)
            },
        );
        Some(key)
    }

    /// Makes the shape of a line in `current`; `false` for a line not remembered (long, or with
    /// a byte past ASCII past the kept ones).
    fn shape_of(&mut self, line: &[u8]) -> bool {
        if line.len() > LONGEST {
            return false;
        }
        self.current.len = line.len();
        let words = &mut self.current.words;
        words.clear();
        each_shape_word(line, |word| word.map(|word| words.push(word)).is_some())
    }
}

/// Hands the words of a line's shape to `each` in turn, from its bytes eight at a time, until it
/// says to stop; says whether it went through them all.
fn each_shape_word(line: &[u8], mut each: impl FnMut(Option<u64>) -> bool) -> bool {
    let chunks = line.chunks_exact(8);
    let tail = !chunks.remainder().is_empty();
    let mut i = 0;
    for chunk in chunks {
        let x = <[u8; 8]>::try_from(chunk).map_or(0, u64::from_le_bytes);
        if !each(shape_word(i, x)) {
            return false;
        }
        i += 1;
    }
    !tail || each(shape_word(i, word_at(line, i)))
}

/// Word `i` of a line's shape, from the line's bytes `x` there: among the first [`KEPT`] bytes as
/// they are, past them with digits marked. `None` past them for a byte past ASCII (the marking
/// below is only right for ASCII).
fn shape_word(i: usize, x: u64) -> Option<u64> {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    if i < KEPT / 8 {
        return Some(x);
    }
    if x & HIGH != 0 {
        return None;
    }
    // Bytes below 0x80: adding 0x50 sets the high bit from '0' up, adding 0x46 from ':' up, and
    // neither carries into the next byte.
    let digits = (x.wrapping_add(0x50 * ONES)) & !(x.wrapping_add(0x46 * ONES)) & HIGH;
    let digits = (digits >> 7) * 0xFF;
    Some((x & !digits) | ((u64::from(MARK) * ONES) & digits))
}

/// Bytes `8 * i` to `8 * i + 8` of a line as one number, zeros past its end.
fn word_at(bytes: &[u8], i: usize) -> u64 {
    let eight = |at: usize| {
        let word = bytes
            .get(at..at + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok());
        word.map(u64::from_le_bytes)
    };
    let at = 8 * i;
    if let Some(word) = eight(at) {
        return word;
    }
    let tail = bytes.len().saturating_sub(at);
    // The line's last eight bytes, shifted down to the tail: copying the tail into a word in
    // memory and reading it back as one stalls the CPU (the store cannot be forwarded).
    match bytes.len().checked_sub(8).and_then(eight) {
        Some(last) if tail > 0 => last >> (8 * (8 - tail)),
        _ => bytes
            .get(at..)
            .unwrap_or_default()
            .iter()
            .rev()
            .fold(0, |word, &b| (word << 8) | u64::from(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Option<Vec<u8>> {
        let mut shapes = Shapes::default();
        if !shapes.shape_of(text.as_bytes()) {
            return None;
        }
        let words = shapes.current.words.iter().flat_map(|w| w.to_le_bytes());
        Some(words.take(shapes.current.len).collect())
    }

    #[test]
    fn words_are_the_bytes_eight_at_a_time_zeros_past_the_end() {
        let text: Vec<u8> = (1..=40).collect();
        for len in 0..=text.len() {
            let bytes = &text[..len];
            for i in 0..len.div_ceil(8) {
                let mut expected = [0u8; 8];
                let part = &bytes[8 * i..(8 * i + 8).min(len)];
                expected[..part.len()].copy_from_slice(part);
                assert_eq!(word_at(bytes, i), u64::from_le_bytes(expected), "{len} {i}");
            }
        }
    }

    #[test]
    fn digits_past_the_tags_are_marked() {
        let line = "debug3: Received reply T:103 I:57821 R:64";
        let expected: Vec<u8> = line
            .bytes()
            .enumerate()
            .map(|(i, b)| {
                if i >= KEPT && b.is_ascii_digit() {
                    MARK
                } else {
                    b
                }
            })
            .collect();
        assert_eq!(shape(line), Some(expected));
        assert_eq!(
            shape("debug3: Received reply T:999 I:12345 R:10"),
            shape(line)
        );
        assert_ne!(
            shape("debug1: Received reply T:103 I:57821 R:64"),
            shape(line)
        );
        assert_eq!(shape("debug3: Sent to ü"), None);
        assert!(shape("debug3: Sent ü").is_some(), "kept as it is");
        assert_eq!(shape(&"x".repeat(LONGEST + 1)), None);
        assert_eq!(shape(""), Some(Vec::new()));
    }

    #[test]
    fn a_shape_that_holds_a_literal_with_a_digit_marked_stands_for_lines_with_that_digit() {
        let guard = Guard::new(["SSH2_MSG_", "x11-req", "Connection closed"].into_iter()).unwrap();
        for (line, other, same) in [
            (
                "debug1: kex: got SSH3_MSG_KEXINIT",
                "debug1: kex: got SSH2_MSG_KEXINIT",
                false,
            ),
            (
                "debug2: channel 0: request x12-req confirm 0",
                "debug2: channel 0: request x11-req confirm 1",
                false,
            ),
            // `x11-` across the last kept byte: only its second digit is marked.
            ("debug2: ab cd x11-req", "debug2: ab cd x12-req", false),
            ("debug2: ab cd x11-req 5", "debug2: ab cd x11-req 7", true),
            // The digit among the kept bytes: lines of this shape all have it.
            (
                "debug1: SSH2_MSG_KEXINIT 1",
                "debug1: SSH2_MSG_KEXINIT 2",
                true,
            ),
            (
                "debug2: channel 0: rcvd adjust 65536",
                "debug2: channel 1: rcvd adjust 12345",
                true,
            ),
        ] {
            let mut shapes = Shapes::default();
            assert!(matches!(shapes.look_up(line), Lookup::New), "{line}");
            shapes.remember(&guard, line, Answer::Events(Candidates::Several), None);
            assert!(matches!(shapes.look_up(line), Lookup::Known(..)), "{line}");
            let known = matches!(shapes.look_up(other), Lookup::Known(..));
            assert_eq!(known, same, "{line} / {other}");
        }
        assert!(Guard::new(["a\0b"].into_iter()).is_none());
    }

    #[test]
    fn a_line_with_a_byte_past_ascii_past_the_kept_ones_has_no_shape() {
        let guard = Guard::new(std::iter::empty()).unwrap();
        let mut shapes = Shapes::default();
        // Same length, same first and last words: only a word between tells them apart.
        let line = "debug1: one two 3 four five six";
        let odd = "debug1: one two \u{e9}four five six";
        assert_eq!(line.len(), odd.len());
        assert!(matches!(shapes.look_up(line), Lookup::New));
        shapes.remember(&guard, line, Answer::Events(Candidates::Several), None);
        assert!(matches!(shapes.look_up(odd), Lookup::Unfit));
        assert!(
            matches!(shapes.look_up("debug1: \u{e9}"), Lookup::New),
            "kept as it is"
        );
    }
}
