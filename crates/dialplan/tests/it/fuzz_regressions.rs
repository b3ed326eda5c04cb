//! Replays saved fuzz inputs (`tests/fuzz_regressions/<target>/*`) through the same functions
//! the fuzz targets call, so that every crash once found stays fixed on stable Rust.

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
fn dialplan_compile_inputs() {
    replay("dialplan_compile", tpr_dialplan::fuzzing::compile_target);
}

#[test]
fn dialplan_normalize_diff_inputs() {
    replay("dialplan_normalize_diff", tpr_dialplan::fuzzing::normalize_diff_target);
}
