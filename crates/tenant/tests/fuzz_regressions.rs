//! Replays saved fuzz inputs (`tests/fuzz_regressions/<target>/*`) through the functions the
//! fuzz targets call.

use std::path::PathBuf;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions").join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            panic!("{} fails again", path.display());
        }
        n += 1;
    }
    assert!(n > 0, "no inputs in {}", dir.display());
}

#[test]
fn tenant_toml_inputs() {
    replay("tenant_toml", tpr_tenant::fuzzing::toml_target);
}

#[test]
fn powershell_import_inputs() {
    replay("powershell_import", tpr_tenant::fuzzing::powershell_target);
}
