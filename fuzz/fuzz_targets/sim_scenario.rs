//! Any text parses as a scenario or gives located errors; small scenarios run without leaks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tpr_sim::fuzzing::scenario_target(data));
