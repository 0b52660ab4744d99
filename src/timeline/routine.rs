//! Runs of routine lines: most of a long log is debug lines no event matched and sftp's requests
//! (`Sent message SSH2_FXP_WRITE I:…`), which change only a connection's counts, its last lines
//! and the line range of their phase. The reader folds a run of them in one step.

use std::sync::Arc;

use crate::event::{Classified, Event, EventKind, Level};

use super::session::verbosity_of;
use super::vocab::Phase;

/// Routine lines one after another: debug lines that carry no time and that either no event
/// matched or are sftp's requests.
#[derive(Debug, Clone, Copy)]
pub struct RoutineRun {
    pub first: u64,
    pub last: u64,
    pub count: usize,
    /// The loudest of their levels (1 to 3).
    pub verbosity: u8,
    /// Some of them are scp's own.
    pub from_scp: bool,
    /// The last request among them.
    pub last_request: Option<u64>,
    /// The first request among them, and which event it is.
    pub first_request: Option<(EventKind, u64)>,
    /// For the transfer and the sftp phase: the first and the last request of that phase.
    pub requests: [Option<(u64, u64)>; 2],
}

/// The phases of sftp's requests, in the order of [`RoutineRun::requests`]: moving a file's
/// bytes, and the sftp session around it.
pub(super) const REQUEST_PHASES: [Phase; 2] = [Phase::Transfer, Phase::Sftp];

/// The lines of a run of routine lines, by their place in it: each one's number and text. Where
/// they are kept can hand out any one of them at once, and the timeline looks at only a few.
pub trait RunLines<'a> {
    fn line(&self, at: usize) -> Option<(u64, &'a str)>;
}

impl<'a, F: Fn(usize) -> Option<(u64, &'a str)>> RunLines<'a> for F {
    fn line(&self, at: usize) -> Option<(u64, &'a str)> {
        self(at)
    }
}

/// The text of line `number` of a run (its lines are in order of their numbers).
pub(super) fn find_line<'a>(
    run: &RoutineRun,
    lines: &impl RunLines<'a>,
    number: u64,
) -> Option<&'a str> {
    let (mut low, mut high) = (0, run.count);
    while low < high {
        let middle = low + (high - low) / 2;
        match lines.line(middle)?.0 < number {
            true => low = middle + 1,
            false => high = middle,
        }
    }
    lines
        .line(low)
        .filter(|&(n, _)| n == number)
        .map(|(_, text)| text)
}

/// An sftp request as a routine line holds it.
#[derive(Debug, Clone)]
struct Request {
    kind: EventKind,
    name: Arc<str>,
    file_data: bool,
}

impl Request {
    /// Its place in [`RoutineRun::requests`].
    fn phase_index(&self) -> usize {
        usize::from(!self.file_data)
    }
}

/// A routine line, all of what it says: its number, level, whether scp printed it, and for a
/// request which one. Small, as a long log makes one per line, and what a run is made from.
#[derive(Debug, Clone)]
pub struct RoutineLine {
    number: u64,
    level: Level,
    from_scp: bool,
    request: Option<Request>,
}

impl RoutineLine {
    /// Line `number`, if it is a routine line; else what it says, given back.
    pub fn of(number: u64, timed: bool, classified: Classified) -> Result<RoutineLine, Classified> {
        if timed || classified.level == Level::Plain {
            return Err(classified);
        }
        let request = match (&classified.event, classified.kind) {
            (Event::Other, _) => None,
            (Event::SftpPacket { name, file_data }, Some(kind)) => Some(Request {
                kind,
                name: name.clone(),
                file_data: *file_data,
            }),
            _ => return Err(classified),
        };
        Ok(RoutineLine {
            number,
            level: classified.level,
            from_scp: classified.from_scp,
            request,
        })
    }

    /// What the line says, as it was classified.
    pub fn said(self) -> Classified {
        let (kind, event) = match self.request {
            None => (None, Event::Other),
            Some(Request {
                kind,
                name,
                file_data,
            }) => (Some(kind), Event::SftpPacket { name, file_data }),
        };
        Classified {
            level: self.level,
            from_scp: self.from_scp,
            kind,
            event,
        }
    }
}

impl RoutineRun {
    /// A run of this one line.
    pub fn of(line: &RoutineLine) -> RoutineRun {
        let mut run = RoutineRun {
            first: line.number,
            last: line.number,
            count: 0,
            verbosity: 0,
            from_scp: false,
            last_request: None,
            first_request: None,
            requests: [None; 2],
        };
        run.add(line);
        run
    }

    /// Adds `line`, the routine line right after these, to the run.
    pub fn add(&mut self, line: &RoutineLine) {
        self.last = line.number;
        self.count += 1;
        self.verbosity = self.verbosity.max(verbosity_of(line.level));
        self.from_scp |= line.from_scp;
        let Some(request) = &line.request else {
            return;
        };
        self.first_request
            .get_or_insert((request.kind, line.number));
        self.last_request = Some(line.number);
        let range = &mut self.requests[request.phase_index()];
        let first = range.map_or(line.number, |(first, _)| first);
        *range = Some((first, line.number));
    }
}
