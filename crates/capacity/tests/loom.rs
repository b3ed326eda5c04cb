//! Model checks of acquire, release and rollback with loom, which runs every interleaving of
//! the atomics (bounded by LOOM_MAX_PREEMPTIONS). Run with:
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p tpr-capacity --test loom --release --target-dir target/loom
//! ```

#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use tpr_capacity::{Defaults, KeyId, Ledger, LedgerBuilder, try_acquire_owned};

fn ledger(limits: &[u32]) -> (Arc<Ledger>, Vec<KeyId>) {
    let mut b = LedgerBuilder::new(Defaults::default());
    let keys = limits
        .iter()
        .enumerate()
        .map(|(i, &l)| b.trunk(&format!("k{i}"), Some(l)).unwrap())
        .collect();
    (Arc::new(b.build()), keys)
}

#[test]
fn two_callers_one_slot() {
    loom::model(|| {
        let (ledger, keys) = ledger(&[1]);
        let k = keys[0];
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let ledger = ledger.clone();
                thread::spawn(move || {
                    try_acquire_owned(&ledger, &[k]).ok().map(|p| (ledger.current(k), p))
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let granted: Vec<_> = results.iter().flatten().collect();
        // Both may succeed only one after the other; never both at once.
        for (seen, _) in &granted {
            assert_eq!(*seen, 1);
        }
        drop(results);
        assert_eq!(ledger.in_use(), 0);
    });
}

#[test]
fn crossed_multi_key_acquisitions_roll_back() {
    loom::model(|| {
        let (ledger, keys) = ledger(&[1, 1]);
        let (a, b) = (keys[0], keys[1]);
        let t1 = {
            let ledger = ledger.clone();
            thread::spawn(move || {
                let p = try_acquire_owned(&ledger, &[a, b]).ok();
                let both = p.is_some();
                drop(p);
                both
            })
        };
        let t2 = {
            let ledger = ledger.clone();
            thread::spawn(move || {
                let p = try_acquire_owned(&ledger, &[b, a]).ok();
                if p.is_some() {
                    assert!(ledger.current(a) <= 1 && ledger.current(b) <= 1);
                }
                p.is_some()
            })
        };
        let _ = (t1.join().unwrap(), t2.join().unwrap());
        // Whatever interleaving: nothing held, nothing negative (it would wrap to u32::MAX).
        assert_eq!((ledger.current(a), ledger.current(b)), (0, 0));
    });
}

#[test]
fn release_on_another_thread() {
    loom::model(|| {
        let (ledger, keys) = ledger(&[2]);
        let k = keys[0];
        let p = try_acquire_owned(&ledger, &[k]).unwrap();
        let other = {
            let ledger = ledger.clone();
            thread::spawn(move || try_acquire_owned(&ledger, &[k]).map(drop).is_ok())
        };
        let mover = thread::spawn(move || drop(p));
        assert!(other.join().unwrap(), "limit 2 with one held always admits one more");
        mover.join().unwrap();
        assert_eq!(ledger.in_use(), 0);
        assert!(ledger.peak(k) <= 2);
    });
}
