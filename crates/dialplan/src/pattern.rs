//! One .NET pattern on its own, outside a dial plan: voice route number patterns, trunk
//! translation rules, blocked and exempt number patterns, unassigned-number patterns. Same
//! rewrite, same checks and same error messages as dial-plan rules.

use std::fmt;

use regex_automata::meta::{self, Regex};
use regex_syntax::hir::Hir;

use crate::dotnet::{PatternNote, Translated, translate};
use crate::error::CompileErrorKind;
use crate::rule::Limits;
use crate::set::{SlotSpans, TranslationScratch};
use crate::template::{Spans, Template};

/// A pattern rewritten into Rust syntax, checked, and parsed (the automaton form).
pub(crate) struct Checked {
    pub t: Translated,
    pub hir: Hir,
}

/// Rewrites and checks a .NET pattern; errors carry the column in the pattern as written.
pub(crate) fn check(pattern: &str) -> Result<Checked, CompileErrorKind> {
    let t = translate(pattern).map_err(|e| {
        let col = e.offset + 1;
        if e.unsupported {
            CompileErrorKind::UnsupportedPattern { col, message: e.message }
        } else {
            CompileErrorKind::InvalidPattern { col, message: e.message }
        }
    })?;
    let parsed = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(t.automaton_pattern());
    match parsed {
        Ok(hir) => Ok(Checked { t, hir }),
        Err(e) => {
            let (offset, message) = match &e {
                regex_syntax::Error::Parse(e) => (e.span().start.offset, e.kind().to_string()),
                regex_syntax::Error::Translate(e) => (e.span().start.offset, e.kind().to_string()),
                other => (0, other.to_string()),
            };
            let col = t.automaton_offsets.get(offset).copied().unwrap_or(0) + 1;
            Err(CompileErrorKind::InvalidPattern { col, message })
        }
    }
}

/// `(?s-u:.)*` (`greedy`) or `(?s-u:.)*?`, parsed: any run of bytes, to put around a parse.
pub(crate) fn any_bytes(greedy: bool) -> Hir {
    use regex_syntax::hir::{Class, ClassBytes, ClassBytesRange, Repetition};
    let any = Hir::class(Class::Bytes(ClassBytes::new([ClassBytesRange::new(0, 255)])));
    Hir::repetition(Repetition { min: 0, max: None, greedy, sub: Box::new(any) })
}

/// `P(?s-u:.)*` for the parse `P` of a pattern: matched anywhere, a match that runs to the
/// end of the input, which is all an automaton scanned to the end can report. A `P` that ends
/// with `$` stays as it is: nothing can follow its match, and the suffix's states would only
/// add to every determinization step (2.4 % of the instructions of compiling 300 distinct
/// `small-50rules` tenants).
pub(crate) fn to_the_end(p: &Hir) -> Hir {
    use regex_syntax::hir::{HirKind, Look};
    match p.kind() {
        HirKind::Concat(parts)
            if parts.last().is_some_and(|l| *l.kind() == HirKind::Look(Look::End)) =>
        {
            p.clone()
        }
        _ => Hir::concat(vec![p.clone(), any_bytes(true)]),
    }
}

/// The backtracking engine for patterns with lookaround or backreferences.
pub(crate) fn build_backtracking(
    exact: &str,
    limits: &Limits,
) -> Result<fancy_regex::Regex, CompileErrorKind> {
    fancy_regex::RegexBuilder::new(exact).backtrack_limit(limits.backtrack_steps).build().map_err(
        |e| {
            let message = e.to_string();
            if message.contains("look-behind") || message.contains("LookBehind") {
                CompileErrorKind::UnsupportedPattern { col: 1, message }
            } else {
                CompileErrorKind::InvalidPattern { col: 1, message }
            }
        },
    )
}

fn syntax_config() -> regex_automata::util::syntax::Config {
    regex_automata::util::syntax::Config::new().unicode(false).utf8(false)
}

enum Engine {
    Automaton(Regex),
    Backtracking(fancy_regex::Regex),
}

/// A compiled .NET pattern, searched (not fully matched) as Teams does.
pub struct Pattern {
    source: String,
    engine: Engine,
    groups: crate::dotnet::GroupTable,
    notes: Vec<PatternNote>,
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pattern").field(&self.source).finish()
    }
}

impl Pattern {
    /// Compiles `pattern` (.NET syntax) with the size and step limits of `limits`.
    pub fn new(pattern: &str, limits: &Limits) -> Result<Pattern, CompileErrorKind> {
        if pattern.chars().count() > limits.max_pattern_len {
            return Err(CompileErrorKind::TooLong {
                what: "pattern",
                len: pattern.chars().count(),
                max: limits.max_pattern_len,
            });
        }
        let Checked { t, .. } = check(pattern)?;
        let engine = if t.needs_backtracker {
            Engine::Backtracking(build_backtracking(&t.exact, limits)?)
        } else {
            let re = Regex::builder()
                .configure(
                    meta::Config::new()
                        .utf8_empty(false)
                        .nfa_size_limit(Some(limits.max_rule_bytes))
                        .dfa_size_limit(Some(limits.max_rule_bytes)),
                )
                .syntax(syntax_config())
                .build(&t.exact)
                .map_err(|_| CompileErrorKind::TooBig { limit: limits.max_rule_bytes })?;
            Engine::Automaton(re)
        };
        Ok(Pattern { source: pattern.to_owned(), engine, groups: t.groups, notes: t.notes })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Places tpr read the .NET way (literal braces, lookaround ...), for `tpr check`.
    pub fn notes(&self) -> &[PatternNote] {
        &self.notes
    }

    /// Does the pattern match anywhere in `s`? A backtracking pattern that runs out of steps
    /// counts as not matching.
    pub fn is_match(&self, s: &str) -> bool {
        match &self.engine {
            Engine::Automaton(re) => re.is_match(s),
            Engine::Backtracking(re) => re.is_match(s).unwrap_or(false),
        }
    }
}

/// A pattern with a translation: trunk number translation rules, and any other
/// "pattern → translation" rule evaluated on its own.
#[derive(Debug)]
pub struct Translation {
    pattern: Pattern,
    template: Template,
}

impl Translation {
    /// Compiles a pattern and its .NET substitution template.
    pub fn new(
        pattern: &str,
        translation: &str,
        limits: &Limits,
    ) -> Result<Translation, CompileErrorKind> {
        let pattern = Pattern::new(pattern, limits)?;
        if translation.chars().count() > limits.max_translation_len {
            return Err(CompileErrorKind::TooLong {
                what: "translation",
                len: translation.chars().count(),
                max: limits.max_translation_len,
            });
        }
        let template = Template::parse(translation, &pattern.groups);
        Ok(Translation { pattern, template })
    }

    /// The pattern.
    pub fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    /// The translation of `s` (.NET `Match.Result`), or `None` if the pattern does not match.
    pub fn apply(&self, s: &str) -> Option<String> {
        let mut out = String::new();
        match &self.pattern.engine {
            Engine::Automaton(re) => {
                let mut caps = re.create_captures();
                re.captures(s, &mut caps);
                if !caps.is_match() {
                    return None;
                }
                self.template.expand(s, &CapSpans(&caps), &mut out);
            }
            Engine::Backtracking(re) => {
                let caps = re.captures(s).ok().flatten()?;
                self.template.expand(s, &FancySpans(&caps), &mut out);
            }
        }
        Some(out)
    }
}

impl Translation {
    /// Like [`Translation::apply`], into `out` (cleared first): `false` if the pattern does not
    /// match. Allocates nothing once `scratch` and `out` have grown to size, except for a
    /// pattern with lookaround or backreferences.
    pub fn apply_into(&self, s: &str, scratch: &mut TranslationScratch, out: &mut String) -> bool {
        out.clear();
        match &self.pattern.engine {
            Engine::Automaton(re) => {
                let slots = &mut scratch.slots;
                let len = 2 * re.captures_len();
                if slots.len() < len {
                    slots.resize(len, None);
                }
                if re.search_slots(&regex_automata::Input::new(s), &mut slots[..len]).is_none() {
                    return false;
                }
                self.template.expand(s, &SlotSpans(&slots[..len]), out);
            }
            Engine::Backtracking(re) => {
                let Some(caps) = re.captures(s).ok().flatten() else { return false };
                self.template.expand(s, &FancySpans(&caps), out);
            }
        }
        true
    }
}

struct CapSpans<'a>(&'a regex_automata::util::captures::Captures);

impl Spans for CapSpans<'_> {
    fn span(&self, index: usize) -> Option<(usize, usize)> {
        self.0.get_group(index).map(|sp| (sp.start, sp.end))
    }
}

struct FancySpans<'a, 'b>(&'a fancy_regex::Captures<'b, str>);

impl Spans for FancySpans<'_, '_> {
    fn span(&self, index: usize) -> Option<(usize, usize)> {
        self.0.get(index).map(|m| (m.start(), m.end()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_patterns_are_searched() {
        let limits = Limits::default();
        let intl = Pattern::new(r"\d+", &limits).unwrap();
        assert!(intl.is_match("+442071234567"));
        let redmond = Pattern::new(r"^\+1(425|206)(\d{7})$", &limits).unwrap();
        assert!(redmond.is_match("+14255550100") && !redmond.is_match("+13125550100"));
        let au = Pattern::new(r"^\+61(000|1[0125]\d{1,8})$", &limits).unwrap();
        assert!(au.is_match("+61000"));
    }

    #[test]
    fn trunk_translations_use_dotnet_templates() {
        // Spec T30/T32: inbound `^(\d{10})$ -> +1$1`, outbound `^\+1(\d{10})$ -> $1`.
        let limits = Limits::default();
        let inbound = Translation::new(r"^(\d{10})$", "+1$1", &limits).unwrap();
        assert_eq!(inbound.apply("2065550100").as_deref(), Some("+12065550100"));
        assert_eq!(inbound.apply("0100"), None);
        let strip = Translation::new(r"^\+1(\d{10})$", "$1", &limits).unwrap();
        assert_eq!(strip.apply("+14255550100").as_deref(), Some("4255550100"));
        let look = Translation::new(r"^0011((?!61)(\d{10,15}))$", "+$1", &limits).unwrap();
        assert_eq!(look.apply("001144207123456").as_deref(), Some("+44207123456"));
        assert_eq!(look.apply("00116121234567"), None);
        // The allocation-free form agrees, with one scratch across translations.
        let (mut scratch, mut out) = (TranslationScratch::default(), String::new());
        for (t, s) in
            [(&inbound, "2065550100"), (&strip, "+14255550100"), (&look, "0011442071234567")]
        {
            assert!(t.apply_into(s, &mut scratch, &mut out));
            assert_eq!(Some(out.as_str()), t.apply(s).as_deref());
        }
        assert!(!inbound.apply_into("0100", &mut scratch, &mut out) && out.is_empty());
    }

    #[test]
    fn errors_carry_the_column() {
        let e = Pattern::new(r"^(\d{4}$", &Limits::default()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid pattern at column 9: unclosed group: missing closing parenthesis"
        );
    }
}
