//! Arbitrary rules either compile or give an error; compiled plans normalize any input.
//! Input format: see `tpr_dialplan::fuzzing`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tpr_dialplan::fuzzing::compile_target(data));
