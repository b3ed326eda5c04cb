//! The naive reference evaluator: one backtracking regex per rule, tried in order.
//!
//! It is how a first implementation (or Kamailio's `dialplan` module) works, and it is the
//! oracle that property tests and fuzzing diff the compiled automaton against. It shares only
//! the pieces whose meaning it checks elsewhere: input cleanup, the .NET pattern rewrite and
//! template parsing. Matching, rule selection and the passes of spec §3.4 are its own.

use crate::cleanup::DialString;
use crate::dotnet::translate;
use crate::plan::{Cache, CompiledPlan, Mode, NormalizeError};
use crate::rule::{DialPlan, Limits, Rule};
use crate::service::ServicePlan;
use crate::template::{Spans, Template};

/// A plan evaluated one regex at a time.
#[derive(Debug)]
pub struct ReferencePlan {
    rules: Vec<(fancy_regex::Regex, Template)>,
    tenant_len: usize,
    country_code: String,
    access_prefix: Option<String>,
}

/// Why a [`ReferencePlan`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// The regex engine refused a rule (the compiled plan must refuse it too).
    #[error("{rule}: {message}")]
    Invalid {
        /// The rule's name.
        rule: String,
        /// The engine's message.
        message: String,
    },
    /// A rule's automaton passed the size budget. The reference reads classes the Unicode way
    /// (.NET's), the compiled plan the ASCII way (the same on cleaned input, and far smaller),
    /// so a long repeat of `\d` can fit there and not here: there is then nothing to compare.
    #[error("{rule}: too big for the reference evaluator: {message}")]
    TooBig {
        /// The rule's name.
        rule: String,
        /// The engine's message.
        message: String,
    },
}

/// What the reference evaluator produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceResult {
    /// The normalized string.
    pub output: String,
    /// Index of the first-pass rule in the effective list.
    pub first: Option<usize>,
    /// Index of the second-pass rule.
    pub second: Option<usize>,
    /// The `+CC` fallback was applied.
    pub fallback: bool,
}

struct FancySpans<'a, 'b>(&'a fancy_regex::Captures<'b, str>);

impl Spans for FancySpans<'_, '_> {
    fn span(&self, index: usize) -> Option<(usize, usize)> {
        self.0.get(index).map(|m| (m.start(), m.end()))
    }
}

/// The most one rule's regex may take in the reference. The reference compiles .NET's
/// Unicode classes, far larger than the compiled plan's ASCII ones, and the regex compiler
/// gets to a limit only by building up to it: at the plan's 32 MiB a `\d{10515}` rule took
/// 0.4 s to refuse (11 s under the fuzzer's sanitizer). Plans past this are `TooBig`, which
/// the differential fuzz target skips.
pub const REFERENCE_REGEX_BYTES: usize = 2 << 20;

/// A service plan's rules compiled for the reference once, to build the references of many
/// tenant plans over one region ([`ReferencePlan::with_service`]). With .NET's Unicode `\d`,
/// a built-in rule such as `^011(\d{7,15})$` takes about a millisecond to compile, more than
/// most tenant rules, and it is the same for every tenant of the region. The differential fuzz
/// target compiles it once per region; anything that builds references for many plans of one
/// region can do the same.
#[derive(Debug, Clone)]
pub struct ServiceReference {
    rules: Vec<(fancy_regex::Regex, Template)>,
    country_code: String,
    limits: Limits,
}

impl ServiceReference {
    /// Compiles `service`'s rules under `limits`, which the tenant rules of every plan built
    /// on it then share.
    pub fn new(service: &ServicePlan, limits: &Limits) -> Result<ServiceReference, ReferenceError> {
        Ok(ServiceReference {
            rules: service
                .rules
                .iter()
                .map(|r| compile_rule(r, limits))
                .collect::<Result<_, _>>()?,
            country_code: service.country_code.clone(),
            limits: limits.clone(),
        })
    }
}

/// One rule as the reference runs it: its .NET pattern rewritten and compiled by fancy-regex,
/// and its translation.
fn compile_rule(
    rule: &Rule,
    limits: &Limits,
) -> Result<(fancy_regex::Regex, Template), ReferenceError> {
    let t = translate(&rule.pattern)
        .map_err(|e| ReferenceError::Invalid { rule: rule.name.clone(), message: e.message })?;
    let re = fancy_regex::RegexBuilder::new(&t.exact)
        .backtrack_limit(limits.backtrack_steps)
        .delegate_size_limit(limits.max_plan_bytes.min(REFERENCE_REGEX_BYTES))
        .build()
        .map_err(|e| {
            let too_big = matches!(&e, fancy_regex::Error::CompileError(c)
                if matches!(&**c, fancy_regex::CompileError::InnerError(b)
                    if b.size_limit().is_some()));
            let (rule, message) = (rule.name.clone(), e.to_string());
            if too_big {
                ReferenceError::TooBig { rule, message }
            } else {
                ReferenceError::Invalid { rule, message }
            }
        })?;
    Ok((re, Template::parse(&rule.translation, &t.groups)))
}

fn compile_tenant(
    tenant: Option<&DialPlan>,
    limits: &Limits,
) -> Result<Vec<(fancy_regex::Regex, Template)>, ReferenceError> {
    tenant.map_or(&[][..], |p| &p.rules[..]).iter().map(|r| compile_rule(r, limits)).collect()
}

impl ReferencePlan {
    /// Builds the reference for `tenant ++ service.rules`. Its errors are terse: the
    /// reference is for tests and baselines, and the compiled plan gives the precise errors.
    pub fn new(
        tenant: Option<&DialPlan>,
        service: &ServicePlan,
        limits: &Limits,
    ) -> Result<ReferencePlan, ReferenceError> {
        // The tenant's errors come first, as when the rules compile in order.
        let tenant_rules = compile_tenant(tenant, limits)?;
        Ok(ReferencePlan::assemble(tenant, tenant_rules, &ServiceReference::new(service, limits)?))
    }

    /// Builds the reference for `tenant ++` the rules `service` compiled, under the limits it
    /// was compiled with: the same plan as [`ReferencePlan::new`] with that service plan.
    pub fn with_service(
        tenant: Option<&DialPlan>,
        service: &ServiceReference,
    ) -> Result<ReferencePlan, ReferenceError> {
        let tenant_rules = compile_tenant(tenant, &service.limits)?;
        Ok(ReferencePlan::assemble(tenant, tenant_rules, service))
    }

    fn assemble(
        tenant: Option<&DialPlan>,
        mut rules: Vec<(fancy_regex::Regex, Template)>,
        service: &ServiceReference,
    ) -> ReferencePlan {
        let tenant_len = rules.len();
        rules.extend(service.rules.iter().cloned());
        ReferencePlan {
            rules,
            tenant_len,
            country_code: service.country_code.clone(),
            access_prefix: tenant.and_then(|p| p.external_access_prefix.clone()),
        }
    }

    fn first_match(&self, s: &str, limit: usize) -> Option<(usize, String)> {
        for (i, (re, template)) in self.rules.iter().take(limit).enumerate() {
            if let Ok(Some(caps)) = re.captures(s) {
                let mut out = String::new();
                template.expand(s, &FancySpans(&caps), &mut out);
                return Some((i, out));
            }
        }
        None
    }

    fn fallback(&self, s: String) -> (String, bool) {
        if s.starts_with('+') || s.contains(['*', '#']) || s.is_empty() {
            (s, false)
        } else {
            (format!("+{}{s}", self.country_code), true)
        }
    }

    /// Normalizes `dialed` the way spec §3.4 writes it down.
    pub fn normalize(&self, dialed: &str, mode: Mode) -> Result<ReferenceResult, NormalizeError> {
        let cleaned = DialString::try_clean(dialed)?;
        let mut s = cleaned.as_str();
        if let Some(p) = &self.access_prefix
            && s.len() > p.len()
            && s.starts_with(p.as_str())
        {
            s = &s[p.len()..];
        }
        let mut r =
            ReferenceResult { output: String::new(), first: None, second: None, fallback: false };
        if mode == Mode::TenantScopeOnly {
            match self.first_match(s, self.tenant_len) {
                Some((i, out)) => (r.first, r.output) = (Some(i), out),
                None => r.output = s.to_owned(),
            }
            return Ok(r);
        }
        match self.first_match(s, self.rules.len()) {
            None => (r.output, r.fallback) = self.fallback(s.to_owned()),
            Some((i, r1)) => {
                r.first = Some(i);
                if r1.starts_with('+') {
                    r.output = r1;
                } else {
                    match self.first_match(&r1, self.rules.len()) {
                        Some((j, r2)) => (r.second, r.output) = (Some(j), r2),
                        None => (r.output, r.fallback) = self.fallback(r1),
                    }
                }
            }
        }
        Ok(r)
    }

    /// Normalizes `input` with both `compiled` and this reference and compares output, rules
    /// and fallback. Returns the first-pass rule on agreement (`None` also when a lookaround
    /// rule ran out of budget, where the two may legitimately differ), or what differs.
    pub fn diff(
        &self,
        compiled: &CompiledPlan,
        cache: &mut Cache,
        input: &str,
        mode: Mode,
    ) -> Result<Option<usize>, String> {
        let mut out = String::new();
        match (compiled.normalize_with(cache, input, mode, &mut out), self.normalize(input, mode)) {
            (Ok(o), Ok(_)) if o.budget_exceeded => Ok(None),
            (Ok(o), Ok(r)) => {
                let got = (
                    out.as_str(),
                    o.first.map(|i| i.as_usize()),
                    o.second.map(|i| i.as_usize()),
                    o.fallback,
                );
                let want = (r.output.as_str(), r.first, r.second, r.fallback);
                if got == want {
                    Ok(got.1)
                } else {
                    Err(format!("{input:?} ({mode:?}): compiled {got:?}, reference {want:?}"))
                }
            }
            (Err(a), Err(b)) if a == b => Ok(None),
            (a, b) => Err(format!("{input:?} ({mode:?}): compiled {a:?}, reference {b:?}")),
        }
    }
}
