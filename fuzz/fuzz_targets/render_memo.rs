#![no_main]
//! See `imprimatur::fuzzing::render_memo`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| imprimatur::fuzzing::render_memo(data));
