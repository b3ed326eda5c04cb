//! Permits: units of several keys, held while a call lasts and given back exactly once.

use std::fmt;

use crate::ledger::{KeyId, Ledger};
use crate::limits::Refused;
use crate::store::Store;
use crate::sync::Arc;

/// Keys of one permit, inline: a call takes a handful (caller, callee, gateway, tenant). A
/// longer list goes to the heap.
#[derive(Clone)]
enum Keys {
    Inline { len: u8, keys: [KeyId; INLINE] },
    Heap(Box<[KeyId]>),
}

const INLINE: usize = 4;

impl Keys {
    fn new(keys: &[KeyId]) -> Keys {
        if keys.len() <= INLINE {
            let mut inline = [KeyId::from_u32(0); INLINE];
            // A plain loop: for a handful of ids it beats a call to memcpy.
            for (slot, key) in inline.iter_mut().zip(keys) {
                *slot = *key;
            }
            Keys::Inline { len: keys.len() as u8, keys: inline }
        } else {
            Keys::Heap(keys.into())
        }
    }

    fn as_slice(&self) -> &[KeyId] {
        match self {
            Keys::Inline { len, keys } => &keys[..*len as usize],
            Keys::Heap(keys) => keys,
        }
    }
}

/// Units of some keys of a store, released when the permit is dropped. It borrows the store;
/// see [`OwnedPermit`] for one that keeps the store alive itself.
#[must_use = "dropping a permit releases it at once"]
pub struct Permit<'s, S: Store + ?Sized = Ledger> {
    store: &'s S,
    keys: Keys,
}

/// Takes one unit of every key, all or nothing.
pub fn try_acquire<'s, S: Store + ?Sized>(
    store: &'s S,
    keys: &[KeyId],
) -> Result<Permit<'s, S>, Refused> {
    store.try_acquire_keys(keys)?;
    Ok(Permit { store, keys: Keys::new(keys) })
}

impl<S: Store + ?Sized> Permit<'_, S> {
    /// The keys this permit holds, as they were asked for.
    pub fn keys(&self) -> &[KeyId] {
        self.keys.as_slice()
    }

    /// Releases the keys now (the same as dropping the permit).
    pub fn release(self) {}
}

impl<S: Store + ?Sized> Drop for Permit<'_, S> {
    fn drop(&mut self) {
        self.store.release_keys(self.keys.as_slice());
    }
}

impl<S: Store + ?Sized> fmt::Debug for Permit<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("keys", &self.keys.as_slice()).finish()
    }
}

/// A permit that owns a reference to its store, so that it can outlive the scope that took
/// it and move freely between threads (admitted on one worker, hung up on another).
#[must_use = "dropping a permit releases it at once"]
pub struct OwnedPermit<S: Store + ?Sized = Ledger> {
    store: Arc<S>,
    keys: Keys,
}

/// Takes one unit of every key, all or nothing, into a permit that keeps `store` alive.
pub fn try_acquire_owned<S: Store + ?Sized>(
    store: &Arc<S>,
    keys: &[KeyId],
) -> Result<OwnedPermit<S>, Refused> {
    store.try_acquire_keys(keys)?;
    Ok(OwnedPermit { store: store.clone(), keys: Keys::new(keys) })
}

impl<S: Store + ?Sized> OwnedPermit<S> {
    /// The keys this permit holds, as they were asked for.
    pub fn keys(&self) -> &[KeyId] {
        self.keys.as_slice()
    }

    /// Releases the keys now (the same as dropping the permit).
    pub fn release(self) {}
}

impl<S: Store + ?Sized> Drop for OwnedPermit<S> {
    fn drop(&mut self) {
        self.store.release_keys(self.keys.as_slice());
    }
}

impl<S: Store + ?Sized> fmt::Debug for OwnedPermit<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit").field("keys", &self.keys.as_slice()).finish()
    }
}
