//! Questions about the set of dial strings a .NET pattern matches, decided on automata: does a
//! rule match anything at all, and is everything it matches already matched by earlier rules?
//! `tpr check` asks them of dial-plan rules and voice routes.
//!
//! The strings considered are the ones matching ever sees: an optional leading `+`, then
//! digits, `*` and `#` (what input cleanup leaves, and what normalization produces). Patterns
//! are searched, as Teams does, so `^` and `$` anchors mean what they mean there.

use std::collections::{HashMap, VecDeque};

use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::util::{primitives::StateID, start, syntax};
use regex_automata::{Anchored, MatchKind};

use crate::error::CompileErrorKind;
use crate::pattern::check;

/// The answer to "is every dial string `later` matches also matched by `earlier`?"
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// Yes: nothing reaches `later` past the earlier patterns.
    Covered,
    /// No: this dial string (the shortest) is matched by `later` and by none of `earlier`.
    Witness(String),
    /// Not decided, and why (lookaround or backreferences, or automata over the size limit).
    Undecided(&'static str),
}

/// Largest automaton built for one question, in bytes.
const SIZE_LIMIT: usize = 8 << 20;

const ALPHABET: &[u8] = b"0123456789*#";

fn dfa(patterns: &[String]) -> Option<dense::DFA<Vec<u32>>> {
    dense::Builder::new()
        .configure(
            dense::Config::new()
                .match_kind(MatchKind::All)
                .start_kind(StartKind::Anchored)
                .dfa_size_limit(Some(SIZE_LIMIT))
                .determinize_size_limit(Some(SIZE_LIMIT)),
        )
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .thompson(regex_automata::nfa::thompson::Config::new().utf8(false))
        .build_many(patterns)
        .ok()
}

/// The searched form of one pattern, and whether it is exact (not a regular superset of a
/// pattern with lookaround).
fn searched(pattern: &str) -> Result<(String, bool), CompileErrorKind> {
    let c = check(pattern)?;
    let exact = !c.t.needs_backtracker;
    Ok((format!("(?s:.)*?(?:{})", c.t.automaton_pattern()), exact))
}

/// Does any dial string match `pattern`? `Coverage::Covered` means none does.
pub fn matches_nothing(pattern: &str) -> Result<Coverage, CompileErrorKind> {
    covered_by(pattern, &[])
}

/// Is every dial string `later` matches also matched by one of `earlier`?
pub fn covered_by(later: &str, earlier: &[&str]) -> Result<Coverage, CompileErrorKind> {
    let (a, a_exact) = searched(later)?;
    let mut b_pats = Vec::with_capacity(earlier.len());
    let mut b_exact = true;
    for e in earlier {
        let (p, exact) = searched(e)?;
        b_exact &= exact;
        b_pats.push(p);
    }
    let Some(a) = dfa(&[a]) else { return Ok(Coverage::Undecided("its automaton is too big")) };
    let b = if b_pats.is_empty() {
        None
    } else {
        match dfa(&b_pats) {
            Some(b) => Some(b),
            None => return Ok(Coverage::Undecided("the earlier patterns' automaton is too big")),
        }
    };
    let answer = search(&a, b.as_ref());
    Ok(match answer {
        // A superset of `later` is covered: so is `later`. Supersets of the earlier patterns
        // may cover what the real ones do not.
        Coverage::Covered if !b_exact => {
            Coverage::Undecided("an earlier pattern uses lookaround or backreferences")
        }
        Coverage::Witness(_) if !a_exact => {
            Coverage::Undecided("it uses lookaround or backreferences")
        }
        other => other,
    })
}

/// One side of the product: its DFA state, and whether it has matched already.
type Side = (StateID, bool);

fn step(d: &dense::DFA<Vec<u32>>, (s, matched): Side, byte: u8) -> Side {
    let next = d.next_state(s, byte);
    (next, matched || d.is_match_state(next))
}

fn ends_matched(d: &dense::DFA<Vec<u32>>, (s, matched): Side) -> bool {
    matched || d.is_match_state(d.next_eoi_state(s))
}

/// Breadth-first search of the product automaton for the shortest dial string `a` matches
/// and `b` does not.
fn search(a: &dense::DFA<Vec<u32>>, b: Option<&dense::DFA<Vec<u32>>>) -> Coverage {
    let cfg = start::Config::new().anchored(Anchored::Yes);
    let (Ok(a0), b0) = (a.start_state(&cfg), b.map(|b| b.start_state(&cfg))) else {
        return Coverage::Undecided("no start state");
    };
    let b0 = match b0 {
        Some(Ok(s)) => Some(s),
        Some(Err(_)) => return Coverage::Undecided("no start state"),
        None => None,
    };
    // Node: (a side, b side or none, at the start of the string).
    type Node = (Side, Option<Side>, bool);
    let root: Node = ((a0, false), b0.map(|s| (s, false)), true);
    let mut parent: HashMap<Node, Option<(Node, u8)>> = HashMap::new();
    parent.insert(root, None);
    let mut queue = VecDeque::from([root]);
    while let Some(node) = queue.pop_front() {
        let (sa, sb, first) = node;
        let b_matched = match (b, sb) {
            (Some(b), Some(sb)) => ends_matched(b, sb),
            _ => false,
        };
        if !first && ends_matched(a, sa) && !b_matched {
            return Coverage::Witness(path(&parent, node));
        }
        let bytes = ALPHABET.iter().copied().chain(first.then_some(b'+'));
        for byte in bytes {
            let na = step(a, sa, byte);
            // `a` can no longer match: nothing down here.
            if a.is_dead_state(na.0) && !na.1 {
                continue;
            }
            let nb = match (b, sb) {
                (Some(b), Some(sb)) => {
                    let nb = step(b, sb, byte);
                    // `b` has matched: every longer string is covered.
                    if nb.1 {
                        continue;
                    }
                    Some(nb)
                }
                _ => None,
            };
            let next = (na, nb, false);
            if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(next) {
                e.insert(Some((node, byte)));
                queue.push_back(next);
            }
        }
    }
    Coverage::Covered
}

fn path<N: std::hash::Hash + Eq + Copy>(parent: &HashMap<N, Option<(N, u8)>>, mut n: N) -> String {
    let mut bytes = Vec::new();
    while let Some(Some((p, b))) = parent.get(&n) {
        bytes.push(*b);
        n = *p;
    }
    bytes.reverse();
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_is_decided_with_a_shortest_witness() {
        assert_eq!(covered_by(r"^(\d{4})$", &[r"^\d+$"]).unwrap(), Coverage::Covered);
        assert_eq!(covered_by(r"^\d+$", &[r"^(\d{4})$"]).unwrap(), Coverage::Witness("0".into()));
        // Searched, not anchored: `1` is found inside any string holding a 1.
        assert_eq!(covered_by(r"^10$", &["1"]).unwrap(), Coverage::Covered);
        assert_eq!(
            covered_by(r"^\+1\d{3}$", &[r"^\+1[2-9]"]).unwrap(),
            Coverage::Witness("+1000".into())
        );
        assert_eq!(matches_nothing("^$").unwrap(), Coverage::Covered);
        assert_eq!(matches_nothing(r"^[a-z]+$").unwrap(), Coverage::Covered);
        assert_eq!(matches_nothing(r"^0$").unwrap(), Coverage::Witness("0".into()));
        assert_eq!(
            covered_by(r"^(?!61)\d+$", &[r"^\d$"]).unwrap(),
            Coverage::Undecided("it uses lookaround or backreferences")
        );
        assert_eq!(
            covered_by(r"^5$", &[r"^(?!6)\d$"]).unwrap(),
            Coverage::Undecided("an earlier pattern uses lookaround or backreferences")
        );
    }
}
