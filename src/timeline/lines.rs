//! The lines a timeline keeps: a line as a verdict quotes it, and the bounded store of each
//! connection's lines (its first, its last and the notable ones between).

use std::collections::VecDeque;

use serde::Serialize;

use crate::normalize::{Line, LineTexts};

use crate::event::RunLines;

/// A line of the input, as shown in a verdict.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct LineRef {
    pub line: u64,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// The time on a millisecond clock (see [`Line::millis`]), for durations.
    #[serde(skip)]
    pub millis: Option<u64>,
}

impl Clone for LineRef {
    fn clone(&self) -> Self {
        LineRef {
            line: self.line,
            text: self.text.clone(),
            time: self.time.clone(),
            millis: self.millis,
        }
    }

    /// Reuses this line's text buffer: the lines a session follows (its last event, its last
    /// timed line) change on most lines of a long log.
    fn clone_from(&mut self, source: &Self) {
        self.line = source.line;
        self.text.clone_from(&source.text);
        self.time.clone_from(&source.time);
        self.millis = source.millis;
    }
}

/// Longest text kept per stored line (the verdict quotes lines, it does not reproduce a dump).
pub(super) const STORED_TEXT_BYTES: usize = 1024;

/// Where a line's text is cut to be stored, if it is longer than [`STORED_TEXT_BYTES`].
fn stored_cut(text: &str) -> Option<usize> {
    let mut cut = STORED_TEXT_BYTES;
    if text.len() <= cut {
        return None;
    }
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    Some(cut)
}

/// Appends a line's text to `buffer` as it is stored: cut to [`STORED_TEXT_BYTES`], with `…`.
fn push_stored(buffer: &mut String, text: &str) {
    match stored_cut(text) {
        Some(cut) => {
            buffer.push_str(&text[..cut]);
            buffer.push('…');
        }
        None => buffer.push_str(text),
    }
}

impl LineRef {
    /// Becomes line `number`, a line without a time, as it is stored (what `LineRef::from` of
    /// that line gives), in this one's buffer.
    pub(super) fn set_untimed(&mut self, number: u64, text: &str) {
        self.line = number;
        self.text.clear();
        push_stored(&mut self.text, text);
        self.time = None;
        self.millis = None;
    }
}

impl From<Line> for LineRef {
    /// Takes the line's text (cut to `STORED_TEXT_BYTES`) without copying it.
    fn from(line: Line) -> Self {
        let mut text = line.text;
        if let Some(cut) = stored_cut(&text) {
            text.truncate(cut);
            text.push('…');
        }
        LineRef {
            line: line.number,
            text,
            time: line.time,
            millis: line.millis,
        }
    }
}

/// A line a [`LineStore`] kept, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeptLine<'a> {
    pub line: u64,
    pub text: &'a str,
    pub time: Option<&'a str>,
    pub millis: Option<u64>,
}

impl KeptLine<'_> {
    pub fn to_line_ref(self) -> LineRef {
        LineRef {
            line: self.line,
            text: self.text.to_owned(),
            time: self.time.map(str::to_owned),
            millis: self.millis,
        }
    }
}

impl<'a> From<&'a LineRef> for KeptLine<'a> {
    fn from(line: &'a LineRef) -> Self {
        KeptLine {
            line: line.line,
            text: &line.text,
            time: line.time.as_deref(),
            millis: line.millis,
        }
    }
}

/// Lines kept for rule matching: the first ones, the last ones, and the notable ones between.
///
/// The store copies what it keeps into buffers of its own, so keeping a line costs no allocation
/// of its own: lines kept for good are laid end to end in one text, and the slots of the last
/// lines are reused as the window moves. (A log of many short connections keeps every line of
/// each: an allocation per line, freed when the connection left the timeline, was ~15% of the
/// cost of reading such a log.)
#[derive(Debug, Clone, Default)]
pub struct LineStore {
    head: Archive,
    notable: Archive,
    tail: VecDeque<(LineRef, bool)>,
    dropped: u64,
}

pub(super) const HEAD_LINES: usize = 2000;
pub(super) const TAIL_LINES: usize = 500;
const NOTABLE_LINES: usize = 500;

/// Lines kept for good: their texts and times end to end in one buffer, each with its number
/// and clock time.
#[derive(Debug, Clone, Default)]
struct Archive(LineTexts<(u64, Option<u64>)>);

impl Archive {
    fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn push(&mut self, line: &LineRef) {
        let time = line.time.as_deref();
        self.0.push(&line.text, time, (line.line, line.millis));
    }

    fn iter(&self) -> impl Iterator<Item = KeptLine<'_>> {
        self.0.iter().map(|(text, time, &(line, millis))| KeptLine {
            line,
            text,
            time,
            millis,
        })
    }
}

impl LineStore {
    /// This store with no line in it, its buffers kept for the lines of another session (a log of
    /// many connections drops one for each new one past the most kept: growing the buffers of
    /// each new one anew was ~9% of the instructions of reading such a log).
    pub(super) fn emptied(mut self) -> LineStore {
        self.head.0.clear();
        self.notable.0.clear();
        self.tail.clear();
        self.dropped = 0;
        self
    }

    /// Keeps a copy of `line`, or of as much of the log around it as the store holds.
    pub(super) fn push(&mut self, line: &LineRef, notable: bool) {
        if self.head.len() < HEAD_LINES {
            self.head.push(line);
            return;
        }
        if self.tail.len() < TAIL_LINES {
            self.tail.push_back((line.clone(), notable));
            return;
        }
        let Some((mut slot, was_notable)) = self.tail.pop_front() else {
            return;
        };
        self.let_go(&slot, was_notable);
        slot.clone_from(line);
        self.tail.push_back((slot, notable));
    }

    /// [`push`](Self::push) of `count` routine lines (none of them notable, none timed), given
    /// by their places in the run: only the last of them stay in the ring, so the others are
    /// counted as passed over without being looked at.
    pub(super) fn push_routine<'a>(&mut self, count: usize, lines: &impl RunLines<'a>) {
        let mut next = 0;
        while self.head.len() < HEAD_LINES && next < count {
            if let Some((number, text)) = lines.line(next) {
                match stored_cut(text) {
                    None => self.head.0.push(text, None, (number, None)),
                    Some(_) => {
                        let mut stored = String::new();
                        push_stored(&mut stored, text);
                        self.head.0.push(&stored, None, (number, None));
                    }
                }
            }
            next += 1;
        }
        // Pushed one by one, the first of them would go through the ring and out again.
        let left = count - next;
        let passing = (self.tail.len() + left)
            .saturating_sub(TAIL_LINES)
            .saturating_sub(self.tail.len());
        self.dropped += passing as u64;
        for (number, text) in (next + passing..count).filter_map(|i| lines.line(i)) {
            let mut slot = match self.tail.len() < TAIL_LINES {
                true => LineRef::default(),
                false => match self.tail.pop_front() {
                    Some((slot, was_notable)) => {
                        self.let_go(&slot, was_notable);
                        slot
                    }
                    None => return,
                },
            };
            slot.set_untimed(number, text);
            self.tail.push_back((slot, false));
        }
    }

    /// A line leaves the ring: kept among the notable ones if it is one and there is room.
    fn let_go(&mut self, line: &LineRef, notable: bool) {
        if notable && self.notable.len() < NOTABLE_LINES {
            self.notable.push(line);
        } else {
            self.dropped += 1;
        }
    }

    /// Every kept line, in input order.
    pub fn iter(&self) -> impl Iterator<Item = KeptLine<'_>> {
        self.head
            .iter()
            .chain(self.notable.iter())
            .chain(self.tail.iter().map(|(l, _)| KeptLine::from(l)))
    }

    /// How many lines were passed over (the middle of a very long transfer log).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// Makes `slot` a copy of `at`, in the buffers it already has.
pub(super) fn keep_latest(slot: &mut Option<LineRef>, at: &LineRef) {
    match slot {
        Some(kept) => kept.clone_from(at),
        None => *slot = Some(at.clone()),
    }
}
