//! Per-call routing decisions, as Teams Phone makes them, and the failover machine.
//!
//! An [`Engine`] is a tenant compiled once: effective dial plans, every voice routing policy's
//! routes in one automaton per policy, emergency policies, reverse number lookup, unassigned
//! numbers and blocked patterns, minute pools, and the capacity key layout. It never changes;
//! share it between threads. What changes while calls run lives in a [`State`] (capacity
//! ledger, gateway health, minute pools, credits, spend), and each thread keeps one
//! [`Scratch`], for whichever engines it decides with, so that deciding allocates nothing.
//!
//! - [`Engine::decide`]: the outbound pipeline of spec §4, returning a [`Decision`] value:
//!   internal, an unassigned-number treatment, Direct Routing with its gateways in try order,
//!   Calling Plan with the pool to charge, Operator Connect with its trunk, or a [`Reject`].
//! - [`Engine::decide_inbound`]: the inbound pipeline of spec §7.
//! - [`Attempt`]: the sans-IO machine that walks the candidates with SIP responses and timers
//!   as inputs, taking and releasing capacity permits.
//! - [`Router`]: the engine and state behind an atomic pointer, reloaded whole or not at all.
//!
//! ```
//! use tpr_router::{Call, Engine, Outcome, Scratch, State};
//!
//! let tenant = tpr_tenant::Tenant::from_toml_str(r#"
//! [tenant]
//! name = "contoso"
//! country = "US"
//! [[gateways]]
//! fqdn = "sbc1.contoso.com"
//! sip_signaling_port = 5061
//! enabled = true
//! pstn_usages = ["US"]
//! [[voice_routes]]
//! name = "US"
//! number_pattern = '^\+1\d{10}$'
//! gateways = ["sbc1.contoso.com"]
//! usages = ["US"]
//! [[voice_routing_policies]]
//! name = "Global"
//! usages = ["US"]
//! [[users]]
//! id = "alice"
//! number = "+14255550101"
//! number_type = "direct_routing"
//! "#, "contoso.toml").unwrap();
//! let engine = Engine::compile(&tenant).unwrap();
//! let state = State::new(&engine);
//! let mut scratch = Scratch::new();
//! let mut rng = rand::rngs::mock::StepRng::new(0, 1);
//! let alice = engine.party("alice").unwrap();
//! let d = engine.decide(&state, &Call::new(alice, "(425) 555-0100"), &mut scratch, &mut rng, 0);
//! assert_eq!(scratch.number, "+14255550100");
//! assert!(matches!(d.outcome, Outcome::Direct { .. }));
//! ```

#![deny(missing_docs)]

mod attempt;
mod carrier;
pub mod country;
mod engine;
pub mod fuzzing;
mod ids;
mod inbound;
mod intern;
mod numbers;
mod outbound;
mod router;
mod scratch;
mod state;

pub use attempt::{Attempt, Failure, Input, NETWORK_FAILURE, NETWORK_TRIES, Output};
pub use engine::{CompileError, DialOut, Engine, PartyKind, PoolInfo, TreatmentTo};
pub use ids::{GatewayId, PoolId, RouteId, SiteId, TrunkId, UserId};
pub use inbound::{Delivery, InboundCall, InboundDecision, InboundOutcome, InboundReject};
pub use intern::{InternStats, Interner};
pub use outbound::{
    Call, CallAhead, CallerId, Candidate, Candidates, Client, Decision, Ingress, Location, Outcome,
    Prefetch, Reject,
};
pub use router::{Loaded, Router};
pub use scratch::Scratch;
pub use state::{Charge, HEALTH_WINDOW_MS, Settlement, State};
