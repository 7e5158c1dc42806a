//! The library's global allocator: the system allocator, counting the bytes it hands out.
//!
//! `used_memory` (INFO, MEMORY STATS, `maxmemory`) is this count, as Redis's is its allocator's:
//! every live Rust allocation of this library in the process, measured with the allocator's own
//! usable size so it tracks what the process really holds. It covers every engine in the process
//! (keyspaces, Lua VMs, reply queues, socket buffers), not one engine: with several engines in one
//! process each reports the sum.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

/// Counting wrapper around [`System`].
pub struct Counting;

/// Bytes allocated, as flushed by the threads (see [`Local`]).
static ALLOCATED: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// Each thread counts into its own cell and adds to [`ALLOCATED`] once its balance passes this
/// many bytes either way: no shared cache line bounces between threads allocating at once (the
/// socket server's workers, the Python thread), at the price of up to this much unflushed per
/// other thread in a reading.
const BATCH: isize = 32 << 10;

struct Local(Cell<isize>);

impl Drop for Local {
    fn drop(&mut self) {
        ALLOCATED.fetch_add(self.0.replace(0), Ordering::Relaxed);
    }
}

thread_local! {
    static LOCAL: Local = const { Local(Cell::new(0)) };
}

/// Below this size glibc serves requests from its heap, where a chunk is the request plus an
/// 8-byte header rounded up to 16 (at least 32): the usable size follows without asking.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const SMALL: usize = 64 << 10;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[inline]
unsafe fn usable(p: *mut u8, layout: Layout) -> usize {
    let size = layout.size();
    if size < SMALL && layout.align() <= 16 {
        return ((size + 8 + 15) & !15).max(32) - 8;
    }
    extern "C" {
        fn malloc_usable_size(p: *mut libc::c_void) -> libc::size_t;
    }
    malloc_usable_size(p as *mut libc::c_void)
}

#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(target_env = "gnu")
))]
#[inline]
unsafe fn usable(p: *mut u8, _layout: Layout) -> usize {
    extern "C" {
        fn malloc_usable_size(p: *mut libc::c_void) -> libc::size_t;
    }
    malloc_usable_size(p as *mut libc::c_void)
}

#[cfg(target_os = "macos")]
#[inline]
unsafe fn usable(p: *mut u8, _layout: Layout) -> usize {
    extern "C" {
        fn malloc_size(p: *const libc::c_void) -> libc::size_t;
    }
    malloc_size(p as *const libc::c_void)
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "macos")))]
#[inline]
unsafe fn usable(_p: *mut u8, layout: Layout) -> usize {
    layout.size()
}

#[inline]
fn count(delta: isize) {
    let local = LOCAL.try_with(|l| {
        let v = l.0.get() + delta;
        if (-BATCH..=BATCH).contains(&v) {
            l.0.set(v);
        } else {
            l.0.set(0);
            ALLOCATED.fetch_add(v, Ordering::Relaxed);
        }
    });
    if local.is_err() {
        // This thread's cell is gone (thread exit): count directly.
        ALLOCATED.fetch_add(delta, Ordering::Relaxed);
    }
}

#[inline]
fn add(n: usize) {
    count(n as isize);
}

#[inline]
fn sub(n: usize) {
    count(-(n as isize));
}

unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            add(usable(p, layout));
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            add(usable(p, layout));
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        sub(usable(p, layout));
        System.dealloc(p, layout)
    }

    #[inline]
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = usable(p, layout);
        let q = System.realloc(p, layout, new_size);
        if !q.is_null() {
            sub(old);
            add(usable(
                q,
                Layout::from_size_align_unchecked(new_size, layout.align()),
            ));
        }
        q
    }
}

/// Bytes currently allocated by this library: exact for the calling thread's own allocations,
/// within a few tens of KiB per other thread.
pub fn allocated() -> usize {
    let own = LOCAL.try_with(|l| l.0.get()).unwrap_or(0);
    (ALLOCATED.load(Ordering::Relaxed) + own).max(0) as usize
}

/// Records the current count as the peak if it is the highest yet (the dispatcher calls this once
/// per command, so the peak is exact at command boundaries).
#[inline]
pub fn note_peak() {
    let now = allocated();
    if now > PEAK.load(Ordering::Relaxed) {
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

/// The most bytes allocated at a command boundary so far.
pub fn peak() -> usize {
    note_peak();
    PEAK.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_what_is_allocated_and_freed() {
        // Other test threads allocate too: compare with a margin.
        let before = super::allocated();
        let v: Vec<u8> = Vec::with_capacity(8 << 20);
        let during = super::allocated();
        assert!(
            during >= before + (8 << 20) - (1 << 20),
            "{before} {during}"
        );
        super::note_peak();
        drop(v);
        assert!(super::allocated() < during);
        assert!(super::peak() >= during);
    }
}
