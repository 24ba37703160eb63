#![no_main]
//! See `imprimatur::fuzzing::verified_cache`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| imprimatur::fuzzing::verified_cache(data));
