//! Panics caught on purpose. A third-party evaluator run on input from the cluster (a CEL
//! `readyExpr`) may panic; [`contain`] catches that and marks the thread meanwhile, so that
//! the process-wide panic hook (`runtime::panic`) lets such a panic reach the caller instead
//! of ending the process.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Whether the current thread is inside [`contain`].
pub fn is_contained() -> bool {
    DEPTH.with(|d| d.get() > 0)
}

/// Run `f`; a panic in it becomes `None`.
pub fn contain<R>(f: impl FnOnce() -> R) -> Option<R> {
    DEPTH.with(|d| d.set(d.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(f)).ok();
    DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_the_thread_while_running() {
        assert!(!is_contained());
        assert_eq!(contain(is_contained), Some(true));
        assert!(!is_contained());
        let caught: Option<()> = contain(|| std::panic::panic_any("evaluator bug"));
        assert_eq!(caught, None);
        assert!(!is_contained(), "unmarked after a panic too");
    }
}
