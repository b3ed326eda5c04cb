//! PowerShell tokens: enough of the language's lexical rules to read admin scripts exactly,
//! and to step over the parts tpr does not run without misreading them.

/// A piece of a double-quoted string.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Part {
    /// Literal text, escapes resolved.
    Lit(String),
    /// `$name` or `${name}`.
    Var(String),
    /// `$( ... )`: the tokens inside, lexed.
    Sub(Vec<Token>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// End of a statement: newline.
    Newline,
    /// `;`
    Semi,
    /// `$name`, `${name}`, `$scope:name` (scope dropped except `env`).
    Var(String),
    /// A single-quoted string or here-string.
    Str(String),
    /// A double-quoted string or here-string.
    Expandable(Vec<Part>),
    /// A bare word: command name, argument, number, keyword.
    Word(String),
    /// `-name`, or `-name:` when `colon`.
    Param { name: String, colon: bool },
    /// Punctuation: `= += -= , ( ) @( @{ $( { } [ ] . :: | ! > 2>` …
    Op(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Byte offset in the script.
    pub at: usize,
    /// Whitespace (or a line continuation) comes before it.
    pub space_before: bool,
}

/// A lexical error: what, and the byte offset.
#[derive(Debug)]
pub(crate) struct LexError {
    pub at: usize,
    pub message: String,
}

fn is_single_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

fn is_double_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201C}' | '\u{201D}' | '\u{201E}')
}

fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2013}' | '\u{2014}' | '\u{2015}')
}

fn is_var_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '?'
}

/// Characters that end a bare word.
fn ends_word(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, ';' | '|' | '(' | ')' | '{' | '}' | ',' | '&' | '`')
        || is_single_quote(c)
        || is_double_quote(c)
}

struct Lexer<'a> {
    depth: usize,
    src: &'a str,
    pos: usize,
    base: usize,
    out: Vec<Token>,
    space: bool,
}

/// Tokens of `src`; offsets are relative to `base` (the start of `src` in the script).
pub(crate) fn lex(src: &str, base: usize) -> Result<Vec<Token>, LexError> {
    lex_nested(src, base, 0)
}

fn lex_nested(src: &str, base: usize, depth: usize) -> Result<Vec<Token>, LexError> {
    if depth > 32 {
        return Err(LexError {
            at: base,
            message: "strings nest `$( … )` more than 32 levels deep".into(),
        });
    }
    let mut l = Lexer { depth, src, pos: 0, base, out: Vec::new(), space: true };
    l.run()?;
    Ok(l.out)
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek2(&self) -> Option<char> {
        let mut it = self.src[self.pos..].chars();
        it.next();
        it.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn err(&self, at: usize, message: impl Into<String>) -> LexError {
        LexError { at: self.base + at, message: message.into() }
    }

    fn push(&mut self, tok: Tok, at: usize) {
        self.out.push(Token { tok, at: self.base + at, space_before: self.space });
        self.space = false;
    }

    fn run(&mut self) -> Result<(), LexError> {
        while let Some(c) = self.peek() {
            let start = self.pos;
            match c {
                '\u{feff}' => {
                    self.bump();
                }
                '\n' => {
                    self.bump();
                    self.push(Tok::Newline, start);
                    self.space = true;
                }
                c if c.is_whitespace() => {
                    self.bump();
                    self.space = true;
                }
                '`' => {
                    self.bump();
                    match self.peek() {
                        Some('\r') if self.peek2() == Some('\n') => {
                            self.pos += 2;
                            self.space = true;
                        }
                        Some('\n') => {
                            self.bump();
                            self.space = true;
                        }
                        None => {}
                        Some(_) => {
                            self.pos = start;
                            self.word(start);
                        }
                    }
                }
                '#' => {
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.bump();
                    }
                }
                '<' if self.peek2() == Some('#') => {
                    let Some(end) = self.src[self.pos + 2..].find("#>") else {
                        return Err(self.err(start, "block comment <# is never closed with #>"));
                    };
                    self.pos += 2 + end + 2;
                    self.space = true;
                }
                ';' => {
                    self.bump();
                    self.push(Tok::Semi, start);
                }
                '@' => self.at_sign(start)?,
                '$' => self.dollar(start)?,
                c if is_single_quote(c) => {
                    self.bump();
                    let s = self.single_quoted(start)?;
                    self.push(Tok::Str(s), start);
                }
                c if is_double_quote(c) => {
                    self.bump();
                    let parts = self.double_quoted(start, false)?;
                    self.push(Tok::Expandable(parts), start);
                }
                '(' | ')' | '{' | '}' | '[' | ']' | ',' | '|' | '!' => {
                    self.bump();
                    let op = match c {
                        '(' => "(",
                        ')' => ")",
                        '{' => "{",
                        '}' => "}",
                        '[' => "[",
                        ']' => "]",
                        ',' => ",",
                        '|' => "|",
                        _ => "!",
                    };
                    self.push(Tok::Op(op), start);
                }
                '=' => {
                    self.bump();
                    self.push(Tok::Op("="), start);
                }
                '+' if self.peek2() == Some('=') => {
                    self.pos += 2;
                    self.push(Tok::Op("+="), start);
                }
                '+' => {
                    self.bump();
                    if self.peek().is_some_and(|c| c.is_ascii_digit()) && !self.out_ends_value() {
                        self.pos = start;
                        self.word(start);
                    } else {
                        self.push(Tok::Op("+"), start);
                    }
                }
                '.' if !self.space
                    && self.out_ends_value()
                    && self.peek2().is_some_and(|c| c.is_alphabetic() || c == '_') =>
                {
                    self.bump();
                    self.push(Tok::Op("."), start);
                    let name_start = self.pos;
                    while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        self.bump();
                    }
                    let name = self.src[name_start..self.pos].to_owned();
                    self.push(Tok::Word(name), name_start);
                }
                ':' if self.peek2() == Some(':') => {
                    self.pos += 2;
                    self.push(Tok::Op("::"), start);
                }
                '>' | '2' | '*' if self.redirection() => {
                    self.push(Tok::Op(">"), start);
                }
                c if is_dash(c) => self.dash(start),
                _ => self.word(start),
            }
        }
        Ok(())
    }

    /// Does the last token end a value that `.member` or `[i]` may follow?
    fn out_ends_value(&self) -> bool {
        matches!(
            self.out.last().map(|t| &t.tok),
            Some(
                Tok::Var(_) | Tok::Op(")" | "]") | Tok::Word(_) | Tok::Str(_) | Tok::Expandable(_)
            )
        )
    }

    /// `>`, `>>`, `2>`, `2>&1`, `*>` … at the start of a token; consumes it when it is one.
    fn redirection(&mut self) -> bool {
        let rest = &self.src[self.pos..];
        let n = ["*>&1", "2>&1", "3>&1", "2>>", "*>>", "2>", "*>", ">>", ">"]
            .iter()
            .find(|r| rest.starts_with(**r))
            .map(|r| r.len());
        match n {
            Some(n) if self.space || !rest.starts_with('2') => {
                self.pos += n;
                true
            }
            _ => false,
        }
    }

    fn dash(&mut self, start: usize) {
        self.bump();
        let name_start = self.pos;
        if self.peek().is_some_and(|c| c.is_alphabetic() || c == '_') {
            while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-') {
                self.bump();
            }
            let name = self.src[name_start..self.pos].trim_end_matches('-').to_owned();
            self.pos = name_start + name.len();
            let colon = self.peek() == Some(':') && self.peek2() != Some(':');
            if colon {
                self.bump();
            }
            self.push(Tok::Param { name, colon }, start);
        } else if self.peek() == Some('=') {
            self.bump();
            self.push(Tok::Op("-="), start);
        } else {
            self.pos = start;
            self.word(start);
        }
    }

    /// A bare word; a backtick escapes the next character.
    fn word(&mut self, start: usize) {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if c == '`' {
                self.bump();
                match self.bump() {
                    Some('\n') | None => break,
                    Some(e) => s.push(e),
                }
                continue;
            }
            if ends_word(c) && !(s.is_empty() && c == '&') {
                break;
            }
            if c == '$' && !s.is_empty() {
                break;
            }
            if matches!(c, '[' | ']' | '=') && !s.is_empty() {
                // `a[0]`, `a=b`: the word ends here.
                break;
            }
            s.push(c);
            self.bump();
        }
        if s.is_empty() {
            // A character no rule takes: keep it as a one-character word.
            if let Some(c) = self.bump() {
                s.push(c);
            }
        }
        self.push(Tok::Word(s), start);
    }

    fn at_sign(&mut self, start: usize) -> Result<(), LexError> {
        self.bump();
        match self.peek() {
            Some('(') => {
                self.bump();
                self.push(Tok::Op("@("), start);
            }
            Some('{') => {
                self.bump();
                self.push(Tok::Op("@{"), start);
            }
            Some(q) if (is_single_quote(q) || is_double_quote(q)) && self.here_start() => {
                self.here_string(start, is_double_quote(q))?;
            }
            Some(c) if is_var_char(c) => {
                // Splatting: `@params`.
                let name_start = self.pos;
                while self.peek().is_some_and(is_var_char) {
                    self.bump();
                }
                let name = self.src[name_start..self.pos].to_owned();
                self.push(Tok::Word(format!("@{name}")), start);
            }
            _ => self.push(Tok::Word("@".into()), start),
        }
        Ok(())
    }

    /// After `@`: a quote and then only spaces up to the end of the line.
    fn here_start(&self) -> bool {
        // The quote may be a curly one, three bytes long.
        let quote = self.src[self.pos..].chars().next().map_or(0, char::len_utf8);
        let rest = &self.src[self.pos + quote..];
        let line = rest.split('\n').next().unwrap_or("");
        line.trim().is_empty() && rest.contains('\n')
    }

    fn here_string(&mut self, start: usize, expandable: bool) -> Result<(), LexError> {
        self.bump();
        let nl = self.src[self.pos..].find('\n').map_or(self.src.len(), |i| self.pos + i + 1);
        self.pos = nl;
        let close = if expandable { "\"@" } else { "'@" };
        let body_start = self.pos;
        let mut line_start = self.pos;
        let close_len;
        loop {
            let rest = &self.src[line_start..];
            if rest.is_empty() {
                return Err(self.err(
                    start,
                    format!("here-string is never closed with {close} at the start of a line"),
                ));
            }
            // PowerShell closes with any quote of the opening's kind, curly ones too.
            let mut chars = rest.chars();
            if let Some(q) = chars.next()
                && (if expandable { is_double_quote(q) } else { is_single_quote(q) })
                && chars.next() == Some('@')
            {
                close_len = q.len_utf8() + 1;
                break;
            }
            line_start += rest.find('\n').map_or(rest.len(), |i| i + 1);
        }
        let body = self.src[body_start..line_start].strip_suffix('\n').unwrap_or("");
        let body = body.strip_suffix('\r').unwrap_or(body);
        self.pos = line_start + close_len;
        if expandable {
            let mut sub = Lexer {
                depth: self.depth,
                src: body,
                pos: 0,
                base: self.base + body_start,
                out: Vec::new(),
                space: false,
            };
            let parts = sub.double_quoted(0, true)?;
            self.push(Tok::Expandable(parts), start);
        } else {
            self.push(Tok::Str(body.to_owned()), start);
        }
        Ok(())
    }

    fn single_quoted(&mut self, start: usize) -> Result<String, LexError> {
        let mut s = String::new();
        loop {
            match self.bump() {
                None => return Err(self.err(start, "string is never closed")),
                Some(c) if is_single_quote(c) => {
                    if self.peek().is_some_and(is_single_quote) {
                        self.bump();
                        s.push('\'');
                    } else {
                        return Ok(s);
                    }
                }
                Some(c) => s.push(c),
            }
        }
    }

    /// The parts of a double-quoted string (up to its closing quote), or of a here-string
    /// body (to the end of input) when `here`.
    fn double_quoted(&mut self, start: usize, here: bool) -> Result<Vec<Part>, LexError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        loop {
            let Some(c) = self.bump() else {
                if here {
                    break;
                }
                return Err(self.err(start, "string is never closed"));
            };
            match c {
                c if !here && is_double_quote(c) => {
                    if self.peek().is_some_and(is_double_quote) {
                        self.bump();
                        lit.push('"');
                    } else {
                        break;
                    }
                }
                '`' => match self.bump() {
                    Some('n') => lit.push('\n'),
                    Some('t') => lit.push('\t'),
                    Some('r') => lit.push('\r'),
                    Some('0') => lit.push('\0'),
                    Some('a') => lit.push('\u{7}'),
                    Some('b') => lit.push('\u{8}'),
                    Some('e') => lit.push('\u{1b}'),
                    Some('f') => lit.push('\u{c}'),
                    Some('v') => lit.push('\u{b}'),
                    Some(e) => lit.push(e),
                    None => return Err(self.err(start, "string is never closed")),
                },
                '$' => match self.peek() {
                    Some('(') => {
                        self.bump();
                        let inner_start = self.pos;
                        let end = self.matching_paren(start)?;
                        let tokens = lex_nested(
                            &self.src[inner_start..end],
                            self.base + inner_start,
                            self.depth + 1,
                        )?;
                        self.pos = end + 1;
                        flush(&mut parts, &mut lit);
                        parts.push(Part::Sub(tokens));
                    }
                    Some('{') => {
                        self.bump();
                        let name_start = self.pos;
                        let Some(end) = self.src[self.pos..].find('}') else {
                            return Err(self.err(start, "${ is never closed"));
                        };
                        let name = self.src[name_start..name_start + end].to_owned();
                        self.pos = name_start + end + 1;
                        flush(&mut parts, &mut lit);
                        parts.push(Part::Var(name));
                    }
                    Some(c) if is_var_char(c) && c != '?' => {
                        let name = self.var_name();
                        flush(&mut parts, &mut lit);
                        parts.push(Part::Var(name));
                    }
                    _ => lit.push('$'),
                },
                c => lit.push(c),
            }
        }
        flush(&mut parts, &mut lit);
        Ok(parts)
    }

    /// The offset of the `)` closing a `$(` whose content starts at `self.pos`.
    fn matching_paren(&self, start: usize) -> Result<usize, LexError> {
        let mut depth = 0usize;
        let mut i = self.pos;
        let bytes = self.src.as_bytes();
        let mut quote: Option<u8> = None;
        while i < bytes.len() {
            let b = bytes[i];
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None => match b {
                    b'\'' => quote = Some(b'\''),
                    b'(' => depth += 1,
                    b')' if depth == 0 => return Ok(i),
                    b')' => depth -= 1,
                    _ => {}
                },
            }
            i += 1;
        }
        Err(self.err(start, "$( is never closed"))
    }

    /// A variable name after `$`, with a scope prefix (`global:`, `script:` …) dropped.
    fn var_name(&mut self) -> String {
        let name_start = self.pos;
        while self.peek().is_some_and(is_var_char) {
            self.bump();
        }
        if self.peek() == Some(':') && self.peek2().is_some_and(|c| is_var_char(c) && c != '?') {
            let scope = self.src[name_start..self.pos].to_ascii_lowercase();
            self.bump();
            let rest_start = self.pos;
            while self.peek().is_some_and(is_var_char) {
                self.bump();
            }
            let rest = &self.src[rest_start..self.pos];
            return if scope == "env" { format!("env:{rest}") } else { rest.to_owned() };
        }
        self.src[name_start..self.pos].to_owned()
    }

    fn dollar(&mut self, start: usize) -> Result<(), LexError> {
        self.bump();
        match self.peek() {
            Some('(') => {
                self.bump();
                self.push(Tok::Op("$("), start);
            }
            Some('{') => {
                self.bump();
                let Some(end) = self.src[self.pos..].find('}') else {
                    return Err(self.err(start, "${ is never closed"));
                };
                let name = self.src[self.pos..self.pos + end].to_owned();
                self.pos += end + 1;
                self.push(Tok::Var(name), start);
            }
            Some('$' | '^') => {
                let c = self.bump().unwrap_or('$');
                self.push(Tok::Var(c.to_string()), start);
            }
            Some(c) if is_var_char(c) => {
                let name = self.var_name();
                self.push(Tok::Var(name), start);
            }
            _ => self.push(Tok::Word("$".into()), start),
        }
        Ok(())
    }
}

fn flush(parts: &mut Vec<Part>, lit: &mut String) {
    if !lit.is_empty() {
        parts.push(Part::Lit(std::mem::take(lit)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s, 0).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn strings_variables_and_continuations() {
        assert_eq!(
            toks("$a = 'it''s' `\n -P:$true \"x$b${c d}$(1)$\""),
            vec![
                Tok::Var("a".into()),
                Tok::Op("="),
                Tok::Str("it's".into()),
                Tok::Param { name: "P".into(), colon: true },
                Tok::Var("true".into()),
                Tok::Expandable(vec![
                    Part::Lit("x".into()),
                    Part::Var("b".into()),
                    Part::Var("c d".into()),
                    Part::Sub(vec![Token {
                        tok: Tok::Word("1".into()),
                        at: 37,
                        space_before: true
                    }]),
                    Part::Lit("$".into()),
                ]),
            ]
        );
        assert_eq!(toks("$x.Identity[0]")[1..3], [Tok::Op("."), Tok::Word("Identity".into())]);
        assert_eq!(
            toks("a.b.c # c\n<# x\n #> d"),
            vec![Tok::Word("a.b.c".into()), Tok::Newline, Tok::Word("d".into())]
        );
        assert_eq!(toks("@'\nx\n'@"), vec![Tok::Str("x".into())]);
        // Curly quotes open and close here-strings too; an `@` before a curly quote with text
        // after it on the line is no here-string (that slice once split the quote's bytes).
        assert_eq!(
            toks("@\u{2018}\nx\n\u{2019}@ y"),
            vec![Tok::Str("x".into()), Tok::Word("y".into())]
        );
        assert_eq!(
            toks("@\u{201c}\r\nx\r\n\u{201d}@"),
            vec![Tok::Expandable(vec![Part::Lit("x".into())])]
        );
        assert_eq!(toks("@\u{2018}\nx\n'@"), vec![Tok::Str("x".into())]);
        assert!(lex("$a = @\u{2018}x\n", 0).is_err(), "a string that never closes");
        assert_eq!(toks("@\u{2018}x\u{2019}")[1], Tok::Str("x".into()));
        assert_eq!(
            toks("(Get-X) 2>$null"),
            vec![
                Tok::Op("("),
                Tok::Word("Get-X".into()),
                Tok::Op(")"),
                Tok::Op(">"),
                Tok::Var("null".into())
            ]
        );
        assert!(lex("'open", 0).is_err());
        assert!(lex("\"$(open", 0).is_err());
    }
}
