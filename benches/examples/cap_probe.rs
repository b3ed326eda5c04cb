//! Timing probe for the capacity hot path: the bare atomic pair against the permit API.
use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;
use tpr_capacity::{Defaults, LedgerBuilder};

fn time(label: &str, mut f: impl FnMut()) {
    let n = 20_000_000u32;
    for _ in 0..n / 10 {
        f();
    }
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    println!("{label}: {:.1} ns", t.elapsed().as_nanos() as f64 / f64::from(n));
}

fn main() {
    let a = AtomicU32::new(0);
    time("cas + fetch_sub", || {
        let c = a.load(Ordering::Relaxed);
        let _ = black_box(a.compare_exchange_weak(c, c + 1, Ordering::AcqRel, Ordering::Relaxed));
        a.fetch_sub(1, Ordering::AcqRel);
    });
    let mut b = LedgerBuilder::new(Defaults::default());
    let k = b.trunk("t", Some(10)).expect("key");
    let ledger = b.build();
    time("ledger permit, direct", || drop(black_box(ledger.try_acquire(black_box(&[k])))));
}
