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

/// How a piece's choices are found and ordered.
#[derive(Debug, Clone)]
enum Kind {
    /// A run of bytes of one class, `min..=max` long, the longest first if greedy. The class
    /// is a bit of [`Splits::member`].
    Run { class: u64, min: usize, max: usize, greedy: bool },
    /// The strings in order; if optional, the empty string first (lazy) or last (greedy).
    /// Each string is a list of classes, each a bit of [`Splits::member`]; the strings are
    /// `Splits::words[alts]`, each its length then its classes (see [`Splits::alts`]).
    Strings { alts: Span, optional: Option<bool> },
    /// Any other piece, checked by its own small DFA: of one width, or the last piece (which
    /// takes whatever is left). `empty`: does it match the empty string? The usual case for
    /// a last piece such as `(\D+\d+)?` (nothing left after the number), answered without
    /// the DFA's tables.
    Exact { dfa: Box<Exact>, width: Option<usize>, empty: bool },
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

/// A stretch of [`Splits::words`].
#[derive(Debug, Clone, Copy)]
struct Span {
    from: u32,
    to: u32,
}

#[derive(Debug, Clone)]
struct Piece {
    kind: Kind,
    /// Rust group indexes that wrap exactly this piece, in [`Splits::words`].
    groups: Span,
}

/// A rule's pieces, between `^` and `$`.
#[derive(Debug, Clone)]
pub(crate) struct Splits {
    pieces: Box<[Piece]>,
    /// First the class bits: bit `c` of word `b` says byte `b` is in class `c`, one of the
    /// byte classes of the pieces' runs and strings (real rules use a dozen or two; more than
    /// 64 and the rule keeps the backtracker), so one load and a mask test a byte. Then the
    /// pieces' groups, then their strings ([`Span`]s): one allocation, so that the lines a
    /// split reads are few and can be asked for together.
    words: Box<[u64]>,
}

/// Where the strings and groups start in [`Splits::words`], after the class bits.
const MEMBER: usize = 256;

/// The longest input [`Splits::fill`] takes (its memo has a bit per position in a `u64`);
/// longer ones, rare (cleaned dialed strings are at most 64 bytes), go to the backtracker.
const MAX_INPUT: usize = 63;

/// The most pieces a rule may have for [`Splits`].
const MAX_PIECES: usize = 64;

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
        // it takes, but reads the strings of a piece only until one fits, so the groups of the
        // last pieces must not sit behind the first pieces' alternatives (the international
        // rule's country codes take ten lines).
        let mut groups_words = Vec::new();
        let mut strings = Vec::new();
        for (i, h) in middle.iter().enumerate() {
            let mut inner = h;
            let from = groups_words.len() as u32;
            while let HirKind::Capture(c) = inner.kind() {
                groups_words.push(u64::from(c.index));
                inner = &c.sub;
            }
            let groups = Span { from, to: groups_words.len() as u32 };
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
                    Kind::Exact { dfa: Box::new(dfa), width, empty }
                }
            };
            pieces.push(Piece { kind, groups });
        }
        if classes.len() > 64 {
            return None;
        }
        let strings_at = u32::try_from(MEMBER + groups_words.len()).ok()?;
        if (strings_at as usize).checked_add(strings.len())? > u32::MAX as usize {
            return None;
        }
        for piece in &mut pieces {
            let g = &mut piece.groups;
            (g.from, g.to) = (g.from + MEMBER as u32, g.to + MEMBER as u32);
            if let Kind::Strings { alts, .. } = &mut piece.kind {
                (alts.from, alts.to) = (alts.from + strings_at, alts.to + strings_at);
            }
        }
        let mut words = vec![0u64; MEMBER];
        words.extend(groups_words);
        words.extend(strings);
        for (c, set) in classes.iter().enumerate() {
            for (b, m) in words[..MEMBER].iter_mut().enumerate() {
                if set.has(b as u8) {
                    *m |= 1 << c;
                }
            }
        }
        Some(Splits { pieces: pieces.into(), words: words.into() })
    }

    /// Heap bytes.
    pub fn memory_usage(&self) -> usize {
        self.pieces
            .iter()
            .map(|p| match &p.kind {
                Kind::Exact { dfa, .. } => dfa.dfa.memory_usage(),
                Kind::Strings { .. } | Kind::Run { .. } => 0,
            })
            .sum::<usize>()
            + self.pieces.len() * std::mem::size_of::<Piece>()
            + 8 * self.words.len()
    }

    /// Fills `slots` (pairs per Rust group index, as many as fit) for `s`, which the rule
    /// matches. Returns false if it finds no way through (cannot happen when the rule matches
    /// `s`) or `s` is too long for it; the caller then asks the backtracker. Needs no scratch
    /// of its own (its memo is on the stack), so a caller with thousands of plans reads no
    /// per-plan cache for it.
    pub fn fill(&self, s: &str, slots: &mut [Option<NonMaxUsize>]) -> bool {
        let h = s.as_bytes();
        if h.len() > MAX_INPUT {
            return false;
        }
        slots.fill(None);
        if let [start, end, ..] = slots {
            *start = NonMaxUsize::new(0);
            *end = NonMaxUsize::new(h.len());
        }
        if self.first_choices(h, slots) {
            return true;
        }
        let mut failed = [0u64; MAX_PIECES];
        self.walk(h, 0, 0, &mut failed, slots)
    }

    /// Asks for the lines a split of a dialed or E.164 number reads: the pieces, the class
    /// bits of `+` and the digits, the groups and the first of the strings.
    #[inline]
    pub(crate) fn prefetch(&self) {
        let pieces = std::mem::size_of_val::<[Piece]>(&self.pieces);
        tpr_types::prefetch_span(self.pieces.as_ptr(), pieces, 4);
        let digits = self.words.get(usize::from(b'+')..).unwrap_or_default();
        tpr_types::prefetch_span(digits.as_ptr(), 8 * (usize::from(b'9' - b'+') + 1), 3);
        let strings = self.words.get(MEMBER..).unwrap_or_default();
        tpr_types::prefetch_span(strings.as_ptr(), std::mem::size_of_val(strings), 4);
    }

    /// The strings of a [`Kind::Strings`] piece, in order.
    #[inline]
    fn alts(&self, span: Span) -> impl Iterator<Item = &[u64]> {
        let mut w = self.words.get(span.from as usize..span.to as usize).unwrap_or_default();
        std::iter::from_fn(move || {
            let (&len, rest) = w.split_first()?;
            let (a, rest) = rest.split_at_checked(usize::try_from(len).ok()?)?;
            w = rest;
            Some(a)
        })
    }

    /// Sets the slots of the groups around piece `i` to `p..p + w`.
    #[inline]
    fn set_groups(&self, i: usize, p: usize, w: usize, slots: &mut [Option<NonMaxUsize>]) {
        let Some(span) = self.pieces.get(i).map(|piece| piece.groups) else { return };
        for &g in self.words.get(span.from as usize..span.to as usize).unwrap_or_default() {
            let g = g as usize;
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
        for (i, piece) in self.pieces.iter().enumerate() {
            let rest = &h[p..];
            let w = match &piece.kind {
                Kind::Run { class, min, max, greedy } => {
                    let run = self.run(*class, *max, rest);
                    if run < *min {
                        return false;
                    }
                    if *greedy { run } else { *min }
                }
                Kind::Strings { optional: Some(false), .. } => 0,
                Kind::Strings { alts, optional } => {
                    let hit = self.alts(*alts).find(|a| self.starts(a, rest));
                    match (hit, optional) {
                        (Some(a), _) => a.len(),
                        (None, Some(_)) => 0,
                        (None, None) => return false,
                    }
                }
                &Kind::Exact { ref dfa, width, empty } => {
                    let w = width.unwrap_or(rest.len());
                    if w > rest.len() || !exact(dfa, empty, &rest[..w]) {
                        return false;
                    }
                    w
                }
            };
            self.set_groups(i, p, w, slots);
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
        let Some(piece) = self.pieces.get(i) else { return p == h.len() };
        if failed[i] & 1 << p != 0 {
            return false;
        }
        let rest = &h[p..];
        let found = match &piece.kind {
            Kind::Run { class, min, max, greedy } => {
                let run = self.run(*class, *max, rest);
                let mut found = false;
                if run >= *min {
                    let mut w = if *greedy { run } else { *min };
                    loop {
                        if self.take(h, i, p, w, failed, slots) {
                            found = true;
                            break;
                        }
                        if *greedy {
                            if w == *min {
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
            Kind::Strings { alts, optional } => {
                let mut found = *optional == Some(false) && self.take(h, i, p, 0, failed, slots);
                if !found {
                    for a in self.alts(*alts) {
                        if self.starts(a, rest) && self.take(h, i, p, a.len(), failed, slots) {
                            found = true;
                            break;
                        }
                    }
                }
                found || (*optional == Some(true) && self.take(h, i, p, 0, failed, slots))
            }
            &Kind::Exact { ref dfa, width, empty } => {
                let w = width.unwrap_or(rest.len());
                w <= rest.len()
                    && exact(dfa, empty, &rest[..w])
                    && self.take(h, i, p, w, failed, slots)
            }
        };
        if !found {
            failed[i] |= 1 << p;
        }
        found
    }

    /// Does `rest` start with the string of classes `a`?
    #[inline]
    fn starts(&self, a: &[u64], rest: &[u8]) -> bool {
        a.len() <= rest.len() && a.iter().zip(rest).all(|(&c, &b)| self.member(b) & c != 0)
    }

    /// How many bytes of class `class` start `rest`, at most `max`.
    #[inline]
    fn run(&self, class: u64, max: usize, rest: &[u8]) -> usize {
        let rest = &rest[..rest.len().min(max)];
        let mut run = 0;
        while run < rest.len() && self.member(rest[run]) & class != 0 {
            run += 1;
        }
        run
    }

    /// Piece `i` takes `h[p..p + w]`: can the pieces after it match the rest? If so, sets
    /// piece `i`'s groups.
    #[inline]
    fn take(
        &self,
        h: &[u8],
        i: usize,
        p: usize,
        w: usize,
        failed: &mut [u64],
        slots: &mut [Option<NonMaxUsize>],
    ) -> bool {
        if !self.walk(h, i + 1, p + w, failed, slots) {
            return false;
        }
        self.set_groups(i, p, w, slots);
        true
    }

    /// The classes of byte `b`, a bit each.
    #[inline]
    fn member(&self, b: u8) -> u64 {
        match self.words.first_chunk::<MEMBER>() {
            Some(member) => member[usize::from(b)],
            None => 0,
        }
    }
}

/// Does an [`Kind::Exact`] piece match all of `h`?
#[inline]
fn exact(dfa: &Exact, empty: bool, h: &[u8]) -> bool {
    if h.is_empty() { empty } else { dfa.matches(h) }
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

/// A piece's kind, if its choices can be listed without a DFA.
fn piece_kind(h: &Hir, classes: &mut Vec<Bytes>, words: &mut Vec<u64>) -> Option<Kind> {
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
            let class = class_bit(set, classes)?;
            return Some(Kind::Run { class, min: r.min as usize, max, greedy: r.greedy });
        }
        if r.min == 0 && r.max == Some(1) {
            let alts = interned_strings(sub, classes, words)?;
            return Some(Kind::Strings { alts, optional: Some(r.greedy) });
        }
        return None;
    }
    let alts = interned_strings(inner, classes, words)?;
    Some(Kind::Strings { alts, optional: None })
}

/// The bit of class `set` among `classes` (added if new), if it is one of the first 64.
fn class_bit(set: Bytes, classes: &mut Vec<Bytes>) -> Option<u64> {
    let i = classes.iter().position(|&x| x == set).unwrap_or_else(|| {
        classes.push(set);
        classes.len() - 1
    });
    1u64.checked_shl(u32::try_from(i).ok()?)
}

/// [`class_strings`] with each class replaced by its bit (see [`class_bit`]), appended to
/// `words` as a [`Kind::Strings`] span: each string's length, then its classes.
fn interned_strings(h: &Hir, classes: &mut Vec<Bytes>, words: &mut Vec<u64>) -> Option<Span> {
    let mut alts = Vec::new();
    class_strings(h, &mut alts)?;
    let from = u32::try_from(words.len()).ok()?;
    for a in alts {
        words.push(a.len() as u64);
        for c in a {
            words.push(class_bit(c, classes)?);
        }
    }
    Some(Span { from, to: u32::try_from(words.len()).ok()? })
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

    /// Every piece's groups come before the strings, in the first line after the class bits,
    /// which [`Splits::prefetch`] asks for: the international rule's country codes would
    /// otherwise push its last groups ten lines on.
    #[test]
    fn groups_come_before_the_strings() {
        let intl = Splits::of(&parse(SHAPES[0].0), 3, 1 << 20).unwrap();
        let strings: Vec<Span> = intl
            .pieces
            .iter()
            .filter_map(|p| match p.kind {
                Kind::Strings { alts, .. } => Some(alts),
                _ => None,
            })
            .collect();
        assert!(strings.iter().map(|a| a.to - a.from).sum::<u32>() > 40, "long alternatives");
        let first_string = strings.iter().map(|a| a.from).min().unwrap();
        for p in intl.pieces.iter() {
            assert!(p.groups.to as usize <= MEMBER + 8, "groups in the first line");
            assert!(p.groups.to <= first_string);
        }
        let (got, want) = both(SHAPES[0].0, 3, "+4402079460123").unwrap();
        assert_eq!(got, want);
    }

    #[test]
    fn fixed_counts_are_strings_and_an_empty_last_piece_needs_no_dfa() {
        let splits = Splits::of(&parse(SHAPES[1].0), 2, 1 << 20).unwrap();
        let kinds: Vec<&Kind> = splits.pieces.iter().map(|p| &p.kind).collect();
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
        let Kind::Strings { alts, .. } = kinds[1] else { unreachable!() };
        assert_eq!(splits.alts(*alts).map(<[u64]>::len).collect::<Vec<_>>(), [10]);
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
