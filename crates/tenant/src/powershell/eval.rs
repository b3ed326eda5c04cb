//! Running a parsed script: values, variables, the straight-line statements, and the
//! commands that only read or display (which change nothing and are passed over).

use std::collections::HashMap;
use std::rc::Rc;

use tpr_dialplan::{Limits, Pattern};

use super::doc::{Doc, Obj, Val};
use super::parse::{Arg, Command, EPart, Expr, ExprKind, Pipeline, Stage, Stmt, StmtKind};
use super::xml::XmlNode;
use super::{Fail, ImportOptions};

/// A PowerShell value, in the kinds Teams scripts produce.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<Value>),
    Hash(Vec<(String, Value)>),
    Xml(Rc<XmlNode>),
    /// A Teams object: a rule made `-InMemory`, an emergency number, or what a `Get-Cs…`
    /// returned; `key` names its identity field.
    Obj(Rc<Obj>, &'static str),
    /// What tpr cannot know (typed at a prompt, read from the live tenant, set by a skipped
    /// statement), and why.
    Unknown(Rc<str>),
}

impl Value {
    pub fn truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => match l.as_slice() {
                [] => false,
                [one] => one.truthy(),
                _ => true,
            },
            _ => true,
        }
    }

    pub fn text(&self) -> String {
        match self {
            Value::Null | Value::Unknown(_) => String::new(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Int(i) => i.to_string(),
            Value::Str(s) => s.clone(),
            Value::List(l) => l.iter().map(Value::text).collect::<Vec<_>>().join(" "),
            Value::Hash(_) => "System.Collections.Hashtable".into(),
            Value::Xml(x) => x.inner_text(),
            Value::Obj(o, key) => o.str(key).unwrap_or_default().to_owned(),
        }
    }

    fn unknown(&self) -> Option<&Rc<str>> {
        match self {
            Value::Unknown(why) => Some(why),
            Value::List(l) => l.iter().find_map(Value::unknown),
            _ => None,
        }
    }

    /// The items of a list (lists inside flattened one level), a scalar as one item, `$null`
    /// as none.
    pub fn items(&self) -> Vec<Value> {
        match self {
            Value::Null => Vec::new(),
            Value::List(l) => l
                .iter()
                .flat_map(|v| match v {
                    Value::List(inner) => inner.clone(),
                    Value::Null => Vec::new(),
                    v => vec![v.clone()],
                })
                .collect(),
            v => vec![v.clone()],
        }
    }
}

/// Most statements an import runs.
const MAX_STEPS: u64 = 1_000_000;
/// Largest string (characters) or list (items) a variable may hold.
const MAX_VALUE: usize = 1 << 20;

fn size(v: &Value) -> usize {
    match v {
        Value::Str(s) => s.len(),
        Value::List(l) => l.len() + l.iter().map(size).sum::<usize>(),
        Value::Hash(h) => h.len() + h.iter().map(|(_, v)| size(v)).sum::<usize>(),
        _ => 1,
    }
}

/// Commands that only display, wait or set up the session: they change no tenant object.
const PASSIVE: [&str; 30] = [
    "write-host",
    "write-output",
    "write-verbose",
    "write-warning",
    "write-information",
    "write-debug",
    "write-error",
    "write-progress",
    "clear-host",
    "cls",
    "clear",
    "connect-microsoftteams",
    "disconnect-microsoftteams",
    "import-module",
    "install-module",
    "start-sleep",
    "sleep",
    "set-strictmode",
    "pause",
    "out-null",
    "out-host",
    "start-transcript",
    "stop-transcript",
    "set-executionpolicy",
    "out-default",
    "echo",
    "format-table",
    "format-list",
    "ft",
    "fl",
];

/// Pipeline stages that only filter or shape output.
const SHAPING: [&str; 10] = [
    "select-object",
    "select",
    "where-object",
    "where",
    "?",
    "sort-object",
    "sort",
    "measure-object",
    "out-string",
    "tee-object",
];

pub(crate) struct Interp<'a> {
    pub opts: &'a ImportOptions,
    pub script_dir: String,
    pub vars: HashMap<String, Value>,
    pub pinned: Vec<String>,
    pub doc: Doc,
    pub warnings: Vec<(usize, String)>,
    /// Where `--var` pinned variables were set by the script, already reported.
    pub pinned_reported: Vec<String>,
    /// Statements run so far (a budget: nested loops cannot make an import hang).
    pub steps: u64,
    /// Parameter names as the script spells them, by canonical name (for messages).
    pub spelled: Vec<(String, String)>,
}

impl<'a> Interp<'a> {
    pub fn new(opts: &'a ImportOptions, script_dir: String) -> Interp<'a> {
        let mut vars = HashMap::new();
        let mut pinned = Vec::new();
        for (name, value) in &opts.vars {
            let items: Vec<Value> =
                value.split(',').map(|s| Value::Str(s.trim().to_owned())).collect();
            let v = match items.len() {
                1 => items.into_iter().next().unwrap_or(Value::Null),
                _ => Value::List(items),
            };
            let key = name.trim_start_matches('$').to_ascii_lowercase();
            vars.insert(key.clone(), v);
            pinned.push(key);
        }
        Interp {
            opts,
            script_dir,
            vars,
            pinned,
            doc: Doc::new(),
            warnings: Vec::new(),
            pinned_reported: Vec::new(),
            spelled: Vec::new(),
            steps: 0,
        }
    }

    /// `-Name` as the script wrote the parameter `canonical`.
    pub fn shown(&self, canonical: &str) -> String {
        let name = self.spelled.iter().find(|(c, _)| c == canonical).map_or(canonical, |(_, s)| s);
        format!("-{name}")
    }

    pub fn warn(&mut self, at: usize, message: impl Into<String>) {
        self.warnings.push((at, message.into()));
    }

    /// Something tpr cannot know: an error, or with `--skip-unsupported` an unknown value.
    pub fn unknown(&mut self, at: usize, why: String) -> Result<Value, Fail> {
        if self.opts.skip_unsupported {
            Ok(Value::Unknown(why.into()))
        } else {
            Err(Fail::new(
                at,
                format!("{why}; tpr imports what a script does without running it against Teams"),
            ))
        }
    }

    /// A construct tpr does not run: an error, or with `--skip-unsupported` a warning.
    fn unsupported(&mut self, at: usize, what: &str, assigns: &[String]) -> Result<(), Fail> {
        if !self.opts.skip_unsupported {
            return Err(Fail::new(
                at,
                format!(
                    "{what} is not supported: tpr imports straight-line scripts (--skip-unsupported passes over such statements)"
                ),
            ));
        }
        let names: Vec<String> = assigns
            .iter()
            .filter(|a| !self.pinned.contains(&a.to_ascii_lowercase()))
            .map(|a| format!("${a}"))
            .collect();
        let line_note = if names.is_empty() {
            String::new()
        } else {
            format!("; {} unknown from here on", names.join(", "))
        };
        self.warn(at, format!("skipped {what}{line_note}"));
        for a in assigns {
            let key = a.to_ascii_lowercase();
            if !self.pinned.contains(&key) {
                let why = format!("${a} is set by the {what} that was skipped");
                self.vars.insert(key, Value::Unknown(why.into()));
            }
        }
        Ok(())
    }

    pub fn run(&mut self, stmts: &[Stmt]) -> Result<(), Fail> {
        for s in stmts {
            self.statement(s)?;
        }
        Ok(())
    }

    fn statement(&mut self, s: &Stmt) -> Result<(), Fail> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(Fail::new(
                s.at,
                format!("the script runs more than {MAX_STEPS} statements"),
            ));
        }
        match &s.kind {
            StmtKind::Assign { var, add, value } => {
                let v = self.pipeline(value, false)?;
                let key = var.to_ascii_lowercase();
                if self.pinned.contains(&key) {
                    if !self.pinned_reported.contains(&key) {
                        self.pinned_reported.push(key);
                        self.warn(
                            s.at,
                            format!("the script sets ${var} here; the --var value is kept"),
                        );
                    }
                    return Ok(());
                }
                let v = if *add {
                    let old = self.vars.get(&key).cloned().unwrap_or(Value::Null);
                    add_values(old, v).map_err(|m| Fail::new(s.at, m))?
                } else {
                    v
                };
                if size(&v) > MAX_VALUE {
                    return Err(Fail::new(
                        s.at,
                        format!("${var} grows past {MAX_VALUE} characters or items"),
                    ));
                }
                self.vars.insert(key, v);
                Ok(())
            }
            StmtKind::Pipeline(p) => self.pipeline(p, true).map(drop),
            StmtKind::If { branches, otherwise } => {
                for (cond, body) in branches {
                    let c = self.pipeline(cond, false)?;
                    if let Some(why) = c.unknown() {
                        let what = format!(
                            "`if` statement (its condition depends on what tpr cannot know: {why})"
                        );
                        return self.unsupported(s.at, &what, &[]);
                    }
                    if c.truthy() {
                        return self.run(body);
                    }
                }
                match otherwise {
                    Some(body) => self.run(body),
                    None => Ok(()),
                }
            }
            StmtKind::Foreach { var, collection, body } => {
                let c = self.pipeline(collection, false)?;
                if let Some(why) = c.unknown() {
                    let what = format!("`foreach` loop (its list is unknown: {why})");
                    return self.unsupported(s.at, &what, &[]);
                }
                for item in c.items() {
                    self.vars.insert(var.to_ascii_lowercase(), item);
                    self.run(body)?;
                }
                Ok(())
            }
            StmtKind::Try { body, finally } => {
                self.run(body)?;
                if let Some(f) = finally {
                    self.run(f)?;
                }
                Ok(())
            }
            StmtKind::DotSource => self.unsupported(s.at, "dot-sourcing another script", &[]),
            StmtKind::Unsupported { construct, assigns } => {
                self.unsupported(s.at, construct, assigns)
            }
        }
    }

    /// A pipeline's value; `discard` when it is a statement of its own (its output is only
    /// displayed).
    pub fn pipeline(&mut self, p: &Pipeline, discard: bool) -> Result<Value, Fail> {
        let names: Vec<Option<String>> = p
            .stages
            .iter()
            .map(|s| match s {
                Stage::Command(c) => Some(c.name.to_ascii_lowercase()),
                Stage::Expr(_) => None,
            })
            .collect();
        match p.stages.as_slice() {
            [Stage::Expr(e)] => self.expr(e),
            [Stage::Command(c)] => self.command(c, discard),
            [first, ..] => {
                let rest_names = &names[1..];
                // `… | Out-Null`: run the rest, drop the output.
                if names.last().is_some_and(|n| n.as_deref() == Some("out-null")) {
                    let inner =
                        Pipeline { stages: p.stages[..p.stages.len() - 1].to_vec(), at: p.at };
                    self.pipeline(&inner, true)?;
                    return Ok(Value::Null);
                }
                // TeamsTools: `Get-TeamsVirtual… | Invoke-Teams…` applies what the script built.
                let tools = names[0].as_deref().is_some_and(|n| n.starts_with("get-teamsvirtual"))
                    && rest_names
                        .iter()
                        .all(|n| n.as_deref().is_some_and(|n| n.starts_with("invoke-teams")));
                if tools {
                    return Ok(Value::Null);
                }
                // `Get-X | Select-Object …` as a statement only displays.
                let reads = match first {
                    Stage::Command(c) => c.name.to_ascii_lowercase().starts_with("get-"),
                    Stage::Expr(_) => true,
                } && rest_names.iter().all(|n| {
                    n.as_deref().is_some_and(|n| SHAPING.contains(&n) || PASSIVE.contains(&n))
                });
                if reads && discard {
                    return Ok(Value::Null);
                }
                let stage = match &p.stages[1] {
                    Stage::Command(c) => c.name.clone(),
                    Stage::Expr(_) => String::new(),
                };
                let what = format!("a pipeline into `{stage}`");
                self.unsupported(p.at, &what, &[])?;
                Ok(Value::Unknown(format!("the value of {what} that was skipped").into()))
            }
            [] => Ok(Value::Null),
        }
    }

    fn command(&mut self, c: &Command, discard: bool) -> Result<Value, Fail> {
        let lname = c.name.to_ascii_lowercase();
        if PASSIVE.contains(&lname.as_str())
            || lname.starts_with("invoke-teams")
            || lname == "add-teamsvirtualnetworkregion"
        {
            return Ok(Value::Null);
        }
        if let Some(v) = self.teams_cmdlet(c, &lname)? {
            return Ok(v);
        }
        match lname.as_str() {
            "read-host" => self.unknown(c.at, "what the user types at Read-Host".into()),
            "invoke-webrequest" | "iwr" | "invoke-restmethod" | "irm" | "curl" | "wget" => {
                self.web_request(c)
            }
            "new-object" => {
                let args = self.positional_strings(c)?;
                let ty = args.first().cloned().unwrap_or_default().to_ascii_lowercase();
                if ty.contains("list") || ty.contains("arraylist") {
                    Ok(Value::List(Vec::new()))
                } else if ty.contains("hashtable") {
                    Ok(Value::Hash(Vec::new()))
                } else {
                    self.unsupported(c.at, &format!("`New-Object {ty}`"), &[])?;
                    Ok(Value::Unknown("an object that was not created".into()))
                }
            }
            n if n.starts_with("get-") => {
                if discard {
                    return Ok(Value::Null);
                }
                self.unknown(c.at, format!("`{}` reads the live tenant", c.name))
            }
            _ => {
                self.unsupported(c.at, &format!("the command `{}`", c.name), &[])?;
                Ok(Value::Unknown(format!("the output of `{}`, which was skipped", c.name).into()))
            }
        }
    }

    fn positional_strings(&mut self, c: &Command) -> Result<Vec<String>, Fail> {
        let mut out = Vec::new();
        let mut args = c.args.iter();
        while let Some(a) = args.next() {
            match a {
                Arg::Value(e) => out.push(self.expr(e)?.text()),
                Arg::Param { value: Some(e), .. } => out.push(self.expr(e)?.text()),
                Arg::Param { .. } => {
                    if let Some(Arg::Value(e)) = args.next() {
                        out.push(self.expr(e)?.text());
                    }
                }
            }
        }
        Ok(out)
    }

    fn web_request(&mut self, c: &Command) -> Result<Value, Fail> {
        let url =
            self.positional_strings(c)?.into_iter().find(|a| a.contains("://")).unwrap_or_default();
        let Some((_, path)) = self.opts.resources.iter().find(|(u, _)| *u == url) else {
            return self.unknown(
                c.at,
                format!(
                    "`{}` downloads {url}: give a local copy with --resource '{url}=FILE'",
                    c.name
                ),
            );
        };
        let fail =
            |m: String| Fail::new(c.at, format!("--resource for {url}: {}: {m}", path.display()));
        let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        // A local copy saved on Windows may carry a byte-order mark or be UTF-16: read it as
        // a script is read.
        let content = super::decode_script(&bytes).map_err(|e| fail(e.to_string()))?;
        if let Some(line) = content.ansi_from_line {
            self.warn(
                c.at,
                format!(
                    "--resource for {url}: {} is not UTF-8 (line {line}) and has no byte-order mark: read as Windows-1252",
                    path.display()
                ),
            );
        }
        Ok(Value::Hash(vec![("Content".into(), Value::Str(content.text))]))
    }

    pub fn expr(&mut self, e: &Expr) -> Result<Value, Fail> {
        Ok(match &e.kind {
            ExprKind::Str(s) => Value::Str(s.clone()),
            ExprKind::Expandable(parts) => {
                let mut s = String::new();
                for p in parts {
                    match p {
                        EPart::Lit(l) => s.push_str(l),
                        EPart::Var(v) => {
                            let value = self.var(v, e.at, true);
                            if let Value::Unknown(why) = value {
                                return Ok(Value::Unknown(why));
                            }
                            s.push_str(&value.text());
                        }
                        EPart::Sub(stmts) => {
                            let v = self.collect(stmts)?;
                            if let Value::Unknown(why) = v {
                                return Ok(Value::Unknown(why));
                            }
                            s.push_str(&v.text());
                        }
                    }
                }
                Value::Str(s)
            }
            ExprKind::Word(w) => match w.parse::<i64>() {
                Ok(i) => Value::Int(i),
                Err(_) => Value::Str(w.clone()),
            },
            ExprKind::Var(v) => self.var(v, e.at, false),
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.expr(i)?);
                }
                Value::List(out)
            }
            ExprKind::ArrayExpr(stmts) => Value::List(self.collect(stmts)?.items()),
            ExprKind::Hash(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    out.push((k.clone(), self.expr(v)?));
                }
                Value::Hash(out)
            }
            ExprKind::Member(target, name) => {
                let t = self.expr(target)?;
                member(&t, name)
            }
            ExprKind::Index(target, index) => {
                let t = self.expr(target)?;
                let i = self.expr(index)?;
                match (&t, &i) {
                    (Value::Unknown(_), _) => t,
                    (_, Value::Unknown(_)) => i,
                    (_, Value::Int(i)) => {
                        let items = match &t {
                            Value::List(l) => l.clone(),
                            v => vec![v.clone()],
                        };
                        let n = items.len() as i64;
                        let k = if *i < 0 { n + i } else { *i };
                        if (0..n).contains(&k) { items[k as usize].clone() } else { Value::Null }
                    }
                    (Value::Hash(_) | Value::Xml(_), key) => member(&t, &key.text()),
                    _ => Value::Null,
                }
            }
            ExprKind::Method(target, name, args) => self.method(target, name, args, e.at)?,
            ExprKind::Static(ty, member, args) => {
                let ty_l = ty.to_ascii_lowercase();
                let m = member.to_ascii_lowercase();
                if (ty_l == "string" || ty_l == "system.string")
                    && (m == "isnullorempty" || m == "isnullorwhitespace")
                    && args.len() == 1
                {
                    let v = self.expr(&args[0])?;
                    if v.unknown().is_some() {
                        return Ok(v);
                    }
                    Value::Bool(
                        v.text().trim().is_empty()
                            && (m == "isnullorwhitespace" || v.text().is_empty()),
                    )
                } else {
                    self.unsupported(e.at, &format!("`[{ty}]::{member}`"), &[])?;
                    Value::Unknown(
                        format!("the value of [{ty}]::{member}, which was skipped").into(),
                    )
                }
            }
            ExprKind::Cast(ty, inner) => {
                let v = self.expr(inner)?;
                if v.unknown().is_some() {
                    return Ok(v);
                }
                self.cast(ty, v, e.at)?
            }
            ExprKind::Paren(p) => self.pipeline(p, false)?,
            ExprKind::SubExpr(stmts) => self.collect(stmts)?,
            ExprKind::Binary(op, l, r) => {
                let a = self.expr(l)?;
                if op == "and" && !a.truthy() && a.unknown().is_none() {
                    return Ok(Value::Bool(false));
                }
                if op == "or" && a.truthy() && a.unknown().is_none() {
                    return Ok(Value::Bool(true));
                }
                let b = self.expr(r)?;
                if let Some(why) = a.unknown().or(b.unknown()) {
                    return Ok(Value::Unknown(why.clone()));
                }
                binary(op, a, b).map_err(|m| Fail::new(e.at, m))?
            }
            ExprKind::Not(inner) => {
                let v = self.expr(inner)?;
                if v.unknown().is_some() {
                    return Ok(v);
                }
                Value::Bool(!v.truthy())
            }
            ExprKind::Concat(parts) => {
                let mut s = String::new();
                for p in parts {
                    let v = self.expr(p)?;
                    if v.unknown().is_some() {
                        return Ok(v);
                    }
                    s.push_str(&v.text());
                }
                Value::Str(s)
            }
            ExprKind::ScriptBlock => {
                self.unsupported(e.at, "a script block `{ … }`", &[])?;
                Value::Unknown("a script block, which was skipped".into())
            }
        })
    }

    /// The output of statements, as `$( … )` and `@( … )` give it.
    fn collect(&mut self, stmts: &[Stmt]) -> Result<Value, Fail> {
        let mut out = Vec::new();
        for s in stmts {
            match &s.kind {
                StmtKind::Pipeline(p) => {
                    let v = self.pipeline(p, false)?;
                    match v {
                        Value::Null => {}
                        Value::List(l) => out.extend(l),
                        v => out.push(v),
                    }
                }
                _ => self.statement(s)?,
            }
        }
        Ok(match out.len() {
            0 => Value::Null,
            1 => out.pop().unwrap_or(Value::Null),
            _ => Value::List(out),
        })
    }

    fn var(&mut self, name: &str, at: usize, in_string: bool) -> Value {
        let key = name.to_ascii_lowercase();
        match key.as_str() {
            "true" => return Value::Bool(true),
            "false" => return Value::Bool(false),
            "null" => return Value::Null,
            "psscriptroot" => return Value::Str(self.script_dir.clone()),
            _ => {}
        }
        if let Some(v) = self.vars.get(&key) {
            return v.clone();
        }
        if key.starts_with("env:") {
            return Value::Unknown(format!("${name} comes from the environment").into());
        }
        if in_string {
            let hint = if key.bytes().all(|b| b.is_ascii_digit()) {
                ": to keep a regex group reference like $1, use single quotes"
            } else {
                ""
            };
            self.warn(at, format!("${name} in a double-quoted string is a PowerShell variable that is not set, so it becomes empty{hint}"));
        }
        Value::Null
    }

    fn method(
        &mut self,
        target: &Expr,
        name: &str,
        args: &[Expr],
        at: usize,
    ) -> Result<Value, Fail> {
        let m = name.to_ascii_lowercase();
        let mut values = Vec::with_capacity(args.len());
        for a in args {
            values.push(self.expr(a)?);
        }
        // `$list.Add(x)` changes the variable.
        if let ExprKind::Var(v) = &target.kind {
            let key = v.to_ascii_lowercase();
            if key == "error" && m == "clear" {
                return Ok(Value::Null);
            }
            if m == "add" && values.len() == 1 {
                let old = self.vars.get(&key).cloned().unwrap_or(Value::Null);
                if let Value::List(mut l) = old {
                    l.push(values.remove(0));
                    self.vars.insert(key, Value::List(l));
                    return Ok(Value::Null);
                }
            }
        }
        let t = self.expr(target)?;
        if t.unknown().is_some() {
            return Ok(t);
        }
        let s = t.text();
        let arg = |i: usize| values.get(i).map(Value::text).unwrap_or_default();
        let int = |i: usize| match values.get(i) {
            Some(Value::Int(n)) => usize::try_from(*n).ok(),
            _ => None,
        };
        Ok(match (m.as_str(), &t) {
            ("tostring", _) => Value::Str(s),
            ("trim", Value::Str(_)) => Value::Str(s.trim().to_owned()),
            ("tolower", Value::Str(_)) => Value::Str(s.to_lowercase()),
            ("toupper", Value::Str(_)) => Value::Str(s.to_uppercase()),
            ("replace", Value::Str(_)) if values.len() == 2 => {
                Value::Str(s.replace(&arg(0), &arg(1)))
            }
            ("split", Value::Str(_)) if values.len() == 1 => {
                let seps: Vec<char> = arg(0).chars().collect();
                Value::List(s.split(&seps[..]).map(|p| Value::Str(p.to_owned())).collect())
            }
            ("substring", Value::Str(_)) => {
                let chars: Vec<char> = s.chars().collect();
                let start = int(0).unwrap_or(usize::MAX);
                let len = if values.len() > 1 {
                    int(1).unwrap_or(usize::MAX)
                } else {
                    chars.len().saturating_sub(start)
                };
                match chars.get(start..start.saturating_add(len)) {
                    Some(part) => Value::Str(part.iter().collect()),
                    None => {
                        return Err(Fail::new(at, format!("Substring is out of range of {s:?}")));
                    }
                }
            }
            _ => {
                self.unsupported(at, &format!("the method call `.{name}(…)`"), &[])?;
                Value::Unknown(format!("the result of .{name}(), which was skipped").into())
            }
        })
    }

    fn cast(&mut self, ty: &str, v: Value, at: usize) -> Result<Value, Fail> {
        let t = ty.to_ascii_lowercase();
        Ok(match t.as_str() {
            "xml" | "system.xml.xmldocument" => {
                let text = v.text();
                let node =
                    super::xml::parse(&text).map_err(|e| Fail::new(at, format!("[xml]: {e}")))?;
                Value::Xml(Rc::new(node))
            }
            "string" | "system.string" => Value::Str(v.text()),
            "int" | "int32" | "long" | "int64" => match v.text().trim().parse::<i64>() {
                Ok(i) => Value::Int(i),
                Err(_) => {
                    return Err(Fail::new(at, format!("[{ty}] cannot convert {:?}", v.text())));
                }
            },
            "bool" | "boolean" => Value::Bool(v.truthy()),
            "array" | "object[]" | "string[]" => Value::List(v.items()),
            t if t.contains("list[") || t.contains("arraylist") => Value::List(v.items()),
            _ => v,
        })
    }
}

fn member(t: &Value, name: &str) -> Value {
    let lname = name.to_ascii_lowercase();
    match t {
        Value::Unknown(_) | Value::Null => t.clone(),
        Value::Hash(entries) => entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map_or(Value::Null, |(_, v)| v.clone()),
        Value::Xml(x) => x.member(name),
        Value::Obj(o, key) => {
            if lname == "identity" || lname == "name" {
                return o.get(key).map_or(Value::Null, val_to_value);
            }
            o.get(&snake(name)).map_or(Value::Null, val_to_value)
        }
        Value::Str(s) => match lname.as_str() {
            // A Teams object given by name (a `--var`): its identity is the name.
            "identity" | "name" => Value::Str(s.clone()),
            "length" => Value::Int(s.chars().count() as i64),
            "count" => Value::Int(1),
            _ => Value::Null,
        },
        Value::List(items) => match lname.as_str() {
            "count" | "length" => Value::Int(items.len() as i64),
            _ => Value::List(
                items
                    .iter()
                    .map(|i| member(i, name))
                    .filter(|v| !matches!(v, Value::Null))
                    .collect(),
            ),
        },
        _ => match lname.as_str() {
            "count" => Value::Int(1),
            _ => Value::Null,
        },
    }
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

pub(crate) fn val_to_value(v: &Val) -> Value {
    match v {
        Val::Str(s) => Value::Str(s.clone()),
        Val::Int(i) => Value::Int(*i),
        Val::Bool(b) => Value::Bool(*b),
        Val::List(l) => Value::List(l.iter().map(val_to_value).collect()),
        Val::Table(o) => Value::Obj(Rc::new(o.clone()), "name"),
    }
}

fn add_values(a: Value, b: Value) -> Result<Value, String> {
    Ok(match (a, b) {
        (Value::Null, b) => b,
        (u @ Value::Unknown(_), _) | (_, u @ Value::Unknown(_)) => u,
        (Value::List(mut l), Value::List(r)) => {
            l.extend(r);
            Value::List(l)
        }
        (Value::List(mut l), b) => {
            l.push(b);
            Value::List(l)
        }
        (Value::Int(x), Value::Int(y)) => Value::Int(x.saturating_add(y)),
        (Value::Str(s), b) => Value::Str(s + &b.text()),
        (Value::Hash(mut h), Value::Hash(r)) => {
            h.extend(r);
            Value::Hash(h)
        }
        (a, b) => Value::List(vec![a, b]),
    })
}

fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(y),
        (Value::Int(x), other) => match other.text().trim().parse::<i64>() {
            Ok(y) => x.cmp(&y),
            Err(_) => x.to_string().cmp(&other.text()),
        },
        _ => {
            let (x, y) = (a.text().to_lowercase(), b.text().to_lowercase());
            match (x.parse::<i64>(), &b) {
                (Ok(xi), Value::Int(yi)) => xi.cmp(yi),
                _ => x.cmp(&y),
            }
        }
    }
}

/// PowerShell `-like`: `*` any run, `?` one character, case-insensitive. Quadratic, never
/// exponential.
fn like(s: &str, pat: &str) -> bool {
    let s: Vec<char> = s.chars().flat_map(char::to_lowercase).collect();
    let p: Vec<char> = pat.chars().flat_map(char::to_lowercase).collect();
    // reach[j]: the first i characters of s can be matched by the first j of p.
    let mut reach = vec![false; p.len() + 1];
    reach[0] = true;
    for j in 1..=p.len() {
        reach[j] = reach[j - 1] && p[j - 1] == '*';
    }
    for c in &s {
        let mut next = vec![false; p.len() + 1];
        for j in 1..=p.len() {
            next[j] = match p[j - 1] {
                '*' => next[j - 1] || reach[j],
                '?' => reach[j - 1],
                pc => reach[j - 1] && pc == *c,
            };
        }
        reach = next;
    }
    reach[p.len()]
}

fn binary(op: &str, a: Value, b: Value) -> Result<Value, String> {
    use std::cmp::Ordering::*;
    // A list on the left filters for comparison operators; tpr keeps the scalar forms and
    // `-contains`/`-in`.
    let eq = |x: &Value, y: &Value| match (x, y) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        _ => compare(x, y) == Equal,
    };
    Ok(Value::Bool(match op {
        "and" => a.truthy() && b.truthy(),
        "or" => a.truthy() || b.truthy(),
        "xor" => a.truthy() != b.truthy(),
        "+" => return add_values(a, b),
        "eq" | "ieq" | "ceq" => eq(&a, &b),
        "ne" | "ine" | "cne" => !eq(&a, &b),
        "gt" => compare(&a, &b) == Greater,
        "ge" => compare(&a, &b) != Less,
        "lt" => compare(&a, &b) == Less,
        "le" => compare(&a, &b) != Greater,
        "contains" => a.items().iter().any(|x| eq(x, &b)),
        "notcontains" => !a.items().iter().any(|x| eq(x, &b)),
        "in" => b.items().iter().any(|x| eq(x, &a)),
        "notin" => !b.items().iter().any(|x| eq(x, &a)),
        "like" => like(&a.text(), &b.text()),
        "notlike" => !like(&a.text(), &b.text()),
        "match" | "imatch" | "cmatch" | "notmatch" => {
            let p = Pattern::new(&b.text(), &Limits::default())
                .map_err(|e| format!("-{op} pattern {:?}: {e}", b.text()))?;
            let m = p.is_match(&a.text());
            if op == "notmatch" { !m } else { m }
        }
        other => return Err(format!("operator -{other} is not supported")),
    }))
}
