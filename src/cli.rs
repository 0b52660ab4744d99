//! The command line: parses arguments, reads the inputs, runs the pipeline and prints reports.
//! `run()` returns the process exit code; `main.rs` only calls it.

use std::io::{self, BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};

use std::time::Duration;

mod output;
mod typo;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use clap_complete::Shell;

use crate::analyze::timeline_of;
use crate::error::{exit, Error};
use crate::live::LiveRun;
use crate::report::{self, Detail, Format, Styles, View};
use crate::rules::{self, RuleSet, RuleSource};
use crate::ruletest;
use crate::server::ServerLog;
use crate::timeline::{Program, Timeline};
use crate::verdict::Verdict;
use output::Printer;
use typo::subcommand_like;

/// Explains OpenSSH client debug output (ssh/sftp/scp -v, -vv, -vvv): where the connection broke,
/// why, and what to run to fix it. Offline; it never connects anywhere.
#[derive(Debug, Parser)]
#[command(name = "vvvexplain", version, max_term_width = 100)]
#[command(
    after_help = "Examples:\n  vvvexplain ssh user@host                  (run ssh, explained as it happens)\n  ssh -vvv host 2>&1 | vvvexplain\n  vvvexplain saved-debug.log\n  vvvexplain debug.log --server-log /var/log/auth.log   (with sshd's own log: the exact cause)\n  vvvexplain --redact --format markdown debug.log   (to paste into a public issue)\n\nExit codes: 0 the connection succeeded, 1 a failure was diagnosed or the log stops early,\n2 usage or input error, 3 no OpenSSH debug output found. `vvvexplain ssh|sftp|scp` returns\nthe client's own exit code. With --format json, errors are JSON too (outcome, error, help)."
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
    /// Output format (jsonl: one JSON object per line, one per input).
    #[arg(long, value_enum, default_value_t = Format::Human, global = true)]
    format: Format,

    /// Columns to fit the human report in (default: the terminal's width, or 100 when the
    /// output is not a terminal).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(40..), global = true)]
    width: Option<u16>,

    /// Only the verdict, the top cause and its first fix on each side.
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    brief: bool,

    /// Also the lines of the failed phase and every fact the log gave.
    #[arg(long)]
    verbose: bool,

    /// Which connection of an input to explain: its number as the report lists it, `last`, or
    /// `all` (default: the one that decides, the last one you started).
    #[arg(long, value_name = "N|last|all", value_parser = parse_session)]
    session: Option<SessionChoice>,

    /// When to colour the human output (auto: on a terminal, unless NO_COLOR is set or TERM=dumb;
    /// CLICOLOR_FORCE=1 colours a pipe too).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    color: ColorChoice,

    /// Also load the rules in DIR (one folder per rule holding rule.yaml); may be repeated.
    #[arg(long = "rules", value_name = "DIR", global = true)]
    rule_dirs: Vec<PathBuf>,

    /// Replace host names, addresses, user names, home paths, fingerprints and key comments with
    /// stable placeholders (host-1, ip-1, user-1, …) in the report, to share it publicly.
    #[arg(long, global = true)]
    redact: bool,

    /// A server's log to pair with the client's connection: journalctl -u ssh output,
    /// /var/log/auth.log or /var/log/secure, or sshd -D -e / -E output; may be repeated; `-` is
    /// standard input when the client log is a file. Without a client log, lists the failed
    /// connections it holds, most recent first.
    #[arg(long = "server-log", value_name = "FILE")]
    server_logs: Vec<PathBuf>,

    /// With a server log alone: only the connections of user U.
    #[arg(long, value_name = "U", requires = "server_logs")]
    user: Option<String>,

    /// With a server log alone: only the connections from address ADDR.
    #[arg(long = "from", value_name = "ADDR", requires = "server_logs")]
    from: Option<String>,

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

/// `--session`: which connection of an input the report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SessionChoice {
    Number(usize),
    Last,
    All,
}

fn parse_session(value: &str) -> Result<SessionChoice, String> {
    match value {
        "last" => Ok(SessionChoice::Last),
        "all" => Ok(SessionChoice::All),
        n => n
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .map(SessionChoice::Number)
            .ok_or_else(|| "a connection number (1, 2, …), `last` or `all`".to_string()),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

const WRAPPER_HELP: &str = "Wrapper options go before the client's name, everything after it is the client's:\n  vvvexplain [--save FILE] [--hang-after SECS] [--slow-setup SECS] ssh ARGS...\n\n  --save FILE          keep the client's debug log, each line with its arrival time, in FILE\n  --hang-after SECS    name the likely cause when setting up makes no progress for SECS seconds (5)\n  --slow-setup SECS    on success, print one timing line when setting up took longer (5)\n  --format, --color, --redact, --rules DIR: as for a log file\n\nThe report goes to standard error; the exit code is the client's.";

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with rule sets.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Run ssh with -vvv and explain the connection as it happens (wrapper options go before `ssh`).
    #[command(
        disable_help_flag = true,
        disable_version_flag = true,
        allow_hyphen_values = true,
        after_help = WRAPPER_HELP
    )]
    Ssh(ClientArgs),
    /// Run sftp with -vvv and explain the connection as it happens.
    #[command(
        disable_help_flag = true,
        disable_version_flag = true,
        allow_hyphen_values = true,
        after_help = WRAPPER_HELP
    )]
    Sftp(ClientArgs),
    /// Run scp with -vvv and explain the connection as it happens.
    #[command(
        disable_help_flag = true,
        disable_version_flag = true,
        allow_hyphen_values = true,
        after_help = WRAPPER_HELP
    )]
    Scp(ClientArgs),
    /// Print a completion script for a shell, e.g. `vvvexplain completions bash >
    /// ~/.local/share/bash-completion/completions/vvvexplain`.
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page (roff), e.g. `vvvexplain man > ~/.local/share/man/man1/vvvexplain.1`.
    Man,
}

/// Everything after `ssh`/`sftp`/`scp` goes to the client unchanged.
#[derive(Debug, clap::Args)]
struct ClientArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0.., value_name = "ARGS")]
    args: Vec<std::ffi::OsString>,
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Show every active rule: id, phase, confidence, title (`--format json` for a script).
    List,
    /// Show one rule: its explanation, checks, fixes, server log lines and fixtures.
    Show { id: String },
    /// Print the rules reference (Markdown) of the rules in DIR (default: ./rules), as
    /// docs/rules.md holds it.
    Docs { dir: Option<PathBuf> },
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
    let cli = match Cli::command()
        .long_version(long_version())
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
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
    let json = matches!(cli.options.format, Format::Json | Format::Jsonl);
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) if json => report_json_error(&e, None),
        Err(e) => report_error(&e),
    }
}

/// `--version`: the version, the commit it was built from and how many rules it carries.
fn long_version() -> String {
    format!(
        "{} (commit {}, {} built-in rules)",
        env!("CARGO_PKG_VERSION"),
        env!("VVV_BUILD_COMMIT"),
        rules::builtin_sources().len()
    )
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

/// The error on stderr as usual, and as a JSON object on stdout for the script reading it.
fn report_json_error(e: &Error, input: Option<&str>) -> i32 {
    let code = report_error(e);
    let mut out = io::stdout().lock();
    let written = report::write_json(&mut out, &e.report(input)).and_then(|_| out.flush());
    if let Err(e) = written {
        let _ = ignore_broken_pipe(Error::Write(e));
    }
    code
}

fn dispatch(cli: Cli) -> Result<i32, Error> {
    match cli.command {
        Some(Command::Rules(RulesCommand::List)) => {
            list_rules(&load_rules(&cli.options)?, cli.options.format)
        }
        Some(Command::Rules(RulesCommand::Show { id })) => {
            show_rule(&load_rules(&cli.options)?, &id, &cli.options)
        }
        Some(Command::Rules(RulesCommand::Docs { dir })) => rules_docs(&rules_dir(dir)?),
        Some(Command::Completions { shell }) => {
            let mut out = io::stdout().lock();
            clap_complete::generate(shell, &mut Cli::command(), "vvvexplain", &mut out);
            Ok(exit::SUCCESS)
        }
        Some(Command::Man) => {
            let page = clap_mangen::Man::new(Cli::command().long_version(long_version()));
            page.render(&mut io::stdout().lock())
                .map_err(Error::Write)
                .or_else(ignore_broken_pipe)?;
            Ok(exit::SUCCESS)
        }
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
        // The report goes to stderr in live mode: its width and colour follow stderr.
        view: view_for(options, ReportTo::Stderr),
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

/// Plain or coloured output, for a stream that is or is not a terminal. `--color` decides when
/// given; else NO_COLOR and TERM=dumb turn colour off, CLICOLOR_FORCE turns it on even in a
/// pipe, CLICOLOR=0 turns it off, and a terminal gets colour.
fn styles(choice: ColorChoice, terminal: bool) -> Styles {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let colored = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if set("NO_COLOR").is_some() => false,
        ColorChoice::Auto if set("CLICOLOR_FORCE").is_some_and(|v| v != "0") => true,
        ColorChoice::Auto => {
            terminal
                && set("TERM").is_none_or(|t| t != "dumb")
                && set("CLICOLOR").is_none_or(|v| v != "0")
        }
    };
    if colored {
        Styles::colored()
    } else {
        Styles::plain()
    }
}

/// Where a report goes: explained logs on stdout, live mode's report on stderr.
#[derive(Clone, Copy)]
enum ReportTo {
    Stdout,
    Stderr,
}

/// How the report on stdout is laid out: `--width`, else the terminal's width, else 100.
fn view(options: &Options) -> View {
    view_for(options, ReportTo::Stdout)
}

/// How a report is laid out on `to`: `--width`, else that terminal's width, else 100; colour as
/// that stream allows.
fn view_for(options: &Options, to: ReportTo) -> View {
    let (terminal, size) = match to {
        ReportTo::Stdout => (
            io::stdout().is_terminal(),
            terminal_size::terminal_size_of(io::stdout()),
        ),
        ReportTo::Stderr => (
            io::stderr().is_terminal(),
            terminal_size::terminal_size_of(io::stderr()),
        ),
    };
    let width = options.width.map(usize::from).or_else(|| {
        let (terminal_size::Width(w), _) = size?;
        Some(usize::from(w).max(View::MIN_WIDTH))
    });
    View {
        styles: styles(options.color, terminal),
        width: width.unwrap_or(View::DEFAULT_WIDTH),
        detail: if options.brief {
            Detail::Brief
        } else if options.verbose {
            Detail::Verbose
        } else {
            Detail::Normal
        },
        redacted: options.redact,
    }
}

fn explain(files: &[PathBuf], options: &Options) -> Result<i32, Error> {
    // Kept to the process's end, which frees it at once: freeing the rules one string at a time
    // costs as much as reading a short transcript's lines (~0.6 M instructions).
    let rules: &RuleSet = Box::leak(Box::new(load_rules(options)?));
    let stdin_only = [PathBuf::from("-")];
    let inputs = if files.is_empty() {
        &stdin_only[..]
    } else {
        files
    };
    // `vvvexplain rulse list` is a mistyped subcommand, not two missing files.
    if let Some(first) = files.first().filter(|path| !path.exists()) {
        if let Some(suggestion) = subcommand_like(first) {
            return Err(Error::NotASubcommand {
                given: first.display().to_string(),
                suggestion,
            });
        }
    }
    let server = read_server_logs(&options.server_logs, files)?;
    let mut preread = None;
    if let (Some(log), true) = (&server, files.is_empty()) {
        // No client log named: standard input is the client's log when it holds one (a pipe
        // from ssh), else the server log is all there is to explain.
        let stdin_is_server = options.server_logs.iter().any(|p| p.as_os_str() == "-");
        if stdin_is_server || io::stdin().is_terminal() {
            return server_alone(log, options);
        }
        let timeline = read_input(Path::new("-"))?;
        if !timeline.has_openssh_lines() {
            return server_alone(log, options);
        }
        preread = Some(timeline);
    }
    let mut printer = Printer {
        out: io::BufWriter::new(io::stdout().lock()),
        view: view(options),
        format: options.format,
        several: inputs.len() > 1,
        json: Vec::new(),
        printed: 0,
    };
    let mut code = exit::SUCCESS;
    for path in inputs {
        let name = if path.as_os_str() == "-" {
            "standard input".to_string()
        } else {
            path.display().to_string()
        };
        let timeline = match preread.take() {
            Some(timeline) => Ok(timeline),
            None => read_input(path),
        };
        let judged = timeline.and_then(|t| judge(&t, &name, rules, options, server.as_ref()));
        let printed = match judged {
            Ok(verdicts) => {
                code = code.max(verdicts.iter().map(Verdict::exit_code).max().unwrap_or(0));
                printer.verdicts(&verdicts, &name)
            }
            Err(e) => {
                code = code.max(e.exit_code());
                printer.error(&e, &name)
            }
        };
        if let Err(e) = printed.and_then(|_| printer.out.flush()) {
            return ignore_broken_pipe(Error::Write(e)).map(|_| code);
        }
    }
    if let Err(e) = printer.finish() {
        return ignore_broken_pipe(Error::Write(e)).map(|_| code);
    }
    Ok(code)
}

/// The verdicts of one input: one, or one per connection with `--session all` in a human or
/// Markdown report (JSON holds every connection under `sessions` anyway).
fn judge(
    timeline: &Timeline,
    name: &str,
    rules: &RuleSet,
    options: &Options,
    server: Option<&ServerLog>,
) -> Result<Vec<Verdict>, Error> {
    let mut verdict = Verdict::build_with_server(timeline, rules, server)
        .ok_or_else(|| Error::NoOpenSshOutput(name.to_string()))?;
    if options.redact {
        crate::redact::redact(&mut verdict);
    }
    let last = verdict.sessions.len().saturating_sub(1);
    let pick = |index: usize| verdict.focus(index).into_iter().collect();
    Ok(match options.session {
        None => vec![verdict],
        Some(SessionChoice::Last) => pick(last),
        Some(SessionChoice::All) if matches!(options.format, Format::Json | Format::Jsonl) => {
            vec![verdict]
        }
        Some(SessionChoice::All) => (0..=last).flat_map(pick).collect(),
        Some(SessionChoice::Number(n)) => {
            let found = verdict
                .sessions
                .iter()
                .position(|s| s.connection.number == n)
                .ok_or_else(|| no_such_session(&verdict, n))?;
            pick(found)
        }
    })
}

fn no_such_session(verdict: &Verdict, n: usize) -> Error {
    let numbers: Vec<String> = verdict
        .sessions
        .iter()
        .map(|s| format!("#{}", s.connection.number))
        .collect();
    Error::NoSuchSession(format!(
        "there is no connection #{n} in this input; it holds {}",
        numbers.join(", ")
    ))
}

/// A reader that closed the pipe (`vvvexplain log | head`) has what it wanted: not an error.
fn ignore_broken_pipe(e: Error) -> Result<(), Error> {
    match &e {
        Error::Write(io) if io.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        _ => Err(e),
    }
}

/// Every `--server-log`, read into one; `None` when none is given. `-` is standard input only
/// when the client's log comes from files.
fn read_server_logs(paths: &[PathBuf], files: &[PathBuf]) -> Result<Option<ServerLog>, Error> {
    let stdin_taken = files.iter().any(|p| p.as_os_str() == "-");
    let mut merged: Option<ServerLog> = None;
    for path in paths {
        let log = if path.as_os_str() == "-" {
            if stdin_taken {
                return Err(Error::Usage(
                    "--server-log - reads standard input, which the client log already does".into(),
                ));
            }
            ServerLog::read(io::stdin().lock()).map_err(Error::Stdin)?
        } else {
            let read_error = |source| Error::Read {
                path: path.to_path_buf(),
                source,
            };
            let file = std::fs::File::open(path).map_err(read_error)?;
            ServerLog::read(BufReader::with_capacity(64 * 1024, file)).map_err(read_error)?
        };
        match &mut merged {
            Some(all) => all.append(log),
            None => merged = Some(log),
        }
    }
    Ok(merged)
}

/// A server log without a client log: its failed connections, most recent first.
fn server_alone(log: &ServerLog, options: &Options) -> Result<i32, Error> {
    let filter = report::server::Filter {
        user: options.user.as_deref(),
        from: options.from.as_deref(),
    };
    let mut listing = report::server::Listing::of(log, &filter);
    if options.redact {
        listing.redact();
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    let view = view(options);
    let written = match options.format {
        Format::Json | Format::Jsonl => report::write_json(&mut out, &listing),
        Format::Human | Format::Markdown => report::server::write(&mut out, &listing, &view),
    };
    written
        .and_then(|_| out.flush())
        .map_err(Error::Write)
        .or_else(ignore_broken_pipe)?;
    Ok(if listing.connections.is_empty() {
        exit::SUCCESS
    } else {
        exit::FAILURE
    })
}

fn read_input(path: &Path) -> Result<Timeline, Error> {
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

fn list_rules(rules: &RuleSet, format: Format) -> Result<i32, Error> {
    let mut out = io::stdout().lock();
    if matches!(format, Format::Json | Format::Jsonl) {
        let listed: Vec<report::rules::ListedRule> = rules.rules().iter().map(Into::into).collect();
        let written = match format {
            Format::Json => report::write_json(&mut out, &listed),
            _ => listed
                .iter()
                .try_for_each(|rule| report::write_json_line(&mut out, rule)),
        };
        written.map_err(Error::Write).or_else(ignore_broken_pipe)?;
        return Ok(exit::SUCCESS);
    }
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

fn show_rule(rules: &RuleSet, id: &str, options: &Options) -> Result<i32, Error> {
    let rule = rules
        .rules()
        .iter()
        .find(|r| r.id == id)
        .ok_or_else(|| Error::NoSuchRule(id.to_string()))?;
    let mut out = io::stdout().lock();
    report::rules::write_text(&mut out, rule, view(options).width)
        .map_err(Error::Write)
        .or_else(ignore_broken_pipe)?;
    Ok(exit::SUCCESS)
}

/// The rules reference of DIR's rules, as `docs/rules.md` holds it.
fn rules_docs(dir: &Path) -> Result<i32, Error> {
    let set =
        RuleSet::compile(rules::load_dir(dir).map_err(Error::Rules)?).map_err(Error::Rules)?;
    let mut out = io::stdout().lock();
    report::rules::write_reference(&mut out, set.rules())
        .map_err(Error::Write)
        .or_else(ignore_broken_pipe)?;
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
