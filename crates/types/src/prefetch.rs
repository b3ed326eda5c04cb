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

/// [`prefetch`]es the cache lines that the `len` bytes from `p` on touch, at most
/// `max_lines` of them, from the line of `p`. Worked out from where in its line `p` is: a
/// count from the size alone would have to allow for one line more, and with thousands of
/// tenants a line asked for and not read takes a place among the lines in flight, which is
/// what bounds the rate (docs/performance.md, session 28).
#[inline(always)]
pub fn prefetch_span<T: ?Sized>(p: *const T, len: usize, max_lines: usize) {
    let p = p.cast::<u8>();
    let offset = p.addr() % 64;
    prefetch_lines(p.wrapping_sub(offset), lines_touched(offset, len).min(max_lines));
}

/// [`prefetch_span`] over the elements of `v`.
#[inline(always)]
pub fn prefetch_slice<T>(v: &[T], max_lines: usize) {
    prefetch_span(v.as_ptr(), std::mem::size_of_val(v), max_lines);
}

/// Where a run of cache lines is, kept to [`prefetch`] them later without first reading the
/// structure that owns them (which, cold, would be one more miss in the chain): an address
/// and a count of lines in one word. It is only ever prefetched, never read through, so it
/// cannot dangle in any way that matters and needs no lifetime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lines(u64);

impl Lines {
    /// The count goes in the top byte; user-space addresses on 64-bit targets fit below it.
    const SHIFT: u32 = 56;

    /// The lines `v` touches (see [`prefetch_span`]), at most `max_lines` and 255 from the
    /// first; none if `v` is empty or its address does not fit.
    pub fn of<T>(v: &[T], max_lines: usize) -> Lines {
        let addr = v.as_ptr().addr() as u64;
        if v.is_empty() || addr >> Self::SHIFT != 0 {
            return Lines(0);
        }
        let offset = addr % 64;
        let n = lines_touched(offset as usize, std::mem::size_of_val(v));
        Lines((addr - offset) | (n.min(max_lines).min(255) as u64) << Self::SHIFT)
    }

    /// How many lines [`Lines::prefetch`] asks for.
    pub fn len(self) -> usize {
        (self.0 >> Self::SHIFT) as usize
    }

    /// Are there no lines?
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// Asks for the lines.
    #[inline(always)]
    pub fn prefetch(self) {
        let addr = (self.0 & ((1 << Self::SHIFT) - 1)) as usize;
        prefetch_lines(std::ptr::without_provenance::<u8>(addr), self.len());
    }
}

/// How many lines `len` bytes starting `offset` bytes into a line (below 64) touch.
#[inline(always)]
fn lines_touched(offset: usize, len: usize) -> usize {
    if len == 0 { 0 } else { (offset + len - 1) / 64 + 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every offset into a line and every length up to four lines: exactly the lines from
    /// the first byte's to the last byte's.
    #[test]
    fn the_lines_asked_for_are_the_lines_touched() {
        for offset in 0..64 {
            assert_eq!(lines_touched(offset, 0), 0);
            for len in 1..256 {
                let last_line = (offset + len - 1) / 64;
                assert_eq!(lines_touched(offset, len), last_line + 1, "offset {offset}, {len}");
            }
        }
        assert_eq!(lines_touched(60, 8), 2);
        assert_eq!(lines_touched(56, 8), 1);
    }

    #[test]
    fn prefetching_anything_changes_nothing() {
        let v = vec![1u64; 100];
        prefetch_slice(&v[3..], 8);
        prefetch_slice(&v[..0], 8);
        assert_eq!(v.iter().sum::<u64>(), 100);
        prefetch_span(std::ptr::null::<u8>(), 1 << 20, 4);
        let lines = Lines::of(&v, 8);
        drop(v);
        // The owner is gone: asking for its lines is still harmless.
        lines.prefetch();
        Lines::default().prefetch();
    }

    #[test]
    fn lines_keep_their_count_and_cap_it() {
        #[repr(align(64))]
        struct Aligned([u8; 1024]);
        let v = Aligned([0; 1024]);
        let v = &v.0;
        assert_eq!(Lines::of(&v[..1000], 64).len(), 16);
        assert_eq!(Lines::of(&v[..1024], 64).len(), 16);
        assert_eq!(Lines::of(&v[1..1000], 64).len(), 16);
        assert_eq!(Lines::of(&v[63..65], 64).len(), 2);
        assert_eq!(Lines::of(&v[64..65], 64).len(), 1);
        assert_eq!(Lines::of(&v[..1000], 4).len(), 4);
        assert_eq!(Lines::of(&v[..1], 4).len(), 1);
        assert!(Lines::of(&v[..0], 4).is_empty());
        assert_eq!(Lines::of(&[0u64; 10_000], 1000).len(), 255);
        // The address kept is the first line's.
        assert_eq!(Lines::of(&v[70..80], 4).0 & 63, 0);
    }
}
