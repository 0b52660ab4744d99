//! A server log explained alone (`vvvexplain --server-log auth.log`): the connections sshd
//! refused, most recent first, with who, from where, in which phase and sshd's own words why.

use std::io::{self, Write};

use owo_colors::OwoColorize;
use serde::Serialize;

use super::text::{clip, columns};
use super::View;
use crate::server::{ServerLine, ServerLog};
use crate::timeline::Phase;

/// `--user` / `--from`: which connections to list.
#[derive(Debug, Default)]
pub struct Filter<'a> {
    pub user: Option<&'a str>,
    pub from: Option<&'a str>,
}

/// The failed connections of a server log.
#[derive(Debug, Serialize)]
pub struct Listing {
    /// Most recent first.
    pub connections: Vec<FailedConnection>,
    /// How many connections the log holds (before the filter), and how many lines.
    pub connections_read: usize,
    pub lines_read: u64,
}

/// One connection sshd refused.
#[derive(Debug, Serialize)]
pub struct FailedConnection {
    pub pid: Option<u32>,
    pub first_line: u64,
    pub last_line: u64,
    pub user: Option<String>,
    pub address: Option<String>,
    pub port: Option<u16>,
    pub phase: Phase,
    /// sshd's line that says why, with its number in the server log.
    pub why: ServerLine,
}

impl Listing {
    pub fn of(log: &ServerLog, filter: &Filter<'_>) -> Listing {
        let connections = log
            .connections
            .iter()
            .rev()
            .filter(|c| filter.user.is_none_or(|u| c.user() == Some(u)))
            .filter(|c| filter.from.is_none_or(|a| c.address() == Some(a)))
            .filter_map(|c| {
                let failure = c.failure()?;
                Some(FailedConnection {
                    pid: c.pid,
                    first_line: c.first_line(),
                    last_line: c.last_line(),
                    user: c.user().map(str::to_string),
                    address: c.address().map(str::to_string),
                    port: c.port(),
                    phase: failure.phase,
                    why: failure.line.clone(),
                })
            })
            .collect();
        Listing {
            connections,
            connections_read: log.connections.len(),
            lines_read: log.lines_read,
        }
    }

    /// `--redact`: users, addresses and keys become the placeholders client reports use.
    pub fn redact(&mut self) {
        let lines: Vec<ServerLine> = self.connections.iter().map(|c| c.why.clone()).collect();
        let texts = self.connections.iter_mut().flat_map(|c| {
            [&mut c.why.text]
                .into_iter()
                .chain(c.user.as_mut())
                .chain(c.address.as_mut())
        });
        crate::redact::redact_server_strings(&lines, texts.collect());
    }
}

/// The listing for a reader.
pub fn write(out: &mut dyn Write, listing: &Listing, view: &View) -> io::Result<()> {
    let s = view.styles;
    let head = format!(
        "Server log: {} failed of {} connections ({} lines)",
        listing.connections.len(),
        listing.connections_read,
        listing.lines_read
    );
    writeln!(out, "{}", head.style(s.emphasis))?;
    for c in &listing.connections {
        let who = c.user.as_deref().unwrap_or("(no user yet)");
        let from = c.address.as_deref().unwrap_or("?");
        let port = c.port.map(|p| format!(" port {p}")).unwrap_or_default();
        let pid = c.pid.map(|p| format!(", process {p}")).unwrap_or_default();
        let title = format!(
            "{who} from {from}{port}: failed in {} (server lines {}–{}{pid})",
            c.phase.id(),
            c.first_line,
            c.last_line
        );
        writeln!(out)?;
        writeln!(out, "{}", clip(&title, view.width).style(s.failed))?;
        let label = format!("  server {}: ", c.why.line);
        let room = view.width.saturating_sub(columns(&label));
        writeln!(out, "{label}{}", clip(&c.why.text, room).style(s.dim))?;
    }
    Ok(())
}
