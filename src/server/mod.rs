//! A server's log (`--server-log`): sshd's lines read out of whatever collector kept them, typed
//! by `grammar/sshd.pest`, and grouped into the connections sshd served.
//!
//! Connections are told apart by sshd's process id where the collector logs it (Dropbear's `-E`
//! log always does), and by sshd's `Connection from A port P on B port Q` line where it does not
//! (`sshd -D -e`). A MaxStartups
//! or penalty drop is a connection of its own: sshd closed it before forking for it.

mod clock;
mod event;
mod pair;
mod prefix;

use std::collections::HashMap;
use std::io::{self, BufRead};
use std::sync::Arc;

use serde::Serialize;

use crate::timeline::Phase;

pub use event::{event_names, EventKind, ServerEvent, Values};
pub use pair::{pair, Agreed, Pairing, Sureness};

/// One sshd line of the server log.
#[derive(Debug, Clone, Serialize)]
pub struct ServerLine {
    /// Its number in the server log, from 1.
    pub line: u64,
    /// The line as the log has it, prefix and all.
    pub text: String,
    /// The host column of its prefix, for `--redact` (one copy shared by the lines of a host).
    #[serde(skip)]
    pub host: Option<Arc<str>>,
    /// Boxed: most lines have none, and a busy server's log has millions of lines.
    #[serde(skip)]
    pub event: Option<Box<ServerEvent>>,
    /// The time its prefix carries, for pairing.
    #[serde(skip)]
    pub stamp: Option<clock::Stamp>,
    /// Where sshd's message starts in `text`, after the collector's prefix (for `server_lines:`,
    /// which match before `--redact` rewrites the text).
    #[serde(skip)]
    pub message_at: usize,
}

impl ServerLine {
    /// sshd's message, without the collector's prefix: `Invalid user bob from 192.0.2.7 port 4711`.
    pub fn message(&self) -> &str {
        self.text.get(self.message_at..).unwrap_or(&self.text)
    }

    /// The phase of the connection in which sshd logged it, for a line its grammar types.
    pub fn phase(&self) -> Option<Phase> {
        self.event.as_ref().map(|e| e.kind.phase())
    }
}

/// What sshd logged about one client connection.
#[derive(Debug, Clone, Default)]
pub struct ServerConnection {
    /// sshd's process id, when the log carries it.
    pub pid: Option<u32>,
    pub lines: Vec<ServerLine>,
}

/// The failure sshd's lines show for a connection: the phase and the line that says why.
#[derive(Debug, Clone, Copy)]
pub struct ServerFailure<'a> {
    pub phase: Phase,
    pub line: &'a ServerLine,
}

/// The events that say why sshd refused a connection, the most telling first (the phase each ends
/// is its grammar group's: `EventKind::phase`).
const REFUSALS: &[&str] = &[
    "no_hostkeys",
    "privsep_dir_missing",
    "privsep_user_missing",
    "drop_connection",
    "user_not_allowed",
    "user_shell_missing",
    "account_expired",
    "pam_account_expired",
    "pam_password_expired",
    "pam_account_denied",
    "user_locked",
    "invalid_user",
    "root_login_refused",
    "auth_refused_perms",
    "sigalg_not_accepted",
    "certificate_invalid",
    "chroot_bad_perms",
    "subsystem_not_found",
    "subsystem_exec_failed",
    "mac_incorrect",
    // Logged at debug1 only: where the log has it, it says why the session ended.
    "subsystem_cannot_stat",
    "failed_publickey",
    "failed_password",
    "closed_authenticating",
    // Dropbear's: it logs no refused key, so a user's `Exit before auth` says that much.
    "dropbear_nonexistent_user",
    "dropbear_group_rejected",
    "dropbear_invalid_shell",
    "dropbear_root_rejected",
    "dropbear_file_perms",
    "dropbear_max_auth_tries",
    "dropbear_bad_password",
    "dropbear_exit_before_auth",
];

/// Whether an event says the server let the user in: sshd's `Accepted …`, Dropbear's
/// `… auth succeeded`.
fn is_acceptance(name: &str) -> bool {
    name.starts_with("accepted_") || (name.starts_with("dropbear_") && name.ends_with("_succeeded"))
}

impl ServerConnection {
    fn events(&self) -> impl Iterator<Item = (&ServerLine, &ServerEvent)> {
        self.lines
            .iter()
            .filter_map(|l| l.event.as_deref().map(|e| (l, e)))
    }

    /// The first line typed as `kind`.
    pub fn first(&self, kind: EventKind) -> Option<&ServerLine> {
        self.events().find(|(_, e)| e.kind == kind).map(|(l, _)| l)
    }

    /// The first value of its events that `pick` reads.
    fn value<'a, T>(&'a self, pick: impl Fn(&'a Values) -> Option<T>) -> Option<T> {
        self.events().find_map(|(_, e)| pick(&e.values))
    }

    pub fn user(&self) -> Option<&str> {
        self.value(|v| v.user.as_deref())
    }

    pub fn address(&self) -> Option<&str> {
        self.value(|v| v.address.as_deref())
    }

    /// The client's source port.
    pub fn port(&self) -> Option<u16> {
        self.value(|v| v.port)
    }

    /// The server's port the client connected to.
    pub fn local_port(&self) -> Option<u16> {
        self.value(|v| v.local_port)
    }

    /// The key fingerprints sshd logged for this connection.
    pub fn fingerprints(&self) -> impl Iterator<Item = &str> {
        self.events()
            .filter_map(|(_, e)| e.values.fingerprint.as_deref())
    }

    pub fn first_line(&self) -> u64 {
        self.lines.first().map_or(0, |l| l.line)
    }

    pub fn last_line(&self) -> u64 {
        self.lines.last().map_or(0, |l| l.line)
    }

    /// Why sshd refused the connection, if its lines say it did: the most telling refusal (an
    /// authentication refusal only when no method was accepted). One pass over its events.
    pub fn failure(&self) -> Option<ServerFailure<'_>> {
        let mut accepted = false;
        // The best refusal of any phase, and the best outside authentication.
        let mut best: [Option<(usize, &ServerLine, Phase)>; 2] = [None, None];
        for (line, event) in self.events() {
            let name = event.kind.name();
            accepted |= is_acceptance(name);
            let Some(rank) = REFUSALS.iter().position(|n| *n == name) else {
                continue;
            };
            let phase = event.kind.phase();
            let slots = if phase == Phase::Auth { 1 } else { 2 };
            for slot in &mut best[..slots] {
                if slot.is_none_or(|(b, ..)| rank < b) {
                    *slot = Some((rank, line, phase));
                }
            }
        }
        let (_, line, phase) = best[usize::from(accepted)]?;
        Some(ServerFailure { phase, line })
    }
}

/// A server log, read whole.
#[derive(Debug, Clone, Default)]
pub struct ServerLog {
    /// In the order of their first line.
    pub connections: Vec<ServerConnection>,
    pub lines_read: u64,
}

impl ServerLog {
    /// Reads a server log; lines of other programs are skipped, unknown sshd lines kept.
    pub fn read<R: BufRead>(reader: R) -> io::Result<ServerLog> {
        let mut grouper = Grouper::default();
        crate::analyze::read_lines(reader, |raw, _truncated| grouper.push(raw))?;
        Ok(grouper.finish())
    }

    /// Adds the connections of another log (a second `--server-log`), numbered on from this one.
    pub fn append(&mut self, other: ServerLog) {
        let offset = self.lines_read;
        self.connections
            .extend(other.connections.into_iter().map(|mut c| {
                c.lines.iter_mut().for_each(|l| l.line += offset);
                c
            }));
        self.lines_read += other.lines_read;
    }
}

/// Puts each line in its connection as the log is read.
#[derive(Default)]
struct Grouper {
    log: ServerLog,
    /// The open connection of each sshd process.
    by_pid: HashMap<u32, usize>,
    /// For a log without process ids: the connection after the last `Connection from`.
    current: Option<usize>,
    /// For a log without process ids (`sshd -E` at INFO logs no `Connection from`): the
    /// connection of each client address and port, and the client `current` names, if any yet.
    by_peer: HashMap<(String, u16), usize>,
    current_peer: Option<(String, Option<u16>)>,
    /// Lines that name no client, logged after one that did: they go with the next that does.
    waiting: Vec<ServerLine>,
    last_host: Option<Arc<str>>,
}

impl Grouper {
    fn push(&mut self, raw: &[u8]) {
        self.log.lines_read += 1;
        let text = String::from_utf8_lossy(raw);
        let prefix::Origin::Sshd {
            host,
            pid,
            time,
            message,
        } = prefix::origin(&text)
        else {
            return;
        };
        let event = event::parse(message).map(Box::new);
        let name = event.as_ref().map(|e| e.kind.name());
        // `message` is a slice of `text`: its offset there.
        let message_at = (message.as_ptr() as usize)
            .checked_sub(text.as_ptr() as usize)
            .filter(|&at| at <= text.len())
            .unwrap_or(0);
        let line = ServerLine {
            line: self.log.lines_read,
            text: text.trim_end_matches('\r').to_string(),
            host: host.map(|h| self.host(h)),
            event,
            stamp: time.and_then(clock::Stamp::read),
            message_at,
        };
        if name == Some("drop_connection") {
            self.open(None, line);
            return;
        }
        // sshd's `Connection from`, Dropbear's `Child connection from` (a pid may be reused).
        let starts = matches!(name, Some("connection_from" | "dropbear_child_connection"));
        let Some(pid) = pid else {
            return self.place_without_pid(starts, line);
        };
        match self.by_pid.get(&pid).copied() {
            Some(index) if !starts => self.log.connections[index].lines.push(line),
            _ => {
                let index = self.open(Some(pid), line);
                self.by_pid.insert(pid, index);
            }
        }
    }

    /// A line of a log without process ids: in the connection its client address and port name,
    /// else in the one after the last `Connection from`, unless that one names another client.
    /// A line that names no client waits for the next one that does: sshd logs a connection's
    /// lines together, its refusal (`Authentication refused: …`) before its `Failed publickey`.
    fn place_without_pid(&mut self, starts: bool, line: ServerLine) {
        let (address, port) = line
            .event
            .as_ref()
            .map_or((None, None), |e| (e.values.address.clone(), e.values.port));
        let Some(address) = address.filter(|_| !starts) else {
            if starts {
                self.flush_waiting();
                self.current_peer = None;
                return self.push_to_new(line);
            }
            match self.current {
                Some(_) if self.current_peer.is_some() => self.waiting.push(line),
                Some(index) => self.log.connections[index].lines.push(line),
                None => self.push_to_new(line),
            }
            return;
        };
        let known = port.and_then(|p| self.by_peer.get(&(address.clone(), p)).copied());
        let fits_current = self
            .current_peer
            .as_ref()
            .is_none_or(|(theirs, their_port)| {
                *theirs == address
                    && (port.is_none() || their_port.is_none() || *their_port == port)
            });
        let index = match (self.current, known) {
            (_, Some(index)) => index,
            (Some(index), None) if fits_current => index,
            _ => {
                self.log.connections.push(ServerConnection::default());
                self.log.connections.len() - 1
            }
        };
        if self.current != Some(index) {
            self.current_peer = None;
        }
        let port = port.or(self.current_peer.as_ref().and_then(|(_, p)| *p));
        if let Some(port) = port {
            self.by_peer.entry((address.clone(), port)).or_insert(index);
        }
        self.current_peer = Some((address, port));
        self.current = Some(index);
        let lines = &mut self.log.connections[index].lines;
        lines.append(&mut self.waiting);
        lines.push(line);
    }

    /// A new connection, opened by `line`, is the current one.
    fn push_to_new(&mut self, line: ServerLine) {
        let index = self.open(None, line);
        self.current = Some(index);
    }

    /// The lines that waited for a client go to the current connection.
    fn flush_waiting(&mut self) {
        if let Some(index) = self.current {
            let lines = &mut self.log.connections[index].lines;
            lines.append(&mut self.waiting);
        }
    }

    /// The shared copy of a host name: a log names one host, or a few, on every line.
    fn host(&mut self, name: &str) -> Arc<str> {
        match &self.last_host {
            Some(host) if **host == *name => host.clone(),
            _ => self.last_host.insert(Arc::from(name)).clone(),
        }
    }

    fn open(&mut self, pid: Option<u32>, line: ServerLine) -> usize {
        self.log.connections.push(ServerConnection {
            pid,
            lines: vec![line],
        });
        self.log.connections.len() - 1
    }

    /// The connections, without the listener's own lines (no client address in them) unless
    /// they say why sshd could not serve at all: an `sshd -i` started per connection (systemd's
    /// ssh.socket, inetd) logs no client address before it fails.
    fn finish(mut self) -> ServerLog {
        self.flush_waiting();
        self.log.connections.retain(|c| {
            c.address().is_some() || c.failure().is_some_and(|f| f.phase == Phase::Connect)
        });
        self.log
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_grouped_by_pid_and_by_connection_lines() {
        let log = "\
Dec 06 20:47:28 h sshd[10]: Server listening on 0.0.0.0 port 22.
Dec 06 20:47:29 h sshd[11]: Invalid user bob from 192.0.2.7 port 4711
Dec 06 20:47:29 h CRON[12]: pam_unix(cron:session): session opened
Dec 06 20:47:29 h sshd[13]: User amy from 192.0.2.8 not allowed because listed in DenyUsers
Dec 06 20:47:30 h sshd[11]: Connection closed by invalid user bob 192.0.2.7 port 4711 [preauth]
Dec 06 20:47:30 h sshd[10]: drop connection #10 from [192.0.2.9]:5000 on [192.0.2.1]:22 past MaxStartups
";
        let log = ServerLog::read(log.as_bytes()).unwrap();
        let users: Vec<_> = log.connections.iter().map(|c| c.user()).collect();
        assert_eq!(users, [Some("bob"), Some("amy"), None]);
        assert_eq!(log.connections[0].lines.len(), 2);
        assert_eq!(log.connections[2].local_port(), Some(22));
        let why = |i: usize| {
            log.connections[i]
                .failure()
                .unwrap()
                .line
                .event
                .as_ref()
                .unwrap()
                .kind
                .name()
        };
        assert_eq!(
            [why(0), why(1), why(2)],
            ["invalid_user", "user_not_allowed", "drop_connection"]
        );

        let bare = "\
debug1: Bind to port 22430 on 127.0.0.1.
Connection from 127.0.0.1 port 1 on 127.0.0.1 port 22430 rdomain \"\"
Failed publickey for a from 127.0.0.1 port 1 ssh2: ED25519 SHA256:x
Connection from 127.0.0.1 port 2 on 127.0.0.1 port 22430 rdomain \"\"
";
        let log = ServerLog::read(bare.as_bytes()).unwrap();
        assert_eq!(log.connections.len(), 2);
        assert_eq!(
            log.connections[0].fingerprints().collect::<Vec<_>>(),
            ["SHA256:x"]
        );
    }

    #[test]
    fn dropbears_children_are_connections_even_when_a_pid_comes_back() {
        let log = "\
[10] Dec 06 21:58:21 Not backgrounding
[11] Dec 06 21:58:21 Child connection from 127.0.0.1:1
[11] Dec 06 21:58:21 Pubkey auth succeeded for 'amy' with ssh-ed25519 key SHA256:x from 127.0.0.1:1
[11] Dec 06 21:58:22 Exit (amy) from <127.0.0.1:1>: Disconnect received
[11] Dec 06 21:58:23 Child connection from 127.0.0.1:2
[11] Dec 06 21:58:23 root login rejected
[11] Dec 06 21:58:23 Exit before auth from <127.0.0.1:2>: (user 'root', 0 fails): Exited normally
[10] Dec 06 21:58:24 Early exit: Terminated by signal
";
        let log = ServerLog::read(log.as_bytes()).unwrap();
        let ports: Vec<_> = log.connections.iter().map(|c| c.port()).collect();
        assert_eq!(ports, [Some(1), Some(2)]);
        assert!(log.connections[0].failure().is_none());
        let why = log.connections[1].failure().unwrap().line.line;
        assert_eq!((why, log.connections[1].user()), (6, Some("root")));
    }

    #[test]
    fn a_log_without_ids_or_connection_lines_is_grouped_by_client() {
        // `sshd -E` at LogLevel INFO: interleaved connections told apart by address and port.
        let log = "\
Failed publickey for amy from 192.0.2.8 port 4000 ssh2: ED25519 SHA256:a
Invalid user bob from 192.0.2.7 port 5000
Failed publickey for amy from 192.0.2.8 port 4000 ssh2: ED25519 SHA256:b
Connection closed by invalid user bob 192.0.2.7 port 5000 [preauth]
Connection closed by authenticating user amy 192.0.2.8 port 4000 [preauth]
";
        let log = ServerLog::read(log.as_bytes()).unwrap();
        let lines: Vec<_> = log.connections.iter().map(|c| c.lines.len()).collect();
        assert_eq!(lines, [3, 2]);
        assert_eq!(log.connections[1].user(), Some("bob"));
        assert_eq!(log.connections[0].fingerprints().count(), 2);
    }

    #[test]
    fn every_refusal_is_an_event_of_the_grammar() {
        for name in REFUSALS {
            assert!(EventKind::named(name).is_some(), "{name}");
        }
    }

    #[test]
    fn any_bytes_are_read_without_panic() {
        let bytes: Vec<u8> = (0..=255u8)
            .chain(b"\nsshd[1]: \xff\xfe\n<1>1 \n".iter().copied())
            .collect();
        let log = ServerLog::read(&bytes[..]).unwrap();
        assert!(log.connections.is_empty());
    }
}
