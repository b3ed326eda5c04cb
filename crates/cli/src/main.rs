//! `tpr`: the command-line front end of tpr, thin over the library crates.
//!
//! Exit codes (design.md): 0 success, 1 user error (bad config, bad input) with a message on
//! stderr saying what and where, 2 internal error. No panic reaches the user as a backtrace.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

// mimalloc: compiling tenants is allocation-heavy (regex parsing and determinization), and
// its thread-local free lists keep the simulator's and bench's few allocations cheap.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bench;
mod check;
mod clock;
mod import;
mod lines;
mod normalize;
mod plot;
mod replay;
mod route;
mod sim;
mod sipp;
mod tenant_file;

/// The most worker threads `--threads` takes. Past a few thousand, starting a thread fails
/// inside the standard library in ways it cannot report (its signal stack's mapping), and no
/// machine gains from more.
const MAX_THREADS: usize = 1024;

/// Teams Phone routing engine and simulator.
#[derive(Debug, Parser)]
#[command(name = "tpr", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Normalize dialed numbers with a user's effective dial plan (like
    /// Test-CsEffectiveTenantDialPlan).
    Normalize(normalize::Args),
    /// Decide calls: Direct Routing with the gateways in try order, Calling Plan, Operator
    /// Connect, internal, emergency, or rejected with the reason (`--inbound` for calls in).
    Route(route::Args),
    /// Measure raw decision throughput and latency on generated traffic (optionally against
    /// a naive one-regex-per-rule baseline, and over many tenant copies).
    Bench(bench::Args),
    /// Run a simulation scenario (the bundled default when none is given): call storms,
    /// gateway behaviour and faults through the real routing pipeline, in virtual time.
    Sim(sim::Args),
    /// Replay a call trace (tpr CSV, Asterisk Master.csv, Teams PSTN usage report) through
    /// the routing pipeline, the far ends doing what the trace recorded.
    Replay(replay::Args),
    /// Validate a tenant (TOML or PowerShell) and lint it: shadowed rules, unreachable
    /// routes, unused gateways and usages, the Global-policy pitfall, emergency numbers
    /// without a route.
    Check(check::Args),
    /// Read a Teams PowerShell script and write the tenant it builds as TOML.
    Import(import::Args),
}

/// An error the user can fix: bad config, bad input, bad arguments. Exit code 1.
#[derive(Debug)]
pub enum UserError {
    /// A one-line message, printed after `tpr: `.
    Message(String),
    /// `file:line:col: error: ...` lines, printed as they are.
    Diagnostics(String),
}

impl From<tpr_types::Diagnostic> for UserError {
    /// A located problem prints as a diagnostic line; one without a place as a message.
    fn from(d: tpr_types::Diagnostic) -> UserError {
        match d.location {
            Some(_) => UserError::Diagnostics(d.to_string()),
            None => UserError::Message(d.message),
        }
    }
}

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserError::Message(m) | UserError::Diagnostics(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for UserError {}

/// What a command reports when it finished without an error of its own.
#[derive(Debug)]
pub enum Finish {
    /// Everything went through.
    Ok,
    /// Some inputs were refused (reported on their own lines); exit 1.
    SomeInputsInvalid,
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let _ =
            writeln!(io::stderr(), "tpr: internal error (a bug in tpr, please report it): {info}");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(1) } else { ExitCode::SUCCESS };
        }
    };
    let result = std::panic::catch_unwind(|| match cli.command {
        Command::Normalize(args) => normalize::run(args),
        Command::Import(args) => import::run(args),
        Command::Route(args) => route::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Check(args) => check::run(args),
        Command::Sim(args) => sim::run(args),
        Command::Replay(args) => replay::run(args),
    });
    match result {
        Ok(Ok(Finish::Ok)) => ExitCode::SUCCESS,
        Ok(Ok(Finish::SomeInputsInvalid)) => ExitCode::from(1),
        Ok(Err(e)) => {
            if let Some(io) = e.downcast_ref::<io::Error>()
                && io.kind() == io::ErrorKind::BrokenPipe
            {
                // The reader went away (`tpr ... | head`): not an error.
                return ExitCode::SUCCESS;
            }
            match e.downcast_ref::<UserError>() {
                // Diagnostics already say where: print them as they are, like a compiler.
                Some(UserError::Diagnostics(text)) => {
                    let _ = writeln!(io::stderr(), "{text}");
                    ExitCode::from(1)
                }
                Some(_) => {
                    let _ = writeln!(io::stderr(), "tpr: {e:#}");
                    ExitCode::from(1)
                }
                None => {
                    let _ = writeln!(io::stderr(), "tpr: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Err(_) => ExitCode::from(2),
    }
}
