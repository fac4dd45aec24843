//! The process's memory allocator and its figures.
//!
//! `openum serve` allocates with jemalloc (the `tikv-jemallocator` crate, set as
//! the global allocator in `main.rs`), not glibc's malloc. Why: a voicemail
//! server's heap is a churn of short-lived blocks (recording buffers, encoded
//! messages, listings) beside long-lived ones (the store's page cache, whose
//! entries are replaced as messages arrive). glibc's per-thread arenas keep the
//! pages such churn leaves behind: measured over rounds of 1,000 recorded calls
//! into one mailbox, the live heap (heaptrack) levelled off while RSS kept
//! climbing, and the first 60-minute soak ended 13 MB per 10 minutes up (issue
//! 11). `malloc_trim` gave back only ~6 MB of it, and a fixed mmap threshold
//! lowered the level, not the trend. jemalloc's size classes and its decay of
//! unused pages (returned by a background thread) hold RSS flat once the page
//! cache is full.
//!
//! The options, read by jemalloc from `MALLOC_CONF` before the first allocation:
//! - `background_thread:true` — purging runs on jemalloc's own thread, never in a
//!   media worker's `free`;
//! - `dirty_decay_ms:1000` — freed pages go back to the system within about a
//!   second (the default, 10 s, holds a whole wave of finished calls' buffers).
//!
//! [`heap_stats`] reads jemalloc's counters for `/metrics`
//! (`openum_heap_allocated_bytes`, `openum_heap_resident_bytes`). Depends on
//! nothing else in the crate.

/// jemalloc's options (NUL-terminated, as C reads them).
pub const MALLOC_CONF: &[u8; 43] = b"background_thread:true,dirty_decay_ms:1000\0";

/// What the allocator holds, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapStats {
    /// Bytes in live allocations.
    pub allocated: u64,
    /// Bytes of physical memory the allocator holds (live, cached, metadata).
    pub resident: u64,
}

/// jemalloc's current counters, or `None` where it is not the allocator's
/// library (non-Linux builds) or its statistics cannot be read.
pub fn heap_stats() -> Option<HeapStats> {
    #[cfg(all(target_os = "linux", not(target_env = "msvc")))]
    {
        use tikv_jemalloc_ctl::{epoch, stats};
        // The counters are a snapshot refreshed by advancing the epoch.
        epoch::advance().ok()?;
        Some(HeapStats {
            allocated: stats::allocated::read().ok()? as u64,
            resident: stats::resident::read().ok()? as u64,
        })
    }
    #[cfg(not(all(target_os = "linux", not(target_env = "msvc"))))]
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_options_are_one_c_string() {
        assert_eq!(MALLOC_CONF.last(), Some(&0));
        assert!(!MALLOC_CONF[..MALLOC_CONF.len() - 1].contains(&0));
        assert!(std::str::from_utf8(MALLOC_CONF).is_ok());
    }
}
