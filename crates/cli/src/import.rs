//! `tpr import F.ps1 [-o out.toml]`: a Teams PowerShell script as tenant TOML.

use std::io::Write;
use std::path::PathBuf;

use tpr_tenant::{ImportOptions, import_file};

use crate::tenant_file::diagnostics;
use crate::{Finish, UserError};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The script.
    script: PathBuf,
    /// Write the TOML here instead of to standard output (`-` is standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    script_options: ScriptArgs,
    /// Write the TOML even when it does not load (the errors are still reported, exit 1).
    #[arg(long)]
    allow_invalid: bool,
}

/// How a script is read: `tpr import`'s options, which `tpr check` takes too.
#[derive(Debug, Default, clap::Args)]
pub struct ScriptArgs {
    /// Skip statements tpr does not run (loops, functions, prompts) with a warning, instead of
    /// stopping at the first.
    #[arg(long)]
    skip_unsupported: bool,
    /// Fix a variable before the script runs, for values it asks for at a prompt:
    /// `--var PSTNGWList=sbc1.example.com,sbc2.example.com`. Repeatable.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// A local copy of something the script downloads: `--resource URL=FILE`. Repeatable.
    #[arg(long = "resource", value_name = "URL=FILE")]
    resources: Vec<String>,
    /// The tenant's country (default: the first usage location the script sets, else US).
    #[arg(long, value_name = "CC")]
    country: Option<String>,
    /// The tenant the script changes (a TOML file with, say, the gateways it expects).
    #[arg(long, value_name = "TENANT.toml")]
    base: Option<PathBuf>,
}

impl ScriptArgs {
    /// The first option given, if any (they mean nothing for a TOML tenant).
    pub fn given(&self) -> Option<&'static str> {
        [
            (self.skip_unsupported, "--skip-unsupported"),
            (!self.vars.is_empty(), "--var"),
            (!self.resources.is_empty(), "--resource"),
            (self.country.is_some(), "--country"),
            (self.base.is_some(), "--base"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }

    /// The importer's options.
    pub fn options(&self) -> Result<ImportOptions, UserError> {
        let mut opts = ImportOptions {
            skip_unsupported: self.skip_unsupported,
            country: self.country.clone(),
            base: self.base.clone(),
            ..ImportOptions::default()
        };
        for v in &self.vars {
            opts.vars.push(pair(v, "--var")?);
        }
        for r in &self.resources {
            let (url, file) = pair(r, "--resource")?;
            opts.resources.push((url, PathBuf::from(file)));
        }
        Ok(opts)
    }
}

fn pair(s: &str, what: &str) -> Result<(String, String), UserError> {
    // A URL holds `=` in its query; the file comes after the last one.
    let split = if what == "--resource" { s.rsplit_once('=') } else { s.split_once('=') };
    match split {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(UserError::Message(format!("{what} {s:?}: expected NAME=VALUE"))),
    }
}

pub fn run(args: Args) -> anyhow::Result<Finish> {
    let opts = args.script_options.options()?;
    let imported = import_file(&args.script, &opts).map_err(|e| diagnostics(&args.script, &e))?;
    for w in &imported.warnings {
        eprintln!("{w}");
    }
    let checked = imported.load();
    if let Err(e) = &checked
        && !args.allow_invalid
    {
        return Err(diagnostics(&args.script, e).into());
    }
    match args.output.as_deref().filter(|p| *p != std::path::Path::new("-")) {
        Some(path) => std::fs::write(path, &imported.toml)
            .map_err(|e| UserError::Message(format!("cannot write {}: {e}", path.display())))?,
        None => std::io::stdout().write_all(imported.toml.as_bytes())?,
    }
    match checked {
        Ok(_) => Ok(Finish::Ok),
        Err(e) => Err(diagnostics(&args.script, &e).into()),
    }
}
