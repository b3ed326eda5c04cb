//! `tpr bench`: raw outbound decision throughput and latency on generated traffic.
//!
//! The traffic is made before the clock starts: calls from random users of the tenant(s) to a
//! mix of what people dial (E.164, national and local numbers, extensions, international
//! numbers with spaces, colleagues' numbers, emergency numbers). Three passes over it on the
//! same per-thread scratch: a first one from cold scratch (reported apart: dial plans build
//! their lazy DFA states then); one untimed per call, for throughput; one timing every
//! decision, for the latency histogram (two reads of the time-stamp counter per decision,
//! about ten nanoseconds each, kept out of the throughput; see `clock`). `--rounds N` repeats
//! the untimed pass and reports the fastest round, with the median and slowest beside it: on
//! a shared machine, whose speed moves between seconds, the fastest of several short rounds is
//! steadier than one round (a slow spell can still last a whole run, so builds are compared
//! over several runs). When the tenants' and callers' records are too many for the cache, each
//! pass asks for the memory of calls a few places ahead a step at a time while deciding this
//! one (`Engine::prefetch_call`), as a server with a queue of pending calls would: thousands of
//! tenants taking turns leave a decision's records in no cache. A decision's timed latency
//! includes that asking.

use std::collections::VecDeque;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, PoisonError, RwLock};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use tpr_dialplan::Limits;
use tpr_router::{Call, CallAhead, Engine, Interner, Prefetch, Scratch, State, UserId};
use tpr_tenant::Tenant;

use crate::{Finish, UserError, tenant_file};

/// The tenant `tpr bench` uses without `--tenant`.
pub const DEFAULT_TENANT: &str = include_str!("../../../scenarios/tenants/contoso.toml");

/// The most tenant copies `--tenants` takes (each costs from tens of KiB to MiBs; compiling
/// also stops when the machine's memory runs low).
const MAX_TENANTS: usize = 1_000_000;

/// Arguments of `tpr bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The tenant (default: the bundled contoso tenant).
    #[arg(long, value_name = "FILE")]
    tenant: Option<PathBuf>,
    /// Decisions per pass.
    #[arg(long, value_name = "N", default_value_t = 2_000_000)]
    calls: u64,
    /// Worker threads.
    #[arg(long, value_name = "N", default_value_t = 1)]
    threads: usize,
    /// Clone the tenant this many times (each its own engine) and spread the calls over them.
    /// A list (`1,100,10000`) runs the bench once per count, in order, and ends with a table
    /// of their rates against the first's.
    #[arg(long, value_name = "K", value_delimiter = ',', default_value = "1")]
    tenants: Vec<usize>,
    /// Hold the number of callers fixed while `--tenants` changes: resize the tenant's last
    /// user range with numbers so that the copies have N callers in all (N / K each, rounded
    /// down). The copies of a 50-caller tenant bring 50 callers each, whose records alone
    /// outgrow the cache; at equal callers, runs with 1 and 10,000 tenants differ only in the
    /// number of tenants.
    #[arg(long, value_name = "N")]
    callers: Option<u64>,
    /// Compile every tenant's automata on its own instead of sharing identical ones between
    /// tenants (what a router would do with distinct configurations). The naive baseline
    /// shares its identical regexes either way.
    #[arg(long)]
    no_share: bool,
    /// Compile dial plans to lazy DFAs, whose states each thread builds as calls need them,
    /// instead of compact rows determinized up front: quicker to compile, slower to decide
    /// over thousands of tenants with plans of their own (docs/performance.md).
    #[arg(long)]
    lazy_plans: bool,
    /// Also run the same calls through engines with naive one-regex-per-rule matching. Its
    /// tenants share the regexes of identical dial plans and route lists, as a script's regex
    /// cache would (one by one they take about 12 MiB per copy of a 100-rule tenant).
    #[arg(long, value_name = "KIND", value_parser = ["naive"])]
    baseline: Option<String>,
    /// Seed of the traffic and of the gateway shuffles.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Run the throughput pass this many times and report the fastest (with the median and
    /// slowest), to see through a shared machine's changing speed.
    #[arg(long, value_name = "N", default_value_t = 1)]
    rounds: usize,
}

struct Loaded {
    engine: Engine,
    state: State,
    users: Vec<UserId>,
}

struct Job<'a> {
    tenant: u32,
    user: UserId,
    dialed: &'a str,
}

struct Measured {
    /// The first pass, from cold scratch.
    cold: Duration,
    /// The fastest untimed warm pass (throughput).
    wall: Duration,
    /// Every untimed pass, fastest first (the slowest thread's time in each).
    rounds: Vec<Duration>,
    /// Every decision of the timed pass.
    histogram: Histogram<u64>,
    /// The same, by kind of decision ([`KINDS`]).
    by_kind: Vec<Histogram<u64>>,
    kinds: [u64; 6],
    /// Caches of the busiest thread's scratch: dial plans, bytes of their lazy DFA states,
    /// pattern sets.
    lazy: (usize, usize, usize),
    /// What each decision asked for of the coming calls' memory.
    ahead: Ahead,
}

/// What `tpr bench` asks for ahead of each call ([`tpr_router::Engine::prefetch_call`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ahead {
    /// Nothing: the records stay in cache ([`records_outgrow_cache`] says no).
    Nothing,
    /// The tenant's and caller's records.
    Records,
    /// Those, the caller's route automaton and a walk of each coming call's dial-plan
    /// automaton ([`ask_for_automata`] says yes).
    Automata,
}

/// How many calls ahead `tpr bench` starts each call's walk ([`Ahead::Automata`]): a walk
/// takes a step per decision, and a 50-rule plan's takes about twenty (the records before
/// the rows, a row per dialed digit, the match list, the winning rule's records). Over
/// 10,000 tenants with distinct automata (session 22): 8 calls ahead 0.51 M decisions/s, 16
/// 0.67, 20 0.86, 24 0.85, without walks 0.45; session 23, with a step more for the match
/// list: 20 ahead p99 0.94-0.96 us, 22 0.81-0.86 us, at the same rate.
const WALK_AHEAD: usize = 22;

/// One pass of one thread.
struct Pass {
    wall: Duration,
    /// Latencies of the timed pass by kind of decision ([`KINDS`]).
    by_kind: Vec<Histogram<u64>>,
    kinds: [u64; 6],
}

fn new_histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("bounds")
}

const KINDS: [&str; 6] =
    ["direct-routing", "calling-plan", "operator-connect", "internal", "emergency", "rejected"];

pub fn run(args: Args) -> anyhow::Result<Finish> {
    if args.threads == 0 || args.tenants.contains(&0) || args.calls == 0 || args.rounds == 0 {
        return Err(UserError::Message(
            "--calls, --threads, --tenants and --rounds must be at least 1".into(),
        )
        .into());
    }
    if args.threads > crate::MAX_THREADS {
        return Err(UserError::Message(format!(
            "--threads must be at most {}",
            crate::MAX_THREADS
        ))
        .into());
    }
    if args.tenants.iter().any(|&k| k > MAX_TENANTS) {
        return Err(UserError::Message(format!("--tenants must be at most {MAX_TENANTS}")).into());
    }
    let tenant = match &args.tenant {
        Some(path) => tenant_file::load(path)?,
        None => Tenant::from_toml_str(DEFAULT_TENANT, "contoso.toml")
            .map_err(|e| anyhow::anyhow!("bundled tenant: {e}"))?,
    };
    // Every count's tenant before any work: one that cannot be made stops the run up front.
    let runs = args
        .tenants
        .iter()
        .map(|&k| match args.callers {
            Some(n) => with_callers(tenant.clone(), n, k).map(|t| (k, t)),
            None => Ok((k, tenant.clone())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = std::io::stdout().lock();
    let mut series = Vec::with_capacity(runs.len());
    for (k, tenant) in &runs {
        series.push(bench_copies(tenant, *k, &args, &mut out)?);
    }
    if series.len() > 1 {
        write_series(&mut out, &series)?;
    }
    Ok(Finish::Ok)
}

/// What one tenant count gave: copies, callers, fastest rate (decisions/s), p99 (ns).
struct Point {
    copies: usize,
    callers: usize,
    rate: f64,
    p99: u64,
}

/// The table that ends a run over several tenant counts: each count's rate against the
/// first's.
fn write_series(out: &mut impl Write, series: &[Point]) -> std::io::Result<()> {
    let Some(first) = series.first() else { return Ok(()) };
    writeln!(out, "over tenant counts (fastest rounds; against x{}):", first.copies)?;
    for p in series {
        writeln!(
            out,
            "  x{:<8} {:>9} callers  {:>6.2} M decisions/s  {:>4.0} %  p99 {} ns",
            p.copies,
            p.callers,
            p.rate / 1e6,
            100.0 * p.rate / first.rate,
            p.p99
        )?;
    }
    out.flush()
}

/// Compiles `k` copies of `tenant`, measures them (and the naive baseline if asked) and
/// reports.
fn bench_copies(
    tenant: &Tenant,
    k: usize,
    args: &Args,
    out: &mut impl Write,
) -> anyhow::Result<Point> {
    let compile_start = Instant::now();
    let interner = (!args.no_share).then(Interner::new);
    let limits = Limits { compact_plans: !args.lazy_plans, ..Limits::default() };
    let engines = compile_all(tenant, k, args.threads, Build::Tpr(interner.as_ref(), &limits))?;
    let compile = compile_start.elapsed();
    let users: usize = engines.iter().map(|l| l.users.len()).sum();
    if users == 0 {
        return Err(UserError::Message(
            "the tenant has no users with a number to call from".into(),
        )
        .into());
    }
    let memory = match &interner {
        Some(i) => {
            let st = i.stats();
            let tables: usize = engines.iter().map(|l| l.engine.table_memory_usage()).sum();
            format!(
                "{} of tables, {} of automata and routes shared: {} distinct plans, {} pattern \
                 sets and {} route shape{}",
                size(tables),
                size(st.bytes),
                st.plans,
                st.sets,
                st.routes,
                if st.routes == 1 { "" } else { "s" }
            )
        }
        None => format!(
            "{} of automata and tables, nothing shared",
            size(engines.iter().map(|l| l.engine.memory_usage()).sum())
        ),
    };
    let memory = if args.lazy_plans { memory + "; dial plans as lazy DFAs" } else { memory };
    writeln!(
        out,
        "tenant {} x{k}: {} callers, compiled in {:.2} s ({memory})",
        tenant.name,
        users,
        compile.as_secs_f64(),
    )?;
    out.flush()?;
    let strings = traffic(&engines, args.seed, args.calls.min(200_000) as usize);
    // The dialed texts end to end, in call order, as the calls follow each other: a server
    // has the text of the call it just parsed in cache, where a string of its own per call
    // would be a line among a million others, read from memory.
    let text: String = strings.iter().map(|(_, _, s)| s.as_str()).collect();
    let mut from = 0;
    let jobs: Vec<Job<'_>> = strings
        .iter()
        .map(|(t, u, s)| {
            let dialed = &text[from..from + s.len()];
            from += s.len();
            Job { tenant: *t, user: *u, dialed }
        })
        .collect();

    let automata = match &interner {
        Some(i) => i.stats().bytes,
        None => engines
            .iter()
            .map(|l| l.engine.memory_usage().saturating_sub(l.engine.table_memory_usage()))
            .sum(),
    };
    let fast = measure(&engines, &jobs, args, automata)?;
    report(out, "tpr", &fast, args.calls)?;
    if let Some(line) = last_level_cache().and_then(|c| automata_outgrow(automata, fast.lazy.1, c))
    {
        writeln!(out, "       {line}")?;
    }
    let share: Vec<String> = KINDS
        .iter()
        .zip(fast.kinds)
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k} {:.1} %", 100.0 * n as f64 / args.calls as f64))
        .collect();
    writeln!(out, "  decisions: {}", share.join(", "))?;
    let latency: Vec<String> = KINDS
        .iter()
        .zip(&fast.by_kind)
        .filter(|(_, h)| !h.is_empty())
        .map(|(k, h)| {
            format!("{k} p50 {} ns, p99 {} ns", h.value_at_quantile(0.5), h.value_at_quantile(0.99))
        })
        .collect();
    writeln!(out, "  latency by kind: {}", latency.join("; "))?;
    out.flush()?;
    if args.baseline.is_some() {
        // Copies share identical naive regexes, as a script's regex cache would, even with
        // --no-share (which is about tpr's own automata).
        let naive = compile_all(tenant, k, args.threads, Build::Naive(&Interner::new()))?;
        let slow = measure(&naive, &jobs, args, automata)?;
        report(out, "naive", &slow, args.calls)?;
        let ratio = slow.wall.as_secs_f64() / fast.wall.as_secs_f64();
        let p99 = slow.histogram.value_at_quantile(0.99) as f64
            / fast.histogram.value_at_quantile(0.99).max(1) as f64;
        writeln!(out, "  tpr is {ratio:.1}x the naive throughput; naive p99 is {p99:.1}x tpr's")?;
        if slow.kinds != fast.kinds {
            return Err(anyhow::anyhow!(
                "the naive baseline decided differently: {:?} vs {:?}",
                slow.kinds,
                fast.kinds
            ));
        }
    }
    Ok(Point {
        copies: k,
        callers: users,
        rate: args.calls as f64 / fast.wall.as_secs_f64(),
        p99: fast.histogram.value_at_quantile(0.99),
    })
}

/// `tenant` with its last user range with numbers resized so that `k` copies of it have
/// `total` callers (users with a number) in all, `total / k` each.
fn with_callers(mut tenant: Tenant, total: u64, k: usize) -> Result<Tenant, UserError> {
    let Some(i) = tenant.user_ranges.iter().rposition(|r| r.first_number.is_some()) else {
        return Err(UserError::Message(format!(
            "--callers resizes a user range with numbers ([[user_ranges]] with first_number), \
             and tenant {} has none",
            tenant.name
        )));
    };
    let each = total / k as u64;
    let listed = tenant.users.iter().filter(|u| u.number.is_some()).count() as u64;
    let others = listed
        + tenant
            .user_ranges
            .iter()
            .enumerate()
            .filter(|&(j, r)| j != i && r.first_number.is_some())
            .map(|(_, r)| u64::from(r.count))
            .sum::<u64>();
    let name = &tenant.user_ranges[i].name;
    let count = each.checked_sub(others).filter(|&c| c > 0).ok_or_else(|| {
        UserError::Message(format!(
            "--callers {total} over {k} tenant{} is {each} a tenant, and {others} callers \
                 of each are outside user range {name:?}, which needs at least one: \
                 give --callers at least {}",
            if k == 1 { "" } else { "s" },
            (others + 1) * k as u64
        ))
    })?;
    let count = u32::try_from(count)
        .ok()
        .filter(|&c| c <= tpr_tenant::MAX_RANGE_USERS)
        .ok_or_else(|| {
            UserError::Message(format!(
                "--callers {total} over {k} tenant{} needs {count} users in user range {name:?}, \
             more than a range holds ({})",
                if k == 1 { "" } else { "s" },
                tpr_tenant::MAX_RANGE_USERS
            ))
        })?;
    tenant
        .resize_range(i, count)
        .map_err(|e| UserError::Message(format!("--callers {total}: {e}")))?;
    Ok(tenant)
}

/// `812 KiB`, `70.4 MiB`./// `812 KiB`, `70.4 MiB`.
pub(crate) fn size(bytes: usize) -> String {
    if bytes < 1 << 20 {
        format!("{} KiB", bytes.div_ceil(1 << 10))
    } else {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    }
}

/// The largest cache Linux lists for CPU 0 (the last level), in bytes, if it lists any.
fn last_level_cache() -> Option<usize> {
    std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache")
        .ok()?
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("size")).ok())
        .filter_map(|text| cache_size(&text))
        .max()
}

/// A cache size as sysfs writes it: `32768K`, `2M`, or bytes.
fn cache_size(text: &str) -> Option<usize> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, ""),
    };
    let n: usize = digits.parse().ok()?;
    match unit {
        "" => Some(n),
        "K" => n.checked_mul(1 << 10),
        "M" => n.checked_mul(1 << 20),
        "G" => n.checked_mul(1 << 30),
        _ => None,
    }
}

/// The line saying why decisions are slow when the automata they walk (`automata` compiled,
/// `lazy` of lazy DFA states built on one thread) are more than the last-level cache holds:
/// each step of a walk then waits for memory unless it was asked for ahead.
fn automata_outgrow(automata: usize, lazy: usize, last_level: usize) -> Option<String> {
    (automata + lazy > last_level).then(|| {
        format!(
            "the automata ({} compiled, {} of lazy DFA states per thread) are more than the {} last-level cache: decisions find them in memory",
            size(automata),
            size(lazy),
            size(last_level)
        )
    })
}

/// Which engine the copies get.
#[derive(Clone, Copy)]
enum Build<'a> {
    /// tpr's, sharing automata through the interner when there is one, compiled within the
    /// limits.
    Tpr(Option<&'a Interner>, &'a Limits),
    /// The one-regex-per-rule baseline, sharing identical regexes.
    Naive(&'a Interner),
}

fn compile_all(
    tenant: &Tenant,
    k: usize,
    threads: usize,
    build: Build<'_>,
) -> anyhow::Result<Vec<Loaded>> {
    let compile_one = |i: usize| -> anyhow::Result<Loaded> {
        let mut t = tenant.clone();
        if k > 1 {
            t.name = format!("{}-{i}", tenant.name);
        }
        let engine = match build {
            Build::Naive(i) => Engine::compile_naive_shared(&t, i),
            Build::Tpr(Some(i), limits) => Engine::compile_shared(&t, limits, i),
            Build::Tpr(None, limits) => Engine::compile_with(&t, limits),
        }
        .map_err(|e| UserError::Message(format!("{}: {e}", t.name)))?;
        let state = State::new(&engine);
        let users = (0..engine.user_count() as u32)
            .map(UserId::from_index)
            .filter(|u| engine.number_of(*u).is_some())
            .collect();
        Ok(Loaded { engine, state, users })
    };
    let chunks: Vec<Vec<usize>> = (0..threads).map(|t| (t..k).step_by(threads).collect()).collect();
    let done = AtomicUsize::new(0);
    let compiled = on_threads(threads, |t| {
        chunks[t]
            .iter()
            .map(|&i| {
                // Copies are the same size: when memory runs low, the rest would not fit.
                // Not before the first 64: a machine already short of memory can still
                // bench one tenant, or a few.
                let n = done.fetch_add(1, Ordering::Relaxed);
                if n > 0
                    && n % 64 == 0
                    && let Some(low) = memory_low()
                {
                    return Err(UserError::Message(format!(
                        "--tenants {k}: memory ran low after {n} copies of {} ({low}); \
                         use fewer copies",
                        tenant.name
                    ))
                    .into());
                }
                compile_one(i).map(|l| (i, l))
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let mut out: Vec<Option<Loaded>> = (0..k).map(|_| None).collect();
    for r in compiled {
        for (i, l) in r? {
            out[i] = Some(l);
        }
    }
    Ok(out.into_iter().flatten().collect())
}

/// What is wrong when this machine has less than a twentieth of its memory (and at least
/// 512 MiB) available, from `/proc/meminfo`; `None` when it has more, or does not say.
fn memory_low() -> Option<String> {
    std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| low_in(&m))
}

fn low_in(meminfo: &str) -> Option<String> {
    let kib = |field: &str| -> Option<u64> {
        let line = meminfo.lines().find(|l| l.starts_with(field))?;
        line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()
    };
    let (total, available) = (kib("MemTotal:")?, kib("MemAvailable:")?);
    (available < (total / 20).max(512 << 10))
        .then(|| format!("{} MiB available of {} MiB", available >> 10, total >> 10))
}

/// Runs `f(0)` to `f(n - 1)` on `n` threads of their own, together, and gives their results
/// in order. When the system will not start all `n` (a limit on threads or memory), the ones
/// started return without running `f` and the error says how many could start: a run on
/// fewer threads than asked would measure something else, and workers waiting at a barrier
/// for threads that never came would wait forever.
fn on_threads<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> anyhow::Result<Vec<T>> {
    let gate = RwLock::new(false);
    std::thread::scope(|s| {
        let mut go = gate.write().unwrap_or_else(PoisonError::into_inner);
        let mut handles = Vec::with_capacity(n);
        let mut refused = None;
        for i in 0..n {
            let (f, gate) = (&f, &gate);
            let started = std::thread::Builder::new().spawn_scoped(s, move || {
                let go = *gate.read().unwrap_or_else(PoisonError::into_inner);
                go.then(|| f(i))
            });
            match started {
                Ok(h) => handles.push(h),
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        *go = refused.is_none();
        drop(go);
        let started = handles.len();
        // A worker's panic is tpr's bug: it goes on up as it was.
        let results: Vec<Option<T>> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect();
        match refused {
            Some(e) => Err(UserError::Message(format!(
                "--threads {n}: the system started only {started} threads ({e})"
            ))
            .into()),
            None => Ok(results.into_iter().flatten().collect()),
        }
    })
}

/// Are the records decisions read, over all tenants and callers, too many to stay in a
/// core's L2 (a rough count: 2 KiB of hot records a tenant, 128 bytes a caller, against
/// 4 MiB)? Then asking for each call's memory ahead pays for itself. Measured in session 19
/// (docs/performance.md): it pays from 1,000 tenants of 50 callers and from one tenant of
/// 100,000 callers on, and costs 5-9 % for one tenant of 5,000 callers or 100 tenants of 50.
fn records_outgrow_cache(engines: &[Loaded]) -> bool {
    let callers: usize = engines.iter().map(|l| l.users.len()).sum();
    engines.len() * 2048 + callers * 128 > 4 << 20
}

/// Are the compiled automata (`automata` bytes) more than a quarter of the last-level cache
/// (each worker's lazy DFA states of the dial plans take about as much again, and the
/// tenants' records want the rest)? Then a route automaton is in no cache when a decision
/// scans it, and asking for its lines a call ahead pays. Measured in session 21
/// (docs/performance.md): 12-20 % faster at 1,000 tenants with distinct automata (16 MiB
/// compiled) and 1.2-1.9x at 3,000; no better at 300 (5 MiB), and 2-4 % slower when the
/// automata are shared and stay in cache.
fn ask_for_automata(automata: usize, last_level: usize) -> bool {
    automata > last_level / 4
}

/// Calls in the formats people dial, from random callers of random tenants.
fn traffic(engines: &[Loaded], seed: u64, n: usize) -> Vec<(u32, UserId, String)> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let areas = ["425", "206", "312", "415", "212"];
    (0..n)
        .map(|_| {
            let t = loop {
                let t = rng.random_range(0..engines.len());
                if !engines[t].users.is_empty() {
                    break t;
                }
            };
            let l = &engines[t];
            let user = l.users[rng.random_range(0..l.users.len())];
            let area = areas[rng.random_range(0..areas.len())];
            let line: u32 = rng.random_range(0..10_000);
            let dialed = match rng.random_range(0..100) {
                0..30 => format!("+1{area}555{line:04}"),
                30..50 => format!("({area}) 555-{line:04}"),
                50..65 => format!("555{line:04}"),
                65..80 => format!("{line:04}"),
                80..90 => format!("+44 20 7946 {:04}", line % 1000),
                90..95 => {
                    let other = l.users[rng.random_range(0..l.users.len())];
                    l.engine.number_of(other).unwrap_or("911").to_owned()
                }
                _ => "911".to_owned(),
            };
            (t as u32, user, dialed)
        })
        .collect()
}

/// Runs the jobs on `args.threads` threads, passes over the same per-thread scratch (as a
/// server thread keeps it): a first pass from cold scratch (lazy automaton states get built,
/// caches fill), `args.rounds` untimed passes for throughput and a pass that times every
/// decision for the histogram. Passes start together on all threads.
///
/// `automata`: the bytes of compiled automata the engines share between them, which decide
/// whether the call-ahead steps also ask for route automata ([`Ahead::Automata`]).
fn measure(
    engines: &[Loaded],
    jobs: &[Job<'_>],
    args: &Args,
    automata: usize,
) -> anyhow::Result<Measured> {
    let per_thread = args.calls.div_ceil(args.threads as u64);
    let ahead = if !records_outgrow_cache(engines) {
        Ahead::Nothing
    } else if last_level_cache().is_some_and(|c| ask_for_automata(automata, c)) {
        Ahead::Automata
    } else {
        Ahead::Records
    };
    let pipeline = ahead != Ahead::Nothing;
    // One scratch per thread for every tenant, as a server thread would keep.
    let pass = |thread: usize, scratch: &mut Scratch, timed: bool| -> Pass {
        let mut rng = Pcg64Mcg::seed_from_u64(args.seed ^ (thread as u64 + 1));
        let mut by_kind: Vec<Histogram<u64>> = KINDS.iter().map(|_| new_histogram()).collect();
        let mut kinds = [0u64; 6];
        let offset = thread * jobs.len() / args.threads;
        let start = Instant::now();
        // The calls go round the jobs from `offset`; `at` is the next call's.
        let n = jobs.len();
        let mut at = offset % n;
        let job_at = |k: usize| &jobs[if k < n { k } else { k % n }];
        // The walks of the next `WALK_AHEAD` calls (see `Engine::call_ahead`).
        let walks = if ahead == Ahead::Automata { WALK_AHEAD } else { 0 };
        let mut ring: VecDeque<CallAhead<'_>> = VecDeque::with_capacity(walks + 1);
        for _ in 0..per_thread {
            // This call's walk, once it has gone round the ring.
            let mut walked = None;
            if walks > 0 {
                let next = job_at(at + walks);
                let tenant = next.tenant as usize;
                ring.push_back(engines[tenant].engine.call_ahead(next.user, next.dialed));
                for walk in &mut ring {
                    walk.step();
                }
                // This call's walk: what it read is in L2 by now, asked for again together
                // (the decision takes its rule candidates from it).
                if ring.len() > walks
                    && let Some(walk) = ring.pop_front()
                {
                    walk.refresh();
                    walked = Some(walk);
                }
            }
            // A decision's time includes asking for the coming calls' memory.
            let t0 = timed.then(crate::clock::now_ns);
            // The coming calls' memory, a step at a time (see `Engine::prefetch_call`): with
            // many tenants or callers taking turns, their records are in no cache. Each step
            // reads what the one before asked for two calls earlier: one call (about 200 ns
            // here) was too little for a line to come from memory, and the steps stalled
            // (session 20: 6/4/2 calls ahead ran 5-8 % faster than 3/2/1 over 10,000 tenants).
            // A few thousand callers' records stay in L2, where asking would only cost its
            // ~170 instructions a call.
            // The job twelve ahead of the first to read it (the walk's, `walks` ahead, or
            // this loop's) and the dialed text of the one two ahead: a server parsed a call
            // from its INVITE a moment ago, so it is in cache there; here the jobs and texts
            // are read in order, but the tenants' records push them out of the cache between
            // one call and the next. (Until session 25 the job was asked for twelve ahead of
            // this loop, ten behind the walk that read it first: `perf` put a tenth of the
            // loop's samples on that read, over 10,000 distinct tenants.)
            tpr_types::prefetch(job_at(at + walks + 12));
            tpr_types::prefetch(job_at(at + 2).dialed.as_ptr());
            if pipeline {
                for (calls, step) in [
                    (6, Prefetch::Header),
                    (4, Prefetch::Party),
                    (2, Prefetch::Records),
                    (1, Prefetch::Automata),
                ] {
                    if step == Prefetch::Automata && ahead != Ahead::Automata {
                        continue;
                    }
                    let next = job_at(at + calls);
                    let l = &engines[next.tenant as usize];
                    l.engine.prefetch_call(&l.state, next.user, next.dialed, step);
                }
            }
            let job = &jobs[at];
            at = if at + 1 == n { 0 } else { at + 1 };
            let l = &engines[job.tenant as usize];
            let call = Call::new(job.user, job.dialed);
            let d = match &walked {
                Some(walk) => l.engine.decide_ahead(&l.state, &call, walk, scratch, &mut rng, 0),
                None => l.engine.decide(&l.state, &call, scratch, &mut rng, 0),
            };
            let k = KINDS.iter().position(|k| *k == d.kind()).unwrap_or(5);
            if let Some(t0) = t0 {
                let _ = by_kind[k].record(crate::clock::now_ns().saturating_sub(t0).max(1));
            }
            kinds[k] += 1;
        }
        Pass { wall: start.elapsed(), by_kind, kinds }
    };
    crate::clock::start();
    let barrier = Barrier::new(args.threads);
    let worker = |thread: usize| -> (Vec<Pass>, (usize, usize, usize)) {
        let mut scratch = Scratch::new();
        // The cold pass, the untimed rounds, then the timed pass.
        let mut passes = Vec::with_capacity(args.rounds + 2);
        for i in 0..args.rounds + 2 {
            barrier.wait();
            passes.push(pass(thread, &mut scratch, i == args.rounds + 1));
        }
        let caches =
            (scratch.plan_caches(), scratch.automaton_memory_usage(), scratch.set_caches());
        (passes, caches)
    };
    let results = on_threads(args.threads, worker)?;
    let lazy = results.iter().map(|(_, l)| *l).max().unwrap_or_default();
    let passes: Vec<Vec<Pass>> = results.into_iter().map(|(p, _)| p).collect();
    let mut histogram = new_histogram();
    let mut by_kind: Vec<Histogram<u64>> = KINDS.iter().map(|_| new_histogram()).collect();
    let mut kinds = [0u64; 6];
    for p in &passes {
        for (all, h) in by_kind.iter_mut().zip(&p[args.rounds + 1].by_kind) {
            let _ = all.add(h);
            let _ = histogram.add(h);
        }
        // Every round makes the same decisions (each pass draws from a fresh seed).
        for (k, n) in kinds.iter_mut().zip(p[1].kinds) {
            *k += n;
        }
    }
    let slowest = |i: usize| passes.iter().map(|p| p[i].wall).max().unwrap_or_default();
    let mut rounds: Vec<Duration> = (1..=args.rounds).map(slowest).collect();
    rounds.sort();
    Ok(Measured {
        cold: slowest(0),
        wall: rounds[0],
        rounds,
        histogram,
        by_kind,
        kinds,
        lazy,
        ahead,
    })
}

fn report(out: &mut impl Write, name: &str, m: &Measured, calls: u64) -> std::io::Result<()> {
    let h = &m.histogram;
    writeln!(
        out,
        "{name:>5}: {:.2} M decisions/s over {:.2} s; latency p50 {} ns, p99 {} ns, p999 {} ns, max {} ns",
        calls as f64 / m.wall.as_secs_f64() / 1e6,
        m.wall.as_secs_f64(),
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max()
    )?;
    let rate = |d: Duration| calls as f64 / d.as_secs_f64() / 1e6;
    if let [_, .., slowest] = m.rounds[..] {
        writeln!(
            out,
            "       fastest of {} rounds; median {:.2}, slowest {:.2} M decisions/s",
            m.rounds.len(),
            rate(m.rounds[m.rounds.len() / 2]),
            rate(slowest),
        )?;
    }
    writeln!(
        out,
        "       first pass, from cold scratch (lazy automaton states, caches): {:.2} M decisions/s over {:.2} s",
        calls as f64 / m.cold.as_secs_f64() / 1e6,
        m.cold.as_secs_f64(),
    )?;
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    writeln!(
        out,
        "       per thread: one scratch, with caches for the automata whose searches need one: {} dial plan{} ({} of lazy DFA states), {} pattern set{}",
        m.lazy.0,
        plural(m.lazy.0),
        size(m.lazy.1),
        m.lazy.2,
        plural(m.lazy.2),
    )?;
    match m.ahead {
        Ahead::Automata => writeln!(
            out,
            "       each decision asks for the coming calls' memory and takes a step of each of the next {WALK_AHEAD} calls' walks through their dial-plan automata, route automata asked for too: the tenants' and callers' records are too many to stay in cache, and so are the automata"
        )?,
        Ahead::Records => writeln!(
            out,
            "       each decision asks for the coming calls' memory: the tenants' and callers' records are too many to stay in cache"
        )?,
        Ahead::Nothing => writeln!(
            out,
            "       no memory asked for ahead: the tenants' and callers' records are few enough to stay in cache"
        )?,
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::{ask_for_automata, automata_outgrow, cache_size, low_in};

    #[test]
    fn cache_sizes_read_as_sysfs_writes_them() {
        assert_eq!(cache_size("32768K\n"), Some(32 << 20));
        assert_eq!(cache_size("2M"), Some(2 << 20));
        assert_eq!(cache_size("1G"), Some(1 << 30));
        assert_eq!(cache_size("49152"), Some(49152));
        assert_eq!(cache_size(""), None);
        assert_eq!(cache_size("48KiB"), None);
        assert_eq!(cache_size("K"), None);
        assert_eq!(cache_size("99999999999999999999999G"), None);
    }

    #[test]
    fn automata_outgrow_the_cache_only_past_its_size() {
        let mib = 1 << 20;
        assert_eq!(automata_outgrow(16 * mib, 16 * mib, 32 * mib), None);
        let line = automata_outgrow(247 * mib, 150 * mib, 32 * mib).expect("outgrown");
        assert!(line.contains("247.0 MiB compiled, 150.0 MiB of lazy DFA states"), "{line}");
        assert!(line.contains("the 32.0 MiB last-level cache"), "{line}");
    }

    #[test]
    fn route_automata_are_asked_for_past_a_quarter_of_the_cache() {
        let mib = 1 << 20;
        assert!(!ask_for_automata(18 << 10, 32 * mib));
        assert!(!ask_for_automata(8 * mib, 32 * mib));
        assert!(ask_for_automata(9 * mib, 32 * mib));
    }

    fn meminfo(total_kib: u64, available_kib: u64) -> String {
        format!(
            "MemTotal:       {total_kib} kB\nMemFree:        1024 kB\n\
             MemAvailable:   {available_kib} kB\nBuffers:           0 kB\n"
        )
    }

    #[test]
    fn memory_is_low_under_a_twentieth_and_at_least_512_mib() {
        let gib = 1 << 20;
        // 24 GiB: low under 1.2 GiB.
        assert_eq!(
            low_in(&meminfo(24 * gib, gib)).as_deref(),
            Some("1024 MiB available of 24576 MiB")
        );
        assert_eq!(low_in(&meminfo(24 * gib, 2 * gib)), None);
        // 4 GiB: the 512 MiB floor is above a twentieth.
        assert!(low_in(&meminfo(4 * gib, 400 << 10)).is_some());
        assert_eq!(low_in(&meminfo(4 * gib, 600 << 10)), None);
        // A system that does not say is never low.
        assert_eq!(low_in("MemTotal: 1000 kB\n"), None);
        assert_eq!(low_in(""), None);
    }
}
