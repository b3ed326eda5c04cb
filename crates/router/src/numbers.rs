//! Reverse number lookup (spec §7): which user or resource account holds a number.
//!
//! Every internal call, every inbound call and every simulated call asks, so the index keeps
//! the common case in one probe of a table with inline keys: a number that is `+` and up to 18
//! digits (every E.164 number) is packed into a `u64`, with no pointer to follow and no string
//! to compare, and its holder sits beside it in the same slot, so a number found is one cache
//! line read (the table is open-addressed, at most half full). Numbers with other characters,
//! and numbers with extensions, take a slower path.
//!
//! Most numbers asked about are not the tenant's (every PSTN call asks before it goes out), so
//! a small Bloom filter (16 bits per number, two probes, about 1.5 % false positives) answers
//! "no" from memory that stays in cache, without touching the table.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use tpr_types::digits::{eight, eight_digits_value};

use crate::ids::UserId;

/// Splits `+14255550100;ext=12` into the base number and the extension.
pub(crate) fn split_ext(number: &str) -> (&str, Option<&str>) {
    // Numbers rarely carry one: a byte scan for ';' before the substring search.
    if !number.as_bytes().contains(&b';') {
        return (number, None);
    }
    match number.split_once(";ext=") {
        Some((base, ext)) => (base, Some(ext)),
        None => (number, None),
    }
}

/// `+` (optional) and 1 to 18 digits, packed: a leading 1 keeps leading zeros apart (`012`
/// and `12` differ), and the top bit says `+`.
fn pack(base: &str) -> Option<u64> {
    let (plus, digits) = match base.as_bytes() {
        [b'+', rest @ ..] => (true, rest),
        all => (false, all),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut v: u64 = 1;
    let mut chunks = digits.chunks_exact(8);
    for chunk in &mut chunks {
        v = v * 100_000_000 + u64::from(eight_digits_value(&eight(chunk))?);
    }
    for &b in chunks.remainder() {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v * 10 + u64::from(d);
    }
    Some(if plus { v | PLUS } else { v })
}

/// The bit of a packed number that says it was written with a leading '+'.
const PLUS: u64 = 1 << 63;

/// The value of four ASCII digits, or `None` if one is not a digit.
#[inline]
fn four_digits(b: [u8; 4]) -> Option<u64> {
    b.iter().try_fold(0, |v, &c| {
        let d = c.wrapping_sub(b'0');
        (d <= 9).then_some(v * 10 + u64::from(d))
    })
}

/// A mixer for packed numbers (splitmix64's finalizer): consecutive numbers of a range land
/// in unrelated buckets. The keys come from the tenant, not from callers, so a keyed hash
/// buys nothing: a caller's number can only miss.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Mix(u64);

impl Hasher for Mix {
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn write(&mut self, bytes: &[u8]) {
        // Strings (the slow path): FNV-1a into the state, mixed again by `finish`.
        let mut h = self.0 ^ 0xcbf2_9ce4_8422_2325;
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type MixBuild = BuildHasherDefault<Mix>;

/// The holders of one base number.
#[derive(Debug, Clone)]
enum Holders {
    /// One holder, without an extension: the common case.
    One(UserId),
    /// Several, or with extensions.
    Many(Vec<(Option<Box<str>>, UserId)>),
}

impl Holders {
    fn push(&mut self, ext: Option<&str>, who: UserId) {
        match self {
            Holders::One(u) => *self = Holders::Many(vec![(None, *u), (ext.map(Into::into), who)]),
            Holders::Many(v) => v.push((ext.map(Into::into), who)),
        }
    }

    /// An exact base and extension wins; else the only holder of the base, if it has no
    /// extension.
    fn find(&self, ext: Option<&str>) -> Option<UserId> {
        match self {
            Holders::One(u) => Some(*u),
            Holders::Many(v) => {
                if let Some(&(_, u)) = v.iter().find(|(e, _)| e.as_deref() == ext) {
                    return Some(u);
                }
                match v.as_slice() {
                    [(None, u)] if ext.is_some() => Some(*u),
                    _ => None,
                }
            }
        }
    }
}

/// A slot of the sealed table: a packed number (0: empty; no packed number is 0) and its
/// holder, or with [`MANY`] set the index of its holders in [`Rest::many`].
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    key: u64,
    value: u32,
}

/// The top bit of a slot's value: the rest indexes [`Rest::many`].
const MANY: u32 = 1 << 31;

/// Numbers of a tenant: base number → holders.
#[derive(Debug, Default)]
#[repr(C)]
pub(crate) struct NumberIndex {
    /// Bloom filter of the packed keys: `filter.len() * 64` bits, a power of two (empty until
    /// [`NumberIndex::seal`]). First: a lookup reads it, then the packed table, and the
    /// engine's hot fields end just before.
    filter: Box<[u64]>,
    /// The packed numbers once sealed: a power of two of slots, at most half of them used,
    /// probed linearly from the key's hash.
    slots: Box<[Slot]>,
    /// The least and the greatest packed number once sealed (`u64::MAX` and 0 when there is
    /// none): a number outside is none of the tenant's, without reading the filter. A
    /// tenant's numbers usually come in a block or a few, and most numbers its users call
    /// are elsewhere: with thousands of tenants, a miss fewer for most decisions.
    lo: u64,
    hi: u64,
    /// The rest, behind a pointer: the engine's fields after the index then start in the
    /// line its hot fields end in, where a decision that reads them (an emergency call's
    /// policies and sites, a Calling Plan call's domestic groups) finds them together.
    rest: Box<Rest>,
}

/// What a lookup reads only for numbers that have more than one holder or do not pack, and
/// what building the index needs.
#[derive(Debug, Default)]
struct Rest {
    /// Holders of the packed numbers that have more than one, or extensions.
    many: Vec<Holders>,
    /// The packed numbers while the index is built; [`NumberIndex::seal`] moves them into
    /// `slots`.
    building: HashMap<u64, Holders, MixBuild>,
    other: HashMap<Box<str>, Holders, MixBuild>,
}

fn hash(key: u64) -> u64 {
    BuildHasherDefault::<Mix>::default().hash_one(key)
}

/// The two bit positions of a key of hash `h` in a filter of `bits` bits (a power of two).
fn probes(h: u64, bits: usize) -> [usize; 2] {
    let mask = bits as u64 - 1;
    [(h & mask) as usize, ((h >> 32) & mask) as usize]
}

/// The first slot to probe for a key of hash `h` in a table of `len` slots (a power of two):
/// bits the filter's probes do not use, so that a key the filter lets through is not also
/// more likely to collide in the table.
fn home(h: u64, len: usize) -> usize {
    (h >> 16) as usize & (len - 1)
}

impl NumberIndex {
    /// The bytes from the start that a lookup reads first: the filter's and the table's
    /// pointers and lengths, and the bounds of the packed numbers.
    pub(crate) const HOT_BYTES: usize = std::mem::offset_of!(NumberIndex, hi) + 8;

    pub fn with_capacity(n: usize) -> NumberIndex {
        NumberIndex {
            rest: Box::new(Rest {
                building: HashMap::with_capacity_and_hasher(n, MixBuild::default()),
                ..Rest::default()
            }),
            ..NumberIndex::default()
        }
    }

    /// Builds the filter and the table once every number is in. Numbers added after this
    /// (none are, in an engine) are found through a second seal.
    pub fn seal(&mut self) {
        let mut entries: HashMap<u64, Holders, MixBuild> =
            HashMap::with_capacity_and_hasher(self.rest.building.len(), MixBuild::default());
        // Sealed again: the numbers sealed before come first, as they were added first.
        for s in self.slots.iter().filter(|s| s.key != 0) {
            let h = match s.value {
                v if v & MANY != 0 => self.rest.many[(v & !MANY) as usize].clone(),
                v => Holders::One(UserId(v)),
            };
            entries.insert(s.key, h);
        }
        for (k, h) in self.rest.building.drain() {
            match entries.get_mut(&k) {
                Some(sealed) => match h {
                    Holders::One(u) => sealed.push(None, u),
                    Holders::Many(v) => {
                        for (ext, u) in v {
                            sealed.push(ext.as_deref(), u);
                        }
                    }
                },
                None => {
                    entries.insert(k, h);
                }
            }
        }
        self.rest.many.clear();
        (self.lo, self.hi) = (u64::MAX, 0);
        let bits = (entries.len() * 16).next_power_of_two().max(64);
        let mut filter = vec![0u64; bits / 64];
        let len = (entries.len() * 2).next_power_of_two().max(4);
        let mut slots = vec![Slot::default(); len];
        for (k, holders) in entries {
            let h = hash(k);
            for b in probes(h, bits) {
                filter[b / 64] |= 1 << (b % 64);
            }
            let value = match holders {
                Holders::One(u) if u.0 & MANY == 0 => u.0,
                h => {
                    self.rest.many.push(h);
                    (self.rest.many.len() - 1) as u32 | MANY
                }
            };
            let mut i = home(h, len);
            while slots[i].key != 0 {
                i = (i + 1) & (len - 1);
            }
            slots[i] = Slot { key: k, value };
            self.lo = self.lo.min(k);
            self.hi = self.hi.max(k);
        }
        self.filter = filter.into_boxed_slice();
        self.slots = slots.into_boxed_slice();
        self.rest.building = HashMap::default();
    }

    /// Adds `number` (with its `;ext=`, if any), held by `who`.
    pub fn add(&mut self, number: &str, who: UserId) {
        let (base, ext) = split_ext(number);
        let new = || match ext {
            None => Holders::One(who),
            Some(e) => Holders::Many(vec![(Some(e.into()), who)]),
        };
        let entry = match pack(base) {
            Some(k) => self.rest.building.entry(k),
            None => {
                match self.rest.other.get_mut(base) {
                    Some(h) => h.push(ext, who),
                    None => {
                        self.rest.other.insert(base.into(), new());
                    }
                }
                return;
            }
        };
        entry.and_modify(|h| h.push(ext, who)).or_insert_with(new);
    }

    /// Who holds `number`?
    #[inline]
    pub fn lookup(&self, number: &str) -> Option<UserId> {
        // A plain number packs as it is; one with `;ext=` (or anything else) does not.
        if let Some(k) = pack(number) {
            return self.lookup_packed(k, None);
        }
        let (base, ext) = split_ext(number);
        match pack(base) {
            Some(k) => self.lookup_packed(k, ext),
            None => self.rest.other.get(base)?.find(ext),
        }
    }

    #[inline]
    fn lookup_packed(&self, k: u64, ext: Option<&str>) -> Option<UserId> {
        let len = self.slots.len();
        if len == 0 {
            // Not sealed yet.
            return self.rest.building.get(&k)?.find(ext);
        }
        let h = self.passes(k)?;
        let mut i = home(h, len);
        loop {
            let s = self.slots[i];
            if s.key == k {
                return match s.value {
                    v if v & MANY != 0 => self.rest.many[(v & !MANY) as usize].find(ext),
                    v => Some(UserId(v)),
                };
            }
            if s.key == 0 {
                return None;
            }
            i = (i + 1) & (len - 1);
        }
    }

    /// The hash of packed number `k` if the sealed table may hold it: if it is within the
    /// bounds (checked first: the filter is past the hot fields) and the filter lets it
    /// through.
    #[inline]
    fn passes(&self, k: u64) -> Option<u64> {
        if k < self.lo || k > self.hi {
            return None;
        }
        let h = hash(k);
        let bits = self.filter.len() * 64;
        probes(h, bits).iter().all(|&b| self.filter[b / 64] & 1 << (b % 64) != 0).then_some(h)
    }

    /// Asks for the slot a lookup of `number` reads first, if the filter lets the number
    /// through: for a caller that asked for the filter ([`NumberIndex::prefetch_filter`]) a
    /// while before and has `number` before normalization, which leaves a number dialed in
    /// E.164 as it is (an internal call's, usually). Reads the filter; asks for no line
    /// for a number that is not the tenant's, bar the filter's false positives.
    #[inline]
    pub(crate) fn prefetch_slot(&self, number: &str) {
        let len = self.slots.len();
        // Most dial strings are not written as the tenant's numbers are, with or without a
        // '+': they are turned away before packing.
        let plus = number.starts_with('+');
        if len == 0 || (self.lo & PLUS != 0 && !plus) || (self.hi & PLUS == 0 && plus) {
            return;
        }
        if let Some(h) = pack(number).and_then(|k| self.passes(k)) {
            tpr_types::prefetch(&self.slots[home(h, len)]);
        }
    }

    /// Asks for the lines a lookup of `number` reads (a hint; numbers that do not pack, such
    /// as those with an extension, are ignored).
    #[inline]
    pub(crate) fn prefetch(&self, number: &str) {
        let (bits, len) = (self.filter.len() * 64, self.slots.len());
        if len == 0 {
            return;
        }
        if let Some(k) = pack(number)
            && (self.lo..=self.hi).contains(&k)
        {
            let h = hash(k);
            let [b, _] = probes(h, bits);
            tpr_types::prefetch(&self.filter[b / 64]);
            tpr_types::prefetch(&self.slots[home(h, len)]);
        }
    }

    /// Starts loading the lines of the Bloom filter that a lookup of what `dialed` normalizes
    /// to reads. A filter of up to 128 bytes (a tenant of up to 64 numbers): its first two
    /// lines, all of it up to 64 bytes wherever it starts, most of a bigger one (asking for a
    /// third line, to cover a 50-number tenant's 128 bytes when they straddle three, ran
    /// slower over 10,000 such tenants; session 20: 5.78-6.16 against 5.94-6.36 M
    /// decisions/s). A bigger one: the two lines `dialed`'s own probes fall in, if it is
    /// written as the tenant's numbers are (E.164, which normalization leaves as it is), and
    /// nothing otherwise: its first lines are no likelier than any others to be read, and
    /// [`NumberIndex::prefetch_slot`] would stall on the probes' lines (session 33: 100
    /// tenants of 5,000 callers ran at four fifths of 10,000 tenants of 50 over the same
    /// 500,000 callers).
    ///
    /// `dialed` is the number before normalization: see [`NumberIndex::may_read_filter`].
    #[inline]
    pub(crate) fn prefetch_filter(&self, dialed: &str) {
        if !self.may_read_filter(dialed) {
            return;
        }
        if self.filter.len() <= 16 {
            tpr_types::prefetch_slice(&self.filter, 2);
        } else if let Some(k) = pack(dialed)
            && (self.lo..=self.hi).contains(&k)
        {
            for b in probes(hash(k), self.filter.len() * 64) {
                tpr_types::prefetch(&self.filter[b / 64]);
            }
        }
    }

    /// Will a lookup of what `dialed` normalizes to likely read the filter? Normalization
    /// usually keeps a number's last digits: when the tenant's numbers differ only in their
    /// last four (a block of up to 10,000) and `dialed` ends in four digits outside theirs,
    /// most likely not. A guess for a hint: wrong, it costs a miss or a line loaded for
    /// nothing, never a wrong answer.
    #[inline]
    fn may_read_filter(&self, dialed: &str) -> bool {
        const BLOCK: u64 = 10_000;
        if self.lo > self.hi {
            // No number packs: a lookup reads nothing past the bounds.
            return false;
        }
        // The digits' value, without the bit that says whether a '+' led them.
        let (lo, hi) = (self.lo & !PLUS, self.hi & !PLUS);
        if self.lo & PLUS != self.hi & PLUS || lo / BLOCK != hi / BLOCK {
            return true;
        }
        match dialed.as_bytes().last_chunk::<4>().and_then(|&t| four_digits(t)) {
            Some(tail) => (lo % BLOCK..=hi % BLOCK).contains(&tail),
            None => true,
        }
    }

    /// Heap bytes, roughly (the tables' slots).
    pub fn memory_usage(&self) -> usize {
        self.filter.len() * 8
            + self.slots.len() * std::mem::size_of::<Slot>()
            + std::mem::size_of::<Rest>()
            + self.rest.many.capacity() * std::mem::size_of::<Holders>()
            + self.rest.building.capacity() * (8 + std::mem::size_of::<Holders>() + 1)
            + self.rest.other.capacity() * (16 + std::mem::size_of::<Holders>() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_keeps_numbers_apart() {
        assert_eq!(pack("+14255550100"), Some(1 << 63 | 114_255_550_100));
        assert_ne!(pack("012"), pack("12"));
        assert_ne!(pack("+12"), pack("12"));
        assert_eq!(pack("+123456789012345678"), Some(1 << 63 | 1_123_456_789_012_345_678));
        for bad in ["", "+", "+1234567890123456789", "12a", "+1 425", "1;ext=2", "++1"] {
            assert_eq!(pack(bad), None, "{bad:?}");
        }
    }

    /// The digit-at-a-time packing `pack` replaced, as the oracle for its word-at-a-time one.
    fn pack_slowly(base: &str) -> Option<u64> {
        let (plus, digits) = match base.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, base),
        };
        if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v = digits.bytes().fold(1u64, |v, b| v * 10 + u64::from(b - b'0'));
        Some(if plus { v | 1 << 63 } else { v })
    }

    proptest::proptest! {
        #[test]
        fn word_packing_agrees_with_digit_packing(
            s in "\\+?[0-9]{0,20}",
            at in 0usize..22,
            byte in proptest::num::u8::ANY,
        ) {
            // Also with one byte replaced, which may make it not a number (a replacement
            // that breaks UTF-8 is not a string and is skipped).
            proptest::prop_assert_eq!(pack(&s), pack_slowly(&s));
            let mut b = s.clone().into_bytes();
            if let Some(slot) = b.get_mut(at) {
                *slot = byte;
            }
            if let Ok(t) = String::from_utf8(b) {
                proptest::prop_assert_eq!(pack(&t), pack_slowly(&t));
            }
        }
    }

    #[test]
    fn numbers_outside_the_bounds_are_none_of_the_tenants() {
        let mut ix = NumberIndex::default();
        for (i, n) in
            ["+14255550100", "+14255550149", "+14255550120", "14255550160"].iter().enumerate()
        {
            ix.add(n, UserId(i as u32));
        }
        ix.seal();
        // The least and greatest are found, their neighbours are not; a number without
        // '+' is not one with it.
        assert_eq!(ix.lookup("+14255550100"), Some(UserId(0)));
        assert_eq!(ix.lookup("+14255550149"), Some(UserId(1)));
        assert_eq!(ix.lookup("+14255550120"), Some(UserId(2)));
        assert_eq!(ix.lookup("14255550160"), Some(UserId(3)));
        for none in ["+14255550099", "+14255550150", "14255550159", "14255550161", "+1"] {
            assert_eq!(ix.lookup(none), None, "{none}");
        }
        // What a lookup lets through to the table, and so what `prefetch_slot` asks for:
        // every number, and nothing outside the bounds.
        for n in ["+14255550100", "+14255550149", "+14255550120", "14255550160"] {
            assert!(pack(n).and_then(|k| ix.passes(k)).is_some(), "{n}");
        }
        for none in ["+14255550099", "+14255550150", "14255550159", "14255550161"] {
            assert_eq!(pack(none).and_then(|k| ix.passes(k)), None, "{none}");
        }
        for any in ["+14255550100", "+1", "", "911", "+1;ext=2", "(425) 555-0100"] {
            ix.prefetch_slot(any);
            NumberIndex::default().prefetch_slot(any);
        }
        let mut empty = NumberIndex::default();
        empty.seal();
        assert_eq!(empty.lookup("+14255550100"), None);
        assert!(!empty.may_read_filter("+14255550100"));
    }

    #[test]
    fn the_filter_is_asked_for_when_the_last_four_digits_may_be_the_tenants() {
        let block = |numbers: &[&str]| {
            let mut ix = NumberIndex::default();
            for (i, n) in numbers.iter().enumerate() {
                ix.add(n, UserId(i as u32));
            }
            ix.seal();
            ix
        };
        let ix = block(&["+14255550100", "+14255550149"]);
        for yes in ["+14255550120", "(206) 555-0100", "0149", "911", "1;ext=5", "55501x0", ""] {
            assert!(ix.may_read_filter(yes), "{yes}");
        }
        for no in ["+14255550150", "555-9999", "(425) 555-0099", "+44 20 7946 0000"] {
            assert!(!ix.may_read_filter(no), "{no}");
        }
        // Numbers in two blocks, or written with and without '+': any tail may be theirs.
        for ix in
            [block(&["+14255550100", "+12065550100"]), block(&["+14255550100", "14255550101"])]
        {
            assert!(ix.may_read_filter("555-9999"));
        }
    }

    #[test]
    fn lookup_follows_the_extension_rules() {
        let mut ix = NumberIndex::default();
        ix.add("+14255550100", UserId(1));
        ix.add("+14255550200;ext=12", UserId(2));
        ix.add("+14255550200;ext=13", UserId(3));
        ix.add("+14255550300", UserId(4));
        ix.add("+14255550300;ext=5", UserId(5));
        ix.add("tel-odd#1", UserId(6));
        ix.add("012", UserId(7));
        let unsealed = ix.lookup("+14255550100");
        ix.seal();
        assert_eq!(unsealed, ix.lookup("+14255550100"));
        assert_eq!(ix.lookup("+14255550100"), Some(UserId(1)));
        // The only holder of a base without an extension takes calls to any extension.
        assert_eq!(ix.lookup("+14255550100;ext=9"), Some(UserId(1)));
        assert_eq!(ix.lookup("+14255550200;ext=13"), Some(UserId(3)));
        assert_eq!(ix.lookup("+14255550200;ext=14"), None);
        assert_eq!(ix.lookup("+14255550200"), None);
        assert_eq!(ix.lookup("+14255550300"), Some(UserId(4)));
        assert_eq!(ix.lookup("+14255550300;ext=5"), Some(UserId(5)));
        assert_eq!(ix.lookup("+14255550300;ext=6"), None);
        assert_eq!(ix.lookup("tel-odd#1"), Some(UserId(6)));
        assert_eq!(ix.lookup("012"), Some(UserId(7)));
        assert_eq!(ix.lookup("12"), None);
        assert_eq!(ix.lookup("+14255550101"), None);
    }

    proptest::proptest! {
        /// The sealed table finds what the building map finds: every number added (with
        /// shared bases and extensions among them), and none of the others.
        #[test]
        fn sealed_lookups_agree_with_the_unsealed_index(
            adds in proptest::collection::vec((0u64..300, proptest::option::of(0u8..3)), 0..200),
            asks in proptest::collection::vec((0u64..400, proptest::option::of(0u8..4)), 0..100),
            reseal in proptest::bool::ANY,
        ) {
            let number = |n: u64, ext: Option<u8>| match ext {
                Some(e) => format!("+1425555{n:04};ext={e}"),
                None => format!("+1425555{n:04}"),
            };
            let (mut sealed, mut plain) = (NumberIndex::default(), NumberIndex::default());
            let (first, rest) = adds.split_at(adds.len() / 2);
            for (i, &(n, e)) in first.iter().enumerate() {
                sealed.add(&number(n, e), UserId(i as u32));
                plain.add(&number(n, e), UserId(i as u32));
            }
            if reseal {
                // Numbers added after a seal are found after the next one.
                sealed.seal();
            }
            for (i, &(n, e)) in rest.iter().enumerate() {
                let who = UserId((first.len() + i) as u32);
                sealed.add(&number(n, e), who);
                plain.add(&number(n, e), who);
            }
            sealed.seal();
            for &(n, e) in adds.iter().chain(&asks) {
                let q = number(n, e);
                proptest::prop_assert_eq!(sealed.lookup(&q), plain.lookup(&q), "{}", q);
            }
        }
    }

    #[test]
    fn the_filter_never_hides_a_number_and_rejects_most_others() {
        let mut ix = NumberIndex::with_capacity(10_000);
        for i in 0..10_000u32 {
            ix.add(&format!("+1425555{i:04}"), UserId(i));
        }
        ix.seal();
        for i in 0..10_000u32 {
            assert_eq!(ix.lookup(&format!("+1425555{i:04}")), Some(UserId(i)));
        }
        // Numbers next to the range: the filter alone must turn away nearly all of them.
        let passed = (0..100_000u64)
            .filter(|i| {
                let k = pack(&format!("+1206{i:07}")).unwrap();
                probes(hash(k), ix.filter.len() * 64)
                    .iter()
                    .all(|&b| ix.filter[b / 64] & 1 << (b % 64) != 0)
            })
            .count();
        assert!(passed < 3_000, "{passed} of 100,000 outsiders passed the filter");
    }
}
