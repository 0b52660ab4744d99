//! Reading a long log costs no allocation per line: the lines no event matches (most lines of a
//! long transfer log) go through the normaliser, the filter and the timeline in reused buffers,
//! on one thread and with classifier threads. Counted, not timed: this test binary's global
//! allocator counts the allocations the pipeline asks for.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use vvvexplain::analyze::timeline_with_threads;

mod sftp_session;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on unchanged to the system allocator; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A recorded `sftp -vvv` session, then `lines` debug lines of it that no event matches, over
/// and over, as ssh prints them (`\r\n`), each after `prefix`: the middle of a long transfer log.
fn long_log(lines: usize, prefix: &str) -> Vec<u8> {
    let transcript = sftp_session::transcript();
    let routine = sftp_session::routine_lines(&transcript);
    assert!(routine.len() > 20, "the fixture has routine debug lines");
    let mut log = transcript.clone().into_bytes();
    for line in routine.iter().cycle().take(lines) {
        log.extend_from_slice(prefix.as_bytes());
        log.extend_from_slice(line.as_bytes());
        log.extend_from_slice(b"\r\n");
    }
    log
}

/// Allocations made while building the timeline of `log`.
fn allocations(log: &[u8], threads: usize) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let timeline = timeline_with_threads(log, Some(threads)).expect("reading memory cannot fail");
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert!(timeline.lines_read as usize > 100_000);
    drop(timeline);
    after - before
}

/// Allocations that 100,000 more routine lines after `prefix` add, with each number of
/// classifier threads.
fn added_allocations(prefix: &str, threads: &[usize]) -> Vec<(usize, usize)> {
    let (short, long) = (long_log(100_000, prefix), long_log(200_000, prefix));
    threads
        .iter()
        .copied()
        .map(|threads| {
            let (a, b) = (allocations(&short, threads), allocations(&long, threads));
            (threads, b.saturating_sub(a))
        })
        .collect()
}

// One test, not two: the count is for the whole process, and tests run side by side.
#[test]
fn long_logs_cost_no_allocation_per_routine_line() {
    // As ssh prints them, and with a time on every line (prefix, clock and time text).
    for prefix in ["", "[10:15:02.431] "] {
        for (threads, added) in added_allocations(prefix, &[0, 1, 3]) {
            // One allocation a line would add 100,000: this is a hundred times less.
            assert!(
                added < 1_000,
                "{threads} classifier thread(s), lines after {prefix:?}: 100,000 more lines, \
                 {added} more allocations"
            );
        }
    }
}
