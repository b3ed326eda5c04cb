//! The attempt machine: one call's way through its candidate gateways, sans I/O.
//!
//! The driver (the simulator, a test, one day a SIP front end) feeds [`Input`]s — a gateway's
//! response, a timer firing, a network error, the caller hanging up — with the time they
//! happen, and drains [`Output`]s: send an INVITE, arm or cancel the failover timer, the call
//! connected, failed, released. The machine keeps no clock and does no I/O, so the same input
//! sequence always gives the same outputs.
//!
//! Failover follows the spec (§4.4 rules 6–8): a final code in the gateway's
//! `failover_response_codes` moves on to the next candidate, any other final code ends the
//! call, and nothing fails over after a non-100 provisional response (no double ringing).
//! `failover_time_seconds` without a final or non-100 provisional counts as a 408 and moves
//! on. A network error retries the same gateway (another datacenter) up to three tries in
//! all, then moves on. There is no next usage and no Calling Plan fallback: when the
//! candidates are exhausted the call fails with the last code.
//!
//! Capacity: the admission keys (caller number, tenant, operator trunk) are taken when the
//! machine starts, and a gateway's key when that gateway is tried; a gateway at its enforced
//! cap answers 503 at once. Every permit is released exactly once, on every path: when an
//! attempt ends, and when the call ends ([`Output::Released`] is the last output of a call).

use std::sync::Arc;

use smallvec::SmallVec;
use tpr_capacity::{Ledger, LimitClass, OwnedPermit, try_acquire_owned};

use crate::engine::Engine;
use crate::ids::{GatewayId, RouteId, TrunkId};
use crate::outbound::{Candidate, Candidates, Decision, Outcome, Reject};

/// How often a gateway is tried after network errors (datacenters), spec §4.4 rule 8.
pub const NETWORK_TRIES: u8 = 3;

/// The code reported for a gateway that was unreachable from every datacenter.
pub const NETWORK_FAILURE: u16 = 0;

/// Something that happened to the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A SIP response from the gateway being tried (100–699).
    Response(u16),
    /// The failover timer armed by [`Output::ArmTimer`] fired.
    Timer,
    /// The INVITE could not reach the gateway from this datacenter.
    NetworkError,
    /// The caller hung up (or, once connected, either side did).
    HangUp,
}

/// Why a call did not connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Refused at admission.
    Rejected(Reject),
    /// A final response that does not fail over (486 busy, or anything after ringing).
    Final(u16),
    /// Every candidate failed; the last code (408 for a timeout, 0 for the network).
    Exhausted(u16),
    /// The caller hung up before an answer.
    CallerHungUp,
}

/// What the driver must do or know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Send an INVITE to this gateway (`try_no` counts datacenter retries from 1).
    Invite {
        /// The gateway.
        gateway: GatewayId,
        /// The route that chose it.
        route: RouteId,
        /// 1 for the first try, up to [`NETWORK_TRIES`].
        try_no: u8,
    },
    /// The gateway was at its enforced session cap and answered 503 without a call.
    CapRefused {
        /// The gateway.
        gateway: GatewayId,
    },
    /// Send the call to the operator trunk or the Microsoft PSTN.
    InviteCarrier {
        /// The operator trunk, or `None` for the Microsoft PSTN (Calling Plan).
        trunk: Option<TrunkId>,
    },
    /// Arm the failover timer (replacing any armed one) to fire at [`Attempt::timer`], read
    /// when this output is taken: a later output of the same batch may have re-armed or
    /// cancelled it. (Carrying the time here would double the size of every output, and an
    /// attempt keeps a few of them inline.)
    ArmTimer,
    /// Disarm the failover timer.
    CancelTimer,
    /// The callee is ringing (a non-100 provisional): no failover from here on.
    Ringing,
    /// Send CANCEL to the gateway being tried (the caller hung up first).
    Cancel,
    /// Answered.
    Connected,
    /// The call failed.
    Failed(Failure),
    /// Every permit is back; the machine is finished. Always the last output.
    Released,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Trying,
    Ringing,
    Connected,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leg {
    Direct,
    Carrier(Option<TrunkId>),
}

/// One call's attempts. 160 bytes: candidates inline, two permits, a few outputs.
#[derive(Debug)]
pub struct Attempt {
    candidates: Candidates,
    next: u8,
    tries: u8,
    phase: Phase,
    leg: Leg,
    timer_armed: bool,
    timer_at: u64,
    last_code: u16,
    current: Option<Candidate>,
    admission: Option<OwnedPermit>,
    gateway: Option<OwnedPermit>,
    /// Outputs not yet taken are `outputs[taken..]` (taking one moves nothing; the list
    /// empties when the last is taken).
    outputs: SmallVec<[Output; 4]>,
    taken: u32,
}

impl Attempt {
    /// Starts the attempts of a decision that goes to the PSTN (Direct Routing, Calling Plan,
    /// Operator Connect). Takes the admission permit and tries the first candidate. `None`
    /// for decisions that do not leave the tenant or were refused.
    pub fn start(
        engine: &Engine,
        ledger: &Arc<Ledger>,
        decision: &Decision,
        now_ms: u64,
    ) -> Option<Attempt> {
        let (leg, candidates) = match &decision.outcome {
            Outcome::Direct { candidates, .. } => (Leg::Direct, candidates.clone()),
            Outcome::CallingPlan(_) => (Leg::Carrier(None), Candidates::new()),
            Outcome::Operator(t) => (Leg::Carrier(Some(*t)), Candidates::new()),
            _ => return None,
        };
        let mut a = Attempt {
            candidates,
            next: 0,
            tries: 0,
            phase: Phase::Trying,
            leg,
            timer_armed: false,
            timer_at: 0,
            last_code: NETWORK_FAILURE,
            current: None,
            admission: None,
            gateway: None,
            outputs: SmallVec::new(),
            taken: 0,
        };
        match try_acquire_owned(ledger, &decision.admission) {
            Ok(p) => a.admission = Some(p),
            Err(refused) => {
                let reason = match refused.class {
                    LimitClass::Trunk => Reject::TrunkFull,
                    _ => Reject::CapacityExceeded,
                };
                a.fail(Failure::Rejected(reason));
                return Some(a);
            }
        }
        match leg {
            Leg::Direct => a.next_gateway(engine, ledger, now_ms),
            Leg::Carrier(trunk) => a.outputs.push(Output::InviteCarrier { trunk }),
        }
        Some(a)
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        let out = *self.outputs.get(self.taken as usize)?;
        self.taken += 1;
        if self.taken as usize == self.outputs.len() {
            self.outputs.clear();
            self.taken = 0;
        }
        Some(out)
    }

    /// Is the machine finished (everything released)?
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Is the call answered and up?
    pub fn is_connected(&self) -> bool {
        self.phase == Phase::Connected
    }

    /// The candidate being tried or connected.
    pub fn current(&self) -> Option<Candidate> {
        self.current
    }

    /// The gateways tried so far, in order.
    pub fn tried(&self) -> &[Candidate] {
        &self.candidates[..usize::from(self.next).min(self.candidates.len())]
    }

    /// When the armed failover timer fires, if one is armed.
    pub fn timer(&self) -> Option<u64> {
        self.timer_armed.then_some(self.timer_at)
    }

    /// Feeds one input at time `now_ms`. `engine` and `ledger` must be the ones the call
    /// started with. Inputs that make no sense in the current phase (a response after the
    /// end, a stale timer) are ignored.
    pub fn handle_input(
        &mut self,
        engine: &Engine,
        ledger: &Arc<Ledger>,
        input: Input,
        now_ms: u64,
    ) {
        let live = matches!(self.phase, Phase::Trying | Phase::Ringing);
        match input {
            Input::Response(code) if self.phase == Phase::Trying && (101..=199).contains(&code) => {
                self.phase = Phase::Ringing;
                self.cancel_timer();
                self.outputs.push(Output::Ringing);
            }
            Input::Response(code) if live && (100..=199).contains(&code) => {}
            Input::Response(code) if live && (200..=299).contains(&code) => {
                self.cancel_timer();
                self.phase = Phase::Connected;
                self.outputs.push(Output::Connected);
            }
            Input::Response(code) if live && (300..=699).contains(&code) => {
                self.cancel_timer();
                self.gateway = None;
                self.last_code = code;
                let fails_over = self.phase == Phase::Trying
                    && match (self.leg, self.current) {
                        (Leg::Direct, Some(c)) => engine.failover_codes(c.gateway).contains(&code),
                        _ => false,
                    };
                if fails_over {
                    self.next_gateway(engine, ledger, now_ms);
                } else {
                    self.fail(Failure::Final(code));
                }
            }
            Input::Timer
                if self.phase == Phase::Trying && self.timer_armed && now_ms >= self.timer_at =>
            {
                self.timer_armed = false;
                self.gateway = None;
                self.last_code = 408;
                self.outputs.push(Output::Cancel);
                self.next_gateway(engine, ledger, now_ms);
            }
            Input::NetworkError if self.phase == Phase::Trying => match (self.leg, self.current) {
                (Leg::Direct, Some(c)) if self.tries < NETWORK_TRIES => {
                    self.tries += 1;
                    self.outputs.push(Output::Invite {
                        gateway: c.gateway,
                        route: c.route,
                        try_no: self.tries,
                    });
                    self.arm_timer(engine, c.gateway, now_ms);
                }
                (Leg::Direct, Some(_)) => {
                    self.cancel_timer();
                    self.gateway = None;
                    self.last_code = NETWORK_FAILURE;
                    self.next_gateway(engine, ledger, now_ms);
                }
                _ => {
                    self.last_code = 503;
                    self.fail(Failure::Exhausted(503));
                }
            },
            Input::HangUp => match self.phase {
                Phase::Connected => self.finish(),
                Phase::Trying | Phase::Ringing => {
                    self.outputs.push(Output::Cancel);
                    self.fail(Failure::CallerHungUp);
                }
                Phase::Done => {}
            },
            _ => {}
        }
    }

    fn arm_timer(&mut self, engine: &Engine, g: GatewayId, now_ms: u64) {
        self.timer_armed = true;
        self.timer_at = now_ms + engine.gateways[g.index()].failover_ms;
        self.outputs.push(Output::ArmTimer);
    }

    fn cancel_timer(&mut self) {
        if self.timer_armed {
            self.timer_armed = false;
            self.outputs.push(Output::CancelTimer);
        }
    }

    /// Tries candidates from `next` on until one takes an INVITE, or fails the call.
    fn next_gateway(&mut self, engine: &Engine, ledger: &Arc<Ledger>, now_ms: u64) {
        while let Some(&c) = self.candidates.get(usize::from(self.next)) {
            self.next += 1;
            self.current = Some(c);
            match try_acquire_owned(ledger, &[engine.gateway_key(c.gateway)]) {
                Ok(p) => {
                    self.gateway = Some(p);
                    self.tries = 1;
                    self.outputs.push(Output::Invite {
                        gateway: c.gateway,
                        route: c.route,
                        try_no: 1,
                    });
                    self.arm_timer(engine, c.gateway, now_ms);
                    return;
                }
                Err(_) => {
                    // The SBC's own limit: it answers 503 to the INVITE.
                    self.outputs.push(Output::CapRefused { gateway: c.gateway });
                    self.last_code = 503;
                    if !engine.failover_codes(c.gateway).contains(&503) {
                        self.fail(Failure::Final(503));
                        return;
                    }
                }
            }
        }
        self.fail(Failure::Exhausted(self.last_code));
    }

    fn fail(&mut self, why: Failure) {
        self.cancel_timer();
        self.outputs.push(Output::Failed(why));
        self.finish();
    }

    fn finish(&mut self) {
        self.gateway = None;
        self.admission = None;
        self.phase = Phase::Done;
        self.outputs.push(Output::Released);
    }
}
