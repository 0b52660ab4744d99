//! The one error type of the command line: each error owns its message, a `help:` line and its
//! exit code.

use std::path::PathBuf;

use crate::rules::RuleErrors;

/// Exit codes, as documented in README.md.
pub mod exit {
    /// The connection succeeded (or `rules test`/`check` passed).
    pub const SUCCESS: i32 = 0;
    /// A failure was diagnosed, or the log stops before the end (or a rule test failed).
    pub const FAILURE: i32 = 1;
    /// Usage or input error.
    pub const USAGE: i32 = 2;
    /// The input holds no OpenSSH debug output.
    pub const NO_OPENSSH_OUTPUT: i32 = 3;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read standard input: {0}")]
    Stdin(std::io::Error),
    #[error("invalid rules:\n{0}")]
    Rules(RuleErrors),
    #[error("no rules to judge with: no rules folder given holds an <id>/rule.yaml")]
    NoRules,
    #[error("no OpenSSH client output found in {0}")]
    NoOpenSshOutput(String),
    #[error("cannot write the report: {0}")]
    Write(std::io::Error),
    #[error("cannot create the --save file {}: {source}", path.display())]
    Save {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
    #[error(
        "no file `{given}` here, and no subcommand of that name: did you mean `{suggestion}`?"
    )]
    NotASubcommand {
        given: String,
        suggestion: &'static str,
    },
    #[error("no rule `{0}` among the active rules")]
    NoSuchRule(String),
    #[error("{0}")]
    NoSuchSession(String),
}

/// An error as `--format json` prints it on standard output, so a script never parses text.
#[derive(Debug, serde::Serialize)]
pub struct ErrorReport<'a> {
    /// `no_openssh_output` or `error`.
    pub outcome: &'static str,
    pub error: String,
    pub help: &'static str,
    pub exit_code: i32,
    /// The input it is about, when there are several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<&'a str>,
}

impl Error {
    /// One line telling the user what to do about it.
    pub fn help(&self) -> &'static str {
        match self {
            Error::Read { .. } => "check the path; use - to read standard input",
            Error::Stdin(_) => "pipe the log in (ssh -vvv host 2>&1 | vvvexplain) or pass it as a file",
            Error::Rules(_) => "fix the rule files at the places shown; `vvvexplain rules check DIR` checks them",
            Error::NoRules => "give a folder of rules/<id>/rule.yaml, or drop --no-default-rules to use the built-in ones",
            Error::NoOpenSshOutput(_) => {
                "run the client with -vvv and give vvvexplain everything it prints: ssh -vvv user@host 2>&1 | vvvexplain (sftp -vvv / scp -vvv likewise)"
            }
            Error::Write(_) => "the output could not be written",
            Error::Save { .. } => {
                "check that the folder exists and is writable, or give --save another file"
            }
            Error::Spawn { .. } => "is the OpenSSH client installed and on PATH? (ssh -V)",
            Error::Usage(_) => "see vvvexplain --help",
            Error::NotASubcommand { .. } => "`vvvexplain --help` lists the subcommands; a file name with a / or a . is always a file",
            Error::NoSuchRule(_) => "`vvvexplain rules list` shows the ids",
            Error::NoSuchSession(_) => "--session takes a connection's number as the report lists them, `last` or `all`",
        }
    }

    /// The JSON object that stands for this error.
    pub fn report<'a>(&self, input: Option<&'a str>) -> ErrorReport<'a> {
        ErrorReport {
            outcome: match self {
                Error::NoOpenSshOutput(_) => "no_openssh_output",
                _ => "error",
            },
            error: self.to_string(),
            help: self.help(),
            exit_code: self.exit_code(),
            input,
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::NoOpenSshOutput(_) => exit::NO_OPENSSH_OUTPUT,
            _ => exit::USAGE,
        }
    }
}
