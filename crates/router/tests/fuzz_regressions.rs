//! Replays saved fuzz inputs (`tests/fuzz_regressions/router_decide/*`: seeds and any crash
//! the fuzzer found) through the function the `router_decide` target calls.

#[test]
fn router_decide_inputs_replay() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz_regressions/router_decide");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        tpr_router::fuzzing::decide_target(&data);
        n += 1;
    }
    assert!(n >= 5, "seeds missing: {n}");
}
