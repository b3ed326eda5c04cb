//! Reading the `--tenant FILE` every command takes: tenant TOML, or a Teams PowerShell script
//! imported on the fly.

use std::path::Path;

use tpr_tenant::{ImportOptions, LoadErrors, Tenant, import_file};

use crate::UserError;

/// Is `path` a PowerShell script?
pub fn is_script(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("ps1"))
}

/// Every problem, one per line, with a count when there are several.
pub fn diagnostics(path: &Path, errors: &LoadErrors) -> UserError {
    let n = errors.0.len();
    let summary =
        if n == 1 { String::new() } else { format!("\n{n} errors in {}", path.display()) };
    UserError::Diagnostics(format!("{errors}{summary}"))
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
