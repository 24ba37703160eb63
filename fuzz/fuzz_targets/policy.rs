#![no_main]
//! See `imprimatur::fuzzing::policy`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| imprimatur::fuzzing::policy(data));
