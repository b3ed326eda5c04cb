//! The compiled plan and the naive reference agree on every input.
//! Input format: see `tpr_dialplan::fuzzing`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tpr_dialplan::fuzzing::normalize_diff_target(data));
