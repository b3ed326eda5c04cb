//! Entry points for the fuzz targets (`fuzz/`), also called by `cargo test` on saved inputs so
//! that a crash once found stays fixed on stable Rust.

use crate::{ImportOptions, Positions, Tenant, import_str};

/// Any text either loads or gives located errors; neither panics. What loads has the same
/// lint positions from the loader's parse as from a parse of its own.
pub fn toml_target(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match Tenant::from_toml_str_with_positions(text, "fuzz.toml") {
        Ok((_, positions)) => assert_eq!(positions, Positions::parse(text)),
        Err(errors) => {
            assert!(!errors.0.is_empty(), "an error result carries at least one error");
        }
    }
}

/// Any script either imports or is refused with a location; what imports is valid TOML
/// that then loads or gives located errors. The first byte picks `--skip-unsupported`.
pub fn powershell_target(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return };
    // As `tpr import` reads a file: by its byte-order mark, else UTF-8, else Windows-1252.
    let Ok(script) = crate::decode_script(rest) else { return };
    if let Ok(utf8) = std::str::from_utf8(rest) {
        assert_eq!(
            script.text,
            utf8.strip_prefix('\u{feff}').unwrap_or(utf8),
            "UTF-8 passes through"
        );
    }
    let text = script.text.as_str();
    let opts = ImportOptions {
        skip_unsupported: flags & 1 == 1,
        country: Some("US".into()),
        ..ImportOptions::default()
    };
    match import_str(text, "fuzz.ps1", ".", &opts) {
        Ok(imported) => {
            if let Err(e) = toml::from_str::<toml::Table>(&imported.toml) {
                panic!("the importer wrote TOML that does not parse: {e}\n{}", imported.toml);
            }
            let _ = imported.load();
        }
        Err(errors) => {
            assert!(
                errors.0.iter().all(|e| e.location.is_some()),
                "refusals are located: {errors}"
            );
        }
    }
}
