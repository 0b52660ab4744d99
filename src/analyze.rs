//! The pipeline's front half: raw bytes → lines → normalised lines → classified events → timeline.
//!
//! Input is read as a stream with a bounded line length, so a log of any size or an endless
//! stream goes through in constant memory; only the timeline's bounded state is kept.

use std::io::{self, BufRead};

use crate::event::{Classified, Classifier, Level};
use crate::normalize::{Line, Normalized, Normalizer, MAX_LINE_BYTES};
use crate::timeline::{Timeline, TimelineBuilder};

/// Feeds lines through the normaliser, the grammar and the timeline.
#[derive(Debug, Default)]
pub struct Analyzer {
    normalizer: Normalizer,
    classifier: Classifier,
    builder: TimelineBuilder,
    /// The previous line, held back one line in case the next one is its hard-wrapped tail.
    pending: Option<(Line, Classified)>,
    /// The text buffer of a line the timeline let go of, for the next line to reuse.
    spare: String,
    line_number: u64,
    clock: DayClock,
}

/// Turns times of day into a clock that keeps counting past midnight.
#[derive(Debug, Default)]
struct DayClock {
    last: u64,
    days: u64,
}

impl DayClock {
    const DAY: u64 = 24 * 60 * 60 * 1000;

    fn unwrap(&mut self, millis_of_day: u64) -> u64 {
        // A jump back by more than half a day is the next day, not a log going backwards.
        if millis_of_day + Self::DAY / 2 < self.last {
            self.days += 1;
        }
        self.last = millis_of_day;
        self.days * Self::DAY + millis_of_day
    }
}

/// Widths at which terminals, mail and forum editors wrap a pasted log.
const WRAP_WIDTHS: &[usize] = &[72, 76, 78, 79, 80, 100, 120, 132];

impl Analyzer {
    pub fn new() -> Self {
        Self::default()
    }

    /// One raw line of input, without its `\n`; `truncated` if the reader cut it.
    pub fn push(&mut self, raw: &[u8], truncated: bool) {
        self.push_at(raw, truncated, None);
    }

    /// One raw line that arrived `elapsed` after the start of a live run: lines without a time
    /// of their own get that one.
    pub fn push_at(&mut self, raw: &[u8], truncated: bool, elapsed: Option<std::time::Duration>) {
        self.line_number += 1;
        self.builder.note_line_read(truncated);
        let buffer = std::mem::take(&mut self.spare);
        let Normalized::Line(mut line) = self.normalizer.normalize(self.line_number, raw, buffer)
        else {
            return;
        };
        line.truncated |= truncated;
        match (line.millis, elapsed) {
            (Some(millis), _) => line.millis = Some(self.clock.unwrap(millis)),
            (None, Some(elapsed)) => {
                line.millis = Some(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
                line.time = Some(format!("+{:.3}s", elapsed.as_secs_f64()));
            }
            (None, None) => {}
        }
        let classified = self.classifier.classify(&line.text);
        if let Some((prev, prev_class)) = self.pending.take() {
            match join_wrapped(&mut self.classifier, &prev, &prev_class, &line, &classified) {
                Some(joined) => {
                    self.pending = Some(joined);
                    return;
                }
                None => {
                    if let Some(spare) = self.builder.push(prev, &prev_class) {
                        self.spare = spare;
                    }
                }
            }
        }
        self.pending = Some((line, classified));
    }

    /// The timeline so far, without ending the input (a live run asks while lines still come).
    pub fn snapshot(&self) -> Timeline {
        let mut builder = self.builder.clone();
        if let Some((line, classified)) = &self.pending {
            let _ = builder.push(line.clone(), classified);
        }
        builder.finish()
    }

    /// The connection the latest line went to.
    pub fn current(&self) -> Option<&crate::timeline::Session> {
        self.builder.current()
    }

    pub fn finish(mut self) -> Timeline {
        if let Some((line, classified)) = self.pending.take() {
            let _ = self.builder.push(line, &classified);
        }
        self.builder.finish()
    }
}

/// A long line cut in two by a paste: the second half is not an OpenSSH line of its own, and the
/// two together are one the grammar knows.
fn join_wrapped(
    classifier: &mut Classifier,
    prev: &Line,
    prev_class: &Classified,
    line: &Line,
    class: &Classified,
) -> Option<(Line, Classified)> {
    if !class.event.is_other()
        || class.level != Level::Plain
        || line.text.is_empty()
        || line.text.starts_with(' ')
    {
        return None;
    }
    let width = prev.text.chars().count();
    let wrapped_known = !prev_class.event.is_other() && WRAP_WIDTHS.contains(&width);
    let cut_unknown = prev_class.event.is_other() && width >= 40;
    if !wrapped_known && !cut_unknown {
        return None;
    }
    ["", " "].iter().find_map(|sep| {
        let text = format!("{}{sep}{}", prev.text, line.text);
        let joined = classifier.classify(&text);
        let same =
            std::mem::discriminant(&joined.event) == std::mem::discriminant(&prev_class.event);
        let better = if prev_class.event.is_other() {
            !joined.event.is_other()
        } else {
            same
        };
        better.then(|| {
            (
                Line {
                    text,
                    ..prev.clone()
                },
                joined,
            )
        })
    })
}

/// Reads `reader` to its end, line by line, cutting lines longer than the normaliser keeps
/// without ever holding more than that in memory. Lines that lie whole in the reader's buffer are
/// handed over from it without a copy.
pub fn read_lines<R: BufRead>(mut reader: R, mut each: impl FnMut(&[u8], bool)) -> io::Result<()> {
    const KEPT: usize = MAX_LINE_BYTES + 1;
    // A line that began in an earlier buffer, and whether it was cut.
    let mut carried: Vec<u8> = Vec::new();
    let mut truncated = false;
    let carry = |carried: &mut Vec<u8>, truncated: &mut bool, bytes: &[u8]| {
        let room = KEPT.saturating_sub(carried.len());
        carried.extend_from_slice(&bytes[..bytes.len().min(room)]);
        *truncated |= bytes.len() > room;
    };
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            if !carried.is_empty() || truncated {
                each(&carried, truncated);
            }
            return Ok(());
        }
        let mut start = 0;
        if !carried.is_empty() || truncated {
            let Some(end) = memchr::memchr(b'\n', buf) else {
                carry(&mut carried, &mut truncated, buf);
                let used = buf.len();
                reader.consume(used);
                continue;
            };
            carry(&mut carried, &mut truncated, &buf[..end]);
            each(&carried, truncated);
            carried.clear();
            truncated = false;
            start = end + 1;
        }
        let first = start;
        for end in memchr::memchr_iter(b'\n', &buf[first..]).map(|at| first + at) {
            let line = &buf[start..end];
            each(&line[..line.len().min(KEPT)], line.len() > KEPT);
            start = end + 1;
        }
        carry(&mut carried, &mut truncated, &buf[start..]);
        let used = buf.len();
        reader.consume(used);
    }
}

/// Runs a whole reader through the pipeline's front half.
pub fn timeline_of<R: BufRead>(reader: R) -> io::Result<Timeline> {
    let mut analyzer = Analyzer::new();
    read_lines(reader, |line, truncated| analyzer.push(line, truncated))?;
    Ok(analyzer.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(input: &[u8]) -> Vec<(Vec<u8>, bool)> {
        let mut out = Vec::new();
        read_lines(io::BufReader::with_capacity(7, input), |l, t| {
            out.push((l.to_vec(), t))
        })
        .unwrap();
        out
    }

    #[test]
    fn splits_lines_across_buffer_boundaries() {
        assert_eq!(
            lines_of(b"abc\ndefghijklmnop\n\nlast"),
            vec![
                (b"abc".to_vec(), false),
                (b"defghijklmnop".to_vec(), false),
                (vec![], false),
                (b"last".to_vec(), false)
            ]
        );
    }

    #[test]
    fn long_lines_are_bounded() {
        let mut input = vec![b'x'; MAX_LINE_BYTES * 4];
        input.extend_from_slice(b"\nnext\n");
        let lines = lines_of(&input);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].1);
        assert!(lines[0].0.len() <= MAX_LINE_BYTES + 1);
        assert_eq!(lines[1], (b"next".to_vec(), false));
    }

    #[test]
    fn a_hard_wrapped_line_is_joined() {
        let log = [
            "OpenSSH_9.2p1 Debian-2+deb12u6, OpenSSL 3.0.19 27 Jan 2026",
            "debug1: Connecting to a-very-long-host-name.example.internal.corp [203.0.113.77] port",
            " 22.",
            "debug1: Authenticating to a-very-long-host-name.example.internal.corp:22 as 'alice-the-",
            "admin'",
        ]
        .join("\n");
        let timeline = timeline_of(log.as_bytes()).unwrap();
        let s = &timeline.sessions[0];
        assert_eq!(s.fact("user"), Some("alice-the-admin"));
        assert_eq!(
            s.fact("address"),
            None,
            "a continuation starting with a space is not joined"
        );
    }
}
