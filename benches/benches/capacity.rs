//! Capacity: one acquire + release of a permit over one key and over four keys (caller,
//! callee, gateway, tenant), uncontended and with two threads on the same keys, for the
//! lock-free ledger and for the `Mutex<HashMap>` baseline behind the same `Store` interface.
//! Results: docs/performance.md.

use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tpr_capacity::{Defaults, KeyId, Ledger, LedgerBuilder, MutexStore, Store, try_acquire};

fn setup() -> (Ledger, Vec<KeyId>) {
    let mut b = LedgerBuilder::new(Defaults::default());
    let caller = b.user_number("+14255550101").expect("key");
    let callee = b.service_number("+18005550199").expect("key");
    let gateway = b.gateway("sbc1.contoso.com", Some(1_000_000), Some(100_000)).expect("key");
    let tenant = b.tenant("contoso", None).expect("key");
    // Unrelated keys, so that the ledger is not trivially small.
    for i in 0..10_000 {
        b.user_number(&format!("+1312555{i:04}")).expect("key");
    }
    let ledger = b.build();
    (ledger, vec![caller, callee, gateway, tenant])
}

fn one_op(store: &dyn Store, keys: &[KeyId]) {
    // The caller's user number allows two calls: one permit at a time never refuses.
    let permit = try_acquire(store, black_box(keys)).expect("admitted");
    drop(black_box(permit));
}

fn bench(c: &mut Criterion) {
    let (ledger, keys) = setup();
    let mutex = MutexStore::like(&ledger);
    let stores: [(&str, &dyn Store); 2] = [("ledger", &ledger), ("mutex-hashmap", &mutex)];
    for (label, n) in [("1-key", 1usize), ("4-keys", 4)] {
        let keys = if n == 1 { &keys[2..3] } else { &keys[..] };
        let mut g = c.benchmark_group(format!("capacity/uncontended/{label}"));
        g.throughput(Throughput::Elements(1));
        for (name, store) in stores {
            g.bench_function(BenchmarkId::from_parameter(name), |b| b.iter(|| one_op(store, keys)));
        }
        g.finish();

        // Two threads on the same keys: time per acquire+release as each thread sees it.
        let mut g = c.benchmark_group(format!("capacity/contended-2-threads/{label}"));
        g.throughput(Throughput::Elements(1));
        for (name, store) in stores {
            g.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter_custom(|iters| {
                    let barrier = Barrier::new(2);
                    std::thread::scope(|s| {
                        let other = s.spawn(|| {
                            barrier.wait();
                            for _ in 0..iters {
                                one_op(store, keys);
                            }
                        });
                        barrier.wait();
                        let start = Instant::now();
                        for _ in 0..iters {
                            one_op(store, keys);
                        }
                        let elapsed = start.elapsed();
                        other.join().expect("worker");
                        elapsed
                    })
                })
            });
        }
        g.finish();
    }
    assert_eq!(ledger.in_use(), 0, "leaked permits");
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(30);
    targets = bench
}
criterion_main!(benches);
