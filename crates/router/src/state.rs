//! What changes while calls run: capacity counters, gateway health, minute pools, credits and
//! spend. The [`crate::Engine`] stays immutable; a [`State`] belongs to one engine (same ids)
//! and is shared the same way (`Arc<State>`, every method takes `&self`).

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tpr_capacity::{Cells, Ledger};
use tpr_tenant::Credits;

use crate::engine::Engine;
use crate::ids::{GatewayId, PoolId, UserId};

/// OPTIONS older than this demote a gateway (spec §4.4 rule 3: 3 × 1 min).
pub const HEALTH_WINDOW_MS: u64 = 180_000;

/// Credits are kept in thousandths of a paid minute.
const MILLI: i64 = 1000;

/// How a Calling Plan call is paid for (decided at admission, settled at hang-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    /// From a minute pool (it had at least a minute left); what the pool lacks at hang-up is
    /// paid like `Paid`.
    Pool(PoolId),
    /// Paid minutes: postpaid overage or communications credits.
    Paid,
    /// Nothing to pay (emergency calls).
    Free,
}

/// What one call's minutes came out of, from [`State::settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settlement {
    /// Minutes billed (⌈seconds / 60⌉).
    pub minutes: u64,
    /// Of them, from the pool.
    pub pool: u64,
    /// Paid as overage or from credits.
    pub paid: u64,
    /// Neither in the pool nor funded: calls are never cut, so these run over.
    pub unfunded: u64,
}

const _: () = assert!(
    std::mem::offset_of!(State, pools) + std::mem::size_of::<Box<[Pool]>>()
        <= State::HOT_LINES * 64
);

/// The changing state of one engine's tenant.
///
/// The money counters (minutes used per pool, the credit balance, spend per party, paid and
/// unfunded totals) sit behind `Arc`s so that the state of a reloaded engine can share them
/// with its predecessor ([`State::after`]): calls still running on the old engine bill the same
/// counters that new calls read.
///
/// It starts a line, and what a decision reads of it is in that line: the ledger's cells, the
/// ledger, the time before which every gateway that is pinged counts as healthy, so that a
/// decision reads no gateway's own OPTIONS time while they all answer, and the pointer to the
/// Calling Plan pools, which a Calling Plan call follows to its pool and its counter. A caller
/// asks for the line ahead, and with thousands of tenants each line more is a miss more: the
/// ledger's own first line and the gateways' times were up to three more.
#[derive(Debug)]
#[repr(C, align(64))]
pub struct State {
    /// `ledger`'s cells, read without the ledger's own first line.
    cells: Cells,
    /// Concurrent-call counters, laid out as [`Engine::ledger_layout`].
    pub ledger: Arc<Ledger>,
    /// Before this time (ms) every gateway that is pinged has answered within the health
    /// window: the least of their last answers plus the window plus one, 0 if one has never
    /// answered; `u64::MAX` if none is pinged. Changed only under `options_lock`, right after
    /// the time it follows from.
    healthy_before: AtomicU64,
    /// Each Calling Plan pool's allowance and minutes used: a Calling Plan call reads its
    /// pool's here, in one array this line points to (not the allowance from the engine's
    /// pool records and the count from an array of its own), so that a caller can ask for
    /// the pool ([`State::prefetch_pool`]) and then its counter
    /// ([`State::prefetch_pool_counter`]) without another line of the state.
    pools: Box<[Pool]>,
    /// Time of each gateway's last answered OPTIONS (ms; `u64::MAX`: never): read only
    /// once `healthy_before` has passed.
    options: Box<[AtomicU64]>,
    /// Which gateways are pinged (the others are always healthy).
    pinged: Box<[bool]>,
    /// Held by whoever changes an OPTIONS time, until `healthy_before` agrees with it.
    options_lock: Mutex<()>,
    /// Remaining one-time credits in thousandths of a minute (unused when not a balance).
    credits: Arc<AtomicI64>,
    /// Paid minutes per party this period (only when some calling policy has a spend limit).
    spent: Arc<[AtomicU32]>,
    totals: Arc<Totals>,
}

/// A Calling Plan pool's allowance, copied from the engine, and its minutes used this
/// period (shared with the state a reload replaces this one with, while the pool keeps its
/// name).
#[derive(Debug)]
struct Pool {
    minutes: u64,
    used: Arc<AtomicU64>,
}

#[derive(Debug, Default)]
struct Totals {
    paid: AtomicU64,
    unfunded: AtomicU64,
}

impl State {
    /// Fresh state for `engine`: no calls, full pools, every gateway answered OPTIONS at 0.
    pub fn new(engine: &Engine) -> State {
        State::with_ledger(engine, Arc::new(engine.ledger_layout().clone().build()))
    }

    /// Fresh state around an existing ledger with the engine's layout (a reload that kept the
    /// key layout keeps its counters).
    pub fn with_ledger(engine: &Engine, ledger: Arc<Ledger>) -> State {
        let credits = match engine.credits {
            Credits::Balance(b) => (b * MILLI as f64) as i64,
            _ => 0,
        };
        let pinged: Box<[bool]> = (0..engine.gateways.len())
            .map(|g| engine.route_words.hot(GatewayId::from_index(g as u16)).send_options)
            .collect();
        State {
            cells: ledger.cells(),
            ledger,
            healthy_before: AtomicU64::new(0),
            options: pinged.iter().map(|_| AtomicU64::new(0)).collect(),
            pinged,
            options_lock: Mutex::new(()),
            pools: engine
                .pools
                .iter()
                .map(|p| Pool { minutes: p.minutes, used: Arc::new(AtomicU64::new(0)) })
                .collect(),
            credits: Arc::new(AtomicI64::new(credits)),
            spent: if engine.spend_limits {
                engine.parties.iter().map(|_| AtomicU32::new(0)).collect()
            } else {
                Arc::new([])
            },
            totals: Arc::default(),
        }
        .with_health_summed()
    }

    /// `self` with `healthy_before` set from the OPTIONS times.
    fn with_health_summed(self) -> State {
        self.sum_health();
        self
    }

    /// Sets `healthy_before` from the OPTIONS times: call with `options_lock` held (or on a
    /// state no other thread sees yet).
    fn sum_health(&self) {
        let before = self
            .options
            .iter()
            .zip(&self.pinged)
            .filter(|(_, pinged)| **pinged)
            .map(|(t, _)| match t.load(Ordering::Relaxed) {
                u64::MAX => 0,
                t => t.saturating_add(HEALTH_WINDOW_MS + 1),
            })
            .min()
            .unwrap_or(u64::MAX);
        self.healthy_before.store(before, Ordering::Relaxed);
    }

    /// Sets gateway `g`'s OPTIONS time, and `healthy_before` after it.
    fn set_options(&self, g: GatewayId, t: u64) {
        let _held = self.options_lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.options(g).store(t, Ordering::Relaxed);
        self.sum_health();
    }

    /// The state for `engine` taking over from `old` (the state of `old_engine`) on a reload.
    /// Counters come from `ledger` (the old one when the key layout did not change, else one
    /// built after it). Gateway health is copied by FQDN. The money counters are shared, not
    /// copied, so what calls still running on the old engine settle later counts for the new
    /// one too: each pool with a pool of the same name, the credit balance while the tenant's
    /// credit setting is unchanged, the paid and unfunded totals always, and spend per party
    /// when the parties are the same (same names in the same order; the usual reload). When
    /// the parties changed, spend is copied by name, and what old-engine calls settle after
    /// the reload is missing from the new spend counters.
    pub fn after(engine: &Engine, ledger: Arc<Ledger>, old_engine: &Engine, old: &State) -> State {
        let mut state = State::with_ledger(engine, ledger);
        for (g, rec) in engine.gateways.iter().enumerate() {
            if let Some(o) = old_engine.gateways.iter().position(|x| x.fqdn == rec.fqdn) {
                let last = old.options(GatewayId::from_index(o as u16)).load(Ordering::Relaxed);
                state.options(GatewayId::from_index(g as u16)).store(last, Ordering::Relaxed);
            }
        }
        state.sum_health();
        for (p, pool) in engine.pools.iter().enumerate() {
            if let Some(o) = old_engine.pools.iter().position(|x| x.name == pool.name) {
                state.pools[p].used = old.pools[o].used.clone();
            }
        }
        if engine.credits == old_engine.credits {
            state.credits = old.credits.clone();
        }
        if !state.spent.is_empty() && !old.spent.is_empty() {
            let same_parties = engine.parties.len() == old_engine.parties.len()
                && (0..engine.parties.len()).all(|i| {
                    let u = UserId::from_index(i as u32);
                    engine.party_name(u) == old_engine.party_name(u)
                });
            if same_parties {
                state.spent = old.spent.clone();
            } else {
                for (i, spent) in state.spent.iter().enumerate() {
                    let name = engine.party_name(UserId::from_index(i as u32));
                    if let Some(o) = old_engine.party(&name)
                        && let Some(s) = old.spent.get(o.index())
                    {
                        spent.store(s.load(Ordering::Relaxed), Ordering::Relaxed);
                    }
                }
            }
        }
        state.totals = old.totals.clone();
        state
    }

    /// Gateway `g` answered an OPTIONS ping at `now_ms`.
    pub fn options_answered(&self, g: GatewayId, now_ms: u64) {
        self.set_options(g, now_ms);
    }

    /// Gateway `g` has never answered (or should count as silent from now on).
    pub fn options_lost(&self, g: GatewayId) {
        self.set_options(g, u64::MAX);
    }

    /// Is `g` healthy at `now_ms`? Gateways that are not pinged always are (spec §8 Q9).
    pub fn healthy(&self, engine: &Engine, g: GatewayId, now_ms: u64) -> bool {
        !engine.route_words.hot(g).send_options || self.options_fresh(g, now_ms)
    }

    /// Lines from the start that hold what a decision reads.
    pub(crate) const HOT_LINES: usize = 1;

    /// Starts loading what a decision reads of the state (a hint).
    #[inline]
    pub(crate) fn prefetch(&self) {
        tpr_types::prefetch_lines(self, Self::HOT_LINES);
    }

    /// Starts loading the gateways' OPTIONS times when a decision may read them: when one
    /// pinged gateway has never answered or was lost (a decision reads them all once one
    /// gateway's answer is older than the health window, which this does not know).
    #[inline]
    pub(crate) fn prefetch_gateways(&self) {
        if self.healthy_before.load(Ordering::Relaxed) == 0 {
            tpr_types::prefetch(self.options.as_ptr());
        }
    }

    /// Starts loading pool `p`'s allowance and the pointer to its counter, for a call that
    /// will likely read them (a hint: an unknown pool is ignored).
    #[inline]
    pub(crate) fn prefetch_pool(&self, p: PoolId) {
        if let Some(pool) = self.pools.get(p.index()) {
            tpr_types::prefetch(pool);
        }
    }

    /// Starts loading pool `p`'s counter, which has an allocation of its own (shared with the
    /// state a reload replaces this one with): reads the pool's record, which
    /// [`State::prefetch_pool`] asks for.
    #[inline]
    pub(crate) fn prefetch_pool_counter(&self, p: PoolId) {
        if let Some(pool) = self.pools.get(p.index()) {
            tpr_types::prefetch(Arc::as_ptr(&pool.used));
        }
    }

    /// Gateway `g`'s OPTIONS time. Panics on a gateway the engine does not have.
    #[inline]
    fn options(&self, g: GatewayId) -> &AtomicU64 {
        &self.options[g.index()]
    }

    /// Has the caller's number `key` reached its limit of concurrent calls?
    #[inline]
    pub(crate) fn at_limit(&self, key: tpr_capacity::KeyId) -> bool {
        self.cells.at_limit(&self.ledger, key)
    }

    /// Starts loading `key`'s ledger cell.
    #[inline]
    pub(crate) fn prefetch_cell(&self, key: tpr_capacity::KeyId) {
        self.cells.prefetch(key);
    }

    /// Has `g` answered an OPTIONS ping within the health window before `now_ms`?
    #[inline]
    pub(crate) fn options_fresh(&self, g: GatewayId, now_ms: u64) -> bool {
        if now_ms < self.healthy_before.load(Ordering::Relaxed) {
            return true;
        }
        let last = self.options(g).load(Ordering::Relaxed);
        last != u64::MAX && now_ms.saturating_sub(last) <= HEALTH_WINDOW_MS
    }

    /// Minutes left in pool `p` this period.
    pub fn pool_left(&self, p: PoolId) -> u64 {
        let pool = &self.pools[p.index()];
        pool.minutes.saturating_sub(pool.used.load(Ordering::Relaxed))
    }

    /// Minutes used from pool `p` this period.
    pub fn pool_used(&self, p: PoolId) -> u64 {
        self.pools[p.index()].used.load(Ordering::Relaxed)
    }

    /// Can paid minutes be funded now: postpaid overage, auto-recharge, or a positive balance?
    pub fn funded(&self, engine: &Engine) -> bool {
        engine.postpaid_overage || self.credits_positive(engine)
    }

    /// Are communications credits available (auto-recharge or a positive balance)?
    pub fn credits_positive(&self, engine: &Engine) -> bool {
        match engine.credits {
            Credits::Unlimited => true,
            Credits::None => false,
            Credits::Balance(_) => self.credits.load(Ordering::Relaxed) > 0,
        }
    }

    /// Remaining one-time credits in minutes (`None` unless the tenant has a balance).
    pub fn credits_left(&self, engine: &Engine) -> Option<f64> {
        matches!(engine.credits, Credits::Balance(_))
            .then(|| self.credits.load(Ordering::Relaxed) as f64 / MILLI as f64)
    }

    /// Has party `u` reached its calling policy's spend limit this period?
    pub fn spend_reached(&self, engine: &Engine, u: UserId) -> bool {
        let Some(spent) = self.spent.get(u.index()) else { return false };
        let policy = &engine.calling[engine.parties[u.index()].calling as usize];
        match (policy.enable_spend_limits, policy.calling_spend_user_limit) {
            (true, Some(limit)) => spent.load(Ordering::Relaxed) >= limit,
            _ => false,
        }
    }

    /// Bills a call of `seconds` by party `u` (spec §5.2): ⌈s/60⌉ minutes, from the pool as
    /// far as it goes, the rest as overage or credits, and what nothing funds as an overrun.
    pub fn settle(&self, engine: &Engine, u: UserId, charge: Charge, seconds: u64) -> Settlement {
        let minutes = seconds.div_ceil(60);
        let mut s = Settlement { minutes, ..Settlement::default() };
        if charge == Charge::Free || minutes == 0 {
            return s;
        }
        let mut rest = minutes;
        if let Charge::Pool(p) = charge {
            let Pool { minutes: size, used } = &self.pools[p.index()];
            let size = *size;
            let mut cur = used.load(Ordering::Relaxed);
            loop {
                let take = rest.min(size.saturating_sub(cur));
                match used.compare_exchange_weak(
                    cur,
                    cur + take,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        s.pool = take;
                        rest -= take;
                        break;
                    }
                    Err(actual) => cur = actual,
                }
            }
        }
        if rest == 0 {
            return s;
        }
        if engine.postpaid_overage || matches!(engine.credits, Credits::Unlimited) {
            s.paid = rest;
        } else if let Credits::Balance(_) = engine.credits {
            // Take what the balance covers; the rest overruns (a call is never cut).
            let want = rest as i64 * MILLI;
            let mut cur = self.credits.load(Ordering::Relaxed);
            loop {
                let take = want.min(cur.max(0));
                match self.credits.compare_exchange_weak(
                    cur,
                    cur - take,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        s.paid = (take / MILLI) as u64;
                        break;
                    }
                    Err(actual) => cur = actual,
                }
            }
            s.unfunded = rest - s.paid;
        } else {
            s.unfunded = rest;
        }
        if let Some(spent) = self.spent.get(u.index()) {
            spent.fetch_add(s.paid as u32, Ordering::Relaxed);
        }
        self.totals.paid.fetch_add(s.paid, Ordering::Relaxed);
        self.totals.unfunded.fetch_add(s.unfunded, Ordering::Relaxed);
        s
    }

    /// Debits toll-free inbound minutes from credits (spec §5.4).
    pub fn debit_toll_free(&self, engine: &Engine, seconds: u64) -> Settlement {
        let mut s = Settlement { minutes: seconds.div_ceil(60), ..Settlement::default() };
        match engine.credits {
            Credits::Unlimited => s.paid = s.minutes,
            Credits::None => s.unfunded = s.minutes,
            Credits::Balance(_) => {
                let before = self.credits.fetch_sub(s.minutes as i64 * MILLI, Ordering::AcqRel);
                s.paid = (before.max(0) / MILLI).min(s.minutes as i64) as u64;
                s.unfunded = s.minutes - s.paid;
                if before < s.minutes as i64 * MILLI {
                    self.credits.fetch_max(0, Ordering::AcqRel);
                }
            }
        }
        self.totals.paid.fetch_add(s.paid, Ordering::Relaxed);
        self.totals.unfunded.fetch_add(s.unfunded, Ordering::Relaxed);
        s
    }

    /// Paid and unfunded minutes so far.
    pub fn paid_minutes(&self) -> (u64, u64) {
        (self.totals.paid.load(Ordering::Relaxed), self.totals.unfunded.load(Ordering::Relaxed))
    }

    /// A new billing period: pools and spend start again (credits do not).
    pub fn new_period(&self) {
        for p in self.pools.iter() {
            p.used.store(0, Ordering::Relaxed);
        }
        for s in self.spent.iter() {
            s.store(0, Ordering::Relaxed);
        }
    }
}
