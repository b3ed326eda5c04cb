//! The hot path allocates nothing: a counting allocator watches a warm loop.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use tpr_dialplan::{CompiledPlan, Limits, Mode, service_plan};
use tpr_types::Region;

use crate::corpus::corpus_plans;

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: defers to the system allocator; the counter is a plain thread-local cell.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

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
