//! The outbound decision (spec §4): gates, normalization, emergency, reverse number lookup,
//! unassigned numbers, capacity, dial-out policy, then Direct Routing, Operator Connect or
//! Calling Plan.

use std::fmt;
use std::sync::Arc;

use rand::Rng;
use smallvec::SmallVec;
use tpr_capacity::KeyId;
use tpr_dialplan::Mode;
use tpr_dialplan::cleanup::clean_into;
use tpr_tenant::{CallerIdSubstitute, CallingPlan, NumberType};

use crate::carrier::{CarrierEmergency, carrier_emergency};
use crate::country::is_domestic_from;
use crate::engine::{DialOut, Engine, GatewayHot, Party, PartyKind, RouteTable};
use crate::ids::{GatewayId, RouteId, SiteId, TrunkId, UserId};
use crate::scratch::{AutomatonCaches, Scratch};
use crate::state::{Charge, State};

/// What kind of client places the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Client {
    /// Desktop, mobile or phone.
    #[default]
    Desktop,
    /// Teams on the web.
    Web,
}

/// Where the caller is, for Location-Based Routing and site emergency policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Location {
    /// The user's assigned network site (or an unknown network if none).
    #[default]
    Assigned,
    /// At this site.
    Site(SiteId),
    /// On a network the tenant does not know.
    Unknown,
}

impl Location {
    /// The site index this location puts party `p` at, if any (a site the tenant does not
    /// have is an unknown network).
    pub(crate) fn site(self, p: &Party, sites: usize) -> Option<u16> {
        match self {
            Location::Assigned => p.site,
            Location::Site(s) => Some(s.0).filter(|&i| usize::from(i) < sites),
            Location::Unknown => None,
        }
    }
}

/// How a forwarded or transferred call came into the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingress {
    /// From this Direct Routing gateway.
    Gateway(GatewayId),
    /// From the Microsoft PSTN (a Calling Plan number).
    CallingPlan,
    /// From an operator trunk.
    Operator(TrunkId),
}

/// One outbound call to decide.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The user or resource account calling.
    pub caller: UserId,
    /// What they dialed.
    pub dialed: &'a str,
    /// Client kind.
    pub client: Client,
    /// Network location.
    pub location: Location,
    /// For a forwarded or transferred inbound PSTN call: how it came in.
    pub ingress: Option<Ingress>,
    /// The user chose to hide their number (honoured if the policy allows it).
    pub hide_caller_id: bool,
}

impl<'a> Call<'a> {
    /// The gateway a forwarded call came in through, if it came over Direct Routing.
    fn ingress_gateway(&self) -> Option<GatewayId> {
        match self.ingress {
            Some(Ingress::Gateway(g)) => Some(g),
            _ => None,
        }
    }

    /// A call from `caller` to `dialed`, from a desktop client at the caller's own site.
    pub fn new(caller: UserId, dialed: &'a str) -> Call<'a> {
        Call {
            caller,
            dialed,
            client: Client::Desktop,
            location: Location::Assigned,
            ingress: None,
            hide_caller_id: false,
        }
    }
}

/// Why a call was refused (spec §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reject {
    /// The calling policy disallows calls (`allow_private_calling = false`).
    CallingDisabled,
    /// PSTN calls from the web client are off.
    WebPstnDisabled,
    /// The caller has no phone number, so no Enterprise Voice.
    NotVoiceEnabled,
    /// Not a dial string (spec §3.1).
    InvalidDialString,
    /// An emergency call found no route or gateway.
    EmergencyFailed,
    /// The carrier does not carry emergency calls here (Calling Plan in Japan).
    EmergencyNotSupported,
    /// The caller's number (or the tenant) is at its concurrent-call limit.
    CapacityExceeded,
    /// The dial-out policy forbids this destination.
    DialOutPolicy,
    /// The caller's spend limit is reached.
    SpendLimit,
    /// No route, no Operator Connect number, no Calling Plan.
    NoRoute,
    /// A route matched but every gateway failed or none could be tried.
    AllGatewaysFailed,
    /// Location-Based Routing left no gateway.
    LbrNotAllowed,
    /// The operator trunk is full.
    TrunkFull,
    /// The minute pool is empty and nothing pays for more.
    NoMinutes,
    /// The call needs communications credits and there are none.
    NoCredits,
    /// A pay-as-you-go call with nothing to pay for it.
    PaygUnfunded,
    /// A resource account may not forward a PSTN call out over another connectivity.
    CrossTrunkTransfer,
}

impl Reject {
    /// The name used in reports (`no-route`).
    pub fn as_str(self) -> &'static str {
        match self {
            Reject::CallingDisabled => "calling-disabled",
            Reject::WebPstnDisabled => "web-pstn-disabled",
            Reject::NotVoiceEnabled => "not-voice-enabled",
            Reject::InvalidDialString => "invalid-dial-string",
            Reject::EmergencyFailed => "emergency-failed",
            Reject::EmergencyNotSupported => "emergency-not-supported",
            Reject::CapacityExceeded => "capacity-exceeded",
            Reject::DialOutPolicy => "dial-out-policy",
            Reject::SpendLimit => "spend-limit",
            Reject::NoRoute => "no-route",
            Reject::AllGatewaysFailed => "all-gateways-failed",
            Reject::LbrNotAllowed => "lbr-not-allowed",
            Reject::TrunkFull => "trunk-full",
            Reject::NoMinutes => "no-minutes",
            Reject::NoCredits => "no-credits",
            Reject::PaygUnfunded => "payg-unfunded",
            Reject::CrossTrunkTransfer => "cross-trunk-transfer",
        }
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A gateway to try, with the route that brought it in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// The gateway.
    pub gateway: GatewayId,
    /// Its route.
    pub route: RouteId,
}

/// Gateways in try order. Inline up to 8; Teams routes rarely name more.
pub type Candidates = SmallVec<[Candidate; 8]>;

/// Cache lines from the start of an [`Engine`] (which starts a line) that hold the fields
/// decisions read: it is `repr(C)` with those first, up to the number index, whose filter and
/// table pointers come first in it.
const HOT_HEADER_LINES: usize =
    (std::mem::offset_of!(Engine, numbers) + crate::numbers::NumberIndex::HOT_BYTES).div_ceil(64);
const _: () = assert!(std::mem::align_of::<Engine>() == 64);
const _: () = assert!(HOT_HEADER_LINES == 2);

/// The engine's third line: what some decisions read past the hot fields, together. An
/// emergency call reads the policies and the sites; a Calling Plan call or a domestic-only
/// policy the domestic groups. One line to ask for, one miss at most.
const _: () = {
    use std::mem::{offset_of, size_of};
    assert!(offset_of!(Engine, domestic_groups) >= 128);
    assert!(offset_of!(Engine, sites) >= 128);
    assert!(offset_of!(Engine, ecrps) + size_of::<Box<[crate::engine::EcrpRec]>>() <= 192);
};

/// Location-Based Routing's verdict on gateways for one caller (spec §4.6).
#[derive(Clone, Copy)]
enum LbrRule {
    /// Emergency calls: every gateway.
    Any,
    /// Gateways not enabled for LBR only.
    NotLbr,
    /// LBR gateways at this site only.
    Site(u16),
    /// No known site: LBR gateways that let users at unknown sites through.
    Override,
}

impl LbrRule {
    fn allows(self, g: GatewayHot) -> bool {
        match self {
            LbrRule::Any => true,
            LbrRule::NotLbr => !g.lbr,
            LbrRule::Site(s) => g.lbr && g.site == Some(s),
            LbrRule::Override => g.lbr && g.lbr_user_override,
        }
    }
}

/// The caller ID a call presents (spec §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerId {
    /// The caller's own number.
    Own,
    /// Anonymous.
    Anonymous,
    /// A resource account's number.
    Resource(UserId),
    /// The caller has no number to show.
    None,
}

/// Where the call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// To a user or resource account of the tenant, as a VoIP call.
    Internal(UserId),
    /// To an unassigned-number treatment (index into the engine's treatments).
    Treatment(u16),
    /// Over Direct Routing: the usage and the gateways in try order.
    Direct {
        /// Index of the PSTN usage.
        usage: u16,
        /// Gateways in try order.
        candidates: Candidates,
    },
    /// Over the Microsoft PSTN.
    CallingPlan(Charge),
    /// Over the caller's operator trunk.
    Operator(TrunkId),
    /// Refused.
    Rejected(Reject),
}

/// The decision for one outbound call. The normalized number (or emergency dial string) is
/// left in [`Scratch::number`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Where the call goes.
    pub outcome: Outcome,
    /// An emergency call (the number is the dial string).
    pub emergency: bool,
    /// The caller ID it presents.
    pub caller_id: CallerId,
    /// Capacity keys to take before the first attempt (caller number, tenant, trunk).
    pub admission: SmallVec<[KeyId; 4]>,
    /// Which dial-plan rules produced the number.
    pub normalization: tpr_dialplan::Outcome,
}

impl Decision {
    fn new(outcome: Outcome) -> Decision {
        Decision {
            outcome,
            emergency: false,
            caller_id: CallerId::None,
            admission: SmallVec::new(),
            normalization: tpr_dialplan::Outcome::default(),
        }
    }

    /// The report kind: `direct-routing`, `calling-plan`, `operator-connect`, `internal`,
    /// `emergency` or `rejected`.
    pub fn kind(&self) -> &'static str {
        match (&self.outcome, self.emergency) {
            (Outcome::Rejected(_), _) => "rejected",
            (_, true) => "emergency",
            (Outcome::Internal(_) | Outcome::Treatment(_), _) => "internal",
            (Outcome::Direct { .. }, _) => "direct-routing",
            (Outcome::CallingPlan(_), _) => "calling-plan",
            (Outcome::Operator(_), _) => "operator-connect",
        }
    }

    /// The reject reason, if refused.
    pub fn reject(&self) -> Option<Reject> {
        match self.outcome {
            Outcome::Rejected(r) => Some(r),
            _ => None,
        }
    }
}

/// A step of [`Engine::prefetch_call`]; each reads only what the one before asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefetch {
    /// The engine's and the state's hot fields.
    Header,
    /// The caller's party record, the gateways' OPTIONS times past the state's own lines, the
    /// tenant's number filter and, for a dial string short enough to be an emergency number,
    /// the engine's line of emergency policies and sites.
    Party,
    /// The caller's policies, route table, gateways, ledger cell and plan; for such a dial
    /// string, the caller's emergency policy with its first number; for a caller whose calls
    /// go to its Calling Plan, the domestic groups and its pool records; and for a
    /// dial string that the filter says is one of the tenant's numbers, its slot.
    Records,
    /// The automaton of the caller's route table (when its lines are few, see
    /// [`tpr_dialplan::PatternSet::lines`]): for tenants whose automata are too many to stay
    /// in cache, where a scan would otherwise wait for a line at every byte.
    Automata,
}

/// A call's dial-plan walk, asked for a step at a time from a few calls ahead (see
/// [`Engine::call_ahead`]).
#[derive(Debug, Clone, Copy)]
pub struct CallAhead<'a> {
    engine: &'a Engine,
    caller: UserId,
    dialed: &'a str,
    /// 0: the party next; 1: the plan slot; 2: the plan; 3: the walk's start; then the walk.
    phase: u8,
    walk: tpr_dialplan::Walk<'a>,
}

impl<'a> CallAhead<'a> {
    /// For the caller about to decide this call: asks again, side by side, for what the walk
    /// read that the decision will read too (see [`tpr_dialplan::Walk::refresh`]).
    #[inline]
    pub fn refresh(&self) {
        self.walk.refresh();
    }

    /// Has the walk read all of the dial string, so that [`Engine::decide_ahead`] takes its
    /// rule candidates instead of scanning the plan's rows (see
    /// [`tpr_dialplan::Walk::read_all`])?
    pub fn read_all(&self) -> bool {
        self.walk.read_all()
    }

    /// Reads what the step before asked for and asks for what comes next: the caller's
    /// party, its plan's slot, the plan, then the plan's first-match rows one byte of
    /// `dialed` at a time, then the records of the rule they lead to; alongside, the caller's
    /// route set (its first lines, rows and byte classes), the tenant's unassigned-number
    /// set (if it has any patterns) and, for a dial string short enough to be an emergency
    /// number, the caller's emergency policy. `false` once there is nothing more to ask for.
    #[inline]
    pub fn step(&mut self) -> bool {
        use tpr_types::prefetch;
        let e = self.engine;
        match self.phase {
            0 => {
                let Some(p) = e.parties.get(self.caller.index()) else { return false };
                prefetch(p);
            }
            1 => {
                let Some(p) = e.parties.get(self.caller.index()) else { return false };
                e.prefetch_plan(p.plan);
                if e.may_be_emergency(self.dialed) {
                    // Past the hot fields: the emergency policies and the sites.
                    prefetch(&e.ecrps);
                }
                // A set's first line (sets start one), where a scan of compact rows starts
                // reading.
                if e.any_unassigned {
                    prefetch(Arc::as_ptr(&e.unassigned));
                }
                if let Some(v) = p.vrp {
                    prefetch(e.vrps.as_ptr().wrapping_add(usize::from(v)));
                }
            }
            2 => {
                let Some(p) = e.parties.get(self.caller.index()) else { return false };
                let Some(plan) = e.plan(p.plan) else { return false };
                plan.prefetch_automaton();
                if e.may_be_emergency(self.dialed)
                    && let Some(r) = p.ecrp.and_then(|i| e.ecrps.get(usize::from(i)))
                {
                    tpr_types::prefetch_lines(r, crate::engine::EcrpRec::LINES);
                }
                if e.any_unassigned {
                    e.unassigned.lines().prefetch();
                }
                if let Some(v) = p.vrp.and_then(|v| e.vrps.get(usize::from(v))) {
                    // A scan of narrow rows held in the table leaves the set unread.
                    if v.rows.is_none() {
                        prefetch(Arc::as_ptr(&v.set));
                    }
                    v.lines.prefetch();
                }
            }
            3 => {
                let Some(p) = e.parties.get(self.caller.index()) else { return false };
                let Some(plan) = e.plan(p.plan) else { return false };
                self.walk = plan.walk(self.dialed);
                if let Some(v) = p.vrp.and_then(|v| e.vrps.get(usize::from(v))) {
                    match &v.rows {
                        Some(rows) => rows.prefetch_classes(),
                        None => v.set.prefetch_classes(),
                    }
                }
            }
            _ => return self.walk.step(),
        }
        self.phase += 1;
        true
    }
}

/// What Direct Routing made of a number.
enum Dr {
    NoMatch,
    Routed(u16),
    NoGateway { lbr: bool },
}

/// Shuffles `v` with an unbiased Fisher–Yates.
fn fisher_yates<T, R: Rng + ?Sized>(v: &mut [T], rng: &mut R) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

impl Engine {
    /// Decides one outbound call (spec §4). `now_ms` is the caller's clock (gateway health);
    /// `rng` breaks ties between gateways.
    pub fn decide<R: Rng + ?Sized>(
        &self,
        state: &State,
        call: &Call<'_>,
        scratch: &mut Scratch,
        rng: &mut R,
        now_ms: u64,
    ) -> Decision {
        self.decide_walked(state, call, None, scratch, rng, now_ms)
    }

    /// [`Engine::decide`] for a call whose [`CallAhead`] went ahead of it: when its walk read
    /// the whole dial string, normalization takes the rule candidates from the walk rather
    /// than reading the plan's rows again. The same decision as `decide`; a walk of another
    /// engine, caller or dial string is ignored.
    pub fn decide_ahead<R: Rng + ?Sized>(
        &self,
        state: &State,
        call: &Call<'_>,
        ahead: &CallAhead<'_>,
        scratch: &mut Scratch,
        rng: &mut R,
        now_ms: u64,
    ) -> Decision {
        let same = std::ptr::eq(ahead.engine, self)
            && ahead.caller == call.caller
            && ahead.dialed == call.dialed;
        self.decide_walked(state, call, same.then_some(&ahead.walk), scratch, rng, now_ms)
    }

    fn decide_walked<R: Rng + ?Sized>(
        &self,
        state: &State,
        call: &Call<'_>,
        walk: Option<&tpr_dialplan::Walk<'_>>,
        scratch: &mut Scratch,
        rng: &mut R,
        now_ms: u64,
    ) -> Decision {
        scratch.number.clear();
        // The rest of the engine's hot fields, while the caller's party loads.
        tpr_types::prefetch_lines(self, HOT_HEADER_LINES);
        let p = &self.parties[call.caller.index()];
        self.prefetch_for(state, p, call.dialed);
        self.numbers.prefetch_filter(call.dialed);
        // The pool's counter, whose pointer is in the pool's record `prefetch_for` asks for
        // (and asked for a few calls ago, when the caller prefetched the call): it loads
        // during cleanup and normalization.
        if self.reaches_calling_plan(p) {
            for pool in p.pools.into_iter().flatten() {
                state.prefetch_pool_counter(pool);
            }
        }
        // 1. Gates.
        if !p.gates.private_calling() {
            return Decision::new(Outcome::Rejected(Reject::CallingDisabled));
        }
        if call.client == Client::Web && !p.gates.web_pstn_calling() {
            return Decision::new(Outcome::Rejected(Reject::WebPstnDisabled));
        }
        if !p.has_number {
            return Decision::new(Outcome::Rejected(Reject::NotVoiceEnabled));
        }
        // 2. Cleanup (normalization itself follows emergency detection, which needs the
        // cleaned string).
        if clean_into(call.dialed, &mut scratch.dial).is_err() {
            return Decision::new(Outcome::Rejected(Reject::InvalidDialString));
        }
        let plan = self.plan_at(p.plan);
        // 3. Emergency.
        if let Some(d) = self.emergency(state, call, p, scratch, rng, now_ms) {
            return d;
        }
        let normalization = if self.naive
            && let Some(naive) = &self.naive_plans
        {
            match naive[p.plan as usize].normalize(call.dialed, Mode::Effective) {
                Ok(r) => {
                    scratch.number.push_str(&r.output);
                    tpr_dialplan::Outcome::default()
                }
                Err(_) => return Decision::new(Outcome::Rejected(Reject::InvalidDialString)),
            }
        } else {
            // Cleaned above: the plan starts from the cleaned string.
            let source = &mut scratch.caches.plan(plan);
            match walk {
                Some(w) => plan.normalize_walked(
                    source,
                    &scratch.dial,
                    Mode::Effective,
                    &mut scratch.number,
                    w,
                ),
                None => plan.normalize_clean(
                    source,
                    &scratch.dial,
                    Mode::Effective,
                    &mut scratch.number,
                ),
            }
        };
        let d = self.ordinary(state, call, p, scratch, rng, now_ms);
        let caller_id = if matches!(
            d.outcome,
            Outcome::Rejected(_) | Outcome::Internal(_) | Outcome::Treatment(_)
        ) {
            d.caller_id
        } else {
            self.caller_id(call, p)
        };
        Decision { normalization, caller_id, ..d }
    }

    /// Asks for the memory a decision for a call from `caller` dialing `dialed` will read,
    /// one [`Prefetch`] step at a time, for a caller that knows its next calls (a queue of pending calls, a
    /// load generator). With many tenants taking turns, a decision's tenant and caller are in
    /// no cache and their records form a chain (the engine names the party, the party its
    /// policies and counters), so a decision alone waits for one miss after another. Issuing
    /// the steps in order, a few decisions apart (`tpr bench`: [`Prefetch::Header`] six calls
    /// ahead, [`Prefetch::Party`] four and [`Prefetch::Records`] two), keeps each step reading
    /// only lines the step before asked for long enough ago to have come from memory, and the
    /// misses of the next calls overlap with this one's work. A hint: it changes no result,
    /// reads nothing that can fault, and an unknown caller is ignored. `dialed` only says
    /// whether the call may be an emergency call, whose policy is asked for then.
    #[inline]
    pub fn prefetch_call(&self, state: &State, caller: UserId, dialed: &str, step: Prefetch) {
        use tpr_types::{prefetch, prefetch_lines};
        match step {
            Prefetch::Header => {
                prefetch_lines(self, HOT_HEADER_LINES);
                state.prefetch();
            }
            Prefetch::Party => {
                if let Some(p) = self.parties.get(caller.index()) {
                    prefetch(p);
                }
                state.prefetch_gateways();
                if self.may_be_emergency(dialed) {
                    // Past the hot fields: the emergency policies and the sites.
                    prefetch(&self.ecrps);
                }
                // For `Records` to read.
                self.numbers.prefetch_filter(dialed);
            }
            Prefetch::Records => {
                if let Some(p) = self.parties.get(caller.index()) {
                    self.prefetch_for(state, p, dialed);
                }
                // An internal call dialed in E.164: its number's slot, which the decision
                // reads once normalization has left the number as it is.
                self.numbers.prefetch_slot(dialed);
            }
            Prefetch::Automata => {
                if let Some(p) = self.parties.get(caller.index())
                    && let Some(v) = p.vrp.and_then(|v| self.vrps.get(v as usize))
                {
                    if v.rows.is_none() {
                        tpr_types::prefetch(Arc::as_ptr(&v.set));
                    }
                    v.lines.prefetch();
                }
            }
        }
    }

    /// Is `dialed` short enough to be one of the tenant's emergency numbers or masks (before
    /// cleanup, which only shortens it)? Only such calls read the emergency policies, which
    /// are past the hot fields.
    #[inline]
    fn may_be_emergency(&self, dialed: &str) -> bool {
        dialed.len() <= self.emergency_max_len as usize
    }

    /// The start of a [`CallAhead`] for a call from `caller` dialing `dialed`: asks for the
    /// engine's hot fields; each [`CallAhead::step`] then reads what the one before asked for.
    /// With thousands of tenants with their own dial plans, a decision waits for a line at
    /// every byte it walks through its plan's automaton; interleaving the walks of the next
    /// calls (a step of each per decision) asks for all of those lines in time, their misses
    /// overlapping.
    #[inline]
    pub fn call_ahead<'a>(&'a self, caller: UserId, dialed: &'a str) -> CallAhead<'a> {
        tpr_types::prefetch_lines(self, HOT_HEADER_LINES);
        CallAhead { engine: self, caller, dialed, phase: 0, walk: tpr_dialplan::Walk::default() }
    }

    /// Asks for the lines of this tenant that a decision for `p` reads after cleanup and
    /// normalization, so that they load during that work rather than one after another
    /// (thousands of tenants taking turns leave them in no cache), and the caller's emergency
    /// policy for a dial string short enough to be an emergency number.
    // Out of line, as it was before it grew: inlined into `decide_walked`, one tenant ran
    // 2-3 % slower at the same instruction count (session 32, five alternating pairs).
    #[inline(never)]
    fn prefetch_for(&self, state: &State, p: &Party, dialed: &str) {
        use tpr_types::prefetch;
        if !p.gates.own_caller_id() {
            prefetch(&self.caller_id[p.caller_id as usize]);
        }
        if let Some(v) = p.vrp.and_then(|v| self.vrps.get(v as usize)) {
            prefetch(v);
        }
        // The route tables' entries and the routes' gateways: all of a small tenant's.
        self.route_words.prefetch();
        self.prefetch_plan(p.plan);
        // The emergency policy only for a dial string short enough to be one of its numbers:
        // `ecrps` is past the hot fields.
        if self.may_be_emergency(dialed)
            && let Some(e) = p.ecrp.and_then(|e| self.ecrps.get(usize::from(e)))
        {
            tpr_types::prefetch_lines(e, crate::engine::EcrpRec::LINES);
        }
        state.prefetch_gateways();
        if let Some(k) = p.number_key {
            state.prefetch_cell(k);
        }
        // Past the hot fields: what a Calling Plan call reads (whether its number is
        // domestic, its pool), for a caller whose calls go there unless they are internal
        // or emergency calls, and the domestic groups for a policy that allows only those.
        let calling_plan = self.reaches_calling_plan(p);
        if calling_plan || p.dial_out == DialOut::Domestic {
            prefetch(&self.domestic_groups);
        }
        if calling_plan {
            for pool in p.pools.into_iter().flatten() {
                state.prefetch_pool(pool);
            }
        }
    }

    /// Do the caller's calls to numbers outside the tenant go to its Calling Plan (it has
    /// one, and no voice routing policy or Operator Connect number that takes them first)?
    #[inline]
    fn reaches_calling_plan(&self, p: &Party) -> bool {
        p.calling_plan != CallingPlan::None
            && p.vrp.is_none()
            && !(p.number_type == Some(NumberType::OperatorConnect) && p.trunk.is_some())
    }

    fn ordinary<R: Rng + ?Sized>(
        &self,
        state: &State,
        call: &Call<'_>,
        p: &Party,
        scratch: &mut Scratch,
        rng: &mut R,
        now_ms: u64,
    ) -> Decision {
        let number = scratch.number.as_str();
        // 4. Reverse number lookup: a number of the tenant is an internal call.
        if let Some(callee) = self.lookup(number) {
            return Decision::new(Outcome::Internal(callee));
        }
        // 5. Unassigned numbers of the tenant.
        if self.any_unassigned
            && let Some(t) = self.unassigned.first(scratch.caches.set(&self.unassigned), number)
        {
            return Decision::new(Outcome::Treatment(t as u16));
        }
        // 6. Capacity of the caller's number.
        if let Some(k) = p.number_key
            && state.at_limit(k)
        {
            return Decision::new(Outcome::Rejected(Reject::CapacityExceeded));
        }
        // 7. Dial-out policy.
        // Asked only of a policy that limits calls to domestic ones and of Calling Plan
        // calls: the groups are past the hot fields.
        let domestic = || is_domestic_from(p.region, p.calling_code, number, &self.domestic_groups);
        match p.dial_out {
            DialOut::Disabled => return Decision::new(Outcome::Rejected(Reject::DialOutPolicy)),
            DialOut::Domestic if !domestic() => {
                return Decision::new(Outcome::Rejected(Reject::DialOutPolicy));
            }
            _ => {}
        }
        let mut admission: SmallVec<[KeyId; 4]> = SmallVec::new();
        if let Some(k) = p.number_key {
            admission.push(k);
        }
        admission.push(self.tenant_key);
        // 9. Connectivity: Direct Routing first; a match never falls through.
        if let Some(v) = p.vrp {
            let mut candidates = Candidates::new();
            let table = &self.vrps[v as usize];
            let dr = self.route_direct(
                state,
                table,
                &mut scratch.caches,
                number,
                Some((p, call.location)),
                call.ingress_gateway(),
                rng,
                now_ms,
                &mut candidates,
            );
            match dr {
                Dr::NoMatch => {}
                Dr::Routed(usage) => {
                    if p.kind != PartyKind::User
                        && matches!(call.ingress, Some(Ingress::CallingPlan | Ingress::Operator(_)))
                    {
                        return Decision::new(Outcome::Rejected(Reject::CrossTrunkTransfer));
                    }
                    let mut d = Decision::new(Outcome::Direct { usage, candidates });
                    d.admission = admission;
                    return d;
                }
                Dr::NoGateway { lbr } => {
                    let r = if lbr { Reject::LbrNotAllowed } else { Reject::AllGatewaysFailed };
                    return Decision::new(Outcome::Rejected(r));
                }
            }
        }
        if !number.starts_with('+') {
            return Decision::new(Outcome::Rejected(Reject::NoRoute));
        }
        let cross = |ok: bool| p.kind != PartyKind::User && call.ingress.is_some() && !ok;
        if p.number_type == Some(NumberType::OperatorConnect)
            && let Some(t) = p.trunk
        {
            if cross(matches!(call.ingress, Some(Ingress::Operator(_)))) {
                return Decision::new(Outcome::Rejected(Reject::CrossTrunkTransfer));
            }
            admission.extend(p.trunk_key);
            let mut d = Decision::new(Outcome::Operator(t));
            d.admission = admission;
            return d;
        }
        if p.calling_plan != CallingPlan::None {
            if cross(matches!(call.ingress, Some(Ingress::CallingPlan))) {
                return Decision::new(Outcome::Rejected(Reject::CrossTrunkTransfer));
            }
            let outcome = self.calling_plan_step(state, call.caller, p, domestic());
            let mut d = Decision::new(outcome);
            if !matches!(d.outcome, Outcome::Rejected(_)) {
                d.admission = admission;
            }
            return d;
        }
        Decision::new(Outcome::Rejected(Reject::NoRoute))
    }

    /// Spec §5.3.
    fn calling_plan_step(&self, state: &State, u: UserId, p: &Party, domestic: bool) -> Outcome {
        use CallingPlan::{Domestic, Domestic120, Domestic240, International, PayAsYouGo};
        let pool = match (p.calling_plan, domestic) {
            (Domestic | Domestic120 | Domestic240 | International, true) => p.pools[0],
            (International, false) => p.pools[1],
            _ => None,
        };
        if let Some(pool) = pool
            && state.pool_left(pool) > 0
        {
            return Outcome::CallingPlan(Charge::Pool(pool));
        }
        if state.spend_reached(self, u) {
            return Outcome::Rejected(Reject::SpendLimit);
        }
        if state.funded(self) {
            return Outcome::CallingPlan(Charge::Paid);
        }
        Outcome::Rejected(if p.calling_plan == PayAsYouGo {
            Reject::PaygUnfunded
        } else if pool.is_some() {
            Reject::NoMinutes
        } else {
            Reject::NoCredits
        })
    }

    /// Spec §4.3. `None`: not an emergency call for this caller.
    fn emergency<R: Rng + ?Sized>(
        &self,
        state: &State,
        call: &Call<'_>,
        p: &Party,
        scratch: &mut Scratch,
        rng: &mut R,
        now_ms: u64,
    ) -> Option<Decision> {
        let plan = self.plan_at(p.plan);
        let mut dialed = scratch.dial.as_str();
        if let Some(prefix) = plan.access_prefix()
            && dialed.len() > prefix.len()
            && dialed.starts_with(prefix)
        {
            dialed = &dialed[prefix.len()..];
        }
        let carrier = p.calling_plan != CallingPlan::None
            || p.number_type == Some(NumberType::OperatorConnect);
        let mut d = if carrier {
            let outcome = match carrier_emergency(p.region, dialed) {
                CarrierEmergency::No => return None,
                CarrierEmergency::Unsupported => Outcome::Rejected(Reject::EmergencyNotSupported),
                CarrierEmergency::Yes(mapped) => {
                    scratch.number.push_str(mapped.unwrap_or(dialed));
                    match (p.number_type, p.trunk) {
                        (Some(NumberType::OperatorConnect), Some(t)) => Outcome::Operator(t),
                        _ => Outcome::CallingPlan(Charge::Free),
                    }
                }
            };
            Decision::new(outcome)
        } else {
            if dialed.len() > self.emergency_max_len as usize {
                return None;
            }
            let site = call.location.site(p, self.sites.len());
            let key = crate::engine::short_key(dialed);
            let find = |e: u16| -> Option<(u16, usize)> {
                let rec = &self.ecrps[e as usize];
                rec.numbers.iter().position(|n| n.is(dialed, key)).map(|i| (e, i))
            };
            let site_policy = site.and_then(|s| self.sites[s as usize].ecrp).and_then(find);
            let (e, i) = site_policy.or_else(|| p.ecrp.and_then(find))?;
            let number = &self.ecrps[e as usize].numbers[i];
            scratch.number.push_str(&number.dial_string);
            let mut candidates = Candidates::new();
            let dr = self.route_direct(
                state,
                &number.table,
                &mut scratch.caches,
                &number.dial_string,
                None,
                call.ingress_gateway(),
                rng,
                now_ms,
                &mut candidates,
            );
            Decision::new(match dr {
                Dr::Routed(usage) => Outcome::Direct { usage, candidates },
                _ => Outcome::Rejected(Reject::EmergencyFailed),
            })
        };
        d.emergency = true;
        d.caller_id = CallerId::Own;
        Some(d)
    }

    /// Reverse number lookup (spec §7): an exact base and extension wins; else the only
    /// number with that base, if it has no extension.
    pub fn lookup(&self, number: &str) -> Option<UserId> {
        self.numbers.lookup(number)
    }

    /// The number an outbound call shows (spec §4.5). Inlined so that the common case, a party whose policy always shows its own number,
    /// reads nothing more of the engine (called out of line, the caller loaded the policies'
    /// table before the call: a line from memory per decision with many tenants).
    #[inline(always)]
    fn caller_id(&self, call: &Call<'_>, p: &Party) -> CallerId {
        if p.gates.own_caller_id() {
            return CallerId::Own;
        }
        self.caller_id_from_policy(call, p)
    }

    fn caller_id_from_policy(&self, call: &Call<'_>, p: &Party) -> CallerId {
        let rec = &self.caller_id[p.caller_id as usize];
        match rec.substitute {
            CallerIdSubstitute::Anonymous => CallerId::Anonymous,
            CallerIdSubstitute::Resource => match rec.resource {
                Some(ra) if !(call.hide_caller_id && rec.user_override) => CallerId::Resource(ra),
                Some(_) => CallerId::Anonymous,
                None => CallerId::Own,
            },
            CallerIdSubstitute::LineUri if call.hide_caller_id && rec.user_override => {
                CallerId::Anonymous
            }
            CallerIdSubstitute::LineUri => CallerId::Own,
        }
    }

    /// What Location-Based Routing asks of a gateway for this caller, worked out once per
    /// decision rather than once per gateway.
    fn lbr_rule(&self, who: Option<(&Party, Location)>) -> LbrRule {
        let Some((p, location)) = who else { return LbrRule::Any };
        if !p.gates.prevent_toll_bypass() {
            return LbrRule::NotLbr;
        }
        match location.site(p, self.sites.len()) {
            Some(s) if self.sites[s as usize].lbr => LbrRule::Site(s),
            Some(_) => LbrRule::NotLbr,
            None => LbrRule::Override,
        }
    }

    /// Location-Based Routing (spec §4.6): may `p`, at `location`, use gateway `g`?
    pub(crate) fn lbr_allows_for(&self, g: GatewayHot, p: &Party, location: Location) -> bool {
        self.lbr_rule(Some((p, location))).allows(g)
    }

    /// Spec §4.4: the first usage with a matching route, its matching routes by priority,
    /// ingress gateway first, healthy before demoted, Fisher–Yates within each group, each
    /// gateway once. `who` is `None` for emergency calls (exempt from LBR).
    #[allow(clippy::too_many_arguments)]
    fn route_direct<R: Rng + ?Sized>(
        &self,
        state: &State,
        table: &RouteTable,
        caches: &mut AutomatonCaches,
        number: &str,
        who: Option<(&Party, Location)>,
        ingress: Option<GatewayId>,
        rng: &mut R,
        now_ms: u64,
        out: &mut Candidates,
    ) -> Dr {
        out.clear();
        let words = &self.route_words;
        // The matching entries, ascending; only those of the first matching usage count.
        let naive_ids: SmallVec<[u32; 8]>;
        let ids = match (&table.naive, &table.rows) {
            (None, Some(rows)) => rows.matching(number.as_bytes()),
            (None, None) => table.set.matching(caches.set(&table.set), number),
            (Some(patterns), _) => {
                // The baseline tests pattern after pattern and stops at the first match of
                // another usage, as a script would.
                let mut first_usage = None;
                naive_ids = patterns
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.is_match(number))
                    .map(|(i, _)| i)
                    .take_while(|&i| {
                        let usage = words.entry(table, i).0;
                        *first_usage.get_or_insert(usage) == usage
                    })
                    .map(|i| i as u32)
                    .collect();
                &naive_ids
            }
        };
        let Some(&first) = ids.first() else { return Dr::NoMatch };
        let usage = words.entry(table, first as usize).0;
        let same = ids.iter().take_while(|&&i| words.entry(table, i as usize).0 == usage).count();
        let matched = ids[..same].iter().map(|&i| words.entry(table, i as usize).1);
        if let Some(g) = ingress
            && let Some(r) = matched.clone().find(|&r| words.live(r).any(|x| x == g))
        {
            out.push(Candidate { gateway: g, route: r });
        }
        let lbr = self.lbr_rule(who);
        let mut lbr_refused = false;
        // The gateways already in `out`, as bits for the first 128 (a scan of `out` for the
        // rest): each gateway is tried at most once per call.
        // (Two words rather than a u128: a variable u128 shift takes several instructions.)
        let bit = |g: GatewayId| {
            let i = g.index();
            (i < 128).then(|| (i >> 6, 1u64 << (i & 63)))
        };
        let mut taken = [0u64; 2];
        if let Some((w, b)) = out.first().and_then(|c| bit(c.gateway)) {
            taken[w] |= b;
        }
        for r in matched {
            // This route's healthy gateways go to out[start..mid], its demoted ones after them,
            // each group in route order, then each group is shuffled.
            let start = out.len();
            let mut mid = start;
            for g in words.live(r) {
                let b = bit(g);
                let placed = match b {
                    Some((w, b)) => taken[w] & b != 0,
                    None => out[..start].iter().any(|c| c.gateway == g),
                };
                if placed {
                    continue;
                }
                let hot = words.hot(g);
                if !lbr.allows(hot) {
                    lbr_refused = true;
                    continue;
                }
                if let Some((w, b)) = b {
                    taken[w] |= b;
                }
                let c = Candidate { gateway: g, route: r };
                if !hot.send_options || state.options_fresh(g, now_ms) {
                    if mid == out.len() {
                        out.push(c);
                    } else {
                        out.insert(mid, c);
                    }
                    mid += 1;
                } else {
                    out.push(c);
                }
            }
            let (healthy, demoted) = out[start..].split_at_mut(mid - start);
            fisher_yates(healthy, rng);
            fisher_yates(demoted, rng);
        }
        if out.is_empty() { Dr::NoGateway { lbr: lbr_refused } } else { Dr::Routed(usage) }
    }

    /// The numbers an INVITE to gateway `g` carries after its outbound translation rules
    /// (spec §2.4): `(callee, caller)`, each rewritten by the first rule that matches.
    pub fn outbound_numbers(
        &self,
        g: GatewayId,
        callee: &str,
        caller: &str,
        scratch: &mut Scratch,
    ) -> (String, String) {
        let rec = &self.gateways[g.index()];
        let mut apply = |list: &[tpr_dialplan::Translation], s: &str| -> String {
            for t in list {
                if t.apply_into(s, &mut scratch.translation, &mut scratch.tmp) {
                    return scratch.tmp.clone();
                }
            }
            s.to_owned()
        };
        (apply(&rec.outbound_pstn, callee), apply(&rec.outbound_teams, caller))
    }

    /// A network site by name.
    pub fn site(&self, name: &str) -> Option<SiteId> {
        self.sites.iter().position(|s| s.name.eq_ignore_ascii_case(name)).map(|i| SiteId(i as u16))
    }
}
