//! Giving freed memory back to the system. glibc's allocator keeps the pages of freed
//! blocks for later allocations; after a rebuild drops the previous snapshot and tree, tens of
//! megabytes can stay in the process that nothing uses. [`trim_later`] asks glibc to return
//! them (`malloc_trim`), on a blocking thread, shortly after a rebuild was handed over (so
//! the previous one has been dropped by then); requests while one is pending join it.
//!
//! `FLUXDECK_MALLOC_TRIM=0` turns it off (to compare the resident size with and without).
//! Other allocators and platforms: nothing happens.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// How long after a rebuild the trim runs; trims requested meanwhile join it.
pub const TRIM_DELAY: Duration = Duration::from_secs(1);

/// Schedules trims: one pending at a time.
pub struct Trimmer {
    delay: Duration,
    pending: AtomicBool,
    trims: AtomicU64,
}

static TRIMMER: Trimmer = Trimmer::new(TRIM_DELAY);

fn enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var("FLUXDECK_MALLOC_TRIM").map_or(true, |v| v != "0"))
}

/// Return freed memory to the system [`TRIM_DELAY`] from now, on a blocking thread; does
/// nothing outside a tokio runtime or when a trim is already scheduled.
pub fn trim_later() {
    if enabled() {
        TRIMMER.later();
    }
}

impl Trimmer {
    /// A trimmer that trims `delay` after a request.
    pub const fn new(delay: Duration) -> Self {
        Self {
            delay,
            pending: AtomicBool::new(false),
            trims: AtomicU64::new(0),
        }
    }

    /// How many trims this trimmer ran.
    pub fn trims(&self) -> u64 {
        self.trims.load(Ordering::Relaxed)
    }

    /// Trim after the delay unless a trim is already scheduled.
    pub fn later(&'static self) {
        if self.pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.pending.store(false, Ordering::Release);
            return;
        };
        runtime.spawn(async move {
            tokio::time::sleep(self.delay).await;
            // Cleared before the trim: memory freed while it runs is caught by the next one.
            self.pending.store(false, Ordering::Release);
            let _ = tokio::task::spawn_blocking(move || self.now()).await;
        });
    }

    /// Return freed memory to the system now (blocks while glibc walks its free lists: a
    /// few milliseconds for a heap of 100 MB).
    pub fn now(&self) {
        self.trims.fetch_add(1, Ordering::Relaxed);
        release();
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn release() {
    // SAFETY: `malloc_trim` only takes the allocator's own locks and touches no memory of
    // the caller; any pad is valid (0 = keep nothing beyond what is in use).
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_close_together_trim_once() {
        // Long enough that the three requests come before the trim.
        static T: Trimmer = Trimmer::new(Duration::from_millis(200));
        T.later();
        T.later();
        T.later();
        assert_eq!(T.trims(), 0, "not before the delay");
        for _ in 0..5000 {
            if T.trims() > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert_eq!(T.trims(), 1);
        assert!(!T.pending.load(Ordering::Acquire));
        T.later();
        assert!(
            T.pending.load(Ordering::Acquire),
            "a request after a trim schedules one"
        );
    }

    #[test]
    fn outside_a_runtime_nothing_is_scheduled() {
        static T: Trimmer = Trimmer::new(TRIM_DELAY);
        T.later();
        assert!(!T.pending.load(Ordering::Acquire));
        T.now();
        assert_eq!(T.trims(), 1);
    }
}
