#![no_main]
//! See `imprimatur::fuzzing::record`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| imprimatur::fuzzing::record(data));
