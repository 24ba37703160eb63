#![no_main]
//! See `imprimatur::fuzzing::key_file`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| imprimatur::fuzzing::key_file(data));
