//! A hint to the processor to start loading a cache line that will be read soon.
//!
//! A routing decision for one of thousands of tenants finds that tenant's records in no cache,
//! and reads them in a chain (the caller's party names its policies, which name their
//! tables). Asking for the lines the chain will reach as soon as their addresses are known
//! lets their misses overlap with each other and with the work in between, instead of
//! queueing one after another.

/// Starts loading the cache line holding `p` into every cache level. Never faults and changes
/// nothing the program can observe, whatever `p` is; a no-op off x86-64.
#[inline(always)]
pub fn prefetch<T: ?Sized>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: `_mm_prefetch` (SSE, present on every x86-64) is a hint: it does not
        // dereference `p` architecturally, cannot fault, and has no visible effect.
        #[allow(unsafe_code)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// [`prefetch`]es the `lines` cache lines from `p` on.
#[inline(always)]
pub fn prefetch_lines<T: ?Sized>(p: *const T, lines: usize) {
    let p = p.cast::<u8>();
    for k in 0..lines {
        prefetch(p.wrapping_add(64 * k));
    }
}
