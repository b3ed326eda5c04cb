//! The simulator end to end: Erlang B against published tables, determinism, shards, the
//! behaviours a scenario drives (caps, failover, faults, queues, pools) and scenario errors.

use std::sync::Arc;

use tpr_router::Engine;
use tpr_sim::{Report, RunOptions, Scenario, ScenarioFile, run, run_all, run_many};
use tpr_tenant::Tenant;

const CONTOSO: &str = include_str!("../../../scenarios/tenants/contoso.toml");
const DEFAULT: &str = include_str!("../../../scenarios/default.toml");

fn engine(toml: &str) -> Arc<Engine> {
    let tenant = Tenant::from_toml_str(toml, "tenant.toml").unwrap_or_else(|e| panic!("{e}"));
    Arc::new(Engine::compile(&tenant).unwrap_or_else(|e| panic!("{e}")))
}

fn scenario(text: &str, tenant: &str) -> Scenario {
    let file = ScenarioFile::parse(text, "scenario.toml").unwrap_or_else(|e| panic!("{e}"));
    file.bind(engine(tenant)).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs and checks what every run must satisfy.
fn simulate(sc: &Scenario) -> Report {
    let r = run_all(sc, 1, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.leaked_permits, 0, "seed {}: permits leaked", sc.seed);
    r
}

/// The JSON without the wall-clock fields.
fn deterministic_json(r: &Report) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    for k in ["wall_ms", "events_per_s", "decision_latency_ns"] {
        v.as_object_mut().unwrap().remove(k);
    }
    format!("{v}\n{}", r.series_csv())
}

// ---------------------------------------------------------------------------------------
// Erlang B.

fn erlang_tenant(n: u32) -> String {
    format!(
        r#"
[tenant]
name = "erlang"
country = "US"
[[gateways]]
fqdn = "sbc.erlang.example"
sip_signaling_port = 5061
enabled = true
enforced_max_sessions = {n}
pstn_usages = ["all"]
[[voice_routes]]
name = "all"
number_pattern = '^\+1\d{{10}}$'
gateways = ["sbc.erlang.example"]
usages = ["all"]
[[voice_routing_policies]]
name = "Global"
usages = ["all"]
[[user_ranges]]
name = "users"
id_prefix = "u"
count = 50000
first_number = "+14255000000"
number_type = "direct_routing"
voice_routing_policy = "Global"
"#
    )
}

/// One gateway with an enforced cap of `n`, Poisson arrivals, exponential holds, calls that
/// connect at once: the blocking of each repetition.
fn erlang_runs(a: f64, n: u32, calls_per_rep: f64, reps: u32) -> Vec<f64> {
    let hold_s = 100.0;
    let rate = a / hold_s;
    let duration_s = (calls_per_rep / rate).ceil();
    let text = format!(
        r#"
[run]
seed = 11
duration = "{duration_s}s"
warmup = "1000s"
repetitions = {reps}
[tenant]
file = "erlang.toml"
[[traffic]]
callers = "users"
arrivals = {{ process = "poisson", rate_per_s = {rate} }}
hold = {{ dist = "exponential", mean = "{hold_s}s" }}
destinations = [ {{ numbers = ["+12065550100"] }} ]
[[gateway_behaviour]]
gateway = "*"
answer = 1.0
post_dial_delay = "0s"
ring = "0s"
"#
    );
    let sc = scenario(&text, &erlang_tenant(n));
    (0..reps)
        .map(|i| {
            let r = run(&sc, i, &RunOptions::default()).unwrap();
            assert_eq!(r.leaked_permits, 0);
            // Only the cap blocks: nothing else may refuse or fail a call here.
            assert_eq!(r.failed, 0, "{:?}", r.failures);
            assert_eq!(r.blocked.keys().collect::<Vec<_>>(), ["gateways-full"]);
            assert!(r.gateways["sbc.erlang.example"].peak_concurrent <= n);
            r.blocking_probability
        })
        .collect()
}

#[test]
fn single_gateway_blocking_matches_published_erlang_b() {
    let table = include_str!("data/erlang_b_published_triples.csv");
    let mut rows = csv::Reader::from_reader(table.as_bytes());
    // Several (A, N) from the published tables, at blocking levels a run can resolve.
    let wanted = [(0.9, 3), (3.0, 6), (4.5, 8), (5.4, 9), (12.03, 20)];
    let mut checked = 0;
    for row in rows.records() {
        let row = row.unwrap();
        let (a, n, exact): (f64, u32, f64) =
            (row[0].parse().unwrap(), row[1].parse().unwrap(), row[3].parse().unwrap());
        if !wanted.iter().any(|&(wa, wn)| (wa - a).abs() < 1e-9 && wn == n) {
            continue;
        }
        let reps = 10;
        let b = erlang_runs(a, n, 12_000.0, reps);
        let mean = b.iter().sum::<f64>() / f64::from(reps);
        let var = b.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / f64::from(reps - 1);
        let se = (var / f64::from(reps)).sqrt();
        // Student t, 9 degrees of freedom, 99.9 % two-sided: the interval that a correct
        // simulator misses once in a thousand runs.
        let half = 4.781 * se;
        assert!(
            (mean - exact).abs() <= half,
            "A={a} N={n}: measured {mean:.5} ± {half:.5}, Erlang B {exact:.6} (runs {b:?})"
        );
        // And the interval is tight enough to have caught a wrong model.
        assert!(half < 0.4 * exact, "A={a} N={n}: interval ±{half:.5} too wide for {exact}");
        checked += 1;
    }
    assert_eq!(checked, wanted.len(), "rows missing from the table");
}

#[test]
fn erlang_b_check_notices_a_wrong_cap() {
    // The same load against one trunk fewer blocks measurably more: the test above can fail.
    let exact_n9 = 0.051086;
    let b = erlang_runs(5.4, 8, 12_000.0, 5);
    let mean = b.iter().sum::<f64>() / 5.0;
    assert!(mean > exact_n9 * 1.3, "N=8 measured {mean}, N=9 exact {exact_n9}");
}

// ---------------------------------------------------------------------------------------
// Determinism and shards.

fn default_scenario() -> Scenario {
    scenario(DEFAULT, CONTOSO)
}

#[test]
fn same_seed_same_report_byte_for_byte() {
    let sc = default_scenario();
    let a = simulate(&sc);
    let b = simulate(&sc);
    assert!(a.offered > 10_000, "the default offers real traffic: {}", a.offered);
    assert_eq!(deterministic_json(&a), deterministic_json(&b));
}

#[test]
fn different_seeds_differ() {
    let mut sc = default_scenario();
    let a = simulate(&sc);
    sc.seed += 1;
    let b = simulate(&sc);
    assert_ne!(deterministic_json(&a), deterministic_json(&b));
    assert_ne!(a.offered, b.offered);
}

#[test]
fn threads_do_not_change_the_merged_report() {
    let mut sc = default_scenario();
    sc.duration_ms = 20 * 60_000;
    sc.warmup_ms = 60_000;
    sc.repetitions = 4;
    let one = run_all(&sc, 1, &RunOptions::default()).unwrap();
    let four = run_all(&sc, 4, &RunOptions::default()).unwrap();
    assert_eq!(one.repetitions, 4);
    assert_eq!(deterministic_json(&one), deterministic_json(&four));
    // The merge adds the repetitions up.
    let single: u64 = (0..4).map(|i| run(&sc, i, &RunOptions::default()).unwrap().offered).sum();
    assert_eq!(one.offered, single);
}

#[test]
fn tenants_run_as_shards_and_combine() {
    let mut contoso = default_scenario();
    contoso.duration_ms = 20 * 60_000;
    contoso.warmup_ms = 60_000;
    contoso.repetitions = 2;
    contoso.interval_ms = 60_000;
    let mut two = two_sbcs("");
    two.interval_ms = 60_000;
    let alone_c = run_all(&contoso, 1, &RunOptions::default()).unwrap();
    let alone_t = run_all(&two, 1, &RunOptions::default()).unwrap();
    let shards = [contoso, two];
    let one = run_many(&shards, 1, &RunOptions::default()).unwrap();
    // Progress is reported per shard (contoso's two repetitions are shards 0 and 1), each
    // ending at its duration.
    let seen = std::sync::Mutex::new(Vec::new());
    let progress = |shard: usize, at: u64, of: u64| seen.lock().unwrap().push((shard, at, of));
    let opts = RunOptions { progress: Some(&progress), ..RunOptions::default() };
    let three = run_many(&shards, 3, &opts).unwrap();
    let seen = seen.into_inner().unwrap();
    for (shard, duration) in [(0, 20 * 60_000), (1, 20 * 60_000), (2, shards[1].duration_ms)] {
        let last = seen.iter().rev().find(|s| s.0 == shard);
        assert_eq!(last, Some(&(shard, duration, duration)), "{seen:?}");
    }
    assert!(seen.iter().all(|s| s.0 < 3 && s.1 <= s.2));
    assert_eq!(deterministic_json(&one), deterministic_json(&three), "threads change nothing");
    assert_eq!(one.repetitions, 3);
    assert_eq!(one.offered, alone_c.offered + alone_t.offered);
    assert_eq!(one.carried, alone_c.carried + alone_t.carried);
    assert_eq!(one.events, alone_c.events + alone_t.events);
    assert_eq!(one.tenant, format!("{}, {}", alone_c.tenant, alone_t.tenant));
    // Per-tenant names, each tenant's figures as it had them alone.
    for (k, g) in &alone_c.gateways {
        let c = &one.gateways[&format!("{}/{k}", alone_c.tenant)];
        assert_eq!(
            (c.attempts, c.answered, c.peak_concurrent),
            (g.attempts, g.answered, g.peak_concurrent)
        );
    }
    for (k, t) in &alone_t.traffic {
        assert_eq!(one.traffic[&format!("{}/{k}", alone_t.tenant)].offered, t.offered);
    }
    assert_eq!(one.gateways.len(), alone_c.gateways.len() + alone_t.gateways.len());
    // The series lists every tenant's gateways, and its intervals add up.
    let header = one.series_csv().lines().next().unwrap().to_owned();
    let columns = header.split(',').filter(|c| c.starts_with("CurrentCall:")).count();
    assert_eq!(columns, alone_c.gateway_order.len() + alone_t.gateway_order.len());
    let offered: u64 = one.series.iter().map(|b| b.offered).sum();
    let alone: u64 = alone_c.series.iter().chain(&alone_t.series).map(|b| b.offered).sum();
    assert_eq!(offered, alone);
    assert_eq!(one.leaked_permits, 0);
    // Different intervals: no combined series (the CLI refuses --csv and --plot then).
    let [mut c, t] = shards;
    c.interval_ms = 30_000;
    let mixed = run_many(&[c, t], 1, &RunOptions::default()).unwrap();
    assert!(mixed.series.is_empty() && mixed.gateway_order.is_empty());
    assert_eq!(mixed.offered, one.offered);
}

// ---------------------------------------------------------------------------------------
// Behaviours.

const TWO_SBCS: &str = r#"
[tenant]
name = "two"
country = "US"
[[gateways]]
fqdn = "sbc1.two.example"
sip_signaling_port = 5061
enabled = true
enforced_max_sessions = 5
max_concurrent_sessions = 5
pstn_usages = ["US"]
[[gateways]]
fqdn = "sbc2.two.example"
sip_signaling_port = 5061
enabled = true
[[voice_routes]]
name = "US"
number_pattern = '^\+1\d{10}$'
gateways = ["sbc1.two.example", "sbc2.two.example"]
usages = ["US"]
[[voice_routing_policies]]
name = "Global"
usages = ["US"]
[[user_ranges]]
name = "staff"
id_prefix = "s"
count = 2000
first_number = "+14255100000"
number_type = "direct_routing"
voice_routing_policy = "Global"
"#;

fn two_sbcs(extra: &str) -> Scenario {
    let text = format!(
        r#"
[run]
seed = 3
duration = "1h"
[tenant]
file = "two.toml"
[[traffic]]
callers = "staff"
arrivals = {{ process = "poisson", rate_per_s = 0.2 }}
hold = {{ dist = "exponential", mean = "3m" }}
destinations = [ {{ kind = "national" }} ]
[[gateway_behaviour]]
gateway = "*"
answer = 1.0
{extra}
"#
    );
    scenario(&text, TWO_SBCS)
}

#[test]
fn enforced_cap_answers_503_and_calls_fail_over() {
    // 36 erlangs offered, sbc1 holds 5: the rest fail over to sbc2.
    let r = simulate(&two_sbcs(""));
    let (s1, s2) = (&r.gateways["sbc1.two.example"], &r.gateways["sbc2.two.example"]);
    assert_eq!(s1.peak_concurrent, 5);
    assert!(s1.cap_refused > 100, "{s1:?}");
    assert!(s2.answered > 100, "{s2:?}");
    assert!(r.failovers >= s1.cap_refused, "{} < {}", r.failovers, s1.cap_refused);
    // Teams' alert at 90 % of 5 (rounded up: 5).
    assert!(s1.alerts > 0);
    assert_eq!(r.blocked.values().sum::<u64>(), 0, "{:?}", r.blocked);
    assert!(s1.utilization.unwrap() > 0.9, "{s1:?}");
}

#[test]
fn a_gateway_down_is_retried_then_failed_over_and_demoted() {
    let r = simulate(&two_sbcs(
        "[[fault]]\ngateway = \"sbc1.two.example\"\ndown = \"10m\"\nup = \"40m\"\n",
    ));
    let s1 = &r.gateways["sbc1.two.example"];
    // While down and still healthy (3 minutes of lost OPTIONS), calls try it three times.
    assert!(s1.retries > 0, "{s1:?}");
    assert_eq!(s1.retries % 2, 0, "two retries after each first try: {s1:?}");
    assert!(r.failovers > 0);
    // Demoted: most calls during the outage go straight to sbc2 (it comes first).
    let attempts_while_down = s1.retries / 2;
    assert!(attempts_while_down < 60, "{s1:?}");
    assert_eq!(r.failed, 0, "{:?}", r.failures);
}

#[test]
fn a_response_storm_fails_over() {
    let r = simulate(&two_sbcs(
        "[[fault]]\ngateway = \"sbc2.two.example\"\nrespond = 503\nfrom = \"0s\"\n\
         [[fault]]\ngateway = \"sbc1.two.example\"\nrespond = 486\nfrom = \"30m\"\nuntil = \"40m\"\n",
    ));
    // sbc2 answers 503 all run: calls sbc1 cannot take fail over to it and fail there.
    assert!(r.failures.get("exhausted-503").copied().unwrap_or(0) > 0, "{:?}", r.failures);
    // 486 does not fail over: for ten minutes, every call that reaches sbc1 is busy.
    assert!(r.failures.get("486").copied().unwrap_or(0) > 0, "{:?}", r.failures);
    assert_eq!(r.gateways["sbc2.two.example"].answered, 0);
}

#[test]
fn a_queue_overflows_at_its_threshold() {
    let text = r#"
[run]
seed = 5
duration = "10m"
[tenant]
file = "contoso.toml"
[[traffic]]
name = "vote"
direction = "inbound"
arrivals = { process = "burst", rate_per_s = 2.0, at = "1m", lasting = "2m" }
hold = { dist = "fixed", value = "1m" }
destinations = [ { numbers = ["+18005550199"] } ]
[[queue_behaviour]]
queue = "support-queue"
agents = 0
"#;
    let r = simulate(&scenario(text, CONTOSO));
    let q = &r.queues["support-queue"];
    assert!(q.offered > 150, "{q:?}");
    // Nobody answers: 50 wait (contoso's overflow threshold), the rest overflow with busy.
    assert_eq!(q.peak_waiting, 50);
    assert_eq!(q.overflowed, q.offered - 50);
    assert_eq!(r.blocked["queue-overflow"], q.overflowed);
    // The 50 wait out the queue's 20-minute timeout after the run's arrivals stop.
    assert_eq!(q.timed_out, 50);
    assert_eq!(q.answered, 0);
}

#[test]
fn minute_pools_drain_then_calls_are_paid() {
    // Megan (international Calling Plan) calls abroad all day: the international pool (600
    // minutes) runs dry and the rest is paid from communications credits.
    let text = r#"
[run]
seed = 9
duration = "12h"
[tenant]
file = "contoso.toml"
[[traffic]]
callers = ["megan.bowen"]
arrivals = { process = "poisson", rate_per_s = 0.008 }
hold = { dist = "fixed", value = "5m" }
destinations = [ { kind = "international" } ]
"#;
    let r = simulate(&scenario(text, CONTOSO));
    let pool = r.minute_pools.iter().find(|(k, _)| k.contains("(international)")).unwrap().1;
    assert_eq!(pool.left_min, 0, "{:?}", r.minute_pools);
    assert_eq!(pool.used_min, 600);
    assert!(r.paid_minutes > 0);
    assert!(r.by_connectivity.calling_plan > 100);
}

#[test]
fn user_numbers_carry_two_calls_service_numbers_hundreds() {
    let text = r#"
[run]
seed = 2
duration = "20m"
[tenant]
file = "contoso.toml"
[[traffic]]
name = "to a user"
direction = "inbound"
arrivals = { process = "poisson", rate_per_s = 0.5 }
hold = { dist = "fixed", value = "10m" }
destinations = [ { numbers = ["+14255550101"] } ]
via = "sbc1.contoso.com"
answer = 1.0
[[traffic]]
name = "to the main line"
direction = "inbound"
arrivals = { process = "poisson", rate_per_s = 0.5 }
hold = { dist = "fixed", value = "10m" }
destinations = [ { numbers = ["+14255550000"] } ]
via = "sbc2.contoso.com"
"#;
    let r = simulate(&scenario(text, CONTOSO));
    // spencer.low's number holds 2 calls; the rest are busy (486).
    let user = &r.traffic["to a user"];
    assert_eq!(user.carried, 2 + 2, "two calls, then two more after the first ten minutes");
    assert!(r.blocked["busy"] >= user.offered - 4);
    // The auto attendant's service number takes every call (limit 500).
    let main = &r.traffic["to the main line"];
    assert_eq!(main.blocked, 0);
    assert_eq!(main.carried, main.offered);
}

#[test]
fn emergency_calls_route_during_an_outage() {
    let text = r#"
[run]
seed = 4
duration = "30m"
[tenant]
file = "contoso.toml"
[[traffic]]
callers = "agents"
arrivals = { process = "poisson", rate_per_s = 0.05 }
hold = { dist = "fixed", value = "2m" }
destinations = [ { kind = "emergency" } ]
[[gateway_behaviour]]
gateway = "*"
answer = 1.0
[[fault]]
gateway = "sbc1.contoso.com"
down = "0s"
[[fault]]
gateway = "sbc2.contoso.com"
down = "0s"
"#;
    let r = simulate(&scenario(text, CONTOSO));
    assert!(r.emergency.offered > 50);
    assert_eq!(r.emergency.connected, r.emergency.offered);
    assert_eq!(r.gateways["sbc-e911.contoso.com"].answered, r.emergency.offered);
}

// ---------------------------------------------------------------------------------------
// Scenario errors: one message each, at the place of the mistake.

fn parse_error(text: &str) -> String {
    match ScenarioFile::parse(text, "bad.toml") {
        Err(e) => e.to_string(),
        Ok(f) => match f.bind(engine(CONTOSO)) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted:\n{text}"),
        },
    }
}

#[test]
fn scenario_errors_say_where() {
    let head = "[run]\nseed = 1\nduration = \"1h\"\n[tenant]\nfile = \"t.toml\"\n";
    let traffic = "[[traffic]]\narrivals = { process = \"poisson\", rate_per_s = 1.0 }\n\
                   hold = { dist = \"fixed\", value = \"1m\" }\n\
                   destinations = [ { kind = \"national\" } ]\n";
    let cases: &[(String, &str)] = &[
        (
            "[run]\nduration = \"1x\"\n".into(),
            "bad.toml:2:12: error: duration: bad duration \"1x\": unknown unit \"x\"",
        ),
        (
            format!("{head}{}", traffic.replace("poisson", "poison")),
            "bad.toml:7:24: error: unknown arrival process \"poison\"",
        ),
        (
            format!("{head}{}", traffic.replace("national", "galactic")),
            "bad.toml:9:27: error: unknown destination kind \"galactic\"",
        ),
        (
            format!("{head}{traffic}callers = \"nobody\"\n"),
            "bad.toml:10:11: error: callers: no user or user range \"nobody\"",
        ),
        (
            format!("{head}{traffic}[[fault]]\ngateway = \"sbc9.contoso.com\"\ndown = \"1m\"\n"),
            "bad.toml:11:11: error: no gateway \"sbc9.contoso.com\" in the tenant",
        ),
        (
            format!(
                "{head}{traffic}[[gateway_behaviour]]\ngateway = \"*\"\nanswer = 0.9\nresponses = {{ 486 = 0.2 }}\n"
            ),
            "answer and responses add up to 1.100, more than 1",
        ),
        (
            format!(
                "{head}{traffic}[[gateway_behaviour]]\ngateway = \"*\"\nresponses = {{ 200 = 0.2 }}\n"
            ),
            "\"200\" is not a final SIP code",
        ),
        (format!("{head}{}", traffic.replace("1.0 }", "1e9 }")), "rate_per_s must be 0 to 100000"),
        (
            format!("{head}{traffic}[[queue_behaviour]]\nqueue = \"main-line\"\n"),
            "bad.toml:11:9: error: \"main-line\" is not a call queue",
        ),
        (
            format!("{head}{traffic}direction = \"sideways\"\n"),
            "bad.toml:10:13: error: direction must be outbound or inbound",
        ),
        (
            format!(
                "{head}{traffic}[[fault]]\ngateway = \"sbc1.contoso.com\"\ndown = \"30m\"\nup = \"10m\"\n"
            ),
            "a fault must end after it starts",
        ),
        (
            format!(
                "{head}[[traffic]]\narrivals = {{ process = \"diurnal\", peak_per_s = 1.0, profile = [1, 2] }}\nhold = {{ dist = \"fixed\", value = \"1m\" }}\ndestinations = [ {{ kind = \"national\" }} ]\n"
            ),
            "a diurnal profile has 24 non-negative weights",
        ),
        (
            format!("{head}{traffic}direction = \"inbound\"\n"),
            "inbound traffic calls the tenant's own numbers",
        ),
        (head.to_string(), "no [[traffic]] blocks"),
        (
            format!("{head}{traffic}colour = \"red\"\n"),
            "bad.toml:10:1: error: unknown field `colour`",
        ),
        ("[run]\nduration = \"100000h\"\n".into(), "longer than the limit of 400 days"),
    ];
    for (text, want) in cases {
        let got = parse_error(text);
        assert!(got.contains(want), "\n{text}\nwant: {want}\n got: {got}");
        assert!(got.starts_with("bad.toml:"), "no location: {got}");
    }
}

#[test]
fn too_much_traffic_is_refused_not_run() {
    let text = "[run]\nduration = \"300d\"\n[tenant]\nfile = \"t.toml\"\n[[traffic]]\n\
                arrivals = { process = \"poisson\", rate_per_s = 50000.0 }\n\
                hold = { dist = \"fixed\", value = \"1m\" }\n\
                destinations = [ { kind = \"national\" } ]\n";
    let got = parse_error(&text.replace("300d", "7200h"));
    assert!(got.contains("the limit is 200000000"), "{got}");
}

// ---------------------------------------------------------------------------------------
// Traces: the formats on real-shaped samples, replayed through the pipeline.

mod traces {
    use super::*;
    use tpr_sim::Direction;
    use tpr_sim::trace::{TraceFormat, TraceOutcome, detect, read};

    const ACME: &str = include_str!("../../../scenarios/tenants/acme.toml");
    const ASTERISK: &str =
        include_str!("../../../scenarios/traces/SYNTHETIC_asterisk_cdr_csv_Master.csv");
    const TPR: &str = include_str!("../../../scenarios/traces/acme-day.csv");
    const TEAMS_DR: &str =
        include_str!("../../../scenarios/traces/SYNTHETIC_teams_pstn_usage_DirectRouting.csv");
    const TEAMS_CP: &str =
        include_str!("../../../scenarios/traces/SYNTHETIC_teams_pstn_usage_CallingPlans.csv");

    fn replay(engine: Arc<Engine>, calls: &[tpr_sim::trace::TraceCall]) -> Report {
        let sc = Scenario::for_replay(engine, "trace", calls);
        let opts = RunOptions { trace: calls, ..RunOptions::default() };
        let r = run_all(&sc, 1, &opts).unwrap();
        assert_eq!(r.leaked_permits, 0);
        assert_eq!(r.offered, calls.len() as u64);
        r
    }

    #[test]
    fn formats_are_detected() {
        assert_eq!(detect(ASTERISK), Some(TraceFormat::Asterisk));
        assert_eq!(detect(TPR), Some(TraceFormat::Tpr));
        assert_eq!(detect(TEAMS_DR), Some(TraceFormat::TeamsDirectRouting));
        assert_eq!(detect(TEAMS_CP), Some(TraceFormat::TeamsCallingPlan));
        assert_eq!(detect("hello,world\n"), None);
    }

    #[test]
    fn asterisk_legs_group_into_calls() {
        let e = engine(ACME);
        let t = read(ASTERISK, TraceFormat::Asterisk, &e, 1.0, true).unwrap();
        // 61 rows, 24 calls (legs share a linkedid, also across the PBX restart).
        assert_eq!(t.calls.len(), 24);
        assert!(t.skipped.is_empty());
        assert!(t.calls.iter().all(|c| c.direction == Direction::Inbound));
        assert_eq!(t.calls[0].at_ms, 0);
        assert_eq!(t.calls[0].hold_ms, 27_000);
        assert!(t.calls.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
        // Ring-group calls take their numbers from the SIP leg, not the Local/ helpers.
        assert!(t.calls.iter().all(|c| c.dialed.starts_with("555")), "{:?}", t.calls);
        let busy = t.calls.iter().filter(|c| c.outcome == TraceOutcome::Code(486)).count();
        assert_eq!(busy, 1);
        // Through sbc1, whose translation rule completes the 7-digit DIDs.
        let mut calls = t.calls.clone();
        let via = tpr_sim::trace::ingress(&e, "sbc1.example.com");
        for c in &mut calls {
            c.via = via;
        }
        let r = replay(e, &calls);
        assert_eq!(r.blocked.values().sum::<u64>(), 0, "{:?}", r.blocked);
        // Answered calls connect again; so do unanswered calls to the main line, which is
        // an auto attendant now (it answers every call).
        let connects = t
            .calls
            .iter()
            .filter(|c| c.outcome == TraceOutcome::Answered || c.dialed == "5550100")
            .count();
        assert_eq!(r.carried, connects as u64);
        assert!(r.failed > 0, "unanswered calls to users ring out");
    }

    #[test]
    fn tpr_csv_replays_users_numbers_and_ingress() {
        let e = engine(ACME);
        let t = read(TPR, TraceFormat::Tpr, &e, 1.0, true).unwrap();
        assert_eq!(t.calls.len(), 9);
        let avery = e.party("avery.sample");
        // By id and by number.
        assert_eq!(t.calls[0].caller_party, avery);
        assert_eq!(t.calls[2].caller_party, avery);
        assert_eq!(t.calls[1].via, tpr_sim::trace::ingress(&e, "sbc1.example.com"));
        let r = replay(e, &t.calls);
        // Avery already has two calls (one out, one in) when she dials the third.
        assert_eq!(r.blocked.get("capacity-exceeded"), Some(&1));
        assert_eq!(r.emergency.offered, 1);
        // --speed halves the gaps.
        let fast = read(TPR, TraceFormat::Tpr, &engine(ACME), 2.0, true).unwrap();
        assert_eq!(fast.calls[8].at_ms * 2, t.calls[8].at_ms);
    }

    #[test]
    fn teams_reports_read_both_tabs() {
        let e = engine(ACME);
        let dr = read(TEAMS_DR, TraceFormat::TeamsDirectRouting, &e, 1.0, false).unwrap();
        assert_eq!(dr.calls.len(), 5);
        assert_eq!(dr.skipped.len(), 1);
        assert_eq!(dr.skipped[0].line, 7);
        let outcomes: Vec<_> = dr.calls.iter().map(|c| c.outcome).collect();
        assert_eq!(
            outcomes,
            [
                TraceOutcome::Answered,
                TraceOutcome::Code(503),
                TraceOutcome::NoAnswer,
                TraceOutcome::Answered,
                TraceOutcome::Code(404)
            ]
        );
        assert_eq!(dr.calls[0].caller_party, e.party("avery.sample"));
        assert_eq!(dr.calls[3].direction, Direction::Inbound);
        assert_eq!(dr.calls[3].via, tpr_sim::trace::ingress(&e, "sbc1.example.com"));
        // Strict mode stops at the bad row, naming it.
        let err = read(TEAMS_DR, TraceFormat::TeamsDirectRouting, &e, 1.0, true).unwrap_err();
        assert_eq!(err.to_string(), "line 7: duration \"oops\" is not seconds");

        let cp = read(TEAMS_CP, TraceFormat::TeamsCallingPlan, &e, 1.0, true).unwrap();
        assert_eq!(cp.calls.len(), 3);
        assert_eq!(cp.calls[1].direction, Direction::Inbound);
        assert_eq!(cp.calls[1].via, Some(tpr_router::Ingress::CallingPlan));
        let r = replay(e, &cp.calls);
        assert_eq!(r.carried, 3);
        assert_eq!(r.by_connectivity.calling_plan, 2);
    }

    #[test]
    fn bad_rows_are_skipped_with_their_line() {
        let e = engine(ACME);
        let text = "start,direction,caller,dialed,duration_s,outcome\n\
                    0,outbound,avery.sample,+14155550123,10,answered\n\
                    5,sideways,avery.sample,+14155550123,10,answered\n\
                    yesterday,outbound,avery.sample,+14155550123,10,answered\n\
                    9,outbound,avery.sample,+14155550123,10,299\n";
        let t = read(text, TraceFormat::Tpr, &e, 1.0, false).unwrap();
        assert_eq!(t.calls.len(), 1);
        let lines: Vec<u64> = t.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [3, 4, 5]);
        assert!(t.skipped[0].message.contains("sideways"));
        assert!(read("start,caller\n", TraceFormat::Tpr, &e, 1.0, false).is_err());
        assert!(read(text, TraceFormat::Tpr, &e, 0.0, false).is_err());
    }

    /// Windows exports: CRLF line ends (the csv reader's own count is one short on those),
    /// CR line ends, a byte-order mark, blank lines and a quoted field spanning two lines; bad rows keep
    /// their line in each, and the calls read are those of the plain file.
    #[test]
    fn crlf_bom_and_blank_lines_keep_line_numbers() {
        let e = engine(ACME);
        let plain = "start,direction,caller,dialed,duration_s,outcome,via\n\
                     0,outbound,avery.sample,+14155550123,10,answered,\n\
                     5,sideways,avery.sample,+14155550123,10,answered,\n\
                     \n\
                     7,inbound,\"+1415\n5550188\",+13125550150,10,answered,sbc1.example.com\n\
                     yesterday,outbound,avery.sample,+14155550123,10,answered,\n\
                     9,outbound,avery.sample,+14155550123,10,answered,\n";
        let base = read(plain, TraceFormat::Tpr, &e, 1.0, false).unwrap();
        let lines =
            |t: &tpr_sim::trace::Trace| -> Vec<u64> { t.skipped.iter().map(|s| s.line).collect() };
        assert_eq!(lines(&base), [3, 7]);
        assert_eq!(base.calls.iter().map(|c| c.line).collect::<Vec<_>>(), [2, 5, 8]);
        let crlf = plain.replace('\n', "\r\n");
        // Classic Mac line ends: the csv reader ends records at a lone CR too.
        let cr = plain.replace('\n', "\r");
        for text in [crlf.clone(), cr, format!("\u{feff}{plain}"), format!("\u{feff}{crlf}")] {
            assert_eq!(detect(&text), Some(TraceFormat::Tpr), "{text:?}");
            let t = read(&text, TraceFormat::Tpr, &e, 1.0, false).unwrap();
            assert_eq!(lines(&t), [3, 7], "{text:?}");
            assert_eq!(t.calls.iter().map(|c| c.line).collect::<Vec<_>>(), [2, 5, 8]);
            let err = read(&text, TraceFormat::Tpr, &e, 1.0, true).unwrap_err();
            assert_eq!(err.line, 3, "{text:?}");
        }
        // The Teams export with CRLF, as the admin center writes it.
        let dr =
            read(&TEAMS_DR.replace('\n', "\r\n"), TraceFormat::TeamsDirectRouting, &e, 1.0, false)
                .unwrap();
        assert_eq!(lines(&dr), [7]);
    }

    /// A Latin-1 caller name in an Asterisk CDR costs nothing: the bytes become U+FFFD, the
    /// line is named, and the trace reads as it would with the name in UTF-8. Bad bytes in a
    /// column tpr reads make that row bad.
    #[test]
    fn bytes_that_are_not_utf8_are_replaced_and_their_lines_named() {
        let e = engine(ACME);
        let mut lines: Vec<Vec<u8>> = ASTERISK.split('\n').map(|l| l.as_bytes().to_vec()).collect();
        let clid = |l: &[u8]| l.iter().position(|&b| b == b'<').unwrap();
        let at = clid(&lines[4]);
        lines[4].splice(at..at, *b"Jos\xe9 ");
        let (text, bad) = tpr_sim::trace::decode(lines.join(&b'\n'));
        assert_eq!(bad, [5]);
        assert!(text.contains("Jos\u{fffd} <"));
        let t = read(&text, TraceFormat::Asterisk, &e, 1.0, true).unwrap();
        let clean = read(ASTERISK, TraceFormat::Asterisk, &e, 1.0, true).unwrap();
        assert_eq!(format!("{:?}", t.calls), format!("{:?}", clean.calls));
        // In the start time: that row is bad, on its line.
        let start = lines[9].windows(4).position(|w| w == b"2025").unwrap();
        lines[9][start] = 0xff;
        let (text, bad) = tpr_sim::trace::decode(lines.join(&b'\n'));
        assert_eq!(bad, [5, 10]);
        let err = read(&text, TraceFormat::Asterisk, &e, 1.0, true).unwrap_err();
        assert_eq!(err.line, 10, "{err}");
        assert!(err.message.contains("is not a time"), "{err}");
        // Lines end where the csv reader ends records: at CRLF, LF or a lone CR.
        for end in ["\r\n", "\r"] {
            let (_, bad) = tpr_sim::trace::decode(lines.join(end.as_bytes()));
            assert_eq!(bad, [5, 10], "{end:?}");
        }
        // Valid text passes through untouched.
        assert_eq!(
            tpr_sim::trace::decode(ASTERISK.as_bytes().to_vec()),
            (ASTERISK.to_owned(), vec![])
        );
    }
}

// ---------------------------------------------------------------------------------------
// Saved fuzz inputs (seeds and any crash found) replay on stable.

#[test]
fn fuzz_regressions_replay() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut n = 0;
    for (target, f) in [
        ("sim_scenario", tpr_sim::fuzzing::scenario_target as fn(&[u8])),
        ("sim_trace", tpr_sim::fuzzing::trace_target),
    ] {
        for entry in std::fs::read_dir(root.join(target)).unwrap() {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            f(&data);
            n += 1;
        }
    }
    assert!(n >= 5, "seeds missing: {n}");
}

// ---------------------------------------------------------------------------------------
// The bundled scenarios stay valid and show what their comments promise.

fn bundled(name: &str) -> Report {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let path = root.join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let file = ScenarioFile::parse(&text, name).unwrap_or_else(|e| panic!("{e}"));
    let tenant_path = path.parent().unwrap().join(&file.tenant_file);
    let tenant = Tenant::load(&tenant_path).unwrap_or_else(|e| panic!("{e}"));
    let sc = file.bind(Arc::new(Engine::compile(&tenant).unwrap())).unwrap();
    simulate(&sc)
}

#[test]
fn bundled_scenarios_run_and_show_their_point() {
    let r = bundled("default.toml");
    assert!(r.by_connectivity.direct_routing > 0 && r.by_connectivity.calling_plan > 0);
    assert!(r.by_connectivity.operator_connect > 0 && r.by_connectivity.inbound > 0);
    assert!(r.emergency.offered > 0 && r.failovers > 0);
    assert_eq!(r.emergency.lost, 0);
    assert!(r.queues["support-queue"].overflowed > 0);

    let r = bundled("storms/emergency-outage.toml");
    assert!(r.emergency.offered > 20);
    assert_eq!(r.emergency.lost, 0);

    let r = bundled("storms/sbc-outage.toml");
    assert!(r.gateways["sbc5.contoso.com"].retries > 0);
    assert!(r.gateways["sbc5.contoso.com"].failed_over > 0);

    let r = bundled("storms/month-end-minutes.toml");
    let pool = &r.minute_pools["US domestic (domestic)"];
    assert_eq!(pool.left_min, 0);
    assert!(r.paid_minutes > 0);

    let r = bundled("storms/tv-vote.toml");
    assert!(r.queues["support-queue"].overflowed > 1000);
    // The rest of the tenant stays reachable: an everyday call is turned away only by its
    // own callee's limit (a user already on two calls: busy), never by the storm (the
    // trunk, the SBC or the queue).
    let busy = r.blocked.get("busy").copied().unwrap_or(0);
    assert!(r.traffic["everyday inbound"].blocked <= busy, "{:?} {:?}", r.traffic, r.blocked);
    assert!(r.blocked.keys().all(|k| k == "busy" || k == "queue-overflow"), "{:?}", r.blocked);
    assert!(r.traffic["everyday inbound"].carried > 800, "{:?}", r.traffic);

    let r = bundled("storms/monday-busy-hour.toml");
    assert!(r.gateways["sbc1.contoso.com"].alerts > 0, "{:?}", r.gateways["sbc1.contoso.com"]);
    assert_eq!(r.emergency.lost, 0);
}

#[test]
fn arrival_processes_offer_their_rate() {
    // Internal calls (extensions): nothing but arrivals and decisions.
    let run_with = |arrivals: &str, duration: &str| {
        let text = format!(
            "[run]\nduration = \"{duration}\"\n[tenant]\nfile = \"contoso.toml\"\n[[traffic]]\n\
             callers = \"agents\"\narrivals = {arrivals}\n\
             hold = {{ dist = \"fixed\", value = \"1s\" }}\n\
             destinations = [ {{ kind = \"internal_user\" }} ]\n"
        );
        simulate(&scenario(&text, CONTOSO)).offered as f64
    };
    let within = |got: f64, want: f64| {
        // Poisson counts: 4 standard deviations.
        assert!((got - want).abs() < 4.0 * want.sqrt(), "offered {got}, expected {want}");
    };
    // Far more than one call per millisecond: arrivals keep their sub-millisecond times.
    within(run_with("{ process = \"poisson\", rate_per_s = 5000.0 }", "10s"), 50_000.0);
    // Hour 0 at the peak, hour 1 at half of it, nothing after.
    let profile = "[2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]";
    within(
        run_with(
            &format!("{{ process = \"diurnal\", peak_per_s = 2.0, profile = {profile} }}"),
            "3h",
        ),
        2.0 * 3600.0 * 1.5,
    );
    within(
        run_with("{ process = \"ramp\", from_per_s = 0.0, to_per_s = 4.0 }", "1h"),
        2.0 * 3600.0,
    );
    within(
        run_with(
            "{ process = \"burst\", rate_per_s = 50.0, at = \"10m\", lasting = \"2m\" }",
            "1h",
        ),
        50.0 * 120.0,
    );
}

// ---------------------------------------------------------------------------------------
// The event loop allocates nothing per call: a counting allocator compares a run with one
// twice as long.

mod alloc {
    use tpr_types::counting_alloc::{Counting, allocations};

    use super::*;

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    fn counted(sc: &Scenario) -> (u64, u64) {
        let before = allocations();
        let r = run(sc, 0, &RunOptions::default()).unwrap();
        assert_eq!(r.leaked_permits, 0);
        (allocations() - before, r.offered)
    }

    #[test]
    fn calls_do_not_allocate() {
        let text = |hours: u32| {
            format!(
                r#"
[run]
seed = 8
duration = "{hours}h"
interval = "1h"
[tenant]
file = "contoso.toml"
[[traffic]]
callers = "agents"
arrivals = {{ process = "poisson", rate_per_s = 2.0 }}
hold = {{ dist = "exponential", mean = "2m" }}
destinations = [ {{ kind = "national" }}, {{ kind = "international" }}, {{ kind = "extension" }} ]
[[traffic]]
direction = "inbound"
arrivals = {{ process = "poisson", rate_per_s = 1.0 }}
hold = {{ dist = "exponential", mean = "2m" }}
destinations = [ {{ kind = "internal_user" }}, {{ numbers = ["+18005550199"] }} ]
[[queue_behaviour]]
queue = "support-queue"
agents = 5
patience = {{ dist = "exponential", mean = "1m" }}
[[fault]]
gateway = "sbc5.contoso.com"
down = "30m"
up = "50m"
"#
            )
        };
        let short = scenario(&text(2), CONTOSO);
        let long = scenario(&text(4), CONTOSO);
        // Warm the engine's lazy automata first, as a long run would.
        counted(&short);
        let (a_short, calls_short) = counted(&short);
        let (a_long, calls_long) = counted(&long);
        let more_calls = calls_long - calls_short;
        assert!(more_calls > 10_000, "{calls_short} {calls_long}");
        // Growing the heap and the slab doubles a few times; a per-call allocation would
        // show as thousands.
        assert!(
            a_long.saturating_sub(a_short) < more_calls / 100,
            "{a_short} allocations for {calls_short} calls, {a_long} for {calls_long}"
        );
    }
}
