//! Concurrent-call limits: how many calls a number, a gateway, an operator trunk, a call queue
//! or a tenant may carry at once.
//!
//! A [`Ledger`] is built once from the configuration ([`LedgerBuilder`]) with one counter per
//! key, addressed by a [`KeyId`] that is its counter's position: no hashing on the hot path.
//! Numbers' counters are packed eight to a 128-byte block; gateways, trunks, tenants and
//! queues each have a block of their own. [`Ledger::try_acquire`] takes several keys at once (caller number,
//! callee service number, gateway, tenant) all-or-nothing: at the first key at its limit it
//! gives back what it took and says which key refused. A [`Permit`] releases its keys when
//! dropped, exactly once, from whichever thread drops it.
//!
//! Teams' `MaxConcurrentSessions` on a gateway never refuses a call: it raises an alert at
//! 90 %. A gateway key can carry both that alert threshold and an enforced cap (the SBC's own
//! limit, above which it answers 503).
//!
//! ```
//! use tpr_capacity::{Defaults, LedgerBuilder};
//!
//! let mut b = LedgerBuilder::new(Defaults::default());
//! let alice = b.user_number("+14255550101").unwrap();
//! let sbc1 = b.gateway("sbc1.contoso.com", Some(1), Some(100)).unwrap();
//! let ledger = b.build();
//!
//! let call = ledger.try_acquire(&[alice, sbc1]).unwrap();
//! let refused = ledger.try_acquire(&[alice, sbc1]).unwrap_err();
//! assert_eq!(refused.key, sbc1);            // the SBC's cap of 1 refused
//! assert_eq!(ledger.current(alice), 1);     // and Alice's unit was given back
//! drop(call);
//! assert_eq!(ledger.in_use(), 0);
//! ```
//!
//! The [`Store`] trait is the seam for counters that live elsewhere (a shared store for several
//! router instances): callers take permits through it and do not change.

#![deny(missing_docs)]

mod ledger;
mod limits;
mod permit;
mod store;
mod sync;

pub use ledger::{Cells, KeyId, KeyStats, Ledger, LedgerBuilder, Snapshot};
pub use limits::{BuildError, Defaults, LimitClass, Refused};
pub use permit::{OwnedPermit, Permit, try_acquire, try_acquire_owned};
pub use store::{MutexStore, Store};
