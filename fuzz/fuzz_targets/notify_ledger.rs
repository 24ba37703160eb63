#![no_main]
//! See `imprimatur::fuzzing::notify_ledger`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| imprimatur::fuzzing::notify_ledger(data));
