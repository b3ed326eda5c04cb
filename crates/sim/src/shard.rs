//! Repetitions as shards: independent runs of one scenario (seeds `seed`, `seed + 1`, ...)
//! on worker threads, merged in repetition order so that the thread count never changes the
//! report.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::report::Report;
use crate::run::{RunOptions, SimError, run};
use crate::scenario::Scenario;

/// Runs every repetition of `sc` on up to `threads` threads and merges the reports.
pub fn run_all(sc: &Scenario, threads: usize, opts: &RunOptions<'_>) -> Result<Report, SimError> {
    let started = opts.clock.map(|c| c());
    let reps = sc.repetitions.max(1);
    let threads = threads.clamp(1, reps as usize);
    let mut results: Vec<Option<Result<Report, SimError>>> = (0..reps).map(|_| None).collect();
    if threads == 1 {
        for (i, slot) in results.iter_mut().enumerate() {
            *slot = Some(run(sc, i as u32, opts));
        }
    } else {
        let next = AtomicU32::new(0);
        let (tx, rx) = crossbeam_channel::unbounded();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let tx = tx.clone();
                let next = &next;
                scope.spawn(move || {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= reps {
                            break;
                        }
                        // The receiver outlives the workers: a send cannot fail.
                        let _ = tx.send((i, run(sc, i, opts)));
                    }
                });
            }
            drop(tx);
            for (i, r) in rx {
                results[i as usize] = Some(r);
            }
        });
    }
    let mut merged: Option<Report> = None;
    for r in results.into_iter().flatten() {
        let r = r?;
        match &mut merged {
            Some(m) => m.merge(r),
            None => merged = Some(r),
        }
    }
    let mut merged = merged.unwrap_or_else(|| unreachable!("at least one repetition ran"));
    // The whole run's wall time, not the slowest shard's.
    if let (Some(t0), Some(clock)) = (started, opts.clock) {
        merged.wall_ms = clock().saturating_sub(t0) / 1_000_000;
        merged.finish();
    }
    Ok(merged)
}
