//! The pipeline's front half: raw bytes → lines → normalised lines → classified events → timeline.
//!
//! Input is read as a stream with a bounded line length, so a log of any size or an endless
//! stream goes through in constant memory; only the timeline's bounded state is kept. A whole
//! input is read in batches of lines, its runs of routine lines placed in the timeline in one
//! step each, and a long one's batches normalised and classified on other threads too (see
//! [`timeline_of`]); a live run's lines go one by one through an [`Analyzer`].

use std::io::{self, BufRead};
use std::sync::mpsc;

use crate::event::{Classified, Classifier, Level};
use crate::event::{RoutineLine, RoutineRun, RunLines};
use crate::input::{self, AnsibleReader, Encoding, Utf16Reader};
use crate::normalize::{count_byte, Buffers, Line, LineTexts, Lines, Normalized, MAX_LINE_BYTES};
use crate::timeline::{Timeline, TimelineBuilder};

/// Feeds lines one by one through the normaliser, the grammar and the timeline, as a live run
/// gives them; also what a batch's lines are placed through.
#[derive(Debug, Default)]
pub struct Analyzer {
    classifier: Classifier,
    builder: TimelineBuilder,
    /// The previous line, held back one line in case the next one is its hard-wrapped tail.
    pending: Option<(Line, Classified)>,
    /// Buffers of lines the timeline is done with, for the next lines to reuse.
    spare: Vec<Buffers>,
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
    /// How many lines have been given numbers so far.
    fn lines_numbered(&self) -> u64 {
        self.line_number
    }

    /// Numbers the next `count` lines (read elsewhere, a batch at a time); gives the first number.
    fn number_lines(&mut self, count: u64) -> u64 {
        let first = self.line_number + 1;
        self.line_number += count;
        first
    }

    /// The classifier lines read on this thread go through.
    fn classifier(&mut self) -> &mut Classifier {
        &mut self.classifier
    }

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
        let number = self.count_line(truncated);
        let spare = &mut self.spare;
        let mut line = match Lines::one(raw)
            .normalize(number, 0, raw.len(), || spare.pop().unwrap_or_default())
        {
            Normalized::AsPrinted(text) => {
                let mut buffers = spare.pop().unwrap_or_default();
                buffers.text.clear();
                buffers.text.push_str(text);
                Line {
                    number,
                    text: buffers.text,
                    time: None,
                    millis: None,
                    truncated: raw.len() > MAX_LINE_BYTES,
                }
            }
            Normalized::Line(line) => line,
            Normalized::Wrapper => return,
        };
        line.truncated |= truncated;
        let classified = self.classifier.classify(&line.text);
        self.place(line, classified, elapsed);
    }

    /// Counts one raw line read; gives its number.
    fn count_line(&mut self, truncated: bool) -> u64 {
        self.line_number += 1;
        self.builder.note_lines_read(1, u64::from(truncated));
        self.line_number
    }

    /// The last step for one classified line, in input order: its time on the log's clock, then
    /// joined to the line before it if a paste cut them apart, or else that line goes to the
    /// timeline.
    fn place(
        &mut self,
        mut line: Line,
        classified: Classified,
        elapsed: Option<std::time::Duration>,
    ) {
        match (line.millis, elapsed) {
            (Some(millis), _) => line.millis = Some(self.clock.unwrap(millis)),
            (None, Some(elapsed)) => {
                line.millis = Some(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX));
                line.time = Some(format!("+{:.3}s", elapsed.as_secs_f64()));
            }
            (None, None) => {}
        }
        if let Some((prev, prev_class)) = self.pending.take() {
            match join_wrapped(&mut self.classifier, &prev, &prev_class, &line, &classified) {
                Some(joined) => {
                    self.pending = Some(joined);
                    return;
                }
                None => self.push_to_timeline(prev, &prev_class),
            }
        }
        self.pending = Some((line, classified));
    }

    fn push_to_timeline(&mut self, line: Line, classified: &Classified) {
        let done = self.builder.push(line, classified);
        if self.spare.len() < SPARE_BUFFERS {
            self.spare.push(Buffers {
                text: done.text,
                time: done.time.unwrap_or_default(),
            });
        }
    }

    /// [`place`](Self::place) of a line a classifier thread read, which its batch holds.
    fn place_read(
        &mut self,
        (text, time, read): (&str, Option<&str>, &ReadLine),
        said: Classified,
    ) {
        let mut buffers = self.spare.pop().unwrap_or_default();
        buffers.text.clear();
        buffers.text.push_str(text);
        let line = Line {
            number: read.number,
            text: buffers.text,
            time: time.map(|time| {
                buffers.time.clear();
                buffers.time.push_str(time);
                buffers.time
            }),
            millis: read.millis,
            truncated: read.truncated,
        };
        self.place(line, said, None);
    }

    /// [`place`](Self::place) of each line of a run of routine lines but the last (which the
    /// next line may turn out to continue), in one step: a routine line continues no line, so
    /// the line held back goes to the timeline first.
    fn place_routine<'a>(&mut self, run: &RoutineRun, lines: &impl RunLines<'a>) {
        if let Some((prev, prev_class)) = self.pending.take() {
            self.push_to_timeline(prev, &prev_class);
        }
        self.builder.push_routine(run, lines);
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

/// The most of a line kept: a longer one is cut to this and counted as cut.
const KEPT: usize = MAX_LINE_BYTES + 1;

/// The reader's buffer, filled if it was empty (empty at the end of the input), read again when a
/// signal cut a read short.
fn fill<R: BufRead>(reader: &mut R) -> io::Result<&[u8]> {
    loop {
        match reader.fill_buf() {
            // Not read again: a terminal's end of input is one keypress, not one per read.
            Ok([]) => return Ok(&[]),
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    // Filled now: this only hands the buffer out (returned from the loop, the borrow checker
    // would hold the reader borrowed across its turns).
    reader.fill_buf()
}

/// Reads `reader` to its end, line by line, cutting lines longer than the normaliser keeps
/// without ever holding more than that in memory. Lines that lie whole in the reader's buffer are
/// handed over from it without a copy.
pub fn read_lines<R: BufRead>(mut reader: R, mut each: impl FnMut(&[u8], bool)) -> io::Result<()> {
    // A line that began in an earlier buffer, and whether it was cut.
    let mut carried: Vec<u8> = Vec::new();
    let mut truncated = false;
    let carry = |carried: &mut Vec<u8>, truncated: &mut bool, bytes: &[u8]| {
        let room = KEPT.saturating_sub(carried.len());
        carried.extend_from_slice(&bytes[..bytes.len().min(room)]);
        *truncated |= bytes.len() > room;
    };
    loop {
        let buf = fill(&mut reader)?;
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
///
/// The input is read in batches of whole lines, each cut into lines, normalised and classified
/// in one go, its runs of routine lines placed in the timeline in one step each. That is most of
/// the work, and what it makes of a line depends on that line alone: so past the first
/// [`PARALLEL_AFTER`] lines (a typical log never gets there) classifier threads, one per other
/// core, take batches, while this thread reads, builds the timeline in input order and does the
/// batches no thread has room for. The timeline is the same as with the lines given one by one
/// to an [`Analyzer`] (a test holds the two equal).
pub fn timeline_of<R: BufRead>(reader: R) -> io::Result<Timeline> {
    timeline_with_threads(reader, None)
}

/// [`timeline_of`] with at most `threads` classifier threads (0: every line done on this one);
/// `None`: one per other core.
pub fn timeline_with_threads<R: BufRead>(
    mut reader: R,
    threads: Option<usize>,
) -> io::Result<Timeline> {
    // Told once from the first bytes: a UTF-8 log is read as it is, with nothing in between;
    // Ansible's output has ssh's taken out of the strings it sits in.
    match input::detect(&mut reader)? {
        Encoding::Utf8 if input::is_ansible(reader.fill_buf()?) => {
            decoded_timeline(AnsibleReader::new(reader), threads)
        }
        Encoding::Utf8 => decoded_timeline(reader, threads),
        Encoding::Utf16Le => decoded_timeline(Utf16Reader::new(reader, false), threads),
        Encoding::Utf16Be => decoded_timeline(Utf16Reader::new(reader, true), threads),
    }
}

/// [`timeline_with_threads`] of an input decoded to UTF-8.
fn decoded_timeline<R: BufRead>(reader: R, threads: Option<usize>) -> io::Result<Timeline> {
    let mut analyzer = Analyzer::new();
    std::thread::scope(|scope| {
        ClassifierPool::new(threads).read_all(scope, reader, &mut analyzer)
    })?;
    Ok(analyzer.finish())
}

/// Lines read before the work moves to other threads: starting them costs more than a typical
/// log takes.
pub const PARALLEL_AFTER: u64 = 16 * 1024;
/// Bytes of whole lines handed to a classifier thread at a time: small batches keep the threads
/// from waiting long on each other (4,096 lines, ~200 KB, was ~10% slower on 2 cores), large
/// enough to make a hand-over rare.
const BATCH_BYTES: usize = 64 * 1024;
/// Buffers of lines kept for reuse: a line or two are in the works at a time.
const SPARE_BUFFERS: usize = 16;
/// Batches in flight per classifier thread, and done on the reading thread but not yet placed:
/// bounds memory, keeps every thread busy.
const BATCHES_IN_FLIGHT: usize = 4;
/// Past this many, the reading thread is the bottleneck: it does about a third of the work.
const MAX_THREADS: usize = 8;

/// Raw lines on their way to a classifier thread (their bytes, each line ended by a newline, and
/// the number of the first), then what it made of them.
///
/// The texts (and times) of the lines read travel end to end in one buffer, reused from batch to
/// batch, so that no line costs an allocation: memory allocated on one thread and freed on
/// another also makes the system allocator lock and wait.
#[derive(Default)]
struct Batch {
    first: u64,
    bytes: Vec<u8>,
    /// How many lines it holds, and how many of them were cut to [`KEPT`].
    lines: u64,
    truncated: u64,
    /// Where each line starts and ends in `bytes` (cut to [`KEPT`]), and whether it was cut.
    ends: Vec<(usize, usize, bool)>,
    /// Each line read, its text and time moved beside it into one buffer.
    read: LineTexts<ReadLine>,
    /// What each line of the stretches of lines placed on their own says, in order.
    said: Vec<Classified>,
    /// The lines read, cut into stretches. Made where the batch is read, so the reading thread,
    /// which places every batch, need not.
    stretches: Vec<Stretch>,
}

/// A line a classifier thread read, but for its text and time, which its batch holds end to end,
/// and what it says, which the batch keeps only for a line placed on its own (a line's record is
/// copied in and looked at again: the smaller, the better).
struct ReadLine {
    number: u64,
    millis: Option<u64>,
    truncated: bool,
}

/// Classifier threads, each with its own [`Classifier`]. A batch goes to a thread with room for
/// it or, when every one is busy, is done on the reading thread itself, so the work spreads over
/// the cores whatever the share of reading is. Batches are placed in the order they were read:
/// each thread answers its batches in the order it got them.
struct ClassifierPool {
    /// How many threads to start once the log is long (`None` inside: one per other core), until
    /// they are started.
    threads: Option<Option<usize>>,
    to: Vec<mpsc::SyncSender<Batch>>,
    from: Vec<mpsc::Receiver<Batch>>,
    /// Batches sent to each thread and not yet answered.
    busy: Vec<usize>,
    /// Every batch not yet placed, oldest first.
    queue: std::collections::VecDeque<Slot>,
    filling: Batch,
    /// Where the line being read starts in the batch being filled: the bytes before are whole
    /// lines.
    line_start: usize,
    /// The line being read was cut to [`KEPT`] bytes (and one more, to tell it was): the rest of
    /// it is passed over.
    passing_over: bool,
    /// Emptied batches, to fill again.
    empty: Vec<Batch>,
    /// Where the reading thread normalises the lines of the batches it does itself.
    scratch: Buffers,
}

/// Lines of a batch that go to the timeline alike.
// A run is large next to a count, but stretches live in a batch's reused vector: boxing the run
// would cost an allocation per run instead.
#[allow(clippy::large_enum_variant)]
enum Stretch {
    /// This many lines, each placed on its own.
    OnTheirOwn(usize),
    /// Routine lines: all but the last in one step, and the last on its own, as the line after
    /// it may turn out to continue it.
    Routine(Option<RoutineRun>, RoutineLine),
}

enum Slot {
    /// With this classifier thread.
    Sent(usize),
    /// Done on the reading thread.
    Done(Batch),
}

impl ClassifierPool {
    /// A pool with no thread yet; `threads`: how many it will start (`None`: one per other core).
    fn new(threads: Option<usize>) -> Self {
        ClassifierPool {
            threads: Some(threads),
            to: Vec::new(),
            from: Vec::new(),
            busy: Vec::new(),
            queue: std::collections::VecDeque::new(),
            filling: Batch::default(),
            line_start: 0,
            passing_over: false,
            empty: Vec::new(),
            scratch: Buffers::default(),
        }
    }

    /// Starts the classifier threads.
    fn start<'scope>(&mut self, scope: &'scope std::thread::Scope<'scope, '_>) {
        // Asked only now: it reads the process's CPU limits (~30 µs), which a typical log should
        // not pay for.
        let Some(threads) = self.threads.take() else {
            return;
        };
        let threads = threads.unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            cores.saturating_sub(1).clamp(1, MAX_THREADS)
        });
        for _ in 0..threads {
            let (batch_tx, batch_rx) = mpsc::sync_channel::<Batch>(BATCHES_IN_FLIGHT);
            let (done_tx, done_rx) = mpsc::sync_channel(BATCHES_IN_FLIGHT);
            let classify = move || {
                let mut classifier = Classifier::for_long_log();
                let mut scratch = Buffers::default();
                for mut batch in batch_rx {
                    read_batch(&mut classifier, &mut scratch, &mut batch);
                    if done_tx.send(batch).is_err() {
                        return;
                    }
                }
            };
            // Without a thread (the system refused one), this one does its share.
            if std::thread::Builder::new()
                .name("classifier".into())
                .spawn_scoped(scope, classify)
                .is_err()
            {
                break;
            }
            self.to.push(batch_tx);
            self.from.push(done_rx);
            self.busy.push(0);
        }
    }

    /// Reads `reader` in batches of whole lines, and places every line; starts the threads once
    /// [`PARALLEL_AFTER`] lines are read.
    fn read_all<'scope, R: BufRead>(
        mut self,
        scope: &'scope std::thread::Scope<'scope, '_>,
        mut reader: R,
        analyzer: &mut Analyzer,
    ) -> io::Result<()> {
        loop {
            let buf = fill(&mut reader)?;
            if buf.is_empty() {
                break;
            }
            // The batch being filled is never full here: it is sent once it is.
            let used = buf
                .len()
                .min(BATCH_BYTES.saturating_sub(self.filling.bytes.len()));
            self.take(&buf[..used]);
            reader.consume(used);
            if self.filling.bytes.len() >= BATCH_BYTES {
                self.send(analyzer);
                if analyzer.lines_numbered() >= PARALLEL_AFTER {
                    self.start(scope);
                }
            }
        }
        // A last line with no newline after it.
        if self.filling.bytes.len() > self.line_start {
            self.filling.bytes.push(b'\n');
            self.line_start = self.filling.bytes.len();
        }
        if self.line_start > 0 {
            self.send(analyzer);
        }
        while self.place_oldest(analyzer, true) {}
        Ok(())
    }

    /// Adds bytes read to the batch being filled, with no more kept of a line than [`KEPT`] and
    /// one byte (which tells the line was longer).
    fn take(&mut self, mut bytes: &[u8]) {
        if self.passing_over {
            let Some(end) = memchr::memchr(b'\n', bytes) else {
                return;
            };
            self.passing_over = false;
            bytes = &bytes[end..];
        }
        let batch = &mut self.filling.bytes;
        batch.extend_from_slice(bytes);
        if let Some(end) = memchr::memrchr(b'\n', bytes) {
            self.line_start = batch.len() - bytes.len() + end + 1;
        }
        if batch.len() - self.line_start > KEPT + 1 {
            batch.truncate(self.line_start + KEPT + 1);
            self.passing_over = true;
        }
    }

    /// Places the batches that are done, then hands the whole lines of the batch being filled to
    /// a thread with room for them, or does them here; the line being read starts the next batch.
    fn send(&mut self, analyzer: &mut Analyzer) {
        while self.place_oldest(analyzer, false) {}
        // Batches done here wait behind the oldest one sent: their number is bounded too, as if
        // this thread were one more classifier thread.
        if self.queue.len() > (self.to.len() + 1) * BATCHES_IN_FLIGHT {
            self.place_oldest(analyzer, true);
        }
        let mut next = self.empty.pop().unwrap_or_default();
        next.bytes
            .extend_from_slice(&self.filling.bytes[self.line_start..]);
        let mut batch = std::mem::replace(&mut self.filling, next);
        batch.bytes.truncate(self.line_start);
        self.line_start = 0;
        batch.lines = count_byte(&batch.bytes, b'\n') as u64;
        batch.first = analyzer.number_lines(batch.lines);
        let free = (0..self.to.len()).find(|&t| self.busy[t] < BATCHES_IN_FLIGHT);
        let unsent = match free {
            Some(thread) => match self.to[thread].send(batch) {
                Ok(()) => {
                    self.busy[thread] += 1;
                    self.queue.push_back(Slot::Sent(thread));
                    return;
                }
                // Only a panic ends a thread early; the scope reports it.
                Err(mpsc::SendError(batch)) => batch,
            },
            None => batch,
        };
        let mut batch = unsent;
        read_batch(analyzer.classifier(), &mut self.scratch, &mut batch);
        self.queue.push_back(Slot::Done(batch));
    }

    /// Places the oldest batch if it is done (or once it is, with `wait`); says whether it did.
    fn place_oldest(&mut self, analyzer: &mut Analyzer, wait: bool) -> bool {
        let mut batch = match self.queue.pop_front() {
            None => return false,
            Some(Slot::Done(done)) => done,
            Some(Slot::Sent(thread)) => {
                let answer = if wait {
                    self.from[thread].recv().ok()
                } else {
                    self.from[thread].try_recv().ok()
                };
                let Some(done) = answer else {
                    // Not done yet (or its thread panicked, which the scope reports).
                    self.queue.push_front(Slot::Sent(thread));
                    return false;
                };
                self.busy[thread] -= 1;
                done
            }
        };
        // Runs of routine lines go to the timeline in one step each, without a copy of each line.
        let mut at = 0;
        let read = &batch.read;
        let mut said = batch.said.drain(..);
        for stretch in batch.stretches.drain(..) {
            match stretch {
                Stretch::OnTheirOwn(count) => {
                    let lines = (at..at + count).filter_map(|i| read.get(i));
                    for (line, classified) in lines.zip(&mut said) {
                        analyzer.place_read(line, classified);
                    }
                    at += count;
                }
                Stretch::Routine(most, last) => {
                    if let Some(run) = most {
                        let start = at;
                        let run_lines =
                            |i: usize| read.get(start + i).map(|(text, _, l)| (l.number, text));
                        analyzer.place_routine(&run, &run_lines);
                        at += run.count;
                    }
                    if let Some(line) = read.get(at) {
                        analyzer.place_read(line, last.said());
                    }
                    at += 1;
                }
            }
        }
        drop(said);
        analyzer
            .builder
            .note_lines_read(batch.lines, batch.truncated);
        batch.bytes.clear();
        batch.truncated = 0;
        batch.read.clear();
        batch.stretches.clear();
        self.empty.push(batch);
        true
    }
}

/// Adds line `number` to the stretches of its batch: to the routine lines before it if it is one
/// too, else to the lines before it if they are placed on their own.
fn add_to_stretches(
    stretches: &mut Vec<Stretch>,
    said: &mut Vec<Classified>,
    number: u64,
    timed: bool,
    classified: Classified,
) {
    match (
        stretches.last_mut(),
        RoutineLine::of(number, timed, classified),
    ) {
        (Some(Stretch::Routine(most, last)), Ok(next)) => {
            let last = std::mem::replace(last, next);
            match most {
                Some(most) => most.add(&last),
                None => *most = Some(RoutineRun::of(&last)),
            }
        }
        (_, Ok(next)) => stretches.push(Stretch::Routine(None, next)),
        (Some(Stretch::OnTheirOwn(count)), Err(classified)) => {
            *count += 1;
            said.push(classified);
        }
        (_, Err(classified)) => {
            stretches.push(Stretch::OnTheirOwn(1));
            said.push(classified);
        }
    }
}

/// Cuts a batch into lines, and normalises and classifies them, each in `scratch` before its text
/// and time join the batch's.
fn read_batch(classifier: &mut Classifier, scratch: &mut Buffers, batch: &mut Batch) {
    let bytes = &batch.bytes;
    let mut start = 0;
    let lines = memchr::memchr_iter(b'\n', bytes).map(|end| {
        let line = (start, end.min(start + KEPT), end - start > KEPT);
        start = end + 1;
        line
    });
    batch.ends.clear();
    batch.ends.extend(lines);
    let lines = Lines::new(
        bytes,
        batch.ends.iter().map(|&(start, end, _)| (start, end)),
    );
    for (number, &(start, end, truncated)) in (batch.first..).zip(&batch.ends) {
        batch.truncated += u64::from(truncated);
        let (stretches, said) = (&mut batch.stretches, &mut batch.said);
        match lines.normalize(number, start, end, || std::mem::take(scratch)) {
            // A line as OpenSSH printed it goes into the batch straight from the raw bytes.
            Normalized::AsPrinted(text) => {
                add_to_stretches(stretches, said, number, false, classifier.classify(text));
                let read = ReadLine {
                    number,
                    millis: None,
                    truncated: truncated || end - start > MAX_LINE_BYTES,
                };
                batch.read.push(text, None, read);
            }
            Normalized::Line(line) => {
                let timed = line.time.is_some() || line.millis.is_some();
                let classified = classifier.classify(&line.text);
                add_to_stretches(stretches, said, number, timed, classified);
                let read = ReadLine {
                    number,
                    millis: line.millis,
                    truncated: line.truncated || truncated,
                };
                batch.read.push(&line.text, line.time.as_deref(), read);
                *scratch = Buffers {
                    text: line.text,
                    time: line.time.unwrap_or_default(),
                };
            }
            Normalized::Wrapper => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Fact;

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

    /// Input like a terminal's: once it has said the input ended, reading again would wait for
    /// more (here, fails).
    struct Terminal {
        input: Vec<u8>,
        at: usize,
        ended: bool,
    }

    impl io::Read for Terminal {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.ended {
                return Err(io::Error::other("read again after the end of input"));
            }
            let n = buf.len().min(self.input.len() - self.at);
            buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
            self.at += n;
            self.ended = n == 0;
            Ok(n)
        }
    }

    #[test]
    fn the_end_of_input_is_read_once() {
        let line = b"debug1: channel 0: rcvd adjust 65536\n";
        for lines in [3, PARALLEL_AFTER as usize * 2] {
            for threads in [0, 1] {
                let input = line.repeat(lines);
                let terminal = Terminal {
                    input,
                    at: 0,
                    ended: false,
                };
                let reader = io::BufReader::with_capacity(4096, terminal);
                let timeline = timeline_with_threads(reader, Some(threads)).unwrap();
                assert_eq!(timeline.lines_read, lines as u64);
            }
        }
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
        assert_eq!(s.fact_text(Fact::User).as_deref(), Some("alice-the-admin"));
        // Indentation comes off every line (a pasted block is often indented): a continuation
        // that starts with a space is joined back with it.
        assert_eq!(s.fact_text(Fact::Address).as_deref(), Some("203.0.113.77"));
    }
}
