//! Call traces to replay: tpr's own CSV, Asterisk `Master.csv` and the Teams PSTN usage
//! report export.

use tpr_router::{Ingress, UserId};

use crate::scenario::Direction;

/// How a traced call ended, which the replay makes the far end do again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceOutcome {
    /// Answered; it lasted `hold_ms`.
    Answered,
    /// Rang until the caller gave up.
    NoAnswer,
    /// Refused with a final SIP code.
    Code(u16),
}

/// One call of a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceCall {
    /// Line of the trace it came from.
    pub line: u64,
    /// When it started, relative to the first call.
    pub at_ms: u64,
    /// Outbound (a user calls out) or inbound (the PSTN calls a tenant number).
    pub direction: Direction,
    /// The caller: a user id or a number.
    pub caller: String,
    /// The caller resolved to a party of the tenant, when known.
    pub caller_party: Option<UserId>,
    /// What was dialed (outbound) or the called number (inbound).
    pub dialed: String,
    /// How an inbound call arrived, when the trace says.
    pub via: Option<Ingress>,
    /// Talk time.
    pub hold_ms: u64,
    /// How it ended.
    pub outcome: TraceOutcome,
}
