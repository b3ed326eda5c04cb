//! A pattern set built each way reports what each of its patterns alone reports.
//! Input format: see `tpr_dialplan::fuzzing`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tpr_dialplan::fuzzing::pattern_set_diff_target(data));
