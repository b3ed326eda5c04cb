//! Reading the `--tenant FILE` every command takes.

use std::path::Path;

use tpr_tenant::Tenant;

use crate::UserError;

/// Loads a tenant from TOML. Every problem in the file is reported, one per line.
pub fn load(path: &Path) -> anyhow::Result<Tenant> {
    match path.extension().and_then(|e| e.to_str()) {
        Some(ext) if ext.eq_ignore_ascii_case("ps1") => Err(UserError::Message(format!(
            "{}: reading Teams PowerShell scripts is not implemented yet (it comes with `tpr import`); \
             write the tenant as TOML (see docs/formats.md)",
            path.display()
        ))
        .into()),
        _ => Tenant::load(path).map_err(|errors| {
            let n = errors.0.len();
            let summary = if n == 1 { String::new() } else { format!("\n{n} errors in {}", path.display()) };
            UserError::Diagnostics(format!("{errors}{summary}")).into()
        }),
    }
}
