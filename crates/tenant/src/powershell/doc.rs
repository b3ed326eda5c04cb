//! The tenant being built by an import, as ordered TOML-shaped data, and its TOML text.

use std::collections::HashMap;
use std::fmt::Write as _;

/// A TOML value in the shapes the tenant format uses.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<Val>),
    Table(Obj),
}

/// A table with its keys in the order they were set.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Obj {
    pub fields: Vec<(String, Val)>,
    /// Where the script created it (byte offset), for error messages.
    pub at: Option<usize>,
}

impl Obj {
    pub fn new(at: usize) -> Obj {
        Obj { fields: Vec::new(), at: Some(at) }
    }

    pub fn get(&self, key: &str) -> Option<&Val> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Val> {
        self.fields.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Val::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub fn set(&mut self, key: &str, v: Val) {
        match self.get_mut(key) {
            Some(slot) => *slot = v,
            None => self.fields.push((key.to_owned(), v)),
        }
    }

    pub fn remove(&mut self, key: &str) {
        self.fields.retain(|(k, _)| k != key);
    }

    /// The list under `key`, created empty when missing.
    pub fn list_mut(&mut self, key: &str) -> &mut Vec<Val> {
        if !matches!(self.get(key), Some(Val::List(_))) {
            self.set(key, Val::List(Vec::new()));
        }
        match self.get_mut(key) {
            Some(Val::List(l)) => l,
            _ => unreachable!("set just above"),
        }
    }
}

/// Sections in the order they are written, with the field naming each object.
pub(crate) const SECTIONS: [(&str, &str); 12] = [
    ("dial_plans", "name"),
    ("gateways", "fqdn"),
    ("translation_rules", "name"),
    ("voice_routes", "name"),
    ("voice_routing_policies", "name"),
    ("emergency_call_routing_policies", "name"),
    ("calling_policies", "name"),
    ("caller_id_policies", "name"),
    ("unassigned_number_treatments", "name"),
    ("network_sites", "name"),
    ("resource_accounts", "id"),
    ("users", "id"),
];

/// The tenant under construction.
///
/// Objects are found by name (case-insensitively) through an index per section, so that a
/// script assigning numbers and policies to 100,000 users runs in linear time. The index
/// holds because an object's naming field is set when it is added and never changed after:
/// objects are added, replaced and removed only through the methods below, and debug builds
/// check every lookup against a scan of the section.
#[derive(Debug, Default)]
pub(crate) struct Doc {
    pub tenant: Obj,
    pub pstn_usages: Vec<(String, usize)>,
    sections: Vec<(&'static str, Vec<Obj>)>,
    /// Per section, in `sections` order: lowercase name -> position of the first object so
    /// named.
    index: Vec<HashMap<String, usize>>,
    pub blocked: Option<Obj>,
}

impl Doc {
    pub fn new() -> Doc {
        Doc {
            sections: SECTIONS.iter().map(|(s, _)| (*s, Vec::new())).collect(),
            index: SECTIONS.iter().map(|_| HashMap::new()).collect(),
            ..Doc::default()
        }
    }

    fn key_of(section: &str) -> &'static str {
        SECTIONS.iter().find(|(s, _)| *s == section).map_or("name", |(_, k)| k)
    }

    fn section_index(&self, section: &str) -> usize {
        self.sections.iter().position(|(s, _)| *s == section).unwrap_or(0)
    }

    pub fn objects_ref(&self, section: &str) -> &[Obj] {
        self.sections.iter().find(|(s, _)| *s == section).map_or(&[], |(_, v)| v)
    }

    pub fn find(&self, section: &str, name: &str) -> Option<usize> {
        let s = self.section_index(section);
        let found = self.index[s].get(&name.to_ascii_lowercase()).copied();
        debug_assert_eq!(
            found,
            {
                let key = Doc::key_of(section);
                self.sections[s]
                    .1
                    .iter()
                    .position(|o| o.str(key).is_some_and(|n| n.eq_ignore_ascii_case(name)))
            },
            "the index of {section} disagrees with its objects on {name:?}"
        );
        found
    }

    pub fn get_mut(&mut self, section: &str, name: &str) -> Option<&mut Obj> {
        let i = self.find(section, name)?;
        let s = self.section_index(section);
        self.sections[s].1.get_mut(i)
    }

    /// The object named `name`, created (with `name` set) at `at` when missing.
    pub fn get_or_create(&mut self, section: &str, name: &str, at: usize) -> &mut Obj {
        let i = match self.find(section, name) {
            Some(i) => i,
            None => {
                let mut o = Obj::new(at);
                o.set(Doc::key_of(section), Val::Str(name.to_owned()));
                self.push(section, o)
            }
        };
        let s = self.section_index(section);
        &mut self.sections[s].1[i]
    }

    /// Adds `o` at the end of `section`; returns its position.
    pub fn push(&mut self, section: &str, o: Obj) -> usize {
        let s = self.section_index(section);
        let i = self.sections[s].1.len();
        if let Some(name) = o.str(Doc::key_of(section)) {
            self.index[s].entry(name.to_ascii_lowercase()).or_insert(i);
        }
        self.sections[s].1.push(o);
        i
    }

    /// Puts `o` in place of the object at `i` of `section`.
    pub fn replace(&mut self, section: &str, i: usize, o: Obj) {
        let s = self.section_index(section);
        let key = Doc::key_of(section);
        let renamed = self.sections[s].1[i].str(key) != o.str(key);
        self.sections[s].1[i] = o;
        if renamed {
            self.reindex(s);
        }
    }

    /// Removes the object at `i` of `section`.
    pub fn remove(&mut self, section: &str, i: usize) {
        let s = self.section_index(section);
        self.sections[s].1.remove(i);
        self.reindex(s);
    }

    fn reindex(&mut self, s: usize) {
        let key = Doc::key_of(self.sections[s].0);
        let mut index = HashMap::new();
        for (i, o) in self.sections[s].1.iter().enumerate() {
            if let Some(name) = o.str(key) {
                index.entry(name.to_ascii_lowercase()).or_insert(i);
            }
        }
        self.index[s] = index;
    }

    /// A tenant file as the starting point of an import: the live tenant the script changes.
    pub fn from_toml(t: &toml::Table) -> Result<Doc, String> {
        let mut d = Doc::new();
        for (k, v) in t {
            match (k.as_str(), v) {
                ("tenant", toml::Value::Table(t)) => d.tenant = obj(t),
                ("pstn_usages", toml::Value::Array(a)) => {
                    for u in a {
                        let u = u.as_str().ok_or("pstn_usages must be strings")?;
                        d.pstn_usages.push((u.to_owned(), 0));
                    }
                }
                ("blocked_calling_numbers", toml::Value::Table(t)) => {
                    let mut o = obj(t);
                    o.at = None;
                    d.blocked = Some(o);
                }
                (section, toml::Value::Array(items))
                    if SECTIONS.iter().any(|(s, _)| *s == section) =>
                {
                    for item in items {
                        let toml::Value::Table(t) = item else {
                            return Err(format!("{section} must be tables"));
                        };
                        d.push(section, obj(t));
                    }
                }
                (other, _) => {
                    return Err(format!("section {other} cannot be the base of an import"));
                }
            }
        }
        Ok(d)
    }

    pub fn has_usage(&self, name: &str) -> bool {
        self.pstn_usages.iter().any(|(u, _)| u.eq_ignore_ascii_case(name))
    }

    /// The TOML text, and for each object written, its first line and where the script made
    /// it.
    pub fn to_toml(&self, header: &str) -> (String, Vec<(u32, Option<usize>)>) {
        let mut out = String::from(header);
        let mut origins = Vec::new();
        // The line the text has reached, counted on from where it was last counted (counting
        // from the start each time made a 100,000-user import quadratic).
        let mut counted = (0, 1);
        let mut line_of = |out: &str| {
            let (from, line) = counted;
            let line = line + out.as_bytes()[from..].iter().filter(|&&b| b == b'\n').count() as u32;
            counted = (out.len(), line);
            line
        };
        if !self.pstn_usages.is_empty() {
            let usages: Vec<Val> =
                self.pstn_usages.iter().map(|(u, _)| Val::Str(u.clone())).collect();
            if let Some((_, at)) = self.pstn_usages.first() {
                origins.push((line_of(&out), Some(*at)));
            }
            let _ = writeln!(out, "pstn_usages = {}", inline(&Val::List(usages)));
        }
        out.push('\n');
        origins.push((line_of(&out), None));
        out.push_str("[tenant]\n");
        fields(&mut out, &self.tenant);
        for (section, objects) in &self.sections {
            for o in objects {
                out.push('\n');
                origins.push((line_of(&out), o.at));
                let _ = writeln!(out, "[[{section}]]");
                fields(&mut out, o);
            }
        }
        if let Some(b) = &self.blocked {
            out.push('\n');
            origins.push((line_of(&out), b.at));
            out.push_str("[blocked_calling_numbers]\n");
            fields(&mut out, b);
        }
        (out, origins)
    }
}

fn obj(t: &toml::Table) -> Obj {
    Obj { fields: t.iter().map(|(k, v)| (k.clone(), val(v))).collect(), at: None }
}

fn val(v: &toml::Value) -> Val {
    match v {
        toml::Value::String(s) => Val::Str(s.clone()),
        toml::Value::Integer(i) => Val::Int(*i),
        toml::Value::Boolean(b) => Val::Bool(*b),
        toml::Value::Array(a) => Val::List(a.iter().map(val).collect()),
        toml::Value::Table(t) => Val::Table(obj(t)),
        toml::Value::Float(f) => Val::Str(f.to_string()),
        toml::Value::Datetime(d) => Val::Str(d.to_string()),
    }
}

fn fields(out: &mut String, o: &Obj) {
    for (k, v) in &o.fields {
        match v {
            Val::List(items) if items.iter().any(|i| matches!(i, Val::Table(_))) => {
                let _ = writeln!(out, "{} = [", key(k));
                for i in items {
                    let _ = writeln!(out, "  {},", inline(i));
                }
                out.push_str("]\n");
            }
            v => {
                let _ = writeln!(out, "{} = {}", key(k), inline(v));
            }
        }
    }
}

fn key(k: &str) -> String {
    if !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        k.to_owned()
    } else {
        string(k)
    }
}

/// A TOML string: literal (`'…'`, backslashes kept as they are) when it can be.
pub(crate) fn string(s: &str) -> String {
    if !s.contains('\'') && !s.chars().any(char::is_control) {
        return format!("'{s}'");
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn inline(v: &Val) -> String {
    match v {
        Val::Str(s) => string(s),
        Val::Int(i) => i.to_string(),
        Val::Bool(b) => b.to_string(),
        Val::List(items) => {
            let items: Vec<String> = items.iter().map(inline).collect();
            format!("[{}]", items.join(", "))
        }
        Val::Table(o) => {
            let items: Vec<String> =
                o.fields.iter().map(|(k, v)| format!("{} = {}", key(k), inline(v))).collect();
            format!("{{ {} }}", items.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_literal_when_they_can_be() {
        assert_eq!(string(r"^(\d{4})$"), r"'^(\d{4})$'");
        assert_eq!(string("it's \\"), r#""it's \\""#);
        assert_eq!(string("a\nb"), r#""a\nb""#);
    }

    #[test]
    fn objects_are_found_by_name_through_adds_replacements_and_removals() {
        let named = |id: &str| {
            let mut o = Obj::new(0);
            o.set("id", Val::Str(id.into()));
            o
        };
        let mut d = Doc::new();
        assert_eq!(d.find("users", "a"), None);
        d.get_or_create("users", "Alice", 1);
        d.get_or_create("users", "bob", 2);
        // Names are case-insensitive; creating an existing one finds it.
        assert_eq!(d.find("users", "ALICE"), Some(0));
        d.get_or_create("users", "BOB", 3).set("usage_location", Val::Str("US".into()));
        assert_eq!(d.objects_ref("users").len(), 2);
        assert_eq!(d.objects_ref("users")[1].str("usage_location"), Some("US"));
        // A second object of a name (a base file may hold one) is not the one found.
        assert_eq!(d.push("users", named("alice")), 2);
        assert_eq!(d.find("users", "alice"), Some(0));
        // Another section is another namespace.
        assert_eq!(d.find("resource_accounts", "alice"), None);
        // Removing shifts what follows, and the second "alice" becomes the one found.
        d.remove("users", 0);
        assert_eq!((d.find("users", "bob"), d.find("users", "alice")), (Some(0), Some(1)));
        // A replacement under another name moves the name.
        d.replace("users", 0, named("carol"));
        assert_eq!((d.find("users", "bob"), d.find("users", "carol")), (None, Some(0)));
        // An object without its naming field is never found.
        d.push("users", Obj::new(9));
        assert_eq!(d.find("users", ""), None);
    }

    #[test]
    fn the_text_parses_back() {
        let mut d = Doc::new();
        d.tenant.set("name", Val::Str("t".into()));
        d.pstn_usages.push(("US".into(), 0));
        let p = d.get_or_create("dial_plans", "P", 3);
        let mut rule = Obj::default();
        rule.set("pattern", Val::Str("^1'$".into()));
        p.list_mut("rules").push(Val::Table(rule));
        let (text, origins) = d.to_toml("# header\n");
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(parsed["dial_plans"][0]["rules"][0]["pattern"].as_str(), Some("^1'$"));
        assert_eq!(origins, vec![(2, Some(0)), (4, None), (7, Some(3))]);
    }
}
