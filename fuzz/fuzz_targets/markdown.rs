#![no_main]
//! See `imprimatur::fuzzing::markdown`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| imprimatur::fuzzing::markdown(data));
