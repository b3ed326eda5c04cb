//! Scenario files (design.md, "Scenario format"): what traffic to offer, how the gateways and
//! queues behave, and which faults happen when.
//!
//! Reading takes two steps. [`ScenarioFile::parse`] checks syntax, types, ranges and units and
//! names the tenant file; [`ScenarioFile::bind`] resolves the names it uses (users, user
//! ranges, gateways, trunks, queues) against the compiled tenant. Both report every problem at
//! its `file:line:col`, and nothing of a bad scenario runs.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;
use tpr_router::{Engine, GatewayId, Ingress, PartyKind, TrunkId, UserId};
use tpr_types::{LineIndex, Location};

use crate::duration::parse_ms;

/// The highest arrival rate one traffic block may ask for.
pub const MAX_RATE_PER_S: f64 = 100_000.0;
/// The most calls a scenario may offer over its run (all blocks, one repetition).
pub const MAX_CALLS: f64 = 200_000_000.0;
/// The most repetitions (shards) of one scenario.
pub const MAX_REPETITIONS: u32 = 1_000;

/// One problem in the file, at its `file:line:col`.
pub use tpr_types::Diagnostic as ScenarioError;
/// Every problem found in the file, in file order.
pub use tpr_types::Diagnostics as ScenarioErrors;

/// When calls arrive.
#[derive(Debug, Clone, PartialEq)]
pub enum Arrivals {
    /// A constant rate for the whole run.
    Poisson {
        /// Calls per second.
        rate_per_s: f64,
    },
    /// A rate changing linearly from the start to the end of the run.
    Ramp {
        /// At time 0.
        from_per_s: f64,
        /// At the end.
        to_per_s: f64,
    },
    /// A storm: a constant rate within one window, nothing outside it.
    Burst {
        /// Calls per second in the window.
        rate_per_s: f64,
        /// Start of the window.
        at_ms: u64,
        /// Length of the window.
        lasting_ms: u64,
    },
    /// A day's shape: hour `h` of each simulated day runs at `peak * profile[h]`.
    Diurnal {
        /// The rate in the busiest hour.
        peak_per_s: f64,
        /// 24 weights, one per hour, scaled so that the largest is 1.
        profile: [f64; 24],
    },
}

impl Arrivals {
    /// The rate at time `t_ms`, for a run of `duration_ms`.
    pub fn rate_at(&self, t_ms: u64, duration_ms: u64) -> f64 {
        match self {
            Arrivals::Poisson { rate_per_s } => *rate_per_s,
            Arrivals::Ramp { from_per_s, to_per_s } => {
                let f = if duration_ms == 0 { 0.0 } else { t_ms as f64 / duration_ms as f64 };
                from_per_s + (to_per_s - from_per_s) * f.clamp(0.0, 1.0)
            }
            Arrivals::Burst { rate_per_s, at_ms, lasting_ms } => {
                if (*at_ms..at_ms.saturating_add(*lasting_ms)).contains(&t_ms) {
                    *rate_per_s
                } else {
                    0.0
                }
            }
            Arrivals::Diurnal { peak_per_s, profile } => {
                // The profile is scaled to a maximum of 1 when the scenario is read.
                peak_per_s * profile[((t_ms / 3_600_000) % 24) as usize]
            }
        }
    }

    /// The highest rate over the run (the thinning bound).
    pub fn max_rate(&self) -> f64 {
        match self {
            Arrivals::Poisson { rate_per_s } | Arrivals::Burst { rate_per_s, .. } => *rate_per_s,
            Arrivals::Ramp { from_per_s, to_per_s } => from_per_s.max(*to_per_s),
            Arrivals::Diurnal { peak_per_s, profile } => {
                if profile.iter().any(|&w| w > 0.0) {
                    *peak_per_s
                } else {
                    0.0
                }
            }
        }
    }

    /// Calls expected over a run of `duration_ms`.
    pub fn expected_calls(&self, duration_ms: u64) -> f64 {
        let secs = duration_ms as f64 / 1000.0;
        match self {
            Arrivals::Poisson { rate_per_s } => rate_per_s * secs,
            Arrivals::Ramp { from_per_s, to_per_s } => (from_per_s + to_per_s) / 2.0 * secs,
            Arrivals::Burst { rate_per_s, at_ms, lasting_ms } => {
                let end = at_ms.saturating_add(*lasting_ms).min(duration_ms);
                rate_per_s * end.saturating_sub(*at_ms) as f64 / 1000.0
            }
            Arrivals::Diurnal { .. } => {
                // Hour by hour; the last hour may be partial.
                let mut total = 0.0;
                let mut t = 0u64;
                while t < duration_ms {
                    let end = (t / 3_600_000 + 1) * 3_600_000;
                    let span = end.min(duration_ms) - t;
                    total += self.rate_at(t, duration_ms) * span as f64 / 1000.0;
                    t = end;
                }
                total
            }
        }
    }
}

/// How long a connected call lasts (or, for a queue's patience, how long a caller waits).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Hold {
    /// Always the same.
    Fixed {
        /// Milliseconds.
        ms: u64,
    },
    /// Exponential (memoryless; what Erlang B assumes).
    Exponential {
        /// Mean in ms.
        mean_ms: u64,
    },
    /// Lognormal: most calls short, a long tail.
    Lognormal {
        /// Median in ms.
        median_ms: u64,
        /// Standard deviation of the log.
        sigma: f64,
    },
}

impl Hold {
    /// The mean in ms.
    pub fn mean_ms(&self) -> f64 {
        match *self {
            Hold::Fixed { ms } => ms as f64,
            Hold::Exponential { mean_ms } => mean_ms as f64,
            Hold::Lognormal { median_ms, sigma } => median_ms as f64 * (sigma * sigma / 2.0).exp(),
        }
    }
}

/// A kind of number a user dials, generated in the format users of the caller's country dial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DestinationKind {
    /// The last four digits of a colleague's number.
    Extension,
    /// A number in the caller's own area, without the area code where the country allows it.
    Local,
    /// A fixed-line number elsewhere in the country, with the national prefix.
    National,
    /// A mobile number in the country.
    Mobile,
    /// A number abroad, with the caller's international prefix.
    International,
    /// A toll-free number in the country.
    TollFree,
    /// The country's emergency number.
    Emergency,
    /// A colleague's full number (E.164).
    InternalUser,
    /// A resource account's number (auto attendant, call queue).
    ServiceNumber,
}

impl DestinationKind {
    const ALL: [(&'static str, DestinationKind); 9] = [
        ("extension", DestinationKind::Extension),
        ("local", DestinationKind::Local),
        ("national", DestinationKind::National),
        ("mobile", DestinationKind::Mobile),
        ("international", DestinationKind::International),
        ("toll_free", DestinationKind::TollFree),
        ("emergency", DestinationKind::Emergency),
        ("internal_user", DestinationKind::InternalUser),
        ("service_number", DestinationKind::ServiceNumber),
    ];

    /// The scenario name.
    pub fn as_str(self) -> &'static str {
        DestinationKind::ALL.iter().find(|(_, k)| *k == self).map_or("?", |(n, _)| n)
    }

    fn parse(s: &str) -> Option<DestinationKind> {
        let s = s.replace('-', "_");
        DestinationKind::ALL.iter().find(|(n, _)| *n == s).map(|(_, k)| *k)
    }
}

/// One entry of a destination mix.
#[derive(Debug, Clone, PartialEq)]
pub enum Destination {
    /// Generated numbers of a kind.
    Kind(DestinationKind),
    /// Numbers given in the scenario, dialed as written.
    Numbers(Vec<String>),
}

/// Direction of a traffic block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Users call out.
    Outbound,
    /// The PSTN calls the tenant's numbers.
    Inbound,
}

/// How inbound calls reach the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// By the called number's type: Direct Routing numbers over the enabled gateways in turn,
    /// Calling Plan numbers from Microsoft, Operator Connect numbers over their trunk.
    Auto,
    /// Always this way.
    Fixed(Ingress),
}

/// One `[[traffic]]` block, bound to the tenant.
#[derive(Debug, Clone)]
pub struct Traffic {
    /// Its name in reports.
    pub name: String,
    /// Outbound or inbound.
    pub direction: Direction,
    /// Outbound: the calling users as (first id, count) runs. Inbound: unused.
    pub callers: Vec<(UserId, u32)>,
    /// Inbound: caller numbers to use (empty: generated fiction-range numbers).
    pub caller_numbers: Vec<String>,
    /// When calls arrive.
    pub arrivals: Arrivals,
    /// How long connected calls last.
    pub hold: Hold,
    /// What is dialed, with cumulative weights for sampling.
    pub destinations: Vec<(Destination, f64)>,
    /// Inbound: how calls arrive.
    pub via: Via,
    /// Inbound to users: the share of ringing calls the user answers.
    pub answer: f64,
}

/// What a call's final SIP answer can be, besides being answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Response {
    /// A final SIP code (300–699).
    Code(u16),
    /// No answer at all: the failover timer decides.
    Timeout,
    /// The INVITE does not get through (the attempt machine retries other datacenters).
    Network,
}

/// What the far end of a leg does with calls: a gateway, Microsoft's PSTN or an operator.
#[derive(Debug, Clone, PartialEq)]
pub struct Behaviour {
    /// Share of calls answered.
    pub answer: f64,
    /// Other outcomes and their shares; the rest of 1 rings until the caller gives up.
    pub responses: Vec<(Response, f64)>,
    /// From INVITE to the first answer (180 or a final code).
    pub post_dial_delay_ms: u64,
    /// From ringing to answer.
    pub ring_ms: u64,
    /// How long a caller lets an unanswered call ring.
    pub give_up_ms: u64,
}

impl Default for Behaviour {
    /// The behaviour of a leg no `[[gateway_behaviour]]` names: 90 % answered, 5 % busy, 5 %
    /// ring out; 2 s post-dial delay, 6 s of ringing, callers give up after 30 s.
    fn default() -> Behaviour {
        Behaviour {
            answer: 0.90,
            responses: vec![(Response::Code(486), 0.05)],
            post_dial_delay_ms: 2_000,
            ring_ms: 6_000,
            give_up_ms: 30_000,
        }
    }
}

/// Which leg a behaviour is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// Every leg without an entry of its own.
    Default,
    /// A Direct Routing gateway.
    Gateway(GatewayId),
    /// Microsoft's PSTN (Calling Plan).
    CallingPlan,
    /// An Operator Connect trunk.
    Operator(TrunkId),
}

/// A fault, as a verb with its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// The gateway is unreachable: INVITEs meet network errors, OPTIONS go unanswered.
    Down,
    /// The gateway answers every INVITE with this code.
    Respond(u16),
}

/// One `[[fault]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// The gateway.
    pub gateway: GatewayId,
    /// What happens.
    pub kind: FaultKind,
    /// From.
    pub from_ms: u64,
    /// Until (`u64::MAX`: the end of the run).
    pub until_ms: u64,
}

/// How a call queue is staffed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueBehaviour {
    /// The call queue.
    pub queue: UserId,
    /// Agents answering calls at once.
    pub agents: u32,
    /// How long callers wait before they hang up (`None`: until the queue's timeout).
    pub patience: Option<Hold>,
}

/// A scenario checked for syntax, types and ranges; names not yet resolved.
#[derive(Debug, Clone)]
pub struct ScenarioFile {
    index: LineIndex,
    raw: RawScenario,
    /// The run's seed.
    pub seed: u64,
    /// Simulated time during which calls arrive.
    pub duration_ms: u64,
    /// Calls arriving before this are simulated but not counted.
    pub warmup_ms: u64,
    /// Width of a time-series bucket.
    pub interval_ms: u64,
    /// Independent runs (seeds `seed`, `seed + 1`, ...) merged into one report.
    pub repetitions: u32,
    /// The tenant file as written (relative to the scenario file).
    pub tenant_file: String,
}

/// A scenario bound to its tenant: ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The scenario file's name.
    pub file: Arc<str>,
    /// The compiled tenant.
    pub engine: Arc<Engine>,
    /// The run's seed (repetition `i` uses `seed + i`).
    pub seed: u64,
    /// Simulated time during which calls arrive; calls in progress at the end finish.
    pub duration_ms: u64,
    /// Calls arriving before this are simulated but not counted.
    pub warmup_ms: u64,
    /// Width of a time-series bucket.
    pub interval_ms: u64,
    /// Independent runs merged into one report.
    pub repetitions: u32,
    /// Traffic blocks.
    pub traffic: Vec<Traffic>,
    /// Leg behaviours; the last entry for a leg wins.
    pub behaviours: Vec<(Leg, Behaviour)>,
    /// Faults.
    pub faults: Vec<Fault>,
    /// Queue staffing.
    pub queues: Vec<QueueBehaviour>,
}

impl Scenario {
    /// The behaviour of a leg: its own entry, else the `"*"` entry, else the default.
    pub fn behaviour(&self, leg: Leg) -> &Behaviour {
        static DEFAULT: std::sync::OnceLock<Behaviour> = std::sync::OnceLock::new();
        self.behaviours
            .iter()
            .rev()
            .find(|(l, _)| *l == leg)
            .or_else(|| self.behaviours.iter().rev().find(|(l, _)| *l == Leg::Default))
            .map(|(_, b)| b)
            .unwrap_or_else(|| DEFAULT.get_or_init(Behaviour::default))
    }

    /// A scenario with no traffic of its own, for replaying `calls` (from a trace) against
    /// `engine`: it lasts until the last call starts, and legs behave as the trace says.
    pub fn for_replay(
        engine: Arc<Engine>,
        file: &str,
        calls: &[crate::trace::TraceCall],
    ) -> Scenario {
        let duration_ms = calls.last().map_or(0, |c| c.at_ms).saturating_add(1).max(1_000);
        Scenario {
            file: Arc::from(file),
            engine,
            seed: 1,
            duration_ms,
            warmup_ms: 0,
            interval_ms: (duration_ms / 200).max(1_000),
            repetitions: 1,
            traffic: Vec::new(),
            behaviours: Vec::new(),
            faults: Vec::new(),
            queues: Vec::new(),
        }
    }

    /// Calls the scenario expects to offer in one repetition.
    pub fn expected_calls(&self) -> f64 {
        self.traffic.iter().map(|t| t.arrivals.expected_calls(self.duration_ms)).sum()
    }
}

// ---------------------------------------------------------------------------------------
// Raw TOML.

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    run: Option<Spanned<RawRun>>,
    tenant: Option<Spanned<RawTenantRef>>,
    #[serde(default)]
    traffic: Vec<Spanned<RawTraffic>>,
    #[serde(default)]
    gateway_behaviour: Vec<Spanned<RawBehaviour>>,
    #[serde(default)]
    fault: Vec<Spanned<RawFault>>,
    #[serde(default)]
    queue_behaviour: Vec<Spanned<RawQueue>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    seed: Option<Spanned<i64>>,
    duration: Option<Spanned<String>>,
    warmup: Option<Spanned<String>>,
    interval: Option<Spanned<String>>,
    repetitions: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenantRef {
    file: Spanned<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTraffic {
    name: Option<String>,
    direction: Option<Spanned<String>>,
    callers: Option<Spanned<toml::Value>>,
    arrivals: Option<Spanned<RawArrivals>>,
    hold: Option<Spanned<RawHold>>,
    #[serde(default)]
    destinations: Vec<Spanned<RawDestination>>,
    via: Option<Spanned<String>>,
    answer: Option<Spanned<f64>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArrivals {
    process: Spanned<String>,
    rate_per_s: Option<f64>,
    from_per_s: Option<f64>,
    to_per_s: Option<f64>,
    at: Option<Spanned<String>>,
    lasting: Option<Spanned<String>>,
    peak_per_s: Option<f64>,
    profile: Option<Vec<f64>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHold {
    dist: Spanned<String>,
    value: Option<Spanned<String>>,
    mean: Option<Spanned<String>>,
    median: Option<Spanned<String>>,
    sigma: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDestination {
    kind: Option<Spanned<String>>,
    numbers: Option<Vec<String>>,
    weight: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBehaviour {
    gateway: Spanned<String>,
    answer: Option<f64>,
    #[serde(default)]
    responses: BTreeMap<String, f64>,
    post_dial_delay: Option<Spanned<String>>,
    ring: Option<Spanned<String>>,
    give_up: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFault {
    gateway: Spanned<String>,
    down: Option<Spanned<String>>,
    up: Option<Spanned<String>>,
    respond: Option<Spanned<i64>>,
    from: Option<Spanned<String>>,
    until: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQueue {
    queue: Spanned<String>,
    agents: Option<Spanned<i64>>,
    patience: Option<Spanned<RawHold>>,
}

// ---------------------------------------------------------------------------------------
// Checking.

struct Checker<'a> {
    index: &'a LineIndex,
    errors: Vec<ScenarioError>,
}

impl Checker<'_> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let location = Some(self.index.location(span.start));
        self.errors.push(ScenarioError { location, message: message.into() });
    }

    fn duration(&mut self, v: &Spanned<String>, what: &str) -> Option<u64> {
        match parse_ms(v.get_ref()) {
            Ok(ms) => Some(ms),
            Err(e) => {
                self.error(v.span(), format!("{what}: {e}"));
                None
            }
        }
    }

    fn rate(&mut self, v: Option<f64>, span: Range<usize>, what: &str) -> Option<f64> {
        match v {
            None => {
                self.error(span, format!("missing {what}"));
                None
            }
            Some(r) if r.is_finite() && (0.0..=MAX_RATE_PER_S).contains(&r) => Some(r),
            Some(r) => {
                self.error(span, format!("{what} must be 0 to {MAX_RATE_PER_S}, got {r}"));
                None
            }
        }
    }

    fn share(&mut self, v: f64, span: Range<usize>, what: &str) -> Option<f64> {
        if v.is_finite() && (0.0..=1.0).contains(&v) {
            Some(v)
        } else {
            self.error(span, format!("{what} must be between 0 and 1, got {v}"));
            None
        }
    }

    fn hold(&mut self, raw: &Spanned<RawHold>, what: &str) -> Option<Hold> {
        let h = raw.get_ref();
        let need = |c: &mut Self, v: &Option<Spanned<String>>, field: &str| match v {
            Some(v) => c.duration(v, &format!("{what} {field}")),
            None => {
                c.error(raw.span(), format!("{what}: {:?} needs {field}", h.dist.get_ref()));
                None
            }
        };
        match h.dist.get_ref().as_str() {
            "fixed" => {
                let v = if h.value.is_some() { &h.value } else { &h.mean };
                need(self, v, "value").map(|ms| Hold::Fixed { ms })
            }
            "exponential" => {
                let mean_ms = need(self, &h.mean, "mean")?;
                if mean_ms == 0 {
                    self.error(raw.span(), format!("{what}: the mean must be above 0"));
                    return None;
                }
                Some(Hold::Exponential { mean_ms })
            }
            "lognormal" => {
                let median_ms = need(self, &h.median, "median")?;
                let sigma = h.sigma.unwrap_or(1.0);
                if !(sigma.is_finite() && (0.0..=4.0).contains(&sigma)) {
                    self.error(raw.span(), format!("{what}: sigma must be 0 to 4, got {sigma}"));
                    return None;
                }
                Some(Hold::Lognormal { median_ms, sigma })
            }
            other => {
                self.error(
                    h.dist.span(),
                    format!("{what}: unknown dist {other:?} (fixed, exponential, lognormal)"),
                );
                None
            }
        }
    }

    fn arrivals(&mut self, raw: &Spanned<RawArrivals>) -> Option<Arrivals> {
        let a = raw.get_ref();
        let span = raw.span();
        match a.process.get_ref().as_str() {
            "poisson" => {
                Some(Arrivals::Poisson { rate_per_s: self.rate(a.rate_per_s, span, "rate_per_s")? })
            }
            "ramp" => {
                let from = self.rate(a.from_per_s, span.clone(), "from_per_s");
                let to = self.rate(a.to_per_s, span, "to_per_s");
                Some(Arrivals::Ramp { from_per_s: from?, to_per_s: to? })
            }
            "burst" => {
                let rate = self.rate(a.rate_per_s, span.clone(), "rate_per_s");
                let at = match &a.at {
                    Some(v) => self.duration(v, "burst at"),
                    None => {
                        self.error(span.clone(), "a burst needs `at` (when it starts)");
                        None
                    }
                };
                let lasting = match &a.lasting {
                    Some(v) => self.duration(v, "burst lasting"),
                    None => {
                        self.error(span, "a burst needs `lasting` (how long it lasts)");
                        None
                    }
                };
                Some(Arrivals::Burst { rate_per_s: rate?, at_ms: at?, lasting_ms: lasting? })
            }
            "diurnal" => {
                let peak = self.rate(a.peak_per_s, span.clone(), "peak_per_s");
                let profile = match &a.profile {
                    Some(p) if p.len() == 24 && p.iter().all(|w| w.is_finite() && *w >= 0.0) => {
                        let mut out = [0.0; 24];
                        let max = p.iter().copied().fold(0.0, f64::max);
                        if max > 0.0 {
                            for (o, w) in out.iter_mut().zip(p) {
                                *o = w / max;
                            }
                        }
                        Some(out)
                    }
                    Some(p) => {
                        self.error(
                            span,
                            format!(
                                "a diurnal profile has 24 non-negative weights, one per hour \
                                 (got {} values)",
                                p.len()
                            ),
                        );
                        None
                    }
                    None => {
                        self.error(span, "a diurnal process needs `profile` (24 hourly weights)");
                        None
                    }
                };
                Some(Arrivals::Diurnal { peak_per_s: peak?, profile: profile? })
            }
            other => {
                self.error(
                    a.process.span(),
                    format!("unknown arrival process {other:?} (poisson, ramp, burst, diurnal)"),
                );
                None
            }
        }
    }

    fn behaviour(&mut self, raw: &Spanned<RawBehaviour>) -> Option<Behaviour> {
        let b = raw.get_ref();
        let span = raw.span();
        let d = Behaviour::default();
        let mut responses = Vec::new();
        for (key, &p) in &b.responses {
            let p = self.share(p, span.clone(), &format!("responses.{key}"))?;
            let r = match key.as_str() {
                "timeout" => Response::Timeout,
                "network" => Response::Network,
                k => match k.parse::<u16>() {
                    Ok(c) if (300..=699).contains(&c) => Response::Code(c),
                    _ => {
                        self.error(
                            span,
                            format!(
                                "responses: {key:?} is not a final SIP code (300–699), \
                                 \"timeout\" or \"network\""
                            ),
                        );
                        return None;
                    }
                },
            };
            responses.push((r, p));
        }
        let listed: f64 = responses.iter().map(|(_, p)| p).sum();
        // Without `answer`, calls the responses leave over are answered; with neither, the
        // default mix applies.
        let answer = match b.answer {
            Some(a) => self.share(a, span.clone(), "answer")?,
            None if b.responses.is_empty() => {
                responses = d.responses.clone();
                d.answer
            }
            None => (1.0 - listed).max(0.0),
        };
        let total = answer + responses.iter().map(|(_, p)| p).sum::<f64>();
        if total > 1.0 + 1e-9 {
            self.error(span, format!("answer and responses add up to {total:.3}, more than 1"));
            return None;
        }
        let dur = |c: &mut Self, v: &Option<Spanned<String>>, what: &str, default: u64| match v {
            Some(v) => c.duration(v, what),
            None => Some(default),
        };
        Some(Behaviour {
            answer,
            responses,
            post_dial_delay_ms: dur(
                self,
                &b.post_dial_delay,
                "post_dial_delay",
                d.post_dial_delay_ms,
            )?,
            ring_ms: dur(self, &b.ring, "ring", d.ring_ms)?,
            give_up_ms: dur(self, &b.give_up, "give_up", d.give_up_ms)?,
        })
    }
}

impl ScenarioFile {
    /// Parses a scenario read from `file` and checks everything that needs no tenant.
    pub fn parse(text: &str, file: &str) -> Result<ScenarioFile, ScenarioErrors> {
        let index = LineIndex::new(Arc::<str>::from(file), Arc::<str>::from(text));
        let mut c = Checker { index: &index, errors: Vec::new() };
        let raw: RawScenario = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                c.error(e.span().unwrap_or(0..0), e.message().trim_end().to_owned());
                return Err(ScenarioErrors(c.errors));
            }
        };
        let (mut seed, mut duration_ms, mut warmup_ms, mut interval_ms, mut repetitions) =
            (1u64, None, 0u64, None, 1u32);
        match &raw.run {
            None => c.error(0..0, "missing [run] section (seed, duration)"),
            Some(run) => {
                let r = run.get_ref();
                if let Some(s) = &r.seed {
                    match u64::try_from(*s.get_ref()) {
                        Ok(v) => seed = v,
                        Err(_) => c.error(s.span(), "seed must be 0 or more"),
                    }
                }
                match &r.duration {
                    Some(d) => match c.duration(d, "duration") {
                        Some(0) => c.error(d.span(), "duration must be above 0"),
                        v => duration_ms = v,
                    },
                    None => c.error(run.span(), "[run] needs duration (like \"1h\")"),
                }
                if let Some(w) = &r.warmup
                    && let Some(ms) = c.duration(w, "warmup")
                {
                    warmup_ms = ms;
                    if duration_ms.is_some_and(|d| ms >= d) {
                        c.error(w.span(), "warmup must be shorter than the duration");
                    }
                }
                if let Some(i) = &r.interval {
                    match c.duration(i, "interval") {
                        Some(ms) if ms >= 100 => interval_ms = Some(ms),
                        Some(_) => c.error(i.span(), "interval must be at least 100ms"),
                        None => {}
                    }
                }
                if let Some(n) = &r.repetitions {
                    match u32::try_from(*n.get_ref()) {
                        Ok(v) if (1..=MAX_REPETITIONS).contains(&v) => repetitions = v,
                        _ => {
                            c.error(n.span(), format!("repetitions must be 1 to {MAX_REPETITIONS}"))
                        }
                    }
                }
            }
        }
        let tenant_file = match &raw.tenant {
            Some(t) => t.get_ref().file.get_ref().clone(),
            None => {
                c.error(0..0, "missing [tenant] section (file = \"tenants/....toml\")");
                String::new()
            }
        };
        if raw.traffic.is_empty() {
            c.error(0..0, "no [[traffic]] blocks: the scenario would offer no calls");
        }
        let duration_ms = duration_ms.unwrap_or(1);
        // Time series: about 200 buckets unless told.
        let interval_ms = interval_ms.unwrap_or_else(|| (duration_ms / 200).max(1_000));
        if duration_ms / interval_ms > 1_000_000 {
            c.error(0..0, "interval too short: more than 1,000,000 buckets");
        }
        // Check everything else once without a tenant, so syntax-level mistakes show even
        // when the tenant is missing.
        let errors = c.errors;
        let file = ScenarioFile {
            index,
            raw,
            seed,
            duration_ms,
            warmup_ms,
            interval_ms,
            repetitions,
            tenant_file,
        };
        let mut all = errors;
        all.extend(file.check_values());
        if all.is_empty() { Ok(file) } else { Err(ScenarioErrors(all)) }
    }

    /// The file name the scenario was read from.
    pub fn file(&self) -> &Arc<str> {
        self.index.file()
    }

    /// The location of the `[tenant] file` value, for errors loading it.
    pub fn tenant_location(&self) -> Option<Location> {
        self.raw.tenant.as_ref().map(|t| self.index.location(t.get_ref().file.span().start))
    }

    fn check_values(&self) -> Vec<ScenarioError> {
        let mut c = Checker { index: &self.index, errors: Vec::new() };
        for t in &self.raw.traffic {
            self.traffic_values(&mut c, t);
        }
        for b in &self.raw.gateway_behaviour {
            c.behaviour(b);
        }
        for f in &self.raw.fault {
            fault_window(&mut c, f);
        }
        for q in &self.raw.queue_behaviour {
            if let Some(p) = &q.get_ref().patience {
                c.hold(p, "patience");
            }
        }
        c.errors
    }

    fn traffic_values(&self, c: &mut Checker<'_>, t: &Spanned<RawTraffic>) {
        let r = t.get_ref();
        match &r.arrivals {
            Some(a) => {
                c.arrivals(a);
            }
            None => c.error(t.span(), "a [[traffic]] block needs arrivals"),
        }
        match &r.hold {
            Some(h) => {
                c.hold(h, "hold");
            }
            None => c.error(t.span(), "a [[traffic]] block needs hold"),
        }
        if let Some(d) = &r.direction
            && !matches!(d.get_ref().as_str(), "outbound" | "inbound")
        {
            c.error(
                d.span(),
                format!("direction must be outbound or inbound, got {:?}", d.get_ref()),
            );
        }
        if let Some(a) = &r.answer {
            c.share(*a.get_ref(), a.span(), "answer");
        }
        if r.destinations.is_empty() {
            c.error(t.span(), "a [[traffic]] block needs destinations");
        }
        for d in &r.destinations {
            let dr = d.get_ref();
            match (&dr.kind, &dr.numbers) {
                (Some(k), None) => {
                    if DestinationKind::parse(k.get_ref()).is_none() {
                        let names: Vec<_> = DestinationKind::ALL.iter().map(|(n, _)| *n).collect();
                        c.error(
                            k.span(),
                            format!(
                                "unknown destination kind {:?} (one of {})",
                                k.get_ref(),
                                names.join(", ")
                            ),
                        );
                    }
                }
                (None, Some(n)) if !n.is_empty() => {
                    if let Some(bad) = n.iter().find(|s| s.is_empty() || s.len() > 64) {
                        c.error(
                            d.span(),
                            format!("destination number {bad:?} is empty or too long"),
                        );
                    }
                }
                (None, Some(_)) => c.error(d.span(), "numbers = [] lists no number"),
                _ => c.error(d.span(), "a destination has either kind or numbers"),
            }
            if let Some(w) = dr.weight
                && !(w.is_finite() && (0.0..=1e9).contains(&w))
            {
                c.error(d.span(), format!("weight must be 0 or more, got {w}"));
            }
        }
    }

    /// Resolves the names the scenario uses against the compiled tenant.
    pub fn bind(&self, engine: Arc<Engine>) -> Result<Scenario, ScenarioErrors> {
        let mut c = Checker { index: &self.index, errors: Vec::new() };
        let mut traffic = Vec::new();
        for (i, t) in self.raw.traffic.iter().enumerate() {
            if let Some(t) = self.bind_traffic(&mut c, &engine, t, i) {
                traffic.push(t);
            }
        }
        let mut behaviours = Vec::new();
        for b in &self.raw.gateway_behaviour {
            let leg = leg(&mut c, &engine, &b.get_ref().gateway);
            if let (Some(leg), Some(beh)) = (leg, c.behaviour(b)) {
                behaviours.push((leg, beh));
            }
        }
        let mut faults = Vec::new();
        for f in &self.raw.fault {
            let g = gateway(&mut c, &engine, &f.get_ref().gateway);
            if let (Some(g), Some((kind, from_ms, until_ms))) = (g, fault_window(&mut c, f)) {
                faults.push(Fault { gateway: g, kind, from_ms, until_ms });
            }
        }
        let mut queues = Vec::new();
        for q in &self.raw.queue_behaviour {
            let r = q.get_ref();
            let Some(u) = engine.party(r.queue.get_ref()) else {
                c.error(r.queue.span(), format!("no resource account {:?}", r.queue.get_ref()));
                continue;
            };
            let Some(settings) = engine.queue_settings(u) else {
                c.error(r.queue.span(), format!("{:?} is not a call queue", r.queue.get_ref()));
                continue;
            };
            let agents = match &r.agents {
                Some(a) => match u32::try_from(*a.get_ref()) {
                    Ok(n) if n <= 200 => n,
                    _ => {
                        c.error(a.span(), "agents must be 0 to 200 (Teams' limit per queue)");
                        continue;
                    }
                },
                None => settings.agents,
            };
            let patience = match &r.patience {
                Some(p) => match c.hold(p, "patience") {
                    Some(h) => Some(h),
                    None => continue,
                },
                None => None,
            };
            queues.push(QueueBehaviour { queue: u, agents, patience });
        }
        let scenario = Scenario {
            file: self.index.file().clone(),
            engine,
            seed: self.seed,
            duration_ms: self.duration_ms,
            warmup_ms: self.warmup_ms,
            interval_ms: self.interval_ms,
            repetitions: self.repetitions,
            traffic,
            behaviours,
            faults,
            queues,
        };
        if c.errors.is_empty() {
            let expected = scenario.expected_calls();
            if expected > MAX_CALLS {
                c.error(
                    0..0,
                    format!(
                        "the traffic offers about {expected:.0} calls per run; the limit is \
                         {MAX_CALLS:.0} (shorten the run or lower the rates)"
                    ),
                );
            }
        }
        if c.errors.is_empty() { Ok(scenario) } else { Err(ScenarioErrors(c.errors)) }
    }

    fn bind_traffic(
        &self,
        c: &mut Checker<'_>,
        engine: &Engine,
        t: &Spanned<RawTraffic>,
        i: usize,
    ) -> Option<Traffic> {
        let r = t.get_ref();
        let name = r.name.clone().unwrap_or_else(|| format!("traffic {}", i + 1));
        let direction = match r.direction.as_ref().map(|d| d.get_ref().as_str()) {
            Some("inbound") => Direction::Inbound,
            _ => Direction::Outbound,
        };
        let arrivals = c.arrivals(r.arrivals.as_ref()?)?;
        let hold = c.hold(r.hold.as_ref()?, "hold")?;
        let mut callers = Vec::new();
        let mut caller_numbers = Vec::new();
        // `callers` is a string or a list of strings.
        let names: Option<Vec<String>> = match r.callers.as_ref().map(|c| c.get_ref()) {
            None => None,
            Some(toml::Value::String(s)) => Some(vec![s.clone()]),
            Some(toml::Value::Array(a)) if a.iter().all(|v| v.is_str()) => {
                Some(a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            }
            Some(_) => {
                let span = r.callers.as_ref().map_or(t.span(), |c| c.span());
                c.error(span, "callers must be \"all\", a user id, a user range or a list of them");
                return None;
            }
        };
        let callers_span = r.callers.as_ref().map_or(t.span(), |c| c.span());
        match (direction, names) {
            (Direction::Outbound, None) => callers.push(all_users(engine)),
            (Direction::Outbound, Some(names)) => {
                for n in names {
                    if n.eq_ignore_ascii_case("all") {
                        callers.push(all_users(engine));
                    } else if let Some(run) = engine.user_range(&n) {
                        callers.push(run);
                    } else if let Some(u) = engine.party(&n) {
                        callers.push((u, 1));
                    } else {
                        c.error(
                            callers_span.clone(),
                            format!("callers: no user or user range {n:?}"),
                        );
                    }
                }
                if callers.iter().all(|(_, n)| *n == 0) && c.errors.is_empty() {
                    c.error(callers_span, "callers: no users to call from");
                }
            }
            (Direction::Inbound, None) => {}
            (Direction::Inbound, Some(names)) => {
                caller_numbers.extend(names.into_iter().filter(|n| n != "pstn"));
            }
        }
        if direction == Direction::Outbound && engine.user_count() == 0 {
            c.error(t.span(), "the tenant has no users to place outbound calls");
        }
        let mut destinations = Vec::new();
        let mut total = 0.0;
        for d in &r.destinations {
            let dr = d.get_ref();
            let dest = match (&dr.kind, &dr.numbers) {
                (Some(k), _) => {
                    let kind = DestinationKind::parse(k.get_ref())?;
                    if direction == Direction::Inbound
                        && !matches!(
                            kind,
                            DestinationKind::InternalUser | DestinationKind::ServiceNumber
                        )
                    {
                        c.error(
                            k.span(),
                            format!(
                                "inbound traffic calls the tenant's own numbers: kind \
                                 internal_user or service_number, or numbers = [...], not {:?}",
                                k.get_ref()
                            ),
                        );
                        continue;
                    }
                    if kind == DestinationKind::ServiceNumber && !has_service_numbers(engine) {
                        c.error(k.span(), "the tenant has no resource account with a number");
                        continue;
                    }
                    Destination::Kind(kind)
                }
                (None, Some(n)) => Destination::Numbers(n.clone()),
                (None, None) => return None,
            };
            total += dr.weight.unwrap_or(1.0);
            destinations.push((dest, total));
        }
        if total <= 0.0 && !destinations.is_empty() {
            c.error(t.span(), "destination weights add up to 0");
            return None;
        }
        let via = match &r.via {
            None => Via::Auto,
            Some(v) if v.get_ref() == "auto" => Via::Auto,
            Some(v) => Via::Fixed(ingress(c, engine, v)?),
        };
        let answer = r.answer.as_ref().map_or(0.9, |a| *a.get_ref());
        Some(Traffic {
            name,
            direction,
            callers,
            caller_numbers,
            arrivals,
            hold,
            destinations,
            via,
            answer,
        })
    }
}

fn all_users(engine: &Engine) -> (UserId, u32) {
    (UserId::from_index(0), engine.user_count() as u32)
}

fn has_service_numbers(engine: &Engine) -> bool {
    (engine.user_count()..engine.party_count()).any(|i| {
        let u = UserId::from_index(i as u32);
        engine.number_of(u).is_some() && engine.party_kind(u) != PartyKind::User
    })
}

fn gateway(c: &mut Checker<'_>, engine: &Engine, name: &Spanned<String>) -> Option<GatewayId> {
    let g = engine.gateway(name.get_ref());
    if g.is_none() {
        c.error(name.span(), format!("no gateway {:?} in the tenant", name.get_ref()));
    }
    g
}

/// A gateway FQDN, `calling-plan` or `operator:<trunk>`, with an error naming what is missing.
fn ingress(c: &mut Checker<'_>, engine: &Engine, name: &Spanned<String>) -> Option<Ingress> {
    let found = crate::trace::ingress(engine, name.get_ref());
    if found.is_none() {
        match name.get_ref().strip_prefix("operator:") {
            Some(trunk) => {
                c.error(name.span(), format!("no operator trunk {trunk:?} in the tenant"))
            }
            None => c.error(name.span(), format!("no gateway {:?} in the tenant", name.get_ref())),
        }
    }
    found
}

fn leg(c: &mut Checker<'_>, engine: &Engine, name: &Spanned<String>) -> Option<Leg> {
    if name.get_ref() == "*" {
        return Some(Leg::Default);
    }
    ingress(c, engine, name).map(|i| match i {
        Ingress::Gateway(g) => Leg::Gateway(g),
        Ingress::CallingPlan => Leg::CallingPlan,
        Ingress::Operator(t) => Leg::Operator(t),
    })
}

fn fault_window(c: &mut Checker<'_>, f: &Spanned<RawFault>) -> Option<(FaultKind, u64, u64)> {
    let r = f.get_ref();
    let opt = |c: &mut Checker<'_>, v: &Option<Spanned<String>>, what: &str| match v {
        Some(v) => c.duration(v, what).map(Some),
        None => Some(None),
    };
    let (kind, from, until) = match (&r.down, &r.respond) {
        (Some(down), None) => {
            if r.from.is_some() || r.until.is_some() {
                c.error(f.span(), "a down fault uses down/up, not from/until");
                return None;
            }
            (FaultKind::Down, c.duration(down, "down")?, opt(c, &r.up, "up")?)
        }
        (None, Some(code)) => {
            let code = match u16::try_from(*code.get_ref()) {
                Ok(v) if (300..=699).contains(&v) => v,
                _ => {
                    c.error(code.span(), "respond must be a final SIP code (300–699)");
                    return None;
                }
            };
            let Some(from) = &r.from else {
                c.error(f.span(), "a respond fault needs from (and until)");
                return None;
            };
            (FaultKind::Respond(code), c.duration(from, "from")?, opt(c, &r.until, "until")?)
        }
        (Some(_), Some(_)) => {
            c.error(f.span(), "a fault is either down = ... or respond = ..., not both");
            return None;
        }
        (None, None) => {
            c.error(f.span(), "a fault needs down = \"<time>\" or respond = <code>");
            return None;
        }
    };
    let until = until.unwrap_or(u64::MAX);
    if until <= from {
        c.error(f.span(), "a fault must end after it starts");
        return None;
    }
    Some((kind, from, until))
}
