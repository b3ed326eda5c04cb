//! Reading the `--tenant FILE` every command takes: tenant TOML, or a Teams PowerShell script
//! imported on the fly.

use std::path::Path;

use tpr_tenant::{ImportOptions, LoadErrors, Tenant, import_file};

use crate::UserError;

/// Is `path` a PowerShell script?
pub fn is_script(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("ps1"))
}

/// How many of a load's errors are printed before the rest are only counted: a tenant with a
/// mistake repeated for 100,000 users says so in a screenful, not in 100,000 lines.
/// `tpr check --max-errors N` changes it (0: every one).
pub const MAX_ERRORS: usize = 50;

/// The first [`MAX_ERRORS`] problems, one per line, with a count when there are several; the
/// count of those left out names the command that lists them all.
pub fn diagnostics(path: &Path, errors: &LoadErrors) -> UserError {
    let all = format!("tpr check --max-errors 0 {}", path.display());
    diagnostics_max(path, errors, MAX_ERRORS, &all)
}

/// The first `max` problems (all of them when `max` is 0), one per line, with a count when
/// there are several; `all` says how to see the ones left out.
pub fn diagnostics_max(path: &Path, errors: &LoadErrors, max: usize, all: &str) -> UserError {
    let n = errors.0.len();
    let shown = if max == 0 { n } else { n.min(max) };
    let mut text = String::new();
    for (i, e) in errors.0[..shown].iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&e.to_string());
    }
    if shown < n {
        let more = n - shown;
        let noun = if more == 1 { "error" } else { "errors" };
        text.push_str(&format!("\n... and {more} more {noun} ({all} lists them all)"));
    }
    if n > 1 {
        text.push_str(&format!("\n{n} errors in {}", path.display()));
    }
    UserError::Diagnostics(text)
}

/// Loads a tenant from TOML or from a script (imported with default options: anything the
/// importer does not run is an error; `tpr import` has the options to get past it).
pub fn load(path: &Path) -> anyhow::Result<Tenant> {
    if is_script(path) {
        let imported = import_file(path, &ImportOptions::default())
            .map_err(|e| with_options_note(diagnostics(path, &e)))?;
        for w in &imported.warnings {
            eprintln!("{w}");
        }
        return imported.load().map_err(|e| diagnostics(path, &e).into());
    }
    Tenant::load(path).map_err(|errors| diagnostics(path, &errors).into())
}

/// Adds where the importer's options are to a script's import error: the messages name
/// `tpr import`'s flags, which `--tenant` does not take.
fn with_options_note(e: UserError) -> UserError {
    match e {
        UserError::Diagnostics(text) => UserError::Diagnostics(format!(
            "{text}\nnote: --tenant reads a script with none of `tpr import`'s options; for \
             --skip-unsupported, --var or --resource, write the tenant with `tpr import` (or try \
             them with `tpr check`) and pass the TOML"
        )),
        other => other,
    }
}
