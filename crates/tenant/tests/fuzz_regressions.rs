//! Replays saved fuzz inputs (`tests/fuzz_regressions/<target>/*`) through the functions the
//! fuzz targets call.

use std::path::PathBuf;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions").join(target);
    tpr_dialplan::fuzzing::replay(&dir, run);
}

#[test]
fn tenant_toml_inputs() {
    replay("tenant_toml", tpr_tenant::fuzzing::toml_target);
}

#[test]
fn powershell_import_inputs() {
    replay("powershell_import", tpr_tenant::fuzzing::powershell_target);
}
