//! Effective dial plans compiled into one automaton, and normalization against them.
//!
//! An effective plan is the user's tenant plan (or `Global`) followed by the service-country
//! plan of the user's usage location (spec §3.2). All its rules compile into one multi-pattern
//! automaton with `MatchKind::All`, so one scan over the dialed string reports every rule that
//! matches; the lowest index wins (Teams: first match, top to bottom). Only the winner then
//! runs its own capture engine, and its translation template, parsed at compile time, is
//! expanded into the caller's buffer.
//!
//! Rules with lookaround or backreferences enter the automaton as a regular superset of
//! themselves (see [`crate::dotnet`]); when such a rule is the lowest candidate, a backtracking
//! engine with a step budget confirms it, and if it does not match the next candidate is
//! considered.
//!
//! ```
//! use tpr_dialplan::{CompiledPlan, DialPlan, Limits, Mode, Rule, service_plan};
//! use tpr_types::Region;
//!
//! let redmond = DialPlan::new("Redmond", vec![Rule::new("Ext", r"^5(\d{4})$", "+1425555$1")]);
//! let us = service_plan(Region::try_new("US").unwrap()).unwrap();
//! let plan = CompiledPlan::compile(Some(&redmond), us, &Limits::default()).unwrap();
//! let mut cache = plan.create_cache();
//! let mut out = String::new();
//! let outcome = plan.normalize_with(&mut cache, "50100", Mode::Effective, &mut out).unwrap();
//! assert_eq!(out, "+14255550100");
//! assert_eq!(plan.rule(outcome.first.unwrap()).name, "Ext");
//! ```

use std::fmt;

use regex_automata::meta::{self, Regex};
use regex_automata::util::captures::Captures;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind, PatternSet};

use crate::cleanup::{DialString, InvalidDialString, clean_into};
use crate::dotnet::{GroupTable, PatternNote, translate};
use crate::error::{CompileError, CompileErrorKind};
use crate::rule::{DialPlan, Limits, Rule};
use crate::service::ServicePlan;
use crate::template::{Spans, Template};

/// Which plan a rule of an effective plan came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The user's tenant plan or `Global`.
    Tenant,
    /// The built-in (or overridden) service-country plan.
    Service,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Scope::Tenant => "tenant",
            Scope::Service => "service",
        })
    }
}

/// How to normalize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Teams' effective dial plan: tenant rules, then service rules, a second pass for results
    /// without `+`, then the `+CC` fallback.
    Effective,
    /// Only the tenant plan: first match, no second pass, no fallback
    /// (`Test-CsEffectiveTenantDialPlan -TenantScopeOnly`).
    TenantScopeOnly,
}

/// Index of a rule within a [`CompiledPlan`] (tenant rules first, then service rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleIndex(u16);

impl RuleIndex {
    /// The position in the effective rule list.
    pub fn as_usize(self) -> usize {
        self.0 as usize
    }
}

/// What normalization did, without allocating: which rules produced the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The rule that matched in the first pass.
    pub first: Option<RuleIndex>,
    /// The rule that matched in the second pass (only when the first result lacked `+`).
    pub second: Option<RuleIndex>,
    /// The `+CC` fallback of the usage location was applied.
    pub fallback: bool,
    /// The external access prefix was removed first.
    pub access_prefix_stripped: bool,
    /// A backtracking rule ran out of steps and was treated as not matching.
    pub budget_exceeded: bool,
}

impl Outcome {
    /// Did any rule or the fallback change the input?
    pub fn translated(&self) -> bool {
        self.first.is_some() || self.fallback
    }
}

/// The story of one normalization, from [`CompiledPlan::explain`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The input as given.
    pub dialed: String,
    /// After cleanup (§3.1).
    pub cleaned: String,
    /// The external access prefix was removed.
    pub access_prefix_stripped: bool,
    /// One entry per pass in which a rule matched (at most two).
    pub passes: Vec<PassExplanation>,
    /// `Some(cc)` when the `+CC` fallback was applied.
    pub fallback_country_code: Option<String>,
    /// The final result.
    pub output: String,
    /// A backtracking rule ran out of steps and was treated as not matching.
    pub budget_exceeded: bool,
    /// The compact outcome.
    pub outcome: Outcome,
}

/// One pass of an [`Explanation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassExplanation {
    /// The winning rule.
    pub rule: RuleIndex,
    /// What the pass started from.
    pub input: String,
    /// The rule's groups by .NET number (0 = whole match); `None` for a group that did not
    /// take part.
    pub captures: Vec<Option<String>>,
    /// The expanded translation.
    pub output: String,
}

/// A compiled rule with what the explain output needs to show about it.
#[derive(Debug)]
pub struct RuleInfo {
    /// The rule's name.
    pub name: String,
    /// Tenant or service plan.
    pub scope: Scope,
    /// 0-based position within its own plan.
    pub position: usize,
    /// The pattern as written (.NET syntax).
    pub pattern: String,
    /// The translation as written.
    pub translation: String,
    /// Things tpr read the .NET way, for `tpr check`.
    pub notes: Vec<String>,
}

enum Matcher {
    Automaton(Regex),
    Backtrack(fancy_regex::Regex),
}

struct CompiledRule {
    info: RuleInfo,
    matcher: Matcher,
    template: Template,
    groups: GroupTable,
}

/// An effective dial plan, compiled. Immutable; share it between threads and give each
/// thread its own [`Cache`].
pub struct CompiledPlan {
    name: String,
    region: String,
    country_code: String,
    access_prefix: Option<String>,
    tenant_rules: usize,
    rules: Vec<CompiledRule>,
    set: Regex,
}

impl fmt::Debug for CompiledPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledPlan")
            .field("name", &self.name)
            .field("region", &self.region)
            .field("rules", &self.rules.len())
            .finish_non_exhaustive()
    }
}

/// Per-thread scratch for [`CompiledPlan::normalize_with`]. Made by
/// [`CompiledPlan::create_cache`]; after that, normalization allocates nothing.
pub struct Cache {
    set: meta::Cache,
    matches: PatternSet,
    rules: Vec<Option<(meta::Cache, Captures)>>,
    dial: DialString,
    pass: String,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache").finish_non_exhaustive()
    }
}

/// Why one dialed string could not be normalized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    /// The input is not a dial string (spec §3.1).
    #[error(transparent)]
    Invalid(#[from] InvalidDialString),
}

fn syntax_config() -> syntax::Config {
    // Inputs are ASCII after cleanup, so ASCII classes mean what .NET's Unicode classes mean
    // on them, and keep the automata small.
    syntax::Config::new().unicode(false).utf8(false)
}

impl CompiledPlan {
    /// Compiles the effective plan `tenant ++ service.rules`. `tenant` is `None` for a user
    /// without a tenant plan and no `Global` rules.
    pub fn compile(
        tenant: Option<&DialPlan>,
        service: &ServicePlan,
        limits: &Limits,
    ) -> Result<CompiledPlan, CompileError> {
        let plan_name = tenant.map_or("Global", |p| p.name.as_str());
        if let Some(p) = tenant {
            p.validate(limits)?;
        }
        let tenant_rules = tenant.map_or(&[][..], |p| &p.rules[..]);
        let service_name = format!("{} service", service.region);
        let mut rules = Vec::with_capacity(tenant_rules.len() + service.rules.len());
        let mut set_patterns = Vec::with_capacity(rules.capacity());
        let sources = tenant_rules
            .iter()
            .enumerate()
            .map(|(i, r)| (Scope::Tenant, plan_name, i, r))
            .chain(service.rules.iter().enumerate().map(|(i, r)| (Scope::Service, service_name.as_str(), i, r)));
        for (scope, owner, position, rule) in sources {
            let (compiled, automaton_pattern) = compile_rule(rule, scope, position, limits)
                .map_err(|kind| CompileError::new(owner, Some((position, &rule.name)), kind))?;
            rules.push(compiled);
            set_patterns.push(automaton_pattern);
        }
        if rules.len() > u16::MAX as usize {
            return Err(CompileError::new(
                plan_name,
                None,
                CompileErrorKind::TooManyRules { count: rules.len(), max: u16::MAX as usize },
            ));
        }
        let set = Regex::builder()
            .configure(
                meta::Config::new()
                    .match_kind(MatchKind::All)
                    .utf8_empty(false)
                    .nfa_size_limit(Some(limits.max_plan_bytes))
                    .dfa_size_limit(Some(limits.max_plan_bytes))
                    .onepass_size_limit(Some(limits.max_plan_bytes)),
            )
            .syntax(syntax_config())
            .build_many(&set_patterns)
            .map_err(|_| CompileError::new(plan_name, None, CompileErrorKind::TooBig { limit: limits.max_plan_bytes }))?;
        Ok(CompiledPlan {
            name: plan_name.to_owned(),
            region: service.region.to_string(),
            country_code: service.country_code.clone(),
            access_prefix: tenant.and_then(|p| p.external_access_prefix.clone()),
            tenant_rules: tenant_rules.len(),
            rules,
            set,
        })
    }

    /// The tenant plan's name (`Global` when the user has none).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The usage location whose service plan and country code are used.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The country calling code of the `+CC` fallback, without `+`.
    pub fn country_code(&self) -> &str {
        &self.country_code
    }

    /// Number of rules, tenant and service together.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Has the plan no rules at all?
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Number of tenant rules (they come first).
    pub fn tenant_len(&self) -> usize {
        self.tenant_rules
    }

    /// A rule by index.
    pub fn rule(&self, index: RuleIndex) -> &RuleInfo {
        &self.rules[index.as_usize()].info
    }

    /// All rules in order.
    pub fn rules(&self) -> impl Iterator<Item = (RuleIndex, &RuleInfo)> {
        self.rules.iter().enumerate().map(|(i, r)| (RuleIndex(i as u16), &r.info))
    }

    /// Heap bytes held by the compiled automata (not counting caches).
    pub fn memory_usage(&self) -> usize {
        self.set.memory_usage()
            + self
                .rules
                .iter()
                .map(|r| match &r.matcher {
                    Matcher::Automaton(re) => re.memory_usage(),
                    Matcher::Backtrack(_) => r.info.pattern.len() * 64,
                })
                .sum::<usize>()
    }

    /// Scratch space for one thread.
    pub fn create_cache(&self) -> Cache {
        Cache {
            set: self.set.create_cache(),
            matches: PatternSet::new(self.set.pattern_len()),
            rules: self
                .rules
                .iter()
                .map(|r| match &r.matcher {
                    Matcher::Automaton(re) => Some((re.create_cache(), re.create_captures())),
                    Matcher::Backtrack(_) => None,
                })
                .collect(),
            dial: DialString::new(),
            pass: String::with_capacity(256),
        }
    }

    /// Normalizes what a user dialed into `out` (cleared first).
    ///
    /// Allocation-free once `out` has room for the result (reuse it between calls), except
    /// when a rule with lookaround or backreferences has to be confirmed.
    pub fn normalize_with(
        &self,
        cache: &mut Cache,
        dialed: &str,
        mode: Mode,
        out: &mut String,
    ) -> Result<Outcome, NormalizeError> {
        out.clear();
        clean_into(dialed, &mut cache.dial)?;
        let mut outcome = Outcome::default();
        let dial = cache.dial; // 65 bytes, copied so that `cache` stays free to borrow
        let s = self.strip_access_prefix(dial.as_str(), &mut outcome);
        if mode == Mode::TenantScopeOnly {
            outcome.first = self.first_match(cache, s, self.tenant_rules, out, &mut outcome);
            if outcome.first.is_none() {
                out.push_str(s);
            }
            return Ok(outcome);
        }
        let mut pass1 = std::mem::take(&mut cache.pass);
        pass1.clear();
        outcome.first = self.first_match(cache, s, self.rules.len(), &mut pass1, &mut outcome);
        match outcome.first {
            None => self.fallback(s, out, &mut outcome),
            Some(_) if pass1.starts_with('+') => out.push_str(&pass1),
            Some(_) => {
                outcome.second = self.first_match(cache, &pass1, self.rules.len(), out, &mut outcome);
                if outcome.second.is_none() {
                    self.fallback(&pass1, out, &mut outcome);
                }
            }
        }
        cache.pass = pass1;
        Ok(outcome)
    }

    /// The rule column of `tpr normalize`: the rules that produced the result, in pass order,
    /// joined by ` > `, with `(+CC fallback)` where the fallback applied, or `-` if nothing did.
    pub fn describe(&self, outcome: &Outcome) -> String {
        let mut parts: Vec<String> =
            [outcome.first, outcome.second].into_iter().flatten().map(|r| self.rule(r).name.clone()).collect();
        if outcome.fallback {
            parts.push(format!("(+{} fallback)", self.country_code));
        }
        if parts.is_empty() { "-".to_owned() } else { parts.join(" > ") }
    }

    /// Spec §3.5: a longer string that starts with the legacy external access prefix loses it.
    fn strip_access_prefix<'s>(&self, s: &'s str, outcome: &mut Outcome) -> &'s str {
        match &self.access_prefix {
            Some(prefix) if s.len() > prefix.len() && s.starts_with(prefix.as_str()) => {
                outcome.access_prefix_stripped = true;
                &s[prefix.len()..]
            }
            _ => s,
        }
    }

    /// Normalizes one string and says how: every step, rule and capture. Allocates; for
    /// `tpr normalize`, `tpr check` and tests, not for the hot path.
    pub fn explain(&self, dialed: &str, mode: Mode) -> Result<Explanation, NormalizeError> {
        let mut cache = self.create_cache();
        let mut output = String::new();
        let outcome = self.normalize_with(&mut cache, dialed, mode, &mut output)?;
        let cleaned = cache.dial.as_str().to_owned();
        let mut scratch = Outcome::default();
        let s = self.strip_access_prefix(&cleaned, &mut scratch).to_owned();
        let mut passes = Vec::new();
        let mut pass_input = s.clone();
        for rule in [outcome.first, outcome.second].into_iter().flatten() {
            let limit = if mode == Mode::TenantScopeOnly { self.tenant_rules } else { self.rules.len() };
            let mut pass_output = String::new();
            self.first_match(&mut cache, &pass_input, limit, &mut pass_output, &mut scratch);
            passes.push(PassExplanation {
                rule,
                captures: self.captures(rule, &pass_input).unwrap_or_default(),
                input: std::mem::replace(&mut pass_input, pass_output.clone()),
                output: pass_output,
            });
        }
        Ok(Explanation {
            dialed: dialed.to_owned(),
            cleaned,
            access_prefix_stripped: outcome.access_prefix_stripped,
            passes,
            fallback_country_code: outcome.fallback.then(|| self.country_code.clone()),
            output,
            budget_exceeded: outcome.budget_exceeded,
            outcome,
        })
    }

    /// Spec §3.4: `+CC` unless the string already has `+`, or holds `*`/`#`.
    fn fallback(&self, s: &str, out: &mut String, outcome: &mut Outcome) {
        out.clear();
        if s.starts_with('+') || s.contains(['*', '#']) || s.is_empty() {
            out.push_str(s);
        } else {
            out.push('+');
            out.push_str(&self.country_code);
            out.push_str(s);
            outcome.fallback = true;
        }
    }

    /// Finds the first of the first `limit` rules that matches `s`, expanding its translation
    /// into `out` (cleared).
    fn first_match(
        &self,
        cache: &mut Cache,
        s: &str,
        limit: usize,
        out: &mut String,
        outcome: &mut Outcome,
    ) -> Option<RuleIndex> {
        out.clear();
        let input = Input::new(s);
        cache.matches.clear();
        self.set.which_overlapping_matches_with(&mut cache.set, &input, &mut cache.matches);
        for pid in cache.matches.iter() {
            let i = pid.as_usize();
            if i >= limit {
                break;
            }
            let rule = &self.rules[i];
            match &rule.matcher {
                Matcher::Automaton(re) => {
                    let Some((rcache, caps)) = cache.rules[i].as_mut() else { continue };
                    re.search_captures_with(rcache, &input, caps);
                    if !caps.is_match() {
                        // Cannot happen: the set said this rule matches. Treat as no match.
                        continue;
                    }
                    rule.template.expand(s, &AutomatonSpans(caps), out);
                    return Some(RuleIndex(i as u16));
                }
                Matcher::Backtrack(re) => match re.captures(s) {
                    Ok(Some(caps)) => {
                        rule.template.expand(s, &BacktrackSpans(&caps), out);
                        return Some(RuleIndex(i as u16));
                    }
                    Ok(None) => {}
                    Err(_) => outcome.budget_exceeded = true,
                },
            }
        }
        None
    }

    /// The capture groups of rule `index` on `s`, by .NET group number (index 0 is the whole
    /// match). `None` if the rule does not match.
    pub fn captures(&self, index: RuleIndex, s: &str) -> Option<Vec<Option<String>>> {
        let rule = &self.rules[index.as_usize()];
        let spans: Vec<Option<(usize, usize)>> = match &rule.matcher {
            Matcher::Automaton(re) => {
                let mut caps = re.create_captures();
                re.captures(s, &mut caps);
                if !caps.is_match() {
                    return None;
                }
                (0..caps.group_len()).map(|g| caps.get_group(g).map(|sp| (sp.start, sp.end))).collect()
            }
            Matcher::Backtrack(re) => {
                let caps = re.captures(s).ok().flatten()?;
                (0..caps.len()).map(|g| caps.get(g).map(|m| (m.start(), m.end()))).collect()
            }
        };
        Some(
            (0..=rule.groups.last_net())
                .map(|net| {
                    let rust = rule.groups.rust_index(net)?;
                    spans.get(rust).copied().flatten().map(|(a, b)| s[a..b].to_owned())
                })
                .collect(),
        )
    }
}

/// Compiles one rule; returns it and the pattern it contributes to the plan's automaton.
fn compile_rule(
    rule: &Rule,
    scope: Scope,
    position: usize,
    limits: &Limits,
) -> Result<(CompiledRule, String), CompileErrorKind> {
    let t = translate(&rule.pattern).map_err(|e| {
        let col = e.offset + 1;
        if e.unsupported {
            CompileErrorKind::UnsupportedPattern { col, message: e.message }
        } else {
            CompileErrorKind::InvalidPattern { col, message: e.message }
        }
    })?;
    // Syntax errors with a position in the user's pattern, before building anything.
    let automaton_pattern = t.automaton_pattern().to_owned();
    if let Err(e) = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(&automaton_pattern)
    {
        let (offset, message) = match &e {
            regex_syntax::Error::Parse(e) => (e.span().start.offset, e.kind().to_string()),
            regex_syntax::Error::Translate(e) => (e.span().start.offset, e.kind().to_string()),
            other => (0, other.to_string()),
        };
        let col = t.automaton_offsets.get(offset).copied().unwrap_or(0) + 1;
        return Err(CompileErrorKind::InvalidPattern { col, message });
    }
    let matcher = if t.needs_backtracker {
        let re = fancy_regex::RegexBuilder::new(&t.exact)
            .backtrack_limit(limits.backtrack_steps)
            .build()
            .map_err(|e| {
                let message = e.to_string();
                if message.contains("look-behind") || message.contains("LookBehind") {
                    CompileErrorKind::UnsupportedPattern { col: 1, message }
                } else {
                    CompileErrorKind::InvalidPattern { col: 1, message }
                }
            })?;
        Matcher::Backtrack(re)
    } else {
        let re = Regex::builder()
            .configure(
                meta::Config::new()
                    .utf8_empty(false)
                    .nfa_size_limit(Some(limits.max_rule_bytes))
                    .dfa_size_limit(Some(limits.max_rule_bytes))
                    .onepass_size_limit(Some(limits.max_rule_bytes)),
            )
            .syntax(syntax_config())
            .build(&t.exact)
            .map_err(|_| CompileErrorKind::TooBig { limit: limits.max_rule_bytes })?;
        Matcher::Automaton(re)
    };
    let template = Template::parse(&rule.translation, &t.groups);
    let mut notes: Vec<String> = t.notes.iter().map(PatternNote::to_string).collect();
    notes.extend(template.literal_refs.iter().map(|r| {
        format!("translation: {r} names no group of the pattern; kept as literal text, as .NET does")
    }));
    let info = RuleInfo {
        name: rule.name.clone(),
        scope,
        position,
        pattern: rule.pattern.clone(),
        translation: rule.translation.clone(),
        notes,
    };
    Ok((CompiledRule { info, matcher, template, groups: t.groups }, automaton_pattern))
}

struct AutomatonSpans<'a>(&'a Captures);

impl Spans for AutomatonSpans<'_> {
    fn span(&self, index: usize) -> Option<(usize, usize)> {
        self.0.get_group(index).map(|sp| (sp.start, sp.end))
    }
}

struct BacktrackSpans<'a, 'b>(&'a fancy_regex::Captures<'b, str>);

impl Spans for BacktrackSpans<'_, '_> {
    fn span(&self, index: usize) -> Option<(usize, usize)> {
        self.0.get(index).map(|m| (m.start(), m.end()))
    }
}
