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

/// [`prefetch`]es the cache lines that the `len` bytes from `p` on may touch, at most
/// `max_lines` of them. Counted from `p` without looking at where in its line `p` is (one
/// line more than the size says, in case the bytes straddle one more), which costs less than
/// working it out and at worst asks for one line too many.
#[inline(always)]
pub fn prefetch_span<T: ?Sized>(p: *const T, len: usize, max_lines: usize) {
    prefetch_lines(p, lines_from(len).min(max_lines));
}

/// [`prefetch_span`] over the elements of `v`.
#[inline(always)]
pub fn prefetch_slice<T>(v: &[T], max_lines: usize) {
    prefetch_span(v.as_ptr(), std::mem::size_of_val(v), max_lines);
}

/// How many lines, stepping 64 bytes from the first byte, reach every line `len` bytes touch
/// wherever they start.
#[inline(always)]
fn lines_from(len: usize) -> usize {
    len.div_ceil(64) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every offset into a line and every length up to four lines: the lines stepped to from
    /// the first byte include the line of the last byte.
    #[test]
    fn the_lines_asked_for_reach_the_last_byte() {
        for offset in 0..64 {
            for len in 1..256 {
                let last_line = (offset + len - 1) / 64;
                assert!(lines_from(len) > last_line, "offset {offset}, {len} bytes");
                // And never more than one line beyond what the bytes touch.
                assert!(lines_from(len) <= last_line + 2, "offset {offset}, {len} bytes");
            }
        }
    }

    #[test]
    fn prefetching_anything_changes_nothing() {
        let v = [1u64; 100];
        prefetch_slice(&v[3..], 8);
        prefetch_slice(&v[..0], 8);
        prefetch_span(std::ptr::null::<u8>(), 1 << 20, 4);
        assert_eq!(v.iter().sum::<u64>(), 100);
    }
}
