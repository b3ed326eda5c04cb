//! The event queue: a hierarchical timing wheel over virtual milliseconds.
//!
//! A run pops millions of events from a queue holding every live call's next event, most of
//! them hang-ups minutes ahead and the rest (arrivals, responses, timers) within seconds. A
//! heap pays about log(n) cache-missing steps for every pop. The wheel files an event by the
//! highest bit in which its time differs from the queue's current time: level `l` holds the
//! events whose time first differs in bits `6l..6l+6`, one of 64 slots per level chosen by
//! those bits. Level 0 is therefore the current 64 ms, one slot per millisecond. Popping takes
//! the lowest occupied level's first slot; a slot above level 0 is first advanced to ("cascaded"):
//! the current time moves to its start and its events are filed again, each landing lower. An
//! event moves at most once per level, so pushes and pops are O(1) with a constant of at most
//! eleven levels (64 bits of time in 6-bit steps); a hang-up minutes ahead moves two or three
//! times.
//!
//! Ties in time pop in push order with no sequence number: a slot's list is kept in push
//! order, and a cascade moves a list in order into slots that were empty (no event of that
//! stretch of time could have been filed lower before the current time reached it), after
//! which later pushes append. That order is what makes runs reproducible.

/// An entry: its time and what happens.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<T> {
    pub at: u64,
    pub what: T,
}

/// Bits of time per level.
const BITS: u32 = 6;
const SLOTS: usize = 1 << BITS;
/// Enough levels for any u64 time: 11 x 6 >= 64.
const LEVELS: usize = 64_usize.div_ceil(BITS as usize);

/// Pops the entry with the smallest time first, entries of equal time in push order.
///
/// Each slot is a vector, read front to back when drained or cascaded. Level-0 slots keep their
/// capacity; a cascaded slot's emptied vector goes to the next slot that starts filling, so
/// after the first stretch of a run pushing allocates nothing.
#[derive(Debug)]
pub(crate) struct EventQueue<T> {
    /// No queued entry is earlier (the time of the last pop or cascade).
    now: u64,
    /// `LEVELS * SLOTS` lists, level-major.
    slots: Vec<Vec<Entry<T>>>,
    /// Bit `s` of `occupied[l]`: slot `s` of level `l` holds entries.
    occupied: [u64; LEVELS],
    /// The level-0 slot being drained (its entries are all at `now`), read from `next`;
    /// entries pushed for `now` meanwhile are appended to it.
    ready: Option<usize>,
    next: usize,
    len: usize,
    /// Emptied lists of cascaded slots, handed to the next slot that needs one: the slots
    /// further out are each used once in a long while, and without this every one of them
    /// would grow its own list from nothing.
    spare: Vec<Vec<Entry<T>>>,
}

impl<T: Copy> EventQueue<T> {
    pub fn new() -> EventQueue<T> {
        EventQueue {
            now: 0,
            slots: (0..LEVELS * SLOTS).map(|_| Vec::new()).collect(),
            occupied: [0; LEVELS],
            ready: None,
            next: 0,
            len: 0,
            spare: Vec::new(),
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Adds `what` at time `at`, after everything already queued for that time. A time before
    /// the last popped entry's is taken as that time (nothing may pop out of order).
    pub fn push(&mut self, at: u64, what: T) {
        self.len += 1;
        self.file(Entry { at: at.max(self.now), what });
    }

    /// Appends `e` (at or after `now`) to its level and slot.
    #[inline]
    fn file(&mut self, e: Entry<T>) {
        // Level 0 when `at` and `now` agree above the low 6 bits.
        let differ = (e.at ^ self.now) | (SLOTS as u64 - 1);
        let level = ((63 - differ.leading_zeros()) / BITS) as usize;
        let slot = ((e.at >> (BITS * level as u32)) & (SLOTS as u64 - 1)) as usize;
        let i = level * SLOTS + slot;
        if self.slots[i].capacity() == 0
            && let Some(v) = self.spare.pop()
        {
            self.slots[i] = v;
        }
        self.slots[i].push(e);
        self.occupied[level] |= 1 << slot;
    }

    /// The earliest entry.
    pub fn pop(&mut self) -> Option<Entry<T>> {
        loop {
            if let Some(r) = self.ready {
                if let Some(&e) = self.slots[r].get(self.next) {
                    self.next += 1;
                    self.len -= 1;
                    return Some(e);
                }
                // Drained (a level-0 slot: its index is its bit).
                self.slots[r].clear();
                self.occupied[0] &= !(1 << r);
                self.ready = None;
                self.next = 0;
            }
            // Lower levels hold earlier times, and within a level every occupied slot lies
            // ahead of `now` in the same stretch of the level above, so the first set bit of
            // the lowest occupied level is the earliest slot.
            let level = self.occupied.iter().position(|&m| m != 0)?;
            let slot = self.occupied[level].trailing_zeros() as usize;
            let i = level * SLOTS + slot;
            if level == 0 {
                self.ready = Some(i);
                self.now = self.slots[i][0].at;
                continue;
            }
            // Cascade: move to the slot's start and file its entries again (each lands lower).
            self.occupied[level] &= !(1 << slot);
            let shift = BITS * level as u32;
            let above = self.now.checked_shr(shift + BITS).unwrap_or(0);
            self.now = above.checked_shl(shift + BITS).unwrap_or(0) | ((slot as u64) << shift);
            let mut list = std::mem::take(&mut self.slots[i]);
            for &e in &list {
                debug_assert!(e.at >= self.now);
                self.file(e);
            }
            list.clear();
            self.spare.push(list);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    use proptest::prelude::*;

    use super::*;

    /// How far ahead of the current time a push lands: the same millisecond, this stretch of
    /// level 0, a few levels up, or far out to the top of the u64 range.
    fn ahead() -> impl Strategy<Value = u64> {
        prop_oneof![
            3 => 0u64..3,
            3 => 0u64..200,
            2 => 0u64..300_000,
            1 => 0u64..1 << 40,
            1 => Just(u64::MAX),
        ]
    }

    proptest! {
        // Any interleaving of pushes (at or after the last pop) and pops gives what a binary
        // heap ordered by (time, push order) gives.
        #[test]
        fn pops_in_time_then_push_order(
            start in prop_oneof![Just(0u64), 0u64..1 << 50],
            ops in prop::collection::vec(prop::option::of(ahead()), 0..400),
        ) {
            let mut q = EventQueue::new();
            let mut model = BinaryHeap::new();
            let mut seq = 0u64;
            let mut now = start;
            q.push(start, 0);
            model.push(Reverse((start, 0)));
            for op in ops {
                match op {
                    Some(d) => {
                        seq += 1;
                        let at = now.saturating_add(d);
                        q.push(at, seq);
                        model.push(Reverse((at, seq)));
                    }
                    None => {
                        let got = q.pop().map(|e| (e.at, e.what));
                        let want = model.pop().map(|Reverse(k)| k);
                        prop_assert_eq!(got, want);
                        if let Some((at, _)) = want {
                            now = at;
                        }
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

    #[test]
    fn a_push_into_the_past_pops_at_the_current_time_after_its_peers() {
        let mut q = EventQueue::new();
        q.push(100, 'a');
        q.push(100, 'b');
        assert_eq!(q.pop().map(|e| (e.at, e.what)), Some((100, 'a')));
        q.push(5, 'c');
        assert_eq!(q.pop().map(|e| (e.at, e.what)), Some((100, 'b')));
        assert_eq!(q.pop().map(|e| (e.at, e.what)), Some((100, 'c')));
        assert!(q.pop().is_none());
    }

    #[test]
    fn equal_times_filed_at_different_distances_keep_push_order() {
        // 'a' is filed three levels up; by the time 'b' is pushed the wheel has cascaded
        // towards 1,000,000, and 'c' lands on level 0.
        let mut q = EventQueue::new();
        q.push(1_000_000, 'a');
        q.push(999_990, 'x');
        assert_eq!(q.pop().map(|e| e.what), Some('x'));
        q.push(1_000_000, 'b');
        q.push(999_999, 'y');
        assert_eq!(q.pop().map(|e| e.what), Some('y'));
        q.push(1_000_000, 'c');
        let rest: Vec<char> = std::iter::from_fn(|| q.pop().map(|e| e.what)).collect();
        assert_eq!(rest, ['a', 'b', 'c']);
    }
}
