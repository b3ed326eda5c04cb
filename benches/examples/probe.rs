//! Instruction-count probe: run under `valgrind --tool=callgrind` to see where normalization
//! spends its instructions. Not a benchmark: use `cargo bench` for time.
use std::hint::black_box;
use tpr_dialplan::*;
use tpr_types::Region;

fn main() {
    let plan = tpr_benches::au_queensland();
    let au = service_plan(Region::try_new("AU").expect("AU")).expect("AU plan");
    let c = CompiledPlan::compile(Some(&plan), au, &Limits::default()).expect("compiles");
    let mut cache = c.create_cache();
    let mut out = String::with_capacity(64);
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    for _ in 0..n {
        let _ = black_box(c.normalize_with(
            &mut cache,
            black_box("31234567"),
            Mode::Effective,
            &mut out,
        ));
    }
}
