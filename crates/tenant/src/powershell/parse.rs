//! PowerShell statements and expressions: the straight-line part of the language that Teams
//! scripts use, plus a record of every other construct (with what it assigns) so that it can
//! be refused or skipped with its location.

use super::lex::{Part, Tok, Token};

#[derive(Debug, Clone)]
pub(crate) struct Expr {
    pub kind: ExprKind,
    pub at: usize,
}

#[derive(Debug, Clone)]
pub(crate) enum EPart {
    Lit(String),
    Var(String),
    Sub(Vec<Stmt>),
}

#[derive(Debug, Clone)]
pub(crate) enum ExprKind {
    /// A quoted string.
    Str(String),
    /// A double-quoted string.
    Expandable(Vec<EPart>),
    /// A bare word (argument mode) or a number.
    Word(String),
    Var(String),
    /// `a, b, c`
    List(Vec<Expr>),
    /// `@( ... )`
    ArrayExpr(Vec<Stmt>),
    /// `@{ k = v; ... }`
    Hash(Vec<(String, Expr)>),
    Member(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    Method(Box<Expr>, String, Vec<Expr>),
    /// `[type]::Member(args)`
    Static(String, String, Vec<Expr>),
    Cast(String, Box<Expr>),
    /// `( pipeline )`
    Paren(Box<Pipeline>),
    /// `$( statements )`
    SubExpr(Vec<Stmt>),
    /// `-op` (lowercase, without the dash) or `+`.
    Binary(String, Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    /// Argument-mode tokens written together: `$root\file.ps1`.
    Concat(Vec<Expr>),
    /// `{ ... }`
    ScriptBlock,
}

#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Param { name: String, at: usize, value: Option<Expr> },
    Value(Expr),
}

#[derive(Debug, Clone)]
pub(crate) struct Command {
    pub name: String,
    pub at: usize,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone)]
pub(crate) enum Stage {
    Expr(Expr),
    Command(Command),
}

#[derive(Debug, Clone)]
pub(crate) struct Pipeline {
    pub stages: Vec<Stage>,
    pub at: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Stmt {
    pub kind: StmtKind,
    pub at: usize,
}

#[derive(Debug, Clone)]
pub(crate) enum StmtKind {
    Assign {
        var: String,
        add: bool,
        value: Pipeline,
    },
    Pipeline(Pipeline),
    If {
        branches: Vec<(Pipeline, Vec<Stmt>)>,
        otherwise: Option<Vec<Stmt>>,
    },
    Foreach {
        var: String,
        collection: Pipeline,
        body: Vec<Stmt>,
    },
    Try {
        body: Vec<Stmt>,
        finally: Option<Vec<Stmt>>,
    },
    /// `. file.ps1`
    DotSource,
    /// A construct tpr does not run: what it is, and the variables it assigns.
    Unsupported {
        construct: String,
        assigns: Vec<String>,
    },
}

#[derive(Debug)]
pub(crate) struct ParseError {
    pub at: usize,
    pub message: String,
}

type PResult<T> = Result<T, ParseError>;

const COMPARISON: [&str; 22] = [
    "eq",
    "ne",
    "gt",
    "ge",
    "lt",
    "le",
    "match",
    "notmatch",
    "like",
    "notlike",
    "contains",
    "notcontains",
    "in",
    "notin",
    "ieq",
    "ine",
    "ceq",
    "cne",
    "imatch",
    "cmatch",
    "is",
    "isnot",
];

/// Statement keywords tpr does not run.
const UNSUPPORTED: [&str; 22] = [
    "function",
    "filter",
    "workflow",
    "configuration",
    "while",
    "for",
    "do",
    "switch",
    "trap",
    "break",
    "continue",
    "return",
    "exit",
    "throw",
    "param",
    "class",
    "enum",
    "using",
    "begin",
    "process",
    "end",
    "data",
];

/// Keywords that continue the statement before them.
const CONTINUATIONS: [&str; 6] = ["else", "elseif", "catch", "finally", "while", "until"];

pub(crate) fn parse(tokens: &[Token]) -> PResult<Vec<Stmt>> {
    let mut p = Parser { t: tokens, i: 0, depth: 0 };
    let stmts = p.block_body(false)?;
    if let Some(t) = p.t.get(p.i) {
        return Err(ParseError { at: t.at, message: format!("unexpected {}", describe(&t.tok)) });
    }
    Ok(stmts)
}

struct Parser<'a> {
    t: &'a [Token],
    i: usize,
    /// Nesting of pipelines inside expressions, bounded so that no input exhausts the stack.
    depth: usize,
}

/// Deepest nesting of `( … )`, `@( … )`, `{ … }` … a script may have.
const MAX_DEPTH: usize = 64;

fn describe(t: &Tok) -> String {
    match t {
        Tok::Newline => "end of line".into(),
        Tok::Semi => "`;`".into(),
        Tok::Var(v) => format!("`${v}`"),
        Tok::Str(_) | Tok::Expandable(_) => "string".into(),
        Tok::Word(w) => format!("`{w}`"),
        Tok::Param { name, .. } => format!("`-{name}`"),
        Tok::Op(o) => format!("`{o}`"),
    }
}

fn keyword(t: Option<&Token>) -> Option<String> {
    match t.map(|t| &t.tok) {
        Some(Tok::Word(w)) => Some(w.to_ascii_lowercase()),
        _ => None,
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.t.get(self.i).map(|t| &t.tok)
    }

    fn at(&self) -> usize {
        self.t.get(self.i).or(self.t.last()).map_or(0, |t| t.at)
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Tok::Op(o)) if *o == op)
    }

    fn tight(&self) -> bool {
        self.t.get(self.i).is_some_and(|t| !t.space_before)
    }

    fn expect_op(&mut self, op: &str) -> PResult<()> {
        if self.is_op(op) {
            self.i += 1;
            return Ok(());
        }
        let found = self.peek().map_or("end of script".into(), describe);
        Err(ParseError { at: self.at(), message: format!("expected `{op}`, found {found}") })
    }

    fn skip_newlines(&mut self) {
        while matches!(self.peek(), Some(Tok::Newline | Tok::Semi)) {
            self.i += 1;
        }
    }

    fn skip_newlines_only(&mut self) {
        while matches!(self.peek(), Some(Tok::Newline)) {
            self.i += 1;
        }
    }

    /// Statements up to `}` (when `braced`, which is consumed) or the end of input.
    fn block_body(&mut self, braced: bool) -> PResult<Vec<Stmt>> {
        let mut out = Vec::new();
        loop {
            self.skip_newlines();
            match self.peek() {
                None if braced => {
                    return Err(ParseError {
                        at: self.at(),
                        message: "missing closing `}`".into(),
                    });
                }
                None => return Ok(out),
                Some(Tok::Op("}")) if braced => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(Tok::Op("}" | ")")) => return Ok(out),
                _ => {}
            }
            out.push(self.statement()?);
            match self.peek() {
                None | Some(Tok::Newline | Tok::Semi | Tok::Op("}" | ")")) => {}
                Some(t) => {
                    return Err(ParseError {
                        at: self.at(),
                        message: format!("unexpected {} after the statement", describe(t)),
                    });
                }
            }
        }
    }

    fn block(&mut self) -> PResult<Vec<Stmt>> {
        self.skip_newlines_only();
        self.expect_op("{")?;
        self.nested(|p| p.block_body(true))
    }

    fn statement(&mut self) -> PResult<Stmt> {
        let at = self.at();
        if let Some(k) = keyword(self.t.get(self.i)) {
            match k.as_str() {
                "if" => return self.if_statement(at),
                "foreach"
                    if matches!(self.t.get(self.i + 1).map(|t| &t.tok), Some(Tok::Op("("))) =>
                {
                    return self.foreach(at);
                }
                "try" => return self.try_statement(at),
                k if UNSUPPORTED.contains(&k) || CONTINUATIONS.contains(&k) => {
                    return Ok(self.unsupported(at, format!("`{k}` statement")));
                }
                "." if self.t.get(self.i + 1).is_some_and(|t| t.space_before) => {
                    self.i += 1;
                    self.arg_value()?;
                    return Ok(Stmt { kind: StmtKind::DotSource, at });
                }
                _ => {}
            }
        }
        if let Some(Tok::Var(v)) = self.peek() {
            let v = v.clone();
            match self.t.get(self.i + 1).map(|t| &t.tok) {
                Some(Tok::Op(op @ ("=" | "+="))) => {
                    let add = *op == "+=";
                    self.i += 2;
                    self.skip_newlines_only();
                    let value = self.pipeline()?;
                    return Ok(Stmt { kind: StmtKind::Assign { var: v, add, value }, at });
                }
                Some(Tok::Op("-=")) => {
                    return Ok(self.unsupported(at, "`-=` assignment".into()));
                }
                _ => {}
            }
            // `$x.Prop = …` and `$x[0] = …`.
            let save = self.i;
            self.i += 1;
            let mut depth = 0i32;
            while let Some(t) = self.peek() {
                match t {
                    Tok::Op("(" | "[" | "{" | "@(" | "@{" | "$(") => depth += 1,
                    Tok::Op(")" | "]" | "}") => depth -= 1,
                    Tok::Newline | Tok::Semi | Tok::Op("|") if depth <= 0 => break,
                    Tok::Op("=" | "+=" | "-=") if depth == 0 => {
                        self.i = save;
                        return Ok(
                            self.unsupported(at, "assignment to a property or element".into())
                        );
                    }
                    _ => {}
                }
                self.i += 1;
            }
            self.i = save;
        }
        let p = self.pipeline()?;
        Ok(Stmt { kind: StmtKind::Pipeline(p), at })
    }

    fn if_statement(&mut self, at: usize) -> PResult<Stmt> {
        let mut branches = Vec::new();
        let mut otherwise = None;
        self.i += 1;
        loop {
            self.skip_newlines_only();
            self.expect_op("(")?;
            self.skip_newlines_only();
            let cond = self.pipeline()?;
            self.skip_newlines_only();
            self.expect_op(")")?;
            let body = self.block()?;
            branches.push((cond, body));
            let save = self.i;
            self.skip_newlines_only();
            match keyword(self.t.get(self.i)).as_deref() {
                Some("elseif") => {
                    self.i += 1;
                }
                Some("else") => {
                    self.i += 1;
                    otherwise = Some(self.block()?);
                    break;
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        Ok(Stmt { kind: StmtKind::If { branches, otherwise }, at })
    }

    fn foreach(&mut self, at: usize) -> PResult<Stmt> {
        self.i += 1;
        self.expect_op("(")?;
        let var = match self.peek() {
            Some(Tok::Var(v)) => v.clone(),
            _ => {
                return Err(ParseError {
                    at: self.at(),
                    message: "expected the loop variable in `foreach (`".into(),
                });
            }
        };
        self.i += 1;
        if keyword(self.t.get(self.i)).as_deref() != Some("in") {
            return Err(ParseError { at: self.at(), message: "expected `in` in `foreach`".into() });
        }
        self.i += 1;
        let collection = self.pipeline()?;
        self.expect_op(")")?;
        let body = self.block()?;
        Ok(Stmt { kind: StmtKind::Foreach { var, collection, body }, at })
    }

    fn try_statement(&mut self, at: usize) -> PResult<Stmt> {
        self.i += 1;
        let body = self.block()?;
        let mut finally = None;
        loop {
            let save = self.i;
            self.skip_newlines_only();
            match keyword(self.t.get(self.i)).as_deref() {
                Some("catch") => {
                    self.i += 1;
                    while self.is_op("[") {
                        self.skip_balanced();
                        if self.is_op(",") {
                            self.i += 1;
                        }
                    }
                    // The catch block runs only when the body fails; an import assumes it
                    // does not.
                    self.skip_newlines_only();
                    if !self.is_op("{") {
                        return Err(ParseError {
                            at: self.at(),
                            message: "expected `{` after `catch`".into(),
                        });
                    }
                    self.skip_balanced();
                }
                Some("finally") => {
                    self.i += 1;
                    finally = Some(self.block()?);
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        Ok(Stmt { kind: StmtKind::Try { body, finally }, at })
    }

    /// Steps over one balanced group starting at an opening token.
    fn skip_balanced(&mut self) {
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            match t {
                Tok::Op("(" | "[" | "{" | "@(" | "@{" | "$(") => depth += 1,
                Tok::Op(")" | "]" | "}") => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.i += 1;
                        return;
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
    }

    /// Steps over a construct tpr does not run, noting the variables it assigns.
    fn unsupported(&mut self, at: usize, construct: String) -> Stmt {
        let mut assigns: Vec<String> = Vec::new();
        let mut depth = 0usize;
        let mut closed_block = false;
        while let Some(t) = self.peek() {
            match t {
                Tok::Op("(" | "[" | "{" | "@(" | "@{" | "$(") => depth += 1,
                Tok::Op(")" | "]") => depth = depth.saturating_sub(1),
                Tok::Op("}") if depth == 0 => break,
                Tok::Op("}") => {
                    depth -= 1;
                    if depth == 0 {
                        closed_block = true;
                        self.i += 1;
                        // Another part of the same statement may follow (`else`, `while` …).
                        let save = self.i;
                        self.skip_newlines_only();
                        let next = keyword(self.t.get(self.i));
                        if next.as_deref().is_some_and(|k| CONTINUATIONS.contains(&k)) {
                            continue;
                        }
                        self.i = save;
                        break;
                    }
                }
                Tok::Newline | Tok::Semi if depth == 0 => {
                    // A block may open on the next line: `function F` ⏎ `{`.
                    let save = self.i;
                    self.skip_newlines_only();
                    if !closed_block && self.is_op("{") && construct != "`break` statement" {
                        continue;
                    }
                    self.i = save;
                    break;
                }
                Tok::Var(v) => {
                    let next = self.t.get(self.i + 1).map(|t| &t.tok);
                    let in_foreach = matches!(self.t.get(self.i + 2).map(|t| &t.tok), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("in"));
                    if (matches!(next, Some(Tok::Op("=" | "+=" | "-="))) || in_foreach)
                        && !assigns.iter().any(|a| a.eq_ignore_ascii_case(v))
                    {
                        assigns.push(v.clone());
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
        // A function's body runs only when it is called (and the call is refused in turn);
        // its variables are its own.
        if ["function", "filter", "workflow", "configuration", "class"]
            .iter()
            .any(|k| construct == format!("`{k}` statement"))
        {
            assigns.clear();
        }
        Stmt { kind: StmtKind::Unsupported { construct, assigns }, at }
    }

    /// Runs `f` one nesting level deeper, refusing input nested past `MAX_DEPTH`.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        self.depth += 1;
        let r = if self.depth > MAX_DEPTH {
            Err(ParseError {
                at: self.at(),
                message: format!("nested more than {MAX_DEPTH} levels deep"),
            })
        } else {
            f(self)
        };
        self.depth -= 1;
        r
    }

    fn pipeline(&mut self) -> PResult<Pipeline> {
        self.nested(Parser::pipeline_inner)
    }

    fn pipeline_inner(&mut self) -> PResult<Pipeline> {
        let at = self.at();
        let mut stages = vec![self.stage(true)?];
        loop {
            self.redirections()?;
            if !self.is_op("|") {
                break;
            }
            self.i += 1;
            self.skip_newlines_only();
            stages.push(self.stage(false)?);
        }
        Ok(Pipeline { stages, at })
    }

    /// `2>$null`, `>out.txt`: output is not modelled, so they are read and dropped.
    fn redirections(&mut self) -> PResult<()> {
        while self.is_op(">") {
            self.i += 1;
            if self.peek().is_none() {
                return Err(ParseError {
                    at: self.at(),
                    message: "redirection without a target".into(),
                });
            }
            self.arg_value()?;
        }
        Ok(())
    }

    fn stage(&mut self, first: bool) -> PResult<Stage> {
        match self.peek() {
            Some(Tok::Word(w)) if is_command_name(w) => {
                let name = w.clone();
                let at = self.at();
                self.i += 1;
                let args = self.args()?;
                Ok(Stage::Command(Command { name, at, args }))
            }
            Some(_) if first => Ok(Stage::Expr(self.expr()?)),
            Some(t) => Err(ParseError {
                at: self.at(),
                message: format!("expected a command after `|`, found {}", describe(t)),
            }),
            None => Err(ParseError { at: self.at(), message: "expected a command".into() }),
        }
    }

    fn args(&mut self) -> PResult<Vec<Arg>> {
        let mut args = Vec::new();
        loop {
            match self.peek() {
                None | Some(Tok::Newline | Tok::Semi | Tok::Op("|" | ")" | "}" | ">")) => {
                    return Ok(args);
                }
                Some(Tok::Param { name, colon }) => {
                    let (name, colon, at) = (name.clone(), *colon, self.at());
                    self.i += 1;
                    let value = if colon { Some(self.arg_value()?) } else { None };
                    args.push(Arg::Param { name, at, value });
                }
                Some(_) => args.push(Arg::Value(self.arg_value()?)),
            }
        }
    }

    /// One argument in argument mode: a value, tokens written together, or a comma list.
    fn arg_value(&mut self) -> PResult<Expr> {
        self.list_of(Parser::arg_single)
    }

    /// `item`, or `item, item, …` as a list (a newline may follow each comma).
    fn list_of(&mut self, item: fn(&mut Self) -> PResult<Expr>) -> PResult<Expr> {
        let first = item(self)?;
        if !self.is_op(",") {
            return Ok(first);
        }
        let at = first.at;
        let mut items = vec![first];
        while self.is_op(",") {
            self.i += 1;
            self.skip_newlines_only();
            items.push(item(self)?);
        }
        Ok(Expr { kind: ExprKind::List(items), at })
    }

    fn arg_single(&mut self) -> PResult<Expr> {
        let first = self.arg_primary()?;
        let at = first.at;
        let mut parts = vec![first];
        while self.tight()
            && matches!(
                self.peek(),
                Some(Tok::Word(_) | Tok::Str(_) | Tok::Expandable(_) | Tok::Var(_))
            )
        {
            parts.push(self.arg_primary()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Expr { kind: ExprKind::Word(String::new()), at })
        } else {
            Expr { kind: ExprKind::Concat(parts), at }
        })
    }

    fn arg_primary(&mut self) -> PResult<Expr> {
        match self.peek() {
            Some(Tok::Word(w)) => {
                let e = Expr { kind: ExprKind::Word(w.clone()), at: self.at() };
                self.i += 1;
                Ok(e)
            }
            Some(Tok::Param { name, .. }) => {
                // `-5` is lexed as a word; a `-name` here is a value only in a list.
                Err(ParseError { at: self.at(), message: format!("unexpected `-{name}`") })
            }
            _ => self.postfix(),
        }
    }

    // ---- expression mode ----

    fn expr(&mut self) -> PResult<Expr> {
        let mut left = self.and_expr()?;
        while let Some(op) = self.binary_op(&["or", "xor"]) {
            self.skip_newlines_only();
            let right = self.and_expr()?;
            left = binary(op, left, right);
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> PResult<Expr> {
        let mut left = self.comparison()?;
        while let Some(op) = self.binary_op(&["and"]) {
            self.skip_newlines_only();
            let right = self.comparison()?;
            left = binary(op, left, right);
        }
        Ok(left)
    }

    fn comparison(&mut self) -> PResult<Expr> {
        let mut left = self.additive()?;
        while let Some(op) = self.binary_op(&COMPARISON) {
            self.skip_newlines_only();
            let right = self.additive()?;
            left = binary(op, left, right);
        }
        if let Some(Tok::Param { name, .. }) = self.peek() {
            let known = ["or", "xor", "and"].contains(&name.to_ascii_lowercase().as_str());
            if !known {
                return Err(ParseError {
                    at: self.at(),
                    message: format!("operator `-{name}` is not supported"),
                });
            }
        }
        Ok(left)
    }

    fn binary_op(&mut self, ops: &[&str]) -> Option<String> {
        if let Some(Tok::Param { name, colon: false }) = self.peek() {
            let lower = name.to_ascii_lowercase();
            if ops.contains(&lower.as_str()) {
                self.i += 1;
                return Some(lower);
            }
        }
        None
    }

    fn additive(&mut self) -> PResult<Expr> {
        let mut left = self.comma()?;
        while self.is_op("+") {
            self.i += 1;
            self.skip_newlines_only();
            let right = self.comma()?;
            left = binary("+".into(), left, right);
        }
        Ok(left)
    }

    fn comma(&mut self) -> PResult<Expr> {
        self.list_of(Parser::unary)
    }

    fn unary(&mut self) -> PResult<Expr> {
        self.nested(Parser::unary_inner)
    }

    fn unary_inner(&mut self) -> PResult<Expr> {
        let at = self.at();
        if self.is_op("!") {
            self.i += 1;
            return Ok(Expr { kind: ExprKind::Not(Box::new(self.unary()?)), at });
        }
        if let Some(Tok::Param { name, .. }) = self.peek()
            && name.eq_ignore_ascii_case("not")
        {
            self.i += 1;
            return Ok(Expr { kind: ExprKind::Not(Box::new(self.unary()?)), at });
        }
        if self.is_op("[") {
            let ty = self.type_name()?;
            if self.is_op("::") {
                self.i += 1;
                let member = match self.peek() {
                    Some(Tok::Word(w)) => w.clone(),
                    _ => {
                        return Err(ParseError {
                            at: self.at(),
                            message: "expected a member after `::`".into(),
                        });
                    }
                };
                self.i += 1;
                let args =
                    if self.is_op("(") && self.tight() { self.call_args()? } else { Vec::new() };
                return Ok(Expr { kind: ExprKind::Static(ty, member, args), at });
            }
            let inner = self.unary()?;
            return Ok(Expr { kind: ExprKind::Cast(ty, Box::new(inner)), at });
        }
        self.postfix()
    }

    /// `[type]`, with nested brackets (`[Collections.Generic.List[Object]]`).
    fn type_name(&mut self) -> PResult<String> {
        let at = self.at();
        self.i += 1;
        let mut depth = 1;
        let mut name = String::new();
        while let Some(t) = self.peek() {
            match t {
                Tok::Op("[") => {
                    depth += 1;
                    name.push('[');
                }
                Tok::Op("]") => {
                    depth -= 1;
                    self.i += 1;
                    if depth == 0 {
                        return Ok(name);
                    }
                    name.push(']');
                    continue;
                }
                Tok::Word(w) => name.push_str(w),
                Tok::Op(o) => name.push_str(o),
                _ => break,
            }
            self.i += 1;
        }
        Err(ParseError { at, message: "type name `[` is never closed".into() })
    }

    fn call_args(&mut self) -> PResult<Vec<Expr>> {
        self.expect_op("(")?;
        let mut args = Vec::new();
        self.skip_newlines_only();
        if self.is_op(")") {
            self.i += 1;
            return Ok(args);
        }
        loop {
            self.skip_newlines_only();
            args.push(self.additive_no_comma()?);
            self.skip_newlines_only();
            if self.is_op(",") {
                self.i += 1;
                continue;
            }
            self.expect_op(")")?;
            return Ok(args);
        }
    }

    /// A method argument: commas separate arguments there.
    fn additive_no_comma(&mut self) -> PResult<Expr> {
        let mut left = self.unary()?;
        while let Some(op) = self.binary_op(&COMPARISON) {
            let right = self.unary()?;
            left = binary(op, left, right);
        }
        while self.is_op("+") {
            self.i += 1;
            let right = self.unary()?;
            left = binary("+".into(), left, right);
        }
        Ok(left)
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let mut e = self.primary()?;
        loop {
            if !self.tight() {
                return Ok(e);
            }
            let at = self.at();
            if self.is_op(".") {
                self.i += 1;
                let name = match self.peek() {
                    Some(Tok::Word(w)) => w.clone(),
                    _ => {
                        return Err(ParseError {
                            at,
                            message: "expected a member name after `.`".into(),
                        });
                    }
                };
                self.i += 1;
                if self.is_op("(") && self.tight() {
                    let args = self.call_args()?;
                    e = Expr { kind: ExprKind::Method(Box::new(e), name, args), at };
                } else {
                    e = Expr { kind: ExprKind::Member(Box::new(e), name), at };
                }
            } else if self.is_op("[") {
                self.i += 1;
                let index = self.expr()?;
                self.expect_op("]")?;
                e = Expr { kind: ExprKind::Index(Box::new(e), Box::new(index)), at };
            } else {
                return Ok(e);
            }
        }
    }

    fn primary(&mut self) -> PResult<Expr> {
        let at = self.at();
        let Some(tok) = self.peek().cloned() else {
            return Err(ParseError {
                at,
                message: "expected a value, found the end of the script".into(),
            });
        };
        self.i += 1;
        let kind = match tok {
            Tok::Var(v) => ExprKind::Var(v),
            Tok::Str(s) => ExprKind::Str(s),
            Tok::Expandable(parts) => ExprKind::Expandable(expandable(parts)?),
            Tok::Word(w) => ExprKind::Word(w),
            Tok::Op("(") => {
                self.skip_newlines_only();
                let p = self.pipeline()?;
                self.skip_newlines_only();
                self.expect_op(")")?;
                ExprKind::Paren(Box::new(p))
            }
            Tok::Op("$(") => {
                let body = self.block_body(false)?;
                self.expect_op(")")?;
                ExprKind::SubExpr(body)
            }
            Tok::Op("@(") => {
                let body = self.block_body(false)?;
                self.expect_op(")")?;
                ExprKind::ArrayExpr(body)
            }
            Tok::Op("@{") => ExprKind::Hash(self.hash_body(at)?),
            Tok::Op("{") => {
                self.i -= 1;
                self.skip_balanced();
                ExprKind::ScriptBlock
            }
            t => {
                return Err(ParseError { at, message: format!("unexpected {}", describe(&t)) });
            }
        };
        Ok(Expr { kind, at })
    }

    fn hash_body(&mut self, open: usize) -> PResult<Vec<(String, Expr)>> {
        let mut entries = Vec::new();
        loop {
            self.skip_newlines();
            let at = self.at();
            let key = match self.peek() {
                Some(Tok::Op("}")) => {
                    self.i += 1;
                    return Ok(entries);
                }
                Some(Tok::Word(w) | Tok::Str(w)) => w.clone(),
                Some(t) => {
                    return Err(ParseError {
                        at,
                        message: format!("expected a hashtable key, found {}", describe(t)),
                    });
                }
                None => {
                    return Err(ParseError {
                        at: open,
                        message: "hashtable `@{` is never closed".into(),
                    });
                }
            };
            self.i += 1;
            self.expect_op("=")?;
            self.skip_newlines_only();
            let value = if matches!(self.peek(), Some(Tok::Word(w)) if is_command_name(w)) {
                let p = self.pipeline()?;
                Expr { kind: ExprKind::Paren(Box::new(p)), at }
            } else {
                self.expr()?
            };
            entries.push((key, value));
        }
    }
}

fn binary(op: String, l: Expr, r: Expr) -> Expr {
    let at = l.at;
    Expr { kind: ExprKind::Binary(op, Box::new(l), Box::new(r)), at }
}

fn expandable(parts: Vec<Part>) -> PResult<Vec<EPart>> {
    parts
        .into_iter()
        .map(|p| {
            Ok(match p {
                Part::Lit(s) => EPart::Lit(s),
                Part::Var(v) => EPart::Var(v),
                Part::Sub(tokens) => EPart::Sub(parse(&tokens)?),
            })
        })
        .collect()
}

/// A word that starts a command rather than a value: not a number, not a path-like literal.
fn is_command_name(w: &str) -> bool {
    let first = w.chars().next().unwrap_or(' ');
    (first.is_alphabetic() || first == '_' || first == '&' || first == '.')
        && w.parse::<f64>().is_err()
        && w != "."
}

#[cfg(test)]
mod tests {
    use super::super::lex::lex;
    use super::*;

    fn stmts(s: &str) -> Vec<Stmt> {
        parse(&lex(s, 0).unwrap()).unwrap()
    }

    #[test]
    fn statements_of_each_kind() {
        let s = stmts(
            "$a = 1, 2\n$a += 'x'\nif ($a -eq 1) { A } elseif (!$b) { B } else { C }\n\
             foreach ($x in $a) { D -P $x }\ntry { E } catch [X] { F } finally { G }\n\
             while ($true) {\n $w = 1 }\nfunction F\n{\n $f = 2 }\nH | Out-Null",
        );
        let kinds: Vec<String> = s
            .iter()
            .map(|s| match &s.kind {
                StmtKind::Assign { var, add, .. } => format!("assign {var} {add}"),
                StmtKind::Pipeline(p) => format!("pipeline {}", p.stages.len()),
                StmtKind::If { branches, otherwise } => {
                    format!("if {} {}", branches.len(), otherwise.is_some())
                }
                StmtKind::Foreach { var, .. } => format!("foreach {var}"),
                StmtKind::Try { finally, .. } => format!("try {}", finally.is_some()),
                StmtKind::DotSource => "dot".into(),
                StmtKind::Unsupported { construct, assigns } => {
                    format!("unsupported {construct} {assigns:?}")
                }
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "assign a false",
                "assign a true",
                "if 2 true",
                "foreach x",
                "try true",
                "unsupported `while` statement [\"w\"]",
                "unsupported `function` statement []",
                "pipeline 2",
            ]
        );
    }

    #[test]
    fn errors_point_at_the_token() {
        let e = parse(&lex("New-X -A @{Add = 1", 0).unwrap()).unwrap_err();
        assert_eq!(e.message, "hashtable `@{` is never closed");
        let e = parse(&lex("if ($a) { x", 0).unwrap()).unwrap_err();
        assert_eq!(e.message, "missing closing `}`");
    }
}
