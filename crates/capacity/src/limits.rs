//! Classes of limits, their defaults, and the errors around them.

use std::fmt;

use crate::ledger::KeyId;

/// What a key counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitClass {
    /// A user's phone number: one person, a few calls (spec §6.1).
    UserNumber,
    /// The number of an auto attendant or call queue: hundreds of calls.
    ServiceNumber,
    /// A Direct Routing SBC: its enforced cap, and Teams' alert threshold.
    Gateway,
    /// An Operator Connect trunk.
    Trunk,
    /// A whole tenant.
    Tenant,
    /// Callers waiting in a call queue: the overflow threshold.
    Queue,
}

impl fmt::Display for LimitClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LimitClass::UserNumber => "user number",
            LimitClass::ServiceNumber => "service number",
            LimitClass::Gateway => "gateway",
            LimitClass::Trunk => "operator trunk",
            LimitClass::Tenant => "tenant",
            LimitClass::Queue => "call queue",
        })
    }
}

/// Default limits per class (tenant file `[capacity]`). Teams publishes no figures for
/// numbers; these are tpr's (spec §6.1, §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    /// Calls a user number carries at once: an active call plus one waiting or consult call.
    pub user_number_max_calls: u32,
    /// Calls a service number carries at once: a queue of up to 200 waiting callers while up
    /// to 200 agents talk, plus headroom.
    pub service_number_max_calls: u32,
    /// Callers waiting in a call queue before it overflows (Teams: 50, at most 200).
    pub queue_overflow_threshold: u32,
}

impl Default for Defaults {
    fn default() -> Defaults {
        Defaults {
            user_number_max_calls: 2,
            service_number_max_calls: 500,
            queue_overflow_threshold: 50,
        }
    }
}

/// Teams: `MaxConcurrentSessions` is 1 to 100,000.
pub const MAX_GATEWAY_SESSIONS: u32 = 100_000;
/// Teams: a call queue's overflow threshold is 0 to 200.
pub const MAX_QUEUE_OVERFLOW: u32 = 200;

/// A key at its limit refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{class} key {} is at its limit of {limit} concurrent calls", key.as_u32())]
pub struct Refused {
    /// The key that refused.
    pub key: KeyId,
    /// Its class.
    pub class: LimitClass,
    /// Its limit.
    pub limit: u32,
}

/// A ledger could not be built as configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// Two keys with one name.
    #[error("capacity key {0:?} is defined twice")]
    Duplicate(String),
    /// A limit outside what Teams allows.
    #[error("{name}: {what} must be {min} to {max}, got {value}")]
    OutOfRange {
        /// The key's name.
        name: String,
        /// Which setting.
        what: &'static str,
        /// The value given.
        value: u32,
        /// Smallest allowed.
        min: u32,
        /// Largest allowed.
        max: u32,
    },
    /// More keys than a `u32` id can address.
    #[error("more than {} capacity keys", u32::MAX)]
    TooManyKeys,
}
