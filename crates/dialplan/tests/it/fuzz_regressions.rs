//! Replays saved fuzz inputs (`tests/fuzz_regressions/<target>/*`) through the same functions
//! the fuzz targets call, so that every crash once found stays fixed on stable Rust.

use std::path::PathBuf;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions").join(target);
    tpr_dialplan::fuzzing::replay(&dir, run);
}

#[test]
fn dialplan_compile_inputs() {
    replay("dialplan_compile", tpr_dialplan::fuzzing::compile_target);
}

#[test]
fn dialplan_normalize_diff_inputs() {
    replay("dialplan_normalize_diff", tpr_dialplan::fuzzing::normalize_diff_target);
}

#[test]
fn pattern_set_diff_inputs() {
    replay("pattern_set_diff", tpr_dialplan::fuzzing::pattern_set_diff_target);
}
