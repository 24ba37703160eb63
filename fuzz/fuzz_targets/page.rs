#![no_main]
//! See `imprimatur::fuzzing::page`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| imprimatur::fuzzing::page(data));
