//! The INVITEs a run sent to Direct Routing gateways, kept when asked for so that a load test
//! can send the same calls to a real SBC (`tpr sim --sipp`, which writes SIPp injection
//! files from them).
//!
//! Only a run that asks keeps the log: the simulator's hot path pays one branch otherwise.
//! Each call is kept once (caller, caller ID, number, talk time) and each INVITE refers to it,
//! so failovers and retries cost a few bytes each.

use tpr_router::{CallerId, GatewayId, UserId};

/// Every INVITE of a run to a Direct Routing gateway, in the order sent.
#[derive(Debug, Clone, Default)]
pub struct InviteLog {
    invites: Vec<Invite>,
    calls: Vec<LoggedCall>,
    /// The calls' numbers, end to end.
    numbers: String,
    /// Per slot of the run: the call it holds, in `calls`.
    slot_call: Vec<u32>,
}

/// One INVITE: when, to which gateway, for which call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invite {
    /// Simulated time it was sent, ms from the start of the run.
    pub at_ms: u64,
    /// The gateway it went to.
    pub gateway: GatewayId,
    call: u32,
}

#[derive(Debug, Clone)]
struct LoggedCall {
    caller: UserId,
    caller_id: CallerId,
    number: (u32, u32),
    talk_ms: u64,
}

/// What an INVITE's call was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InviteCall<'a> {
    /// The user who called.
    pub caller: UserId,
    /// The caller ID the call presents.
    pub caller_id: CallerId,
    /// The number called, as the dial plan left it (the dial string for emergency calls),
    /// before the gateway's outbound translation rules.
    pub number: &'a str,
    /// How long the caller talks once answered, ms.
    pub talk_ms: u64,
}

impl InviteLog {
    /// A Direct Routing call starts in `slot`.
    pub(crate) fn begin(
        &mut self,
        slot: u32,
        caller: UserId,
        caller_id: CallerId,
        number: &str,
        talk_ms: u64,
    ) {
        let start = self.numbers.len() as u32;
        self.numbers.push_str(number);
        let call = self.calls.len() as u32;
        self.calls.push(LoggedCall {
            caller,
            caller_id,
            number: (start, self.numbers.len() as u32),
            talk_ms,
        });
        let slot = slot as usize;
        if self.slot_call.len() <= slot {
            self.slot_call.resize(slot + 1, u32::MAX);
        }
        self.slot_call[slot] = call;
    }

    /// The call in `slot` sends an INVITE to `gateway` at `at_ms`.
    pub(crate) fn invite(&mut self, slot: u32, gateway: GatewayId, at_ms: u64) {
        let call = self.slot_call[slot as usize];
        debug_assert!(call != u32::MAX, "slot {slot} invites without a logged call");
        self.invites.push(Invite { at_ms, gateway, call });
    }

    /// The INVITEs, in the order sent.
    pub fn invites(&self) -> &[Invite] {
        &self.invites
    }

    /// The call an INVITE belongs to.
    pub fn call(&self, invite: &Invite) -> InviteCall<'_> {
        let c = &self.calls[invite.call as usize];
        InviteCall {
            caller: c.caller,
            caller_id: c.caller_id,
            number: &self.numbers[c.number.0 as usize..c.number.1 as usize],
            talk_ms: c.talk_ms,
        }
    }

    /// Direct Routing calls that started an attempt (each sends one INVITE or more).
    pub fn calls(&self) -> usize {
        self.calls.len()
    }
}
