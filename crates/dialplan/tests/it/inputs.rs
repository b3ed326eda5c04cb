//! Test inputs: strings that match a rule, near misses of them, and random dial strings.

use regex_syntax::hir::{Class, Hir, HirKind};

/// A small deterministic generator (SplitMix64), so failures print a seed that reproduces them.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A string matched by `pattern` (read as a Rust regex; lookaround and other .NET-only
/// syntax make it return `None`).
pub fn sample(pattern: &str, rng: &mut Rng) -> Option<String> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()?;
    let mut out = String::new();
    walk(&hir, rng, &mut out);
    Some(out)
}

fn walk(h: &Hir, rng: &mut Rng, out: &mut String) {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(lit) => out.push_str(&String::from_utf8_lossy(&lit.0)),
        HirKind::Class(class) => {
            let ranges: Vec<(u32, u32)> = match class {
                Class::Bytes(c) => {
                    c.ranges().iter().map(|r| (r.start() as u32, r.end() as u32)).collect()
                }
                Class::Unicode(c) => {
                    c.ranges().iter().map(|r| (r.start() as u32, r.end() as u32)).collect()
                }
            };
            // Prefer members a dial string can hold, so that the input survives cleanup.
            let dialable: Vec<u32> = ranges
                .iter()
                .flat_map(|&(a, b)| a..=b.min(a + 300))
                .filter(|&c| {
                    c < 128 && (c as u8).is_ascii_digit() || c == '*' as u32 || c == '#' as u32
                })
                .collect();
            let c = if !dialable.is_empty() && rng.below(10) < 9 {
                dialable[rng.below(dialable.len())]
            } else if ranges.is_empty() {
                return;
            } else {
                let (a, b) = ranges[rng.below(ranges.len())];
                a + rng.below((b - a + 1).min(1000) as usize) as u32
            };
            if let Some(c) = char::from_u32(c) {
                out.push(c);
            }
        }
        HirKind::Repetition(r) => {
            let max = r.max.unwrap_or(r.min + 3).min(r.min + 6);
            let n = r.min + rng.below((max - r.min + 1) as usize) as u32;
            for _ in 0..n.min(80) {
                walk(&r.sub, rng, out);
            }
        }
        HirKind::Capture(c) => walk(&c.sub, rng, out),
        HirKind::Concat(v) => v.iter().for_each(|h| walk(h, rng, out)),
        HirKind::Alternation(v) => walk(&v[rng.below(v.len())], rng, out),
    }
}

/// Variants of `s` that may just miss a rule: one character dropped, added, changed, a
/// prefix added.
pub fn near_misses(s: &str, rng: &mut Rng) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut v = vec![format!("{s}5"), format!("0{s}"), format!("+{s}")];
    if !chars.is_empty() {
        let k = rng.below(chars.len());
        let mut dropped = chars.clone();
        dropped.remove(k);
        v.push(dropped.into_iter().collect());
        let mut changed = chars.clone();
        changed[k] = char::from(b'0' + rng.below(10) as u8);
        v.push(changed.into_iter().collect());
        v.push(chars[..chars.len() - 1].iter().collect());
    }
    v
}

/// A random dial string: digits, sometimes with `+`, `*`, `#` or separators.
pub fn random_dial(rng: &mut Rng) -> String {
    let len = 1 + rng.below(16);
    let mut s = String::new();
    if rng.below(5) == 0 {
        s.push('+');
    }
    for _ in 0..len {
        match rng.below(40) {
            0 => s.push('*'),
            1 => s.push('#'),
            2 => s.push(' '),
            3 => s.push('-'),
            _ => s.push(char::from(b'0' + rng.below(10) as u8)),
        }
    }
    s
}
