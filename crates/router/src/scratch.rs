//! Per-thread scratch: the buffers a decision writes, and the caches of the automata whose
//! searches need one, found by the automaton.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Weak};

use tpr_dialplan::{
    Cache, CacheSource, CompiledPlan, DialString, PatternSet, SetCache, TranslationScratch,
};

/// One thread's scratch for deciding with any engines: the string buffers a decision writes,
/// and the caches of the automata whose searches need one, made the first time a decision
/// asks for them and found again by the automaton.
///
/// Few decisions ask: compact rows, and the rules whose captures a layout or splits fill, read
/// the automaton alone. Caches are for a dial plan without compact rows (its lazy DFA's
/// states), a rule with lookaround or backreferences (its engine's), and a pattern set too big
/// for compact rows. So a thread serving 10,000 tenants keeps one scratch whose few lines stay
/// in cache, not 10,000 cold ones, and engines that share automata (through an
/// [`Interner`](crate::Interner)) share their caches too.
///
/// After it has warmed up, deciding allocates nothing. A cache holds a weak reference to its
/// automaton, so the address it is found by cannot become another automaton's while the cache
/// lives; caches of automata every engine has dropped (after a reload) are swept out as new
/// ones come in.
pub struct Scratch {
    pub(crate) dial: DialString,
    /// The normalized number of the last decision (or its emergency dial string).
    pub number: String,
    /// Inbound: the caller's number after translation.
    pub caller: String,
    pub(crate) tmp: String,
    pub(crate) translation: TranslationScratch,
    pub(crate) caches: AutomatonCaches,
}

impl Default for Scratch {
    fn default() -> Scratch {
        Scratch::new()
    }
}

impl fmt::Debug for Scratch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scratch")
            .field("number", &self.number)
            .field("plan_caches", &self.caches.plans.len())
            .field("set_caches", &self.caches.sets.len())
            .finish_non_exhaustive()
    }
}

impl Scratch {
    /// Empty buffers and no caches yet.
    pub fn new() -> Scratch {
        Scratch {
            dial: DialString::new(),
            number: String::with_capacity(64),
            caller: String::with_capacity(64),
            tmp: String::with_capacity(64),
            translation: TranslationScratch::default(),
            caches: AutomatonCaches {
                pass: String::with_capacity(64),
                no_cache: SetCache::default(),
                plans: Caches::default(),
                sets: Caches::default(),
            },
        }
    }

    /// How many dial plans have a cache here (those whose searches needed one).
    pub fn plan_caches(&self) -> usize {
        self.caches.plans.len()
    }

    /// How many pattern sets (route tables, emergency numbers, blocked and unassigned
    /// numbers) have a cache here.
    pub fn set_caches(&self) -> usize {
        self.caches.sets.len()
    }

    /// Heap bytes of the lazy DFA states built so far, over every dial plan's cache.
    pub fn automaton_memory_usage(&self) -> usize {
        self.caches.plans.by_address.values().map(|(_, c)| c.automaton_memory_usage()).sum()
    }
}

/// The caches of a [`Scratch`], apart from its buffers so that a decision can borrow both.
pub(crate) struct AutomatonCaches {
    /// A first pass's result, for the second pass to read.
    pass: String,
    /// What a set that needs no cache is given.
    no_cache: SetCache,
    plans: Caches<CompiledPlan, Cache>,
    sets: Caches<PatternSet, SetCache>,
}

impl AutomatonCaches {
    /// Where normalizing with `plan` finds its cache, when it needs it.
    pub(crate) fn plan<'a>(&'a mut self, plan: &'a Arc<CompiledPlan>) -> PlanSource<'a> {
        PlanSource { plan, caches: self }
    }

    /// The cache to search `set` with: its own if it needs one, else any.
    #[inline]
    pub(crate) fn set(&mut self, set: &Arc<PatternSet>) -> &mut SetCache {
        if set.needs_cache() { self.set_cache(set) } else { &mut self.no_cache }
    }

    #[cold]
    #[inline(never)]
    fn set_cache(&mut self, set: &Arc<PatternSet>) -> &mut SetCache {
        self.sets.get(set, PatternSet::create_cache)
    }
}

/// A [`CacheSource`] for one plan, over a [`Scratch`]'s caches.
pub(crate) struct PlanSource<'a> {
    plan: &'a Arc<CompiledPlan>,
    caches: &'a mut AutomatonCaches,
}

impl CacheSource for PlanSource<'_> {
    fn cache_for(&mut self, plan: &CompiledPlan) -> &mut Cache {
        debug_assert!(std::ptr::eq(plan, Arc::as_ptr(self.plan)), "a source of another plan");
        self.caches.plans.get(self.plan, CompiledPlan::create_cache)
    }

    fn pass_buffer(&mut self) -> &mut String {
        &mut self.caches.pass
    }
}

/// Caches `C` of automata `A`, by the automaton's address.
struct Caches<A, C> {
    by_address: HashMap<usize, (Weak<A>, C)>,
    /// The size at which the next insertion first sweeps out caches of dropped automata.
    sweep_at: usize,
}

impl<A, C> Default for Caches<A, C> {
    fn default() -> Self {
        Caches { by_address: HashMap::new(), sweep_at: Self::FIRST_SWEEP }
    }
}

impl<A, C> Caches<A, C> {
    const FIRST_SWEEP: usize = 64;

    fn len(&self) -> usize {
        self.by_address.len()
    }

    /// The cache of `automaton`, made by `make` if it has none yet.
    fn get(&mut self, automaton: &Arc<A>, make: impl FnOnce(&A) -> C) -> &mut C {
        // Our weak reference keeps the allocation: an entry at this address is this
        // automaton's, never a dropped one's whose address was reused.
        let key = Arc::as_ptr(automaton) as usize;
        if self.by_address.len() >= self.sweep_at && !self.by_address.contains_key(&key) {
            // Sweeping when the size has doubled since the last sweep keeps the cost per
            // insertion constant.
            self.by_address.retain(|_, (weak, _)| weak.strong_count() > 0);
            self.sweep_at = (2 * self.by_address.len()).max(Self::FIRST_SWEEP);
        }
        &mut self
            .by_address
            .entry(key)
            .or_insert_with(|| (Arc::downgrade(automaton), make(automaton)))
            .1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caches_are_found_by_automaton_and_swept_once_it_is_dropped() {
        let mut caches: Caches<String, usize> = Caches::default();
        let kept: Vec<Arc<String>> = (0..10).map(|i| Arc::new(format!("kept {i}"))).collect();
        for (i, a) in kept.iter().enumerate() {
            *caches.get(a, |_| i) += 100;
        }
        // Found again, not made afresh.
        for (i, a) in kept.iter().enumerate() {
            assert_eq!(*caches.get(a, |_| unreachable!("made twice")), i + 100);
        }
        // A thousand automata made and dropped one after another (reloads): the dropped ones'
        // caches do not pile up.
        let mut most = 0;
        for i in 0..1_000 {
            let a = Arc::new(format!("dropped {i}"));
            caches.get(&a, |_| 0);
            most = most.max(caches.len());
        }
        assert!(most <= 2 * Caches::<String, usize>::FIRST_SWEEP, "{most} caches");
        for (i, a) in kept.iter().enumerate() {
            assert_eq!(*caches.get(a, |_| unreachable!("swept while alive")), i + 100);
        }
    }
}
