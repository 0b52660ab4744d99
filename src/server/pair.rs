//! Pairing: which of the server log's connections is the client's, by what both logs show.
//!
//! What is compared, the most telling first:
//! - the key fingerprints the client offered and those sshd logged (`Failed publickey … SHA256:X`);
//! - the user the client logged in as and the one sshd names;
//! - the server's port the client connected to and the one sshd's `Connection from` names, and
//!   its address (agreeing, it counts; differing, it rules nothing out: NAT, a load balancer or
//!   a port forward put another address between the two);
//! - times, when both logs have them (see `clock.rs` for time zones): a connection logged during
//!   the client's run ranks above one logged outside it, and among equals the nearest wins;
//! - the outcome: a client that failed fits a connection sshd refused better than one it let in;
//! - order: among connections that fit equally, the latest (the client's run is usually the last
//!   try before the log was copied).
//!
//! Something both logs show that disagrees (another key, user or port) rules a connection out.
//! The client's source port is not compared: sshd logs it (`from A port P`), but no OpenSSH
//! client prints it at any debug level. `sshconnect.c` logs `Connecting to H [A] port P.` and
//! `Connection established.` without the local side; only the `~I` escape and `ssh -O conninfo`
//! (`connection_info_message`, packet.c, 2025) print `tcp A:P -> B:Q`, never part of a `-vvv`
//! transcript; the old `Allocated local port` was for privileged ports, gone with
//! `UsePrivilegedPort`.
//!
//! One pass over the connections, each looked at in one pass over its lines (a second over
//! its events only when two fit equally): the cost is linear in the server log.

use serde::Serialize;

use super::clock::{Apart, Run, Stamp};
use super::{ServerConnection, ServerLog};
use crate::facts::Fact;
use crate::timeline::{Phase, Session};

/// How sure a pairing is.
///
/// From what agreed: a logged key the client offered is `High`; the user (and the server's port,
/// where both show it) `Medium`; the port, the time or the order alone `Low`. A time that agrees
/// on one clock (both zones known, or the clocks agree as they read) raises it one step: `Low` to
/// `Medium`, `Medium` to `High`. A time that agrees only once a time-zone difference is allowed
/// for ranks the connection but does not raise its sureness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sureness {
    Low,
    Medium,
    High,
}

impl Sureness {
    /// Its name in reports: `high`.
    pub fn id(self) -> &'static str {
        match self {
            Sureness::Low => "low",
            Sureness::Medium => "medium",
            Sureness::High => "high",
        }
    }

    fn raised(self) -> Sureness {
        match self {
            Sureness::Low => Sureness::Medium,
            _ => Sureness::High,
        }
    }
}

/// What both logs show alike for a pairing, as reports name it: `key`, `user`, `port`,
/// `address`, `time`, `outcome`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Agreed(u8);

impl Agreed {
    const NAMES: [&'static str; 6] = ["key", "user", "port", "address", "time", "outcome"];
    const KEY: Agreed = Agreed(1);
    const USER: Agreed = Agreed(2);
    const PORT: Agreed = Agreed(4);
    const ADDRESS: Agreed = Agreed(8);
    const TIME: Agreed = Agreed(16);
    const OUTCOME: Agreed = Agreed(32);

    fn add(&mut self, what: Agreed) {
        self.0 |= what.0;
    }

    /// The names of what agreed, the most telling first.
    pub fn names(self) -> Vec<&'static str> {
        let names = Self::NAMES.iter().enumerate();
        let agreed = names.filter(|(i, _)| self.0 & (1 << i) != 0);
        agreed.map(|(_, name)| *name).collect()
    }
}

/// The server connection paired with a client connection.
#[derive(Debug, Clone, Copy)]
pub struct Pairing<'a> {
    pub connection: &'a ServerConnection,
    pub sureness: Sureness,
    /// What agreed between the two logs.
    pub agreed: Agreed,
    /// How many other connections fit as well (by all but outcome and order): the chosen one is
    /// the latest of those whose outcome agrees, else the latest.
    pub equals: usize,
    /// How many server lines pairing looked at, for the cost (linear in the log's lines).
    pub lines_examined: u64,
}

/// What the client's log shows that the server's may show too.
struct ClientSide {
    user: Option<String>,
    port: Option<u16>,
    /// The address ssh connected to.
    address: Option<String>,
    fingerprints: Vec<String>,
    /// The client never sent a user name: sshd cannot have logged one.
    before_auth: bool,
    failed: bool,
    run: Option<Run>,
}

/// How well one server connection fits, or `None` when something both show disagrees.
#[derive(Debug, Clone, Copy)]
struct Fit {
    score: u32,
    sureness: Sureness,
    agreed: Agreed,
    /// How far the connection lies outside the client's run, when both logs have times.
    apart: Option<Apart>,
}

impl ClientSide {
    fn of(session: &Session) -> ClientSide {
        let mut fingerprints = Vec::new();
        for fact in [Fact::KeysOffered, Fact::KeyAccepted] {
            if let Some(text) = session.fact_text(fact) {
                let keys = text
                    .split([' ', ',', '(', ')'])
                    .filter(|w| w.starts_with("SHA256:"));
                fingerprints.extend(keys.map(str::to_string));
            }
        }
        ClientSide {
            user: session.fact_text(Fact::User).map(|u| u.into_owned()),
            port: session.fact_text(Fact::Port).and_then(|p| p.parse().ok()),
            address: session.fact_text(Fact::Address).map(|a| a.into_owned()),
            fingerprints,
            before_auth: session.failed_phase().is_some_and(|p| p < Phase::Auth),
            failed: session.failed_phase().is_some(),
            run: run_of(session),
        }
    }

    /// How well `server` fits, in one pass over its lines.
    fn fit(&self, server: &ServerConnection) -> Option<Fit> {
        let logged = Logged::of(server, &self.fingerprints);
        let mut fit = Fit {
            score: 0,
            sureness: Sureness::Low,
            agreed: Agreed::default(),
            apart: None,
        };
        if let (Some(ours), Some(theirs)) = (self.port, logged.local_port) {
            if ours != theirs {
                return None;
            }
            fit.score += 1;
            fit.agreed.add(Agreed::PORT);
        }
        if self.address.is_some() && self.address.as_deref() == logged.local_address {
            fit.score += 1;
            fit.agreed.add(Agreed::ADDRESS);
        }
        match (&self.user, logged.user) {
            (_, Some(_)) if self.before_auth => return None,
            (Some(ours), Some(theirs)) if ours != theirs => return None,
            (Some(_), Some(_)) => {
                fit.score += 2;
                fit.sureness = Sureness::Medium;
                fit.agreed.add(Agreed::USER);
            }
            _ => {}
        }
        if logged.any_fingerprint && !self.fingerprints.is_empty() {
            if !logged.offered_fingerprint {
                return None;
            }
            fit.score += 4;
            fit.sureness = Sureness::High;
            fit.agreed.add(Agreed::KEY);
        }
        if let Some(run) = self.run {
            fit.apart = logged.stamps.map(|(first, last)| {
                let (a, b) = (run.apart(first), run.apart(last));
                if a.millis <= b.millis {
                    a
                } else {
                    b
                }
            });
        }
        if let Some(apart) = fit.apart.filter(|a| a.agrees()) {
            fit.score += 1;
            fit.agreed.add(Agreed::TIME);
            if apart.same_clock {
                fit.sureness = fit.sureness.raised();
            }
        }
        Some(fit)
    }
}

/// The client's run, from its first timed line to its last; `None` for an untimed log or a live
/// run's times (seconds since its start are no clock).
fn run_of(session: &Session) -> Option<Run> {
    let last = session.last_timed.as_ref()?;
    let text = last.time.as_deref().filter(|t| !t.starts_with('+'))?;
    let last = Stamp::read(text)?;
    let first = Stamp {
        millis: session.first_millis?,
        ..last
    };
    Some(Run { first, last })
}

/// What one server connection's lines show, read in one pass.
#[derive(Default)]
struct Logged<'a> {
    user: Option<&'a str>,
    local_address: Option<&'a str>,
    local_port: Option<u16>,
    any_fingerprint: bool,
    /// One of the fingerprints sshd logged is one the client offered.
    offered_fingerprint: bool,
    /// The times of its first and last timed lines.
    stamps: Option<(Stamp, Stamp)>,
}

impl<'a> Logged<'a> {
    fn of(connection: &'a ServerConnection, offered: &[String]) -> Logged<'a> {
        let mut logged = Logged::default();
        for line in &connection.lines {
            if let Some(at) = line.stamp {
                let first = logged.stamps.map_or(at, |(first, _)| first);
                logged.stamps = Some((first, at));
            }
            let Some(event) = &line.event else { continue };
            let values = &event.values;
            logged.user = logged.user.or(values.user.as_deref());
            logged.local_address = logged.local_address.or(values.local_address.as_deref());
            logged.local_port = logged.local_port.or(values.local_port);
            if let Some(fingerprint) = &values.fingerprint {
                logged.any_fingerprint = true;
                logged.offered_fingerprint |= offered.iter().any(|o| o == fingerprint);
            }
        }
        logged
    }
}

/// Whether `fit` is better than `best`, all but order considered: `None` when they are equal.
fn better(fit: &Fit, best: &Fit) -> Option<bool> {
    if fit.score != best.score {
        return Some(fit.score > best.score);
    }
    match (fit.apart, best.apart) {
        (Some(a), Some(b)) if a.millis != b.millis => Some(a.millis < b.millis),
        _ => None,
    }
}

/// The server connection that is the client's `session`, if any fits.
pub fn pair<'a>(log: &'a ServerLog, session: &Session) -> Option<Pairing<'a>> {
    let client = ClientSide::of(session);
    let mut lines_examined = 0;
    // The best fit, and the connections that fit as well, by all but outcome and order.
    let mut best: Option<(Fit, Vec<&'a ServerConnection>)> = None;
    for connection in &log.connections {
        lines_examined += connection.lines.len() as u64;
        let Some(fit) = client.fit(connection) else {
            continue;
        };
        match best.as_mut() {
            Some((b, equals)) => match better(&fit, b) {
                Some(true) => best = Some((fit, vec![connection])),
                Some(false) => {}
                None => equals.push(connection),
            },
            None => best = Some((fit, vec![connection])),
        }
    }
    let (mut fit, equals) = best?;
    // Among equals, one whose outcome agrees with the client's, then the latest.
    let outcome_agrees = |c: &ServerConnection| c.failure().is_some() == client.failed;
    let mut chosen = *equals.last()?;
    if equals.len() > 1 {
        lines_examined += equals.iter().map(|c| c.lines.len() as u64).sum::<u64>();
        if let Some(agreeing) = equals.iter().rev().find(|c| outcome_agrees(c)) {
            chosen = agreeing;
            fit.agreed.add(Agreed::OUTCOME);
        }
    }
    Some(Pairing {
        connection: chosen,
        sureness: fit.sureness,
        agreed: fit.agreed,
        equals: equals.len() - 1,
        lines_examined,
    })
}
