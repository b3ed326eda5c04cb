//! Discrete-event simulation of Teams Phone PSTN traffic through tpr's real routing pipeline.
//!
//! A [`Scenario`] (read with [`ScenarioFile::parse`] and bound to a compiled tenant with
//! [`ScenarioFile::bind`]) says what traffic arrives, how gateways, carriers and call queues
//! behave and which faults happen. [`run`] plays one repetition in virtual time and returns a
//! [`Report`]; [`run_all`] plays every repetition, on worker threads if asked, and merges
//! them. Traces of real calls ([`trace`]) replay through the same machinery.

#![deny(missing_docs)]

mod dialing;
pub mod duration;
pub mod fuzzing;
mod invites;
mod queue;
mod report;
mod run;
mod scenario;
mod shard;
pub mod trace;

pub use invites::{Invite, InviteCall, InviteLog};
pub use report::{
    Bucket, ByConnectivity, Emergency, GatewayReport, Latency, PoolReport, QueueReport, Report,
    TrafficReport,
};
pub use run::{MAX_LIVE_CALLS, RunOptions, SimError, run, run_with_invites};
pub use scenario::{
    Arrivals, Behaviour, Destination, DestinationKind, Direction, Fault, FaultKind, Hold, Leg,
    MAX_CALLS, MAX_RATE_PER_S, MAX_REPETITIONS, QueueBehaviour, Response, Scenario, ScenarioError,
    ScenarioErrors, ScenarioFile, Traffic, Via,
};
pub use shard::{run_all, run_many};
