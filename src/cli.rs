//! The command line: parses arguments, reads the inputs, runs the pipeline and prints reports.
//! `run()` returns the process exit code; `main.rs` only calls it.

use std::io::{self, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use std::time::Duration;

use crate::analyze::timeline_of;
use crate::error::{exit, Error};
use crate::live::LiveRun;
use crate::report::{self, Format, Styles};
use crate::rules::{self, RuleSet, RuleSource};
use crate::ruletest;
use crate::timeline::Program;
use crate::verdict::Verdict;

/// Explains OpenSSH client debug output (ssh/sftp/scp -v, -vv, -vvv): where the connection broke,
/// why, and what to run to fix it. Offline; it never connects anywhere.
#[derive(Debug, Parser)]
#[command(name = "vvvexplain", version)]
#[command(
    after_help = "Examples:\n  vvvexplain ssh user@host                  (run ssh, explained as it happens)\n  ssh -vvv host 2>&1 | vvvexplain\n  vvvexplain saved-debug.log\n  vvvexplain --redact --format markdown debug.log   (to paste into a public issue)\n\nExit codes: 0 the connection succeeded, 1 a failure was diagnosed or the log stops early,\n2 usage or input error, 3 no OpenSSH debug output found. `vvvexplain ssh|sftp|scp` returns\nthe client's own exit code."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Log files to explain; `-` is standard input. With none, reads standard input (paste mode
    /// on a terminal: paste, then Ctrl-D).
    files: Vec<PathBuf>,

    #[command(flatten)]
    options: Options,
}

#[derive(Debug, clap::Args)]
struct Options {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human, global = true)]
    format: Format,

    /// When to colour the human output (auto: on a terminal, unless NO_COLOR is set).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    color: ColorChoice,

    /// Also load the rules in DIR (one folder per rule holding rule.yaml); may be repeated.
    #[arg(long = "rules", value_name = "DIR", global = true)]
    rule_dirs: Vec<PathBuf>,

    /// Replace host names, addresses, user names, home paths, fingerprints and key comments with
    /// stable placeholders (host-1, ip-1, user-1, …) in the report, to share it publicly.
    #[arg(long, global = true)]
    redact: bool,

    /// Do not load the built-in rules (use only --rules DIR).
    #[arg(long, global = true)]
    no_default_rules: bool,

    /// Live mode: keep the client's debug log, each line with its arrival time, in FILE.
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,

    /// Live mode: name the likely cause when setting up makes no progress for SECS seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    hang_after: f64,

    /// Live mode: on success, print one timing line when setting up took more than SECS seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    slow_setup: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with rule sets.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Run ssh with -vvv and explain the connection as it happens (wrapper options go before `ssh`).
    #[command(
        disable_help_flag = true,
        disable_version_flag = true,
        allow_hyphen_values = true
    )]
    Ssh(ClientArgs),
    /// Run sftp with -vvv and explain the connection as it happens.
    #[command(
        disable_help_flag = true,
        disable_version_flag = true,
        allow_hyphen_values = true
    )]
    Sftp(ClientArgs),
    /// Run scp with -vvv and explain the connection as it happens.
    #[command(
        disable_help_flag = true,
        disable_version_flag = true,
        allow_hyphen_values = true
    )]
    Scp(ClientArgs),
}

/// Everything after `ssh`/`sftp`/`scp` goes to the client unchanged.
#[derive(Debug, clap::Args)]
struct ClientArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0.., value_name = "ARGS")]
    args: Vec<std::ffi::OsString>,
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Show every active rule: id, phase, confidence, title.
    List,
    /// Validate the rule files in DIR (default: ./rules): schema, regexes, unique ids, fixtures.
    Check { dir: Option<PathBuf> },
    /// Run every rule's fixture transcripts through the pipeline and compare with the expected verdicts.
    Test { dir: Option<PathBuf> },
}

/// Runs the command line and returns the process exit code.
pub fn run() -> i32 {
    // Started by ssh as its askpass in live mode: ask the user through the wrapper.
    if let Some(code) = crate::live::askpass_shim() {
        return code;
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            };
        }
    };
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => report_error(&e),
    }
}

fn report_error(e: &Error) -> i32 {
    tell(format_args!("vvvexplain: error: {e}\nhelp: {}\n", e.help()));
    e.exit_code()
}

/// Writes to standard error. A closed or full one is not an error: there is no one left to tell,
/// and the exit code still says what happened.
fn tell(message: std::fmt::Arguments<'_>) {
    let _ = io::stderr().lock().write_fmt(message);
}

fn dispatch(cli: Cli) -> Result<i32, Error> {
    match cli.command {
        Some(Command::Rules(RulesCommand::List)) => list_rules(&load_rules(&cli.options)?),
        Some(Command::Rules(RulesCommand::Check { dir })) => check_rules(&rules_dir(dir)?),
        Some(Command::Rules(RulesCommand::Test { dir })) => test_rules(&rules_dir(dir)?),
        Some(Command::Ssh(client)) => run_live(Program::Ssh, client, &cli.options),
        Some(Command::Sftp(client)) => run_live(Program::Sftp, client, &cli.options),
        Some(Command::Scp(client)) => run_live(Program::Scp, client, &cli.options),
        None => explain(&cli.files, &cli.options),
    }
}

fn run_live(program: Program, client: ClientArgs, options: &Options) -> Result<i32, Error> {
    let seconds = |value: f64, flag: &str| {
        Duration::try_from_secs_f64(value)
            .map_err(|_| Error::Usage(format!("{flag} takes a number of seconds, 0 or more")))
    };
    let live = LiveRun {
        program,
        args: client.args,
        save: options.save.clone(),
        hang_after: seconds(options.hang_after, "--hang-after")?,
        slow_setup: seconds(options.slow_setup, "--slow-setup")?,
        format: options.format,
        redact: options.redact,
        // The report goes to stderr in live mode: colour follows stderr, not stdout.
        styles: styles(options.color, io::stderr().is_terminal()),
    };
    crate::live::run(&live, &load_rules(options)?)
}

/// The built-in rules and those of every `--rules DIR`, through one loader.
fn load_rules(options: &Options) -> Result<RuleSet, Error> {
    let mut sources: Vec<RuleSource> = if options.no_default_rules {
        Vec::new()
    } else {
        rules::builtin_sources()
    };
    for dir in &options.rule_dirs {
        sources.extend(rules::load_dir(dir).map_err(Error::Rules)?);
    }
    compile(sources)
}

/// The rule set of these sources; none at all is an error, as every log would pass unjudged.
fn compile(sources: Vec<RuleSource>) -> Result<RuleSet, Error> {
    if sources.is_empty() {
        return Err(Error::NoRules);
    }
    RuleSet::compile(sources).map_err(Error::Rules)
}

/// `DIR`, or `./rules`.
fn rules_dir(dir: Option<PathBuf>) -> Result<PathBuf, Error> {
    if let Some(dir) = dir {
        return Ok(dir);
    }
    // Only the working directory's: an installed binary has no source tree to fall back on.
    let here = PathBuf::from("rules");
    here.is_dir().then_some(here).ok_or_else(|| {
        Error::Usage(
            "no rules folder here: pass the folder, e.g. `vvvexplain rules test rules/`".into(),
        )
    })
}

/// Plain or coloured output, for a stream that is or is not a terminal.
fn styles(choice: ColorChoice, terminal: bool) -> Styles {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let colored = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => !no_color && terminal,
    };
    if colored {
        Styles::colored()
    } else {
        Styles::plain()
    }
}

fn explain(files: &[PathBuf], options: &Options) -> Result<i32, Error> {
    let rules = load_rules(options)?;
    let styles = styles(options.color, io::stdout().is_terminal());
    let stdin_only = [PathBuf::from("-")];
    let inputs = if files.is_empty() {
        &stdin_only[..]
    } else {
        files
    };
    let several = inputs.len() > 1;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut code = exit::SUCCESS;
    let mut json: Vec<Verdict> = Vec::new();
    for (i, path) in inputs.iter().enumerate() {
        let name = if path.as_os_str() == "-" {
            "standard input".to_string()
        } else {
            path.display().to_string()
        };
        let verdict = read_input(path).and_then(|timeline| {
            Verdict::build(&timeline, &rules).ok_or_else(|| Error::NoOpenSshOutput(name.clone()))
        });
        let mut verdict = match verdict {
            Ok(v) => v,
            Err(e) => {
                code = code.max(report_error(&e));
                continue;
            }
        };
        code = code.max(verdict.exit_code());
        if options.redact {
            crate::redact::redact(&mut verdict);
        }
        if options.format == Format::Json && several {
            json.push(verdict);
            continue;
        }
        if several && i > 0 {
            writeln!(out)
                .map_err(Error::Write)
                .or_else(ignore_broken_pipe)?;
        }
        let source = several.then_some(name.as_str());
        let written = report::write(&mut out, &verdict, options.format, &styles, source)
            .and_then(|_| out.flush());
        if let Err(e) = written {
            return ignore_broken_pipe(Error::Write(e)).map(|_| code);
        }
    }
    if !json.is_empty() {
        let written = report::write_json(&mut out, &json).and_then(|_| out.flush());
        if let Err(e) = written {
            return ignore_broken_pipe(Error::Write(e)).map(|_| code);
        }
    }
    Ok(code)
}

/// A reader that closed the pipe (`vvvexplain log | head`) has what it wanted: not an error.
fn ignore_broken_pipe(e: Error) -> Result<(), Error> {
    match &e {
        Error::Write(io) if io.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        _ => Err(e),
    }
}

fn read_input(path: &Path) -> Result<crate::timeline::Timeline, Error> {
    if path.as_os_str() == "-" {
        let stdin = io::stdin();
        if stdin.is_terminal() {
            tell(format_args!(
                "paste the ssh -vvv output, then press Ctrl-D (Ctrl-Z then Enter on Windows)\n"
            ));
        }
        return timeline_of(BufReader::with_capacity(64 * 1024, stdin.lock()))
            .map_err(Error::Stdin);
    }
    let read_error = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Error::Usage(format!(
            "{} is a directory, not a log file",
            path.display()
        )));
    }
    timeline_of(BufReader::with_capacity(64 * 1024, file)).map_err(read_error)
}

fn list_rules(rules: &RuleSet) -> Result<i32, Error> {
    let mut out = io::stdout().lock();
    let width = rules.rules().iter().map(|r| r.id.len()).max().unwrap_or(2);
    let lines = rules.rules().iter().map(|rule| {
        let confidence = rule.advice.confidence.id();
        format!(
            "{:<width$}  {:<10} {:<6}  {}",
            rule.id,
            rule.phase.id(),
            confidence,
            rule.advice.title
        )
    });
    for line in lines {
        if let Err(e) = writeln!(out, "{line}") {
            ignore_broken_pipe(Error::Write(e))?;
            break;
        }
    }
    Ok(exit::SUCCESS)
}

fn check_rules(dir: &Path) -> Result<i32, Error> {
    let sources = rules::load_dir(dir).map_err(Error::Rules)?;
    let count = sources.len();
    let set = compile(sources)?;
    let fixtures: usize = set.rules().iter().map(|r| r.tests.len()).sum();
    writeln!(
        io::stdout(),
        "{count} rules in {} are valid ({fixtures} fixture tests)",
        dir.display()
    )
    .map_err(Error::Write)
    .or_else(ignore_broken_pipe)?;
    Ok(exit::SUCCESS)
}

fn test_rules(dir: &Path) -> Result<i32, Error> {
    // Fixtures are judged by DIR's rules alone: a rule's tests then show how that set, and no
    // other, ranks its transcripts.
    let set = compile(rules::load_dir(dir).map_err(Error::Rules)?)?;
    let results = ruletest::run(&set);
    let mut out = io::stdout().lock();
    let mut failed = 0;
    for result in &results {
        let line = match &result.failure {
            None => format!("PASS {}  {}", result.name, result.verdict),
            Some(why) => {
                failed += 1;
                format!("FAIL {}  {}\n     {why}", result.name, result.verdict)
            }
        };
        writeln!(out, "{line}")
            .map_err(Error::Write)
            .or_else(ignore_broken_pipe)?;
    }
    writeln!(out, "{} passed, {} failed", results.len() - failed, failed)
        .map_err(Error::Write)
        .or_else(ignore_broken_pipe)?;
    Ok(if failed == 0 {
        exit::SUCCESS
    } else {
        exit::FAILURE
    })
}
