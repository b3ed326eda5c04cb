//! The inbound decision (spec §7): trunk translation, blocking, reverse number lookup,
//! unassigned numbers, toll-free credits, capacity of the called number, LBR, and what the
//! callee's policies do with the call.

use smallvec::SmallVec;
use tpr_capacity::KeyId;
use tpr_tenant::{BusyOnBusy, InboundTreatment, NumberType, OverflowAction, Voicemail};

use crate::engine::{Engine, PartyKind, TreatmentTo};
use crate::ids::UserId;
use crate::outbound::{Ingress, Location};
use crate::scratch::Scratch;
use crate::state::State;

/// One inbound PSTN call.
#[derive(Debug, Clone, Copy)]
pub struct InboundCall<'a> {
    /// The called number, as the PSTN sends it.
    pub called: &'a str,
    /// The caller's number.
    pub caller: &'a str,
    /// How it arrives.
    pub via: Ingress,
    /// The SBC asked for voicemail (`opaque=app:voicemail`).
    pub voicemail: bool,
}

/// How a delivered call reaches its callee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// It rings.
    Ring,
    /// Straight to voicemail.
    Voicemail,
    /// The callee's unanswered settings.
    Unanswered,
    /// An auto attendant answers.
    AutoAttendant,
    /// It waits in a call queue (take [`InboundDecision::queue`] while it waits).
    Queue,
}

/// Why an inbound call was refused; [`InboundReject::sip_code`] is what the caller hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InboundReject {
    /// The caller is blocked (403).
    Blocked,
    /// No such number, no treatment (404).
    NotFound,
    /// The called number is at its concurrent-call limit, or busy-on-busy (486).
    Busy,
    /// The operator trunk is full (503).
    TrunkFull,
    /// A toll-free number with no communications credits (403).
    NoCredits,
    /// A call queue is full and disconnects with busy (486).
    QueueOverflow,
    /// An unassigned Calling Plan subscriber number has a treatment, but routing it needs
    /// communications credits and there are none (404, spec §5.4, §7 step 6).
    UnassignedNoCredits,
}

impl InboundReject {
    /// The SIP response (spec §8 Q17).
    pub fn sip_code(self) -> u16 {
        match self {
            InboundReject::Blocked | InboundReject::NoCredits => 403,
            InboundReject::NotFound | InboundReject::UnassignedNoCredits => 404,
            InboundReject::Busy | InboundReject::QueueOverflow => 486,
            InboundReject::TrunkFull => 503,
        }
    }

    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            InboundReject::Blocked => "blocked",
            InboundReject::NotFound => "not-found",
            InboundReject::Busy => "busy",
            InboundReject::TrunkFull => "trunk-full",
            InboundReject::NoCredits => "no-credits",
            InboundReject::QueueOverflow => "queue-overflow",
            InboundReject::UnassignedNoCredits => "unassigned-no-credits",
        }
    }
}

/// Where an inbound call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundOutcome {
    /// To a user or resource account.
    Deliver {
        /// The callee.
        to: UserId,
        /// How.
        delivery: Delivery,
        /// A blocked caller redirected to a resource account.
        redirected: bool,
    },
    /// An unassigned-number announcement, played once.
    Announcement(u16),
    /// Refused.
    Rejected(InboundReject),
}

/// The decision for one inbound call. The translated called and calling numbers are left in
/// [`Scratch::number`] and [`Scratch::caller`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundDecision {
    /// Where the call goes.
    pub outcome: InboundOutcome,
    /// Capacity keys to take while the call lasts (called number, tenant, operator trunk).
    pub admission: SmallVec<[KeyId; 4]>,
    /// For a call queue: the key of its waiting callers (taken while waiting; at its limit
    /// the caller overflows).
    pub queue: Option<KeyId>,
    /// What the queue does on overflow.
    pub overflow: Option<OverflowAction>,
    /// The callee's caller ID policy hides the caller.
    pub anonymous_caller: bool,
    /// A toll-free number: the minutes are paid from communications credits.
    pub toll_free: bool,
}

impl InboundDecision {
    fn new(outcome: InboundOutcome) -> InboundDecision {
        InboundDecision {
            outcome,
            admission: SmallVec::new(),
            queue: None,
            overflow: None,
            anonymous_caller: false,
            toll_free: false,
        }
    }

    fn reject(r: InboundReject) -> InboundDecision {
        InboundDecision::new(InboundOutcome::Rejected(r))
    }
}

impl Engine {
    /// Decides one inbound call.
    pub fn decide_inbound(
        &self,
        state: &State,
        call: &InboundCall<'_>,
        scratch: &mut Scratch,
    ) -> InboundDecision {
        // 1–2. Entry and the gateway's inbound translation rules.
        scratch.number.clear();
        scratch.caller.clear();
        let mut trunk_key = None;
        match call.via {
            Ingress::Gateway(g) => {
                let rec = &self.gateways[g.index()];
                for (list, input, out) in
                    [(&rec.inbound_teams, call.called, 0), (&rec.inbound_pstn, call.caller, 1)]
                {
                    let mut done = false;
                    for t in list {
                        if t.apply_into(input, &mut scratch.translation, &mut scratch.tmp) {
                            done = true;
                            break;
                        }
                    }
                    let target = if out == 0 { &mut scratch.number } else { &mut scratch.caller };
                    target.push_str(if done { &scratch.tmp } else { input });
                }
            }
            Ingress::Operator(t) => {
                trunk_key = Some(self.trunks[t.index()].key);
                scratch.number.push_str(call.called);
                scratch.caller.push_str(call.caller);
            }
            Ingress::CallingPlan => {
                scratch.number.push_str(call.called);
                scratch.caller.push_str(call.caller);
            }
        }
        if let Some(k) = trunk_key
            && state.at_limit(k)
        {
            return InboundDecision::reject(InboundReject::TrunkFull);
        }
        // 3. Only E.164 reaches a tenant.
        if !scratch.number.starts_with('+') {
            return InboundDecision::reject(InboundReject::NotFound);
        }
        // 4. Blocking: the caller with `-()` removed.
        let mut redirected_to = None;
        if let Some(b) = &self.blocking {
            scratch.tmp.clear();
            scratch.tmp.extend(scratch.caller.chars().filter(|c| !"-()".contains(*c)));
            let caller = scratch.tmp.as_str();
            let hit = b.blocked.first(scratch.caches.set(&b.blocked), caller);
            let exempt = hit.is_some() && b.exempt.is_match(scratch.caches.set(&b.exempt), caller);
            if let Some(i) = hit
                && !exempt
            {
                match (b.redirect[i], call.via) {
                    (Some(ra), Ingress::Gateway(_) | Ingress::Operator(_)) => {
                        redirected_to = Some(ra)
                    }
                    _ => return InboundDecision::reject(InboundReject::Blocked),
                }
            }
        }
        // 5–6. Reverse number lookup, else unassigned-number treatment.
        let callee = match redirected_to.or_else(|| self.lookup(&scratch.number)) {
            Some(u) => u,
            None => {
                let Some(t) =
                    self.unassigned.first(scratch.caches.set(&self.unassigned), &scratch.number)
                else {
                    return InboundDecision::reject(InboundReject::NotFound);
                };
                // A number that reaches the tenant from the Microsoft PSTN is one of its
                // Calling Plan numbers; unassigned, it is a subscriber number (service numbers
                // are assigned to resource accounts), and routing it needs credits.
                if call.via == Ingress::CallingPlan && !state.credits_positive(self) {
                    return InboundDecision::reject(InboundReject::UnassignedNoCredits);
                }
                match self.treatments[t].to {
                    TreatmentTo::Announcement => {
                        let mut d = InboundDecision::new(InboundOutcome::Announcement(t as u16));
                        d.admission.extend(trunk_key);
                        return d;
                    }
                    TreatmentTo::Party(u) => u,
                }
            }
        };
        let p = &self.parties[callee.index()];
        // 7. Toll-free Calling Plan service numbers are paid from credits.
        let toll_free = p.toll_free && p.number_type != Some(NumberType::DirectRouting);
        if toll_free && !state.credits_positive(self) {
            return InboundDecision::reject(InboundReject::NoCredits);
        }
        // 8. Capacity of the called number.
        let ledger = &state.ledger;
        if let Some(k) = p.number_key
            && ledger.limit(k).is_some_and(|l| ledger.held(k) >= l)
        {
            return InboundDecision::reject(InboundReject::Busy);
        }
        let mut d = InboundDecision::new(InboundOutcome::Rejected(InboundReject::NotFound));
        d.admission.extend(p.number_key);
        d.admission.push(self.tenant_key);
        d.admission.extend(trunk_key);
        d.toll_free = toll_free;
        d.anonymous_caller = self.caller_id_substitute(callee).block_incoming;
        let deliver = |delivery| InboundOutcome::Deliver {
            to: callee,
            delivery,
            redirected: redirected_to.is_some(),
        };
        d.outcome = match p.kind {
            PartyKind::AutoAttendant => deliver(Delivery::AutoAttendant),
            PartyKind::CallQueue => {
                let cold = &self.party_cold[callee.index()];
                d.queue = cold.queue_key;
                d.overflow = cold.queue.map(|q| q.overflow_action);
                deliver(Delivery::Queue)
            }
            PartyKind::User => {
                // 9. LBR when the call came in through an LBR gateway.
                let lbr_refused = match call.via {
                    Ingress::Gateway(g) if self.gateways[g.index()].lbr => {
                        !self.lbr_allows_inbound(g, callee)
                    }
                    _ => false,
                };
                let policy = &self.calling[p.calling as usize];
                let voicemail_on = policy.allow_voicemail != Voicemail::AlwaysDisabled;
                let in_call = p.number_key.is_some_and(|k| ledger.held(k) > 0);
                if lbr_refused {
                    deliver(Delivery::Unanswered)
                } else if call.voicemail && voicemail_on {
                    deliver(Delivery::Voicemail)
                } else {
                    match policy.inbound_pstn_call_routing_treatment {
                        InboundTreatment::Voicemail if voicemail_on => deliver(Delivery::Voicemail),
                        InboundTreatment::Voicemail | InboundTreatment::Unanswered => {
                            deliver(Delivery::Unanswered)
                        }
                        _ => match policy.busy_on_busy {
                            BusyOnBusy::Enabled if in_call => {
                                return InboundDecision::reject(InboundReject::Busy);
                            }
                            BusyOnBusy::Unanswered if in_call => deliver(Delivery::Unanswered),
                            _ => deliver(Delivery::Ring),
                        },
                    }
                }
            }
        };
        d
    }

    fn lbr_allows_inbound(&self, g: crate::ids::GatewayId, callee: UserId) -> bool {
        let p = &self.parties[callee.index()];
        self.lbr_allows_for(self.route_words.hot(g), p, Location::Assigned)
    }
}
