//! The `imprimatur` binary: parses the command line (SPEC §8), checks it once and runs it.
//! Everything it does, the flags included, is in the library (`imprimatur::cli`).

use std::process::ExitCode;

use clap::Parser;
use imprimatur::cli::{self, Invocation, LowArgs};

/// mimalloc instead of glibc's malloc: a build allocates and frees millions of small strings
/// from two threads; glibc spent ~14 % of a no-op rebuild's samples in malloc and free.
/// Without transparent huge pages (`no_thp`): with them the kernel zeroed 2 MB for each first
/// touch, a third of a no-op rebuild's samples.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let low = LowArgs::parse();
    match Invocation::new(low).and_then(cli::run) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("imprimatur: {e}");
            e.code()
        }
    }
}
