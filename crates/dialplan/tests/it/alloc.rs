//! The hot path allocates nothing: a counting allocator watches a warm loop.

use tpr_dialplan::{CompiledPlan, Limits, Mode, service_plan};
use tpr_types::Region;
use tpr_types::counting_alloc::{Counting, allocations};

use crate::corpus::corpus_plans;

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn normalize_with_does_not_allocate_when_warm() {
    // A real 8-rule plan (SBCConnect AU-Queensland) plus the AU service rules.
    let plans = corpus_plans();
    let au = plans.iter().find(|p| p.label.ends_with("/ AU-Queensland")).unwrap();
    let service = service_plan(Region::try_new("AU").unwrap()).unwrap();
    let plan = CompiledPlan::compile(Some(&au.plan), service, &Limits::default()).unwrap();
    let inputs = [
        "31234567",
        "1800123456",
        "0412345678",
        "0298765432",
        "000",
        "+61298765432",
        "0011441234567",
        "12",
        "(07) 3123 4567",
        "x",
    ];
    let mut cache = plan.create_cache();
    let mut out = String::with_capacity(64);
    let mut matched = 0;
    // Warm up: lazy DFA states and buffers.
    for _ in 0..3 {
        for input in inputs {
            let _ = plan.normalize_with(&mut cache, input, Mode::Effective, &mut out);
        }
    }
    let before = allocations();
    for _ in 0..1000 {
        for input in inputs {
            if let Ok(o) = plan.normalize_with(&mut cache, input, Mode::Effective, &mut out) {
                matched += usize::from(o.first.is_some());
            }
        }
    }
    let after = allocations();
    assert_eq!(after - before, 0, "allocations in 10,000 warm normalizations");
    assert!(matched >= 7000, "only {matched} matched: the loop did not exercise the rules");
}
