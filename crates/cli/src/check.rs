//! `tpr check F`: validate a tenant (TOML or script) and lint it.

use std::io::Write;
use std::path::{Path, PathBuf};

use tpr_router::Engine;
use tpr_tenant::{LoadErrors, Tenant, import_file, lint_at};

use crate::import::ScriptArgs;
use crate::tenant_file::{MAX_ERRORS, diagnostics_max, is_script};
use crate::{Finish, UserError};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The tenant: TOML, or a Teams PowerShell script.
    file: PathBuf,
    /// For a script: how to read it, as `tpr import` does.
    #[command(flatten)]
    script_options: ScriptArgs,
    /// Print at most N errors, then only count the rest (0: print every one).
    #[arg(long, value_name = "N", default_value_t = MAX_ERRORS)]
    max_errors: usize,
}

pub fn run(args: Args) -> anyhow::Result<Finish> {
    let path = &args.file;
    let diagnostics =
        |path: &Path, e: &LoadErrors| diagnostics_max(path, e, args.max_errors, "--max-errors 0");
    let (tenant, warnings) = if is_script(path) {
        let opts = args.script_options.options()?;
        let imported = import_file(path, &opts).map_err(|e| diagnostics(path, &e))?;
        let (tenant, lints) = imported.load_and_lint().map_err(|e| diagnostics(path, &e))?;
        let mut w = imported.warnings.clone();
        w.extend(lints);
        (tenant, w)
    } else {
        if let Some(flag) = args.script_options.given() {
            return Err(UserError::Message(format!(
                "{flag} is for PowerShell scripts; {} is read as TOML",
                path.display()
            ))
            .into());
        }
        let text = tpr_types::read_utf8(path).map_err(UserError::from)?;
        let file = path.display().to_string();
        let (tenant, positions) = Tenant::from_toml_str_with_positions(&text, &file)
            .map_err(|e| diagnostics(path, &e))?;
        let w = lint_at(&tenant, &positions, &text, &file);
        (tenant, w)
    };
    // What `tpr route` and `tpr sim` do next: a tenant that passes here loads there.
    let engine = Engine::compile(&tenant)
        .map_err(|e| UserError::Message(format!("{}: {e}", path.display())))?;
    let mut out = std::io::stdout().lock();
    for w in &warnings {
        writeln!(out, "{w}")?;
    }
    out.flush()?;
    // The verdict on stderr, so that stdout stays one diagnostic per line for scripts.
    eprintln!("{}: {}", path.display(), summary(&tenant, &engine, warnings.len()));
    Ok(Finish::Ok)
}

/// `ok: 7 users, 6 gateways, ...; compiled to 27 KiB; 1 warning`.
fn summary(tenant: &Tenant, engine: &Engine, warnings: usize) -> String {
    let r = &tenant.routing;
    let counts = [
        (engine.user_count(), "user", "users"),
        (tenant.resource_accounts.len(), "resource account", "resource accounts"),
        (tenant.dial_plans.len(), "dial plan", "dial plans"),
        (r.gateways.len(), "gateway", "gateways"),
        (r.voice_routes.len(), "voice route", "voice routes"),
        (r.pstn_usages.len(), "PSTN usage", "PSTN usages"),
        (r.voice_routing_policies.len(), "voice routing policy", "voice routing policies"),
    ];
    let plural =
        |(n, one, many): (usize, &str, &str)| format!("{n} {}", if n == 1 { one } else { many });
    let listed: Vec<String> = counts.into_iter().map(plural).collect();
    format!(
        "ok: {}; compiled to {}; {}",
        listed.join(", "),
        crate::bench::size(engine.memory_usage()),
        plural((warnings, "warning", "warnings"))
    )
}
