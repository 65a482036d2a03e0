//! glibc's allocator, tuned for an app that sits mostly idle between bursts of work.
//!
//! By default glibc keeps what a burst freed: each thread that allocates gets an arena of its
//! own (up to 8 a core), and after the first large block is freed it raises the size from
//! which blocks are mapped on their own, so later large blocks (a photo check's image buffers
//! and face-model tables, on a worker thread) come from an arena and stay resident after they
//! are freed. Measured after the apply flow, that is about 7 MiB of the app's own process
//! (docs/performance.md). These tunables keep two arenas, map blocks from 128 KiB on their own
//! and give a freed top of the heap back from 128 KiB.
//!
//! glibc reads tunables once, when the process starts, so the app sets them by executing
//! itself again with them in the environment (same process id, same arguments) before
//! anything else runs. A `GLIBC_TUNABLES` already in the environment is kept as it is, which
//! also ends the re-execution. Android and iOS have allocators of their own; other desktops
//! are not glibc.

use std::os::unix::process::CommandExt;

/// The tunables set (glibc 2.26 and later read them; older ones ignore the variable).
pub const GLIBC_TUNABLES: &str =
    "glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072";

/// Executes the app again with [`GLIBC_TUNABLES`] unless the environment has tunables already.
/// Returns only when it does not re-execute, or when that failed (the app then runs with
/// glibc's defaults, which only cost memory).
pub fn tune_glibc_malloc() {
    if std::env::var_os("GLIBC_TUNABLES").is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let mut command = std::process::Command::new(exe);
    if let Some(name) = args.next() {
        command.arg0(name);
    }
    let error = command
        .args(args)
        .env("GLIBC_TUNABLES", GLIBC_TUNABLES)
        .exec();
    eprintln!(
        "licence-app: could not re-execute with glibc's allocator tuned ({error}); running untuned"
    );
}
