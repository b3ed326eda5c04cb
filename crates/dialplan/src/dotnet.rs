//! Rewrites a .NET regular expression, as Teams stores it, into the syntax of Rust's regex
//! engines while keeping .NET's meaning.
//!
//! Teams rules are .NET patterns. Most of them are also valid Rust patterns, but not all mean
//! the same thing, and some .NET-valid patterns are Rust errors:
//!
//! - a `{` that does not start `{n}`, `{n,}` or `{n,m}` is a literal in .NET (the real Chile rule
//!   `^(\d{3,9)$`); Rust rejects it, or reads `{,m}` as a quantifier;
//! - inside a class, `[`, `&&`, `--` and `~~` are literals in .NET but nesting or set operators
//!   in Rust;
//! - .NET numbers unnamed groups first and named groups after them; Rust numbers all groups
//!   left to right. Translations (`$2`) use .NET numbers, so a [`GroupTable`] maps them;
//! - `(?'name'…)`, `\Z`, `\G`, `\e`, `\cX` and octal `\0` have other spellings in Rust.
//!
//! Lookaround, backreferences and atomic groups cannot be expressed by a finite automaton.
//! Such a pattern is marked [`Translated::needs_backtracker`] and also gets an `approx` pattern:
//! the same pattern with lookarounds removed, backreferences widened to `.*` and atomic groups
//! made ordinary. Its language is a superset of the real one, so the automaton can still rule
//! the rule out in one scan, and only a possible match is confirmed by the backtracker.
//!
//! What .NET accepts but tpr does not (class subtraction, balancing groups, conditionals,
//! explicit-capture and free-spacing modes) is rejected with the position of the construct.

use std::fmt;

/// The result of rewriting one .NET pattern.
#[derive(Debug, Clone)]
pub(crate) struct Translated {
    /// The pattern in Rust syntax, same language as the .NET original.
    pub exact: String,
    /// A regular superset of `exact` for the automaton; `Some` only if `needs_backtracker`.
    pub approx: Option<String>,
    /// Maps byte offsets of `approx` (or of `exact` when there is no approximation) back to
    /// character offsets in the original pattern, for error messages.
    pub automaton_offsets: Vec<usize>,
    /// The pattern uses lookaround, backreferences or atomic groups.
    pub needs_backtracker: bool,
    /// .NET group numbers and names.
    pub groups: GroupTable,
    /// Places where tpr read the pattern the way .NET does, although Rust would not.
    pub notes: Vec<PatternNote>,
}

impl Translated {
    /// The pattern the automaton compiles.
    pub fn automaton_pattern(&self) -> &str {
        self.approx.as_deref().unwrap_or(&self.exact)
    }
}

/// Capture groups by .NET number and name, with their Rust indices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupTable {
    /// `net_to_rust[n]` is the Rust capture index of .NET group `n`; `[0]` is the whole match.
    net_to_rust: Vec<usize>,
    /// Named groups: name and .NET number.
    names: Vec<(String, usize)>,
}

impl GroupTable {
    /// The highest .NET group number (0 if the pattern has no groups).
    pub fn last_net(&self) -> usize {
        self.net_to_rust.len() - 1
    }

    /// The Rust capture index of .NET group `net`, if that group exists.
    pub fn rust_index(&self, net: usize) -> Option<usize> {
        self.net_to_rust.get(net).copied()
    }

    /// The .NET number of the group called `name`.
    pub fn by_name(&self, name: &str) -> Option<usize> {
        self.names.iter().find(|(n, _)| n == name).map(|&(_, i)| i)
    }

    /// A table for a pattern whose groups are all unnamed (tests).
    #[cfg(test)]
    pub fn unnamed(count: usize) -> GroupTable {
        GroupTable { net_to_rust: (0..=count).collect(), names: Vec::new() }
    }
}

/// Something tpr read the .NET way, worth a warning in `tpr check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternNote {
    /// Character offset in the original pattern.
    pub offset: usize,
    /// What was read differently.
    pub kind: PatternNoteKind,
}

/// The kinds of [`PatternNote`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternNoteKind {
    /// A `{` or `}` that is not part of a quantifier: a literal character, as in .NET.
    LiteralBrace,
    /// Lookaround, a backreference or an atomic group: evaluated by the backtracking engine.
    Backtracking,
    /// `\Z` read as end of input (inputs never contain a newline).
    EndZ,
    /// `\G` read as start of input (Teams matches from the start).
    StartG,
}

impl fmt::Display for PatternNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let col = self.offset + 1;
        match self.kind {
            PatternNoteKind::LiteralBrace => write!(
                f,
                "column {col}: brace is not part of a quantifier; .NET and tpr read it as a \
                 literal character"
            ),
            PatternNoteKind::Backtracking => write!(
                f,
                "column {col}: lookaround, backreference or atomic group; matched by the \
                 backtracking engine with a step budget"
            ),
            PatternNoteKind::EndZ => write!(f, "column {col}: \\Z read as end of input"),
            PatternNoteKind::StartG => write!(f, "column {col}: \\G read as start of input"),
        }
    }
}

/// Why a pattern could not be rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatternError {
    /// Character offset in the original pattern.
    pub offset: usize,
    pub message: String,
    /// .NET accepts it but tpr does not (as opposed to a pattern .NET rejects too).
    pub unsupported: bool,
}

/// Rewrites `pattern` (.NET syntax) into Rust syntax.
pub(crate) fn translate(pattern: &str) -> Result<Translated, PatternError> {
    let mut t = Translator::new(pattern);
    t.run()?;
    t.finish()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Capture,
    Group,
    Lookaround,
}

struct Group {
    name: Option<String>,
}

struct Translator {
    src: Vec<char>,
    i: usize,
    exact: String,
    approx: String,
    approx_offsets: Vec<usize>,
    exact_offsets: Vec<usize>,
    /// Numeric backreferences to patch into `exact`: byte position and .NET number.
    backrefs: Vec<(usize, usize, usize)>,
    stack: Vec<Frame>,
    /// How many lookarounds we are inside: while > 0 nothing goes to `approx`.
    hidden: usize,
    groups: Vec<Group>,
    needs_backtracker: bool,
    notes: Vec<PatternNote>,
    /// What the last emitted token was, to reject nested quantifiers as .NET does.
    last: Last,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    /// Start of the pattern, `(` or `|`: a quantifier here has nothing to repeat.
    Nothing,
    Atom,
    Quantifier,
    LazyQuantifier,
}

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError { offset, message: message.into(), unsupported: false })
}

fn unsupported<T>(offset: usize, message: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError { offset, message: message.into(), unsupported: true })
}

impl Translator {
    fn new(pattern: &str) -> Translator {
        Translator {
            src: pattern.chars().collect(),
            i: 0,
            exact: String::with_capacity(pattern.len() + 8),
            approx: String::new(),
            approx_offsets: Vec::new(),
            exact_offsets: Vec::new(),
            backrefs: Vec::new(),
            stack: Vec::new(),
            hidden: 0,
            groups: Vec::new(),
            needs_backtracker: false,
            notes: Vec::new(),
            last: Last::Nothing,
        }
    }

    fn peek(&self, k: usize) -> Option<char> {
        self.src.get(self.i + k).copied()
    }

    /// Emits `s` into the exact pattern and, unless inside a lookaround, the approximation.
    fn emit(&mut self, s: &str, src: usize) {
        self.emit_exact(s, src);
        if self.hidden == 0 {
            self.emit_approx(s, src);
        }
    }

    fn emit_exact(&mut self, s: &str, src: usize) {
        self.exact.push_str(s);
        self.exact_offsets.resize(self.exact.len(), src);
    }

    fn emit_approx(&mut self, s: &str, src: usize) {
        self.approx.push_str(s);
        self.approx_offsets.resize(self.approx.len(), src);
    }

    fn backtracking(&mut self, at: usize) {
        self.needs_backtracker = true;
        if !self.notes.iter().any(|n| n.kind == PatternNoteKind::Backtracking) {
            self.notes.push(PatternNote { offset: at, kind: PatternNoteKind::Backtracking });
        }
    }

    fn run(&mut self) -> Result<(), PatternError> {
        while let Some(c) = self.peek(0) {
            let at = self.i;
            let is_quantifier =
                matches!(c, '*' | '+' | '?') || (c == '{' && self.quantifier_len().is_some());
            if is_quantifier {
                self.last = match (self.last, c) {
                    (Last::Quantifier, '?') => Last::LazyQuantifier,
                    (Last::Quantifier | Last::LazyQuantifier, _) => {
                        return err(at, format!("nested quantifier {c:?}"));
                    }
                    (Last::Nothing, _) => {
                        return err(at, format!("quantifier {c:?} follows nothing"));
                    }
                    (Last::Atom, _) => Last::Quantifier,
                };
            } else {
                self.last = match c {
                    '(' | '|' => Last::Nothing,
                    _ => Last::Atom,
                };
            }
            match c {
                '\\' => self.escape_outside_class()?,
                '[' => self.class()?,
                '(' => self.open_group()?,
                ')' => {
                    self.i += 1;
                    match self.stack.pop() {
                        None => return err(at, "unmatched closing parenthesis"),
                        Some(Frame::Lookaround) => {
                            self.emit_exact(")", at);
                            self.hidden -= 1;
                            if self.hidden == 0 {
                                // Keep an operand in place of the lookaround, in case a
                                // quantifier follows it.
                                self.emit_approx("(?:)", at);
                            }
                        }
                        Some(_) => self.emit(")", at),
                    }
                }
                '{' => {
                    if let Some(len) = self.quantifier_len() {
                        let q: String = self.src[self.i..self.i + len].iter().collect();
                        self.i += len;
                        self.emit(&q, at);
                    } else {
                        self.i += 1;
                        self.notes
                            .push(PatternNote { offset: at, kind: PatternNoteKind::LiteralBrace });
                        self.emit(r"\{", at);
                    }
                }
                '}' => {
                    self.i += 1;
                    self.notes
                        .push(PatternNote { offset: at, kind: PatternNoteKind::LiteralBrace });
                    self.emit(r"\}", at);
                }
                '#' | '&' | '~' | '-' | ' ' => {
                    // Literal in .NET outside classes; escaped so that no Rust flag changes them.
                    self.i += 1;
                    self.emit(&literal(c), at);
                }
                _ => {
                    self.i += 1;
                    let mut buf = [0u8; 4];
                    if c.is_ascii_graphic() {
                        self.emit(c.encode_utf8(&mut buf), at);
                    } else {
                        self.emit(&literal(c), at);
                    }
                }
            }
        }
        if !self.stack.is_empty() {
            return err(self.src.len(), "unclosed group: missing closing parenthesis");
        }
        Ok(())
    }

    /// The length of a quantifier `{n}`, `{n,}` or `{n,m}` starting at the cursor, if any.
    fn quantifier_len(&self) -> Option<usize> {
        let mut k = 1;
        let digits = |k: &mut usize| {
            let start = *k;
            while self.peek(*k).is_some_and(|c| c.is_ascii_digit()) {
                *k += 1;
            }
            *k > start
        };
        if !digits(&mut k) {
            return None;
        }
        if self.peek(k) == Some(',') {
            k += 1;
            digits(&mut k);
        }
        (self.peek(k) == Some('}')).then_some(k + 1)
    }

    fn open_group(&mut self) -> Result<(), PatternError> {
        let at = self.i;
        if self.peek(1) != Some('?') {
            self.i += 1;
            self.groups.push(Group { name: None });
            self.stack.push(Frame::Capture);
            self.emit("(", at);
            return Ok(());
        }
        // "(?" constructs.
        let rest: String = self.src[self.i + 2..].iter().take(3).collect();
        if rest.starts_with(':') {
            self.i += 3;
            self.stack.push(Frame::Group);
            self.emit("(?:", at);
        } else if rest.starts_with('=') || rest.starts_with('!') {
            self.lookaround(at, 3)?;
        } else if rest.starts_with("<=") || rest.starts_with("<!") {
            self.lookaround(at, 4)?;
        } else if rest.starts_with('>') {
            self.i += 3;
            self.backtracking(at);
            self.stack.push(Frame::Group);
            self.emit_exact("(?>", at);
            if self.hidden == 0 {
                self.emit_approx("(?:", at);
            }
        } else if rest.starts_with('#') {
            // Inline comment: dropped.
            match self.src[self.i..].iter().position(|&c| c == ')') {
                Some(end) => self.i += end + 1,
                None => return err(at, "unterminated (?#...) comment"),
            }
        } else if rest.starts_with('<') || rest.starts_with('\'') {
            self.named_group(at)?;
        } else if rest.starts_with('(') {
            return unsupported(at, "conditional groups (?(...)...) are not supported");
        } else if rest.starts_with('P') {
            return err(at, "(?P...) is not .NET syntax; use (?<name>...)");
        } else {
            self.options(at)?;
        }
        Ok(())
    }

    fn lookaround(&mut self, at: usize, len: usize) -> Result<(), PatternError> {
        let text: String = self.src[at..at + len].iter().collect();
        self.i += len;
        self.backtracking(at);
        self.stack.push(Frame::Lookaround);
        self.emit_exact(&text, at);
        self.hidden += 1;
        Ok(())
    }

    fn named_group(&mut self, at: usize) -> Result<(), PatternError> {
        let close = if self.peek(2) == Some('<') { '>' } else { '\'' };
        let start = self.i + 3;
        let Some(len) = self.src[start..].iter().position(|&c| c == close) else {
            return err(at, "unterminated group name");
        };
        let name: String = self.src[start..start + len].iter().collect();
        if name.contains('-') {
            return unsupported(at, "balancing groups (?<a-b>...) are not supported");
        }
        if name.is_empty() {
            return err(at, "empty group name");
        }
        if name.chars().all(|c| c.is_ascii_digit()) {
            return unsupported(at, "explicitly numbered groups (?<2>...) are not supported");
        }
        let valid = name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_');
        if !valid {
            return err(at, format!("invalid group name {name:?}"));
        }
        if self.groups.iter().any(|g| g.name.as_deref() == Some(&name)) {
            return unsupported(at, format!("group name {name:?} is used twice"));
        }
        self.i = start + len + 1;
        self.groups.push(Group { name: Some(name.clone()) });
        self.stack.push(Frame::Capture);
        self.emit(&format!("(?<{name}>"), at);
        Ok(())
    }

    /// `(?imsnx-imsnx)` and `(?imsnx-imsnx:...)`.
    fn options(&mut self, at: usize) -> Result<(), PatternError> {
        let mut k = self.i + 2;
        let mut flags = String::new();
        loop {
            match self.src.get(k) {
                Some(&c @ ('i' | 'm' | 's' | '-')) => flags.push(c),
                Some('n') => {
                    return unsupported(k, "explicit-capture mode (?n) is not supported");
                }
                Some('x') => {
                    return unsupported(k, "free-spacing mode (?x) is not supported");
                }
                Some(')') | Some(':') => break,
                Some(&c) => return err(k, format!("unrecognized grouping construct (?{c}")),
                None => return err(at, "unterminated group construct"),
            }
            k += 1;
        }
        let colon = self.src[k] == ':';
        self.i = k + 1;
        if colon {
            self.stack.push(Frame::Group);
            self.emit(&format!("(?{flags}:"), at);
        } else if !flags.is_empty() && flags != "-" {
            self.emit(&format!("(?{flags})"), at);
        }
        Ok(())
    }

    fn escape_outside_class(&mut self) -> Result<(), PatternError> {
        let at = self.i;
        let Some(c) = self.peek(1) else {
            return err(at, "pattern ends with a lone backslash");
        };
        self.i += 2;
        match c {
            'd' | 'D' | 'w' | 'W' | 's' | 'S' | 'b' | 'B' | 'A' | 'z' => {
                self.emit(&format!("\\{c}"), at);
            }
            'Z' => {
                self.notes.push(PatternNote { offset: at, kind: PatternNoteKind::EndZ });
                self.emit(r"\z", at);
            }
            'G' => {
                self.notes.push(PatternNote { offset: at, kind: PatternNoteKind::StartG });
                self.emit(r"\A", at);
            }
            '1'..='9' => {
                // .NET: a backreference to group N.
                let mut n = c.to_digit(10).unwrap_or(0) as usize;
                while let Some(d) = self.peek(0).and_then(|d| d.to_digit(10)) {
                    n = n.saturating_mul(10).saturating_add(d as usize);
                    self.i += 1;
                }
                self.backtracking(at);
                self.backrefs.push((self.exact.len(), n, at));
                self.exact_offsets.resize(self.exact.len(), at);
                if self.hidden == 0 {
                    self.emit_approx("(?:.*)", at);
                }
            }
            'k' => {
                let close = match self.peek(0) {
                    Some('<') => '>',
                    Some('\'') => '\'',
                    _ => return err(at, "\\k must be followed by <name>"),
                };
                let start = self.i + 1;
                let Some(len) = self.src[start..].iter().position(|&c| c == close) else {
                    return err(at, "unterminated \\k<name>");
                };
                let name: String = self.src[start..start + len].iter().collect();
                self.i = start + len + 1;
                self.backtracking(at);
                if let Ok(n) = name.parse::<usize>() {
                    self.backrefs.push((self.exact.len(), n, at));
                    self.exact_offsets.resize(self.exact.len(), at);
                } else {
                    self.emit_exact(&format!("\\k<{name}>"), at);
                }
                if self.hidden == 0 {
                    self.emit_approx("(?:.*)", at);
                }
            }
            'p' | 'P' => {
                return unsupported(
                    at,
                    "Unicode categories (\\p{...}) are not supported; dialed strings are ASCII",
                );
            }
            _ => {
                self.i -= 2;
                let ch = self.char_escape()?;
                self.emit(&literal(ch), at);
            }
        }
        Ok(())
    }

    /// Reads an escape that stands for one character (`\t`, `\x41`, `\u0041`, `\cA`, `\0`,
    /// `\.`), with the cursor on the backslash.
    fn char_escape(&mut self) -> Result<char, PatternError> {
        let at = self.i;
        let Some(c) = self.peek(1) else {
            return err(at, "pattern ends with a lone backslash");
        };
        self.i += 2;
        let ch = match c {
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            'f' => '\x0C',
            'v' => '\x0B',
            'a' => '\x07',
            'e' => '\x1B',
            'x' => self.hex(2, at)?,
            'u' => self.hex(4, at)?,
            'c' => match self.peek(0) {
                Some(l) if l.is_ascii_alphabetic() => {
                    self.i += 1;
                    char::from(l.to_ascii_uppercase() as u8 - b'@')
                }
                _ => return err(at, "\\c must be followed by a letter"),
            },
            '0' => {
                let mut v = 0u32;
                for _ in 0..2 {
                    match self.peek(0).and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            self.i += 1;
                        }
                        None => break,
                    }
                }
                char::from_u32(v).unwrap_or('\0')
            }
            c if c.is_alphanumeric() || c == '_' => {
                return err(at, format!("unrecognized escape sequence \\{c}"));
            }
            c => c,
        };
        Ok(ch)
    }

    fn hex(&mut self, digits: usize, at: usize) -> Result<char, PatternError> {
        let mut v = 0u32;
        for _ in 0..digits {
            match self.peek(0).and_then(|d| d.to_digit(16)) {
                Some(d) => {
                    v = v * 16 + d;
                    self.i += 1;
                }
                None => return err(at, format!("escape needs {digits} hexadecimal digits")),
            }
        }
        char::from_u32(v).ok_or(PatternError {
            offset: at,
            message: "escape is not a valid character".into(),
            unsupported: false,
        })
    }

    /// A character class, with the cursor on `[`. Re-emitted item by item with every
    /// character that Rust treats specially inside classes escaped.
    fn class(&mut self) -> Result<(), PatternError> {
        let at = self.i;
        self.i += 1;
        let mut out = String::from("[");
        if self.peek(0) == Some('^') {
            self.i += 1;
            out.push('^');
        }
        let mut first = true;
        loop {
            let Some(c) = self.peek(0) else {
                return err(at, "unterminated character class: missing ]");
            };
            if c == ']' && !first {
                self.i += 1;
                break;
            }
            if c == '-' && self.peek(1) == Some('[') && !first {
                return unsupported(self.i, "character class subtraction [a-[b]] is not supported");
            }
            first = false;
            let item_at = self.i;
            let lo = match self.class_atom()? {
                ClassAtom::Set(s) => {
                    out.push_str(&s);
                    continue;
                }
                ClassAtom::Char(ch) => ch,
            };
            // A range `lo-hi`, unless the '-' is last or starts a subtraction.
            if self.peek(0) == Some('-') && self.peek(1).is_some_and(|n| n != ']') {
                if self.peek(1) == Some('[') {
                    return unsupported(
                        self.i,
                        "character class subtraction [a-[b]] is not supported",
                    );
                }
                self.i += 1;
                let hi = match self.class_atom()? {
                    ClassAtom::Char(ch) => ch,
                    ClassAtom::Set(_) => {
                        return err(item_at, "a class such as \\d cannot end a character range");
                    }
                };
                if hi < lo {
                    return err(item_at, "character range is in reverse order");
                }
                out.push_str(&literal(lo));
                out.push('-');
                out.push_str(&literal(hi));
            } else {
                out.push_str(&literal(lo));
            }
        }
        out.push(']');
        self.emit(&out, at);
        Ok(())
    }

    fn class_atom(&mut self) -> Result<ClassAtom, PatternError> {
        let at = self.i;
        let c = self.src[self.i];
        if c != '\\' {
            self.i += 1;
            return Ok(ClassAtom::Char(c));
        }
        match self.peek(1) {
            Some(e @ ('d' | 'D' | 'w' | 'W' | 's' | 'S')) => {
                self.i += 2;
                Ok(ClassAtom::Set(format!("\\{e}")))
            }
            Some('p' | 'P') => unsupported(
                at,
                "Unicode categories (\\p{...}) are not supported; dialed strings are ASCII",
            ),
            // Inside a class, \b is a backspace in .NET.
            Some('b') => {
                self.i += 2;
                Ok(ClassAtom::Char('\x08'))
            }
            _ => self.char_escape().map(ClassAtom::Char),
        }
    }

    fn finish(mut self) -> Result<Translated, PatternError> {
        // .NET numbering: unnamed groups 1..=k left to right, then named groups.
        let unnamed: Vec<usize> =
            (0..self.groups.len()).filter(|&g| self.groups[g].name.is_none()).collect();
        let named: Vec<usize> =
            (0..self.groups.len()).filter(|&g| self.groups[g].name.is_some()).collect();
        let mut net_to_rust = vec![0];
        net_to_rust.extend(unnamed.iter().chain(&named).map(|&g| g + 1));
        let names = named
            .iter()
            .enumerate()
            .filter_map(|(k, &g)| self.groups[g].name.clone().map(|n| (n, unnamed.len() + 1 + k)))
            .collect();
        let groups = GroupTable { net_to_rust, names };
        // Patch numeric backreferences, last first so positions stay valid.
        for &(pos, net, at) in self.backrefs.iter().rev() {
            let Some(rust) = groups.rust_index(net).filter(|&r| r > 0) else {
                return err(at, format!("reference to undefined group number {net}"));
            };
            let text = format!("\\{rust}");
            self.exact.insert_str(pos, &text);
            let tail = self.exact_offsets.split_off(pos);
            self.exact_offsets.extend(std::iter::repeat_n(at, text.len()));
            self.exact_offsets.extend(tail);
        }
        let (approx, automaton_offsets) = if self.needs_backtracker {
            (Some(self.approx), self.approx_offsets)
        } else {
            (None, self.exact_offsets)
        };
        Ok(Translated {
            exact: self.exact,
            approx,
            automaton_offsets,
            needs_backtracker: self.needs_backtracker,
            groups,
            notes: self.notes,
        })
    }
}

enum ClassAtom {
    Char(char),
    Set(String),
}

/// `c` as a literal in Rust syntax, valid both inside and outside classes.
fn literal(c: char) -> String {
    if c.is_ascii_alphanumeric() {
        c.to_string()
    } else if c.is_ascii_graphic() {
        // regex-syntax accepts an escape before any ASCII punctuation.
        format!("\\{c}")
    } else {
        format!("\\x{{{:X}}}", c as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(p: &str) -> String {
        translate(p).unwrap().exact
    }

    #[test]
    fn plain_patterns_pass_through() {
        assert_eq!(exact(r"^(\d{4})$"), r"^(\d{4})$");
        assert_eq!(exact(r"^\+1(425|206)(\d{7})$"), r"^\+1(425|206)(\d{7})$");
        assert_eq!(
            exact(r"^(?:\+|0011)(1|7)(?:0)?(\d{6,14})$"),
            r"^(?:\+|0011)(1|7)(?:0)?(\d{6,14})$"
        );
    }

    #[test]
    fn brace_that_is_not_a_quantifier_is_literal() {
        // The real Chile rule from TeamsTools' default.xml.
        let t = translate(r"^(\d{3,9)$").unwrap();
        assert_eq!(t.exact, r"^(\d\{3,9)$");
        assert_eq!(t.notes[0], PatternNote { offset: 4, kind: PatternNoteKind::LiteralBrace });
        assert_eq!(exact(r"a{,3}"), r"a\{,3\}");
        assert_eq!(exact(r"a{2,}b{1}"), r"a{2,}b{1}");
    }

    #[test]
    fn class_specials_are_escaped() {
        assert_eq!(exact(r"[[]"), r"[\[]");
        assert_eq!(exact(r"[a&&b]"), r"[a\&\&b]");
        assert_eq!(exact(r"[4,5,7]"), r"[4\,5\,7]");
        assert_eq!(exact(r"[0-9-]"), r"[0-9\-]");
        assert_eq!(exact(r"[]a]"), r"[\]a]");
        assert_eq!(exact(r"[^\d#*]"), r"[^\d\#\*]");
    }

    #[test]
    fn unsupported_constructs_are_rejected_with_position() {
        let e = translate(r"^[0-9-[5]]$").unwrap_err();
        assert!(e.unsupported && e.offset == 5, "{e:?}");
        assert!(translate(r"[a-[b]]").unwrap_err().unsupported);
        assert!(translate(r"(?<a-b>x)").unwrap_err().unsupported);
        assert!(translate(r"(?(x)a|b)").unwrap_err().unsupported);
        assert!(translate(r"(?n)(a)").unwrap_err().unsupported);
        assert!(translate(r"\p{L}").unwrap_err().unsupported);
        assert!(!translate(r"(a").unwrap_err().unsupported);
        assert!(!translate(r"a)").unwrap_err().unsupported);
        assert!(!translate(r"[9-0]").unwrap_err().unsupported);
        assert!(!translate(r"\q").unwrap_err().unsupported);
    }

    #[test]
    fn named_groups_are_numbered_after_unnamed_ones() {
        let t = translate(r"^(?<area>\d{3})(\d{4})(?'ext'\d+)$").unwrap();
        assert_eq!(t.exact, r"^(?<area>\d{3})(\d{4})(?<ext>\d+)$");
        // .NET: 1 = (\d{4}), 2 = area, 3 = ext. Rust: 1 = area, 2 = (\d{4}), 3 = ext.
        assert_eq!(t.groups.rust_index(1), Some(2));
        assert_eq!(t.groups.rust_index(2), Some(1));
        assert_eq!(t.groups.rust_index(3), Some(3));
        assert_eq!(t.groups.by_name("ext"), Some(3));
        assert_eq!(t.groups.last_net(), 3);
    }

    #[test]
    fn lookaround_gets_a_regular_superset() {
        let t = translate(r"^0011((?!61)(\d{10,15}))$").unwrap();
        assert!(t.needs_backtracker);
        assert_eq!(t.exact, r"^0011((?!61)(\d{10,15}))$");
        assert_eq!(t.approx.as_deref(), Some(r"^0011((?:)(\d{10,15}))$"));
        let t = translate(r"^(\d)\1$").unwrap();
        assert_eq!(t.exact, r"^(\d)\1$");
        assert_eq!(t.approx.as_deref(), Some(r"^(\d)(?:.*)$"));
        let t = translate(r"^(?<a>\d)(\d)\k<a>\2$").unwrap();
        // .NET group 2 is the named one (Rust 1); \2 points at it.
        assert_eq!(t.exact, r"^(?<a>\d)(\d)\k<a>\1$");
        assert!(translate(r"(a)\3").is_err());
    }

    #[test]
    fn dotnet_only_escapes_are_respelled() {
        assert_eq!(exact(r"\e\cA\x41\u0042\0"), r"\x{1B}\x{1}AB\x{0}");
        assert_eq!(exact(r"^1\Z"), r"^1\z");
        assert_eq!(exact(r"(?#note)\G1"), r"\A1");
        assert_eq!(exact(r"(?i)ext(?-i:X)"), r"(?i)ext(?-i:X)");
        assert_eq!(exact(r"a b#c"), r"a\x{20}b\#c");
    }
}
