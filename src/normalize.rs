//! The line normaliser: turns a raw line as people save or paste it into the line OpenSSH printed.
//!
//! It removes what terminals, loggers, chat tools, web pages and CI systems add around OpenSSH's
//! own text: CR line ends, ANSI colour codes, invalid UTF-8, indentation and padding, no-break
//! spaces, a leading timestamp (`ts`, ISO 8601, GitHub Actions, GitLab, Jenkins, VS Code
//! Remote-SSH's `[HH:MM:SS.mmm]` and its `> ` after it), syslog/journald prefixes
//! (`host ssh[123]: `), the PID/time columns of Windows OpenSSH log files, `> ` quoting, Markdown
//! fences, inline code and bold, `##[error]` tags, labels (`ssh : `) and the directory of scp
//! run by its path. The time, when one was there, is kept beside the text. [`Lines::normalize`]
//! is its one entry point.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::OnceLock;

use regex::bytes::{CaptureLocations, Regex, RegexBuilder};

/// The longest line kept for display and matching; the rest of a longer line is dropped (counted).
pub const MAX_LINE_BYTES: usize = 8 * 1024;

/// One line of input after normalisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number in the input as given (the user's editor shows the same number).
    pub number: u64,
    /// The text OpenSSH printed, without any wrapper.
    pub text: String,
    /// The time a prefix carried (`12:03:04.123`, `2026-11-22T10:00:01Z`, `Nov 22 10:00:01`), or
    /// for a live run the time since start (`+1.250s`).
    pub time: Option<String>,
    /// The same time on a clock in milliseconds, for durations: milliseconds of the day for a
    /// prefix, since the start for a live run.
    pub millis: Option<u64>,
    /// The line was longer than [`MAX_LINE_BYTES`] and was cut.
    pub truncated: bool,
}

/// What the normaliser makes of one raw line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Normalized<'a> {
    /// The line as OpenSSH printed it, straight from the input: its own text, with no time.
    AsPrinted(&'a str),
    /// A line the normaliser took something off (written into the buffers it was given).
    Line(Line),
    /// A wrapper's own line (a Markdown fence): not part of the log.
    Wrapper,
}

/// The buffers a line's text and time are written into. A long log hands back those of lines it
/// is done with, so reading a line allocates nothing.
#[derive(Debug, Default)]
pub struct Buffers {
    pub text: String,
    pub time: String,
}

/// Many lines, their texts and times end to end in one buffer, each with a `T` of its own: a
/// batch of lines or a store of kept ones holds them without a buffer per line.
#[derive(Debug, Clone)]
pub(crate) struct LineTexts<T> {
    texts: String,
    /// For each line, where its text ends and, right after it, where its time ends (if it has
    /// one; a line starts where the one before it ends), and its `T`.
    lines: Vec<(usize, Option<usize>, T)>,
}

impl<T> Default for LineTexts<T> {
    fn default() -> Self {
        LineTexts {
            texts: String::new(),
            lines: Vec::new(),
        }
    }
}

// `#[inline]`: called once or twice per line of a long log, with a `T` as large as a classified
// line; not inlined, each call copied it once more (+2.5% instructions on a long log).
impl<T> LineTexts<T> {
    #[inline]
    pub fn push(&mut self, text: &str, time: Option<&str>, value: T) {
        self.texts.push_str(text);
        let text_end = self.texts.len();
        let time_end = time.map(|time| {
            self.texts.push_str(time);
            self.texts.len()
        });
        self.lines.push((text_end, time_end, value));
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn clear(&mut self) {
        self.texts.clear();
        self.lines.clear();
    }

    /// Each line's text, time and `T`, in the order they were pushed.
    #[inline]
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>, &T)> {
        let mut start = 0;
        self.lines.iter().map(move |(text_end, time_end, value)| {
            let (text, time) = texts_at(&self.texts, &mut start, *text_end, *time_end);
            (text, time, value)
        })
    }

    /// The text, time and `T` of line `at` (the lines it holds are numbered from 0).
    #[inline]
    pub fn get(&self, at: usize) -> Option<(&str, Option<&str>, &T)> {
        let (text_end, time_end, value) = self.lines.get(at)?;
        let mut start = match at.checked_sub(1).and_then(|before| self.lines.get(before)) {
            Some((text_end, time_end, _)) => time_end.unwrap_or(*text_end),
            None => 0,
        };
        let (text, time) = texts_at(&self.texts, &mut start, *text_end, *time_end);
        Some((text, time, value))
    }
}

/// The text and time of the line that starts at `start` in `texts`; moves `start` past it.
#[inline]
fn texts_at<'a>(
    texts: &'a str,
    start: &mut usize,
    text_end: usize,
    time_end: Option<usize>,
) -> (&'a str, Option<&'a str>) {
    let text = &texts[*start..text_end];
    let time = time_end.map(|end| &texts[text_end..end]);
    *start = time_end.unwrap_or(text_end);
    (text, time)
}

/// The lines of a stretch of input, normalised one by one: the normaliser's one entry point
/// (inlined where a batch is read: a call per line of a long log cost ~1.5% instructions). A
/// line's normal form depends on that line alone, so lines can be normalised in any order, on
/// any thread; what it looks for to tell a line as OpenSSH printed it is found in one pass over
/// all the lines (checked line by line, the checks cost more to start than to run on a short
/// line).
pub struct Lines<'a> {
    bytes: &'a [u8],
    /// All the lines as text, when all of them are ASCII with no escape, and no CR but the one
    /// that ends a line (ssh ends its lines with one for a terminal in raw mode).
    plain: Option<&'a str>,
}

impl<'a> Lines<'a> {
    /// The lines at `lines` (where each starts and ends, without its `\n`) of `bytes`. A CR
    /// elsewhere in `bytes` than at the end of a line has every line checked on its own.
    pub fn new(bytes: &'a [u8], lines: impl IntoIterator<Item = (usize, usize)>) -> Self {
        let (mut ending_in_cr, mut may_be_printed) = (0, false);
        for (start, end) in lines {
            ending_in_cr += usize::from(end > start && bytes.get(end - 1) == Some(&b'\r'));
            may_be_printed = may_be_printed || matches!(bytes.get(start), Some(b'a'..=b'z'));
        }
        // Lines that all start otherwise (a time on every line) are none as printed: no pass.
        let plain = may_be_printed && plain_crs(bytes) == Some(ending_in_cr);
        Lines {
            bytes,
            plain: plain.then(|| std::str::from_utf8(bytes).ok()).flatten(),
        }
    }

    /// One line on its own (a live run's), its bytes without the `\n`.
    pub fn one(raw: &'a [u8]) -> Self {
        Lines {
            bytes: raw,
            plain: None,
        }
    }

    /// The normal form of line `number`, at `start..end` of the bytes. A line as OpenSSH printed
    /// it (nearly every line of a long log) is its own text; any other is written into the
    /// buffers `buffers` gives (cleared first), which is called for such a line only.
    #[inline(always)]
    pub fn normalize(
        &self,
        number: u64,
        start: usize,
        end: usize,
        buffers: impl FnOnce() -> Buffers,
    ) -> Normalized<'a> {
        if let Some(text) = self.as_printed(start, end) {
            return Normalized::AsPrinted(text);
        }
        let raw = &self.bytes[start..end];
        let truncated = raw.len() > MAX_LINE_BYTES;
        let raw = &raw[..raw.len().min(MAX_LINE_BYTES)];
        normalize_with_care(number, raw, truncated, buffers())
    }

    /// The line at `start..end` as OpenSSH printed it, if it is its own text with no time (cut
    /// to [`MAX_LINE_BYTES`]).
    #[inline(always)]
    fn as_printed(&self, start: usize, end: usize) -> Option<&'a str> {
        let raw = &self.bytes[start..end];
        match self.plain {
            Some(plain) if raw.len() <= MAX_LINE_BYTES => {
                let printed = plain.get(start..end - usize::from(raw.last() == Some(&b'\r')))?;
                let bytes = printed.as_bytes();
                (matches!(bytes.first(), Some(b'a'..=b'z')) && !pasted_around(bytes))
                    .then_some(printed)
            }
            _ => as_printed(raw),
        }
    }
}

/// [`Lines::as_printed`] of a line on its own.
fn as_printed(raw: &[u8]) -> Option<&str> {
    let raw = &raw[..raw.len().min(MAX_LINE_BYTES)];
    // Nearly every line of a long log is OpenSSH's own, as it printed it: it starts with a
    // lowercase letter (`debug1:`, `channel`, `sftp>`), so it has no quoting, fence or prefix,
    // and past the CR that ends each of its lines (ssh logs `\r\n`, for a terminal in raw mode)
    // it is plain ASCII without CR or escape. One pass says so.
    let printed = raw.strip_suffix(b"\r").unwrap_or(raw);
    if matches!(printed.first(), Some(b'a'..=b'z'))
        && !pasted_around(printed)
        && is_plain_ascii(printed)
    {
        return std::str::from_utf8(printed).ok();
    }
    None
}

/// A line a paste put something around though it starts as OpenSSH's may: padding to a
/// terminal's width (OpenSSH ends no line with a space), a label (PowerShell's `ssh : `).
#[inline]
fn pasted_around(printed: &[u8]) -> bool {
    // A debug line (nearly every line of a long log) has no label: its first word ends in `:`.
    matches!(printed.last(), Some(b' ' | b'\t'))
        || (!printed.starts_with(b"debug") && label_length(printed).is_some())
}

/// How many CRs `bytes` holds, if it is ASCII with no escape. CRs are counted, not searched for:
/// a search would stop at the one ending each line.
fn plain_crs(bytes: &[u8]) -> Option<usize> {
    let other = bytes
        .iter()
        .fold(0, |f, &b| f | (b & 0x80) | u8::from(b == 0x1b));
    (other == 0).then(|| count_byte(bytes, b'\r'))
}

/// How many times `byte` is in `bytes`: counted in a byte, 128 bytes at a time (a multiple of any
/// vector's width), so the compiler makes a few vector instructions of it.
pub(crate) fn count_byte(bytes: &[u8], byte: u8) -> usize {
    let count = |block: &[u8]| {
        block
            .iter()
            .fold(0u8, |n, &b| n.wrapping_add(u8::from(b == byte)))
    };
    bytes
        .chunks(128)
        .map(|block| usize::from(count(block)))
        .sum()
}

/// ASCII with no CR and no escape (the bytes the normaliser has to see to), checked eight bytes
/// at a time: lines are short, and a general search pays more to start than this whole pass.
fn is_plain_ascii(raw: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // The high bit of each byte of `word` that equals `byte` (and of some bytes after one that
    // does, which only matters when there is one).
    let has = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    let mut chunks = raw.chunks_exact(8);
    let mut flags = 0;
    for chunk in &mut chunks {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(chunk);
        let word = u64::from_ne_bytes(bytes);
        flags |= (word & HIGHS) | has(word, b'\r') | has(word, 0x1b);
    }
    let tail = chunks.remainder();
    flags == 0 && tail.iter().all(|&b| b < 0x80 && b != b'\r' && b != 0x1b)
}

/// [`Lines::normalize`] of any line, cut to [`MAX_LINE_BYTES`] already.
fn normalize_with_care(
    number: u64,
    raw: &[u8],
    truncated: bool,
    buffers: Buffers,
) -> Normalized<'static> {
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    // A progress meter redraws itself with bare CRs: what is left after the last one is what
    // the terminal showed.
    let raw = match memchr::memrchr(b'\r', raw) {
        Some(at) => &raw[at + 1..],
        None => raw,
    };
    // Checked first as it is, which is fast for the valid UTF-8 of nearly every line.
    let text = match std::str::from_utf8(raw) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(raw),
    };
    let text = strip_ansi(&text);
    let text = spaces_as_spaces(&text);
    let text = unwrapped(&text);
    if is_fence(text) {
        return Normalized::Wrapper;
    }
    let (mut time, mut text) = strip_prefixes(text);
    // What a wrapper puts after its time: VS Code's `> ` before each line ssh printed, GitHub
    // Actions' `##[error]`; then maybe the time of a timed log the wrapper shows (which is the
    // one kept: it is when ssh printed the line).
    if time.is_some() {
        let (inner_time, inner) = strip_prefixes(unwrapped(text));
        (time, text) = (inner_time.or(time), inner);
    }
    let millis = time.and_then(clock_millis);
    let Buffers {
        text: mut buffer,
        time: mut time_buffer,
    } = buffers;
    buffer.clear();
    buffer.push_str(text);
    let time = time.map(|time| {
        time_buffer.clear();
        time_buffer.push_str(time);
        time_buffer
    });
    Normalized::Line(Line {
        millis,
        number,
        text: buffer,
        time,
        truncated,
    })
}

/// The line inside what a paste puts around it: indentation (a Markdown code block's four
/// spaces, a forum's space or tab), `> ` quoting (e-mail, Markdown, possibly nested; an empty
/// quoted line is only its `>`), Markdown's inline code and bold, a CI log's `##[error]` tag,
/// VS Code's `stderr> ` and `local-server-1> `, a label (`error : `, PowerShell's `ssh : ` before a native command's
/// error output).
fn unwrapped(mut text: &str) -> &str {
    loop {
        let rest = text.trim_matches([' ', '\t']);
        if is_fence(rest) {
            return rest;
        }
        let rest = rest.trim_start_matches('`').trim_end_matches('`');
        let rest = match rest.strip_prefix("**").zip(rest.strip_suffix("**")) {
            Some(_) if rest.len() >= 4 => &rest[2..rest.len() - 2],
            _ => rest,
        };
        let rest = match rest.strip_prefix('>') {
            Some("") => "",
            Some(quoted) if quoted.starts_with(' ') => &quoted[1..],
            _ => ["stderr> ", "stdout> "]
                .iter()
                .find_map(|tag| rest.strip_prefix(tag))
                .or_else(|| vscode_local_server(rest))
                .or_else(|| ci_tag(rest))
                .or_else(|| program_path(rest))
                .or_else(|| labelled(rest))
                .or_else(|| bracketed(rest))
                .unwrap_or(rest),
        };
        if rest.len() == text.len() {
            return rest;
        }
        text = rest;
    }
}

/// VS Code Remote-SSH's tag on the lines of the local server that runs ssh (`local-server> `,
/// `local-server-1> `): its `>` is not a shell prompt, so `ssh child died` after it is no command.
fn vscode_local_server(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("local-server")?;
    let rest = rest
        .strip_prefix('-')
        .map_or(rest, |n| n.trim_start_matches(|c: char| c.is_ascii_digit()));
    rest.strip_prefix("> ")
}

/// scp's own line with the path it was run by (`/usr/bin/scp: debug2: …`, its `argv[0]`) as
/// scp prints it when run by name: `scp: debug2: …`.
fn program_path(text: &str) -> Option<&str> {
    let tag = text.find(": ")?;
    let name_at = text[..tag].rfind('/')? + 1;
    (text.starts_with('/') && &text[name_at..tag] == "scp").then(|| &text[name_at..])
}

/// The first line of a paste put in square brackets, `[bash: nc: command not found`: a line that
/// opens a bracket it never closes (OpenSSH starts no line with one).
fn bracketed(text: &str) -> Option<&str> {
    text.strip_prefix('[').filter(|rest| !rest.contains(']'))
}

/// The line after a one-word label: `error : ssh: connect to host …`, `ssh : OpenSSH_…`.
fn labelled(text: &str) -> Option<&str> {
    text.get(label_length(text.as_bytes())?..)
}

/// The length of a one-word label and the ` : ` after it at the start of `text`, if it has one.
fn label_length(text: &[u8]) -> Option<usize> {
    const LONGEST_WORD: usize = 12;
    let mut word = 0;
    while word <= LONGEST_WORD && text.get(word).is_some_and(u8::is_ascii_alphanumeric) {
        word += 1;
    }
    (word > 0 && text[word..].starts_with(b" : ")).then_some(word + 3)
}

/// The line after a GitHub Actions tag: `##[error]ssh: connect to host …`.
fn ci_tag(text: &str) -> Option<&str> {
    let tag = text.strip_prefix("##[")?;
    let end = tag.find(']')?;
    tag[..end]
        .bytes()
        .all(|b| b.is_ascii_lowercase())
        .then(|| &tag[end + 1..])
}

/// Spaces as a web page or word processor may turn them (no-break spaces) back into spaces.
fn spaces_as_spaces(text: &str) -> Cow<'_, str> {
    const NO_BREAK: [char; 3] = ['\u{a0}', '\u{2007}', '\u{202f}'];
    if text.is_ascii() || !text.contains(NO_BREAK) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.replace(NO_BREAK, " "))
}

fn is_fence(text: &str) -> bool {
    let t = text.trim_start();
    (t.starts_with("```") || t.starts_with("~~~")) && !t[3..].contains(' ')
}

/// Removes CSI (`ESC [ … letter`), OSC (`ESC ] … BEL/ST`) and lone two-byte escapes.
fn strip_ansi(text: &str) -> Cow<'_, str> {
    if memchr::memchr(0x1b, text.as_bytes()).is_none() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' || (c == '\u{1b}' && chars.peek() == Some(&'\\')) {
                        if c == '\u{1b}' {
                            chars.next();
                        }
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    Cow::Owned(out)
}

/// `10:15:02.431` (inside any of the time formats above) as milliseconds of the day.
pub(crate) fn clock_millis(time: &str) -> Option<u64> {
    if let Some(seconds) = time.strip_prefix('+').and_then(|t| t.strip_suffix('s')) {
        let seconds: f64 = seconds.parse().ok()?;
        return Some((seconds * 1000.0).round() as u64);
    }
    // The first `hh:mm:ss` (ASCII digits), then maybe `.` or `,` and the digits of a fraction.
    // Read by hand: a timed log has a clock on every line.
    let bytes = time.as_bytes();
    let is_clock = |c: &[u8]| match c {
        [h, hh, b':', m, mm, b':', s, ss] => {
            [h, hh, m, mm, s, ss].iter().all(|d| d.is_ascii_digit())
        }
        _ => false,
    };
    let at = bytes.windows(8).position(is_clock)?;
    let clock = &bytes[at..at + 8];
    let number = |digits: &[u8]| digits.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0'));
    let (h, m, s) = (
        number(&clock[0..2]),
        number(&clock[3..5]),
        number(&clock[6..8]),
    );
    // Milliseconds: the first three digits of the fraction, padded with zeros.
    let fraction = match &bytes[at + 8..] {
        [b'.' | b',', rest @ ..] => rest,
        _ => &[],
    };
    let digits = fraction.iter().take_while(|d| d.is_ascii_digit()).take(3);
    let (millis, places) = digits.fold((0, 0), |(n, k), d| (n * 10 + u64::from(d - b'0'), k + 1));
    let millis = millis * 10u64.pow(3 - places);
    Some(((h * 60 + m) * 60 + s) * 1000 + millis)
}

/// The prefixes loggers and wrappers put before OpenSSH's text, each with the time it carries
/// (capture group 1, `time`). Read as ASCII (`\d` is `[0-9]`, `\S` any byte but ASCII
/// whitespace): a time is read in ASCII digits anyway, and with Unicode classes compiling the six
/// cost ~19 M instructions (~5 ms), three quarters of a typical timed transcript's; as ASCII,
/// 2 M.
const PREFIX_PATTERNS: &[&str] = &[
    // vvvexplain's own live log (`--save`): `[+1.250s] debug1: …`
    r"^\[(?P<time>\+\d+(?:\.\d+)?s)\] ",
    // VS Code Remote-SSH output panel: `[10:15:02.431] debug1: …`; Jenkins' Timestamper:
    // `[2025-01-01T10:00:00.123Z] debug1: …`
    r"^\[(?P<time>(?:\d{4}-\d{2}-\d{2}[T ])?\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\] ",
    // Windows OpenSSH file log: `4120 2026-11-22 10:15:02.431 debug1: …`
    r"^\d+ (?P<time>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?) ",
    // ISO 8601 (`ts -s`, journalctl -o short-iso, GitHub Actions, most loggers), then an
    // optional syslog tag or GitLab's stream column (`00O `, `01E+`)
    r"^(?P<time>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?) (?:\S+ (?:ssh|sftp|scp|sshd)(?:\[\d+\])?: |\d{2}[OE](?:\+ ?| ))?",
    // syslog / journalctl short: `Nov 22 10:15:02 host ssh[4120]: …`, or `ts` alone: `Nov 22 10:15:02 …`
    r"^(?P<time>(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d{2}:\d{2}:\d{2}(?:\.\d+)?) (?:\S+ (?:ssh|sftp|scp|sshd)(?:\[\d+\])?: )?",
    // a bare clock: `10:15:02 debug1: …`, `10:15:02.431 debug1: …`
    r"^(?P<time>\d{2}:\d{2}:\d{2}(?:\.\d+)?) ",
];

/// The regexes that read a line's prefix, with capture slots reused from line to line (a timed
/// log has a prefix on every line). One per thread that meets a prefix: a regex
/// shared by threads hands its search caches out under a lock and makes new ones when threads
/// meet there, which cost thousands of allocations on a long timed log read by classifier
/// threads. Each thread's are clones of regexes compiled once (a clone has caches of its own).
#[derive(Clone)]
struct TimeReader {
    prefixes: Vec<(Regex, CaptureLocations)>,
    /// Lines with a possible prefix read, until [`FIRST_BYTES_AFTER`]; then what each pattern's
    /// lines start with.
    lines: usize,
    first_bytes: Option<&'static [Option<FirstBytes>]>,
}

/// Lines with a possible prefix a thread reads before it looks at their first bytes to skip
/// patterns: deriving those costs as much as reading a typical timed transcript (~1.3 M
/// instructions, parsing the patterns again).
const FIRST_BYTES_AFTER: usize = 1024;

/// The first two bytes a line may have for a pattern to match it, each as a set of 256 bits. A
/// line of a timed log has one form, and would otherwise pay a search for each pattern before
/// its own (`[+1.2s]` before `[10:15:02.431]`, four before syslog's) on every line.
#[derive(Clone, Debug)]
struct FirstBytes([[u64; 4]; 2]);

impl FirstBytes {
    /// What each prefix pattern's lines start with, derived once.
    fn of_patterns() -> &'static [Option<FirstBytes>] {
        static DERIVED: OnceLock<Vec<Option<FirstBytes>>> = OnceLock::new();
        DERIVED.get_or_init(|| PREFIX_PATTERNS.iter().map(|p| FirstBytes::of(p)).collect())
    }

    /// From the pattern itself: its prefix literals (every match starts with one), cut to two
    /// bytes; a literal of one byte that is not a whole match leaves the second byte open.
    /// `None` when they do not bound a line's first two bytes.
    fn of(pattern: &str) -> Option<FirstBytes> {
        let mut parser = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build();
        let hir = parser.parse(pattern).ok()?;
        let mut extractor = regex_syntax::hir::literal::Extractor::new();
        let prefixes = extractor.limit_literal_len(2).extract(&hir);
        let mut sets = [[0; 4]; 2];
        for literal in prefixes.literals()? {
            let (first, second) = match *literal.as_bytes() {
                [first, second, ..] => (first, Some(second)),
                [first] if !literal.is_exact() => (first, None),
                _ => return None,
            };
            let add =
                |set: &mut [u64; 4], byte: u8| set[usize::from(byte >> 6)] |= 1 << (byte & 63);
            add(&mut sets[0], first);
            match second {
                Some(byte) => add(&mut sets[1], byte),
                None => sets[1] = [u64::MAX; 4],
            }
        }
        Some(FirstBytes(sets))
    }

    fn may_start(&self, line: &[u8]) -> bool {
        let has = |set: &[u64; 4], byte: u8| set[usize::from(byte >> 6)] & (1 << (byte & 63)) != 0;
        match line {
            [first, second, ..] => has(&self.0[0], *first) && has(&self.0[1], *second),
            _ => false,
        }
    }
}

impl TimeReader {
    fn new() -> Self {
        static COMPILED: OnceLock<TimeReader> = OnceLock::new();
        COMPILED.get_or_init(Self::compile).clone()
    }

    fn compile() -> Self {
        let prefixes = PREFIX_PATTERNS.iter().map(|p| {
            let regex = RegexBuilder::new(p).unicode(false).build();
            let regex = regex.expect("built-in prefix pattern compiles");
            let slots = regex.capture_locations();
            (regex, slots)
        });
        TimeReader {
            prefixes: prefixes.collect(),
            lines: 0,
            first_bytes: None,
        }
    }
}

fn with_time_reader<T>(read: impl FnOnce(&mut TimeReader) -> T) -> T {
    thread_local! {
        static READER: RefCell<Option<TimeReader>> = const { RefCell::new(None) };
    }
    READER.with_borrow_mut(|reader| read(reader.get_or_insert_with(TimeReader::new)))
}

fn strip_prefixes(text: &str) -> (Option<&str>, &str) {
    // Cheap test first: every prefix starts with a digit, `[` or a month's name and a space. The
    // patterns are compiled only once a line could carry one (OpenSSH's own lines never do).
    const MONTHS: [&[u8]; 12] = [
        b"Jan ", b"Feb ", b"Mar ", b"Apr ", b"May ", b"Jun ", b"Jul ", b"Aug ", b"Sep ", b"Oct ",
        b"Nov ", b"Dec ",
    ];
    let bytes = text.as_bytes();
    let may_have_prefix = match bytes.first() {
        Some(b'0'..=b'9' | b'[') => true,
        Some(b'A'..=b'Z') => MONTHS.iter().any(|m| bytes.starts_with(m)),
        _ => false,
    };
    if !may_have_prefix {
        return (None, text);
    }
    with_time_reader(|reader| {
        if reader.first_bytes.is_none() {
            reader.lines += 1;
            if reader.lines >= FIRST_BYTES_AFTER {
                reader.first_bytes = Some(FirstBytes::of_patterns());
            }
        }
        let first_bytes = reader.first_bytes.unwrap_or_default();
        for (i, (pattern, slots)) in reader.prefixes.iter_mut().enumerate() {
            let first = first_bytes.get(i).and_then(Option::as_ref);
            if first.is_some_and(|first| !first.may_start(bytes)) {
                continue;
            }
            if let Some(whole) = pattern.captures_read(slots, bytes) {
                // Group 1 of every pattern is `time` (a test holds it). Every match ends at an
                // ASCII byte, so at a character's end; `get` all the same.
                let time = slots.get(1).and_then(|(start, end)| text.get(start..end));
                if let Some(rest) = text.get(whole.end()..) {
                    return (time, rest);
                }
            }
        }
        (None, text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line read on its own, as a live run reads it, as a [`Line`] whichever way it was read.
    fn normalize(number: u64, raw: &[u8]) -> Normalized<'static> {
        match Lines::one(raw).normalize(number, 0, raw.len(), Buffers::default) {
            Normalized::AsPrinted(text) => Normalized::Line(Line {
                number,
                text: text.to_string(),
                time: None,
                millis: None,
                truncated: raw.len() > MAX_LINE_BYTES,
            }),
            Normalized::Line(line) => Normalized::Line(line),
            Normalized::Wrapper => Normalized::Wrapper,
        }
    }

    fn norm(raw: &str) -> (Option<String>, String) {
        match normalize(1, raw.as_bytes()) {
            Normalized::Line(l) => (l.time, l.text),
            _ => (None, "<wrapper>".into()),
        }
    }

    #[test]
    fn crlf_and_ansi() {
        assert_eq!(
            norm("debug1: Connection established.\r").1,
            "debug1: Connection established."
        );
        assert_eq!(
            norm("\u{1b}[31mPermission denied (publickey).\u{1b}[0m").1,
            "Permission denied (publickey)."
        );
        assert_eq!(norm("50% 1MB\r100% 2MB").1, "100% 2MB");
    }

    #[test]
    fn the_quick_path_reads_lines_as_the_careful_one() {
        let lines: &[&[u8]] = &[
            b"debug1: Connection established.",
            b"debug3: Sent message SSH2_FXP_WRITE I:6 O:0 S:32768",
            b"sftp> put a b",
            b"a\tb  c ",
            b"x",
            b"debug1: \x01\x02 control bytes",
            b"debug1: with CR\r",
            b"debug1: with two CRs\r\r",
            b"debug1: 100%\rdone\r",
            b"debug1: CR\rin the middle of a line longer than eight",
            b"d\x1b[31mred",
            b"debug1: caf\xc3\xa9",
            b"debug1: \xff",
            b"debug1: \x8d\x9b high bytes that look like CR and ESC",
            b"[10:15:02.431] debug1: Connection established.\r",
            b"[+1.250s] debug1: x",
            b"[not a time] debug1: x",
            b"2026-11-22T10:00:01Z debug1: y",
            b"4120 2026-11-22 10:15:02.431 debug1: w",
            b"Nov 22 10:15:02 host ssh[4120]: debug1: z",
            b"Nov 22 no clock",
            b"10:15:02 debug1: bare clock",
            b"Permission denied (publickey).",
            b" debug1: indented",
            b"\tdebug1: tab",
            b"> debug1: quoted",
            b">",
            b"```",
            b"~~~text",
            b"  ```",
            b"debug1: padded   ",
            b"debug1: tab padded\t\r",
            b"    debug1: code block",
            b"debug1:\xc2\xa0no-break\xc2\xa0spaces",
            b"[10:15:02.431] > debug1: vscode",
            b"##[error]Process completed with exit code 255.",
            b"ssh : OpenSSH_for_Windows_8.1p1, LibreSSL 3.0.2",
            b"sftp : debug1: x",
            b"`debug1: x`",
            b"**ssh: connect to host h port 22: Operation timed out**",
        ];
        for raw in lines {
            assert_eq!(
                normalize(7, raw),
                normalize_with_care(7, raw, false, Buffers::default()),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    use proptest::strategy::Strategy;

    proptest::proptest! {
        #[test]
        fn any_line_reads_alike_either_way(
            first in proptest::prelude::any::<u8>(),
            rest in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120),
        ) {
            let mut raw = vec![first];
            raw.extend(rest);
            proptest::prop_assert_eq!(
                normalize(3, &raw),
                normalize_with_care(3, &raw, false, Buffers::default())
            );
        }

        #[test]
        fn lines_read_together_read_as_one_by_one(
            mut lines in proptest::collection::vec(
                (proptest::collection::vec(proptest::sample::select(&b"ad Z:"[..]), 0..12), proptest::prelude::any::<bool>())
                    .prop_map(|(mut line, cr)| { line.extend(cr.then_some(b'\r')); line }),
                1..40,
            ),
            other in proptest::option::of((
                proptest::prelude::any::<(usize, usize)>(),
                proptest::sample::select(&b"\r\x1b\x80\xc3"[..]),
            )),
        ) {
            if let Some(((line, at), byte)) = other {
                let count = lines.len();
                let line = &mut lines[line % count];
                line.insert(at % (line.len() + 1), byte);
            }
            let mut bytes = Vec::new();
            let mut ranges = Vec::new();
            for line in &lines {
                let start = bytes.len();
                bytes.extend_from_slice(line);
                ranges.push((start, bytes.len()));
                bytes.push(b'\n');
            }
            let printed = Lines::new(&bytes, ranges.iter().copied());
            for (start, end) in ranges {
                proptest::prop_assert_eq!(printed.as_printed(start, end), as_printed(&bytes[start..end]));
            }
        }

        #[test]
        fn crs_are_counted_in_plain_ascii(
            mut raw in proptest::collection::vec(proptest::sample::select(&b"ab\r\n"[..]), 0..2000),
            other in proptest::option::of((
                proptest::prelude::any::<usize>(),
                proptest::sample::select(&[0x1b, 0x80, 0xc3, 0xff][..]),
            )),
        ) {
            if let Some((at, byte)) = other {
                raw.insert(at % (raw.len() + 1), byte);
            }
            let plain = raw.iter().all(|&b| b < 0x80 && b != 0x1b);
            let crs = raw.iter().filter(|&&b| b == b'\r').count();
            proptest::prop_assert_eq!(plain_crs(&raw), plain.then_some(crs));
        }

        #[test]
        fn plain_ascii_is_told_apart(raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            let plain = raw.iter().all(|&b| b < 0x80 && b != b'\r' && b != 0x1b);
            proptest::prop_assert_eq!(is_plain_ascii(&raw), plain);
        }
    }

    #[test]
    fn a_long_line_among_plain_ones_is_cut_before_its_cr_comes_off() {
        let mut long = vec![b'd'; MAX_LINE_BYTES];
        long.extend_from_slice(b"\r");
        let bytes = [&b"debug1: a\r\n"[..], &long, b"\ndebug2: b\n"].concat();
        let lines = [
            (0, 10),
            (11, 11 + long.len()),
            (12 + long.len(), bytes.len() - 1),
        ];
        let printed = Lines::new(&bytes, lines);
        assert_eq!(printed.as_printed(0, 10), Some("debug1: a"));
        assert_eq!(
            printed.as_printed(lines[1].0, lines[1].1),
            as_printed(&long)
        );
        assert_eq!(
            printed.as_printed(lines[2].0, lines[2].1),
            Some("debug2: b")
        );
    }

    #[test]
    fn line_texts_give_back_each_text_and_time() {
        let mut texts = LineTexts::default();
        let lines = [
            ("a", None, 1),
            ("", Some("10:00:00"), 2),
            ("debug1: b", Some(""), 3),
            ("c", None, 4),
        ];
        for (text, time, n) in lines {
            texts.push(text, time, n);
        }
        let kept: Vec<_> = texts
            .iter()
            .map(|(text, time, &n)| (text, time, n))
            .collect();
        assert_eq!(kept, lines);
        for (at, line) in lines.iter().enumerate() {
            let (text, time, &n) = texts.get(at).unwrap();
            assert_eq!((text, time, n), *line);
        }
        assert_eq!(texts.get(lines.len()), None);
        texts.clear();
        assert_eq!(texts.len(), 0);
        texts.push("d", None, 5);
        assert_eq!(texts.iter().map(|(t, ..)| t).collect::<Vec<_>>(), ["d"]);
    }

    #[test]
    fn every_prefix_pattern_captures_the_time_first() {
        for (pattern, _) in TimeReader::new().prefixes {
            assert_eq!(
                pattern.capture_names().nth(1),
                Some(Some("time")),
                "{pattern}"
            );
        }
    }

    #[test]
    fn prefixes_read_alike_before_and_after_first_bytes_are_looked_at() {
        let lines = [
            "[10:15:02.431] debug1: x",
            "[+1.250s] debug1: x",
            "Nov 22 10:15:02 host ssh[1]: debug1: x",
            "Nov 22 10:15:02 debug1: x",
            "2026-11-22T10:15:02Z debug1: x",
            "4120 2026-11-22 10:15:02.431 debug1: x",
            "10:15:02.5 debug1: x",
            "[10:15] debug1: x",
            "1",
            "12 monkeys",
        ];
        // Tests run on threads of their own: this one's reader starts afresh.
        let before: Vec<_> = lines.iter().map(|l| strip_prefixes(l)).collect();
        for _ in 0..FIRST_BYTES_AFTER {
            strip_prefixes(lines[0]);
        }
        assert!(with_time_reader(|reader| reader.first_bytes.is_some()));
        let after: Vec<_> = lines.iter().map(|l| strip_prefixes(l)).collect();
        assert_eq!(before, after);
        assert!(before.iter().filter(|(time, _)| time.is_some()).count() >= 7);
    }

    #[test]
    fn a_pattern_is_tried_only_on_lines_that_start_as_its_matches_do() {
        let first = FirstBytes::of_patterns();
        assert!(first.iter().all(Option::is_some), "every pattern tells");
        let tried = |line: &str| -> Vec<usize> {
            let bytes = line.as_bytes();
            let may = |f: &Option<FirstBytes>| f.as_ref().is_some_and(|f| f.may_start(bytes));
            (0..first.len()).filter(|&i| may(&first[i])).collect()
        };
        assert_eq!(tried("[10:15:02.431] debug1: x"), [1]);
        // The optional date leaves the second byte of a `[` pattern open: the first pattern matches first.
        assert_eq!(tried("[+1.250s] debug1: x"), [0, 1]);
        assert_eq!(tried("Nov 22 10:15:02 host ssh[1]: debug1: x"), [4]);
        assert_eq!(tried("2026-11-22T10:15:02Z debug1: x"), [2, 3, 5]);
        assert_eq!(tried("d"), Vec::<usize>::new());
    }

    #[test]
    fn clocks_read_to_the_millisecond() {
        assert_eq!(clock_millis("10:15:02.431"), Some(36_902_431));
        assert_eq!(clock_millis("10:15:02,4"), Some(36_902_400));
        assert_eq!(clock_millis("2026-11-22T00:00:01.123456789Z"), Some(1_123));
        assert_eq!(clock_millis("Nov 22 23:59:59"), Some(86_399_000));
        assert_eq!(clock_millis("+1.250s"), Some(1_250));
        assert_eq!(clock_millis("no clock"), None);
        assert_eq!(clock_millis("x110:15:02."), Some(36_902_000));
        assert_eq!(clock_millis("1:2:3 10:15:02.0456"), Some(36_902_045));
        // Digits of other scripts are digits to `\d`, not to a clock.
        assert_eq!(clock_millis("١٠:١٥:٠٢"), None);
    }

    #[test]
    fn invalid_utf8_is_lossy() {
        let Normalized::Line(l) = normalize(1, b"debug1: \xff\xfe x") else {
            panic!()
        };
        assert_eq!(l.text, "debug1: \u{fffd}\u{fffd} x");
    }

    #[test]
    fn timestamps_are_kept() {
        assert_eq!(
            norm("[10:15:02.431] debug1: Connecting to h [1.2.3.4] port 22."),
            (
                Some("10:15:02.431".into()),
                "debug1: Connecting to h [1.2.3.4] port 22.".into()
            )
        );
        assert_eq!(
            norm("Nov 22 10:15:02 laptop ssh[4120]: debug1: Connection established."),
            (
                Some("Nov 22 10:15:02".into()),
                "debug1: Connection established.".into()
            )
        );
        // Read as ASCII: a host name in any script is still one word.
        assert_eq!(
            norm("Nov 22 10:15:02 портатив ssh[4120]: debug1: x"),
            (Some("Nov 22 10:15:02".into()), "debug1: x".into())
        );
        // Digits of other scripts are no clock's.
        assert_eq!(
            norm("[١٠:١٥:٠٢] debug1: x"),
            (None, "[١٠:١٥:٠٢] debug1: x".into())
        );
        assert_eq!(
            norm("2026-11-22T10:15:02.123456+00:00 debug1: x"),
            (
                Some("2026-11-22T10:15:02.123456+00:00".into()),
                "debug1: x".into()
            )
        );
        assert_eq!(
            norm("4120 2026-11-22 10:15:02.431 debug1: x"),
            (Some("2026-11-22 10:15:02.431".into()), "debug1: x".into())
        );
        assert_eq!(norm("OpenSSH_9.2p1 Debian-2, OpenSSL 3.0").0, None);
        assert_eq!(clock_millis("10:15:02.431"), Some(36_902_431));
        assert_eq!(clock_millis("2026-11-22T00:00:01.5+00:00"), Some(1_500));
        assert_eq!(clock_millis("Nov 22 00:01:00"), Some(60_000));
        assert_eq!(
            norm("[+1.250s] debug1: x"),
            (Some("+1.250s".into()), "debug1: x".into())
        );
        assert_eq!(clock_millis("+1.250s"), Some(1_250));
    }

    #[test]
    fn pasted_whitespace_comes_off() {
        for raw in [
            "    debug1: x",
            "\tdebug1: x",
            " debug1: x",
            "debug1: x      ",
            "\u{a0}\u{a0}debug1:\u{a0}x\u{a0}",
            "  > debug1: x\t",
            "`debug1: x`",
            "**debug1: x**",
            "error : debug1: x",
            "ssh : debug1: x",
        ] {
            assert_eq!(norm(raw), (None, "debug1: x".into()), "{raw:?}");
        }
    }

    #[test]
    fn wrappers_come_off() {
        let lines = [
            ("[10:15:02.431] > debug1: x", "10:15:02.431"),
            (
                "2025-01-01T10:15:02.1234567Z debug1: x",
                "2025-01-01T10:15:02.1234567Z",
            ),
            (
                "2025-01-01T10:15:02.1234567Z ##[error]debug1: x",
                "2025-01-01T10:15:02.1234567Z",
            ),
            (
                "2025-01-01T10:15:02.123456Z 01E debug1: x",
                "2025-01-01T10:15:02.123456Z",
            ),
            (
                "2025-01-01T10:15:02.123456Z 00O+debug1: x",
                "2025-01-01T10:15:02.123456Z",
            ),
            (
                "[2025-01-01T10:15:02.123Z] debug1: x",
                "2025-01-01T10:15:02.123Z",
            ),
            ("[10:00:00.000] > [10:15:02.431] debug1: x", "10:15:02.431"),
            ("> [10:15:02.431] stderr> debug1: x", "10:15:02.431"),
        ];
        for (raw, time) in lines {
            assert_eq!(norm(raw), (Some(time.into()), "debug1: x".into()), "{raw}");
        }
        assert_eq!(norm("##[endgroup]").1, "");
    }

    #[test]
    fn vscode_local_server_tag_is_no_prompt() {
        for raw in [
            "[08:34:38.961] > local-server> ssh child died, shutting down",
            "[08:34:38.961] > local-server-12> ssh child died, shutting down",
        ] {
            assert_eq!(norm(raw).1, "ssh child died, shutting down", "{raw}");
        }
        assert_eq!(norm("local-serverx> y").1, "local-serverx> y");
    }

    #[test]
    fn scp_run_by_its_path_reads_as_scp() {
        assert_eq!(norm("/usr/bin/scp: debug2: x").1, "scp: debug2: x");
        assert_eq!(norm("/home/me/bin/scp: debug1: x").1, "scp: debug1: x");
        assert_eq!(norm("/usr/bin/ssh-keygen: x").1, "/usr/bin/ssh-keygen: x");
        assert_eq!(
            norm("/home/me/.ssh/config: line 3: x").1,
            "/home/me/.ssh/config: line 3: x"
        );
    }

    #[test]
    fn quotes_and_fences() {
        assert_eq!(norm("> debug1: x").1, "debug1: x");
        assert_eq!(norm("> > debug1: x").1, "debug1: x");
        assert_eq!(norm("```").1, "<wrapper>");
        assert_eq!(norm("```text").1, "<wrapper>");
    }

    #[test]
    fn long_lines_are_cut_not_lost() {
        let long = "x".repeat(MAX_LINE_BYTES * 3);
        let Normalized::Line(l) = normalize(7, long.as_bytes()) else {
            panic!()
        };
        assert!(l.truncated);
        assert_eq!(l.text.len(), MAX_LINE_BYTES);
    }
}
