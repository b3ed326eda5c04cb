//! Where counters live. [`Ledger`] (in-process atomics) is the default; the trait lets a
//! shared store stand in for several router instances without changing the code that takes
//! permits.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::ledger::{KeyId, Ledger, distinct};
use crate::limits::{LimitClass, Refused};

/// Counters behind permits. Implementations must make `try_acquire_keys` all-or-nothing and
/// never let a count exceed its limit or go below zero.
pub trait Store: Send + Sync {
    /// Takes one unit of every key, or none; a key named twice counts once.
    fn try_acquire_keys(&self, keys: &[KeyId]) -> Result<(), Refused>;
    /// Gives back one unit of every key (each key once) taken by `try_acquire_keys`.
    fn release_keys(&self, keys: &[KeyId]);
}

impl Store for Ledger {
    fn try_acquire_keys(&self, keys: &[KeyId]) -> Result<(), Refused> {
        self.acquire_keys(keys)
    }

    fn release_keys(&self, keys: &[KeyId]) {
        Ledger::release_keys(self, keys);
    }
}

/// Counters in a `Mutex<HashMap>`: the obvious implementation, kept as the baseline the
/// benchmarks compare the ledger with, and as a second [`Store`] for the tests.
#[derive(Debug, Default)]
pub struct MutexStore {
    inner: Mutex<HashMap<KeyId, Entry>>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    current: u32,
    limit: u32,
    class: LimitClass,
}

impl MutexStore {
    /// A store with the same keys and limits as `ledger`, all at zero.
    pub fn like(ledger: &Ledger) -> MutexStore {
        let map = ledger
            .keys()
            .map(|k| {
                (
                    k,
                    Entry {
                        current: 0,
                        limit: ledger.limit(k).unwrap_or(u32::MAX),
                        class: ledger.class(k),
                    },
                )
            })
            .collect();
        MutexStore { inner: Mutex::new(map) }
    }

    /// Calls a key carries now (0 for an unknown key).
    pub fn current(&self, key: KeyId) -> u32 {
        self.lock().get(&key).map_or(0, |e| e.current)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<KeyId, Entry>> {
        // A poisoned lock only means another thread panicked; the counts are still whole
        // because every update below is a single assignment.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for MutexStore {
    fn try_acquire_keys(&self, keys: &[KeyId]) -> Result<(), Refused> {
        let mut map = self.lock();
        for key in distinct(keys) {
            let e = map.get(&key).copied().unwrap_or(Entry {
                current: 0,
                limit: 0,
                class: LimitClass::Tenant,
            });
            if e.current >= e.limit {
                return Err(Refused { key, class: e.class, limit: e.limit });
            }
        }
        for key in distinct(keys) {
            if let Some(e) = map.get_mut(&key) {
                e.current += 1;
            }
        }
        Ok(())
    }

    fn release_keys(&self, keys: &[KeyId]) {
        let mut map = self.lock();
        for key in distinct(keys) {
            if let Some(e) = map.get_mut(&key) {
                e.current = e.current.saturating_sub(1);
            }
        }
    }
}
