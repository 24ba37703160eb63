#![no_main]
//! See `imprimatur::fuzzing::counted_records`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| imprimatur::fuzzing::counted_records(data));
