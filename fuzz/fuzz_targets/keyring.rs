#![no_main]
//! See `imprimatur::fuzzing::keyring_file`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| imprimatur::fuzzing::keyring_file(data));
