//! The prefixes log collectors put before sshd's words: journalctl (short, short-iso,
//! short-precise, with or without the host), syslog files (RFC 3164 and 5424), Dropbear's own
//! stderr (`dropbear -E`: `[PID] Mmm dd hh:mm:ss `) and none at all (`sshd -D -e`, `-E FILE`).
//! What is left is the message the sshd grammar reads.

/// Where one line of a server log comes from, once its prefix is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin<'a> {
    /// sshd (or sshd-session, sshd-auth, dropbear) said `message`, from process `pid` on
    /// `host` at `time` (`Dec  6 20:47:28`, `2026-12-06T20:47:28+0000`) when the collector
    /// names them.
    Sshd {
        host: Option<&'a str>,
        pid: Option<u32>,
        time: Option<&'a str>,
        message: &'a str,
    },
    /// Another program's line (cron, sudo, systemd …), or a collector's own (`-- Boot …`).
    Other,
}

/// The programs whose lines are a server's: OpenSSH 9.8+ logs a connection as `sshd-session`
/// (and 10.0 its authentication as `sshd-auth`); Dropbear as `dropbear`.
const SSHD_TAGS: &[&str] = &["sshd", "sshd-session", "sshd-auth", "dropbear"];

/// Reads the prefix of one line (without its line break).
pub fn origin(line: &str) -> Origin<'_> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.starts_with("-- ") {
        return Origin::Other;
    }
    if let Some(origin) = dropbear_stderr(line) {
        return origin;
    }
    match split_timestamp(line) {
        Some((time, rest)) => match tagged(rest.trim_start_matches(' ')) {
            Origin::Sshd {
                host, pid, message, ..
            } => Origin::Sshd {
                host,
                pid,
                time: Some(time),
                message,
            },
            Origin::Other => Origin::Other,
        },
        None => Origin::Sshd {
            host: None,
            pid: None,
            time: None,
            message: line,
        },
    }
}

/// Dropbear's `-E` line: `[812] Dec 06 20:47:28 msg` (its pid, then a local time without a year).
fn dropbear_stderr(line: &str) -> Option<Origin<'_>> {
    let (pid, rest) = dropbear_pid(line)?;
    let (time, rest) = split_timestamp(rest)?;
    Some(Origin::Sshd {
        host: None,
        pid: Some(pid),
        time: Some(time),
        message: rest.strip_prefix(' ')?,
    })
}

/// The `[812] ` Dropbear's `-E` lines start with, and what follows it.
fn dropbear_pid(line: &str) -> Option<(u32, &str)> {
    let (pid, rest) = line.strip_prefix('[')?.split_once("] ")?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((pid.parse().ok()?, rest))
}

/// `host sshd[123]: msg`, `sshd[123]: msg` (no host column), RFC 5424's `host sshd 123 - - msg`.
fn tagged(rest: &str) -> Origin<'_> {
    if let Some(origin) = program(rest) {
        return origin;
    }
    match rest.split_once(' ') {
        Some((host, after)) => match program(after) {
            Some(Origin::Sshd { pid, message, .. }) => Origin::Sshd {
                host: Some(host),
                pid,
                time: None,
                message,
            },
            _ => Origin::Other,
        },
        None => Origin::Other,
    }
}

/// `sshd[123]: msg`, `sshd: msg` or RFC 5424's `sshd 123 - - msg`; `None` when `text` does not
/// start with a program tag.
fn program(text: &str) -> Option<Origin<'_>> {
    let end = text.find(['[', ':', ' '])?;
    let (name, rest) = text.split_at(end);
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    let (pid, message) = if let Some(rest) = rest.strip_prefix('[') {
        let (pid, rest) = rest.split_once("]: ")?;
        (Some(pid.parse().ok()?), rest)
    } else if let Some(message) = rest.strip_prefix(": ") {
        (None, message)
    } else {
        // RFC 5424: `APP-NAME PROCID MSGID STRUCTURED-DATA MSG`.
        let mut fields = rest[1..].splitn(4, ' ');
        let pid = fields.next()?;
        let (_msgid, data) = (fields.next()?, fields.next()?);
        let is_pid = pid == "-" || pid.bytes().all(|b| b.is_ascii_digit());
        if data != "-" || !is_pid {
            return None;
        }
        (pid.parse().ok(), fields.next().unwrap_or(""))
    };
    if !SSHD_TAGS.contains(&name) {
        return Some(Origin::Other);
    }
    Some(Origin::Sshd {
        host: None,
        pid,
        time: None,
        message,
    })
}

/// A leading timestamp and the text after it, or `None` if the line does not start with one:
/// `Dec  6 20:47:28`, `Dec 06 20:47:28.123456`, `2026-12-06T20:47:28+0000`, RFC 5424's
/// `<34>1 2026-12-06T20:47:28.123Z` (its header is no part of the time).
fn split_timestamp(line: &str) -> Option<(&str, &str)> {
    let line = strip_5424_header(line).unwrap_or(line);
    let rest = after_timestamp(line)?;
    Some((&line[..line.len() - rest.len()], rest))
}

/// The text after the timestamp `line` starts with (its RFC 5424 header already read).
fn after_timestamp(line: &str) -> Option<&str> {
    let bytes = line.as_bytes();
    if bytes.len() >= 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[..4].iter().all(u8::is_ascii_digit)
    {
        // ISO 8601: up to the first space.
        let end = line.find(' ')?;
        return line[..end].contains('T').then(|| &line[end..]);
    }
    // `Mmm dd hh:mm:ss[.frac]`
    let month = bytes.get(..4)?;
    if !(month[..3].iter().all(u8::is_ascii_alphabetic) && month[3] == b' ') {
        return None;
    }
    let rest = line[4..].trim_start_matches(' ');
    let (day, rest) = rest.split_once(' ')?;
    let clock = rest.get(..8)?.as_bytes();
    let is_clock = day.len() <= 2
        && day.bytes().all(|b| b.is_ascii_digit())
        && clock[2] == b':'
        && clock[5] == b':';
    if !is_clock {
        return None;
    }
    let rest = &rest[8..];
    let frac = rest
        .strip_prefix('.')
        .map_or(rest, |r| r.trim_start_matches(|c: char| c.is_ascii_digit()));
    Some(frac)
}

/// RFC 5424's `<PRI>VERSION ` before the timestamp.
fn strip_5424_header(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('<')?;
    let (pri, rest) = rest.split_once('>')?;
    if pri.is_empty() || !pri.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (_version, rest) = rest.split_once(' ')?;
    Some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sshd<'a>(host: Option<&'a str>, pid: Option<u32>, message: &'a str) -> Origin<'a> {
        Origin::Sshd {
            host,
            pid,
            time: None,
            message,
        }
    }

    /// Where a line comes from, its time left out (`the_time_of_a_prefix_is_kept` reads it).
    fn read(line: &str) -> Origin<'_> {
        match origin(line) {
            Origin::Sshd {
                host, pid, message, ..
            } => sshd(host, pid, message),
            Origin::Other => Origin::Other,
        }
    }

    fn time_of(line: &str) -> Option<&str> {
        match origin(line) {
            Origin::Sshd { time, .. } => time,
            Origin::Other => None,
        }
    }

    #[test]
    fn collectors_prefixes_are_read() {
        let m = "Invalid user bob from 192.0.2.7 port 4711";
        for line in [
            format!("Dec  6 20:47:28 web1 sshd[812]: {m}"),
            format!("Dec 06 20:47:28.123456 web1 sshd[812]: {m}"),
            format!("2026-12-06T20:47:28+0000 web1 sshd[812]: {m}"),
            format!("2026-12-06T20:47:28.123456+00:00 web1 sshd[812]: {m}"),
            format!("<38>1 2026-12-06T20:47:28.123Z web1 sshd 812 - - {m}"),
        ] {
            assert_eq!(read(&line), sshd(Some("web1"), Some(812), m), "{line}");
        }
        let no_host = format!("Dec 06 20:47:28 sshd[812]: {m}");
        assert_eq!(read(&no_host), sshd(None, Some(812), m));
        assert_eq!(
            read("Dec 06 20:47:28 web1 sshd-session[9]: x"),
            sshd(Some("web1"), Some(9), "x")
        );
        assert_eq!(read(m), sshd(None, None, m));
        assert_eq!(
            read("Dec 06 20:47:28 web1 CRON[77]: pam_unix(cron:session)"),
            Origin::Other
        );
        assert_eq!(read("-- Boot 0123 --"), Origin::Other);
    }

    #[test]
    fn dropbears_stderr_and_syslog_prefixes_are_read() {
        let m = "Child connection from 127.0.0.1:35418";
        for line in [
            format!("[812] Dec 06 20:47:28 {m}"),
            format!("[812] Dec  6 20:47:28 {m}"),
            format!("Dec  6 20:47:28 router dropbear[812]: {m}"),
            format!("2026-12-06T20:47:28+0000 router dropbear[812]: {m}"),
        ] {
            let host = (!line.starts_with('[')).then_some("router");
            assert_eq!(read(&line), sshd(host, Some(812), m), "{line}");
        }
        // Not a pid, or no time after it: the line is a message of its own.
        for line in ["[x] Dec 06 20:47:28 m", "[812] m", "[] Dec 06 20:47:28 m"] {
            assert_eq!(read(line), sshd(None, None, line), "{line}");
        }
    }

    #[test]
    fn the_time_of_a_prefix_is_kept() {
        for (line, time) in [
            ("Dec  6 20:47:28 web1 sshd[1]: x", Some("Dec  6 20:47:28")),
            (
                "Dec 06 20:47:28.123456 sshd[1]: x",
                Some("Dec 06 20:47:28.123456"),
            ),
            (
                "2026-12-06T20:47:28+0000 web1 sshd[1]: x",
                Some("2026-12-06T20:47:28+0000"),
            ),
            (
                "<38>1 2026-12-06T20:47:28.1Z web1 sshd 1 - - x",
                Some("2026-12-06T20:47:28.1Z"),
            ),
            (
                "[812] Dec 06 20:47:28 Child connection",
                Some("Dec 06 20:47:28"),
            ),
            ("Connection from 127.0.0.1 port 1", None),
        ] {
            assert_eq!(time_of(line), time, "{line}");
        }
    }

    #[test]
    fn no_prefix_of_any_bytes_panics() {
        for line in [
            "",
            "<",
            "<1>",
            "Dec",
            "Dec  6",
            "2026-12-06",
            "Dec 06 20:47:28 h sshd[x",
            "x[1]: y",
            "[",
            "[1] ",
            "[1] Dec 06 20:47:28",
            "[99999999999] Dec 06 20:47:28 m",
        ] {
            let _ = origin(line);
        }
    }
}
