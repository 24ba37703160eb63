#![no_main]
//! See `imprimatur::fuzzing::proof`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| imprimatur::fuzzing::proof(data));
