#![no_main]
//! See `imprimatur::fuzzing::store_manifest`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| imprimatur::fuzzing::store_manifest(data));
