//! Any script imports (as TOML that parses) or is refused with a location, without panicking
//! or hanging. Input: one flag byte (bit 0: --skip-unsupported), then the script.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tpr_tenant::fuzzing::powershell_target(data));
