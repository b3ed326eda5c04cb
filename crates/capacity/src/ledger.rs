//! The ledger: one cache-padded counter per key, and the all-or-nothing acquisition.

use std::collections::HashMap;
use std::fmt;

use crossbeam_utils::CachePadded;

use crate::limits::{
    BuildError, Defaults, LimitClass, MAX_GATEWAY_SESSIONS, MAX_QUEUE_OVERFLOW, Refused,
};
use crate::permit::Permit;
use crate::sync::{AtomicU32, AtomicU64, Ordering};

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

/// Counters of one key, on their own cache line so that two cores working on two keys never
/// share a line.
struct Counter {
    current: AtomicU32,
    peak: AtomicU32,
    rejected: AtomicU64,
    alerts: AtomicU64,
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
/// makes several independent ledgers (one per simulation shard, say).
#[derive(Debug, Clone)]
pub struct LedgerBuilder {
    defaults: Defaults,
    keys: Vec<KeyConfig>,
    names: HashMap<String, KeyId>,
}

impl LedgerBuilder {
    /// An empty builder with these class defaults.
    pub fn new(defaults: Defaults) -> LedgerBuilder {
        LedgerBuilder { defaults, keys: Vec::new(), names: HashMap::new() }
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
        let id = KeyId(u32::try_from(self.keys.len()).map_err(|_| BuildError::TooManyKeys)?);
        self.keys.push(KeyConfig {
            name: name.to_owned(),
            class,
            limit: limit.unwrap_or(u32::MAX),
            alert_at,
        });
        self.names.insert(name.to_owned(), id);
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
        self.keys == other.keys
    }

    /// Number of keys so far.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// No keys yet?
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Builds the ledger, all counters at zero.
    pub fn build(self) -> Ledger {
        let counters = self
            .keys
            .iter()
            .map(|_| {
                CachePadded::new(Counter {
                    current: AtomicU32::new(0),
                    peak: AtomicU32::new(0),
                    rejected: AtomicU64::new(0),
                    alerts: AtomicU64::new(0),
                })
            })
            .collect();
        let limits = self.keys.iter().map(|k| k.limit).collect();
        Ledger { config: self.keys, names: self.names, counters, limits }
    }
}

/// Concurrent-call counters for a fixed set of keys. Share it (`&Ledger`, `Arc<Ledger>`)
/// between threads; every method takes `&self`.
pub struct Ledger {
    config: Vec<KeyConfig>,
    names: HashMap<String, KeyId>,
    counters: Box<[CachePadded<Counter>]>,
    /// The limits again, densely: a router peeking at a number's limit reads 4 bytes, not a
    /// whole `KeyConfig`.
    limits: Box<[u32]>,
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

    fn acquire_one(&self, key: KeyId) -> Result<(), Refused> {
        let c = &self.counters[key.index()];
        let cfg = &self.config[key.index()];
        let mut current = c.current.load(Ordering::Relaxed);
        loop {
            if current >= cfg.limit {
                c.rejected.fetch_add(1, Ordering::Relaxed);
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
        if cfg.alert_at == Some(now) {
            c.alerts.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn release_one(&self, key: KeyId) {
        let before = self.counters[key.index()].current.fetch_sub(1, Ordering::AcqRel);
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

    /// A key's name.
    pub fn name(&self, key: KeyId) -> &str {
        &self.config[key.index()].name
    }

    /// A key's class.
    pub fn class(&self, key: KeyId) -> LimitClass {
        self.config[key.index()].class
    }

    /// A key's limit (`None`: unlimited).
    #[inline]
    pub fn limit(&self, key: KeyId) -> Option<u32> {
        Some(self.limits[key.index()]).filter(|&l| l != u32::MAX)
    }

    /// Calls a key carries now.
    #[inline]
    pub fn current(&self, key: KeyId) -> u32 {
        self.counters[key.index()].current.load(Ordering::Acquire)
    }

    /// The most calls a key has carried at once.
    pub fn peak(&self, key: KeyId) -> u32 {
        self.counters[key.index()].peak.load(Ordering::Relaxed)
    }

    /// Calls a key has refused.
    pub fn rejected(&self, key: KeyId) -> u64 {
        self.counters[key.index()].rejected.load(Ordering::Relaxed)
    }

    /// Times a key's count has risen to its alert threshold.
    pub fn alerts(&self, key: KeyId) -> u64 {
        self.counters[key.index()].alerts.load(Ordering::Relaxed)
    }

    /// Units held over all keys: after a run has drained, anything but 0 is a leaked permit.
    pub fn in_use(&self) -> u64 {
        self.counters.iter().map(|c| u64::from(c.current.load(Ordering::Acquire))).sum()
    }

    /// Every key's counters, read while calls go on (each value is exact at its own moment).
    pub fn snapshot(&self) -> Snapshot {
        let keys = (0..self.config.len())
            .map(|i| {
                let key = KeyId(i as u32);
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
