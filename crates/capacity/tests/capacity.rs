//! Behaviour of the ledger and the store seam, a sequential model checked by proptest, and a
//! multi-thread stress test that checks the invariant on every step.

#![cfg(not(loom))]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use proptest::prelude::*;
use tpr_capacity::{
    BuildError, Defaults, KeyId, Ledger, LedgerBuilder, LimitClass, MutexStore, Store, try_acquire,
    try_acquire_owned,
};

#[test]
fn user_numbers_carry_two_calls_and_service_numbers_five_hundred() {
    // Spec T69: a user number in two calls refuses the third; a queue's number at 500 refuses.
    let mut b = LedgerBuilder::new(Defaults::default());
    let alice = b.user_number("+14255550101").unwrap();
    let cq = b.service_number("+18005550199").unwrap();
    let tenant = b.tenant("contoso", None).unwrap();
    let ledger = b.build();
    let cells = ledger.cells();
    let mut held: Vec<_> = (0..2).map(|_| ledger.try_acquire(&[alice]).unwrap()).collect();
    // The cells say what the ledger says: at the limit with two calls, not with one, never
    // for a key without a limit.
    assert!(cells.at_limit(&ledger, alice) && !cells.at_limit(&ledger, cq));
    assert!(!cells.at_limit(&ledger, tenant));
    drop(held.pop());
    assert!(!cells.at_limit(&ledger, alice));
    held.push(ledger.try_acquire(&[alice]).unwrap());
    let refused = ledger.try_acquire(&[alice]).unwrap_err();
    assert_eq!((refused.key, refused.class, refused.limit), (alice, LimitClass::UserNumber, 2));
    let queue_calls: Vec<_> = (0..500).map(|_| ledger.try_acquire(&[cq]).unwrap()).collect();
    assert_eq!(ledger.try_acquire(&[cq]).unwrap_err().limit, 500);
    assert_eq!((ledger.rejected(alice), ledger.rejected(cq)), (1, 1));
    drop(held);
    drop(queue_calls);
    assert_eq!(ledger.in_use(), 0);
    assert_eq!((ledger.peak(alice), ledger.peak(cq)), (2, 500));
}

#[test]
fn teams_max_sessions_alerts_at_ninety_percent_and_refuses_nothing() {
    // Spec T29: MaxConcurrentSessions 100; the alert at the 90th call; the 101st is routed.
    let mut b = LedgerBuilder::new(Defaults::default());
    let sbc = b.gateway("sbc1.contoso.com", None, Some(100)).unwrap();
    let ledger = b.build();
    let mut calls: Vec<_> = (0..89).map(|_| ledger.try_acquire(&[sbc]).unwrap()).collect();
    assert_eq!(ledger.alerts(sbc), 0);
    calls.push(ledger.try_acquire(&[sbc]).unwrap());
    assert_eq!(ledger.alerts(sbc), 1);
    calls.extend((0..11).map(|_| ledger.try_acquire(&[sbc]).unwrap()));
    assert_eq!(ledger.current(sbc), 101);
    assert_eq!(ledger.alerts(sbc), 1, "one alert per crossing");
    assert!(ledger.snapshot().keys[0].alerting);
    // Back under the threshold clears it; crossing again raises a second alert.
    calls.truncate(85);
    assert!(!ledger.snapshot().keys[0].alerting);
    calls.extend((0..5).map(|_| ledger.try_acquire(&[sbc]).unwrap()));
    assert_eq!(ledger.alerts(sbc), 2);
    assert_eq!(ledger.rejected(sbc), 0);
}

#[test]
fn alert_threshold_rounds_up() {
    let mut b = LedgerBuilder::new(Defaults::default());
    let g = b.gateway("g", None, Some(10)).unwrap();
    let h = b.gateway("h", None, Some(15)).unwrap();
    let ledger = b.build();
    let calls: Vec<_> = (0..9).map(|_| ledger.try_acquire(&[g, h]).unwrap()).collect();
    assert_eq!(ledger.alerts(g), 1, "90 % of 10 is 9");
    assert_eq!(ledger.alerts(h), 0, "90 % of 15 is 13.5: the 14th call alerts");
    drop(calls);
}

#[test]
fn shared_keys_get_a_block_of_their_own_and_numbers_are_packed() {
    let mut b = LedgerBuilder::new(Defaults::default());
    let n1 = b.user_number("+14255550100").unwrap();
    let g = b.gateway("sbc1", None, None).unwrap();
    let n2 = b.user_number("+14255550101").unwrap();
    let n3 = b.service_number("+14255550102").unwrap();
    let t = b.tenant("contoso", None).unwrap();
    let ledger = b.build();
    let ids: Vec<u32> = [n1, g, n2, n3, t].iter().map(|k| k.as_u32()).collect();
    // Blocks of eight 16-byte cells: the gateway starts one and leaves the rest empty, the
    // numbers after it share the next, the tenant starts a third.
    assert_eq!(ids, [0, 8, 16, 17, 24]);
    assert_eq!(ledger.keys().collect::<Vec<_>>(), [n1, g, n2, n3, t]);
    assert_eq!(ledger.len(), 5);
    assert_eq!(
        ledger.snapshot().keys.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
        ["+14255550100", "sbc1", "+14255550101", "+14255550102", "contoso"]
    );
    let p = ledger.try_acquire(&[n2, n3, g, t]).unwrap();
    assert_eq!(ledger.in_use(), 4);
    assert_eq!((ledger.current(n1), ledger.current(n2)), (0, 1));
    drop(p);
    assert_eq!(ledger.in_use(), 0);
}

#[test]
fn a_ledger_built_after_another_counts_its_calls_in_flight() {
    let mut b = LedgerBuilder::new(Defaults::default());
    let n = b.user_number("+14255550100").unwrap();
    let g = b.gateway("sbc1", Some(3), None).unwrap();
    let old = Arc::new(b.build());
    let in_flight = try_acquire_owned(&old, &[n, g]).unwrap();

    // A reload adds a gateway before the others: every id moves.
    let mut b = LedgerBuilder::new(Defaults::default());
    let g0 = b.gateway("sbc0", Some(1), None).unwrap();
    let g2 = b.gateway("sbc1", Some(3), None).unwrap();
    let n2 = b.user_number("+14255550100").unwrap();
    let new = Arc::new(b.build_after(&old));
    assert_ne!((n2, g2), (n, g));
    assert_eq!((new.current(n2), new.held(n2), new.held(g2), new.held(g0)), (0, 1, 1, 0));
    // The number's limit is 2: one call on the old ledger, so one more here; the cells count
    // the old call too.
    let cells = new.cells();
    assert!(!cells.at_limit(&new, n2));
    let p = new.try_acquire(&[n2, g2]).unwrap();
    assert!(cells.at_limit(&new, n2));
    let refused = new.try_acquire(&[n2]).unwrap_err();
    assert_eq!((refused.key, new.rejected(n2)), (n2, 1));
    // The old call ends: the number has room again.
    drop(in_flight);
    assert_eq!(new.held(n2), 1);
    assert!(!cells.at_limit(&new, n2));
    let q = new.try_acquire(&[n2]).unwrap();
    drop((p, q));
    assert_eq!((new.in_use(), old.in_use()), (0, 0));

    // Nothing in flight: no link to the old ledger at all.
    let mut b = LedgerBuilder::new(Defaults::default());
    let n3 = b.user_number("+14255550100").unwrap();
    let newer = b.build_after(&new);
    assert_eq!(newer.held(n3), 0);
    let _two = (newer.try_acquire(&[n3]).unwrap(), newer.try_acquire(&[n3]).unwrap());
}

#[test]
fn enforced_cap_refuses_and_rolls_back_the_other_keys() {
    // Spec T70: sbc1 with enforced_max_sessions 1, in use: the next call is refused by sbc1.
    let mut b = LedgerBuilder::new(Defaults::default());
    let caller = b.user_number("+14255550102").unwrap();
    let tenant = b.tenant("contoso", None).unwrap();
    let sbc1 = b.gateway("sbc1.contoso.com", Some(1), None).unwrap();
    let ledger = b.build();
    let first = ledger.try_acquire(&[caller, tenant, sbc1]).unwrap();
    let refused = ledger.try_acquire(&[caller, tenant, sbc1]).unwrap_err();
    assert_eq!(refused.key, sbc1);
    assert_eq!(
        refused.to_string(),
        format!("gateway key {} is at its limit of 1 concurrent calls", sbc1.as_u32())
    );
    assert_eq!(ledger.name(refused.key), "sbc1.contoso.com");
    assert_eq!((ledger.current(caller), ledger.current(tenant), ledger.current(sbc1)), (1, 1, 1));
    assert_eq!(
        (ledger.rejected(caller), ledger.rejected(tenant), ledger.rejected(sbc1)),
        (0, 0, 1)
    );
    first.release();
    assert_eq!(ledger.in_use(), 0);
}

#[test]
fn queue_overflows_when_waiting_equals_the_threshold() {
    // Spec T55: defaults, 50 waiting: the 51st caller overflows. Threshold 0: at once.
    let mut b = LedgerBuilder::new(Defaults::default());
    let q = b.queue("support-queue", None).unwrap();
    let zero = b.queue("instant", Some(0)).unwrap();
    let ledger = b.build();
    let waiting: Vec<_> = (0..50).map(|_| ledger.try_acquire(&[q]).unwrap()).collect();
    assert!(ledger.try_acquire(&[q]).is_err());
    assert!(ledger.try_acquire(&[zero]).is_err());
    drop(waiting);
}

#[test]
fn limits_outside_teams_ranges_are_refused() {
    let mut b = LedgerBuilder::new(Defaults::default());
    assert_eq!(
        b.queue("q", Some(201)).unwrap_err().to_string(),
        "q: overflow_threshold must be 0 to 200, got 201"
    );
    assert_eq!(
        b.gateway("g", None, Some(0)).unwrap_err().to_string(),
        "g: max_concurrent_sessions must be 1 to 100000, got 0"
    );
    b.user_number("+1").unwrap();
    assert_eq!(b.user_number("+1").unwrap_err(), BuildError::Duplicate("+1".into()));
}

#[test]
fn a_key_named_twice_counts_once() {
    let mut b = LedgerBuilder::new(Defaults::default());
    let n = b.user_number("+1").unwrap();
    let ledger = b.build();
    let p = ledger.try_acquire(&[n, n]).unwrap();
    assert_eq!(ledger.current(n), 1);
    drop(p);
    assert_eq!(ledger.current(n), 0);
}

#[test]
fn owned_permits_move_between_threads() {
    let mut b = LedgerBuilder::new(Defaults::default());
    let keys: Vec<KeyId> = (0..4).map(|i| b.trunk(&format!("t{i}"), Some(1000)).unwrap()).collect();
    let ledger = Arc::new(b.build());
    // Admitted here, hung up on other threads.
    let permits: Vec<_> = (0..1000).map(|_| try_acquire_owned(&ledger, &keys).unwrap()).collect();
    assert_eq!(ledger.current(keys[3]), 1000);
    let (tx, rx) = std::sync::mpsc::channel();
    let hangup = std::thread::spawn(move || rx.into_iter().for_each(drop));
    for p in permits {
        tx.send(p).unwrap();
    }
    drop(tx);
    hangup.join().unwrap();
    assert_eq!(ledger.in_use(), 0);
}

/// The same behaviour through both stores: the seam changes nothing for callers.
fn store_behaviour(store: &dyn Store, a: KeyId, b: KeyId) {
    let p1 = try_acquire(store, &[a, b]).unwrap();
    let p2 = try_acquire(store, &[a, b]).unwrap();
    let refused = try_acquire(store, &[b, a]).unwrap_err();
    assert_eq!(refused.key, b);
    drop(p1);
    let p3 = try_acquire(store, &[a]).unwrap();
    drop((p2, p3));
}

#[test]
fn both_stores_behave_alike() {
    let mut builder = LedgerBuilder::new(Defaults::default());
    let a = builder.trunk("a", Some(3)).unwrap();
    let b = builder.trunk("b", Some(2)).unwrap();
    let ledger = builder.build();
    let mutex = MutexStore::like(&ledger);
    store_behaviour(&ledger, a, b);
    store_behaviour(&mutex, a, b);
    assert_eq!((ledger.in_use(), mutex.current(a), mutex.current(b)), (0, 0, 0));
}

#[derive(Debug, Clone)]
enum Op {
    Acquire(Vec<usize>),
    Release(usize),
}

fn ops() -> impl Strategy<Value = (Vec<u32>, Vec<Op>)> {
    proptest::collection::vec(0u32..4, 1..6).prop_flat_map(|limits| {
        let n = limits.len();
        let op = prop_oneof![
            3 => proptest::collection::vec(0..n, 1..4).prop_map(Op::Acquire),
            2 => any::<usize>().prop_map(Op::Release),
        ];
        (Just(limits), proptest::collection::vec(op, 0..60))
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    })]

    /// Random acquisitions and releases against a sequential model: same answers, same
    /// counts, never above a limit, all zero at the end.
    #[test]
    fn ledger_matches_a_sequential_model((limits, ops) in ops()) {
        let mut b = LedgerBuilder::new(Defaults::default());
        let keys: Vec<KeyId> = limits.iter().enumerate()
            .map(|(i, &l)| b.key(&format!("k{i}"), LimitClass::Trunk, Some(l), None).unwrap())
            .collect();
        let ledger = b.build();
        let mut model = vec![0u32; keys.len()];
        let mut rejected = vec![0u64; keys.len()];
        let mut held = Vec::new();
        for op in ops {
            match op {
                Op::Acquire(idx) => {
                    let ks: Vec<KeyId> = idx.iter().map(|&i| keys[i]).collect();
                    // A key named twice counts once; the first distinct key at its limit refuses.
                    let mut seen: Vec<usize> = Vec::new();
                    for &i in &idx {
                        if !seen.contains(&i) { seen.push(i); }
                    }
                    let refusing = seen.iter().copied().find(|&i| model[i] >= limits[i]);
                    match (ledger.try_acquire(&ks), refusing) {
                        (Ok(p), None) => {
                            for &i in &seen { model[i] += 1; }
                            held.push(p);
                        }
                        (Err(r), Some(i)) => {
                            prop_assert_eq!(r.key, keys[i]);
                            rejected[i] += 1;
                        }
                        (got, want) => prop_assert!(false, "ledger {:?}, model refuses {:?}", got.map(|_| ()), want),
                    }
                }
                Op::Release(k) if !held.is_empty() => {
                    let p = held.swap_remove(k % held.len());
                    let mut seen = Vec::new();
                    for &key in p.keys() {
                        if !seen.contains(&key) { seen.push(key); model[keys.iter().position(|&k| k == key).unwrap()] -= 1; }
                    }
                }
                Op::Release(_) => {}
            }
            for (i, &k) in keys.iter().enumerate() {
                prop_assert_eq!(ledger.current(k), model[i]);
                prop_assert!(ledger.current(k) <= limits[i]);
                prop_assert_eq!(ledger.rejected(k), rejected[i]);
            }
        }
        drop(held);
        prop_assert_eq!(ledger.in_use(), 0);
    }
}

#[test]
fn contention_never_exceeds_a_limit_and_ends_at_zero() {
    const THREADS: usize = 4;
    const ROUNDS: usize = 20_000;
    let mut b = LedgerBuilder::new(Defaults::default());
    let limits = [1u32, 2, 3, 5];
    let keys: Vec<KeyId> = limits
        .iter()
        .enumerate()
        .map(|(i, &l)| b.trunk(&format!("t{i}"), Some(l)).unwrap())
        .collect();
    let ledger = Arc::new(b.build());
    let over = Arc::new(AtomicBool::new(false));
    let (granted, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (ledger, keys, over) = (ledger.clone(), keys.clone(), over.clone());
            let (granted, refused) = (granted.clone(), refused.clone());
            std::thread::spawn(move || {
                let mut held = Vec::new();
                let mut x = t as u64 + 1;
                for _ in 0..ROUNDS {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let pick = [keys[(x % 4) as usize], keys[((x >> 8) % 4) as usize]];
                    match ledger.try_acquire(&pick) {
                        Ok(p) => {
                            granted.fetch_add(1, Ordering::Relaxed);
                            held.push(p);
                        }
                        Err(_) => {
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    for (k, &limit) in keys.iter().zip(&limits) {
                        if ledger.current(*k) > limit {
                            over.store(true, Ordering::Relaxed);
                        }
                    }
                    if (x >> 20) % 2 == 0 && !held.is_empty() {
                        drop(held.swap_remove((x >> 24) as usize % held.len()));
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert!(!over.load(Ordering::Relaxed), "a count went above its limit");
    assert_eq!(ledger.in_use(), 0);
    let total: u64 = keys.iter().map(|&k| ledger.rejected(k)).sum();
    assert_eq!(total, refused.load(Ordering::Relaxed));
    assert_eq!(
        granted.load(Ordering::Relaxed) + refused.load(Ordering::Relaxed),
        (THREADS * ROUNDS) as u64
    );
    assert!(
        granted.load(Ordering::Relaxed) > 1000 && refused.load(Ordering::Relaxed) > 1000,
        "no contention happened"
    );
    for (&k, &limit) in keys.iter().zip(&limits) {
        assert!(ledger.peak(k) <= limit);
    }
}

#[test]
fn snapshots_can_be_taken_while_calls_run() {
    let mut b = LedgerBuilder::new(Defaults::default());
    let k = b.service_number("+18005550199").unwrap();
    let ledger = Arc::new(b.build());
    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let (ledger, stop) = (ledger.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let p = ledger.try_acquire(&[k]);
                drop(p);
            }
        })
    };
    for _ in 0..1000 {
        let s = ledger.snapshot();
        assert!(s.keys[0].current <= 1 && s.keys[0].peak <= 1);
    }
    stop.store(true, Ordering::Relaxed);
    worker.join().unwrap();
    assert_eq!(ledger.snapshot().in_use(), 0);
    let _: &Ledger = &ledger;
}
