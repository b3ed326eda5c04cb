//! The wall clock that times routing decisions in `tpr sim`, `tpr replay` and `tpr bench`.
//!
//! A simulation times every decision, two clock reads each, and a decision costs a few hundred
//! nanoseconds: `Instant::now` (`clock_gettime` through the vDSO) costs about 30 ns a read on
//! the project's VMs, the CPU's time-stamp counter about 11 ns. `quanta` reads the counter when
//! the CPU says it is invariant and falls back to the OS clock when it is not, and scales ticks
//! to nanoseconds with a calibration against the OS clock made once (under a millisecond here).

use std::sync::OnceLock;

use quanta::Clock;

/// The clock and the raw reading that is time zero.
fn clock() -> &'static (Clock, u64) {
    static CLOCK: OnceLock<(Clock, u64)> = OnceLock::new();
    CLOCK.get_or_init(|| {
        let clock = Clock::new();
        let zero = clock.raw();
        (clock, zero)
    })
}

/// Starts the clock (calibrates it), so that the first timed call does not pay for that.
pub fn start() {
    clock();
}

/// Nanoseconds since the clock started.
pub fn now_ns() -> u64 {
    let (clock, zero) = clock();
    clock.delta_as_nanos(*zero, clock.raw())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn follows_the_os_clock() {
        start();
        let (a, t) = (now_ns(), Instant::now());
        std::thread::sleep(Duration::from_millis(50));
        let (b, os) = (now_ns(), t.elapsed().as_nanos() as u64);
        // The two clocks are read back to back on each side of the sleep, so they agree to
        // well under 10 ms however long a loaded machine kept the thread asleep; ticks taken
        // for nanoseconds (or the reverse) would be off by a factor of the clock rate.
        let ours = b.saturating_sub(a);
        assert!(ours.abs_diff(os) < 10_000_000, "{ours} ns by quanta, {os} ns by the OS");
    }
}
