//! Keys and drawing before background work. The TUI's event loop runs on the main thread
//! (the runtime's `block_on`); watches, conversions, rebuilds and freeing old trees run on
//! the runtime's worker and blocking threads. Those start at a lower scheduling priority
//! ([`BACKGROUND_NICE`]), so on a loaded machine (a shared jump host, or a burst of watch
//! events) a key press is answered before the next rebuild finishes; when the machine is
//! idle the background work runs at full speed all the same.

/// How much lower the background threads run (nice value relative to the main thread's).
pub const BACKGROUND_NICE: i32 = 5;

/// The priority background threads get: [`BACKGROUND_NICE`] below the calling thread's
/// (read once, on the main thread: threads inherit their creator's nice value, so each sets
/// this value rather than lowering its own again).
#[derive(Clone, Copy, Debug)]
pub struct Background {
    #[cfg(target_os = "linux")]
    nice: Option<i32>,
}

impl Background {
    pub fn below_current_thread() -> Self {
        Self {
            #[cfg(target_os = "linux")]
            nice: rustix::process::getpriority_process(None)
                .ok()
                .map(|n| (n + BACKGROUND_NICE).min(19)),
        }
    }

    /// Give the calling thread the background priority (Linux: the nice value is per
    /// thread). Lowering needs no privilege; a failure is logged and the thread keeps its
    /// priority.
    pub fn apply_to_current_thread(self) {
        #[cfg(target_os = "linux")]
        if let Some(nice) = self.nice
            && let Err(e) = rustix::process::setpriority_process(None, nice)
        {
            tracing::debug!(error = %e, "cannot lower a background thread's priority");
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::{BACKGROUND_NICE, Background};
    use rustix::process::getpriority_process;

    #[test]
    fn lowers_only_the_calling_thread_and_once_for_threads_made_by_background_threads() {
        let before = getpriority_process(None).unwrap();
        let want = (before + BACKGROUND_NICE).min(19);
        let background = Background::below_current_thread();
        let (lowered, nested) = std::thread::spawn(move || {
            background.apply_to_current_thread();
            let lowered = getpriority_process(None).unwrap();
            // A thread made by a background thread inherits its priority and sets the same.
            let nested = std::thread::spawn(move || {
                background.apply_to_current_thread();
                getpriority_process(None).unwrap()
            })
            .join()
            .unwrap();
            (lowered, nested)
        })
        .join()
        .unwrap();
        assert_eq!(lowered, want);
        assert_eq!(nested, want);
        assert_eq!(getpriority_process(None).unwrap(), before);
    }
}
