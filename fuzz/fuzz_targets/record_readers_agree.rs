#![no_main]
//! See `imprimatur::fuzzing::record_readers_agree`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| imprimatur::fuzzing::record_readers_agree(data));
