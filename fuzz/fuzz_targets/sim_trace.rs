//! Any bytes read as a trace or give one error; what reads replays without leaks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tpr_sim::fuzzing::trace_target(data));
