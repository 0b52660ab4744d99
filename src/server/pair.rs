//! Pairing: which of the server log's connections is the client's, by what both logs show (the
//! offered keys' fingerprints, the user, the server's port) and, among equals, the latest.
//! One pass over the connections: the cost is linear in the server log.

use serde::Serialize;

use super::{ServerConnection, ServerLog};
use crate::facts::Fact;
use crate::timeline::{Phase, Session};

/// How sure a pairing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sureness {
    /// Only the server's port, or the order, agrees.
    Low,
    /// The user and the server's port agree.
    Medium,
    /// A key the client offered is the key sshd logged.
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
}

/// The server connection paired with a client connection.
#[derive(Debug, Clone, Copy)]
pub struct Pairing<'a> {
    pub connection: &'a ServerConnection,
    pub sureness: Sureness,
}

/// What the client's log shows that the server's may show too.
struct ClientSide {
    user: Option<String>,
    port: Option<u16>,
    fingerprints: Vec<String>,
    /// The client never sent a user name: sshd cannot have logged one.
    before_auth: bool,
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
            fingerprints,
            before_auth: session.failed_phase().is_some_and(|p| p < Phase::Auth),
        }
    }

    /// How well `server` fits, or `None` when something both show disagrees.
    fn score(&self, server: &ServerConnection) -> Option<(u32, Sureness)> {
        let mut score = 0;
        let mut sureness = Sureness::Low;
        if let (Some(ours), Some(theirs)) = (self.port, server.local_port()) {
            if ours != theirs {
                return None;
            }
            score += 1;
        }
        match (&self.user, server.user()) {
            (_, Some(_)) if self.before_auth => return None,
            (Some(ours), Some(theirs)) if ours != theirs => return None,
            (Some(_), Some(_)) => {
                score += 2;
                sureness = Sureness::Medium;
            }
            _ => {}
        }
        let mut logged = server.fingerprints().peekable();
        if logged.peek().is_some() && !self.fingerprints.is_empty() {
            if !logged.any(|f| self.fingerprints.iter().any(|o| o == f)) {
                return None;
            }
            score += 4;
            sureness = Sureness::High;
        }
        Some((score, sureness))
    }
}

/// The server connection that is the client's `session`, if any fits.
pub fn pair<'a>(log: &'a ServerLog, session: &Session) -> Option<Pairing<'a>> {
    let client = ClientSide::of(session);
    let mut best: Option<(u32, Pairing<'a>)> = None;
    for connection in &log.connections {
        let Some((score, sureness)) = client.score(connection) else {
            continue;
        };
        // Among equals, the latest: the client's run is usually the last one logged.
        if best.as_ref().is_none_or(|(b, _)| score >= *b) {
            best = Some((
                score,
                Pairing {
                    connection,
                    sureness,
                },
            ));
        }
    }
    best.map(|(_, pairing)| pairing)
}
