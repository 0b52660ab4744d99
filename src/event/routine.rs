//! Runs of routine lines: most of a long log is debug lines no event matched and sftp's requests
//! (`Sent message SSH2_FXP_WRITE I:…`), which change only a connection's counts, its last lines
//! and the line range of their phase. The reader hands the timeline a run of them in one step,
//! and the timeline folds only the lines of it that tell something (`telling_lines`).

use std::sync::Arc;

use super::{Classified, Event, EventKind, Level};

/// Routine lines one after another: debug lines that carry no time and that either no event
/// matched or are sftp's requests.
#[derive(Debug, Clone)]
pub struct RoutineRun {
    pub first: u64,
    pub last: u64,
    pub count: usize,
    /// The loudest of their levels (1 to 3).
    pub verbosity: u8,
    /// Some of them are scp's own.
    pub from_scp: bool,
    /// For the transfer and the sftp phase: the first and the last request of that phase.
    requests: [Option<(RequestLine, RequestLine)>; 2],
}

/// A request line of a run: its number and what it says.
#[derive(Debug, Clone)]
struct RequestLine {
    number: u64,
    level: Level,
    from_scp: bool,
    request: Request,
}

impl RequestLine {
    fn said(&self) -> Classified {
        let Request {
            kind,
            name,
            file_data,
        } = &self.request;
        Classified {
            level: self.level,
            from_scp: self.from_scp,
            kind: Some(*kind),
            event: Event::SftpPacket {
                name: name.clone(),
                file_data: *file_data,
            },
        }
    }

    /// Becomes `line`, without a new reference to a name it already holds (the classifier
    /// hands out the same name for a transfer's requests).
    #[inline]
    fn become_(&mut self, number: u64, line: &RoutineLine, request: &Request) {
        self.number = number;
        self.level = line.level;
        self.from_scp = line.from_scp;
        self.request.kind = request.kind;
        self.request.file_data = request.file_data;
        if !Arc::ptr_eq(&self.request.name, &request.name) {
            self.request.name = request.name.clone();
        }
    }
}

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

impl RoutineRun {
    /// The text of line `number` of this run, given its `lines` (in order of their numbers).
    pub fn text_of<'a>(&self, lines: &impl RunLines<'a>, number: u64) -> Option<&'a str> {
        find_line(self.count, lines, number)
    }
}

fn find_line<'a>(count: usize, lines: &impl RunLines<'a>, number: u64) -> Option<&'a str> {
    let (mut low, mut high) = (0, count);
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
    /// Its place in [`RoutineRun::requests`]: moving a file's bytes, or the sftp session around it.
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
            requests: [None, None],
        };
        run.add(line);
        run
    }

    /// Adds `line`, the routine line right after these, to the run (once per line of a long
    /// log: inlined into the loop that reads a batch).
    #[inline]
    pub fn add(&mut self, line: &RoutineLine) {
        self.last = line.number;
        self.count += 1;
        self.verbosity = self.verbosity.max(line.level.verbosity());
        self.from_scp |= line.from_scp;
        let Some(request) = &line.request else {
            return;
        };
        match &mut self.requests[request.phase_index()] {
            Some((_, last)) => last.become_(line.number, line, request),
            range @ None => {
                let first = RequestLine {
                    number: line.number,
                    level: line.level,
                    from_scp: line.from_scp,
                    request: request.clone(),
                };
                *range = Some((first.clone(), first));
            }
        }
    }

    /// The lines among these that the fold must see, in order, with what each says: the first
    /// and the last request of each phase. The lines between them would only repeat what these
    /// do to a connection (touch their phase, be its latest event).
    pub fn telling_lines(&self) -> Vec<(u64, Classified)> {
        let mut lines: Vec<&RequestLine> = self
            .requests
            .iter()
            .flatten()
            .flat_map(|(first, last)| [first, last])
            .collect();
        lines.sort_by_key(|l| l.number);
        lines.dedup_by_key(|l| l.number);
        lines.into_iter().map(|l| (l.number, l.said())).collect()
    }
}
