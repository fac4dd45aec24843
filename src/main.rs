//! The `openum` binary: parses the command line and dispatches to `cli/`.

mod cli;

use std::process::ExitCode;

/// jemalloc, not glibc's malloc: see `openum::alloc` for why and what was measured.
#[cfg(all(target_os = "linux", not(target_env = "msvc")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc reads its options from this symbol before the first allocation
/// (`_rjem_` is the crate's symbol prefix); `openum::alloc` says what each does.
#[cfg(all(target_os = "linux", not(target_env = "msvc")))]
#[unsafe(export_name = "_rjem_malloc_conf")]
#[used]
static MALLOC_CONF: &[u8; openum::alloc::MALLOC_CONF.len()] = openum::alloc::MALLOC_CONF;

fn main() -> ExitCode {
    let r = cli::run();
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("openum: {e}");
            ExitCode::FAILURE
        }
    }
}
