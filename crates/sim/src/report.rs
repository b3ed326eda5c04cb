//! What a run reports: counters, per-gateway concurrency, minute pools, queues, decision
//! latency and the per-interval time series; as a text table, JSON (design.md's schema and
//! more) and CSV.
//!
//! Maps are `BTreeMap`s so that the JSON comes out in the same order every time: the same
//! seed gives the same report byte for byte, apart from the wall-clock fields (`wall_ms`,
//! `events_per_s`, `decision_latency_ns`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Calls offered to and carried by one kind of connectivity.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ByConnectivity {
    /// Outbound calls decided for Direct Routing.
    pub direct_routing: u64,
    /// Outbound calls decided for Calling Plan.
    pub calling_plan: u64,
    /// Outbound calls decided for Operator Connect.
    pub operator_connect: u64,
    /// Calls that stayed inside the tenant (VoIP, unassigned-number treatments).
    pub internal: u64,
    /// Inbound calls from the PSTN.
    pub inbound: u64,
}

/// Emergency calls.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Emergency {
    /// Dialed.
    pub offered: u64,
    /// Answered by the PSAP.
    pub connected: u64,
    /// Not connected (blocked or failed).
    pub lost: u64,
}

/// One gateway (or carrier) over the run.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct GatewayReport {
    /// INVITEs sent (first tries; datacenter retries are in `retries`).
    pub attempts: u64,
    /// Datacenter retries after network errors.
    pub retries: u64,
    /// Calls it answered.
    pub answered: u64,
    /// Calls it refused at its enforced session cap (503 without a call).
    pub cap_refused: u64,
    /// Calls failed over away from it.
    pub failed_over: u64,
    /// Inbound calls it carried.
    pub inbound: u64,
    /// Most calls at once (after warm-up).
    pub peak_concurrent: u32,
    /// Time-weighted mean of calls at once (after warm-up).
    pub mean_concurrent: f64,
    /// `mean_concurrent` over its limit (enforced cap, else `max_concurrent_sessions`);
    /// `null` when it has neither.
    pub utilization: Option<f64>,
    /// `SbcCapacityAlert`s: rises to 90 % of `max_concurrent_sessions`.
    pub alerts: u64,
}

/// A Calling Plan minute pool at the end of the run.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct PoolReport {
    /// Minutes used.
    pub used_min: u64,
    /// Minutes left.
    pub left_min: u64,
}

/// A call queue over the run.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct QueueReport {
    /// Callers that reached the queue.
    pub offered: u64,
    /// Callers an agent answered.
    pub answered: u64,
    /// Callers turned away at the overflow threshold.
    pub overflowed: u64,
    /// Callers that hung up while waiting.
    pub abandoned: u64,
    /// Callers that reached the queue's timeout.
    pub timed_out: u64,
    /// Most callers waiting at once.
    pub peak_waiting: u32,
    /// Mean wait of answered callers, seconds.
    pub mean_wait_s: f64,
    /// Sum of waits of answered callers (ms), for merging.
    #[serde(skip)]
    pub wait_ms_total: u64,
}

/// Latency percentiles in ns.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
}

/// Counters of one traffic block.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct TrafficReport {
    /// Calls offered.
    pub offered: u64,
    /// Calls connected.
    pub carried: u64,
    /// Calls refused before an attempt.
    pub blocked: u64,
    /// Calls attempted that did not connect.
    pub failed: u64,
}

/// One interval of the time series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bucket {
    /// Start of the interval (simulated ms).
    pub start_ms: u64,
    /// Calls that arrived.
    pub offered: u64,
    /// Calls that connected.
    pub carried: u64,
    /// Calls refused before an attempt.
    pub blocked: u64,
    /// Calls that failed after attempts.
    pub failed: u64,
    /// Failovers.
    pub failovers: u64,
    /// PSTN calls in progress at the end of the interval.
    pub concurrent: u64,
    /// Calls in progress per gateway at the end of the interval (engine order).
    pub gateways: Vec<u32>,
}

impl Bucket {
    fn add_counts(&mut self, b: &Bucket) {
        self.offered += b.offered;
        self.carried += b.carried;
        self.blocked += b.blocked;
        self.failed += b.failed;
        self.failovers += b.failovers;
        self.concurrent += b.concurrent;
    }
}

/// The report of a run (or of several repetitions merged).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The scenario file.
    pub scenario: String,
    /// The tenant.
    pub tenant: String,
    /// The seed of the first repetition.
    pub seed: u64,
    /// Runs merged into this report.
    pub repetitions: u32,
    /// Simulated seconds per repetition (calls arrive during this time, then drain).
    pub simulated_s: f64,
    /// Wall-clock time of the run, ms.
    pub wall_ms: u64,
    /// Events processed.
    pub events: u64,
    /// Events per wall-clock second.
    pub events_per_s: f64,
    /// Calls offered (after warm-up).
    pub offered: u64,
    /// Calls connected.
    pub carried: u64,
    /// Calls attempted that did not connect.
    pub failed: u64,
    /// Calls refused before or instead of an attempt, by reason.
    pub blocked: BTreeMap<String, u64>,
    /// Blocked over offered.
    pub blocking_probability: f64,
    /// Why attempted calls failed (final SIP code, exhausted gateways, no answer).
    pub failures: BTreeMap<String, u64>,
    /// Moves to the next gateway after a failover code, a timeout or network errors.
    pub failovers: u64,
    /// Emergency calls.
    pub emergency: Emergency,
    /// Calls by connectivity.
    pub by_connectivity: ByConnectivity,
    /// Per traffic block.
    pub traffic: BTreeMap<String, TrafficReport>,
    /// Per gateway, by FQDN.
    pub gateways: BTreeMap<String, GatewayReport>,
    /// Calling Plan minute pools.
    pub minute_pools: BTreeMap<String, PoolReport>,
    /// Paid minutes: (postpaid overage or credits, unfunded).
    pub paid_minutes: u64,
    /// Call queues.
    pub queues: BTreeMap<String, QueueReport>,
    /// Decision latency (wall clock, ns).
    pub decision_latency_ns: Latency,
    /// Capacity permits still held after the run drained: anything but 0 is a bug.
    pub leaked_permits: u64,
    /// Per-interval series.
    #[serde(skip)]
    pub series: Vec<Bucket>,
    /// Interval width of the series.
    #[serde(skip)]
    pub interval_ms: u64,
    /// Gateway names in engine order (the series' columns).
    #[serde(skip)]
    pub gateway_order: Vec<String>,
    /// Decision latencies, for merging.
    #[serde(skip)]
    pub latency: Option<Histogram<u64>>,
}

impl Report {
    /// Adds another repetition's report (same scenario) into this one.
    pub fn merge(&mut self, other: Report) {
        let n = f64::from(self.repetitions);
        let m = f64::from(other.repetitions);
        self.add_totals(&other);
        add_map(&mut self.blocked, other.blocked);
        add_map(&mut self.failures, other.failures);
        for (k, t) in other.traffic {
            let e = self.traffic.entry(k).or_default();
            e.offered += t.offered;
            e.carried += t.carried;
            e.blocked += t.blocked;
            e.failed += t.failed;
        }
        for (k, g) in other.gateways {
            let e = self.gateways.entry(k).or_default();
            e.attempts += g.attempts;
            e.retries += g.retries;
            e.answered += g.answered;
            e.cap_refused += g.cap_refused;
            e.failed_over += g.failed_over;
            e.inbound += g.inbound;
            e.peak_concurrent = e.peak_concurrent.max(g.peak_concurrent);
            e.mean_concurrent = (e.mean_concurrent * n + g.mean_concurrent * m) / (n + m);
            e.utilization = match (e.utilization, g.utilization) {
                (Some(x), Some(y)) => Some((x * n + y * m) / (n + m)),
                (x, y) => x.or(y),
            };
            e.alerts += g.alerts;
        }
        for (k, p) in other.minute_pools {
            let e = self.minute_pools.entry(k).or_default();
            e.used_min += p.used_min;
            e.left_min += p.left_min;
        }
        for (k, q) in other.queues {
            let e = self.queues.entry(k).or_default();
            e.offered += q.offered;
            e.answered += q.answered;
            e.overflowed += q.overflowed;
            e.abandoned += q.abandoned;
            e.timed_out += q.timed_out;
            e.peak_waiting = e.peak_waiting.max(q.peak_waiting);
            e.wait_ms_total += q.wait_ms_total;
        }
        for (i, b) in other.series.into_iter().enumerate() {
            match self.series.get_mut(i) {
                Some(s) => {
                    s.add_counts(&b);
                    for (x, y) in s.gateways.iter_mut().zip(b.gateways) {
                        *x += y;
                    }
                }
                None => self.series.push(b),
            }
        }
        self.finish();
    }

    /// The counters every report sums, whatever it covers.
    fn add_totals(&mut self, other: &Report) {
        self.repetitions += other.repetitions;
        self.wall_ms = self.wall_ms.max(other.wall_ms);
        self.simulated_s = self.simulated_s.max(other.simulated_s);
        self.events += other.events;
        self.offered += other.offered;
        self.carried += other.carried;
        self.failed += other.failed;
        self.failovers += other.failovers;
        self.emergency.offered += other.emergency.offered;
        self.emergency.connected += other.emergency.connected;
        self.emergency.lost += other.emergency.lost;
        let (a, b) = (&mut self.by_connectivity, &other.by_connectivity);
        a.direct_routing += b.direct_routing;
        a.calling_plan += b.calling_plan;
        a.operator_connect += b.operator_connect;
        a.internal += b.internal;
        a.inbound += b.inbound;
        self.paid_minutes += other.paid_minutes;
        self.leaked_permits += other.leaked_permits;
        match (&mut self.latency, &other.latency) {
            (Some(a), Some(b)) => {
                // Same bounds on both sides: `add` cannot fail.
                let _ = a.add(b);
            }
            (None, b) => self.latency = b.clone(),
            _ => {}
        }
    }

    /// One report for several tenants' runs (shards of one `tpr sim` with several scenarios):
    /// totals and reasons are summed; traffic blocks, gateways, pools and queues are listed
    /// per tenant as `tenant/name`; the series adds up intervals and lists every tenant's
    /// gateways. The series is kept only when all runs share one interval.
    ///
    /// # Panics
    ///
    /// If `reports` is empty.
    pub fn combine(reports: Vec<Report>) -> Report {
        let mut names: Vec<String> = Vec::new();
        let mut out: Option<Report> = None;
        for mut r in reports {
            let mut name = r.tenant.clone();
            let mut k = 1;
            while names.contains(&name) {
                k += 1;
                name = format!("{}#{k}", r.tenant);
            }
            r.namespace(&name);
            names.push(name);
            match &mut out {
                None => out = Some(r),
                Some(m) => m.absorb(r),
            }
        }
        let mut out = out.unwrap_or_else(|| unreachable!("combine needs a report"));
        out.tenant = names.join(", ");
        out.finish();
        out
    }

    fn namespace(&mut self, tenant: &str) {
        fn rename<V>(m: &mut BTreeMap<String, V>, tenant: &str) {
            *m = std::mem::take(m).into_iter().map(|(k, v)| (format!("{tenant}/{k}"), v)).collect();
        }
        rename(&mut self.traffic, tenant);
        rename(&mut self.gateways, tenant);
        rename(&mut self.minute_pools, tenant);
        rename(&mut self.queues, tenant);
        for g in &mut self.gateway_order {
            *g = format!("{tenant}/{g}");
        }
    }

    /// Adds another tenant's report (keys already distinct).
    fn absorb(&mut self, other: Report) {
        self.add_totals(&other);
        self.scenario = format!("{}, {}", self.scenario, other.scenario);
        add_map(&mut self.blocked, other.blocked);
        add_map(&mut self.failures, other.failures);
        self.traffic.extend(other.traffic);
        self.gateways.extend(other.gateways);
        self.minute_pools.extend(other.minute_pools);
        self.queues.extend(other.queues);
        if self.interval_ms != other.interval_ms {
            self.series.clear();
            self.gateway_order.clear();
            return;
        }
        let (mine, theirs) = (self.gateway_order.len(), other.gateway_order.len());
        self.gateway_order.extend(other.gateway_order);
        let mut other_series = other.series.into_iter();
        for b in self.series.iter_mut() {
            match other_series.next() {
                Some(o) => {
                    b.add_counts(&o);
                    b.gateways.extend(o.gateways);
                }
                None => b.gateways.resize(mine + theirs, 0),
            }
        }
        for mut o in other_series {
            let mut g = vec![0; mine];
            g.append(&mut o.gateways);
            o.gateways = g;
            self.series.push(o);
        }
    }

    /// Computes the derived fields (ratios, means, percentiles).
    pub fn finish(&mut self) {
        let blocked: u64 = self.blocked.values().sum();
        self.blocking_probability =
            if self.offered == 0 { 0.0 } else { blocked as f64 / self.offered as f64 };
        self.events_per_s =
            if self.wall_ms == 0 { 0.0 } else { self.events as f64 * 1000.0 / self.wall_ms as f64 };
        for q in self.queues.values_mut() {
            q.mean_wait_s = if q.answered == 0 {
                0.0
            } else {
                q.wait_ms_total as f64 / q.answered as f64 / 1000.0
            };
        }
        if let Some(h) = &self.latency
            && !h.is_empty()
        {
            self.decision_latency_ns = Latency {
                p50: h.value_at_quantile(0.50),
                p90: h.value_at_quantile(0.90),
                p99: h.value_at_quantile(0.99),
                p999: h.value_at_quantile(0.999),
                max: h.max(),
            };
        }
    }

    /// The JSON report, pretty-printed.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

    /// The text report.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "scenario {}  tenant {}  seed {}  repetitions {}",
            self.scenario, self.tenant, self.seed, self.repetitions
        );
        let _ = writeln!(
            s,
            "simulated {}  wall {} ms  events {}  ({:.2} M events/s)",
            crate::duration::format_ms((self.simulated_s * 1000.0) as u64),
            self.wall_ms,
            self.events,
            self.events_per_s / 1e6
        );
        let blocked: u64 = self.blocked.values().sum();
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "calls     offered {:>9}  carried {:>9}  blocked {:>8}  failed {:>8}  blocking {:.4}",
            self.offered, self.carried, blocked, self.failed, self.blocking_probability
        );
        let c = &self.by_connectivity;
        let _ = writeln!(
            s,
            "routed    direct {}  calling-plan {}  operator {}  internal {}  inbound {}",
            c.direct_routing, c.calling_plan, c.operator_connect, c.internal, c.inbound
        );
        let _ = writeln!(
            s,
            "emergency offered {}  connected {}  lost {}   failovers {}",
            self.emergency.offered, self.emergency.connected, self.emergency.lost, self.failovers
        );
        if !self.blocked.is_empty() {
            let _ = writeln!(s, "blocked   {}", join_counts(&self.blocked));
        }
        if !self.failures.is_empty() {
            let _ = writeln!(s, "failed    {}", join_counts(&self.failures));
        }
        if !self.traffic.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(
                s,
                "{:<28} {:>9} {:>9} {:>8} {:>8}",
                "traffic", "offered", "carried", "blocked", "failed"
            );
            for (name, t) in &self.traffic {
                let _ = writeln!(
                    s,
                    "{:<28} {:>9} {:>9} {:>8} {:>8}",
                    name, t.offered, t.carried, t.blocked, t.failed
                );
            }
        }
        if !self.gateways.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(
                s,
                "{:<24} {:>8} {:>8} {:>7} {:>8} {:>7} {:>5} {:>7} {:>6} {:>6}",
                "gateway",
                "attempts",
                "answered",
                "inbound",
                "capped",
                "f/over",
                "peak",
                "mean",
                "util",
                "alerts"
            );
            for (name, g) in &self.gateways {
                let util = g.utilization.map_or("-".to_owned(), |u| format!("{:.0}%", u * 100.0));
                let _ = writeln!(
                    s,
                    "{:<24} {:>8} {:>8} {:>7} {:>8} {:>7} {:>5} {:>7.1} {:>6} {:>6}",
                    name,
                    g.attempts,
                    g.answered,
                    g.inbound,
                    g.cap_refused,
                    g.failed_over,
                    g.peak_concurrent,
                    g.mean_concurrent,
                    util,
                    g.alerts
                );
            }
        }
        if !self.minute_pools.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(s, "{:<40} {:>10} {:>10}", "minute pool", "used", "left");
            for (name, p) in &self.minute_pools {
                let _ = writeln!(s, "{:<40} {:>10} {:>10}", name, p.used_min, p.left_min);
            }
            if self.paid_minutes > 0 {
                let _ = writeln!(s, "{:<40} {:>10}", "paid (overage / credits)", self.paid_minutes);
            }
        }
        if !self.queues.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(
                s,
                "{:<20} {:>8} {:>8} {:>10} {:>9} {:>9} {:>6} {:>8}",
                "queue",
                "offered",
                "answered",
                "overflowed",
                "abandoned",
                "timed-out",
                "peak",
                "wait s"
            );
            for (name, q) in &self.queues {
                let _ = writeln!(
                    s,
                    "{:<20} {:>8} {:>8} {:>10} {:>9} {:>9} {:>6} {:>8.1}",
                    name,
                    q.offered,
                    q.answered,
                    q.overflowed,
                    q.abandoned,
                    q.timed_out,
                    q.peak_waiting,
                    q.mean_wait_s
                );
            }
        }
        let l = &self.decision_latency_ns;
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "decision latency ns  p50 {}  p90 {}  p99 {}  p999 {}  max {}",
            l.p50, l.p90, l.p99, l.p999, l.max
        );
        let _ = writeln!(s, "leaked permits {}", self.leaked_permits);
        s
    }

    /// The time series as CSV: one row per interval. Column names follow SIPp's
    /// `-trace_stat` file where one applies (`ElapsedTime(C)`, `CallRate(P)`,
    /// `OutgoingCall(P)`, `SuccessfulCall(P)`, `FailedCall(P)`, `CurrentCall`); tpr's own
    /// columns follow, then one `CurrentCall:<gateway>` column per gateway.
    pub fn series_csv(&self) -> String {
        let mut s = String::from(
            "ElapsedTime(C),CallRate(P),OutgoingCall(P),SuccessfulCall(P),FailedCall(P),\
             BlockedCall(P),Failover(P),CurrentCall",
        );
        for g in &self.gateway_order {
            let _ = write!(s, ",CurrentCall:{g}");
        }
        s.push('\n');
        let secs = self.interval_ms as f64 / 1000.0;
        for b in &self.series {
            let _ = write!(
                s,
                "{},{:.3},{},{},{},{},{},{}",
                elapsed(b.start_ms + self.interval_ms),
                b.offered as f64 / secs,
                b.offered,
                b.carried,
                b.failed,
                b.blocked,
                b.failovers,
                b.concurrent
            );
            for g in &b.gateways {
                let _ = write!(s, ",{g}");
            }
            s.push('\n');
        }
        s
    }
}

/// SIPp writes elapsed time as `HH:MM:SS:mmm`.
fn elapsed(ms: u64) -> String {
    format!("{:02}:{:02}:{:02}:{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
}

fn add_map(into: &mut BTreeMap<String, u64>, from: BTreeMap<String, u64>) {
    for (k, v) in from {
        *into.entry(k).or_default() += v;
    }
}

fn join_counts(m: &BTreeMap<String, u64>) -> String {
    m.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join("  ")
}
