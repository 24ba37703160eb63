#![no_main]
//! See `imprimatur::fuzzing::record_signed_bytes`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| imprimatur::fuzzing::record_signed_bytes(data));
