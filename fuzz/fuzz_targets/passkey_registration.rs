#![no_main]
//! See `imprimatur::fuzzing::passkey_registration`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| imprimatur::fuzzing::passkey_registration(data));
