//! The input decoder: reads a log in whatever encoding it was saved in as UTF-8 bytes, before
//! the lines are cut and normalised.
//!
//! OpenSSH prints UTF-8 (mostly ASCII), but a log comes back as it was saved: Windows
//! PowerShell 5.1 writes `ssh -vvv host 2>&1 > log.txt` in UTF-16LE with a byte-order mark,
//! editors save UTF-16BE or put a UTF-8 BOM first. The encoding is told once from the first
//! bytes; a UTF-8 log (the usual case) is then read as it is, with nothing in between. Bytes that
//! are not valid UTF-8 (a Latin-1 or CP1252 name) stay as they are: the normaliser reads them
//! lossily.

use std::io::{self, BufRead, Read};

/// How the bytes of an input encode its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
}

/// Bytes looked at to tell UTF-16 without a byte-order mark.
const SNIFF_BYTES: usize = 512;

impl Encoding {
    /// The encoding of an input that starts with `start`, and the length of its byte-order mark.
    pub fn of(start: &[u8]) -> (Encoding, usize) {
        match start {
            [0xef, 0xbb, 0xbf, ..] => (Encoding::Utf8, 3),
            [0xff, 0xfe, ..] => (Encoding::Utf16Le, 2),
            [0xfe, 0xff, ..] => (Encoding::Utf16Be, 2),
            _ => (Self::without_mark(start), 0),
        }
    }

    /// UTF-16 of mostly ASCII text has a zero in every other byte, which UTF-8 text never has:
    /// on the odd bytes for little-endian, the even ones for big-endian.
    fn without_mark(start: &[u8]) -> Encoding {
        let start = &start[..start.len().min(SNIFF_BYTES) & !1];
        let pairs = start.len() / 2;
        if pairs < 2 {
            return Encoding::Utf8;
        }
        let zeros = |first: usize| start.iter().skip(first).step_by(2).filter(|&&b| b == 0);
        let (even, odd) = (zeros(0).count(), zeros(1).count());
        match (even * 4 < pairs, odd * 4 < pairs) {
            (true, false) => Encoding::Utf16Le,
            (false, true) => Encoding::Utf16Be,
            _ => Encoding::Utf8,
        }
    }
}

/// Tells the encoding of `reader` from the bytes of its first read and passes its byte-order
/// mark. Reading waits for the first bytes only (a terminal's first line).
pub fn detect<R: BufRead>(reader: &mut R) -> io::Result<Encoding> {
    let start = loop {
        match reader.fill_buf() {
            Ok(start) => break start,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    };
    let (encoding, mark) = Encoding::of(start);
    reader.consume(mark);
    Ok(encoding)
}

/// A UTF-16 input read as UTF-8. An unpaired surrogate becomes U+FFFD, as a lossy read of UTF-8
/// does; an odd byte at the very end is dropped.
pub struct Utf16Reader<R> {
    inner: R,
    big_endian: bool,
    /// Decoded text not yet read.
    out: Vec<u8>,
    at: usize,
    /// Bytes of the input not decoded yet: half a code unit, or a high surrogate whose pair is
    /// in the next read.
    held: Vec<u8>,
}

impl<R: BufRead> Utf16Reader<R> {
    pub fn new(inner: R, big_endian: bool) -> Self {
        Utf16Reader {
            inner,
            big_endian,
            out: Vec::new(),
            at: 0,
            held: Vec::new(),
        }
    }

    /// Decodes the next buffer of input into `out`; leaves `out` empty at the end of input.
    fn decode_more(&mut self) -> io::Result<()> {
        self.out.clear();
        self.at = 0;
        while self.out.is_empty() {
            let bytes = loop {
                match self.inner.fill_buf() {
                    Ok(bytes) => break bytes,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            };
            let ended = bytes.is_empty();
            self.held.extend_from_slice(bytes);
            let used = bytes.len();
            self.inner.consume(used);
            let whole = if ended {
                self.held.len() & !1
            } else {
                decodable(&self.held, self.big_endian)
            };
            let unit = |pair: &[u8]| match self.big_endian {
                true => u16::from_be_bytes([pair[0], pair[1]]),
                false => u16::from_le_bytes([pair[0], pair[1]]),
            };
            let units = self.held[..whole].chunks_exact(2).map(unit);
            for c in char::decode_utf16(units) {
                let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
                self.out
                    .extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            }
            self.held.drain(..whole);
            if ended {
                self.held.clear();
                break;
            }
        }
        Ok(())
    }
}

/// How many of `held`'s bytes decode alone: whole code units, but not a high surrogate at the
/// end (its pair may be in the next read).
fn decodable(held: &[u8], big_endian: bool) -> usize {
    let whole = held.len() & !1;
    let last = whole.checked_sub(2).map(|at| match big_endian {
        true => u16::from_be_bytes([held[at], held[at + 1]]),
        false => u16::from_le_bytes([held[at], held[at + 1]]),
    });
    match last {
        Some(0xd800..=0xdbff) => whole - 2,
        _ => whole,
    }
}

impl<R: BufRead> Read for Utf16Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_buffered(self, buf)
    }
}

impl<R: BufRead> BufRead for Utf16Reader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at == self.out.len() {
            self.decode_more()?;
        }
        Ok(&self.out[self.at..])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.out.len());
    }
}

/// Ansible's output (`ansible -vvvv`): ssh's stderr sits inside a JSON or Python string on one
/// line, its line ends escaped (`"msg": "Failed to connect to the host via ssh: OpenSSH_…\r\n
/// debug1: …"`, `(255, b'', b'OpenSSH_…\r\ndebug1: …')`). Told from the first read.
pub fn is_ansible(start: &[u8]) -> bool {
    const MARKS: [&[u8]; 3] = [
        b"UNREACHABLE! =>",
        b"ESTABLISH SSH CONNECTION",
        b"SSH: EXEC ",
    ];
    MARKS
        .iter()
        .any(|mark| memchr::memmem::find(start, mark).is_some())
}

/// The longest line of Ansible output read whole to unescape; a longer one is read in pieces.
const LONGEST_ESCAPED_LINE: u64 = 16 << 20;

/// Ansible's output with ssh's stderr taken out of the strings it sits in: each escaped line
/// end made a line end, the text before and after the string each on a line of its own.
pub struct AnsibleReader<R> {
    inner: R,
    line: Vec<u8>,
    out: Vec<u8>,
    at: usize,
}

impl<R: BufRead> AnsibleReader<R> {
    pub fn new(inner: R) -> Self {
        AnsibleReader {
            inner,
            line: Vec::new(),
            out: Vec::new(),
            at: 0,
        }
    }
}

impl<R: BufRead> BufRead for AnsibleReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.at == self.out.len() {
            self.out.clear();
            self.at = 0;
            self.line.clear();
            let mut line = (&mut self.inner).take(LONGEST_ESCAPED_LINE);
            line.read_until(b'\n', &mut self.line)?;
            unescape_ssh_output(&self.line, &mut self.out);
        }
        Ok(&self.out[self.at..])
    }

    fn consume(&mut self, amount: usize) {
        self.at = (self.at + amount).min(self.out.len());
    }
}

impl<R: BufRead> Read for AnsibleReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_buffered(self, buf)
    }
}

/// `line` into `out`, ssh's output taken out of the string it sits in if the line holds one
/// (an escaped CR LF or LF in it), else as it is.
fn unescape_ssh_output(line: &[u8], out: &mut Vec<u8>) {
    let find = |needle: &[u8]| memchr::memmem::find(line, needle);
    let Some(first_end) = find(b"\\r\\n").or_else(|| find(b"\\n")) else {
        out.extend_from_slice(line);
        return;
    };
    // Where the string starts: after the last opening before its first escaped line end.
    const OPENINGS: [(&[u8], u8); 4] = [
        (b"via ssh: ", b'"'),
        (b"\"stderr\": \"", b'"'),
        (b"\"msg\": \"", b'"'),
        (b"b'", b'\''),
    ];
    let opening = OPENINGS
        .iter()
        .filter_map(|(mark, quote)| {
            let at = memchr::memmem::rfind(&line[..first_end], mark)?;
            Some((at + mark.len(), *quote))
        })
        .max();
    let Some((start, quote)) = opening else {
        out.extend_from_slice(line);
        return;
    };
    out.extend_from_slice(&line[..start]);
    out.push(b'\n');
    let mut bytes = line[start..].iter().copied();
    while let Some(b) = bytes.next() {
        match b {
            b'\\' => match bytes.next() {
                Some(b'n') => out.push(b'\n'),
                Some(b'r') => out.push(b'\r'),
                Some(b't') => out.push(b'\t'),
                Some(other) => out.push(other),
                None => {}
            },
            b if b == quote => {
                out.push(b'\n');
                out.extend(bytes);
                return;
            }
            b => out.push(b),
        }
    }
}

/// `Read` for a reader whose `BufRead` does the decoding: a copy out of its buffer.
fn read_buffered(reader: &mut impl BufRead, buf: &mut [u8]) -> io::Result<usize> {
    let available = reader.fill_buf()?;
    let n = available.len().min(buf.len());
    buf[..n].copy_from_slice(&available[..n]);
    reader.consume(n);
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, big_endian: bool) -> Vec<u8> {
        let bytes = |u: u16| match big_endian {
            true => u.to_be_bytes(),
            false => u.to_le_bytes(),
        };
        text.encode_utf16().flat_map(bytes).collect()
    }

    fn decoded(bytes: &[u8], capacity: usize) -> String {
        let mut reader = io::BufReader::with_capacity(capacity, bytes);
        let mut out = String::new();
        match detect(&mut reader).unwrap() {
            Encoding::Utf8 => reader.read_to_string(&mut out),
            Encoding::Utf16Le => Utf16Reader::new(reader, false).read_to_string(&mut out),
            Encoding::Utf16Be => Utf16Reader::new(reader, true).read_to_string(&mut out),
        }
        .unwrap();
        out
    }

    #[test]
    fn encodings_are_told_from_the_first_bytes() {
        let text = "OpenSSH_for_Windows_8.1p1, LibreSSL 3.0.2\r\ndebug1: café 😀 ok\r\n";
        // A mark is told from the first read (a pipe's or terminal's is a line or more).
        for capacity in [4, 7, 64 * 1024] {
            for big_endian in [false, true] {
                let plain = utf16(text, big_endian);
                assert_eq!(decoded(&plain, capacity.max(SNIFF_BYTES)), text);
                let marked = [utf16("\u{feff}", big_endian), plain].concat();
                assert_eq!(decoded(&marked, capacity), text, "{capacity}");
            }
            let bom = [&b"\xef\xbb\xbf"[..], text.as_bytes()].concat();
            assert_eq!(decoded(&bom, capacity), text);
            assert_eq!(decoded(text.as_bytes(), capacity), text);
        }
    }

    #[test]
    fn ssh_output_comes_out_of_ansible_strings() {
        let line = br#"h | UNREACHABLE! => {"msg": "Failed to connect to the host via ssh: OpenSSH_8.0p1\r\ndebug1: Control socket \"/x\" does not exist\r\nssh: connect to host h port 22: Connection refused", "unreachable": true}"#;
        let mut out = Vec::new();
        unescape_ssh_output(line, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "h | UNREACHABLE! => {\"msg\": \"Failed to connect to the host via ssh: \nOpenSSH_8.0p1\r\n\
             debug1: Control socket \"/x\" does not exist\r\n\
             ssh: connect to host h port 22: Connection refused\n, \"unreachable\": true}"
        );
        let mut out = Vec::new();
        unescape_ssh_output(
            b"<h> (255, b'', b'OpenSSH_9.6p1\\r\\ndebug1: x\\r\\n')\n",
            &mut out,
        );
        assert_eq!(
            out,
            b"<h> (255, b'', b'\nOpenSSH_9.6p1\r\ndebug1: x\r\n\n)\n"
        );
        let mut out = Vec::new();
        unescape_ssh_output(b"debug1: no string\n", &mut out);
        assert_eq!(out, b"debug1: no string\n");
        assert!(is_ansible(b"<h> ESTABLISH SSH CONNECTION FOR USER: me"));
        assert!(!is_ansible(b"OpenSSH_9.6p1, OpenSSL"));
    }

    #[test]
    fn broken_input_is_read_lossily() {
        assert_eq!(decoded(b"\xff\xfe\x00\xd8a\x00b", 64), "\u{fffd}a");
        assert_eq!(Encoding::of(b"debug1: caf\xe9\n").0, Encoding::Utf8);
        assert_eq!(Encoding::of(b"\x00").0, Encoding::Utf8);
    }
}
