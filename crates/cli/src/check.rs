//! `tpr check F`: validate a tenant (TOML or script) and lint it.

use std::io::Write;
use std::path::PathBuf;

use tpr_tenant::{Tenant, import_file, lint};

use crate::import::ScriptArgs;
use crate::tenant_file::{diagnostics, is_script};
use crate::{Finish, UserError};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The tenant: TOML, or a Teams PowerShell script.
    file: PathBuf,
    /// For a script: how to read it, as `tpr import` does.
    #[command(flatten)]
    script_options: ScriptArgs,
}

pub fn run(args: Args) -> anyhow::Result<Finish> {
    let path = &args.file;
    let warnings = if is_script(path) {
        let opts = args.script_options.options()?;
        let imported = import_file(path, &opts).map_err(|e| diagnostics(path, &e))?;
        let tenant = imported.load().map_err(|e| diagnostics(path, &e))?;
        let mut w = imported.warnings.clone();
        w.extend(imported.lint(&tenant));
        w
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
        let tenant = Tenant::from_toml_str(&text, &file).map_err(|e| diagnostics(path, &e))?;
        lint(&tenant, &text, &file)
    };
    let mut out = std::io::stdout().lock();
    for w in &warnings {
        writeln!(out, "{w}")?;
    }
    Ok(Finish::Ok)
}
