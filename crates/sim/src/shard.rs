//! Shards: independent runs on worker threads. A shard is one repetition (seeds `seed`,
//! `seed + 1`, ...) of one scenario; with several scenarios (several tenants), every
//! repetition of each. Results are merged in shard order, so the thread count never changes
//! the report.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::report::Report;
use crate::run::{RunOptions, SimError, run};
use crate::scenario::Scenario;

/// Runs every repetition of `sc` on up to `threads` threads and merges the reports.
pub fn run_all(sc: &Scenario, threads: usize, opts: &RunOptions<'_>) -> Result<Report, SimError> {
    run_many(std::slice::from_ref(sc), threads, opts).map_err(|(_, e)| e)
}

/// Runs every repetition of every scenario on up to `threads` threads, as shards numbered from
/// 0 in that order (the shard reported to `opts.progress`). Each scenario's
/// repetitions merge into one report, and the scenarios' reports combine into one
/// ([`Report::combine`]: per-tenant names for blocks, gateways, pools and queues). An error
/// names the scenario (its file) that stopped.
///
/// # Panics
///
/// If `scenarios` is empty (there is nothing to report).
pub fn run_many(
    scenarios: &[Scenario],
    threads: usize,
    opts: &RunOptions<'_>,
) -> Result<Report, (String, SimError)> {
    run_sharded(scenarios, threads, opts, usize::MAX)
}

/// [`run_many`], where the system starts at most `startable` worker threads and refuses the
/// rest (tests stand in for a limit on threads with it).
fn run_sharded(
    scenarios: &[Scenario],
    threads: usize,
    opts: &RunOptions<'_>,
    startable: usize,
) -> Result<Report, (String, SimError)> {
    let started = opts.clock.map(|c| c());
    let shards: Vec<(usize, u32)> = scenarios
        .iter()
        .enumerate()
        .flat_map(|(s, sc)| (0..sc.repetitions.max(1)).map(move |r| (s, r)))
        .collect();
    let threads = threads.clamp(1, shards.len().max(1));
    let play = |i: usize| {
        let (s, rep) = shards[i];
        run(&scenarios[s], rep, &RunOptions { shard: i, ..*opts })
    };
    let mut results: Vec<Option<Result<Report, SimError>>> = shards.iter().map(|_| None).collect();
    let next = AtomicUsize::new(0);
    // Takes shards until none are left, sending each result.
    let work = |tx: &crossbeam_channel::Sender<(usize, Result<Report, SimError>)>| loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= shards.len() {
            break;
        }
        // The receiver outlives the workers: a send cannot fail.
        let _ = tx.send((i, play(i)));
    };
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::scope(|scope| {
        // With one thread, none is started: the shards run here, below.
        let workers = if threads > 1 { threads } else { 0 };
        for k in 0..workers {
            let tx = tx.clone();
            let work = &work;
            // A thread the system will not start (a limit on threads or memory) is one
            // worker fewer: the others take its shards, and the report is the same.
            let started = if k < startable {
                std::thread::Builder::new()
                    .name(format!("shard-{k}"))
                    .spawn_scoped(scope, move || work(&tx))
                    .is_ok()
            } else {
                false
            };
            if !started {
                break;
            }
        }
        drop(tx);
        for (i, r) in rx {
            results[i] = Some(r);
        }
    });
    // Shards no worker took (one thread, or none would start) run here, in order.
    for (i, slot) in results.iter_mut().enumerate() {
        if slot.is_none() {
            *slot = Some(play(i));
        }
    }
    let mut per_scenario: Vec<Option<Report>> = scenarios.iter().map(|_| None).collect();
    for (&(s, _), r) in shards.iter().zip(results) {
        let r = r
            .unwrap_or_else(|| unreachable!("every shard ran"))
            .map_err(|e| (scenarios[s].file.to_string(), e))?;
        match &mut per_scenario[s] {
            Some(m) => m.merge(r),
            slot @ None => *slot = Some(r),
        }
    }
    let reports: Vec<Report> = per_scenario.into_iter().flatten().collect();
    let mut merged = match reports.len() {
        1 => reports.into_iter().next().unwrap_or_else(|| unreachable!()),
        _ => Report::combine(reports),
    };
    // The whole run's wall time, not the slowest shard's.
    if let (Some(t0), Some(clock)) = (started, opts.clock) {
        merged.wall_ms = clock().saturating_sub(t0) / 1_000_000;
        merged.finish();
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tpr_router::Engine;
    use tpr_tenant::Tenant;

    use super::*;
    use crate::ScenarioFile;

    /// The report without its wall-clock fields.
    fn deterministic(r: &Report) -> String {
        let mut v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        for k in ["wall_ms", "events_per_s", "decision_latency_ns"] {
            v.as_object_mut().unwrap().remove(k);
        }
        format!("{v}\n{}", r.series_csv())
    }

    // Threads the system refuses (a pids limit, memory) leave their shards to the threads
    // that did start, or to the caller when none did: the report is the one thread's.
    #[test]
    fn refused_threads_leave_their_shards_to_the_others() {
        let toml = include_str!("../../../scenarios/tenants/contoso.toml");
        let tenant = Tenant::from_toml_str(toml, "contoso.toml").unwrap();
        let engine = Arc::new(Engine::compile(&tenant).unwrap());
        let text = include_str!("../../../scenarios/default.toml");
        let file = ScenarioFile::parse(text, "default.toml").unwrap();
        let mut sc = file.bind(engine).unwrap();
        sc.duration_ms = 5 * 60_000;
        sc.warmup_ms = 0;
        sc.repetitions = 5;
        let opts = RunOptions::default();
        let one = run_sharded(std::slice::from_ref(&sc), 1, &opts, usize::MAX).unwrap();
        assert_eq!(one.repetitions, 5);
        assert!(one.offered > 0);
        let want = deterministic(&one);
        for startable in [0, 1, 2, 3] {
            let r = run_sharded(std::slice::from_ref(&sc), 4, &opts, startable).unwrap();
            assert_eq!(deterministic(&r), want, "{startable} of 4 threads started");
        }
    }
}
