//! Instruction-count probe: run under `valgrind --tool=callgrind` to see where normalization
//! spends its instructions. Not a benchmark: use `cargo bench` for time.
//!
//! `probe N` normalizes `31234567` with AU-Queensland N times (default 100,000);
//! `probe N sites50 DIALED` normalizes DIALED with the 50-rule site plan (US service rules).
use std::hint::black_box;
use tpr_dialplan::*;
use tpr_types::Region;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let (plan, region, dialed) = match args.get(2).map(String::as_str) {
        Some("sites50") => (
            tpr_benches::site_plan(50),
            "US",
            args.get(3).cloned().unwrap_or_else(|| "7240123".to_owned()),
        ),
        _ => (tpr_benches::au_queensland(), "AU", "31234567".to_owned()),
    };
    let service = service_plan(Region::try_new(region).expect("region")).expect("service plan");
    let c = CompiledPlan::compile(Some(&plan), service, &Limits::default()).expect("compiles");
    let mut cache = c.create_cache();
    let mut out = String::with_capacity(64);
    for _ in 0..n {
        let _ = black_box(c.normalize_with(
            &mut cache,
            black_box(dialed.as_str()),
            Mode::Effective,
            &mut out,
        ));
    }
}
