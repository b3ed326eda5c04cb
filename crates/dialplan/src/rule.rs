//! Dial plans and normalization rules as Teams defines them, and their limits.

use crate::error::{CompileError, CompileErrorKind};

/// One normalization rule (`New-CsVoiceNormalizationRule`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Unique within its dial plan.
    pub name: String,
    /// A .NET regular expression, searched in the dialed string.
    pub pattern: String,
    /// A .NET substitution template (`$1`, `${name}`, `$$` ...).
    pub translation: String,
    /// Free text, at most 512 characters.
    pub description: String,
    /// Stored only: Teams no longer uses it.
    pub is_internal_extension: bool,
}

impl Rule {
    /// Teams' default pattern, used when a rule gives none.
    pub const DEFAULT_PATTERN: &'static str = r"^(\d{11})$";
    /// Teams' default translation, used when a rule gives none.
    pub const DEFAULT_TRANSLATION: &'static str = "+$1";

    /// A rule with the given name, pattern and translation and no description.
    pub fn new(
        name: impl Into<String>,
        pattern: impl Into<String>,
        translation: impl Into<String>,
    ) -> Rule {
        Rule {
            name: name.into(),
            pattern: pattern.into(),
            translation: translation.into(),
            description: String::new(),
            is_internal_extension: false,
        }
    }
}

/// A tenant dial plan (`New-CsTenantDialPlan`): `Global` or a user-scoped plan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DialPlan {
    /// `Global` or the plan's identity.
    pub name: String,
    /// Display name; defaults to `name`.
    pub simple_name: Option<String>,
    /// Free text, at most 1040 characters.
    pub description: String,
    /// Legacy external access prefix (spec §3.5): up to four of `[0-9#*]`.
    pub external_access_prefix: Option<String>,
    /// Rules in priority order: the first match wins.
    pub rules: Vec<Rule>,
}

impl DialPlan {
    /// A plan with the given name and rules.
    pub fn new(name: impl Into<String>, rules: Vec<Rule>) -> DialPlan {
        DialPlan { name: name.into(), rules, ..DialPlan::default() }
    }

    /// Is this the tenant-wide `Global` plan?
    pub fn is_global(&self) -> bool {
        self.name.eq_ignore_ascii_case("Global")
    }
}

/// Limits checked when a plan compiles. The defaults are Teams' own limits where Teams has
/// one (50 rules per plan, 49-character names) and tpr's choice elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Rules per tenant dial plan (Teams: 50).
    pub max_rules: usize,
    /// Characters per pattern.
    pub max_pattern_len: usize,
    /// Characters per translation.
    pub max_translation_len: usize,
    /// Characters per rule name.
    pub max_rule_name_len: usize,
    /// Compiled size of one rule's automaton, in bytes.
    pub max_rule_bytes: usize,
    /// Compiled size of a whole plan's automaton, in bytes.
    pub max_plan_bytes: usize,
    /// Steps the backtracking engine may take for one rule and one input before it gives up.
    pub backtrack_steps: usize,
    /// Compile each plan's first-match automaton whole, into compact rows (where they fit in
    /// 128 KiB): shared by every thread, nothing built while normalizing, and a caller can
    /// walk it ahead of a call ([`crate::Walk`]). It costs compile time (a 50-rule plan about
    /// 0.8 ms more) and memory (about 20 KiB). `false`: a lazy DFA, whose states each thread
    /// builds as inputs reach them.
    pub compact_plans: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_rules: 50,
            max_pattern_len: 1024,
            max_translation_len: 1024,
            max_rule_name_len: 256,
            max_rule_bytes: 2 << 20,
            max_plan_bytes: 32 << 20,
            backtrack_steps: 100_000,
            compact_plans: true,
        }
    }
}

const MAX_PLAN_NAME: usize = 49;
const MAX_PLAN_DESCRIPTION: usize = 1040;
const MAX_RULE_DESCRIPTION: usize = 512;

impl DialPlan {
    /// Checks names, counts and lengths (everything but the patterns themselves).
    pub fn validate(&self, limits: &Limits) -> Result<(), CompileError> {
        let plan_err = |kind| Err(CompileError::new(&self.name, None, kind));
        if let Err(why) = check_plan_name(&self.name) {
            return plan_err(CompileErrorKind::InvalidPlanName(why));
        }
        if let Some(simple) = &self.simple_name {
            let ok = simple.chars().count() <= MAX_PLAN_NAME
                && simple.chars().all(|c| c.is_ascii_alphanumeric() || ".-()".contains(c));
            if !ok {
                return plan_err(CompileErrorKind::InvalidPlanName(format!(
                    "simple name {simple:?} must be at most {MAX_PLAN_NAME} of A-Z a-z 0-9 . - ( )"
                )));
            }
        }
        if self.description.chars().count() > MAX_PLAN_DESCRIPTION {
            return plan_err(CompileErrorKind::TooLong {
                what: "description",
                len: self.description.chars().count(),
                max: MAX_PLAN_DESCRIPTION,
            });
        }
        if let Some(p) = &self.external_access_prefix {
            let ok = (1..=4).contains(&p.len())
                && p.bytes().all(|b| b.is_ascii_digit() || b == b'#' || b == b'*');
            if !ok {
                return plan_err(CompileErrorKind::InvalidAccessPrefix(p.clone()));
            }
        }
        if self.rules.len() > limits.max_rules {
            return plan_err(CompileErrorKind::TooManyRules {
                count: self.rules.len(),
                max: limits.max_rules,
            });
        }
        if self.rules.is_empty() && !self.is_global() {
            return plan_err(CompileErrorKind::NoRules);
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let rule_err =
                |kind| Err(CompileError::new(&self.name, Some((i, rule.name.as_str())), kind));
            if rule.name.trim().is_empty() {
                return rule_err(CompileErrorKind::EmptyRuleName);
            }
            if self.rules[..i].iter().any(|r| r.name.eq_ignore_ascii_case(&rule.name)) {
                return rule_err(CompileErrorKind::DuplicateRule);
            }
            for (what, text, max) in [
                ("rule name", &rule.name, limits.max_rule_name_len),
                ("pattern", &rule.pattern, limits.max_pattern_len),
                ("translation", &rule.translation, limits.max_translation_len),
                ("description", &rule.description, MAX_RULE_DESCRIPTION),
            ] {
                let len = text.chars().count();
                if len > max {
                    return rule_err(CompileErrorKind::TooLong { what, len, max });
                }
            }
        }
        Ok(())
    }
}

/// Teams: at most 49 of `[A-Za-z0-9.-]`, not starting with `.`.
fn check_plan_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name.chars().count() > MAX_PLAN_NAME {
        return Err(format!(
            "the name has {} characters; at most {MAX_PLAN_NAME} are allowed",
            name.chars().count()
        ));
    }
    if let Some(c) = name.chars().find(|&c| !(c.is_ascii_alphanumeric() || c == '.' || c == '-')) {
        return Err(format!("{c:?} is not allowed; use A-Z a-z 0-9 . -"));
    }
    if name.starts_with('.') {
        return Err("the name must not start with '.'".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_names_follow_teams_rules() {
        assert!(check_plan_name("RedmondDialPlan").is_ok());
        assert!(check_plan_name("AU-Queensland.v2").is_ok());
        assert!(check_plan_name(".hidden").is_err());
        assert!(check_plan_name("with space").is_err());
        assert!(check_plan_name(&"a".repeat(49)).is_ok());
        assert!(check_plan_name(&"a".repeat(50)).is_err());
    }

    #[test]
    fn fifty_one_rules_are_rejected_naming_the_plan() {
        // Spec T12.
        let rules = (0..51).map(|i| Rule::new(format!("r{i}"), format!("^{i}$"), "+1")).collect();
        let err = DialPlan::new("Big", rules).validate(&Limits::default()).unwrap_err();
        assert_eq!(err.to_string(), "dial plan \"Big\": 51 rules; a dial plan holds at most 50");
    }

    #[test]
    fn duplicate_and_empty_names_are_rejected() {
        let plan = DialPlan::new("P", vec![Rule::new("a", "1", "2"), Rule::new("A", "3", "4")]);
        let err = plan.validate(&Limits::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "dial plan \"P\", rule 2 \"A\": another rule of the plan has this name"
        );
        let plan = DialPlan::new("P", vec![]);
        assert!(plan.validate(&Limits::default()).is_err());
        assert!(DialPlan::new("Global", vec![]).validate(&Limits::default()).is_ok());
    }
}
