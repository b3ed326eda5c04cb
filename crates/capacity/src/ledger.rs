//! The ledger: one 16-byte cell per key, and the all-or-nothing acquisition.
//!
//! A router peeks at the caller's number and takes permits on a handful of keys per call, over
//! tens of thousands of numbers, so what matters is how many cache lines a call touches and how
//! much of the ledger stays in cache. Each key's counter, peak, limit and alert threshold sit
//! in one 16-byte cell: numbers are packed eight to a 128-byte block (100,000 numbers take
//! 1.6 MB, not 12.8 MB at a line each), and the keys every call shares — gateways, trunks,
//! tenants, queues — each get a block of their own, so two cores working on two of them never
//! share a line. A key's id is its cell's position, so ids have gaps after the shared keys.

use std::collections::HashMap;
// Immutable once built, so std's even under loom: nothing to model.
use std::fmt;
use std::sync::Arc as Shared;

use crate::limits::{
    BuildError, Defaults, LimitClass, MAX_GATEWAY_SESSIONS, MAX_QUEUE_OVERFLOW, Refused,
};
use crate::permit::Permit;
use crate::sync::{Arc, AtomicU32, AtomicU64, Ordering};

/// A key of a [`Ledger`]: a dense index, cheap to copy and to store in a call's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(u32);

impl KeyId {
    /// The index.
    pub fn as_u32(self) -> u32 {
        self.0
    }

    /// A key by index, for stores other than [`Ledger`] that number keys the same way.
    pub fn from_u32(index: u32) -> KeyId {
        KeyId(index)
    }

    fn index(self) -> usize {
        self.0 as usize
    }
}

/// Everything acquiring or peeking at a key reads or writes.
struct Cell {
    current: AtomicU32,
    peak: AtomicU32,
    /// `u32::MAX` when unlimited.
    limit: u32,
    /// `u32::MAX` when the key has no alert (a count never reaches it: it would be over the
    /// limit of `u32::MAX - 1` the counts are kept under).
    alert_at: u32,
}

/// Cells in a block, and the block's size in bytes (two cache lines: adjacent-line
/// prefetching pulls lines in pairs).
const CELLS_PER_BLOCK: usize = 8;

#[repr(align(128))]
struct Block([Cell; CELLS_PER_BLOCK]);

/// Does a class's key take a block of its own? Those every call on a gateway, trunk or tenant
/// shares do; numbers, each carrying a few calls, are packed.
fn own_block(class: LimitClass) -> bool {
    !matches!(class, LimitClass::UserNumber | LimitClass::ServiceNumber)
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyConfig {
    name: String,
    class: LimitClass,
    /// `u32::MAX` when unlimited.
    limit: u32,
    /// The alert is raised when a call brings `current` up to this value.
    alert_at: Option<u32>,
}

/// Collects keys and their limits, then builds a [`Ledger`]. Cloning it is how one key layout
/// makes several independent ledgers (one per simulation shard, say). The key names and
/// limits are shared, not copied, between the clones and the ledgers built from them: with a
/// key per phone number they are most of a tenant's capacity memory.
#[derive(Debug, Clone)]
pub struct LedgerBuilder {
    defaults: Defaults,
    /// In the order they were added.
    keys: Shared<Vec<KeyConfig>>,
    /// Each key's cell (its id).
    cells: Shared<Vec<u32>>,
    /// The first cell not taken.
    next: u32,
    names: Shared<HashMap<String, KeyId>>,
}

impl LedgerBuilder {
    /// An empty builder with these class defaults.
    pub fn new(defaults: Defaults) -> LedgerBuilder {
        LedgerBuilder {
            defaults,
            keys: Shared::default(),
            cells: Shared::default(),
            next: 0,
            names: Shared::default(),
        }
    }

    /// Adds a key with any class, limit (`None`: unlimited) and alert threshold.
    pub fn key(
        &mut self,
        name: &str,
        class: LimitClass,
        limit: Option<u32>,
        alert_at: Option<u32>,
    ) -> Result<KeyId, BuildError> {
        if self.names.contains_key(name) {
            return Err(BuildError::Duplicate(name.to_owned()));
        }
        let block = CELLS_PER_BLOCK as u32;
        let cell = if own_block(class) { self.next.div_ceil(block) * block } else { self.next };
        let next = cell
            .checked_add(if own_block(class) { block } else { 1 })
            .filter(|&n| n < u32::MAX / 2)
            .ok_or(BuildError::TooManyKeys)?;
        self.next = next;
        let id = KeyId(cell);
        // Copied only if a clone shares them (keys added after cloning).
        Shared::make_mut(&mut self.cells).push(cell);
        Shared::make_mut(&mut self.keys).push(KeyConfig {
            name: name.to_owned(),
            class,
            limit: limit.unwrap_or(u32::MAX),
            alert_at,
        });
        Shared::make_mut(&mut self.names).insert(name.to_owned(), id);
        Ok(id)
    }

    /// A user's number, limited to `Defaults::user_number_max_calls`.
    pub fn user_number(&mut self, number: &str) -> Result<KeyId, BuildError> {
        self.key(number, LimitClass::UserNumber, Some(self.defaults.user_number_max_calls), None)
    }

    /// A resource account's number, limited to `Defaults::service_number_max_calls`.
    pub fn service_number(&mut self, number: &str) -> Result<KeyId, BuildError> {
        self.key(
            number,
            LimitClass::ServiceNumber,
            Some(self.defaults.service_number_max_calls),
            None,
        )
    }

    /// An SBC. `enforced_max` is its own limit (calls above it are refused); `teams_max_sessions`
    /// is Teams' `MaxConcurrentSessions`, which refuses nothing and raises an alert when a call
    /// brings the count to 90 % of it (rounded up: 90 of 100).
    pub fn gateway(
        &mut self,
        fqdn: &str,
        enforced_max: Option<u32>,
        teams_max_sessions: Option<u32>,
    ) -> Result<KeyId, BuildError> {
        if let Some(m) = teams_max_sessions
            && !(1..=MAX_GATEWAY_SESSIONS).contains(&m)
        {
            return Err(BuildError::OutOfRange {
                name: fqdn.to_owned(),
                what: "max_concurrent_sessions",
                value: m,
                min: 1,
                max: MAX_GATEWAY_SESSIONS,
            });
        }
        let alert_at = teams_max_sessions.map(|m| (9 * m).div_ceil(10));
        self.key(fqdn, LimitClass::Gateway, enforced_max, alert_at)
    }

    /// An Operator Connect trunk with its `max_sessions` (`None`: unlimited).
    pub fn trunk(&mut self, name: &str, max_sessions: Option<u32>) -> Result<KeyId, BuildError> {
        self.key(name, LimitClass::Trunk, max_sessions, None)
    }

    /// A tenant-wide cap (`None`: unlimited, counted only).
    pub fn tenant(&mut self, name: &str, max_calls: Option<u32>) -> Result<KeyId, BuildError> {
        self.key(name, LimitClass::Tenant, max_calls, None)
    }

    /// The waiting callers of a call queue: a caller overflows when the number waiting equals
    /// the threshold (`None`: `Defaults::queue_overflow_threshold`; 0 overflows at once).
    pub fn queue(
        &mut self,
        name: &str,
        overflow_threshold: Option<u32>,
    ) -> Result<KeyId, BuildError> {
        let t = overflow_threshold.unwrap_or(self.defaults.queue_overflow_threshold);
        if t > MAX_QUEUE_OVERFLOW {
            return Err(BuildError::OutOfRange {
                name: name.to_owned(),
                what: "overflow_threshold",
                value: t,
                min: 0,
                max: MAX_QUEUE_OVERFLOW,
            });
        }
        self.key(name, LimitClass::Queue, Some(t), None)
    }

    /// The id `name` got, if it was added.
    pub fn id(&self, name: &str) -> Option<KeyId> {
        self.names.get(name).copied()
    }

    /// Do both builders lay out the same keys, with the same ids, classes and limits? Then a
    /// ledger built by one serves the other (a reload that changed only routing).
    pub fn same_layout(&self, other: &LedgerBuilder) -> bool {
        self.keys == other.keys && self.cells == other.cells
    }

    /// Number of keys so far.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// No keys yet?
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Builds a ledger that takes over from `old` (a reload whose key layout changed). Calls
    /// still holding permits on `old` keep counting against the limits of the keys with the
    /// same names here until they end: a key refuses when its own count plus what `old`
    /// (and whatever `old` took over from) still holds under that name reaches its limit.
    /// The old counts only ever go down, so the sum never passes a limit. With nothing in
    /// flight on `old`, this is [`LedgerBuilder::build`].
    pub fn build_after(self, old: &Arc<Ledger>) -> Ledger {
        let mut ledger = self.build();
        if old.in_use() > 0 {
            let mut map = vec![None; ledger.config_of.len()].into_boxed_slice();
            for (cfg, &key) in ledger.config.iter().zip(&ledger.ids) {
                map[key.index()] = old.key(&cfg.name);
            }
            ledger.before = Some(Predecessor { ledger: old.clone(), keys: map });
        }
        ledger
    }

    /// Builds the ledger, all counters at zero.
    pub fn build(self) -> Ledger {
        let blocks = (self.next as usize).div_ceil(CELLS_PER_BLOCK);
        let mut limits = vec![(u32::MAX, u32::MAX); blocks * CELLS_PER_BLOCK];
        let mut config_of = vec![u32::MAX; blocks * CELLS_PER_BLOCK].into_boxed_slice();
        for (i, (k, &cell)) in self.keys.iter().zip(self.cells.iter()).enumerate() {
            limits[cell as usize] = (k.limit, k.alert_at.unwrap_or(u32::MAX));
            config_of[cell as usize] = i as u32;
        }
        let blocks = (0..blocks)
            .map(|b| {
                Block(std::array::from_fn(|i| {
                    let (limit, alert_at) = limits[b * CELLS_PER_BLOCK + i];
                    Cell { current: AtomicU32::new(0), peak: AtomicU32::new(0), limit, alert_at }
                }))
            })
            .collect();
        let counts = || self.keys.iter().map(|_| AtomicU64::new(0)).collect();
        Ledger {
            ids: self.cells.iter().map(|&c| KeyId(c)).collect(),
            rejected: counts(),
            alerts: counts(),
            config: self.keys,
            config_of,
            names: self.names,
            blocks,
            before: None,
        }
    }
}

/// Concurrent-call counters for a fixed set of keys. Share it (`&Ledger`, `Arc<Ledger>`)
/// between threads; every method takes `&self`.
///
/// The fields every acquisition and count reads come first, together (`repr(C)`), in the
/// ledger's first line (it starts one): an acquisition reads one line of the ledger's own.
#[repr(C, align(64))]
pub struct Ledger {
    /// Shared with the [`Cells`] handed out (std's `Arc` even under loom: the count of
    /// holders is no part of what the model checks).
    blocks: std::sync::Arc<[Block]>,
    /// The ledger this one took over from, while calls on it were in flight.
    before: Option<Predecessor>,
    /// Each cell's index into `config` (`u32::MAX`: a gap).
    config_of: Box<[u32]>,
    /// In the order the keys were added (shared with the builder).
    config: Shared<Vec<KeyConfig>>,
    /// The keys, in that order.
    ids: Vec<KeyId>,
    names: Shared<HashMap<String, KeyId>>,
    /// Refusals and alerts, by config index: rare, so kept off the cells.
    rejected: Box<[AtomicU64]>,
    alerts: Box<[AtomicU64]>,
}

// The fields before `config_of`, in the ledger's first line.
const _: () = assert!(std::mem::offset_of!(Ledger, config_of) <= 64);

/// A ledger taken over from, and each of our cells' key there (by name).
struct Predecessor {
    ledger: Arc<Ledger>,
    keys: Box<[Option<KeyId>]>,
}

/// A [`Ledger`]'s cells, shared with it ([`Ledger::cells`]): what a check of a key against
/// its limit reads, without the ledger's own first line (with thousands of tenants taking
/// turns, a miss fewer a call).
#[derive(Clone)]
pub struct Cells {
    blocks: std::sync::Arc<[Block]>,
    /// Did the ledger take over from another? Then what calls it carries is asked of it.
    carries: bool,
}

impl fmt::Debug for Cells {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cells").field("blocks", &self.blocks.len()).finish_non_exhaustive()
    }
}

/// `key`'s cell among `blocks`. Panics on a key past them.
#[inline]
fn cell_in(blocks: &[Block], key: KeyId) -> &Cell {
    let i = key.index();
    &blocks[i / CELLS_PER_BLOCK].0[i % CELLS_PER_BLOCK]
}

/// Starts loading `key`'s cell among `blocks`, if it is one of theirs.
#[inline]
fn prefetch_in(blocks: &[Block], key: KeyId) {
    let i = key.index();
    if let Some(b) = blocks.get(i / CELLS_PER_BLOCK) {
        tpr_types::prefetch(&b.0[i % CELLS_PER_BLOCK]);
    }
}

impl Cells {
    /// Has `key` reached its limit, as [`Ledger::held`] against [`Ledger::limit`] would
    /// say? `ledger` is the one these cells came from; it is read only when it took over
    /// from another. Panics on a key of another ledger's layout.
    #[inline]
    pub fn at_limit(&self, ledger: &Ledger, key: KeyId) -> bool {
        debug_assert!(std::sync::Arc::ptr_eq(&self.blocks, &ledger.blocks));
        let c = cell_in(&self.blocks, key);
        if c.limit == u32::MAX {
            return false;
        }
        let held = if self.carries { ledger.held(key) } else { c.current.load(Ordering::Acquire) };
        held >= c.limit
    }

    /// Starts loading `key`'s cell (see [`Ledger::prefetch`]).
    #[inline]
    pub fn prefetch(&self, key: KeyId) {
        prefetch_in(&self.blocks, key);
    }
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ledger")
            .field("keys", &self.config.len())
            .field("in_use", &self.in_use())
            .finish()
    }
}

/// Yields the keys of `keys` that did not occur earlier in it: a key named twice in one
/// acquisition counts once.
pub(crate) fn distinct(keys: &[KeyId]) -> impl Iterator<Item = KeyId> + '_ {
    keys.iter().enumerate().filter(|(i, k)| !keys[..*i].contains(k)).map(|(_, k)| *k)
}

impl Ledger {
    /// Takes one unit of every key in `keys`, or none: the first key at its limit refuses,
    /// the units already taken are given back, and its rejection count goes up.
    pub fn try_acquire(&self, keys: &[KeyId]) -> Result<Permit<'_>, Refused> {
        crate::permit::try_acquire(self, keys)
    }

    pub(crate) fn acquire_keys(&self, keys: &[KeyId]) -> Result<(), Refused> {
        for i in 0..keys.len() {
            if keys[..i].contains(&keys[i]) {
                continue;
            }
            if let Err(refused) = self.acquire_one(keys[i]) {
                self.release_keys(&keys[..i]);
                return Err(refused);
            }
        }
        Ok(())
    }

    pub(crate) fn release_keys(&self, keys: &[KeyId]) {
        for i in 0..keys.len() {
            if !keys[..i].contains(&keys[i]) {
                self.release_one(keys[i]);
            }
        }
    }

    /// The cells, to keep beside the other fields a caller reads on its hot path: asking
    /// them whether a key is at its limit skips the ledger's own first line.
    pub fn cells(&self) -> Cells {
        Cells { blocks: self.blocks.clone(), carries: self.before.is_some() }
    }

    /// Starts loading `key`'s cell into the cache, for a caller that will read it after
    /// other work (see [`tpr_types::prefetch`]).
    #[inline]
    pub fn prefetch(&self, key: KeyId) {
        prefetch_in(&self.blocks, key);
    }

    #[inline]
    fn cell(&self, key: KeyId) -> &Cell {
        cell_in(&self.blocks, key)
    }

    /// The configuration of `key`. Panics on an id this ledger did not hand out.
    fn config(&self, key: KeyId) -> (usize, &KeyConfig) {
        let i = self.config_of.get(key.index()).map_or(usize::MAX, |&i| i as usize);
        match self.config.get(i) {
            Some(cfg) => (i, cfg),
            None => panic!("{key:?} is not a key of this ledger"),
        }
    }

    /// What the ledgers this one took over from still hold under `key`'s name.
    fn carried(&self, key: KeyId) -> u32 {
        match &self.before {
            None => 0,
            Some(p) => match p.keys.get(key.index()).copied().flatten() {
                Some(old) => p.ledger.held(old),
                None => 0,
            },
        }
    }

    /// Calls `key` carries now, counting those that started before a reload and still hold
    /// the same-named key of an earlier ledger ([`LedgerBuilder::build_after`]).
    #[inline]
    pub fn held(&self, key: KeyId) -> u32 {
        self.current(key).saturating_add(self.carried(key))
    }

    fn acquire_one(&self, key: KeyId) -> Result<(), Refused> {
        let c = self.cell(key);
        let mut current = c.current.load(Ordering::Relaxed);
        // Read once: it only goes down, so a stale value errs on the side of refusing.
        let carried = self.carried(key);
        loop {
            if current.saturating_add(carried) >= c.limit {
                let (i, cfg) = self.config(key);
                self.rejected[i].fetch_add(1, Ordering::Relaxed);
                return Err(Refused { key, class: cfg.class, limit: cfg.limit });
            }
            match c.current.compare_exchange_weak(
                current,
                current + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        let now = current + 1;
        // A locked read-modify-write only when the peak actually rises, which after warm-up
        // is almost never: the plain load keeps the common path at one CAS.
        if now > c.peak.load(Ordering::Relaxed) {
            c.peak.fetch_max(now, Ordering::Relaxed);
        }
        // Counts move by one, so the way up crosses the threshold exactly when it reaches it:
        // one alert per crossing, however many calls come after.
        if c.alert_at == now.saturating_add(carried) {
            self.alerts[self.config(key).0].fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn release_one(&self, key: KeyId) {
        let before = self.cell(key).current.fetch_sub(1, Ordering::AcqRel);
        debug_assert!(before > 0, "released {key:?} more often than acquired");
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.config.len()
    }

    /// Has the ledger no keys?
    pub fn is_empty(&self) -> bool {
        self.config.is_empty()
    }

    /// A key by name.
    pub fn key(&self, name: &str) -> Option<KeyId> {
        self.names.get(name).copied()
    }

    /// The keys, in the order they were added.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = KeyId> + '_ {
        self.ids.iter().copied()
    }

    /// A key's name.
    pub fn name(&self, key: KeyId) -> &str {
        &self.config(key).1.name
    }

    /// A key's class.
    pub fn class(&self, key: KeyId) -> LimitClass {
        self.config(key).1.class
    }

    /// A key's limit (`None`: unlimited).
    #[inline]
    pub fn limit(&self, key: KeyId) -> Option<u32> {
        Some(self.cell(key).limit).filter(|&l| l != u32::MAX)
    }

    /// Calls a key carries now.
    #[inline]
    pub fn current(&self, key: KeyId) -> u32 {
        self.cell(key).current.load(Ordering::Acquire)
    }

    /// The most calls a key has carried at once.
    pub fn peak(&self, key: KeyId) -> u32 {
        self.cell(key).peak.load(Ordering::Relaxed)
    }

    /// Calls a key has refused.
    pub fn rejected(&self, key: KeyId) -> u64 {
        self.rejected[self.config(key).0].load(Ordering::Relaxed)
    }

    /// Times a key's count has risen to its alert threshold.
    pub fn alerts(&self, key: KeyId) -> u64 {
        self.alerts[self.config(key).0].load(Ordering::Relaxed)
    }

    /// Units held over all keys: after a run has drained, anything but 0 is a leaked permit.
    pub fn in_use(&self) -> u64 {
        self.blocks
            .iter()
            .flat_map(|b| &b.0)
            .map(|c| u64::from(c.current.load(Ordering::Acquire)))
            .sum()
    }

    /// Every key's counters, read while calls go on (each value is exact at its own moment).
    pub fn snapshot(&self) -> Snapshot {
        let keys = self
            .ids
            .iter()
            .enumerate()
            .map(|(i, &key)| {
                let cfg = &self.config[i];
                let current = self.current(key);
                KeyStats {
                    key,
                    name: cfg.name.clone(),
                    class: cfg.class,
                    limit: self.limit(key),
                    current,
                    peak: self.peak(key),
                    rejected: self.rejected(key),
                    alerts: self.alerts(key),
                    alerting: cfg.alert_at.is_some_and(|a| current >= a),
                }
            })
            .collect();
        Snapshot { keys }
    }
}

/// One key's counters at the time of a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStats {
    /// The key.
    pub key: KeyId,
    /// Its name.
    pub name: String,
    /// Its class.
    pub class: LimitClass,
    /// Its limit (`None`: unlimited).
    pub limit: Option<u32>,
    /// Calls now.
    pub current: u32,
    /// Most calls at once so far.
    pub peak: u32,
    /// Calls refused so far.
    pub rejected: u64,
    /// Alerts raised so far.
    pub alerts: u64,
    /// At or above the alert threshold now.
    pub alerting: bool,
}

/// All keys' counters, from [`Ledger::snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// One entry per key, in key order.
    pub keys: Vec<KeyStats>,
}

impl Snapshot {
    /// Calls held over all keys.
    pub fn in_use(&self) -> u64 {
        self.keys.iter().map(|k| u64::from(k.current)).sum()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A builder's clones and the ledgers built from them hold one copy of the key names and
    /// limits; a key added to a clone copies them for that clone only.
    #[test]
    fn clones_and_ledgers_share_the_key_table() {
        let mut b = LedgerBuilder::new(Defaults::default());
        b.user_number("+14255550100").unwrap();
        b.gateway("sbc1.example.com", Some(10), Some(100)).unwrap();
        let (one, two) = (b.clone().build(), b.clone().build());
        assert!(Shared::ptr_eq(&one.config, &two.config) && Shared::ptr_eq(&b.keys, &one.config));
        assert!(Shared::ptr_eq(&one.names, &b.names));
        let mut grown = b.clone();
        grown.user_number("+14255550101").unwrap();
        assert!(!Shared::ptr_eq(&grown.keys, &b.keys));
        assert_eq!((b.len(), grown.len()), (2, 3));
        assert_eq!(one.key("+14255550101"), None);
        assert!(grown.build().key("+14255550101").is_some());
        let mut other = b.clone();
        other.tenant("contoso", None).unwrap();
        assert!(!b.same_layout(&other) && b.same_layout(&b.clone()));
    }
}
