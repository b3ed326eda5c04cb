//! Fuzzed outbound and inbound calls against a fixed tenant: no panic, same seed same decision,
//! each gateway once, every permit given back exactly once.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tpr_router::fuzzing::decide_target(data));
