//! vvvexplain reads the debug output of the OpenSSH clients (`ssh -vvv`, `sftp -vvv`, `scp -vvv`)
//! and explains where a connection broke, why, and what to run to fix it.
//!
//! The pipeline runs one way: input → [`input`] → [`normalize`] → grammar ([`event`]) →
//! [`timeline`] → [`rules`] → [`verdict`] → [`report`]. [`explain`] runs it on any reader. What
//! the timeline learns about a connection is typed by [`facts`].

pub mod analyze;
pub mod cli;
pub mod error;
pub mod event;
pub mod facts;
pub mod input;
pub mod live;
pub mod normalize;
pub mod redact;
pub mod report;
pub mod rules;
pub mod ruletest;
pub mod server;
pub mod timeline;
pub mod verdict;

use std::io::BufRead;

/// Runs the whole pipeline on a log: `Ok(None)` when it holds no OpenSSH client output.
pub fn explain<R: BufRead>(
    reader: R,
    rules: &rules::RuleSet,
) -> std::io::Result<Option<verdict::Verdict>> {
    let timeline = analyze::timeline_of(reader)?;
    Ok(verdict::Verdict::build(&timeline, rules))
}
