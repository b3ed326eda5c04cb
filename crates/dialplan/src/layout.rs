//! Capture layouts: group spans computed from the input length alone.
//!
//! Most real rules read `^ A (B) C $`: anchored at both ends, a sequence of top-level pieces,
//! at most one of which has a variable width, and capture groups only at the top level
//! (`^5(\d{4})$`, `^0(\d+)$`, `^011(\d{7,15})$`). Once the plan's automaton has said that such
//! a rule matches, the match is the whole input and every piece's span follows from the widths:
//! fixed pieces from the left and from the right, the variable piece takes what remains. No
//! second scan is needed to find the captures.
//!
//! Rules of any other shape return `None` here and get a one-pass DFA or a backtracker.

use regex_automata::util::primitives::NonMaxUsize;
use regex_syntax::hir::{Hir, HirKind, Look};

/// The top-level pieces of a rule, between `^` and `$`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Width of each piece (`None`: the one variable piece) and the capture groups that wrap
    /// exactly that piece (`((x))` gives two).
    pieces: Vec<(Option<usize>, Vec<usize>)>,
    fixed_total: usize,
}

fn fixed_width(h: &Hir) -> Option<usize> {
    let p = h.properties();
    match (p.minimum_len(), p.maximum_len()) {
        (Some(min), Some(max)) if min == max => Some(min),
        _ => None,
    }
}

impl Layout {
    /// The layout of `hir`, if it has the shape described above.
    pub fn of(hir: &Hir) -> Option<Layout> {
        let HirKind::Concat(parts) = hir.kind() else { return None };
        let (first, rest) = parts.split_first()?;
        let (last, middle) = rest.split_last()?;
        if first.kind() != &HirKind::Look(Look::Start) || last.kind() != &HirKind::Look(Look::End) {
            return None;
        }
        let mut pieces = Vec::with_capacity(middle.len());
        let mut variable = 0;
        for h in middle {
            let mut inner = h;
            let mut groups = Vec::new();
            while let HirKind::Capture(c) = inner.kind() {
                groups.push(c.index as usize);
                inner = &c.sub;
            }
            if inner.properties().explicit_captures_len() > 0 {
                return None;
            }
            let width = fixed_width(inner);
            variable += usize::from(width.is_none());
            pieces.push((width, groups));
        }
        if variable > 1 {
            return None;
        }
        let fixed_total = pieces.iter().filter_map(|(w, _)| *w).sum();
        Some(Layout { pieces, fixed_total })
    }

    /// Asks for the pieces' line (a fill reads them, then each piece's groups).
    #[inline]
    pub fn prefetch(&self) {
        tpr_types::prefetch(self.pieces.as_ptr());
    }

    /// Fills `slots` (pairs per Rust group index, as many as fit) for a match of the whole
    /// input of `len` bytes. Returns false if `len` cannot be such a match.
    pub fn fill(&self, len: usize, slots: &mut [Option<NonMaxUsize>]) -> bool {
        let Some(variable) = len.checked_sub(self.fixed_total) else { return false };
        slots.fill(None);
        let mut set = |i: usize, v: usize| {
            if let Some(slot) = slots.get_mut(i) {
                *slot = NonMaxUsize::new(v);
            }
        };
        set(0, 0);
        set(1, len);
        let mut pos = 0;
        for (width, groups) in &self.pieces {
            let w = width.unwrap_or(variable);
            for &g in groups {
                set(2 * g, pos);
                set(2 * g + 1, pos + w);
            }
            pos += w;
        }
        pos == len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(p: &str) -> Option<Layout> {
        let hir =
            regex_syntax::ParserBuilder::new().unicode(false).utf8(false).build().parse(p).unwrap();
        Layout::of(&hir)
    }

    fn spans(p: &str, input: &str) -> Vec<Option<(usize, usize)>> {
        let l = layout(p).unwrap();
        let mut slots = vec![None; 8];
        assert!(l.fill(input.len(), &mut slots));
        slots.chunks(2).map(|c| Some((c[0]?.get(), c[1]?.get()))).collect()
    }

    #[test]
    fn real_rule_shapes_have_layouts() {
        assert_eq!(spans(r"^5(\d{4})$", "50100")[1], Some((1, 5)));
        assert_eq!(spans(r"^0(\d+)$", "048014640")[1], Some((1, 9)));
        assert_eq!(spans(r"^011(\d{7,15})$", "01144207946012")[1], Some((3, 14)));
        assert_eq!(
            spans(r"^(\d{3})(\d+)(\d{2})$", "1234567")[1..4],
            [Some((0, 3)), Some((3, 5)), Some((5, 7))]
        );
        assert_eq!(spans(r"^0$", "0")[0], Some((0, 1)));
        // The real AU mobile rule: two groups around the same digits.
        assert_eq!(spans(r"^0(([45]\d{8}))$", "0412345678")[1..3], [Some((1, 10)), Some((1, 10))]);
        assert_eq!(
            spans(r"^\+1(425|206)(\d{7})$", "+14255550100")[1..3],
            [Some((2, 5)), Some((5, 12))]
        );
    }

    #[test]
    fn other_shapes_have_none() {
        for p in [
            r"^(\d+)(\d+)$",
            r"(\d{4})$",
            r"^(\d{4})",
            r"^((\d)\d)$",
            r"^((\d))(\d+)(\d*)$",
            r"^(1)?(\d{10})$",
            r"^a$|^b$",
            r"\d+",
        ] {
            assert!(layout(p).is_none(), "{p}");
        }
    }
}
