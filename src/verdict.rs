//! The verdict: what the timeline and the ranked rules say about an input, in the shape every
//! report format prints and the JSON schema documents. Reporters read only this.

use serde::Serialize;

use crate::facts::{Fact, Facts};
use crate::rules::{Advice, Confidence, RuleSet, Subject};
use crate::server::{self, ServerLine, ServerLog, Sureness};
use crate::timeline::{
    Expecting, LineRef, Milestone, Outcome, Phase, Program, Role, Session, Timeline,
};

/// The JSON schema version; bumped only when a key changes meaning, type or goes away (2: facts
/// are typed: numbers as numbers, lists as arrays).
pub const SCHEMA_VERSION: u32 = 2;

/// Everything vvvexplain concludes about one input.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub schema: u32,
    /// The verdict of the connection that decides (see `decided_by`), flattened to the top level.
    #[serde(flatten)]
    pub decision: SessionVerdict,
    /// Index into `sessions` of the connection the top-level verdict is about.
    pub decided_by: usize,
    /// One verdict per connection found in the input, in input order.
    pub sessions: Vec<SessionVerdict>,
    pub input: InputStats,
}

/// Counts about the input as a whole.
#[derive(Debug, Clone, Serialize)]
pub struct InputStats {
    pub lines: u64,
    pub truncated_lines: u64,
    pub sessions_dropped: usize,
}

/// What one connection did and why it failed.
#[derive(Debug, Clone, Serialize)]
pub struct SessionVerdict {
    pub outcome: Outcome,
    /// The phase that failed (or, for an incomplete log, the phase it stopped in); null on success.
    pub failed_phase: Option<Phase>,
    /// The verdict in one sentence.
    pub summary: String,
    /// Likely causes, best first.
    pub causes: Vec<Cause>,
    /// The last successful milestone and its line.
    pub last_ok: Option<MilestoneRef>,
    /// The decisive line: the failure, or where an incomplete log stops.
    pub evidence: Option<LineRef>,
    /// For an incomplete log: what the client was waiting for.
    pub waiting_for: Option<String>,
    pub timeline: Vec<PhaseEntry>,
    pub facts: Facts,
    /// Lines worth a look that did not end the connection (warnings).
    pub warnings: Vec<LineRef>,
    /// What the reader should know about the log itself (verbosity, dropped lines, …).
    pub notes: Vec<String>,
    pub connection: ConnectionInfo,
    /// The lines of the failed phase (or of the phase an incomplete log stops in), as far as
    /// they were kept: the human report's `--verbose` shows them.
    #[serde(skip)]
    pub failed_phase_lines: Vec<LineRef>,
    /// How long the set-up took and where it waited longest (only for logs with times).
    pub timing: Option<Timing>,
    /// What the server's log (`--server-log`) says of this connection; absent without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerEvidence>,
}

/// The server log's connection paired with a client connection, and its typed lines.
#[derive(Debug, Clone, Serialize)]
pub struct ServerEvidence {
    /// Whether a connection of the server log fits this one; when none does, nothing from the
    /// server log is used.
    pub paired: bool,
    pub sureness: Option<Sureness>,
    /// Why: what both logs show alike (`key`, `user`, `port`, `address`, `time`, `outcome`), the most
    /// telling first; empty when nothing but the order chose it.
    pub agreed: Vec<&'static str>,
    /// How many other server connections fit as well (all but outcome and order considered):
    /// the latest whose outcome agrees was chosen, else the latest (see `server::pair`).
    pub equals: usize,
    /// sshd's process id, when the log carries it.
    pub pid: Option<u32>,
    /// Where that connection's lines are in the server log (its line numbers).
    pub first_line: Option<u64>,
    pub last_line: Option<u64>,
    /// The lines sshd's grammar typed (debug chatter left out), with their server log numbers.
    pub lines: Vec<ServerLine>,
}

/// Durations, from the times a log carries (or the arrival times of a live run).
#[derive(Debug, Clone, Serialize)]
pub struct Timing {
    /// From the first line to the session being up (or to the end of the log if it never was).
    pub setup_seconds: f64,
    /// The longest wait between two lines while setting up.
    pub slowest_step: Option<SlowStepReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SlowStepReport {
    pub seconds: f64,
    pub phase: Phase,
    /// The line after which the client waited, and the line that ended the wait.
    pub after: LineRef,
    pub before: LineRef,
}

/// A milestone as reported: its id, what it means and its line.
#[derive(Debug, Clone, Serialize)]
pub struct MilestoneRef {
    pub milestone: Milestone,
    pub description: &'static str,
    pub line: u64,
    pub text: String,
}

/// Which connection this is.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionInfo {
    /// Which connection of the input this is, from 1, counting those left out of a long input.
    #[serde(skip)]
    pub number: usize,
    pub role: Role,
    pub program: Program,
    pub client_version: Option<String>,
    pub first_line: u64,
    pub last_line: u64,
    pub verbosity: u8,
}

/// The status of one phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseStatus {
    Ok,
    Failed,
    NotReached,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseEntry {
    pub phase: Phase,
    pub status: PhaseStatus,
    pub first_line: Option<u64>,
    pub last_line: Option<u64>,
    pub key_line: Option<LineRef>,
    pub facts: Facts,
    /// Time from the phase's first to its last line, when the log has times.
    pub seconds: Option<f64>,
}

/// A likely cause, with what to check and what to do on each side.
#[derive(Debug, Clone, Serialize)]
pub struct Cause {
    pub id: String,
    #[serde(flatten)]
    pub advice: Advice,
    /// It describes a connection that worked (the rule's `success`), not a cause of failure.
    #[serde(skip)]
    pub success: bool,
    /// The lines of the log that made this cause match.
    pub matched_lines: Vec<LineRef>,
    /// The paired server connection's line that proves this cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_line: Option<ServerLine>,
}

impl Verdict {
    /// Judges every connection of the timeline; `None` when the input held no OpenSSH output.
    pub fn build(timeline: &Timeline, rules: &RuleSet) -> Option<Verdict> {
        Verdict::build_with_server(timeline, rules, None)
    }

    /// Judges every connection with what the server's log says of it, when there is one.
    pub fn build_with_server(
        timeline: &Timeline,
        rules: &RuleSet,
        server: Option<&ServerLog>,
    ) -> Option<Verdict> {
        if !timeline.has_openssh_lines() {
            return None;
        }
        let connections = timeline.sessions.len() + timeline.sessions_dropped;
        let sessions: Vec<SessionVerdict> = timeline
            .sessions
            .iter()
            .map(|s| judge(timeline, s, rules, connections, server))
            .collect();
        let deciding = timeline.deciding()?;
        let decided_by = timeline.sessions.iter().position(|s| s.id == deciding.id)?;
        Some(Verdict {
            schema: SCHEMA_VERSION,
            decision: sessions[decided_by].clone(),
            decided_by,
            sessions,
            input: InputStats {
                lines: timeline.lines_read,
                truncated_lines: timeline.lines_truncated,
                sessions_dropped: timeline.sessions_dropped,
            },
        })
    }

    /// The same input, with the top level about connection `index` of `sessions`.
    pub fn focus(&self, index: usize) -> Option<Verdict> {
        Some(Verdict {
            decision: self.sessions.get(index)?.clone(),
            decided_by: index,
            ..self.clone()
        })
    }

    /// The process exit code for this verdict: 0 success, 1 failure or incomplete.
    pub fn exit_code(&self) -> i32 {
        match self.decision.outcome {
            Outcome::Success => crate::error::exit::SUCCESS,
            Outcome::Failure | Outcome::Incomplete => crate::error::exit::FAILURE,
        }
    }
}

fn judge(
    timeline: &Timeline,
    session: &Session,
    rules: &RuleSet,
    connections: usize,
    server_log: Option<&ServerLog>,
) -> SessionVerdict {
    let mut subject = Subject::new(timeline, session);
    let pairing = server_log.and_then(|log| server::pair(log, session));
    subject.server = pairing.map(|p| p.connection);
    let facts = session.facts();
    let causes: Vec<Cause> = rules
        .rank(&subject)
        .into_iter()
        .map(|m| {
            let mut advice = m.rule.advice.filled(|text| fill(text, &facts));
            // sshd's own line naming the cause leaves no doubt.
            if m.server_line.is_some() {
                advice.confidence = Confidence::High;
                if let Some(title) = &m.rule.proven_title {
                    advice.title = fill(title, &facts).into();
                }
            }
            Cause {
                id: m.rule.id.to_string(),
                advice,
                success: m.rule.success,
                matched_lines: m.matched_lines,
                server_line: m.server_line,
            }
        })
        .collect();
    let outcome = session.outcome();
    let failed_phase = session.failed_phase();
    let evidence = subject.evidence.cloned();
    let waiting_for = (outcome == Outcome::Incomplete).then(|| waiting_for(session));
    let program = session.program.unwrap_or(Program::Ssh);
    let summary = summarize(
        session,
        &facts,
        outcome,
        failed_phase,
        evidence.as_ref(),
        waiting_for.as_deref(),
        causes.first(),
    );
    SessionVerdict {
        outcome,
        failed_phase,
        summary,
        last_ok: session.last_milestone.as_ref().map(|(m, l)| MilestoneRef {
            milestone: *m,
            description: m.describe(),
            line: l.line,
            text: l.text.clone(),
        }),
        evidence,
        waiting_for,
        timeline: phase_entries(session, outcome, failed_phase),
        facts,
        warnings: session.warnings.clone(),
        notes: notes(timeline, session, connections),
        failed_phase_lines: failed_phase_lines(session, failed_phase),
        connection: ConnectionInfo {
            number: session.id + 1,
            role: session.role,
            program,
            client_version: session.client_version.clone(),
            first_line: session.first_line,
            last_line: session.last_line,
            verbosity: session.verbosity,
        },
        timing: timing(session),
        causes,
        server: server_log.map(|_| server_evidence(pairing)),
    }
}

fn server_evidence(pairing: Option<server::Pairing<'_>>) -> ServerEvidence {
    let connection = pairing.map(|p| p.connection);
    ServerEvidence {
        paired: pairing.is_some(),
        sureness: pairing.map(|p| p.sureness),
        agreed: pairing.map(|p| p.agreed.names()).unwrap_or_default(),
        equals: pairing.map_or(0, |p| p.equals),
        pid: connection.and_then(|c| c.pid),
        first_line: connection.map(|c| c.first_line()),
        last_line: connection.map(|c| c.last_line()),
        lines: connection
            .map(|c| {
                c.lines
                    .iter()
                    .filter(|l| l.event.is_some())
                    .cloned()
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Replaces `{user}`, `{host}`, `{port}`, `{host_port}` … with the facts; an unknown value
/// becomes what to put there, in words (`<user name>`).
pub fn fill(text: &str, facts: &Facts) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let (before, after) = rest.split_at(open);
        out.push_str(before);
        let name_len = after[1..]
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(after.len() - 1);
        let name = &after[1..1 + name_len];
        if name.is_empty() || !after[1 + name_len..].starts_with('}') {
            out.push('{');
            rest = &after[1..];
            continue;
        }
        out.push_str(&fact_value(name, facts).unwrap_or_else(|| placeholder_words(name)));
        rest = &after[name_len + 2..];
    }
    out.push_str(rest);
    out
}

fn fact_value(name: &str, facts: &Facts) -> Option<String> {
    match name {
        // known_hosts names a host on a non-default port as [host]:port.
        "host_port" => {
            let host = facts.text(Fact::Host)?;
            Some(match facts.text(Fact::Port).as_deref() {
                Some("22") | None => host.into_owned(),
                Some(port) => format!("[{host}]:{port}"),
            })
        }
        // What a command that connects again adds for a port that is not 22 (` -p 2222`; sftp
        // and scp spell it ` -P 2222`), nothing for 22 or an unknown port.
        "port_flag" | "sftp_port_flag" => {
            let flag = if name == "port_flag" { "-p" } else { "-P" };
            Some(match facts.text(Fact::Port).as_deref() {
                Some("22") | None => String::new(),
                Some(port) => format!(" {flag} {port}"),
            })
        }
        _ => Some(
            facts
                .text(crate::facts::definition(name)?.fact)?
                .into_owned(),
        ),
    }
}

/// What to write in place of a fact the log did not give.
fn placeholder_words(name: &str) -> String {
    let words = match name {
        "user" => "user name",
        "host" | "host_port" => "host name",
        "port" => "port",
        "address" => "server address",
        "server_offer" => "algorithms the server offers",
        "key_file" | "key_too_open" => "private key file",
        "server_host_key" => "server's host key fingerprint",
        "known_hosts_entry" => "known_hosts file and line",
        "proxy_command" => "your ProxyCommand",
        "server_software" => "server's SSH version",
        "bad_permissions_file" => "file ssh complained about",
        other => return format!("<{}>", other.replace('_', " ")),
    };
    format!("<{words}>")
}

/// The kept lines of the phase that failed, at most the last [`PHASE_LINES_SHOWN`].
fn failed_phase_lines(session: &Session, failed: Option<Phase>) -> Vec<LineRef> {
    let Some(record) = failed.map(|p| session.phase(p)) else {
        return Vec::new();
    };
    let (Some(first), Some(last)) = (record.first_line, record.last_line) else {
        return Vec::new();
    };
    let kept: Vec<_> = session
        .lines
        .iter()
        .filter(|l| (first..=last).contains(&l.line))
        .collect();
    let extra = kept.len().saturating_sub(PHASE_LINES_SHOWN);
    kept[extra..].iter().map(|l| l.to_line_ref()).collect()
}

const PHASE_LINES_SHOWN: usize = 80;

fn phase_entries(session: &Session, outcome: Outcome, failed: Option<Phase>) -> Vec<PhaseEntry> {
    let furthest = Phase::ALL
        .into_iter()
        .filter(|p| session.phase(*p).first_line.is_some())
        .max();
    session
        .applicable_phases()
        .into_iter()
        .map(|phase| {
            let record = session.phase(phase);
            let touched = record.first_line.is_some();
            let status = match (outcome, failed) {
                (_, Some(f)) if f == phase => PhaseStatus::Failed,
                (_, Some(f)) if phase < f => PhaseStatus::Ok,
                (Outcome::Failure, Some(_)) if touched => PhaseStatus::Ok,
                (Outcome::Success, _) if touched || furthest.is_some_and(|f| phase < f) => {
                    PhaseStatus::Ok
                }
                _ => PhaseStatus::NotReached,
            };
            PhaseEntry {
                phase,
                status,
                first_line: record.first_line,
                last_line: record.last_line,
                key_line: record.key_line.clone(),
                facts: record.facts.clone(),
                seconds: match (record.first_millis, record.last_millis) {
                    (Some(a), Some(b)) => Some(seconds(b.saturating_sub(a))),
                    _ => None,
                },
            }
        })
        .collect()
}

fn seconds(millis: u64) -> f64 {
    millis as f64 / 1000.0
}

fn timing(session: &Session) -> Option<Timing> {
    let start = session.first_millis?;
    let end = session
        .setup_done_millis
        .or(session.client_ended_millis)
        .or_else(|| session.last_timed.as_ref()?.millis)?;
    Some(Timing {
        setup_seconds: seconds(end.saturating_sub(start)),
        slowest_step: session
            .slowest_setup_step
            .as_ref()
            .map(|step| SlowStepReport {
                seconds: seconds(step.millis),
                phase: step.phase,
                after: step.after.clone(),
                before: step.before.clone(),
            }),
    })
}

/// What a connection that stops was waiting for, in the user's words.
fn waiting_for(session: &Session) -> String {
    if let Some(question) = session.asking_user {
        return format!(
            "you to {} (ssh was asking on the terminal)",
            question.describe()
        );
    }
    match &session.expecting {
        Some((Expecting::ServerMessage(message), _)) => return format!("the server's {message}"),
        Some((Expecting::HostKeyAnswer, _)) => {
            return "an answer to the host key question (yes/no)".to_string()
        }
        None => {}
    }
    if session
        .auth_method
        .as_deref()
        .is_some_and(|m| m.starts_with("gssapi"))
    {
        return "the GSSAPI/Kerberos library, which may be trying to reach a Kerberos server"
            .to_string();
    }
    match session.frontier {
        Phase::Config | Phase::Resolve => "the host name to resolve",
        Phase::Connect => "the server to accept the TCP connection",
        Phase::Banner => "the server's SSH version banner",
        Phase::Kex => "the server's key exchange reply",
        Phase::Hostkey => "the host key to be verified",
        Phase::Auth => "the server's answer to authentication",
        Phase::Channel => "the server to confirm the session channel",
        Phase::Session => "the remote shell or command to finish",
        Phase::Sftp => "the SFTP server to answer (FXP_VERSION)",
        Phase::Transfer => "the transfer to finish",
        Phase::Disconnect => "the connection to close",
    }
    .to_string()
}

/// Where a connection went, as the reports name it: `example.org port 2222`.
pub fn target(facts: &Facts) -> Option<String> {
    let host = facts.text(Fact::Host)?;
    Some(match facts.text(Fact::Port) {
        Some(port) => format!("{host} port {port}"),
        None => host.to_string(),
    })
}

fn summarize(
    session: &Session,
    facts: &Facts,
    outcome: Outcome,
    failed: Option<Phase>,
    evidence: Option<&LineRef>,
    waiting: Option<&str>,
    top: Option<&Cause>,
) -> String {
    let program = session.program.unwrap_or(Program::Ssh).id();
    let target = target(facts)
        .map(|t| format!(" to {t}"))
        .unwrap_or_default();
    let phase = failed.unwrap_or(Phase::Disconnect);
    let at = evidence
        .map(|l| format!(" at line {}", l.line))
        .unwrap_or_default();
    match outcome {
        Outcome::Success => {
            let user = session
                .fact_text(Fact::User)
                .map(|u| format!(" as {u}"))
                .unwrap_or_default();
            let exit = match session.fact_text(Fact::ExitStatus).as_deref() {
                Some("0") | None => String::new(),
                Some(code) => format!("; the remote command exited with status {code}"),
            };
            let concern = match top {
                Some(cause) if !cause.success => {
                    format!(" {}.", cause.advice.title.trim_end_matches('.'))
                }
                _ => String::new(),
            };
            format!(
                "{program}{target} succeeded: connected and authenticated{user}{exit}.{concern}"
            )
        }
        Outcome::Failure => match top {
            Some(cause) => format!(
                "{program}{target} failed while {} ({}){at}: {}.{}",
                phase.describe(),
                phase.id(),
                cause.advice.title.trim_end_matches('.'),
                server_says(cause)
            ),
            None => format!(
                "{program}{target} failed while {} ({}){at}; no rule explains this failure yet.",
                phase.describe(),
                phase.id()
            ),
        },
        Outcome::Incomplete => {
            let waiting = waiting.unwrap_or("more output");
            let cause = top
                .map(|c| {
                    let title = c.advice.title.trim_end_matches('.');
                    format!(" Likely: {title}.{}", server_says(c))
                })
                .unwrap_or_default();
            format!(
                "The log of {program}{target} stops while {} ({}){at}, waiting for {waiting}.{cause}",
                phase.describe(),
                phase.id()
            )
        }
    }
}

/// The server's line that proves `cause`, cited for the verdict: ` The server's log says so
/// (server line 33): "User amy from 192.0.2.8 not allowed because listed in DenyUsers".`
fn server_says(cause: &Cause) -> String {
    cause
        .server_line
        .as_ref()
        .map(|line| {
            format!(
                " The server's log says so (server line {}): \"{}\".",
                line.line,
                line.message()
            )
        })
        .unwrap_or_default()
}

fn notes(timeline: &Timeline, session: &Session, connections: usize) -> Vec<String> {
    let mut notes = Vec::new();
    for jump in timeline.jumps_of(session) {
        if let Some((phase, line)) = &jump.failure {
            let host = jump
                .fact_text(Fact::Host)
                .map(|h| format!(" to {h}"))
                .unwrap_or_default();
            notes.push(format!(
                "The jump host connection{host} (lines {}–{}) failed first, in {}: line {}: {}",
                jump.first_line,
                jump.last_line,
                phase.id(),
                line.line,
                line.text
            ));
        }
    }
    match session.verbosity {
        0 => notes.push(
            "The log has no debug lines: run the same command again with -vvv (e.g. `ssh -vvv host 2>&1 | vvvexplain`) to see how far it got."
                .to_string(),
        ),
        1 | 2 => notes.push(format!(
            "The log is at -{}: -vvv would add the packets sent and received, both sides' algorithm lists and the channel requests.",
            "v".repeat(usize::from(session.verbosity))
        )),
        _ => {}
    }
    if let Some(phase) = starts_midway(session) {
        notes.push(format!(
            "The log starts in the middle, in {}: the client's first lines (its version, configuration, connection and banner) are cut off; the whole -vvv output, from its first line, would show them.",
            phase.id()
        ));
    }
    if let Some(line) = &session.interrupted {
        notes.push(format!(
            "The client was interrupted at line {} ({}).",
            line.line, line.text
        ));
    }
    if session.has_fact(Fact::PostQuantum) {
        notes.push(
            "The client warned that the key exchange is not post-quantum: advice to upgrade the server, not a failure."
                .to_string(),
        );
    }
    let dropped = session.lines.dropped();
    if dropped > 0 {
        notes.push(format!(
            "{dropped} routine lines in the middle of this connection were not kept; its facts and phases cover every line."
        ));
    }
    if connections > 1 {
        notes.push(format!(
            "The input holds {connections} connections; each has its own verdict (`--session N` shows one)."
        ));
    }
    notes
}

/// The phase a debug log (a paste cut at its top, often marked `...`) starts in, when it starts
/// past the lines every `-v` log opens with: the version, the configuration read, the connection.
fn starts_midway(session: &Session) -> Option<Phase> {
    let opened = [Phase::Config, Phase::Resolve, Phase::Connect]
        .iter()
        .any(|&p| session.phase(p).first_line.is_some());
    if session.verbosity == 0 || opened || session.client_version.is_some() {
        return None;
    }
    Phase::ALL
        .into_iter()
        .find(|&p| session.phase(p).first_line.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_from_facts() {
        let mut facts = Facts::default();
        facts.set(Fact::Host, "example.org");
        facts.set(Fact::Port, 2222u16);
        facts.set(Fact::User, "alice");
        assert_eq!(
            fill("ssh-keygen -R '{host_port}'", &facts),
            "ssh-keygen -R '[example.org]:2222'"
        );
        assert_eq!(
            fill("ssh-copy-id {user}@{host} {nope} {x y} {", &facts),
            "ssh-copy-id alice@example.org <nope> {x y} {"
        );
        assert_eq!(fill("awk '{print $1}'", &facts), "awk '{print $1}'");
        assert_eq!(
            fill(
                "ssh{port_flag} {user}@{host}; sftp{sftp_port_flag} {host}",
                &facts
            ),
            "ssh -p 2222 alice@example.org; sftp -P 2222 example.org"
        );
        facts.set(Fact::Port, 22u16);
        assert_eq!(fill("ssh{port_flag} {host}", &facts), "ssh example.org");
        assert_eq!(
            fill("ssh{port_flag} {host}", &Facts::default()),
            "ssh <host name>"
        );
    }
}
