//! Any text loads as a tenant or gives located errors, without panicking.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tpr_tenant::fuzzing::toml_target(data));
