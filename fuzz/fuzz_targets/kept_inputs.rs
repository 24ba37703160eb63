#![no_main]
//! See `imprimatur::fuzzing::kept_inputs`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| imprimatur::fuzzing::kept_inputs(data));
