//! The engine's work queue: deduplicated ready items plus timers, where only the earliest
//! pending time of an item counts (later timers for it are dropped as stale).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use crate::sim::store::{ObjKey, ResourceId};

/// One unit of controller work.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Work {
    Source(ResourceId, ObjKey),
    Ks(ObjKey),
    Hr(ObjKey),
    Workload(ResourceId, ObjKey),
    Step(usize),
}

#[derive(Default)]
pub struct Queue {
    ready: VecDeque<Work>,
    queued: HashSet<Work>,
    timers: BinaryHeap<Reverse<(Instant, u64, Work)>>,
    due: HashMap<Work, Instant>,
    seq: u64,
}

impl Queue {
    pub fn push_now(&mut self, w: Work) {
        if self.queued.insert(w.clone()) {
            self.ready.push_back(w);
        }
    }

    /// Run `w` after `delay`, unless it is already due earlier.
    pub fn push_after(&mut self, w: Work, delay: Duration) {
        let now = Instant::now();
        let at = now
            .checked_add(delay)
            .unwrap_or_else(|| now + super::clock::MAX_REAL_DELAY);
        if let Some(t) = self.due.get(&w)
            && *t <= at
        {
            return;
        }
        self.due.insert(w.clone(), at);
        self.seq += 1;
        self.timers.push(Reverse((at, self.seq, w)));
    }

    /// Move timers that are due to the ready list.
    pub fn promote_due(&mut self, now: Instant) {
        while let Some(Reverse((at, _, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            let Some(Reverse((at, _, w))) = self.timers.pop() else {
                break;
            };
            if self.due.get(&w) == Some(&at) {
                self.due.remove(&w);
                self.push_now(w);
            }
        }
    }

    pub fn pop(&mut self) -> Option<Work> {
        let w = self.ready.pop_front()?;
        self.queued.remove(&w);
        Some(w)
    }

    pub fn next_due(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _, _))| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dedupes_and_keeps_earliest_timer() {
        let mut q = Queue::default();
        let w = Work::Ks(ObjKey::new("a", "b"));
        q.push_now(w.clone());
        q.push_now(w.clone());
        assert_eq!(q.pop(), Some(w.clone()));
        assert_eq!(q.pop(), None);
        q.push_after(w.clone(), Duration::from_secs(100));
        q.push_after(w.clone(), Duration::from_millis(0));
        q.push_after(w.clone(), Duration::from_secs(50));
        q.promote_due(Instant::now() + Duration::from_millis(1));
        assert_eq!(q.pop(), Some(w.clone()));
        q.promote_due(Instant::now() + Duration::from_secs(200));
        assert_eq!(q.pop(), None);
    }
}
