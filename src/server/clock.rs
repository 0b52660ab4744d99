//! When a server connection was logged, set against the client's run: both logs' times of day,
//! with or without their time zones.
//!
//! What is safe to compare. A client log's times are clocks of the day in whatever zone printed
//! them (VS Code and `ts` print the client's local time; CI prefixes are often UTC, `Z`); a
//! server log's are the server's local time (journal, RFC 3164 syslog) or carry their offset
//! (ISO 8601, RFC 5424). Only when both sides name their offset are the two compared as one
//! clock (in UTC). Otherwise the zones may differ by any whole number of quarter hours (every
//! zone's offset is one), so the times are compared modulo 15 minutes: a right pairing still
//! agrees whatever the zones, and a connection logged between the client's quarter-hour marks
//! ranks below. Dates are not compared (RFC 3164 and VS Code have none), and time never rules a
//! connection out: it ranks, it does not refuse.

use crate::normalize::clock_millis;

const DAY: u64 = 24 * 60 * 60 * 1000;
/// Zone offsets are whole quarter hours.
const QUARTER_HOUR: u64 = 15 * 60 * 1000;
/// How far apart two hosts' clocks may be and still agree (clocks drift, logs round).
pub const AGREES_WITHIN: u64 = 60 * 1000;

/// A time of day as a log line carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Milliseconds since midnight, as the clock read.
    pub millis: u64,
    /// Minutes east of UTC, when the stamp names its zone (`Z`, `+0100`, `-05:00`).
    pub offset: Option<i32>,
}

impl Stamp {
    /// Reads a time: its clock, and the zone an ISO 8601 time ends with.
    pub fn read(text: &str) -> Option<Stamp> {
        Some(Stamp {
            // `99:99:99` reads as a clock too: kept within a day.
            millis: clock_millis(text)? % DAY,
            offset: offset(text),
        })
    }

    /// The time in UTC, when the zone is known.
    fn utc(self) -> Option<u64> {
        let shift = i64::from(self.offset?) * 60 * 1000;
        let day = DAY as i64;
        Some(((self.millis % DAY) as i64 - shift).rem_euclid(day) as u64)
    }
}

/// The zone at the end of an ISO 8601 time: `Z`, `+01:00`, `-0500`.
fn offset(text: &str) -> Option<i32> {
    let text = text.trim_end();
    if text.ends_with('Z') {
        return Some(0);
    }
    let bytes = text.as_bytes();
    let at = bytes
        .len()
        .checked_sub(6)
        .filter(|&at| bytes[at + 3] == b':');
    let (sign_at, digits) = match at {
        Some(at) => (
            at,
            [bytes[at + 1], bytes[at + 2], bytes[at + 4], bytes[at + 5]],
        ),
        None => {
            let at = bytes.len().checked_sub(5)?;
            (
                at,
                [bytes[at + 1], bytes[at + 2], bytes[at + 3], bytes[at + 4]],
            )
        }
    };
    let sign = match bytes[sign_at] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    // A date's `-12-06` is no zone: the sign follows the clock's digits.
    let after_clock = sign_at >= 8 && bytes[sign_at - 1].is_ascii_digit() && text.contains(':');
    if !after_clock || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = |a: u8, b: u8| i32::from(a - b'0') * 10 + i32::from(b - b'0');
    Some(sign * (n(digits[0], digits[1]) * 60 + n(digits[2], digits[3])))
}

/// The stretch of time a client log covers, from its first timed line to its last.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub first: Stamp,
    pub last: Stamp,
}

/// How far a server time lies outside the client's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Apart {
    /// Milliseconds outside the run (0: inside), modulo quarter hours unless `same_clock`.
    pub millis: u64,
    /// The distance was taken on one clock (both zones known, or the clocks agree as they
    /// read): no zone shift had to be allowed for.
    pub same_clock: bool,
}

impl Apart {
    pub fn agrees(self) -> bool {
        self.millis <= AGREES_WITHIN
    }
}

impl Run {
    /// How far `at` lies outside the run.
    pub fn apart(&self, at: Stamp) -> Apart {
        if let (Some(first), Some(last), Some(at)) = (self.first.utc(), self.last.utc(), at.utc()) {
            return Apart {
                millis: outside(first, last, at, DAY),
                same_clock: true,
            };
        }
        let (first, last, at) = (self.first.millis, self.last.millis, at.millis);
        let as_read = outside(first, last, at, DAY);
        if as_read <= AGREES_WITHIN {
            return Apart {
                millis: as_read,
                same_clock: true,
            };
        }
        Apart {
            millis: outside(first, last, at, QUARTER_HOUR),
            same_clock: false,
        }
    }
}

/// How far `at` lies outside `first..=last` on a clock that turns every `period` (the run may
/// pass midnight: `last` before `first`).
fn outside(first: u64, last: u64, at: u64, period: u64) -> u64 {
    let (first, last, at) = (first % DAY, last % DAY, at % DAY);
    let length = (last + DAY - first) % DAY;
    if length >= period {
        return 0;
    }
    let past_first = (at + DAY - first) % DAY % period;
    if past_first <= length {
        0
    } else {
        (past_first - length).min(period - past_first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(text: &str) -> Stamp {
        Stamp::read(text).unwrap()
    }

    fn run(first: &str, last: &str) -> Run {
        Run {
            first: stamp(first),
            last: stamp(last),
        }
    }

    #[test]
    fn zones_are_read_where_a_time_names_one() {
        assert_eq!(stamp("2026-12-06T20:47:28.123Z").offset, Some(0));
        assert_eq!(stamp("2026-12-06T20:47:28+0100").offset, Some(60));
        assert_eq!(stamp("2026-12-06T20:47:28.5-05:30").offset, Some(-330));
        for local in ["Dec 06 20:47:28", "21:00:00.123", "2026-12-06 20:47:28"] {
            assert_eq!(stamp(local).offset, None, "{local}");
        }
    }

    #[test]
    fn a_time_zone_difference_never_keeps_a_right_pairing_from_agreeing() {
        // VS Code's local time (UTC+5:45) against a journal in UTC: apart by the zone only.
        let client = run("[21:00:00.123]", "[21:00:09.900]");
        let journal = client.apart(stamp("Dec 06 15:15:03"));
        assert!(journal.agrees() && !journal.same_clock, "{journal:?}");
        // Both zones known: one clock.
        let client = run("2026-12-06T21:00:00+01:00", "2026-12-06T21:00:09+01:00");
        let iso = client.apart(stamp("2026-12-06T20:00:04.5Z"));
        assert_eq!((iso.millis, iso.same_clock), (0, true));
        assert_eq!(
            client.apart(stamp("2026-12-06T21:00:04Z")).millis,
            3_595_000
        );
    }

    #[test]
    fn the_nearest_time_is_the_least_apart() {
        let client = run("21:00:00", "21:00:10");
        let at = |t: &str| client.apart(stamp(t));
        assert_eq!(
            at("21:00:05"),
            Apart {
                millis: 0,
                same_clock: true
            }
        );
        assert_eq!(at("21:00:40").millis, 30_000);
        assert!(!at("21:05:10").agrees());
        assert!(at("21:05:10").millis > at("21:01:40").millis);
        // Across midnight.
        let late = run("23:59:58", "00:00:03");
        assert_eq!(late.apart(stamp("00:00:01")).millis, 0);
    }

    #[test]
    fn no_clock_makes_it_panic() {
        let odd = Stamp {
            millis: u64::MAX / 2,
            offset: Some(-9999),
        };
        let run = Run {
            first: odd,
            last: Stamp {
                millis: 0,
                offset: None,
            },
        };
        for at in ["99:99:99.999", "00:00:00", "2026-12-06T23:59:59-23:59"] {
            let _ = run.apart(stamp(at));
        }
        let _ = run.apart(odd);
        for text in [
            "",
            "Z",
            "+0100",
            "-",
            "12:00:00+",
            "1:2:3-9:99",
            "\u{e9}12:00:00-01:00",
        ] {
            let _ = Stamp::read(text);
        }
    }
}
