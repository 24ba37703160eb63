#![no_main]
//! See `imprimatur::fuzzing::front_matter_readers_agree`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| imprimatur::fuzzing::front_matter_readers_agree(data));
