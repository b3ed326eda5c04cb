//! `tpr replay`: replay a call trace (tpr CSV, Asterisk Master.csv, Teams PSTN usage report)
//! through the routing pipeline and report as `tpr sim` does.

use std::path::PathBuf;
use std::sync::Arc;

use tpr_router::Engine;
use tpr_sim::Scenario;
use tpr_sim::trace::{self, TraceFormat};

use crate::sim::{Outputs, simulate};
use crate::{Finish, UserError, tenant_file};

/// Arguments of `tpr replay`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The trace file (`-` reads standard input: `zcat day.csv.gz | tpr replay - ...`).
    #[arg(value_name = "TRACE")]
    trace: PathBuf,
    /// The tenant the calls replay against (TOML or PowerShell).
    #[arg(long, value_name = "FILE")]
    tenant: PathBuf,
    /// The trace's format (auto: detected from its first line).
    #[arg(long, default_value = "auto", value_parser = ["auto", "tpr", "asterisk", "teams-pstn"])]
    format: String,
    /// Offer the calls this many times faster (talk times stay as recorded).
    #[arg(long, value_name = "X", default_value_t = 1.0)]
    speed: f64,
    /// How inbound calls whose trace does not say arrive: a gateway FQDN, `calling-plan` or
    /// `operator:<trunk>` (default: by the called number's type).
    #[arg(long, value_name = "INGRESS")]
    via: Option<String>,
    /// Stop at the first bad row instead of skipping it.
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    out: Outputs,
}

pub fn run(args: Args) -> anyhow::Result<Finish> {
    let stdin = args.trace.as_os_str() == "-";
    let name = if stdin { "<stdin>".to_owned() } else { args.trace.display().to_string() };
    let bytes = if stdin {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut bytes).map(|_| bytes)
    } else {
        std::fs::read(&args.trace)
    }
    .map_err(|e| UserError::Message(format!("{name}: {e}")))?;
    let (text, not_utf8) = trace::decode(bytes);
    if let Some(&first) = not_utf8.first() {
        if args.strict {
            return Err(
                UserError::Diagnostics(format!("{name}:{first}: error: not valid UTF-8")).into()
            );
        }
        let more = match not_utf8.len() {
            1 => String::new(),
            n => format!(" (and {} more lines)", n - 1),
        };
        eprintln!(
            "{name}:{first}: warning: not valid UTF-8{more}; read with U+FFFD in place of the bad bytes"
        );
    }
    let detected = trace::detect(&text);
    let format = match args.format.as_str() {
        "tpr" => TraceFormat::Tpr,
        "asterisk" => TraceFormat::Asterisk,
        "teams-pstn" => match detected {
            Some(f @ (TraceFormat::TeamsDirectRouting | TraceFormat::TeamsCallingPlan)) => f,
            _ => {
                return Err(UserError::Message(format!(
                    "{name}: no Direct Routing or Calling Plans header on the first line"
                ))
                .into());
            }
        },
        _ => detected.ok_or_else(|| {
            UserError::Message(format!(
                "{name}: cannot tell the trace format from the first line; give --format"
            ))
        })?,
    };
    let tenant = tenant_file::load(&args.tenant)?;
    let engine = Engine::compile(&tenant)
        .map_err(|e| UserError::Message(format!("tenant {}: {e}", tenant.name)))?;
    let mut read =
        trace::read(&text, format, &engine, args.speed, args.strict).map_err(|e| match e.line {
            0 => UserError::Message(format!("{name}: {}", e.message)),
            line => UserError::Diagnostics(format!("{name}:{line}: error: {}", e.message)),
        })?;
    if let Some(v) = &args.via {
        let via = trace::ingress(&engine, v).ok_or_else(|| {
            UserError::Message(format!("--via {v:?}: no such gateway or operator trunk"))
        })?;
        for c in read.calls.iter_mut().filter(|c| c.via.is_none()) {
            c.via = Some(via);
        }
    }
    for e in read.skipped.iter().take(20) {
        eprintln!("{name}:{}: skipped: {}", e.line, e.message);
    }
    if read.skipped.len() > 20 {
        eprintln!("{name}: ... and {} more rows skipped", read.skipped.len() - 20);
    }
    if !read.skipped.is_empty() {
        eprintln!(
            "{name}: {} calls read ({}), {} rows skipped",
            read.calls.len(),
            format.as_str(),
            read.skipped.len()
        );
    }
    if read.calls.is_empty() {
        return Err(UserError::Message(format!("{name}: no calls to replay")).into());
    }
    let scenario = Scenario::for_replay(Arc::new(engine), &name, &read.calls);
    simulate(scenario, &args.out, &read.calls)
}
