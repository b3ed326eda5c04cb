//! Compiles the bench plans: prints their compiled sizes, then compiles the 50-rule site plan
//! N more times (default 10) so callgrind can count the instructions per compile.
use tpr_dialplan::{CompiledPlan, Limits, service_plan};
use tpr_types::Region;

fn main() {
    let us = service_plan(Region::try_new("US").expect("US")).expect("US plan");
    let au = service_plan(Region::try_new("AU").expect("AU")).expect("AU plan");
    let limits = Limits::default();
    for (label, plan, service) in [
        ("AU-Queensland (8 rules)", tpr_benches::au_queensland(), au),
        ("sites-5", tpr_benches::site_plan(5), us),
        ("sites-50", tpr_benches::site_plan(50), us),
    ] {
        let c = CompiledPlan::compile(Some(&plan), service, &limits).expect("compiles");
        println!(
            "{label}: {} rules with the service rules, {} bytes compiled, first-match automaton: {}",
            c.len(),
            c.memory_usage(),
            c.has_first_match_automaton()
        );
    }
    let plan = tpr_benches::site_plan(50);
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    for _ in 0..n {
        std::hint::black_box(CompiledPlan::compile(Some(&plan), us, &limits).ok());
    }
}
