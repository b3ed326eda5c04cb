//! The discrete-event simulation: one run of a scenario in virtual time.
//!
//! Events wait in a timing wheel ([`EventQueue`]) that pops them by time, events at the same
//! millisecond in the order they were scheduled, and one seeded PCG generator makes every
//! random choice. Nothing reads the wall clock except the optional `clock` that times routing
//! decisions for the latency histogram, and no decision depends on hash-map order: the same
//! scenario and seed give the same report.
//!
//! Calls go through the real pipeline: [`Engine::decide`] / [`Engine::decide_inbound`], the
//! capacity [`Ledger`] of a fresh [`State`], and for PSTN legs the router's [`Attempt`]
//! machine, fed with the responses the scenario's gateway behaviour draws. Every permit lives
//! in an [`Attempt`] or an inbound call's slot and is released when the call ends; after the
//! run drains, [`Ledger::in_use`] must be 0.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp, LogNormal};
use rand_pcg::Pcg64;
use tpr_capacity::{Ledger, LimitClass, OwnedPermit, try_acquire_owned};
use tpr_router::{
    Attempt, Call, Charge, Decision, Delivery, Engine, Failure, GatewayId, InboundCall,
    InboundOutcome, Ingress, Input, NETWORK_FAILURE, Outcome, Output, Scratch, State, TrunkId,
    UserId,
};
use tpr_tenant::{NumberType, OverflowAction};

use crate::dialing::{Dialer, fiction_caller};
use crate::invites::InviteLog;
use crate::queue::EventQueue;
use crate::report::{Bucket, GatewayReport, PoolReport, QueueReport, Report, TrafficReport};
use crate::scenario::{
    Arrivals, Behaviour, Destination, DestinationKind, Direction, FaultKind, Hold, Leg, Response,
    Scenario, Traffic, Via,
};
use crate::trace::{TraceCall, TraceOutcome};

/// How long an INVITE to an unreachable gateway takes to fail (connection timeout).
const NETWORK_DELAY_MS: u64 = 500;
/// Teams sends SIP OPTIONS to each gateway once a minute.
const OPTIONS_EVERY_MS: u64 = 60_000;
/// The most calls in progress at once; a scenario that needs more is refused, not run out of
/// memory.
pub const MAX_LIVE_CALLS: usize = 5_000_000;
/// Events between two progress reports.
const PROGRESS_EVERY: u64 = 1 << 16;
/// Traffic-block index of replayed calls.
const REPLAY: u16 = u16::MAX;
/// Leg tag of events that concern the caller, not a gateway try.
const ANY_LEG: u16 = u16::MAX;

/// What the caller of [`run`] provides besides the scenario.
#[derive(Default)]
pub struct RunOptions<'a> {
    /// Wall clock in ns, to time routing decisions (libraries never read the clock).
    pub clock: Option<&'a (dyn Fn() -> u64 + Sync)>,
    /// Called now and then, and once at the end of the run, with (shard, simulated ms,
    /// duration ms).
    pub progress: Option<&'a (dyn Fn(usize, u64, u64) + Sync)>,
    /// Which shard this run is, for `progress` ([`crate::run_many`] numbers its shards from 0).
    pub shard: usize,
    /// Calls to replay (from a trace), on top of the scenario's traffic.
    pub trace: &'a [TraceCall],
}

impl std::fmt::Debug for RunOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("trace", &self.trace.len())
            .field("shard", &self.shard)
            .finish_non_exhaustive()
    }
}

/// Why a run stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    /// Too many calls at once.
    #[error(
        "more than {MAX_LIVE_CALLS} calls in progress at {at_s:.0} s: lower the rates or hold times"
    )]
    TooManyCalls {
        /// Simulated time.
        at_s: f64,
    },
}

#[derive(Debug, Clone, Copy)]
enum CallEv {
    Response(u16),
    Timer,
    Network,
    HangUp,
    InboundAnswer,
    InboundGiveUp,
    QueueTimeout,
    Abandon,
}

#[derive(Debug, Clone, Copy)]
enum What {
    Arrive(u16),
    Replay(u32),
    Call { slot: u32, generation: u32, leg: u16, ev: CallEv },
    Options,
    Fault(u16, bool),
    Sample(u32),
}

/// What the far end does with one INVITE.
#[derive(Debug, Clone, Copy)]
enum Plan {
    Answer,
    RingOut,
    Respond(Response),
}

/// The outcome a replayed call had in its trace.
#[derive(Debug, Clone, Copy)]
struct Script {
    outcome: TraceOutcome,
}

#[derive(Debug)]
struct OutCall {
    attempt: Attempt,
    caller: UserId,
    charge: Option<Charge>,
    connected_at: Option<u64>,
    hold_ms: u64,
    gateway: Option<GatewayId>,
    carrier: Option<Leg>,
    tries: u16,
    invited: bool,
    /// When the gateway being tried sends its first answer (a provisional, a final code or a
    /// network error), if it answers at all.
    answers_at: Option<u64>,
    script: Option<Script>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InPhase {
    Ringing,
    Waiting,
    Talking,
}

#[derive(Debug)]
struct InCall {
    admission: Option<OwnedPermit>,
    gateway: Option<(GatewayId, OwnedPermit)>,
    queue: Option<(usize, Option<OwnedPermit>)>,
    toll_free: bool,
    phase: InPhase,
    arrived_at: u64,
    connected_at: Option<u64>,
    hold_ms: u64,
}

// design.md: state per active call <= 256 bytes. A slot is 240 today (the attempt machine
// with its candidates and two permits is 160); each pending event of the call adds 24.
const _: () = assert!(std::mem::size_of::<Slot>() <= 256);
const _: () = assert!(std::mem::size_of::<crate::queue::Entry<What>>() <= 24);

/// A block's next call as drawn when it was scheduled: its destination entry and the user
/// or resource account it is from (outbound) or to (inbound), if one was drawn.
#[derive(Debug, Clone, Copy)]
struct NextCall {
    dest: u32,
    party: Option<UserId>,
    /// The next prefetch step for the party, or [`AHEAD_DONE`].
    step: u8,
}

/// No prefetch step left.
const AHEAD_DONE: u8 = u8::MAX;

impl Default for NextCall {
    fn default() -> Self {
        NextCall { dest: 0, party: None, step: AHEAD_DONE }
    }
}

/// A call's state, inline in its slot: slots are reused, so calls allocate nothing.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum Body {
    Free,
    Out(OutCall),
    In(InCall),
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    leg: u16,
    block: u16,
    counted: bool,
    emergency: bool,
    body: Body,
}

#[derive(Debug, Default)]
struct GatewayRt {
    down: bool,
    respond: Option<u16>,
    last_t: u64,
    last_v: u32,
    area: f64,
    peak: u32,
    report: GatewayReport,
}

#[derive(Debug)]
struct QueueRt {
    party: UserId,
    name: String,
    agents: u32,
    busy: u32,
    waiting: VecDeque<(u32, u32)>,
    live_waiting: u32,
    patience: Option<Hold>,
    timeout_ms: u64,
    report: QueueReport,
}

/// Why an attempted call failed (named in the report; a key, so counting allocates nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Why {
    /// A final code that does not fail over.
    Code(u16),
    /// Every candidate tried; the last code (0: the network).
    Exhausted(u16),
    NoAnswer,
    Abandoned,
    QueueTimeout,
}

impl Why {
    fn name(self) -> String {
        match self {
            Why::Code(c) => c.to_string(),
            Why::Exhausted(NETWORK_FAILURE) => "exhausted-network".into(),
            Why::Exhausted(c) => format!("exhausted-{c}"),
            Why::NoAnswer => "no-answer".into(),
            Why::Abandoned => "abandoned".into(),
            Why::QueueTimeout => "queue-timeout".into(),
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    offered: u64,
    carried: u64,
    failed: u64,
    blocked: BTreeMap<&'static str, u64>,
    failures: BTreeMap<Why, u64>,
    failovers: u64,
    emergency: crate::report::Emergency,
    by: crate::report::ByConnectivity,
    traffic: Vec<TrafficReport>,
    /// Microsoft's PSTN (`None`) and operator trunks.
    carriers: BTreeMap<Option<TrunkId>, GatewayReport>,
}

/// One run of a scenario (repetition `repetition`, seed `scenario.seed + repetition`).
pub fn run(sc: &Scenario, repetition: u32, opts: &RunOptions<'_>) -> Result<Report, SimError> {
    play(sc, repetition, opts, false).map(|(report, _)| report)
}

/// [`run`], also returning every INVITE sent to a Direct Routing gateway (for `--sipp`).
/// Keeping them changes nothing else: the report is the same.
pub fn run_with_invites(
    sc: &Scenario,
    repetition: u32,
    opts: &RunOptions<'_>,
) -> Result<(Report, InviteLog), SimError> {
    play(sc, repetition, opts, true)
}

fn play(
    sc: &Scenario,
    repetition: u32,
    opts: &RunOptions<'_>,
    keep_invites: bool,
) -> Result<(Report, InviteLog), SimError> {
    let mut sim = Sim::new(sc, repetition, opts, keep_invites);
    sim.start();
    sim.drain()?;
    if let Some(p) = opts.progress {
        p(opts.shard, sc.duration_ms, sc.duration_ms);
    }
    let log = sim.invites.take().map(|b| *b).unwrap_or_default();
    Ok((sim.finish(), log))
}

struct Sim<'a> {
    sc: &'a Scenario,
    engine: &'a Engine,
    opts: &'a RunOptions<'a>,
    state: State,
    ledger: Arc<Ledger>,
    rng: Pcg64,
    scratch: Scratch,
    dialer: Dialer,
    queue: EventQueue<What>,
    now: u64,
    events: u64,
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    gateways: Vec<GatewayRt>,
    queues: Vec<QueueRt>,
    round_robin: usize,
    enabled: Vec<GatewayId>,
    callers_total: Vec<u64>,
    /// Exact time of each block's last arrival.
    arrival_at: Vec<f64>,
    /// Each block's next call, drawn when it is scheduled.
    next: Vec<NextCall>,
    /// The blocks whose next calls still have a prefetch step to take (a few at a time, so
    /// that an event does not look at every block of a scenario with hundreds).
    ahead: Vec<u16>,
    c: Counters,
    series: Vec<Bucket>,
    latency: Histogram<u64>,
    dial: String,
    caller_no: String,
    wall_start: u64,
    /// Every INVITE to a gateway, when the caller asked for them.
    invites: Option<Box<InviteLog>>,
}

impl<'a> Sim<'a> {
    fn new(
        sc: &'a Scenario,
        repetition: u32,
        opts: &'a RunOptions<'a>,
        keep_invites: bool,
    ) -> Sim<'a> {
        let engine: &Engine = &sc.engine;
        let state = State::new(engine);
        let ledger = state.ledger.clone();
        let gateways = (0..engine.gateway_count()).map(|_| GatewayRt::default()).collect();
        let enabled = (0..engine.gateway_count())
            .map(|i| GatewayId::from_index(i as u16))
            .filter(|g| engine.gateway_enabled(*g))
            .collect();
        let buckets = sc.duration_ms.div_ceil(sc.interval_ms) as usize;
        let series = (0..buckets)
            .map(|i| Bucket {
                start_ms: i as u64 * sc.interval_ms,
                gateways: vec![0; engine.gateway_count()],
                ..Bucket::default()
            })
            .collect();
        let callers_total =
            sc.traffic.iter().map(|t| t.callers.iter().map(|(_, n)| u64::from(*n)).sum()).collect();
        let c = Counters {
            traffic: vec![TrafficReport::default(); sc.traffic.len() + 1],
            ..Counters::default()
        };
        Sim {
            sc,
            engine,
            opts,
            state,
            ledger,
            rng: Pcg64::seed_from_u64(sc.seed.wrapping_add(u64::from(repetition))),
            scratch: Scratch::new(),
            dialer: Dialer::new(engine),
            queue: EventQueue::new(),
            now: 0,
            events: 0,
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            gateways,
            queues: Vec::new(),
            round_robin: 0,
            enabled,
            callers_total,
            arrival_at: vec![0.0; sc.traffic.len()],
            next: vec![NextCall::default(); sc.traffic.len()],
            ahead: Vec::with_capacity(sc.traffic.len()),
            c,
            series,
            // 1 ns to 10 s at 3 significant digits: bounds set up front.
            latency: Histogram::new_with_bounds(1, 10_000_000_000, 3)
                .unwrap_or_else(|_| unreachable!("constant bounds are valid")),
            dial: String::with_capacity(64),
            caller_no: String::with_capacity(32),
            wall_start: opts.clock.map_or(0, |c| c()),
            invites: keep_invites.then(Box::default),
        }
    }

    fn at(&mut self, at: u64, what: What) {
        self.queue.push(at, what);
    }

    fn call_ev(&mut self, at: u64, slot: u32, leg: u16, ev: CallEv) {
        let generation = self.slots[slot as usize].generation;
        self.at(at, What::Call { slot, generation, leg, ev });
    }

    fn start(&mut self) {
        for g in 0..self.engine.gateway_count() {
            self.state.options_answered(GatewayId::from_index(g as u16), 0);
        }
        self.at(OPTIONS_EVERY_MS, What::Options);
        for (i, f) in self.sc.faults.iter().enumerate() {
            self.at(f.from_ms, What::Fault(i as u16, true));
            if f.until_ms != u64::MAX {
                self.at(f.until_ms, What::Fault(i as u16, false));
            }
        }
        for i in 0..self.series.len() {
            let end = ((i as u64 + 1) * self.sc.interval_ms).min(self.sc.duration_ms);
            self.at(end, What::Sample(i as u32));
        }
        for b in 0..self.sc.traffic.len() {
            let start = match self.sc.traffic[b].arrivals {
                Arrivals::Burst { at_ms, .. } => at_ms,
                _ => 0,
            };
            self.next_arrival(b as u16, start as f64);
        }
        if let Some(first) = self.opts.trace.first() {
            self.at(first.at_ms, What::Replay(0));
        }
    }

    /// Schedules block `b`'s next call after `from` (exact, fractional ms: rounding each
    /// arrival to the millisecond must not slow a fast process down).
    fn next_arrival(&mut self, b: u16, from: f64) {
        let t = &self.sc.traffic[b as usize];
        let max = t.arrivals.max_rate();
        let end = match t.arrivals {
            Arrivals::Burst { at_ms, lasting_ms, .. } => {
                at_ms.saturating_add(lasting_ms).min(self.sc.duration_ms)
            }
            _ => self.sc.duration_ms,
        } as f64;
        if max <= 0.0 {
            return;
        }
        let mut at = from;
        if let Arrivals::Diurnal { .. } = t.arrivals {
            // The rate is constant within each hour: draw with that hour's rate, and at the
            // hour's end start again with the next (exact, since gaps are memoryless) — no
            // draws wasted on quiet nights, as thinning against the peak would.
            loop {
                let hour_end = ((at / 3_600_000.0).floor() + 1.0) * 3_600_000.0;
                let rate = t.arrivals.rate_at(at as u64, self.sc.duration_ms);
                if rate > 0.0 {
                    let gap = Exp::new(rate / 1000.0)
                        .unwrap_or_else(|_| unreachable!("rate checked > 0"));
                    let next = at + gap.sample(&mut self.rng);
                    if next < hour_end {
                        if next >= end {
                            return;
                        }
                        self.schedule(b, next);
                        return;
                    }
                }
                at = hour_end;
                if at >= end {
                    return;
                }
            }
        }
        let gap = Exp::new(max / 1000.0).unwrap_or_else(|_| unreachable!("rate checked > 0"));
        loop {
            at += gap.sample(&mut self.rng);
            if at >= end {
                return;
            }
            let rate = t.arrivals.rate_at(at as u64, self.sc.duration_ms);
            if rate >= max || self.rng.random::<f64>() * max < rate {
                self.schedule(b, at);
                return;
            }
        }
    }

    /// Schedules block `b`'s next call at `at` (exact ms) and draws who it is from or to.
    /// With a hundred thousand users, a random party's records are in no cache; drawn now,
    /// they load while the events before the call run ([`Sim::step_ahead`]).
    fn schedule(&mut self, b: u16, at: f64) {
        self.arrival_at[usize::from(b)] = at;
        self.at(at.ceil() as u64, What::Arrive(b));
        let t: &'a Traffic = &self.sc.traffic[usize::from(b)];
        // The destination entry, by cumulative weight.
        let total = t.destinations.last().map_or(0.0, |d| d.1);
        let x = self.rng.random::<f64>() * total;
        let dest = t.destinations.iter().position(|d| x < d.1).unwrap_or(0);
        let party = match (t.direction, &t.destinations[dest].0) {
            (Direction::Outbound, _) => Some(self.pick_caller(b)),
            (Direction::Inbound, Destination::Kind(DestinationKind::ServiceNumber)) => {
                self.dialer.service(&mut self.rng)
            }
            (Direction::Inbound, Destination::Kind(_)) => self.dialer.user(&mut self.rng),
            (Direction::Inbound, Destination::Numbers(_)) => None,
        };
        debug_assert_eq!(self.next[usize::from(b)].step, AHEAD_DONE, "one pending call a block");
        let step = match party {
            Some(u) => {
                self.engine.prefetch_party(u);
                self.ahead.push(b);
                1
            }
            None => AHEAD_DONE,
        };
        self.next[usize::from(b)] = NextCall { dest: dest as u32, party, step };
    }

    /// Takes the next prefetch step of every block's next call (one step per event, so each
    /// reads only what the one before asked for, an event earlier).
    #[inline]
    fn step_ahead(&mut self) {
        let mut i = 0;
        while let Some(&b) = self.ahead.get(i) {
            let n = &mut self.next[usize::from(b)];
            let t = &self.sc.traffic[usize::from(b)];
            let Some(u) = n.party else {
                n.step = AHEAD_DONE;
                self.ahead.swap_remove(i);
                continue;
            };
            n.step = match (n.step, t.direction) {
                (1, Direction::Outbound) => {
                    self.engine.prefetch_party_number(&self.state, u);
                    AHEAD_DONE
                }
                (1, Direction::Inbound) => {
                    self.engine.prefetch_party_number(&self.state, u);
                    2
                }
                _ => {
                    // The call will look its number up: the number's text is in cache now.
                    if let Some(number) = self.engine.number_of(u) {
                        self.engine.prefetch_lookup(number);
                    }
                    AHEAD_DONE
                }
            };
            if n.step == AHEAD_DONE {
                self.ahead.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }

    /// Block `b`'s call that is due now, as drawn when it was scheduled.
    fn take_next(&mut self, b: u16) -> NextCall {
        let n = &mut self.next[usize::from(b)];
        let call = *n;
        if n.step != AHEAD_DONE {
            // The call came before another event could take the step.
            n.step = AHEAD_DONE;
            if let Some(i) = self.ahead.iter().position(|&a| a == b) {
                self.ahead.swap_remove(i);
            }
        }
        call
    }

    fn drain(&mut self) -> Result<(), SimError> {
        while let Some(ev) = self.queue.pop() {
            self.now = ev.at;
            self.events += 1;
            if !self.ahead.is_empty() {
                self.step_ahead();
            }
            if self.events % PROGRESS_EVERY == 0
                && let Some(p) = self.opts.progress
            {
                p(self.opts.shard, self.now.min(self.sc.duration_ms), self.sc.duration_ms);
            }
            match ev.what {
                What::Arrive(b) => {
                    let call = self.take_next(b);
                    self.next_arrival(b, self.arrival_at[usize::from(b)]);
                    self.arrival(b, call)?;
                }
                What::Replay(i) => {
                    if let Some(next) = self.opts.trace.get(i as usize + 1) {
                        self.at(next.at_ms.max(self.now), What::Replay(i + 1));
                    }
                    self.replay(i as usize)?;
                }
                What::Call { slot, generation, leg, ev } => {
                    let s = &self.slots[slot as usize];
                    if s.generation != generation || matches!(s.body, Body::Free) {
                        continue;
                    }
                    if leg != ANY_LEG && leg != s.leg {
                        continue;
                    }
                    self.call_event(slot, ev);
                }
                What::Options => {
                    for g in 0..self.engine.gateway_count() {
                        if !self.gateways[g].down {
                            self.state.options_answered(GatewayId::from_index(g as u16), self.now);
                        }
                    }
                    if self.now < self.sc.duration_ms || self.live > 0 {
                        self.at(self.now + OPTIONS_EVERY_MS, What::Options);
                    }
                }
                What::Fault(i, starts) => {
                    let f = self.sc.faults[i as usize];
                    let g = &mut self.gateways[f.gateway.index()];
                    match f.kind {
                        FaultKind::Down => g.down = starts,
                        FaultKind::Respond(code) => g.respond = starts.then_some(code),
                    }
                }
                What::Sample(i) => {
                    let live = self.live as u64;
                    let b = &mut self.series[i as usize];
                    b.concurrent = live;
                    for (g, v) in b.gateways.iter_mut().enumerate() {
                        *v = self
                            .ledger
                            .current(self.engine.gateway_key(GatewayId::from_index(g as u16)));
                    }
                }
            }
        }
        Ok(())
    }

    fn bucket(&mut self) -> &mut Bucket {
        let i = ((self.now / self.sc.interval_ms) as usize).min(self.series.len() - 1);
        &mut self.series[i]
    }

    fn alloc(&mut self, block: u16, counted: bool, body: Body) -> Result<u32, SimError> {
        if self.live >= MAX_LIVE_CALLS {
            return Err(SimError::TooManyCalls { at_s: self.now as f64 / 1000.0 });
        }
        self.live += 1;
        let slot = match self.free.pop() {
            Some(i) => {
                let s = &mut self.slots[i as usize];
                s.generation = s.generation.wrapping_add(1);
                s.leg = 0;
                s.block = block;
                s.counted = counted;
                s.emergency = false;
                s.body = body;
                i
            }
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    leg: 0,
                    block,
                    counted,
                    emergency: false,
                    body,
                });
                (self.slots.len() - 1) as u32
            }
        };
        Ok(slot)
    }

    fn release(&mut self, slot: u32) {
        self.slots[slot as usize].body = Body::Free;
        self.free.push(slot);
        self.live -= 1;
    }

    fn hold(&mut self, h: Hold) -> u64 {
        sample(h, &mut self.rng)
    }

    fn timed<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        match self.opts.clock {
            Some(clock) => {
                let t0 = clock();
                let out = f(self);
                let _ = self.latency.record(clock().saturating_sub(t0).max(1));
                out
            }
            None => f(self),
        }
    }

    // --- counting -------------------------------------------------------------------

    fn offered(&mut self, block: u16, counted: bool) {
        self.bucket().offered += 1;
        if counted {
            self.c.offered += 1;
            self.traffic(block).offered += 1;
        }
    }

    fn traffic(&mut self, block: u16) -> &mut TrafficReport {
        let i = if block == REPLAY { self.c.traffic.len() - 1 } else { usize::from(block) };
        &mut self.c.traffic[i]
    }

    fn blocked(&mut self, block: u16, counted: bool, emergency: bool, reason: &'static str) {
        self.bucket().blocked += 1;
        if counted {
            *self.c.blocked.entry(reason).or_default() += 1;
            self.traffic(block).blocked += 1;
            if emergency {
                self.c.emergency.lost += 1;
            }
        }
    }

    fn carried(&mut self, block: u16, counted: bool, emergency: bool) {
        self.bucket().carried += 1;
        if counted {
            self.c.carried += 1;
            self.traffic(block).carried += 1;
            if emergency {
                self.c.emergency.connected += 1;
            }
        }
    }

    fn failed(&mut self, block: u16, counted: bool, emergency: bool, why: Why) {
        self.bucket().failed += 1;
        if counted {
            self.c.failed += 1;
            *self.c.failures.entry(why).or_default() += 1;
            self.traffic(block).failed += 1;
            if emergency {
                self.c.emergency.lost += 1;
            }
        }
    }

    /// Brings gateway `g`'s concurrency integral up to now (call after its count changed).
    fn touch(&mut self, g: GatewayId) {
        let v = self.ledger.current(self.engine.gateway_key(g));
        let (warmup, end) = (self.sc.warmup_ms, self.sc.duration_ms);
        let now = self.now;
        let rt = &mut self.gateways[g.index()];
        let (t0, t1) = (rt.last_t.max(warmup), now.min(end));
        if t1 > t0 {
            rt.area += f64::from(rt.last_v) * (t1 - t0) as f64;
            rt.peak = rt.peak.max(rt.last_v);
        }
        rt.last_t = now;
        rt.last_v = v;
        if (warmup..=end).contains(&now) {
            rt.peak = rt.peak.max(v);
        }
    }

    // --- arrivals -------------------------------------------------------------------

    fn arrival(&mut self, b: u16, next: NextCall) -> Result<(), SimError> {
        let t: &'a Traffic = &self.sc.traffic[usize::from(b)];
        let counted = self.now >= self.sc.warmup_ms;
        self.offered(b, counted);
        let hold = self.hold(t.hold);
        let dest = &t.destinations[next.dest as usize];
        match t.direction {
            Direction::Outbound => {
                let caller = next.party.unwrap_or_else(|| unreachable!("drawn when scheduled"));
                let ok = match &dest.0 {
                    Destination::Kind(kind) => self.dialer.dial(
                        self.engine,
                        *kind,
                        self.engine.region_of(caller),
                        self.engine.number_of(caller),
                        &mut self.rng,
                        &mut self.dial,
                    ),
                    Destination::Numbers(list) => {
                        self.dial.clear();
                        self.dial.push_str(&list[self.rng.random_range(0..list.len())]);
                        true
                    }
                };
                if !ok {
                    self.blocked(b, counted, false, "no-destination");
                    return Ok(());
                }
                self.outbound(b, counted, caller, hold, None)
            }
            Direction::Inbound => {
                let callee = match &dest.0 {
                    Destination::Kind(_) => next.party,
                    Destination::Numbers(list) => {
                        self.dial.clear();
                        self.dial.push_str(&list[self.rng.random_range(0..list.len())]);
                        None
                    }
                };
                if let Some(u) = callee {
                    self.dial.clear();
                    self.dial.push_str(self.engine.number_of(u).unwrap_or(""));
                }
                if t.caller_numbers.is_empty() {
                    fiction_caller(&mut self.rng, &mut self.caller_no);
                } else {
                    self.caller_no.clear();
                    let i = self.rng.random_range(0..t.caller_numbers.len());
                    self.caller_no.push_str(&t.caller_numbers[i]);
                }
                let via = self.via(t.via, callee);
                self.inbound(b, counted, via, hold, t.answer)
            }
        }
    }

    fn pick_caller(&mut self, b: u16) -> UserId {
        let t = &self.sc.traffic[usize::from(b)];
        let mut k = self.rng.random_range(0..self.callers_total[usize::from(b)].max(1));
        for (first, n) in &t.callers {
            if k < u64::from(*n) {
                return UserId::from_index(first.index() as u32 + k as u32);
            }
            k -= u64::from(*n);
        }
        t.callers[0].0
    }

    fn via(&mut self, via: Via, callee: Option<UserId>) -> Ingress {
        if let Via::Fixed(i) = via {
            return i;
        }
        let callee = callee.or_else(|| self.engine.lookup(&self.dial));
        match callee.and_then(|u| self.engine.number_type(u).map(|t| (u, t))) {
            Some((_, NumberType::CallingPlan)) => Ingress::CallingPlan,
            Some((u, NumberType::OperatorConnect)) => match self.engine.trunk_of(u) {
                Some(t) => Ingress::Operator(t),
                None => Ingress::CallingPlan,
            },
            // Direct Routing numbers: the carrier spreads calls over the SBCs that are up.
            _ => {
                for _ in 0..self.enabled.len() {
                    self.round_robin = (self.round_robin + 1) % self.enabled.len();
                    let g = self.enabled[self.round_robin];
                    if !self.gateways[g.index()].down {
                        return Ingress::Gateway(g);
                    }
                }
                match self.enabled.first() {
                    Some(g) => Ingress::Gateway(*g),
                    None => Ingress::CallingPlan,
                }
            }
        }
    }

    fn replay(&mut self, i: usize) -> Result<(), SimError> {
        let call = &self.opts.trace[i];
        let counted = self.now >= self.sc.warmup_ms;
        self.offered(REPLAY, counted);
        self.dial.clear();
        self.dial.push_str(&call.dialed);
        let script = Some(Script { outcome: call.outcome });
        match call.direction {
            Direction::Outbound => {
                let caller = call.caller_party.or_else(|| self.engine.lookup(&call.caller));
                match caller {
                    Some(u) if u.index() < self.engine.party_count() => {
                        self.outbound(REPLAY, counted, u, call.hold_ms, script)
                    }
                    _ => {
                        self.blocked(REPLAY, counted, false, "unknown-caller");
                        Ok(())
                    }
                }
            }
            Direction::Inbound => {
                self.caller_no.clear();
                self.caller_no.push_str(&call.caller);
                let via = match call.via {
                    Some(v) => v,
                    None => self.via(Via::Auto, None),
                };
                let answer = match call.outcome {
                    TraceOutcome::Answered => 1.0,
                    _ => 0.0,
                };
                self.inbound(REPLAY, counted, via, call.hold_ms, answer)
            }
        }
    }

    // --- outbound -------------------------------------------------------------------

    fn outbound(
        &mut self,
        b: u16,
        counted: bool,
        caller: UserId,
        hold_ms: u64,
        script: Option<Script>,
    ) -> Result<(), SimError> {
        let now = self.now;
        let d: Decision = self.timed(|s| {
            let call = Call::new(caller, &s.dial);
            s.engine.decide(&s.state, &call, &mut s.scratch, &mut s.rng, now)
        });
        if d.emergency && counted {
            self.c.emergency.offered += 1;
        }
        let emergency = d.emergency;
        let (charge, carrier) = match &d.outcome {
            Outcome::Rejected(r) => {
                self.blocked(b, counted, emergency, r.as_str());
                return Ok(());
            }
            Outcome::Internal(_) | Outcome::Treatment(_) => {
                if counted {
                    self.c.by.internal += 1;
                }
                self.carried(b, counted, emergency);
                return Ok(());
            }
            Outcome::Direct { .. } => {
                if counted {
                    self.c.by.direct_routing += 1;
                }
                (None, None)
            }
            Outcome::CallingPlan(charge) => {
                if counted {
                    self.c.by.calling_plan += 1;
                }
                (Some(*charge), Some(Leg::CallingPlan))
            }
            Outcome::Operator(t) => {
                if counted {
                    self.c.by.operator_connect += 1;
                }
                (None, Some(Leg::Operator(*t)))
            }
        };
        let Some(attempt) = Attempt::start(self.engine, &self.ledger, &d, now) else {
            return Ok(());
        };
        let out = OutCall {
            attempt,
            caller,
            charge,
            connected_at: None,
            hold_ms,
            gateway: None,
            carrier,
            tries: 0,
            invited: false,
            answers_at: None,
            script,
        };
        let slot = self.alloc(b, counted, Body::Out(out))?;
        self.slots[slot as usize].emergency = emergency;
        if self.invites.is_some() && matches!(d.outcome, Outcome::Direct { .. }) {
            self.log_call(slot, caller, d.caller_id, hold_ms);
        }
        self.pump(slot);
        Ok(())
    }

    fn out_call(&mut self, slot: u32) -> &mut OutCall {
        match &mut self.slots[slot as usize].body {
            Body::Out(o) => o,
            _ => unreachable!("slot {slot} holds an outbound call"),
        }
    }

    /// Feeds one input to an outbound call's attempt machine and acts on its outputs.
    fn feed(&mut self, slot: u32, input: Input) {
        let Body::Out(o) = &mut self.slots[slot as usize].body else {
            unreachable!("slot {slot} holds an outbound call")
        };
        o.attempt.handle_input(self.engine, &self.ledger, input, self.now);
        self.pump(slot);
    }

    /// Keeps an INVITE for `--sipp` (out of line: most runs keep none).
    #[cold]
    #[inline(never)]
    fn log_invite(&mut self, slot: u32, gateway: GatewayId) {
        if let Some(log) = &mut self.invites {
            log.invite(slot, gateway, self.now);
        }
    }

    /// Keeps a Direct Routing call for `--sipp`, with the number its decision left in the
    /// scratch.
    #[cold]
    #[inline(never)]
    fn log_call(
        &mut self,
        slot: u32,
        caller: UserId,
        caller_id: tpr_router::CallerId,
        hold_ms: u64,
    ) {
        if let Some(log) = &mut self.invites {
            log.begin(slot, caller, caller_id, &self.scratch.number, hold_ms);
        }
    }

    /// Drains an attempt machine's outputs.
    fn pump(&mut self, slot: u32) {
        let before = self.out_call(slot).gateway;
        while let Some(out) = self.out_call(slot).attempt.poll_output() {
            match out {
                Output::Invite { gateway, try_no, .. } => {
                    self.slots[slot as usize].leg =
                        self.slots[slot as usize].leg.wrapping_add(1) % ANY_LEG;
                    if try_no == 1 {
                        self.new_try(slot, gateway);
                        self.gateways[gateway.index()].report.attempts += 1;
                    } else {
                        self.gateways[gateway.index()].report.retries += 1;
                    }
                    self.out_call(slot).invited = true;
                    self.touch(gateway);
                    self.gateway_answers(slot, Leg::Gateway(gateway));
                }
                Output::CapRefused { gateway } => {
                    // The SBC got the INVITE and answered 503 (its own cap).
                    if self.invites.is_some() {
                        self.log_invite(slot, gateway);
                    }
                    self.new_try(slot, gateway);
                    self.gateways[gateway.index()].report.cap_refused += 1;
                }
                Output::InviteCarrier { trunk } => {
                    self.slots[slot as usize].leg =
                        self.slots[slot as usize].leg.wrapping_add(1) % ANY_LEG;
                    self.out_call(slot).invited = true;
                    let leg = match trunk {
                        Some(t) => Leg::Operator(t),
                        None => Leg::CallingPlan,
                    };
                    self.carrier_report(leg).attempts += 1;
                    self.gateway_answers(slot, leg);
                }
                Output::ArmTimer => {
                    // Re-armed or cancelled later in the same batch: that output decides.
                    let Some(at_ms) = self.out_call(slot).attempt.timer() else { continue };
                    // A gateway that answers before the timer fires cancels it: scheduling it
                    // would only add a stale event. (At the same millisecond the answer was
                    // scheduled first, so it still comes first.)
                    if self.out_call(slot).answers_at.is_none_or(|t| t > at_ms) {
                        let leg = self.slots[slot as usize].leg;
                        self.call_ev(at_ms, slot, leg, CallEv::Timer);
                    }
                }
                Output::CancelTimer | Output::Ringing => {}
                Output::Cancel => {
                    // Whatever the gateway still sends belongs to a try that is over.
                    self.slots[slot as usize].leg =
                        self.slots[slot as usize].leg.wrapping_add(1) % ANY_LEG;
                }
                Output::Connected => {
                    let now = self.now;
                    let (block, counted, emergency) = self.slot_info(slot);
                    self.carried(block, counted, emergency);
                    let o = self.out_call(slot);
                    o.connected_at = Some(now);
                    let (hold, gw, carrier) = (o.hold_ms, o.gateway, o.carrier);
                    match (carrier, gw) {
                        (Some(leg), _) => self.carrier_report(leg).answered += 1,
                        (None, Some(g)) => self.gateways[g.index()].report.answered += 1,
                        _ => {}
                    }
                    self.call_ev(now + hold, slot, ANY_LEG, CallEv::HangUp);
                }
                Output::Failed(f) => self.out_failed(slot, f),
                Output::Released => {
                    let now = self.now;
                    let o = self.out_call(slot);
                    if let (Some(at), Some(charge)) = (o.connected_at, o.charge) {
                        let secs = (now - at).div_ceil(1000);
                        let caller = o.caller;
                        self.state.settle(self.engine, caller, charge, secs);
                    }
                    if let Some(g) = self.out_call(slot).gateway {
                        self.touch(g);
                    }
                    if let Some(g) = before {
                        self.touch(g);
                    }
                    self.release(slot);
                    return;
                }
            }
        }
        if let Some(g) = before {
            self.touch(g);
        }
    }

    fn slot_info(&self, slot: u32) -> (u16, bool, bool) {
        let s = &self.slots[slot as usize];
        (s.block, s.counted, s.emergency)
    }

    /// A new gateway is tried: count a failover away from the previous one.
    fn new_try(&mut self, slot: u32, g: GatewayId) {
        let o = self.out_call(slot);
        let prev = o.gateway;
        o.tries += 1;
        o.gateway = Some(g);
        if o.tries > 1 {
            self.bucket().failovers += 1;
            if self.slots[slot as usize].counted {
                self.c.failovers += 1;
            }
            if let Some(p) = prev {
                self.gateways[p.index()].report.failed_over += 1;
                self.touch(p);
            }
        }
    }

    fn carrier_report(&mut self, leg: Leg) -> &mut GatewayReport {
        let key = match leg {
            Leg::Operator(t) => Some(t),
            _ => None,
        };
        self.c.carriers.entry(key).or_default()
    }

    /// Draws what the far end does with an INVITE and schedules its responses.
    fn gateway_answers(&mut self, slot: u32, leg: Leg) {
        if let Leg::Gateway(g) = leg
            && self.invites.is_some()
        {
            // Every INVITE to a gateway comes here (one the SBC refuses at its cap does not:
            // `pump` keeps that one).
            self.log_invite(slot, g);
        }
        let now = self.now;
        let tag = self.slots[slot as usize].leg;
        self.out_call(slot).answers_at = None;
        if let Leg::Gateway(g) = leg {
            let rt = &self.gateways[g.index()];
            if rt.down {
                self.answer_ev(now + NETWORK_DELAY_MS, slot, tag, CallEv::Network);
                return;
            }
            if let Some(code) = rt.respond {
                let pdd = self.sc.behaviour(leg).post_dial_delay_ms;
                self.answer_ev(now + pdd, slot, tag, CallEv::Response(code));
                return;
            }
        }
        let b: &'a Behaviour = self.sc.behaviour(leg);
        let pdd = b.post_dial_delay_ms;
        let plan = match self.out_call(slot).script {
            Some(s) => match s.outcome {
                TraceOutcome::Answered => Plan::Answer,
                TraceOutcome::NoAnswer => Plan::RingOut,
                TraceOutcome::Code(c) => Plan::Respond(Response::Code(c)),
            },
            None => {
                let x = self.rng.random::<f64>();
                let mut acc = b.answer;
                let mut plan = if x < acc { Plan::Answer } else { Plan::RingOut };
                if x >= acc {
                    for (r, p) in &b.responses {
                        acc += p;
                        if x < acc {
                            plan = Plan::Respond(*r);
                            break;
                        }
                    }
                }
                plan
            }
        };
        match plan {
            Plan::Answer => {
                self.answer_ev(now + pdd, slot, tag, CallEv::Response(180));
                self.call_ev(now + pdd + b.ring_ms, slot, tag, CallEv::Response(200));
            }
            Plan::RingOut => {
                self.answer_ev(now + pdd, slot, tag, CallEv::Response(180));
                self.call_ev(now + pdd + b.give_up_ms, slot, tag, CallEv::HangUp);
            }
            Plan::Respond(Response::Code(c)) => {
                self.answer_ev(now + pdd, slot, tag, CallEv::Response(c))
            }
            // Silence: the failover timer decides.
            Plan::Respond(Response::Timeout) => {}
            Plan::Respond(Response::Network) => {
                self.answer_ev(now + NETWORK_DELAY_MS, slot, tag, CallEv::Network)
            }
        }
    }

    /// Schedules the gateway's first answer to the current try and notes when it comes.
    fn answer_ev(&mut self, at: u64, slot: u32, tag: u16, ev: CallEv) {
        let o = self.out_call(slot);
        o.answers_at = Some(o.answers_at.map_or(at, |t| t.min(at)));
        self.call_ev(at, slot, tag, ev);
    }

    fn out_failed(&mut self, slot: u32, f: Failure) {
        let (block, counted, emergency) = self.slot_info(slot);
        let invited = self.out_call(slot).invited;
        match f {
            Failure::Rejected(r) => self.blocked(block, counted, emergency, r.as_str()),
            // Every gateway refused at its cap before a call was placed: blocked, the way
            // Erlang B counts it.
            Failure::Exhausted(503) | Failure::Final(503) if !invited => {
                self.blocked(block, counted, emergency, "gateways-full")
            }
            Failure::Final(code) => self.failed(block, counted, emergency, Why::Code(code)),
            Failure::Exhausted(code) => {
                self.failed(block, counted, emergency, Why::Exhausted(code))
            }
            Failure::CallerHungUp => self.failed(block, counted, emergency, Why::NoAnswer),
        }
    }

    fn call_event(&mut self, slot: u32, ev: CallEv) {
        match &self.slots[slot as usize].body {
            Body::Out(_) => {
                let input = match ev {
                    CallEv::Response(c) => Input::Response(c),
                    CallEv::Timer => Input::Timer,
                    CallEv::Network => Input::NetworkError,
                    CallEv::HangUp => Input::HangUp,
                    _ => return,
                };
                self.feed(slot, input);
            }
            Body::In(_) => self.inbound_event(slot, ev),
            Body::Free => {}
        }
    }

    // --- inbound --------------------------------------------------------------------

    fn inbound(
        &mut self,
        b: u16,
        counted: bool,
        via: Ingress,
        hold_ms: u64,
        answer: f64,
    ) -> Result<(), SimError> {
        if counted {
            self.c.by.inbound += 1;
        }
        let d = self.timed(|s| {
            let call = InboundCall { called: &s.dial, caller: &s.caller_no, via, voicemail: false };
            s.engine.decide_inbound(&s.state, &call, &mut s.scratch)
        });
        let (to, delivery) = match d.outcome {
            InboundOutcome::Rejected(r) => {
                self.blocked(b, counted, false, r.as_str());
                return Ok(());
            }
            InboundOutcome::Announcement(_) => {
                self.carried(b, counted, false);
                return Ok(());
            }
            InboundOutcome::Deliver { to, delivery, .. } => (to, delivery),
        };
        // The SBC carries the call too: at its own cap it refuses with 503.
        let gateway = match via {
            Ingress::Gateway(g) if self.gateways[g.index()].down => {
                self.blocked(b, counted, false, "gateway-down");
                return Ok(());
            }
            Ingress::Gateway(g) => {
                match try_acquire_owned(&self.ledger, &[self.engine.gateway_key(g)]) {
                    Ok(p) => {
                        self.gateways[g.index()].report.inbound += 1;
                        Some((g, p))
                    }
                    Err(_) => {
                        self.gateways[g.index()].report.cap_refused += 1;
                        self.blocked(b, counted, false, "gateways-full");
                        return Ok(());
                    }
                }
            }
            _ => None,
        };
        let admission = match try_acquire_owned(&self.ledger, &d.admission) {
            Ok(p) => p,
            Err(refused) => {
                let reason = match refused.class {
                    LimitClass::Trunk => "trunk-full",
                    _ => "busy",
                };
                drop(gateway);
                self.blocked(b, counted, false, reason);
                return Ok(());
            }
        };
        let gw = gateway.as_ref().map(|(g, _)| *g);
        let call = InCall {
            admission: Some(admission),
            gateway,
            queue: None,
            toll_free: d.toll_free,
            phase: InPhase::Ringing,
            arrived_at: self.now,
            connected_at: None,
            hold_ms,
        };
        let slot = self.alloc(b, counted, Body::In(call))?;
        if let Some(g) = gw {
            self.touch(g);
        }
        let now = self.now;
        match delivery {
            Delivery::Ring => {
                let beh = self.sc.behaviour(Leg::Default);
                if self.rng.random::<f64>() < answer {
                    self.call_ev(now + beh.ring_ms, slot, ANY_LEG, CallEv::InboundAnswer);
                } else {
                    self.call_ev(now + beh.give_up_ms, slot, ANY_LEG, CallEv::InboundGiveUp);
                }
            }
            Delivery::Voicemail | Delivery::Unanswered | Delivery::AutoAttendant => {
                self.in_connect(slot);
            }
            Delivery::Queue => self.enqueue(slot, to, d.queue, d.overflow),
        }
        Ok(())
    }

    fn in_call(&mut self, slot: u32) -> &mut InCall {
        match &mut self.slots[slot as usize].body {
            Body::In(c) => c,
            _ => unreachable!("slot {slot} holds an inbound call"),
        }
    }

    fn in_connect(&mut self, slot: u32) {
        let now = self.now;
        let (block, counted, emergency) = self.slot_info(slot);
        self.carried(block, counted, emergency);
        let c = self.in_call(slot);
        c.phase = InPhase::Talking;
        c.connected_at = Some(now);
        let hold = c.hold_ms;
        self.call_ev(now + hold, slot, ANY_LEG, CallEv::HangUp);
    }

    fn queue_index(&mut self, party: UserId) -> usize {
        if let Some(i) = self.queues.iter().position(|q| q.party == party) {
            return i;
        }
        let settings = self.engine.queue_settings(party).unwrap_or_default();
        let staffing = self.sc.queues.iter().rev().find(|q| q.queue == party);
        self.queues.push(QueueRt {
            party,
            name: self.engine.party_name(party),
            agents: staffing.map_or(settings.agents, |q| q.agents),
            busy: 0,
            waiting: VecDeque::new(),
            live_waiting: 0,
            patience: staffing.and_then(|q| q.patience),
            timeout_ms: u64::from(settings.timeout_threshold_s) * 1000,
            report: QueueReport::default(),
        });
        self.queues.len() - 1
    }

    fn enqueue(
        &mut self,
        slot: u32,
        party: UserId,
        key: Option<tpr_capacity::KeyId>,
        overflow: Option<OverflowAction>,
    ) {
        let qi = self.queue_index(party);
        let (block, counted, _) = self.slot_info(slot);
        if counted {
            self.queues[qi].report.offered += 1;
        }
        let permit = match key.map(|k| try_acquire_owned(&self.ledger, &[k])) {
            Some(Err(_)) => {
                if counted {
                    self.queues[qi].report.overflowed += 1;
                }
                match overflow.unwrap_or(OverflowAction::DisconnectWithBusy) {
                    OverflowAction::DisconnectWithBusy => {
                        self.blocked(block, counted, false, "queue-overflow");
                        self.in_end(slot);
                    }
                    // Forwarded or sent to voicemail: the call is answered elsewhere.
                    _ => self.in_connect(slot),
                }
                return;
            }
            Some(Ok(p)) => Some(p),
            None => None,
        };
        self.in_call(slot).queue = Some((qi, permit));
        let q = &mut self.queues[qi];
        if q.busy < q.agents && q.live_waiting == 0 {
            self.serve(slot, qi);
            return;
        }
        let generation = self.slots[slot as usize].generation;
        let q = &mut self.queues[qi];
        q.waiting.push_back((slot, generation));
        q.live_waiting += 1;
        if counted {
            q.report.peak_waiting = q.report.peak_waiting.max(q.live_waiting);
        }
        let (timeout, patience) = (q.timeout_ms, q.patience);
        self.in_call(slot).phase = InPhase::Waiting;
        let now = self.now;
        self.call_ev(now + timeout, slot, ANY_LEG, CallEv::QueueTimeout);
        if let Some(p) = patience {
            let wait = self.hold(p);
            if wait < timeout {
                self.call_ev(now + wait, slot, ANY_LEG, CallEv::Abandon);
            }
        }
    }

    /// An agent answers the call in `slot`.
    fn serve(&mut self, slot: u32, qi: usize) {
        let now = self.now;
        let counted = self.slots[slot as usize].counted;
        let c = self.in_call(slot);
        let waited = now - c.arrived_at;
        if let Some((_, permit)) = &mut c.queue {
            // No longer waiting: the overflow count frees up.
            *permit = None;
        }
        let q = &mut self.queues[qi];
        q.busy += 1;
        if counted {
            q.report.answered += 1;
            q.report.wait_ms_total += waited;
        }
        self.in_connect(slot);
    }

    /// An agent of queue `qi` is free: the longest-waiting live caller gets it.
    fn next_in_queue(&mut self, qi: usize) {
        self.queues[qi].busy -= 1;
        while let Some((slot, generation)) = self.queues[qi].waiting.pop_front() {
            let s = &self.slots[slot as usize];
            let waiting = s.generation == generation
                && matches!(&s.body, Body::In(c) if c.phase == InPhase::Waiting);
            if waiting {
                self.queues[qi].live_waiting -= 1;
                self.serve(slot, qi);
                return;
            }
        }
    }

    fn inbound_event(&mut self, slot: u32, ev: CallEv) {
        let (block, counted, emergency) = self.slot_info(slot);
        let phase = self.in_call(slot).phase;
        match (ev, phase) {
            (CallEv::InboundAnswer, InPhase::Ringing) => self.in_connect(slot),
            (CallEv::InboundGiveUp, InPhase::Ringing) => {
                self.failed(block, counted, emergency, Why::NoAnswer);
                self.in_end(slot);
            }
            (CallEv::QueueTimeout | CallEv::Abandon, InPhase::Waiting) => {
                let qi = self.in_call(slot).queue.as_ref().map_or(0, |q| q.0);
                let q = &mut self.queues[qi];
                q.live_waiting -= 1;
                let why = if matches!(ev, CallEv::QueueTimeout) {
                    if counted {
                        q.report.timed_out += 1;
                    }
                    Why::QueueTimeout
                } else {
                    if counted {
                        q.report.abandoned += 1;
                    }
                    Why::Abandoned
                };
                self.failed(block, counted, emergency, why);
                self.in_end(slot);
            }
            (CallEv::HangUp, InPhase::Talking) => self.in_end(slot),
            _ => {}
        }
    }

    /// Ends an inbound call: bills it, frees its agent and releases its permits.
    fn in_end(&mut self, slot: u32) {
        let now = self.now;
        let c = self.in_call(slot);
        let talked = c.connected_at.map(|at| (now - at).div_ceil(1000));
        let toll_free = c.toll_free;
        let agent = match (&c.queue, c.phase) {
            (Some((qi, _)), InPhase::Talking) => Some(*qi),
            _ => None,
        };
        let gw = c.gateway.as_ref().map(|(g, _)| *g);
        c.admission = None;
        c.gateway = None;
        c.queue = None;
        if let (Some(secs), true) = (talked, toll_free) {
            self.state.debit_toll_free(self.engine, secs);
        }
        self.release(slot);
        if let Some(g) = gw {
            self.touch(g);
        }
        if let Some(qi) = agent {
            self.next_in_queue(qi);
        }
    }

    // --- the report -----------------------------------------------------------------

    fn finish(mut self) -> Report {
        self.now = self.sc.duration_ms.max(self.now);
        let window = self.sc.duration_ms.saturating_sub(self.sc.warmup_ms).max(1) as f64;
        let engine = self.engine;
        let mut gateways = std::collections::BTreeMap::new();
        let mut order = Vec::new();
        for i in 0..engine.gateway_count() {
            let g = GatewayId::from_index(i as u16);
            self.touch(g);
            let key = engine.gateway_key(g);
            let rt = &mut self.gateways[i];
            rt.report.peak_concurrent = rt.peak;
            rt.report.mean_concurrent = rt.area / window;
            rt.report.utilization = self
                .ledger
                .limit(key)
                .or_else(|| self.sc.engine.gateway_alert_limit(g))
                .map(|l| rt.report.mean_concurrent / f64::from(l.max(1)));
            rt.report.alerts = self.ledger.alerts(key);
            let name = engine.gateway_name(g).to_owned();
            order.push(name.clone());
            gateways.insert(name, rt.report.clone());
        }
        for (trunk, r) in std::mem::take(&mut self.c.carriers) {
            let name = match trunk {
                Some(t) => format!("operator:{}", engine.trunk_name(t)),
                None => "calling-plan".to_owned(),
            };
            gateways.insert(name, r);
        }
        let mut pools = std::collections::BTreeMap::new();
        for (i, p) in engine.pools().iter().enumerate() {
            let id = tpr_router::PoolId::from_index(i as u16);
            pools.insert(
                p.name.clone(),
                PoolReport {
                    used_min: self.state.pool_used(id),
                    left_min: self.state.pool_left(id),
                },
            );
        }
        let mut traffic = std::collections::BTreeMap::new();
        for (i, t) in self.c.traffic.iter().enumerate() {
            let name = match self.sc.traffic.get(i) {
                Some(b) => b.name.clone(),
                None if t.offered > 0 => "replay".to_owned(),
                None => continue,
            };
            traffic.insert(name, t.clone());
        }
        let queues = self.queues.iter().map(|q| (q.name.clone(), q.report.clone())).collect();
        let wall_ms =
            self.opts.clock.map_or(0, |c| c().saturating_sub(self.wall_start) / 1_000_000);
        let mut report = Report {
            scenario: self.sc.file.to_string(),
            tenant: engine.name().to_owned(),
            seed: self.sc.seed,
            repetitions: 1,
            simulated_s: self.sc.duration_ms as f64 / 1000.0,
            wall_ms,
            events: self.events,
            events_per_s: 0.0,
            offered: self.c.offered,
            carried: self.c.carried,
            failed: self.c.failed,
            blocked: self.c.blocked.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
            blocking_probability: 0.0,
            failures: self.c.failures.iter().map(|(k, v)| (k.name(), *v)).collect(),
            failovers: self.c.failovers,
            emergency: self.c.emergency.clone(),
            by_connectivity: self.c.by.clone(),
            traffic,
            gateways,
            minute_pools: pools,
            paid_minutes: self.state.paid_minutes().0,
            queues,
            decision_latency_ns: Default::default(),
            leaked_permits: self.ledger.in_use(),
            series: std::mem::take(&mut self.series),
            interval_ms: self.sc.interval_ms,
            gateway_order: order,
            latency: Some(self.latency.clone()),
        };
        report.finish();
        report
    }
}

/// Draws a duration in ms.
pub(crate) fn sample<R: Rng + ?Sized>(h: Hold, rng: &mut R) -> u64 {
    let ms = match h {
        Hold::Fixed { ms } => return ms,
        Hold::Exponential { mean_ms } => {
            Exp::new(1.0 / mean_ms as f64).map_or(mean_ms as f64, |d| d.sample(rng))
        }
        Hold::Lognormal { median_ms, sigma } => {
            LogNormal::new((median_ms.max(1) as f64).ln(), sigma)
                .map_or(median_ms as f64, |d| d.sample(rng))
        }
    };
    // A day is the longest call the model holds; it also keeps the arithmetic finite.
    ms.clamp(0.0, 86_400_000.0).round() as u64
}
