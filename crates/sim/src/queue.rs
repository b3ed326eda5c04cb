//! The event queue: a 4-ary min-heap ordered by (time, sequence).
//!
//! A run pops millions of events from a queue holding every live call's next event, most of
//! them hang-ups minutes ahead. `std`'s binary heap walks about log2(n) levels per pop with
//! two compares a level, each a likely branch miss; four children per node halve the depth,
//! and the four keys of a node's children sit in adjacent memory. Ties in time pop in the
//! order they were pushed (the sequence number), which is what makes runs reproducible.

/// An entry: its time, its push order, and what happens.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<T> {
    pub at: u64,
    pub seq: u64,
    pub what: T,
}

impl<T> Entry<T> {
    #[inline]
    fn key(&self) -> (u64, u64) {
        (self.at, self.seq)
    }
}

/// Pops the entry with the smallest (time, sequence) first.
#[derive(Debug)]
pub(crate) struct EventQueue<T> {
    heap: Vec<Entry<T>>,
    seq: u64,
}

const D: usize = 4;

impl<T: Copy> EventQueue<T> {
    pub fn new() -> EventQueue<T> {
        EventQueue { heap: Vec::new(), seq: 0 }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Adds `what` at time `at`, after everything already queued for that time.
    pub fn push(&mut self, at: u64, what: T) {
        self.seq += 1;
        let e = Entry { at, seq: self.seq, what };
        let mut i = self.heap.len();
        self.heap.push(e);
        // Sift up: move parents down until `e` fits.
        while i > 0 {
            let parent = (i - 1) / D;
            if self.heap[parent].key() <= e.key() {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = e;
    }

    /// The earliest entry.
    pub fn pop(&mut self) -> Option<Entry<T>> {
        let last = self.heap.pop()?;
        if self.heap.is_empty() {
            return Some(last);
        }
        let top = self.heap[0];
        // Sift `last` down from the root: move the smallest child up until `last` fits.
        let n = self.heap.len();
        let key = last.key();
        let mut i = 0;
        loop {
            let first = D * i + 1;
            if first >= n {
                break;
            }
            let end = (first + D).min(n);
            let mut best = first;
            let mut best_key = self.heap[first].key();
            for c in first + 1..end {
                let k = self.heap[c].key();
                if k < best_key {
                    best = c;
                    best_key = k;
                }
            }
            if key <= best_key {
                break;
            }
            self.heap[i] = self.heap[best];
            i = best;
        }
        self.heap[i] = last;
        Some(top)
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        // Any interleaving of pushes and pops gives what a binary heap of (time, seq) gives.
        #[test]
        fn pops_in_time_then_push_order(ops in prop::collection::vec(prop::option::of(0u64..50), 0..400)) {
            let mut q = EventQueue::new();
            let mut model = BinaryHeap::new();
            let mut seq = 0u64;
            for op in ops {
                match op {
                    Some(at) => {
                        seq += 1;
                        q.push(at, seq);
                        model.push(Reverse((at, seq)));
                    }
                    None => {
                        let got = q.pop().map(|e| (e.at, e.what));
                        let want = model.pop().map(|Reverse(k)| k);
                        prop_assert_eq!(got, want);
                    }
                }
                prop_assert_eq!(q.len(), model.len());
            }
            while let Some(Reverse(want)) = model.pop() {
                let e = q.pop().unwrap();
                prop_assert_eq!((e.at, e.what), want);
            }
            prop_assert!(q.pop().is_none());
        }
    }
}
