//! Instruction-count probe for compiling a 50-rule plan: run under callgrind.
fn main() {
    let plan = tpr_benches::site_plan(50);
    let us =
        tpr_dialplan::service_plan(tpr_types::Region::try_new("US").expect("US")).expect("US plan");
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    for _ in 0..n {
        std::hint::black_box(
            tpr_dialplan::CompiledPlan::compile(Some(&plan), us, &tpr_dialplan::Limits::default())
                .ok(),
        );
    }
}
