//! Translation templates: .NET substitution syntax, parsed once when a rule compiles.
//!
//! Teams expands a rule's translation with .NET's `Match.Result`, whose syntax differs from
//! Rust's `Captures::expand` in ways that change real results:
//!
//! | token | .NET meaning (and tpr's) |
//! |---|---|
//! | `$12` | all the digits form one number; group 12 if it exists, else the literal text `$12` |
//! | `$1a` | group 1, then `a` (Rust would look for a group named `1a`) |
//! | `${n}`, `${name}` | group by number or name; unknown: literal text |
//! | `$$` | `$` |
//! | `$0`, `$&` | the whole match |
//! | `` $` ``, `$'`, `$_` | text before the match, after it, the whole input |
//! | `$+` | the highest-numbered group |
//! | `$` + anything else | a literal `$` |
//!
//! Group numbers are .NET numbers; [`GroupTable`] turns them into Rust capture indices at parse
//! time, so expansion is a walk over prepared pieces that never allocates.

use crate::dotnet::GroupTable;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Literal text: a range of [`Template::literal`].
    Lit(u32, u32),
    /// Literal text of one character (the `+` of `+$1`): pushed without a copy call.
    Char(char),
    /// A capture group by Rust index (0 = whole match).
    Group(usize),
    /// `` $` ``: the input before the match.
    Before,
    /// `$'`: the input after the match.
    After,
    /// `$_`: the whole input.
    Input,
}

/// A parsed translation: 32 bytes, which a rule's record keeps beside its matcher (see
/// `CompiledRule`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pieces: Box<[Piece]>,
    literal: Box<str>,
}

/// A template as [`Template::parse_noting`] builds it.
struct Builder {
    literal: String,
    pieces: Vec<Piece>,
    /// `$n`/`${n}` references to groups that do not exist, kept literally (.NET does the same).
    literal_refs: Vec<String>,
}

/// Gives the span of each capture group of one match.
pub(crate) trait Spans {
    /// Byte range of Rust group `index` in the input, if it took part in the match.
    fn span(&self, index: usize) -> Option<(usize, usize)>;
}

impl Template {
    /// Parses `text` against a pattern's groups.
    pub fn parse(text: &str, groups: &GroupTable) -> Template {
        Template::parse_noting(text, groups).0
    }

    /// Parses `text` against a pattern's groups; also gives the `$n`/`${n}` references to
    /// groups that do not exist, which the template keeps as literal text (.NET does the same).
    pub fn parse_noting(text: &str, groups: &GroupTable) -> (Template, Vec<String>) {
        let mut t = Builder { literal: String::new(), pieces: Vec::new(), literal_refs: vec![] };
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'$' {
                let start = i;
                while i < b.len() && b[i] != b'$' {
                    i += 1;
                }
                t.push_lit(&text[start..i]);
                continue;
            }
            // b[i] == '$'
            let next = b.get(i + 1).copied();
            match next {
                Some(b'$') => {
                    t.push_lit("$");
                    i += 2;
                }
                Some(b'&') => {
                    t.pieces.push(Piece::Group(0));
                    i += 2;
                }
                Some(b'`') => {
                    t.pieces.push(Piece::Before);
                    i += 2;
                }
                Some(b'\'') => {
                    t.pieces.push(Piece::After);
                    i += 2;
                }
                Some(b'_') => {
                    t.pieces.push(Piece::Input);
                    i += 2;
                }
                Some(b'+') => {
                    let last = groups.rust_index(groups.last_net()).unwrap_or(0);
                    t.pieces.push(Piece::Group(last));
                    i += 2;
                }
                Some(d) if d.is_ascii_digit() => {
                    let start = i + 1;
                    let mut end = start;
                    while end < b.len() && b[end].is_ascii_digit() {
                        end += 1;
                    }
                    let digits = &text[start..end];
                    match digits.parse::<usize>().ok().and_then(|n| groups.rust_index(n)) {
                        Some(g) => t.pieces.push(Piece::Group(g)),
                        None => {
                            t.literal_refs.push(format!("${digits}"));
                            t.push_lit(&text[i..end]);
                        }
                    }
                    i = end;
                }
                Some(b'{') => {
                    let close = text[i + 2..].find('}').map(|k| i + 2 + k);
                    let group = close.and_then(|c| {
                        let name = &text[i + 2..c];
                        let net = if !name.is_empty() && name.bytes().all(|d| d.is_ascii_digit()) {
                            name.parse::<usize>().ok()
                        } else {
                            groups.by_name(name)
                        };
                        net.and_then(|n| groups.rust_index(n)).map(|g| (g, c))
                    });
                    match (group, close) {
                        (Some((g, c)), _) => {
                            t.pieces.push(Piece::Group(g));
                            i = c + 1;
                        }
                        (None, Some(c)) => {
                            t.literal_refs.push(text[i..=c].to_owned());
                            t.push_lit(&text[i..=c]);
                            i = c + 1;
                        }
                        (None, None) => {
                            t.push_lit("$");
                            i += 1;
                        }
                    }
                }
                _ => {
                    t.push_lit("$");
                    i += 1;
                }
            }
        }
        for piece in &mut t.pieces {
            if let Piece::Lit(s, e) = *piece {
                let mut chars = t.literal[s as usize..e as usize].chars();
                if let (Some(c), None) = (chars.next(), chars.next()) {
                    *piece = Piece::Char(c);
                }
            }
        }
        let template = Template { pieces: t.pieces.into(), literal: t.literal.into() };
        (template, t.literal_refs)
    }
}

impl Builder {
    fn push_lit(&mut self, s: &str) {
        let start = self.literal.len() as u32;
        self.literal.push_str(s);
        let end = self.literal.len() as u32;
        // Merge with a directly preceding literal piece.
        if let Some(Piece::Lit(_, e)) = self.pieces.last_mut()
            && *e == start
        {
            *e = end;
            return;
        }
        self.pieces.push(Piece::Lit(start, end));
    }
}

impl Template {
    /// The highest Rust group index the expansion reads (0: only the whole match).
    pub fn max_group(&self) -> usize {
        self.pieces.iter().map(|p| if let Piece::Group(g) = p { *g } else { 0 }).max().unwrap_or(0)
    }

    /// Asks for the pieces and the literal text an expansion reads.
    #[inline]
    pub fn prefetch(&self) {
        tpr_types::prefetch_slice(&self.pieces, 2);
        tpr_types::prefetch(self.literal.as_ptr());
    }

    /// Appends the expansion for a match of `input` to `out`.
    pub fn expand(&self, input: &str, spans: &impl Spans, out: &mut String) {
        for piece in &self.pieces {
            match *piece {
                Piece::Lit(s, e) => out.push_str(&self.literal[s as usize..e as usize]),
                Piece::Char(c) => out.push(c),
                Piece::Group(g) => {
                    if let Some((s, e)) = spans.span(g) {
                        out.push_str(&input[s..e]);
                    }
                }
                Piece::Before => out.push_str(&input[..spans.span(0).map_or(0, |m| m.0)]),
                Piece::After => out.push_str(&input[spans.span(0).map_or(0, |m| m.1)..]),
                Piece::Input => out.push_str(input),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Vec<Option<(usize, usize)>>);
    impl Spans for Fixed {
        fn span(&self, i: usize) -> Option<(usize, usize)> {
            self.0.get(i).copied().flatten()
        }
    }

    /// Expands `tpl` for input "xx1234yy" with a match on "1234" and groups 1 = "12", 2 = "34".
    fn run(tpl: &str) -> String {
        let groups = GroupTable::unnamed(2);
        let t = Template::parse(tpl, &groups);
        let mut out = String::new();
        t.expand("xx1234yy", &Fixed(vec![Some((2, 6)), Some((2, 4)), Some((4, 6))]), &mut out);
        out
    }

    #[test]
    fn dotnet_substitutions() {
        assert_eq!(run("+1425555$1"), "+142555512");
        assert_eq!(run("$1a"), "12a");
        assert_eq!(run("$10"), "$10");
        assert_eq!(run("$2$1"), "3412");
        assert_eq!(run("${2}0"), "340");
        assert_eq!(run("${x}"), "${x}");
        assert_eq!(run("${1"), "${1");
        assert_eq!(run("$$1"), "$1");
        assert_eq!(run("$0|$&"), "1234|1234");
        assert_eq!(run("$`|$'|$_"), "xx|yy|xx1234yy");
        assert_eq!(run("$+"), "34");
        assert_eq!(run("a$"), "a$");
        assert_eq!(run("$x"), "$x");
        assert_eq!(run("+1$1;ext=$2"), "+112;ext=34");
        // One-character literals, ASCII or not, between and around groups.
        assert_eq!(run("+$1$2"), "+1234");
        assert_eq!(run("ü$1é"), "ü12é");
        assert_eq!(run("+"), "+");
    }

    #[test]
    fn missing_groups_are_recorded() {
        let (t, refs) = Template::parse_noting("+56$2", &GroupTable::unnamed(1));
        assert_eq!(refs, vec!["$2".to_owned()]);
        let mut out = String::new();
        t.expand("123", &Fixed(vec![Some((0, 3)), Some((0, 3))]), &mut out);
        assert_eq!(out, "+56$2");
    }

    #[test]
    fn non_participating_group_is_empty() {
        let t = Template::parse("<$1>", &GroupTable::unnamed(1));
        let mut out = String::new();
        t.expand("5", &Fixed(vec![Some((0, 1)), None]), &mut out);
        assert_eq!(out, "<>");
    }
}
