//! Many .NET patterns searched at once: which of them match a string, in one scan.
//!
//! Voice routes are the case in point. A routing decision needs every route of a policy's
//! usages whose pattern matches the number (then the first usage that has any); blocked,
//! exempt and unassigned-number patterns ask the same question. A [`PatternSet`] compiles all
//! the patterns into one dense DFA with `MatchKind::All`, searched unanchored (Teams searches
//! route patterns), so one forward scan reports every pattern that matches. Each pattern `P`
//! enters that DFA as `P(?s:.)*`: it matches somewhere in the string exactly when `P(?s:.)*`
//! matches up to its end, so the scan is a plain walk over the bytes (stopping early at the dead
//! state) and one look at the state it ends in, with no match handling on the way. That
//! automaton stays small when patterns start with `^` or are as simple as `\d+`, but several
//! unanchored patterns with bounded repeats can make it explode (every match becomes a flag it
//! carries); it is built within a small budget ([`WHOLE_BUDGET`]), and a set that does not fit
//! is searched for overlapping matches of the patterns as given instead. Patterns with
//! lookaround or backreferences enter the automaton as a regular superset of themselves and a
//! backtracker with a step budget confirms them, as in a dial plan. A set whose DFA would pass
//! the size limit falls back to a lazy DFA (regex-automata's meta engine), which needs a
//! per-thread [`SetCache`].
//!
//! ```
//! use tpr_dialplan::{Limits, PatternSet};
//!
//! let set = PatternSet::new(&[r"^\+1(425|206)(\d{7})$", r"^\+1(\d{10})$", r"\d+"], &Limits::default())
//!     .unwrap();
//! let mut cache = set.create_cache();
//! let hits: Vec<usize> = set.matches(&mut cache, "+14255550100").collect();
//! assert_eq!(hits, [0, 1, 2]);
//! assert_eq!(set.matches(&mut cache, "+442071234567").collect::<Vec<_>>(), [2]);
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::meta::{self, Regex};
use regex_automata::nfa::thompson;
use regex_automata::util::primitives::NonMaxUsize;
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, MatchKind};
use regex_syntax::hir::Hir;

use crate::error::CompileErrorKind;
use crate::pattern::{Checked, Pattern, build_backtracking, check, to_the_end};
use crate::rule::Limits;
use crate::template::Spans;
use tpr_types::Lines;

// One per set and few sets per tenant: the size does not matter, a Box would add a pointer
// chase to every scan.
#[allow(clippy::large_enum_variant)]
enum Scanner {
    /// A `Whole` DFA of at most 256 states, in [`Narrow`] rows (the usual case).
    Narrow(Narrow),
    /// A `Whole` DFA small enough for [`Compact`] rows.
    Compact(Compact),
    /// The DFA of every `P(?s:.)*`, its start state (always the same: scans start at offset 0
    /// of the string) and the patterns of each of its match states.
    Whole(dense::DFA<Vec<u32>>, StateID, MatchLists),
    /// The patterns as given, searched for overlapping matches (when the `Whole` automaton
    /// would pass the size limit).
    Dense(dense::DFA<Vec<u32>>),
    Lazy(Regex),
    Empty,
}

/// The patterns each match state of a `Whole` DFA reports, ascending, so that a scan ends
/// with a slice rather than a set to fill and walk.
struct MatchLists {
    /// The lowest match state's id.
    min: usize,
    stride2: usize,
    /// `ids[offsets[k]..offsets[k + 1]]` for the match state `min + (k << stride2)`.
    offsets: Box<[u32]>,
    ids: Box<[u32]>,
}

impl MatchLists {
    /// Walks every state reachable from `start` (on every byte class and at the end of
    /// input) and records the patterns of the match states among them. Match states are
    /// numbered contiguously in a dense DFA.
    fn new(dfa: &dense::DFA<Vec<u32>>, start: StateID) -> MatchLists {
        let stride2 = dfa.stride2();
        let reps: Vec<u8> =
            dfa.byte_classes().representatives(..).filter_map(|u| u.as_u8()).collect();
        let mut seen = std::collections::HashSet::from([start]);
        let mut todo = vec![start];
        let mut found = Vec::new();
        while let Some(sid) = todo.pop() {
            if dfa.is_match_state(sid) {
                found.push(sid);
            }
            if dfa.is_dead_state(sid) {
                continue;
            }
            let next = reps.iter().map(|&b| dfa.next_state(sid, b));
            for n in next.chain([dfa.next_eoi_state(sid)]) {
                if seen.insert(n) {
                    todo.push(n);
                }
            }
        }
        let Some(min) = found.iter().map(|s| s.as_usize()).min() else {
            return MatchLists { min: 0, stride2, offsets: Box::new([0]), ids: Box::new([]) };
        };
        let max = found.iter().map(|s| s.as_usize()).max().unwrap_or(min);
        let mut lists = vec![Vec::new(); ((max - min) >> stride2) + 1];
        for sid in found {
            let list = &mut lists[(sid.as_usize() - min) >> stride2];
            list.extend((0..dfa.match_len(sid)).map(|i| dfa.match_pattern(sid, i).as_u32()));
            list.sort_unstable();
            list.dedup();
        }
        let mut offsets = Vec::with_capacity(lists.len() + 1);
        offsets.push(0u32);
        let mut ids = Vec::new();
        for l in lists {
            ids.extend(l);
            offsets.push(ids.len() as u32);
        }
        MatchLists { min, stride2, offsets: offsets.into(), ids: ids.into() }
    }

    /// The patterns of match state `sid`, which the walk in `new` reached.
    fn of(&self, sid: StateID) -> &[u32] {
        let k = (sid.as_usize() - self.min) >> self.stride2;
        &self.ids[self.offsets[k] as usize..self.offsets[k + 1] as usize]
    }

    fn memory_usage(&self) -> usize {
        4 * (self.offsets.len() + self.ids.len())
    }
}

/// A `Whole` DFA renumbered into 16-bit rows, in one allocation with its match lists and byte
/// classes, for sets of up to a few thousand states (a tenant's route table has a few dozen).
/// The dense DFA spends a 64-byte row on each state (32-bit transitions, a power-of-two
/// stride) and keeps its byte classes and match lists elsewhere; here a row is a word per byte
/// class plus one, the rows come in the order a depth-first walk from the start reaches them
/// (a state's next row is the successor most bytes lead to, so runs of digits take
/// consecutive rows), and everything a scan reads is in a few consecutive lines, which a
/// caller can ask for before the scan ([`PatternSet::lines`]).
pub(crate) struct Compact {
    /// The match lists of more than one pattern as 32-bit words: a word 0, then each list as
    /// its length and its patterns, ascending. Then, as 16-bit words from 16-bit index
    /// `base` (up to [`Compact::SLACK`] words past the lists): row `k` at `k * width`, the
    /// row of the next state for each byte class (a word index, so a step is one load), then
    /// the match list at the end of the input as an end word (0: none; see [`END_SINGLE`]):
    /// so that the end of a walk reads the list's own line and no table of bounds first, or,
    /// for a list of one pattern (a dial plan's usual), no other line at all; row 0 is the
    /// dead state (all zeros), row 1 the start. The byte classes follow the last row at
    /// `classes`, a word per byte, those from space to '?' in one line.
    pub(crate) storage: Box<[u32]>,
    // 32 bits each (the words are at most a few hundred thousand), so that a plan's fields
    // a walk reads first fit one line (see `CompiledPlan`).
    /// The lists' length in words.
    lists: u32,
    base: u32,
    classes: u32,
    width: u32,
}

impl Compact {
    /// The most 16-bit words: row indexes must fit one.
    const MAX_WORDS: usize = 1 << 16;

    /// `dfa` renumbered, or `None` if its reachable states take more than [`Self::MAX_WORDS`].
    fn new(dfa: &dense::DFA<Vec<u32>>, start: StateID) -> Option<Compact> {
        let byte_classes = dfa.byte_classes();
        // One byte of each class, in class order.
        let mut reps: Vec<u8> = Vec::new();
        for b in 0..=255u8 {
            if usize::from(byte_classes.get(b)) == reps.len() {
                reps.push(b);
            }
        }
        let width = reps.len() + 1;
        // How many bytes each class has: a state's next row is the one most of its bytes
        // lead to.
        let mut class_bytes = vec![0usize; reps.len()];
        for b in 0..=255u8 {
            class_bytes[usize::from(byte_classes.get(b))] += 1;
        }
        // Rows in depth-first order from the start, a state's successors in order of how
        // many bytes lead to them (the first class breaks ties), so that a run such as
        // `\d{7}` or a prefix's digits takes consecutive rows and a walk along it reads a
        // new line every few bytes rather than at every byte. A state's row by its index (its
        // id over the stride): the transition table takes more than a word per state, so the
        // memory used bounds the number of states (0: no row yet).
        let stride2 = dfa.stride2();
        let mut row = vec![0u32; dfa.memory_usage() / (4 << stride2) + 1];
        let index = |sid: StateID| sid.as_usize() >> stride2;
        let mut order = Vec::new();
        let mut stack = vec![start];
        let mut successors: Vec<(StateID, usize, usize)> = Vec::with_capacity(reps.len());
        while let Some(sid) = stack.pop() {
            let r = row.get_mut(index(sid))?;
            if *r != 0 {
                continue;
            }
            *r = (order.len() + 1) as u32;
            order.push(sid);
            if (order.len() + 1) * width + 256 > Self::MAX_WORDS {
                return None;
            }
            // (state, bytes leading to it, first class), for each live successor.
            successors.clear();
            for (c, &b) in reps.iter().enumerate() {
                let n = dfa.next_state(sid, b);
                if dfa.is_dead_state(n) || *row.get(index(n))? != 0 {
                    continue;
                }
                match successors.iter_mut().find(|(s, _, _)| *s == n) {
                    Some(e) => e.1 += class_bytes[c],
                    None => successors.push((n, class_bytes[c], c)),
                }
            }
            successors.sort_by_key(|&(_, bytes, first)| (std::cmp::Reverse(bytes), first));
            // The stack pops the most-bytes successor first.
            stack.extend(successors.iter().rev().map(|&(s, _, _)| s));
        }
        let classes = (order.len() + 1) * width;
        let mut words = vec![0u16; classes + 256];
        let mut lists: HashMap<Vec<u32>, u16> = HashMap::new();
        let mut storage = vec![0u32];
        for (i, &sid) in order.iter().enumerate() {
            let at = (i + 1) * width;
            for (c, &b) in reps.iter().enumerate() {
                // The dead state is row 0; every index fits a word (checked above).
                let next = dfa.next_state(sid, b);
                let r = if dfa.is_dead_state(next) { 0 } else { row[index(next)] as usize };
                words[at + c] = (r * width) as u16;
            }
            let eoi = dfa.next_eoi_state(sid);
            if dfa.is_match_state(eoi) {
                let mut list: Vec<u32> =
                    (0..dfa.match_len(eoi)).map(|m| dfa.match_pattern(eoi, m).as_u32()).collect();
                list.sort_unstable();
                list.dedup();
                let from = match lists.get(&list) {
                    Some(&from) => from,
                    None if list.len() == 1 && (list[0] as usize) < SINGLES.len() => {
                        END_SINGLE | list[0] as u16
                    }
                    None => {
                        // Where the list starts must fit the word's other 15 bits.
                        let from = u16::try_from(storage.len()).ok().filter(|&f| f < END_SINGLE)?;
                        storage.push(list.len() as u32);
                        storage.extend_from_slice(&list);
                        lists.insert(list, from);
                        from
                    }
                };
                words[at + width - 1] = from;
            }
        }
        for b in 0..=255u8 {
            words[classes + usize::from(b)] = u16::from(byte_classes.get(b));
        }
        // The rows start up to 31 words past the lists: where the classes of the bytes a
        // dialed or E.164 number has (space to '?': '+', separators, digits) fill one line
        // of their own, wherever the allocation starts.
        let lists_len = storage.len();
        let mut all = vec![0u32; lists_len + Compact::SLACK / 2 + words.len().div_ceil(2)];
        all[..lists_len].copy_from_slice(&storage);
        let mut all = all.into_boxed_slice();
        let classes_at = |base: usize| all.as_ptr().addr() + 2 * (base + classes + 0x20);
        let base = 2 * lists_len + (64 - classes_at(2 * lists_len) % 64) % 64 / 2;
        let halves = bytemuck::cast_slice_mut::<u32, u16>(&mut all);
        halves.get_mut(base..base + words.len())?.copy_from_slice(&words);
        Some(Compact {
            storage: all,
            lists: u32::try_from(lists_len).ok()?,
            base: u32::try_from(base).ok()?,
            classes: u32::try_from(classes).ok()?,
            width: u32::try_from(width).ok()?,
        })
    }

    /// The 16-bit words the rows may start past the lists (see [`Compact::new`]).
    const SLACK: usize = 32;

    /// Where the rows start, as a 16-bit word index into `storage`.
    #[inline]
    fn base(&self) -> usize {
        self.base as usize
    }

    /// Where the byte classes start, as a word index into [`Compact::words`].
    #[inline]
    pub(crate) fn classes(&self) -> usize {
        self.classes as usize
    }

    /// Words a row takes: one per byte class, one for the match list.
    #[inline]
    pub(crate) fn width(&self) -> usize {
        self.width as usize
    }

    /// The match lists (see `storage`).
    #[inline]
    pub(crate) fn lists(&self) -> &[u32] {
        &self.storage[..self.lists as usize]
    }

    /// The 16-bit words: rows, then byte classes.
    #[inline]
    pub(crate) fn words(&self) -> &[u16] {
        let halves = bytemuck::cast_slice::<u32, u16>(&self.storage);
        halves.get(self.base()..self.base() + self.classes() + 256).unwrap_or_default()
    }

    /// The automaton of every `P(?s:.)*` of `hirs` in compact rows, or `None` if it passes
    /// `limit` bytes or 16-bit rows.
    pub(crate) fn of_patterns(hirs: &[Hir], limit: usize) -> Option<Compact> {
        let whole: Vec<Hir> = hirs.iter().map(to_the_end).collect();
        let dfa = dense_dfa(&whole, limit)?;
        let start =
            dfa.start_state(&start::Config::new().anchored(Anchored::No).look_behind(None)).ok()?;
        Compact::new(&dfa, start)
    }

    /// The patterns that match somewhere in `s`, ascending.
    #[inline]
    pub(crate) fn matching(&self, s: &[u8]) -> &[u32] {
        let (rows, classes) = self.words().split_at(self.classes());
        // Indexed by a byte, so without bounds checks.
        let Some(classes) = classes.first_chunk::<256>() else { return &[] };
        let mut at = self.width();
        for &b in s {
            at = usize::from(rows[at + usize::from(classes[usize::from(b)])]);
            if at == 0 {
                return &[];
            }
        }
        self.list(usize::from(rows[at + self.width() - 1]))
    }

    /// The match list of the end word `end` (0: none).
    #[inline]
    pub(crate) fn list(&self, end: usize) -> &[u32] {
        list_at(&self.storage, end)
    }

    /// The lines a scan of a dialed or E.164 number reads: the lists, the rows and the byte
    /// classes up to '9'.
    pub(crate) fn lines(&self) -> Lines {
        let end = (self.base() + self.classes() + usize::from(b'9')) / 2 + 1;
        Lines::of(&self.storage[..end.min(self.storage.len())], Self::MAX_LINES)
    }

    /// The most lines [`Compact::lines`] names: more would take the core's capacity for
    /// outstanding misses from the work it overlaps with.
    const MAX_LINES: usize = 16;

    pub(crate) fn memory_usage(&self) -> usize {
        4 * self.storage.len()
    }
}

/// A row's end word with this bit set names the one pattern of its match list (in its other
/// bits, below [`SINGLES`]' length); without it, where the list's length word is in the
/// lists (0: no list). See [`Compact::storage`].
pub(crate) const END_SINGLE: u16 = 0x8000;

/// Every pattern number a row's end word can name on its own, each at its own index: the
/// one-pattern match lists of every set. Their first lines are in every core's caches, where
/// a set's own list would be a line of its own to read with thousands of tenants.
static SINGLES: [u32; 1024] = {
    let mut all = [0; 1024];
    let mut i = 0;
    while i < all.len() {
        all[i] = i as u32;
        i += 1;
    }
    all
};

/// The one pattern an end word names, if it names one (see [`END_SINGLE`]).
#[inline]
pub(crate) fn single(end: usize) -> Option<usize> {
    (end & usize::from(END_SINGLE) != 0).then_some(end & usize::from(END_SINGLE - 1))
}

/// The match list of a row's end word `end` (see [`END_SINGLE`]) over `words` (a
/// [`Compact`]'s storage, or its lists).
#[inline]
pub(crate) fn list_at(words: &[u32], end: usize) -> &[u32] {
    if let Some(i) = single(end) {
        return SINGLES.get(i..i + 1).unwrap_or(&[]);
    }
    match words.get(end) {
        Some(&len) if end > 0 => words.get(end + 1..end + 1 + len as usize).unwrap_or(&[]),
        _ => &[],
    }
}

/// [`Compact`] rows of a set of at most 256 states, a byte for each transition: the next
/// state's number rather than its word, which a scan shifts by the stride (a power of two,
/// so that each byte costs the scan one more cycle, not a multiply's three). A row takes a
/// byte per class and two for its end-of-input list, rounded up to a power of two: about
/// half a compact row for sets with many classes, so a scan reads fewer lines, and a caller
/// asks for fewer ahead of it. Microsoft's example routes
/// (`^\+1(425|206)(\d{7})$`, `^\+1(\d{10})$`, `\d+`, `^911$`) take 34 states of 14 words:
/// 952 bytes of compact rows, 544 here.
///
/// A clone shares the rows (they are behind an `Arc`): a caller that scans a set often can
/// keep one beside its own records ([`PatternSet::narrow`]) and scan without reading the
/// set's first line, which, with thousands of tenants taking turns, is one miss a scan.
#[derive(Clone)]
pub struct Narrow {
    /// The match lists as 32-bit words, as in [`Compact`], and zeros up to a multiple of 16
    /// bytes; then, as bytes from byte `base`:
    /// row `k` at `k << shift`, the number of the next state for each byte class, then the
    /// compact row's end word in the row's last two bytes (little-endian; see [`END_SINGLE`]);
    /// row 0 is the dead state, row 1 the start. The byte classes
    /// follow the last row at `classes`, a byte per byte.
    storage: Arc<[u32]>,
    // The same fields and sizes as `Compact`'s: a set's first line holds them (see
    // `PatternSet`).
    base: u32,
    classes: u32,
    /// A row takes `1 << shift` bytes.
    shift: u32,
}

impl fmt::Debug for Narrow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Narrow").field("bytes", &(4 * self.storage.len())).finish_non_exhaustive()
    }
}

impl Narrow {
    /// The most states: a state's number must fit a byte.
    const MAX_ROWS: usize = 256;

    /// `c`'s rows with a byte for each transition, or `None` if it has more than
    /// [`Self::MAX_ROWS`] states (counting the dead one).
    fn of(c: &Compact) -> Option<Narrow> {
        let width = c.width();
        let (rows, classes) = c.words().split_at(c.classes());
        if rows.len() / width > Self::MAX_ROWS {
            return None;
        }
        let stride = (width + 1).next_power_of_two();
        let mut bytes = Vec::with_capacity(rows.len() / width * stride + 256);
        for row in rows.chunks_exact(width) {
            let (next, end) = row.split_at(width - 1);
            // Compact rows hold the next row's first word, a multiple of the width.
            for &w in next {
                bytes.push(u8::try_from(usize::from(w) / width).ok()?);
            }
            bytes.resize(bytes.len() + stride - width - 1, 0);
            bytes.extend_from_slice(&end.first()?.to_le_bytes());
        }
        let classes_at = bytes.len();
        for &class in classes.get(..256)? {
            bytes.push(u8::try_from(class).ok()?);
        }
        // The rows start a multiple of 16 bytes into the storage (a row of 16 bytes or fewer
        // then never straddles two lines, the allocation being aligned to 16 bytes at
        // least), up to 48 bytes past the lists: where the classes of the bytes an E.164
        // number has (space to '?': '+' and the digits) fill one line, wherever the
        // allocation starts.
        let lists = c.lists().len().next_multiple_of(4);
        let mut storage: Arc<[u32]> =
            vec![0u32; lists + Narrow::SLACK + bytes.len().div_ceil(4)].into();
        let words = Arc::get_mut(&mut storage)?;
        words[..c.lists().len()].copy_from_slice(c.lists());
        let classes_line = words.as_ptr().addr() + 4 * lists + classes_at + 0x20;
        let base = 4 * lists + (64 - classes_line % 64) % 64 / 16 * 16;
        bytemuck::cast_slice_mut::<u32, u8>(words)
            .get_mut(base..base + bytes.len())?
            .copy_from_slice(&bytes);
        Some(Narrow {
            storage,
            base: u32::try_from(base).ok()?,
            classes: u32::try_from(classes_at).ok()?,
            shift: stride.trailing_zeros(),
        })
    }

    /// The 32-bit words the rows may start past the lists: 48 bytes (see [`Narrow::of`]).
    const SLACK: usize = 12;

    /// The rows, then the byte classes.
    #[inline]
    fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u32, u8>(&self.storage)[self.base as usize..]
    }

    /// The patterns that match somewhere in `s`, ascending.
    #[inline]
    pub fn matching(&self, s: &[u8]) -> &[u32] {
        let (rows, classes) = self.bytes().split_at(self.classes as usize);
        let Some(classes) = classes.first_chunk::<256>() else { return &[] };
        let shift = self.shift;
        let stride = 1 << shift;
        let mut at = stride;
        for &b in s {
            let next = rows.get(at + usize::from(classes[usize::from(b)])).copied().unwrap_or(0);
            if next == 0 {
                return &[];
            }
            at = usize::from(next) << shift;
        }
        let from = match rows.get(at + stride - 2..at + stride) {
            Some(&[low, high]) => u16::from_le_bytes([low, high]),
            _ => 0,
        };
        list_at(&self.storage, usize::from(from))
    }

    /// Asks for the line of the byte classes of `+` and the digits (see
    /// [`PatternSet::prefetch_classes`]).
    #[inline]
    pub fn prefetch_classes(&self) {
        if let Some(b) = self.bytes().get(self.classes as usize + usize::from(b'0')) {
            tpr_types::prefetch(b);
        }
    }

    /// The lines to ask for ahead of a scan: the first [`Narrow::MAX_LINES`] of the lists and
    /// rows (the byte classes' line has [`Narrow::prefetch_classes`]).
    fn lines(&self) -> Lines {
        let end = (self.base as usize + self.classes as usize + usize::from(b'9')) / 4 + 1;
        Lines::of(&self.storage[..end.min(self.storage.len())], Narrow::MAX_LINES)
    }

    /// The most lines [`Narrow::lines`] names. A scan of a number reads four to six lines of
    /// rows wherever they are in the set, so the rest of a set's rows asked for is wasted, and
    /// over thousands of tenants a waste that counts: `tpr bench` is bound by the lines it
    /// has in flight (docs/performance.md, session 28). Microsoft's example routes take 11 or
    /// 12 lines up to the byte classes of the digits; asking for 6 ran 3,000 and 10,000
    /// distinct tenants 7 % and 16 % faster, though a number whose rows lie past them then
    /// waits for them.
    const MAX_LINES: usize = 6;

    fn memory_usage(&self) -> usize {
        4 * self.storage.len()
    }
}

/// A set of .NET patterns, compiled together. Immutable; share it between threads.
// In this order: a scan of compact rows reads `any_confirm` and the rows' place, which then
// share the first line (the dense DFA of `Whole` would otherwise put 850 bytes between them).
// Aligned to a line, so that they are in one line wherever the set lives: behind an `Arc`'s
// two counts they used to straddle two (two misses a scan with thousands of tenants).
#[repr(C, align(64))]
pub struct PatternSet {
    any_confirm: bool,
    scanner: Scanner,
    /// The backtracker of each pattern that has lookaround or backreferences.
    confirm: Vec<Option<fancy_regex::Regex>>,
}

impl fmt::Debug for PatternSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PatternSet").field("len", &self.confirm.len()).finish_non_exhaustive()
    }
}

/// Per-thread scratch of one [`PatternSet`].
pub struct SetCache {
    lazy: Option<meta::Cache>,
    /// What the overlapping searches (`Dense`, `Lazy`) report.
    hits: regex_automata::PatternSet,
    /// The indexes of the patterns that match, ascending: what `matches` walks. Its capacity
    /// is the number of patterns, so it never grows.
    ids: Vec<u32>,
}

/// A cache of no set: what a set that [needs none](PatternSet::needs_cache) may be given.
impl Default for SetCache {
    fn default() -> SetCache {
        SetCache { lazy: None, hits: regex_automata::PatternSet::new(0), ids: Vec::new() }
    }
}

impl fmt::Debug for SetCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetCache").finish_non_exhaustive()
    }
}

fn syntax_config() -> syntax::Config {
    syntax::Config::new().unicode(false).utf8(false)
}

impl PatternSet {
    /// Compiles `patterns` (.NET syntax). An error names the index of the pattern at fault.
    pub fn new<S: AsRef<str>>(
        patterns: &[S],
        limits: &Limits,
    ) -> Result<PatternSet, (usize, CompileErrorKind)> {
        PatternSet::build(patterns, limits, Prefer::Compact)
    }

    /// `prefer`: the first scanner to try (tests and the fuzz target compare them).
    pub(crate) fn build<S: AsRef<str>>(
        patterns: &[S],
        limits: &Limits,
        prefer: Prefer,
    ) -> Result<PatternSet, (usize, CompileErrorKind)> {
        let mut automaton = Vec::with_capacity(patterns.len());
        let mut hirs = Vec::with_capacity(patterns.len());
        let mut confirm = Vec::with_capacity(patterns.len());
        for (i, p) in patterns.iter().enumerate() {
            let p = p.as_ref();
            if p.chars().count() > limits.max_pattern_len {
                let len = p.chars().count();
                return Err((
                    i,
                    CompileErrorKind::TooLong { what: "pattern", len, max: limits.max_pattern_len },
                ));
            }
            let Checked { t, hir } = check(p).map_err(|e| (i, e))?;
            confirm.push(if t.needs_backtracker {
                Some(build_backtracking(&t.exact, limits).map_err(|e| (i, e))?)
            } else {
                None
            });
            automaton.push(t.automaton_pattern().to_owned());
            hirs.push(hir);
        }
        let any_confirm = confirm.iter().any(Option::is_some);
        if automaton.is_empty() {
            return Ok(PatternSet { scanner: Scanner::Empty, confirm, any_confirm });
        }
        // `P(?s-u:.)*` for each pattern `P`, from the parse `check` made.
        let whole_hirs: Vec<Hir> = hirs.iter().map(to_the_end).collect();
        let scanner = if prefer != Prefer::Overlapping
            && let Some(dfa) = dense_dfa(&whole_hirs, WHOLE_BUDGET.min(limits.max_plan_bytes / 4))
            && let Ok(start) =
                dfa.start_state(&start::Config::new().anchored(Anchored::No).look_behind(None))
        {
            match (prefer, Compact::new(&dfa, start)) {
                (Prefer::Compact, Some(compact)) => match Narrow::of(&compact) {
                    Some(narrow) => Scanner::Narrow(narrow),
                    None => Scanner::Compact(compact),
                },
                (Prefer::Wide, Some(compact)) => Scanner::Compact(compact),
                _ => {
                    let lists = MatchLists::new(&dfa, start);
                    Scanner::Whole(dfa, start, lists)
                }
            }
        } else if let Some(dfa) = dense_dfa(&hirs, limits.max_plan_bytes / 4) {
            Scanner::Dense(dfa)
        } else {
            let lazy = Regex::builder()
                .configure(
                    meta::Config::new()
                        .match_kind(MatchKind::All)
                        .utf8_empty(false)
                        .nfa_size_limit(Some(limits.max_plan_bytes))
                        .dfa_size_limit(Some(limits.max_plan_bytes)),
                )
                .syntax(syntax_config())
                .build_many(&automaton)
                .map_err(|_| (0, CompileErrorKind::TooBig { limit: limits.max_plan_bytes }))?;
            Scanner::Lazy(lazy)
        };
        Ok(PatternSet { scanner, confirm, any_confirm })
    }

    /// Number of patterns.
    pub fn len(&self) -> usize {
        self.confirm.len()
    }

    /// Has the set no patterns?
    pub fn is_empty(&self) -> bool {
        self.confirm.is_empty()
    }

    /// Heap bytes of the automaton.
    pub fn memory_usage(&self) -> usize {
        match &self.scanner {
            Scanner::Narrow(n) => n.memory_usage(),
            Scanner::Compact(c) => c.memory_usage(),
            Scanner::Whole(d, _, lists) => d.memory_usage() + lists.memory_usage(),
            Scanner::Dense(d) => d.memory_usage(),
            Scanner::Lazy(r) => r.memory_usage(),
            Scanner::Empty => 0,
        }
    }

    /// Where the memory a scan reads is, when it is a few lines of one allocation (a set
    /// small enough for 16-bit rows); empty otherwise. Asking for these lines a little before
    /// a scan, when the set has not been used for a while, saves the scan a miss per byte.
    pub fn lines(&self) -> Lines {
        match &self.scanner {
            Scanner::Narrow(n) => n.lines(),
            Scanner::Compact(c) => c.lines(),
            _ => Lines::default(),
        }
    }

    /// Asks for the line of the byte classes of `+` and the digits, which [`PatternSet::lines`]
    /// leaves out when the rows before it take all its lines. Reads the set's own first line.
    #[inline]
    pub fn prefetch_classes(&self) {
        match &self.scanner {
            Scanner::Narrow(n) => n.prefetch_classes(),
            Scanner::Compact(c) => {
                if let Some(w) = c.words().get(c.classes() + usize::from(b'0')) {
                    tpr_types::prefetch(w);
                }
            }
            _ => {}
        }
    }

    /// The set's narrow rows, if they answer [`PatternSet::matching`] alone (no pattern to
    /// confirm with a backtracker): a clone that shares them, to scan without this set.
    pub fn narrow(&self) -> Option<Narrow> {
        match &self.scanner {
            Scanner::Narrow(n) if !self.any_confirm => Some(n.clone()),
            _ => None,
        }
    }

    /// Does a search of this set use its cache? Compact rows without patterns to confirm
    /// (and an empty set) do not: they read the set alone, and take any [`SetCache`],
    /// `SetCache::default()` among them. A caller keeping caches for many sets can skip
    /// looking this one's up.
    #[inline]
    pub fn needs_cache(&self) -> bool {
        match &self.scanner {
            Scanner::Narrow(_) | Scanner::Compact(_) => self.any_confirm,
            Scanner::Empty => false,
            _ => true,
        }
    }

    /// Scratch for one thread.
    pub fn create_cache(&self) -> SetCache {
        SetCache {
            lazy: match &self.scanner {
                Scanner::Lazy(r) => Some(r.create_cache()),
                _ => None,
            },
            hits: regex_automata::PatternSet::new(self.confirm.len()),
            ids: Vec::with_capacity(self.confirm.len()),
        }
    }

    /// The indexes of the patterns that match somewhere in `s`, ascending. Allocates nothing.
    /// A backtracking pattern that runs out of steps counts as not matching.
    pub fn matches<'a>(
        &'a self,
        cache: &'a mut SetCache,
        s: &str,
    ) -> impl Iterator<Item = usize> + use<'a> {
        self.matching(cache, s).iter().map(|&id| id as usize)
    }

    /// Does any pattern match `s`?
    pub fn is_match(&self, cache: &mut SetCache, s: &str) -> bool {
        !self.matching(cache, s).is_empty()
    }

    /// The lowest index that matches `s`.
    pub fn first(&self, cache: &mut SetCache, s: &str) -> Option<usize> {
        self.matches(cache, s).next()
    }

    /// [`PatternSet::matches`] as the set's own list: the indexes of the patterns that match
    /// `s`, ascending, valid until the cache is used again.
    pub fn matching<'a>(&'a self, cache: &'a mut SetCache, s: &str) -> &'a [u32] {
        // These need no cache (which, cold, would cost a miss).
        match &self.scanner {
            Scanner::Narrow(n) if !self.any_confirm => return n.matching(s.as_bytes()),
            Scanner::Compact(c) if !self.any_confirm => return c.matching(s.as_bytes()),
            Scanner::Empty => return &[],
            _ => {}
        }
        assert_eq!(cache.ids.capacity(), self.confirm.len(), "cache of another pattern set");
        cache.ids.clear();
        match &self.scanner {
            Scanner::Narrow(n) => cache.ids.extend_from_slice(n.matching(s.as_bytes())),
            Scanner::Compact(c) => cache.ids.extend_from_slice(c.matching(s.as_bytes())),
            &Scanner::Whole(ref dfa, start, ref lists) => {
                let mut sid = start;
                for &b in s.as_bytes() {
                    sid = dfa.next_state(sid, b);
                    if dfa.is_dead_state(sid) {
                        return &cache.ids;
                    }
                }
                sid = dfa.next_eoi_state(sid);
                if !dfa.is_match_state(sid) {
                    return &cache.ids;
                }
                if !self.any_confirm {
                    return lists.of(sid);
                }
                cache.ids.extend_from_slice(lists.of(sid));
            }
            Scanner::Dense(dfa) => {
                cache.hits.clear();
                // A dense DFA built without quit bytes cannot fail.
                let _ = dfa.try_which_overlapping_matches(&Input::new(s), &mut cache.hits);
                cache.ids.extend(cache.hits.iter().map(|id| id.as_u32()));
            }
            Scanner::Lazy(re) => {
                cache.hits.clear();
                let c = cache.lazy.as_mut().expect("lazy cache");
                re.which_overlapping_matches_with(c, &Input::new(s), &mut cache.hits);
                cache.ids.extend(cache.hits.iter().map(|id| id.as_u32()));
            }
            Scanner::Empty => {}
        }
        if self.any_confirm {
            // A backtracking pattern that runs out of steps counts as not matching.
            cache.ids.retain(|&id| match &self.confirm[id as usize] {
                Some(re) => re.is_match(s).unwrap_or(false),
                None => true,
            });
        }
        &cache.ids
    }
}

/// The most the `P(?s:.)*` automaton of a set may take, in bytes (and in determinization
/// memory). Route tables of real tenants take a few kilobytes; a set that needs more falls
/// back to the overlapping search after at most a few tens of milliseconds.
pub const WHOLE_BUDGET: usize = 1 << 20;

/// Which scanner [`PatternSet::build`] tries first; it falls back from each to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prefer {
    /// [`Narrow`] rows where they fit, else [`Compact`] rows.
    Compact,
    /// [`Compact`] rows even where narrow rows fit (tests and the fuzz target compare them).
    Wide,
    /// The dense DFA even where compact rows fit (tests and the fuzz target compare them).
    Whole,
    Overlapping,
}

/// One dense DFA reporting every pattern of `patterns` (parsed; `MatchKind::All`), searched
/// unanchored, or `None` past `limit` bytes.
fn dense_dfa(patterns: &[Hir], limit: usize) -> Option<dense::DFA<Vec<u32>>> {
    // The NFA `dense::Builder::build_many` would make from the text (a DFA has no captures).
    let nfa = thompson::Compiler::new()
        .configure(
            thompson::Config::new()
                .utf8(false)
                .nfa_size_limit(Some(4 * limit))
                .which_captures(thompson::WhichCaptures::None),
        )
        .build_many_from_hir(patterns)
        .ok()?;
    dense::Builder::new()
        .configure(
            dense::Config::new()
                .match_kind(MatchKind::All)
                .start_kind(StartKind::Unanchored)
                // The scans here walk the table themselves; finding the states a search could
                // skip through costs compile time for nothing (a little: 0.7 % of a plan's).
                .accelerate(false)
                .dfa_size_limit(Some(limit))
                .determinize_size_limit(Some(limit)),
        )
        .build_from_nfa(&nfa)
        .ok()
}

/// Scratch for [`crate::Translation::apply_into`]: capture slots, reused between calls.
#[derive(Debug, Default)]
pub struct TranslationScratch {
    pub(crate) slots: Vec<Option<NonMaxUsize>>,
}

pub(crate) struct SlotSpans<'a>(pub &'a [Option<NonMaxUsize>]);

impl Spans for SlotSpans<'_> {
    fn span(&self, index: usize) -> Option<(usize, usize)> {
        match (self.0.get(2 * index), self.0.get(2 * index + 1)) {
            (Some(Some(start)), Some(Some(end))) => Some((start.get(), end.get())),
            _ => None,
        }
    }
}

impl Pattern {
    /// Compiles each pattern on its own, for callers that want them one by one.
    pub fn many<S: AsRef<str>>(
        patterns: &[S],
        limits: &Limits,
    ) -> Result<Vec<Pattern>, (usize, CompileErrorKind)> {
        patterns
            .iter()
            .enumerate()
            .map(|(i, p)| Pattern::new(p.as_ref(), limits).map_err(|e| (i, e)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn hits(set: &PatternSet, s: &str) -> Vec<usize> {
        let mut c = set.create_cache();
        set.matches(&mut c, s).collect()
    }

    #[test]
    fn reports_every_matching_pattern() {
        let l = Limits::default();
        let set =
            PatternSet::new(&[r"^\+1(425|206)(\d{7})$", r"^\+1(\d{10})$", r"\d+", "^911$"], &l)
                .unwrap();
        assert_eq!(hits(&set, "+12065550100"), [0, 1, 2]);
        assert_eq!(hits(&set, "+13125550100"), [1, 2]);
        assert_eq!(hits(&set, "911"), [2, 3]);
        assert_eq!(hits(&set, "+"), Vec::<usize>::new());
    }

    #[test]
    fn lookaround_patterns_are_confirmed() {
        let l = Limits::default();
        let set = PatternSet::new(&[r"^\+((?!61)(\d{10,15}))$", r"^\+61"], &l).unwrap();
        assert_eq!(hits(&set, "+442071234567"), [0]);
        assert_eq!(hits(&set, "+61212345678"), [1]);
    }

    #[test]
    fn agrees_with_single_patterns() {
        let l = Limits::default();
        let pats = [r"^\+1", r"5550", r"(\d)\1", r"^$", r"^\+44(\d{10})$", r"[0-9]{10}"];
        let set = PatternSet::new(&pats, &l).unwrap();
        let single = Pattern::many(&pats, &l).unwrap();
        for s in ["+14255550100", "", "11", "+442071234567", "1234567890", "+", "12"] {
            let expect: Vec<usize> = (0..pats.len()).filter(|&i| single[i].is_match(s)).collect();
            assert_eq!(hits(&set, s), expect, "{s:?}");
        }
    }

    fn piece() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            r"\d", r"\d{2,4}", "1", "44", r"\+", "(44|1)", ".", "[0-5]", "0*", "9?", r"\d+",
            "(?:12)+", r"\b", ";ext=",
        ])
    }

    fn pattern() -> impl Strategy<Value = String> {
        (prop::bool::weighted(0.9), prop::collection::vec(piece(), 1..5), any::<bool>()).prop_map(
            |(start, pieces, end)| {
                format!(
                    "{}{}{}",
                    if start { "^" } else { "" },
                    pieces.concat(),
                    if end { "$" } else { "" }
                )
            },
        )
    }

    proptest! {
        // The whole-string automaton in narrow rows, in compact rows and as a dense DFA, the
        // overlapping search and each pattern alone agree.
        #[test]
        fn whole_string_scan_agrees(
            pats in prop::collection::vec(pattern(), 1..8),
            inputs in prop::collection::vec("[+0-9;ext=a ]{0,16}", 1..8),
        ) {
            let l = Limits::default();
            let narrow = PatternSet::build(&pats, &l, Prefer::Compact).unwrap();
            let compact = PatternSet::build(&pats, &l, Prefer::Wide).unwrap();
            let whole = PatternSet::build(&pats, &l, Prefer::Whole).unwrap();
            // Sets of anchored patterns always fit the budget.
            if pats.iter().all(|p| p.starts_with('^')) {
                prop_assert!(
                    matches!(narrow.scanner, Scanner::Narrow(..) | Scanner::Compact(..)),
                    "{:?}",
                    pats
                );
                prop_assert!(matches!(compact.scanner, Scanner::Compact(..)), "{:?}", pats);
                prop_assert!(matches!(whole.scanner, Scanner::Whole(..)), "{:?}", pats);
            }
            let overlapping = PatternSet::build(&pats, &l, Prefer::Overlapping).unwrap();
            let single = Pattern::many(&pats, &l).unwrap();
            for s in &inputs {
                let expect: Vec<usize> =
                    (0..pats.len()).filter(|&i| single[i].is_match(s)).collect();
                prop_assert_eq!(&hits(&narrow, s), &expect, "{:?} on {:?}", pats, s);
                prop_assert_eq!(&hits(&compact, s), &expect, "{:?} on {:?}", pats, s);
                prop_assert_eq!(&hits(&whole, s), &expect, "{:?} on {:?}", pats, s);
                prop_assert_eq!(&hits(&overlapping, s), &expect, "{:?} on {:?}", pats, s);
            }
        }
    }

    #[test]
    fn exploding_sets_fall_back_quickly_and_real_ones_do_not() {
        let l = Limits::default();
        // Found by the proptest: four unanchored patterns whose `P(?s:.)*` automaton passes
        // the limit (it took a second to find that out with the whole plan budget).
        let pats = ["(?:12)+", r"\d{2,4}\d{2,4}", r"1.\d{2,4}\d{2,4}", r"(44|1)\d"];
        let set = PatternSet::new(&pats, &l).unwrap();
        assert!(matches!(set.scanner, Scanner::Dense(..)));
        assert_eq!(hits(&set, "+4412345678"), [0, 1, 2, 3]);
        assert_eq!(hits(&set, "+413"), [3]);
        // Microsoft's own example routes: anchored national routes and `\d+` for the rest.
        let routes = [r"^\+1(425|206)(\d{7})$", r"^\+1(\d{10})$", r"\d+", "^911$"];
        let set = PatternSet::new(&routes, &l).unwrap();
        assert!(matches!(set.scanner, Scanner::Narrow(..)));
        assert_eq!(hits(&set, "+14255550100"), [0, 1, 2]);
        assert_eq!(hits(&set, "911"), [2, 3]);
        assert_eq!(hits(&set, "+"), Vec::<usize>::new());
    }

    #[test]
    fn sets_too_big_for_compact_rows_keep_the_dense_dfa() {
        let l = Limits::default();
        // Each pattern's digits after its prefix are counted in states of their own: about
        // 6,000 states of 13 words, past what 16-bit row indexes reach.
        let pats: Vec<String> = (0..600).map(|i| format!(r"^{i:03}\d{{0,9}}$")).collect();
        let set = PatternSet::new(&pats, &l).unwrap();
        assert!(matches!(set.scanner, Scanner::Whole(..)));
        assert_eq!(hits(&set, "12345"), [123]);
        assert_eq!(hits(&set, "599123456789"), [599]);
        assert_eq!(hits(&set, "5991234567890"), Vec::<usize>::new());
    }

    #[test]
    fn match_lists_past_15_bit_offsets_get_no_compact_rows() {
        // After k ones every pattern `^1{i}` with i <= k matches: lists of 1, 2, ... 370
        // patterns, about 69,000 words in all, where a row's word can only say where one of
        // the first 32,768 starts. The rows themselves (a few hundred states) would fit, and
        // the automaton builds within the budget given (a dial plan's); a route set's budget
        // refuses it before (it is searched for overlapping matches instead).
        let hirs = |n: usize| -> Vec<Hir> {
            (1..=n).map(|i| regex_syntax::parse(&format!("^1{{{i}}}")).unwrap()).collect()
        };
        let limit = 64 << 20;
        // The automaton `of_patterns` copies (every pattern as `P(?s:.)*`) builds...
        let whole: Vec<Hir> = hirs(370).iter().map(to_the_end).collect();
        assert!(dense_dfa(&whole, limit).is_some());
        // ...and its lists are what does not fit.
        assert!(Compact::of_patterns(&hirs(370), limit).is_none());
        // With half as many, the lists fit.
        let c = Compact::of_patterns(&hirs(185), limit).unwrap();
        assert_eq!(c.matching("1".repeat(100).as_bytes()), (0..100).collect::<Vec<u32>>());
    }

    #[test]
    fn compact_rows_follow_the_walk_and_end_with_the_byte_classes() {
        let l = Limits::default();
        let set = PatternSet::build(&[r"^\+1(\d{10})$", "^911$"], &l, Prefer::Wide).unwrap();
        let Scanner::Compact(c) = &set.scanner else { panic!("not compact") };
        let words = c.words();
        // The dead row, then the start, whose '+' leads to the row after it.
        assert!(words[..c.width()].iter().all(|&w| w == 0));
        let class = |b: u8| usize::from(words[c.classes() + usize::from(b)]);
        assert_eq!(usize::from(words[c.width() + class(b'+')]), 2 * c.width());
        assert!(words.len() - c.classes() - 256 <= 1);
        // The classes from space to '?' (separators, '+', the digits) fill one line.
        let line = words[c.classes() + 0x20..].as_ptr().addr();
        assert_eq!(line % 64, 0);
        assert!(c.base() >= 2 * c.lists().len() && c.base() < 2 * c.lists().len() + Compact::SLACK);
        // A letter leads nowhere from the start.
        assert_eq!(words[c.width() + class(b'a')], 0);
        // Both lists are of one pattern, which the rows' end words name themselves: the
        // lists proper are their 0 word alone.
        assert_eq!(c.lists(), [0]);
        // Each byte of a number the first pattern takes leads to the very next row: a walk
        // along it reads consecutive rows.
        let mut at = c.width();
        for &b in b"+12065550100" {
            let next = usize::from(words[at + class(b)]);
            assert_eq!(next, at + c.width(), "after {at}, on {}", char::from(b));
            at = next;
        }
        assert_eq!(words[at + c.width() - 1], END_SINGLE);
        assert_eq!(c.list(usize::from(END_SINGLE)), [0]);
        // The lines a scan reads: all of this set (under 16 lines) but the last classes.
        let lines = set.lines();
        assert!(lines.len() * 64 >= 2 * (c.base() + c.classes() + usize::from(b'9') + 1));
        assert!(lines.len() <= Compact::MAX_LINES);
        assert_eq!(set.memory_usage(), 4 * c.storage.len());
        // Asking for the classes' line is a hint, for every kind of set.
        set.prefetch_classes();
        PatternSet::new::<&str>(&[], &l).unwrap().prefetch_classes();
        assert_eq!(hits(&set, "911"), [1]);
    }

    #[test]
    fn lists_of_one_pattern_are_in_the_end_words_and_longer_ones_in_the_lists() {
        let pats = [r"^911$", r"\d+", r"^\+1(\d{10})$"];
        let hirs: Vec<Hir> = pats.iter().map(|p| regex_syntax::parse(p).unwrap()).collect();
        let c = Compact::of_patterns(&hirs, 1 << 20).unwrap();
        // Only the lists of two patterns are in the lists, in the order the depth-first walk
        // finds them: a "+1" number of ten digits ends at [1, 2] ('+' before '9'), "911" at
        // [0, 1]; every other match state ends at `\d+` alone, in its rows' end words.
        assert_eq!(c.lists(), [0, 2, 1, 2, 2, 0, 1]);
        assert_eq!((c.list(1), c.list(4)), ([1, 2].as_slice(), [0, 1].as_slice()));
        assert_eq!(c.matching(b"911"), [0, 1]);
        assert_eq!(c.matching(b"12"), [1]);
        assert_eq!(c.matching(b"+12065550100"), [1, 2]);
        assert_eq!(c.matching(b"+1206555010"), [1]);
        assert_eq!(c.matching(b"+"), [] as [u32; 0]);
        // The end word of a one-pattern list is the pattern with END_SINGLE set.
        assert_eq!(single(usize::from(END_SINGLE) | 7), Some(7));
        assert_eq!((single(0), single(3)), (None, None));
        assert_eq!(list_at(&[], usize::from(END_SINGLE) | 1023), [1023]);
        // Patterns past the singles get a list of their own.
        let many: Vec<Hir> =
            (0..1100).map(|i| regex_syntax::parse(&format!("^{i}$")).unwrap()).collect();
        let c = Compact::of_patterns(&many, 64 << 20).unwrap();
        assert_eq!(c.matching(b"1023"), [1023]);
        assert_eq!(c.matching(b"1024"), [1024]);
        assert_eq!(c.lists().len(), 1 + 2 * (1100 - SINGLES.len()));
    }

    #[test]
    fn a_scan_of_compact_rows_reads_one_line_of_the_set() {
        for prefer in [Prefer::Compact, Prefer::Wide] {
            let pats = [r"^\+1(\d{10})$", r"\d+"];
            let set =
                std::sync::Arc::new(PatternSet::build(&pats, &Limits::default(), prefer).unwrap());
            let start = std::sync::Arc::as_ptr(&set).addr();
            assert_eq!(start % 64, 0, "the set starts a line, behind the Arc's counts too");
            let (storage, fields) = match &set.scanner {
                Scanner::Narrow(n) => {
                    (std::ptr::from_ref(&n.storage).addr(), [&n.base, &n.classes, &n.shift])
                }
                Scanner::Compact(c) => {
                    (std::ptr::from_ref(&c.storage).addr(), [&c.base, &c.classes, &c.width])
                }
                _ => panic!("{prefer:?}: neither narrow nor compact"),
            };
            let end = |field: &u32| std::ptr::from_ref(field).addr() + size_of::<u32>() - start;
            assert!(std::ptr::from_ref(&set.any_confirm).addr() - start < 64);
            assert!(storage - start < 64);
            assert!(fields.iter().all(|&f| end(f) <= 64), "{prefer:?}");
        }
    }

    #[test]
    fn narrow_rows_are_compact_rows_a_byte_a_transition() {
        let l = Limits::default();
        let routes = [r"^\+1(425|206)(\d{7})$", r"^\+1(\d{10})$", r"\d+", "^911$"];
        let set = PatternSet::new(&routes, &l).unwrap();
        let wide = PatternSet::build(&routes, &l, Prefer::Wide).unwrap();
        let (Scanner::Narrow(n), Scanner::Compact(c)) = (&set.scanner, &wide.scanner) else {
            panic!("narrow and compact rows expected");
        };
        // The same states in the same order, the same lists and classes.
        let (words, bytes) = (c.words(), n.bytes());
        let (width, stride) = (c.width(), 1 << n.shift);
        assert_eq!(stride, 16, "13 classes and a list, rounded up");
        assert_eq!(c.classes() / width, 34, "states, the dead one counted");
        assert_eq!(c.classes() / width, n.classes as usize / stride);
        assert_eq!(c.lists(), &n.storage[..c.lists().len()]);
        assert_eq!(n.base % 16, 0, "rows start 16 bytes apart");
        // The classes from space to '?' ('+' and the digits) fill one line.
        assert_eq!(n.bytes()[n.classes as usize + 0x20..].as_ptr().addr() % 64, 0);
        for k in 0..c.classes() / width {
            for class in 0..width - 1 {
                let next = usize::from(words[k * width + class]);
                assert_eq!(usize::from(bytes[k * stride + class]) * width, next, "{k}, {class}");
            }
            let end = u16::from_le_bytes([bytes[k * stride + 14], bytes[k * stride + 15]]);
            assert_eq!(end, words[k * width + width - 1], "row {k}");
        }
        for b in 0..=255u8 {
            let at = usize::from(b);
            assert_eq!(u16::from(bytes[n.classes as usize + at]), words[c.classes() + at]);
        }
        // Half the bytes, and fewer lines to ask for ahead of a scan: the first six of the
        // 11 or 12 (as the storage falls in its lines) from the set's start to the classes
        // of the digits.
        assert!(set.memory_usage() < wide.memory_usage());
        assert!(set.lines().len() < wide.lines().len(), "{} lines", set.lines().len());
        let end = (n.base + n.classes) as usize + usize::from(b'9');
        let all = Lines::of(&bytemuck::cast_slice::<u32, u8>(&n.storage)[..=end], 255).len();
        assert!((11..=12).contains(&all), "{all}");
        assert_eq!(set.lines().len(), Narrow::MAX_LINES);
        for s in ["+14255550100", "+13125550123", "+442071234567", "911", "", "+", "1;ext=2"] {
            assert_eq!(hits(&set, s), hits(&wide, s), "{s:?}");
        }
        assert_eq!(hits(&set, "+14255550100"), [0, 1, 2]);
        assert_eq!(hits(&set, "911"), [2, 3]);
        set.prefetch_classes();
        // A clone of the rows scans alone, as the set does; sets of other kinds have none.
        let rows = set.narrow().expect("narrow rows");
        for s in ["+14255550100", "+13125550123", "+442071234567", "911", "", "+", "1;ext=2"] {
            assert_eq!(rows.matching(s.as_bytes()), set.matching(&mut set.create_cache(), s));
        }
        rows.prefetch_classes();
        assert!(wide.narrow().is_none());
        let confirm = PatternSet::new(&[r"^\+1(?!900)\d{10}$", "^911$"], &l).unwrap();
        assert!(confirm.narrow().is_none(), "a pattern to confirm needs the set");
        assert_eq!(hits(&confirm, "+19005550100"), Vec::<usize>::new());
    }

    #[test]
    fn narrow_rows_take_sets_of_up_to_256_states() {
        let l = Limits::default();
        // `^\d{n}$` takes a state per digit and a few more: sets from just under to just
        // over 256 states (the dead one counted).
        let mut seen = (false, false);
        for n in 245..265 {
            let pats = [format!(r"^\d{{{n}}}$")];
            let wide = PatternSet::build(&pats, &l, Prefer::Wide).unwrap();
            let Scanner::Compact(c) = &wide.scanner else { panic!("{n}: not compact") };
            let states = c.classes() / c.width();
            let set = PatternSet::new(&pats, &l).unwrap();
            match &set.scanner {
                Scanner::Narrow(_) => {
                    assert!(states <= 256, "{n}: {states} states");
                    seen.0 = true;
                }
                Scanner::Compact(_) => {
                    assert!(states > 256, "{n}: {states} states");
                    seen.1 = true;
                }
                _ => panic!("{n}: neither"),
            }
            let digits = "7".repeat(n);
            assert_eq!(hits(&set, &digits), [0]);
            assert_eq!(hits(&set, &digits[1..]), Vec::<usize>::new());
            assert_eq!(hits(&set, &format!("{digits}7")), Vec::<usize>::new());
        }
        assert_eq!(seen, (true, true), "both sides of the bound");
    }

    #[test]
    fn errors_name_the_pattern() {
        let err = PatternSet::new(&[r"^\d+$", r"^(\d+$"], &Limits::default()).unwrap_err();
        assert_eq!(err.0, 1);
    }
}
