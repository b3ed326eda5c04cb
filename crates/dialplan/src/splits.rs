//! Greedy splits: the captures of `^ piece piece … $` rules, without a backtracker or a second
//! automaton pass.
//!
//! The international rule of many real plans reads
//! `^(?:\+|011)(1|7|2[07]|…)(?:0)?(\d{6,14})(\D+\d+)?$`. Whether a `0` after the country code
//! is the optional trunk prefix or the first digit of `$2` depends on how many digits follow,
//! so no one-pass DFA exists and the bounded backtracker used to find the groups, at about
//! 1,750 instructions a call, three times what finding the winning rule costs.
//!
//! Such a rule is still `^ piece piece … $` with its groups around whole pieces, and once the
//! plan's automaton has said it matches, only the split points between the pieces are left to
//! find. Leftmost-first (what .NET and the backtracker do) takes, for the first piece, the
//! first of its choices in priority order after which the rest can still match; then the same
//! for the second piece from there, and so on. When a piece's choices follow from its width
//! alone, in an order known up front, that walk needs no NFA: a greedy or lazy repetition of
//! one byte class (the longest or the shortest run first), an alternation of strings of byte
//! classes (in order), possibly optional, or a piece checked by its own small DFA that has one
//! width or comes last (and takes what is left). A memo of the (piece, position) pairs that
//! led nowhere keeps the walk linear in pieces × positions × choices, as the backtracker's
//! visited set does. Rules of other shapes, or with a group the translation uses inside a
//! piece, keep a one-pass DFA where they are one-pass, the backtracker otherwise. One-pass
//! rules of this shape use the splits too: the US national rule
//! `^1?([2-9]\d\d[2-9]\d{6})\d*(\D+\d+)?$` takes three quarters of the one-pass DFA's
//! instructions.

use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::nfa::thompson;
use regex_automata::util::primitives::{NonMaxUsize, StateID};
use regex_automata::util::start;
use regex_automata::{Anchored, MatchKind};
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// A set of bytes, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Bytes([u64; 4]);

impl Bytes {
    fn of(h: &Hir) -> Option<Bytes> {
        let mut set = Bytes::default();
        match h.kind() {
            HirKind::Literal(l) if l.0.len() == 1 => set.add(l.0[0], l.0[0]),
            HirKind::Class(Class::Bytes(c)) => {
                for r in c.ranges() {
                    set.add(r.start(), r.end());
                }
            }
            HirKind::Class(Class::Unicode(c)) => {
                for r in c.ranges() {
                    // ASCII only: a wider char is more than one byte.
                    let (a, b) = (u32::from(r.start()), u32::from(r.end()));
                    if b > 0x7f {
                        return None;
                    }
                    set.add(a as u8, b as u8);
                }
            }
            _ => return None,
        }
        Some(set)
    }

    fn add(&mut self, a: u8, b: u8) {
        for x in a..=b {
            self.0[usize::from(x >> 6)] |= 1 << (x & 63);
        }
    }

    #[inline]
    fn has(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & 1 << (b & 63) != 0
    }
}

/// The strings of byte classes a piece may match, each a sequence of single-byte classes.
fn class_strings(h: &Hir, out: &mut Vec<Vec<Bytes>>) -> Option<()> {
    match h.kind() {
        HirKind::Alternation(alts) => alts.iter().try_for_each(|a| class_strings(a, out)),
        _ => {
            out.push(class_string(h)?);
            Some(())
        }
    }
}

fn class_string(h: &Hir) -> Option<Vec<Bytes>> {
    match h.kind() {
        HirKind::Literal(l) => Some(
            l.0.iter()
                .map(|&b| {
                    let mut s = Bytes::default();
                    s.add(b, b);
                    s
                })
                .collect(),
        ),
        HirKind::Class(_) => Some(vec![Bytes::of(h)?]),
        HirKind::Concat(parts) => {
            let mut v = Vec::new();
            for p in parts {
                v.extend(class_string(p)?);
            }
            Some(v)
        }
        HirKind::Capture(c) => class_string(&c.sub),
        HirKind::Empty => Some(Vec::new()),
        // A fixed count (`\d{6}`): no choice to make, so the same string repeated. Longer
        // than any input the splits take, and it is not worth listing.
        HirKind::Repetition(r) if r.max == Some(r.min) && r.min as usize <= MAX_INPUT => {
            let one = class_string(&r.sub)?;
            let v: Vec<Bytes> = std::iter::repeat_n(one, r.min as usize).flatten().collect();
            (v.len() <= MAX_INPUT).then_some(v)
        }
        _ => None,
    }
}

/// How a piece's choices are found and ordered: the kind of a piece's word in [`Splits`],
/// decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A run of bytes of class `class` (a bit of [`Splits::member`]), `min..=max` long, the
    /// longest first if greedy. Bounds past [`MAX_INPUT`] are kept as `MAX_INPUT + 1`: no
    /// input the splits take tells them apart.
    Run { class: u8, min: u8, max: u8, greedy: bool },
    /// The strings at bytes `from..to` of [`Splits::bytes`], in order, each its length and
    /// then its classes, a byte each. If optional, the empty string first (lazy) or last
    /// (greedy).
    Strings { from: u16, to: u16, optional: Option<bool> },
    /// Any other piece, checked by its own small DFA (`Splits::exact[dfa]`): of one width
    /// (kept as for runs), or the last piece (which takes whatever is left). `empty`: does it
    /// match the empty string? The usual case for a last piece such as `(\D+\d+)?` (nothing
    /// left after the number), answered without the DFA's tables.
    Exact { dfa: u16, width: Option<u8>, empty: bool },
}

/// A piece: its kind, and where the Rust indexes of the groups that wrap exactly it are in
/// [`Splits::bytes`] (a byte each; only groups the caller reads are kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    kind: Kind,
    groups: (u16, u8),
}

impl Piece {
    // A piece's word: its kind's tag and flags in the low byte, its group count and where its
    // groups start in the next three, the kind's fields in the high half.
    const RUN: u64 = 0;
    const STRINGS: u64 = 1;
    const EXACT: u64 = 2;

    fn encode(self) -> u64 {
        let (tag, flags, fields) = match self.kind {
            Kind::Run { class, min, max, greedy } => (
                Piece::RUN,
                u64::from(greedy),
                u64::from(class) | u64::from(min) << 8 | u64::from(max) << 16,
            ),
            Kind::Strings { from, to, optional } => {
                let flags = match optional {
                    None => 0,
                    Some(false) => 1,
                    Some(true) => 2,
                };
                (Piece::STRINGS, flags, u64::from(from) | u64::from(to) << 16)
            }
            Kind::Exact { dfa, width, empty } => (
                Piece::EXACT,
                u64::from(empty) | u64::from(width.is_some()) << 1,
                u64::from(dfa) | u64::from(width.unwrap_or(0)) << 16,
            ),
        };
        let (groups_from, groups_len) = self.groups;
        tag | flags << 2 | u64::from(groups_len) << 8 | u64::from(groups_from) << 16 | fields << 32
    }

    fn decode(w: u64) -> Piece {
        let w = Word(w);
        let kind = match w.tag() {
            Piece::RUN => {
                Kind::Run { class: w.byte(0), min: w.byte(1), max: w.byte(2), greedy: w.flag(0) }
            }
            Piece::STRINGS => Kind::Strings {
                from: w.half(0),
                to: w.half(1),
                optional: match w.optional() {
                    0 => None,
                    1 => Some(false),
                    _ => Some(true),
                },
            },
            _ => Kind::Exact {
                dfa: w.half(0),
                width: w.flag(1).then_some(w.byte(2)),
                empty: w.flag(0),
            },
        };
        let (from, n) = w.groups();
        Piece { kind, groups: (from as u16, n as u8) }
    }
}

/// A piece's word ([`Piece::encode`]), read a field at a time where a split needs it rather
/// than decoded whole.
#[derive(Clone, Copy)]
struct Word(u64);

impl Word {
    #[inline(always)]
    fn tag(self) -> u64 {
        self.0 & 3
    }

    /// Flag `k`: greedy (runs); matches the empty string, has a width (DFA pieces).
    #[inline(always)]
    fn flag(self, k: u32) -> bool {
        self.0 >> (2 + k) & 1 != 0
    }

    /// Strings: 0, not optional; 1, optional and lazy; 2, optional and greedy.
    #[inline(always)]
    fn optional(self) -> u64 {
        self.0 >> 2 & 3
    }

    /// Byte `k` of the kind's fields.
    #[inline(always)]
    fn byte(self, k: u32) -> u8 {
        (self.0 >> (32 + 8 * k)) as u8
    }

    /// 16-bit word `k` of the kind's fields.
    #[inline(always)]
    fn half(self, k: u32) -> u16 {
        (self.0 >> (32 + 16 * k)) as u16
    }

    /// Where the piece's groups start in the bytes, and how many there are.
    #[inline(always)]
    fn groups(self) -> (usize, usize) {
        ((self.0 >> 16) as u16 as usize, (self.0 >> 8) as u8 as usize)
    }
}

/// An anchored DFA that says whether a piece matches exactly a given stretch of input.
#[derive(Clone)]
struct Exact {
    dfa: dense::DFA<Vec<u32>>,
    start: StateID,
}

impl std::fmt::Debug for Exact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exact").finish_non_exhaustive()
    }
}

impl Exact {
    /// The piece `h`'s DFA, and whether it matches the empty string.
    fn new(h: &Hir, limit: usize) -> Option<(Exact, bool)> {
        let nfa = thompson::Compiler::new()
            .configure(
                thompson::Config::new()
                    .utf8(false)
                    .nfa_size_limit(Some(4 * limit))
                    .which_captures(thompson::WhichCaptures::None),
            )
            .build_from_hir(h)
            .ok()?;
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .match_kind(MatchKind::All)
                    .start_kind(StartKind::Anchored)
                    .dfa_size_limit(Some(limit))
                    .determinize_size_limit(Some(limit)),
            )
            .build_from_nfa(&nfa)
            .ok()?;
        let start = dfa.start_state(&start::Config::new().anchored(Anchored::Yes)).ok()?;
        let empty = dfa.is_match_state(dfa.next_eoi_state(start));
        Some((Exact { dfa, start }, empty))
    }

    /// Does the piece match all of `h`?
    #[inline]
    fn matches(&self, h: &[u8]) -> bool {
        let mut sid = self.start;
        for &b in h {
            sid = self.dfa.next_state(sid, b);
            if self.dfa.is_dead_state(sid) {
                return false;
            }
        }
        self.dfa.is_match_state(self.dfa.next_eoi_state(sid))
    }
}

/// A rule's pieces, between `^` and `$`, in one allocation that starts a line, laid out so
/// that a split of a dialed or E.164 number reads a few consecutive lines, which the walk of
/// a coming call asks for together ([`Splits::prefetch`]):
/// - a word per piece ([`Piece::encode`]);
/// - bytes: the pieces' groups, then their strings ([`Kind::Strings`]), up to a word;
/// - the class bits, a word per byte: bit `c` says the byte is in class `c`, one of the byte
///   classes of the pieces' runs and strings (real rules use a dozen or two; more than 64
///   and the rule keeps the backtracker), so one load and a mask test a byte. Byte `b`'s word
///   is the `(b - '+') % 256`th, so that those of `+` and the digits, what numbers are made
///   of, come first, right after the strings.
///
/// Strings of class numbers a byte each keep the international rule's country codes (a
/// score of them) to two lines, where a word per class took ten.
pub(crate) struct Splits {
    /// The words, from `start`, the first word of a line (the allocation has a line's worth
    /// more, since the allocator promises 8 bytes of alignment, not 64).
    storage: Box<[u64]>,
    start: usize,
    pieces: usize,
    /// Where the class bits start, in words.
    member: usize,
    /// The DFAs of [`Kind::Exact`] pieces, read only for them.
    exact: Box<[Exact]>,
}

impl std::fmt::Debug for Splits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pieces = self.view().map(|v| v.pieces.iter().map(|&w| Piece::decode(w)).collect());
        let pieces: Vec<Piece> = pieces.unwrap_or_default();
        f.debug_struct("Splits").field("pieces", &pieces).finish_non_exhaustive()
    }
}

/// The longest input [`Splits::fill`] takes (its memo has a bit per position in a `u64`);
/// longer ones, rare (cleaned dialed strings are at most 64 bytes), go to the backtracker.
const MAX_INPUT: usize = 63;

/// The most pieces a rule may have for [`Splits`].
const MAX_PIECES: usize = 64;

/// The most lines [`Splits::prefetch`] asks for.
const MAX_PREFETCH_LINES: usize = 8;

/// A bound as [`Kind`] keeps it: anything past [`MAX_INPUT`] as `MAX_INPUT + 1`.
fn bound(n: usize) -> u8 {
    n.min(MAX_INPUT + 1) as u8
}

impl Splits {
    /// The splits of `hir`, if it has the shape described in the module docs. Groups with a
    /// Rust index below `needed` are the ones the caller reads; others may sit anywhere.
    /// `limit` bounds each piece DFA's size in bytes.
    pub fn of(hir: &Hir, needed: usize, limit: usize) -> Option<Splits> {
        let HirKind::Concat(parts) = hir.kind() else { return None };
        let (first, rest) = parts.split_first()?;
        let (last, middle) = rest.split_last()?;
        if first.kind() != &HirKind::Look(Look::Start) || last.kind() != &HirKind::Look(Look::End) {
            return None;
        }
        // The walk recurses once per piece: a bounded depth (real rules have a handful).
        if middle.is_empty() || middle.len() > MAX_PIECES {
            return None;
        }
        let mut pieces = Vec::with_capacity(middle.len());
        let mut classes = Vec::new();
        // Every piece's groups first, then the strings: a split sets the groups of each piece
        // it takes, but reads the strings of a piece only until one fits.
        let mut groups = Vec::new();
        let mut strings = Vec::new();
        let mut exact = Vec::new();
        for (i, h) in middle.iter().enumerate() {
            let mut inner = h;
            let from = groups.len();
            while let HirKind::Capture(c) = inner.kind() {
                // The others have no slots to fill.
                if (c.index as usize) < needed {
                    groups.push(u8::try_from(c.index).ok()?);
                }
                inner = &c.sub;
            }
            if !inner.properties().look_set().is_empty() || has_group_below(inner, needed) {
                return None;
            }
            let kind = match piece_kind(inner, &mut classes, &mut strings) {
                Some(k) => k,
                None => {
                    let width = fixed_width(inner);
                    if width.is_none() && i + 1 < middle.len() {
                        return None;
                    }
                    let (dfa, empty) = Exact::new(inner, limit)?;
                    exact.push(dfa);
                    let dfa = u16::try_from(exact.len() - 1).ok()?;
                    Kind::Exact { dfa, width: width.map(bound), empty }
                }
            };
            let groups = (u16::try_from(from).ok()?, u8::try_from(groups.len() - from).ok()?);
            pieces.push(Piece { kind, groups });
        }
        if classes.len() > 64 {
            return None;
        }
        // Where the bytes start and end; places in them are 16-bit.
        let groups_at = 8 * pieces.len();
        let strings_at = groups_at + groups.len();
        let end = strings_at + strings.len();
        let (g, s) = (u16::try_from(groups_at).ok()?, u16::try_from(strings_at).ok()?);
        u16::try_from(end).ok()?;
        let member = end.div_ceil(8);
        let mut words = vec![0u64; member + 256];
        for (w, piece) in words.iter_mut().zip(&mut pieces) {
            piece.groups.0 += g;
            if let Kind::Strings { from, to, .. } = &mut piece.kind {
                (*from, *to) = (*from + s, *to + s);
            }
            *w = piece.encode();
        }
        let bytes: &mut [u8] = bytemuck::cast_slice_mut(&mut words[..member]);
        bytes[groups_at..strings_at].copy_from_slice(&groups);
        bytes[strings_at..end].copy_from_slice(&strings);
        for (c, set) in classes.iter().enumerate() {
            for b in 0..=255u8 {
                if set.has(b) {
                    words[member + usize::from(b.wrapping_sub(b'+'))] |= 1 << c;
                }
            }
        }
        let mut storage = vec![0u64; words.len() + 7].into_boxed_slice();
        // Words up to the next line (addresses of `u64`s are multiples of 8).
        let start = (storage.as_ptr() as usize).wrapping_neg() % 64 / 8;
        storage[start..start + words.len()].copy_from_slice(&words);
        Some(Splits { storage, start, pieces: pieces.len(), member, exact: exact.into() })
    }

    /// Heap bytes.
    pub fn memory_usage(&self) -> usize {
        8 * self.storage.len()
            + self
                .exact
                .iter()
                .map(|e| e.dfa.memory_usage() + std::mem::size_of::<Exact>())
                .sum::<usize>()
    }

    /// The words, from the one that starts a line.
    #[inline]
    fn words(&self) -> &[u64] {
        self.storage.get(self.start..).unwrap_or_default()
    }

    /// The pieces, bytes and class bits, each checked once (`None` cannot happen).
    #[inline]
    fn view(&self) -> Option<View<'_>> {
        let (head, member) = self.words().split_at_checked(self.member)?;
        Some(View {
            pieces: head.get(..self.pieces)?,
            bytes: bytemuck::cast_slice(head),
            member: member.first_chunk::<256>()?,
            exact: &self.exact,
        })
    }

    /// Fills `slots` (pairs per Rust group index, as many as fit) for `s`, which the rule
    /// matches. Returns false if it finds no way through (cannot happen when the rule matches
    /// `s`) or `s` is too long for it; the caller then asks the backtracker. Needs no scratch
    /// of its own (its memo is on the stack), so a caller with thousands of plans reads no
    /// per-plan cache for it.
    pub fn fill(&self, s: &str, slots: &mut [Option<NonMaxUsize>]) -> bool {
        let h = s.as_bytes();
        let Some(view) = self.view() else { return false };
        if h.len() > MAX_INPUT {
            return false;
        }
        slots.fill(None);
        if let [start, end, ..] = slots {
            *start = NonMaxUsize::new(0);
            *end = NonMaxUsize::new(h.len());
        }
        if view.first_choices(h, slots) {
            return true;
        }
        let mut failed = [0u64; MAX_PIECES];
        view.walk(h, 0, 0, &mut failed, slots)
    }

    /// Asks for the lines a split of a dialed or E.164 number reads: the pieces, the groups,
    /// the strings and the class bits of `+` and the digits, all in a row from the first.
    #[inline]
    pub(crate) fn prefetch(&self) {
        let lines = (8 * (self.member + usize::from(b'9' - b'+') + 1)).div_ceil(64);
        tpr_types::prefetch_lines(self.words().as_ptr(), lines.min(MAX_PREFETCH_LINES));
    }
}

/// A [`Splits`]' parts, for a split.
#[derive(Clone, Copy)]
struct View<'a> {
    /// A word per piece.
    pieces: &'a [u64],
    /// The words before the class bits as bytes: where the groups and strings are.
    bytes: &'a [u8],
    /// The class bits of byte `b` at `(b - '+') % 256`.
    member: &'a [u64; 256],
    exact: &'a [Exact],
}

impl<'a> View<'a> {
    /// The strings of a [`Kind::Strings`] piece, in order.
    #[inline]
    fn alts(&self, from: u16, to: u16) -> impl Iterator<Item = &'a [u8]> {
        let mut b = self.bytes.get(usize::from(from)..usize::from(to)).unwrap_or_default();
        std::iter::from_fn(move || {
            let (&len, rest) = b.split_first()?;
            let (a, rest) = rest.split_at_checked(usize::from(len))?;
            b = rest;
            Some(a)
        })
    }

    /// Sets the slots of the groups of a piece to `p..p + w`.
    #[inline]
    fn set_groups(&self, piece: Word, p: usize, w: usize, slots: &mut [Option<NonMaxUsize>]) {
        let (from, n) = piece.groups();
        for &g in self.bytes.get(from..from + n).unwrap_or_default() {
            let g = usize::from(g);
            if let Some(pair) = slots.get_mut(2 * g..2 * g + 2) {
                pair[0] = NonMaxUsize::new(p);
                pair[1] = NonMaxUsize::new(p + w);
            }
        }
    }

    /// The common case, without recursion: every piece's first choice, one after another.
    /// If that path reaches the end it is the one the walk would find first, so it is the
    /// leftmost-first match; if not, the caller walks. Group slots it sets on the way are
    /// all set again by a walk.
    fn first_choices(&self, h: &[u8], slots: &mut [Option<NonMaxUsize>]) -> bool {
        let mut p = 0;
        for &word in self.pieces {
            let word = Word(word);
            let rest = h.get(p..).unwrap_or_default();
            let w = match word.tag() {
                Piece::RUN => {
                    let (class, min, max) = (word.byte(0), usize::from(word.byte(1)), word.byte(2));
                    let run = self.run(class, max, rest);
                    if run < min {
                        return false;
                    }
                    if word.flag(0) { run } else { min }
                }
                Piece::STRINGS => {
                    let optional = word.optional();
                    if optional == 1 {
                        0
                    } else {
                        match self.alts(word.half(0), word.half(1)).find(|a| self.starts(a, rest)) {
                            Some(a) => a.len(),
                            None if optional != 0 => 0,
                            None => return false,
                        }
                    }
                }
                _ => {
                    let w = if word.flag(1) { usize::from(word.byte(2)) } else { rest.len() };
                    if w > rest.len() || !self.exact(word.half(0), word.flag(0), &rest[..w]) {
                        return false;
                    }
                    w
                }
            };
            self.set_groups(word, p, w, slots);
            p += w;
        }
        p == h.len()
    }

    /// Can pieces `i..` match `h[p..]`? If so, their groups are set. Leftmost-first: each
    /// piece's choices in priority order, the first that lets the rest match. `failed[i]`
    /// remembers positions from which pieces `i..` cannot match, so no (piece, position) is
    /// tried twice: at most pieces × positions × choices steps.
    fn walk(
        &self,
        h: &[u8],
        i: usize,
        p: usize,
        failed: &mut [u64],
        slots: &mut [Option<NonMaxUsize>],
    ) -> bool {
        let Some(&word) = self.pieces.get(i) else { return p == h.len() };
        let piece = Piece::decode(word);
        if failed[i] & 1 << p != 0 {
            return false;
        }
        let rest = &h[p..];
        let found = match piece.kind {
            Kind::Run { class, min, max, greedy } => {
                let (min, run) = (usize::from(min), self.run(class, max, rest));
                let mut found = false;
                if run >= min {
                    let mut w = if greedy { run } else { min };
                    loop {
                        if self.take(h, Word(word), i, p, w, failed, slots) {
                            found = true;
                            break;
                        }
                        if greedy {
                            if w == min {
                                break;
                            }
                            w -= 1;
                        } else {
                            if w == run {
                                break;
                            }
                            w += 1;
                        }
                    }
                }
                found
            }
            Kind::Strings { from, to, optional } => {
                let mut found =
                    optional == Some(false) && self.take(h, Word(word), i, p, 0, failed, slots);
                if !found {
                    for a in self.alts(from, to) {
                        if self.starts(a, rest)
                            && self.take(h, Word(word), i, p, a.len(), failed, slots)
                        {
                            found = true;
                            break;
                        }
                    }
                }
                found
                    || (optional == Some(true) && self.take(h, Word(word), i, p, 0, failed, slots))
            }
            Kind::Exact { dfa, width, empty } => {
                let w = width.map_or(rest.len(), usize::from);
                w <= rest.len()
                    && self.exact(dfa, empty, &rest[..w])
                    && self.take(h, Word(word), i, p, w, failed, slots)
            }
        };
        if !found {
            failed[i] |= 1 << p;
        }
        found
    }

    /// Does `rest` start with the string of classes `a`?
    #[inline]
    fn starts(&self, a: &[u8], rest: &[u8]) -> bool {
        a.len() <= rest.len() && a.iter().zip(rest).all(|(&c, &b)| self.member(b) >> c & 1 != 0)
    }

    /// How many bytes of class `class` start `rest`, at most `max`.
    #[inline]
    fn run(&self, class: u8, max: u8, rest: &[u8]) -> usize {
        let rest = &rest[..rest.len().min(usize::from(max))];
        rest.iter().position(|&b| self.member(b) >> class & 1 == 0).unwrap_or(rest.len())
    }

    /// Piece `i` (`piece`) takes `h[p..p + w]`: can the pieces after it match the rest? If
    /// so, sets its groups.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn take(
        &self,
        h: &[u8],
        piece: Word,
        i: usize,
        p: usize,
        w: usize,
        failed: &mut [u64],
        slots: &mut [Option<NonMaxUsize>],
    ) -> bool {
        if !self.walk(h, i + 1, p + w, failed, slots) {
            return false;
        }
        self.set_groups(piece, p, w, slots);
        true
    }

    /// The classes of byte `b`, a bit each.
    #[inline]
    fn member(&self, b: u8) -> u64 {
        self.member[usize::from(b.wrapping_sub(b'+'))]
    }

    /// Does [`Kind::Exact`] piece DFA `dfa` match all of `h`?
    #[inline]
    fn exact(&self, dfa: u16, empty: bool, h: &[u8]) -> bool {
        if h.is_empty() {
            return empty;
        }
        self.exact.get(usize::from(dfa)).is_some_and(|d| d.matches(h))
    }
}

fn has_group_below(h: &Hir, needed: usize) -> bool {
    match h.kind() {
        HirKind::Capture(c) => c.index < needed as u32 || has_group_below(&c.sub, needed),
        HirKind::Concat(v) | HirKind::Alternation(v) => {
            v.iter().any(|x| has_group_below(x, needed))
        }
        HirKind::Repetition(r) => has_group_below(&r.sub, needed),
        _ => false,
    }
}

fn fixed_width(h: &Hir) -> Option<usize> {
    let p = h.properties();
    match (p.minimum_len(), p.maximum_len()) {
        (Some(min), Some(max)) if min == max => Some(min),
        _ => None,
    }
}

/// A piece's kind, if its choices can be listed without a DFA. Its strings go to the end
/// of `strings`, with places counted from the start of `strings`.
fn piece_kind(h: &Hir, classes: &mut Vec<Bytes>, strings: &mut Vec<u8>) -> Option<Kind> {
    let mut inner = h;
    while let HirKind::Capture(c) = inner.kind() {
        inner = &c.sub;
    }
    if let HirKind::Repetition(r) = inner.kind() {
        let mut sub = &*r.sub;
        while let HirKind::Capture(c) = sub.kind() {
            sub = &c.sub;
        }
        if let Some(set) = Bytes::of(sub) {
            let max = r.max.map_or(usize::MAX, |m| m as usize);
            let class = class_number(set, classes)?;
            let (min, max) = (bound(r.min as usize), bound(max));
            return Some(Kind::Run { class, min, max, greedy: r.greedy });
        }
        if r.min == 0 && r.max == Some(1) {
            let (from, to) = interned_strings(sub, classes, strings)?;
            return Some(Kind::Strings { from, to, optional: Some(r.greedy) });
        }
        return None;
    }
    let (from, to) = interned_strings(inner, classes, strings)?;
    Some(Kind::Strings { from, to, optional: None })
}

/// The number of class `set` among `classes` (added if new), if it is one of the first 64.
fn class_number(set: Bytes, classes: &mut Vec<Bytes>) -> Option<u8> {
    let i = classes.iter().position(|&x| x == set).unwrap_or_else(|| {
        classes.push(set);
        classes.len() - 1
    });
    u8::try_from(i).ok().filter(|&i| i < 64)
}

/// [`class_strings`] with each class replaced by its number (see [`class_number`]),
/// appended to `strings`: each string's length, then its classes. Where they start and end.
fn interned_strings(
    h: &Hir,
    classes: &mut Vec<Bytes>,
    strings: &mut Vec<u8>,
) -> Option<(u16, u16)> {
    let mut alts = Vec::new();
    class_strings(h, &mut alts)?;
    let from = u16::try_from(strings.len()).ok()?;
    for a in alts {
        strings.push(u8::try_from(a.len()).ok()?);
        for c in a {
            strings.push(class_number(c, classes)?);
        }
    }
    Some((from, u16::try_from(strings.len()).ok()?))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use regex_automata::Input;
    use regex_automata::nfa::thompson::backtrack::BoundedBacktracker;

    use super::*;

    fn parse(p: &str) -> Hir {
        regex_syntax::ParserBuilder::new().unicode(false).utf8(false).build().parse(p).unwrap()
    }

    type Slots = Vec<Option<NonMaxUsize>>;

    /// Spans of groups `0..needed` both ways, or `None` if the backtracker finds no match.
    fn both(p: &str, needed: usize, s: &str) -> Option<(Slots, Slots)> {
        let hir = parse(p);
        let splits = Splits::of(&hir, needed, 1 << 20).unwrap_or_else(|| panic!("{p}: no splits"));
        let nfa = thompson::Compiler::new()
            .configure(thompson::Config::new().utf8(false))
            .build_from_hir(&hir)
            .unwrap();
        let bt = BoundedBacktracker::new_from_nfa(nfa).unwrap();
        let mut want = vec![None; 2 * needed];
        bt.try_search_slots(&mut bt.create_cache(), &Input::new(s), &mut want).unwrap()?;
        let mut got = vec![None; 2 * needed];
        let filled = splits.fill(s, &mut got);
        if s.len() > MAX_INPUT {
            assert!(!filled, "longer than the memo: left to the backtracker");
            return None;
        }
        assert!(filled, "{p} on {s:?}: no way through");
        Some((got, want))
    }

    /// Rules, how many groups their translations read (groups after those may sit inside
    /// the last piece), and inputs that often match them.
    const SHAPES: &[(&str, usize, &str)] = &[
        (
            r"^(?:\+|011)(1|7|2[07]|3[0-46]|39\d|4[013-9]|5[1-8]|6[0-6]|8[1246]|9[0-58]|2[1235689]\d|24[013-9]|242\d|3[578]\d|42\d|5[09]\d|6[789]\d|8[035789]\d|9[679]\d)(?:0)?(\d{6,14})(\D+\d+)?$",
            3,
            r"(\+|011)[1-9][0-9]{0,2}0{0,2}[0-9]{4,15}([*#]{1,2}[0-9]{1,3})?",
        ),
        (r"^1?([2-9]\d\d[2-9]\d{6})\d*(\D+\d+)?$", 2, r"1?[2-9][0-9]{9,11}(#[0-9]{0,3})?"),
        (r"^(\d+)(\d+)$", 3, r"[0-9]{0,12}"),
        (r"^(\d+?)(\d*)$", 3, r"[0-9]{0,12}"),
        (r"^1?(\d{3,10})$", 2, r"1?[0-9]{2,11}"),
        (r"^0?(\d{2,4})(\d{2,4})$", 3, r"0?[0-9]{3,9}"),
        (r"^(0|00|000)(0*)(\d)$", 4, r"0{1,6}[0-9]?"),
        (r"^(?:0)??(\d{1,3})(0?)(\d*)#?$", 4, r"0{0,3}[0-9]{0,6}#?"),
        (r"^(?:\*|#)?(\d{2})(\d{2}?)(\d*)$", 4, r"[*#]?[0-9]{3,8}"),
        (r"^(b|ab|a|abc)(b?)(c*)(c*)$", 5, r"[abc]{1,6}"),
        (r"^(?:011|00)?(\d{2,6})(\d*)$", 3, r"(011|00|0)?[0-9]{0,7}"),
        (r"^(?:011|00)??(\d{2,6})(\d*)$", 3, r"(011|00|0)?[0-9]{0,7}"),
        // A piece of one width that only a DFA can check, and a last piece like it.
        (
            r"^(\d*?)((?:\d[a-c]){2})(\d+)(?:#\d|\*)*$",
            4,
            r"[0-9]{0,4}([0-9][a-c]){1,3}[0-9]{0,4}(#[0-9]|[*])*",
        ),
        (r"^(?:00|\+)(9\d{2}|\d{5})(\d*)$", 3, r"(00|\+)[0-9]{0,8}"),
    ];

    #[test]
    fn real_and_awkward_shapes_have_splits() {
        for (p, needed, _) in SHAPES {
            assert!(Splits::of(&parse(p), *needed, 1 << 20).is_some(), "{p}");
        }
        let intl = |s| both(SHAPES[0].0, 3, s);
        let (got, want) = intl("+14255550123").unwrap();
        assert_eq!(got, want);
        let n = |v: usize| NonMaxUsize::new(v);
        // "+44", the trunk 0 dropped, ten digits.
        let (got, want) = intl("+4402079460123").unwrap();
        assert_eq!(&got[2..6], [n(1), n(3), n(4), n(14)]);
        assert_eq!(got, want);
        // Too few digits after the 0 to drop it: it stays in $2.
        let (got, want) = intl("01144020794").unwrap();
        assert_eq!(&got[4..6], [n(5), n(11)]);
        assert_eq!(got, want);
        // Past the memo's 63 positions the caller's backtracker takes over.
        let splits = Splits::of(&parse(SHAPES[2].0), 3, 1 << 20).unwrap();
        assert!(splits.fill(&"1".repeat(63), &mut [None; 6]));
        assert!(!splits.fill(&"1".repeat(64), &mut [None; 6]));
    }

    fn pieces(splits: &Splits) -> Vec<Piece> {
        splits.view().unwrap().pieces.iter().map(|&w| Piece::decode(w)).collect()
    }

    /// What a split of a number reads is in a row from a line's start, which
    /// [`Splits::prefetch`] asks for: pieces, groups, strings a byte a class, then the class
    /// bits of `+` and the digits. The international rule's country codes (a word a class
    /// until session 28) used to take ten lines of their own.
    #[test]
    fn a_split_reads_a_few_lines_in_a_row() {
        let intl = Splits::of(&parse(SHAPES[0].0), 3, 1 << 20).unwrap();
        assert_eq!(intl.words().as_ptr() as usize % 64, 0, "the words start a line");
        let pieces = pieces(&intl);
        assert_eq!(pieces.len(), 5);
        let strings: Vec<(u16, u16)> = pieces
            .iter()
            .filter_map(|p| match p.kind {
                Kind::Strings { from, to, .. } => Some((from, to)),
                _ => None,
            })
            .collect();
        let bytes: usize = strings.iter().map(|&(from, to)| usize::from(to - from)).sum();
        assert!((60..128).contains(&bytes), "the country codes, a byte a class: {bytes}");
        // `+`, `011`, `0` and the country codes, in order.
        let codes = strings[1];
        let lens: Vec<usize> =
            intl.view().unwrap().alts(codes.0, codes.1).map(<[u8]>::len).collect();
        assert_eq!(lens[..4], [1, 1, 2, 2], "1|7|2[07]|3[0-46]");
        assert_eq!(lens.len(), 19);
        // Groups 1 and 2 only: group 3 (the extension) is not in the translation.
        let groups: Vec<u8> = pieces
            .iter()
            .flat_map(|p| {
                let (from, n) = (usize::from(p.groups.0), usize::from(p.groups.1));
                intl.view().unwrap().bytes[from..from + n].to_vec()
            })
            .collect();
        assert_eq!(groups, [1, 2]);
        for p in &pieces {
            let end = p.groups.0 + u16::from(p.groups.1);
            assert!(strings.iter().all(|&(from, _)| end <= from), "groups first");
        }
        let lines = (8 * (intl.member + 15)).div_ceil(64);
        assert!(lines <= 5, "{lines} lines");
        // The class bits of `+` and the digits come first, the others after.
        let bit = |b: u8| intl.view().unwrap().member(b);
        assert_ne!(bit(b'+') & bit(b'0'), bit(b'0'));
        assert_eq!(intl.words()[intl.member], bit(b'+'));
        assert_eq!(intl.words()[intl.member + 255], bit(b'*'));
        let (got, want) = both(SHAPES[0].0, 3, "+4402079460123").unwrap();
        assert_eq!(got, want);
    }

    #[test]
    fn pieces_come_back_as_they_went_in() {
        let kinds = [
            Kind::Run { class: 63, min: 0, max: 64, greedy: true },
            Kind::Run { class: 0, min: 64, max: 1, greedy: false },
            Kind::Strings { from: 0, to: u16::MAX, optional: None },
            Kind::Strings { from: 9, to: 10, optional: Some(false) },
            Kind::Strings { from: u16::MAX, to: 0, optional: Some(true) },
            Kind::Exact { dfa: u16::MAX, width: None, empty: true },
            Kind::Exact { dfa: 0, width: Some(0), empty: false },
            Kind::Exact { dfa: 3, width: Some(64), empty: true },
        ];
        for kind in kinds {
            for groups in [(0, 0), (u16::MAX, u8::MAX), (8, 1)] {
                let piece = Piece { kind, groups };
                assert_eq!(Piece::decode(piece.encode()), piece);
            }
        }
    }

    #[test]
    fn fixed_counts_are_strings_and_an_empty_last_piece_needs_no_dfa() {
        let splits = Splits::of(&parse(SHAPES[1].0), 2, 1 << 20).unwrap();
        let kinds: Vec<Kind> = pieces(&splits).iter().map(|p| p.kind).collect();
        assert!(
            matches!(
                kinds[..],
                [
                    Kind::Run { .. },
                    Kind::Strings { .. },
                    Kind::Run { .. },
                    Kind::Exact { empty: true, .. }
                ]
            ),
            "{kinds:?}"
        );
        // `[2-9]\d\d[2-9]\d{6}`: one string of ten classes.
        let Kind::Strings { from, to, .. } = kinds[1] else { unreachable!() };
        assert_eq!(
            splits.view().unwrap().alts(from, to).map(<[u8]>::len).collect::<Vec<_>>(),
            [10]
        );
        // The national rule's split reads three lines.
        assert_eq!((8 * (splits.member + 15)).div_ceil(64), 3);
        let mut slots = [None; 4];
        assert!(splits.fill("14255550100", &mut slots));
        assert_eq!(slots[2..], [NonMaxUsize::new(1), NonMaxUsize::new(11)]);
    }

    #[test]
    fn other_shapes_have_none() {
        for p in [
            r"(\d{4})$",
            r"^(\d{4})",
            r"^((\d)\d+)(\d)$",
            r"^(\d|\d\d)+(\d)$",
            r"^(?:(\d)\d)?(\d+)$",
            r"^(1)?(\d{3,10})$",
            r"^a$|^b$",
            r"^\b(\d+)\b(\d)$",
            &format!("^{}(\\d+)$", r"\d?".repeat(70)),
        ] {
            assert!(Splits::of(&parse(p), 8, 1 << 20).is_none(), "{p}");
        }
    }

    fn shape_and_input() -> impl Strategy<Value = (usize, String)> {
        (0..SHAPES.len()).prop_flat_map(|i| {
            (Just(i), proptest::string::string_regex(SHAPES[i].2).expect("input pattern"))
        })
    }

    proptest! {
        // On any input the backtracker matches, every group's span is the backtracker's.
        #[test]
        fn spans_agree_with_the_backtracker((shape, s) in shape_and_input()) {
            let (p, needed, _) = SHAPES[shape];
            if let Some((got, want)) = both(p, needed, &s) {
                prop_assert_eq!(got, want, "{} on {:?}", p, s);
            }
        }

        #[test]
        fn spans_agree_on_any_string(
            shape in 0..SHAPES.len(),
            s in "[0-9+*#abc]{0,3}[0-9]{0,16}[#*]?[0-9]{0,3}",
        ) {
            let (p, needed, _) = SHAPES[shape];
            if let Some((got, want)) = both(p, needed, &s) {
                prop_assert_eq!(got, want, "{} on {:?}", p, s);
            }
        }
    }

    #[test]
    fn the_input_patterns_mostly_match() {
        // Guards the property above against testing nothing.
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        for (i, (p, needed, _)) in SHAPES.iter().enumerate() {
            let hits = (0..200)
                .filter(|_| {
                    let (_, s) = shape_and_input()
                        .prop_filter("this shape", move |(j, _)| *j == i)
                        .new_tree(&mut runner)
                        .unwrap()
                        .current();
                    both(p, *needed, &s).is_some()
                })
                .count();
            assert!(hits >= 40, "{p}: {hits} of 200 inputs match");
        }
    }
}
