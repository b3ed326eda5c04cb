//! Reading the tenant TOML: syntax, types, references and dial-plan compilation, with every
//! problem located at `file:line:col`.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;
use tpr_dialplan::{
    CompileErrorKind, CompiledPlan, DialPlan, Limits, Rule, ServicePlan, service_plan,
};
use tpr_types::{LineIndex, Region};

use crate::accounts;
use crate::check::Positions;
use crate::directrouting::{self, RawSections};
use crate::model::{CallingPlan, NumberType, Tenant, User, UserPolicies, UserRange};
use crate::policies;

/// One problem in the file, at its `file:line:col`.
pub use tpr_types::Diagnostic as LoadError;
/// Every problem found in the file, in file order.
pub use tpr_types::Diagnostics as LoadErrors;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    tenant: Option<Spanned<RawTenant>>,
    #[serde(default)]
    dial_plans: Vec<Spanned<RawDialPlan>>,
    #[serde(default)]
    service_dial_plans: Vec<Spanned<RawServicePlan>>,
    #[serde(default)]
    users: Vec<Spanned<RawUser>>,
    #[serde(default)]
    user_ranges: Vec<Spanned<RawUserRange>>,
    #[serde(default)]
    gateways: Vec<Spanned<directrouting::RawGateway>>,
    #[serde(default)]
    translation_rules: Vec<Spanned<directrouting::RawTranslationRule>>,
    #[serde(default)]
    pstn_usages: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    voice_routes: Vec<Spanned<directrouting::RawRoute>>,
    #[serde(default)]
    voice_routing_policies: Vec<Spanned<directrouting::RawPolicy>>,
    #[serde(default)]
    emergency_call_routing_policies: Vec<Spanned<directrouting::RawEmergencyPolicy>>,
    #[serde(default)]
    operators: Vec<Spanned<directrouting::RawOperator>>,
    #[serde(default)]
    resource_accounts: Vec<Spanned<accounts::RawAccount>>,
    #[serde(default)]
    calling_plans: Option<accounts::RawCallingPlans>,
    #[serde(default)]
    capacity: Option<accounts::RawCapacity>,
    #[serde(default)]
    calling_policies: Vec<Spanned<policies::RawCallingPolicy>>,
    #[serde(default)]
    caller_id_policies: Vec<Spanned<policies::RawCallerIdPolicy>>,
    #[serde(default)]
    unassigned_number_treatments: Vec<Spanned<policies::RawTreatment>>,
    #[serde(default)]
    blocked_calling_numbers: Option<policies::RawBlocked>,
    #[serde(default)]
    network_sites: Vec<Spanned<policies::RawSite>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    name: String,
    country: Spanned<String>,
    #[serde(default)]
    domains: Vec<String>,
    #[serde(default)]
    communications_credits: Option<Spanned<toml::Value>>,
    #[serde(default)]
    postpaid_overage: Option<bool>,
    /// `pstn_usages = [...]` written under `[tenant]` (TOML puts a bare key in the table above
    /// it): the tenant's usages, as at the top level.
    #[serde(default)]
    pstn_usages: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDialPlan {
    name: Spanned<String>,
    #[serde(default)]
    simple_name: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    external_access_prefix: Option<String>,
    #[serde(default)]
    rules: Vec<Spanned<RawRule>>,
}

fn default_pattern() -> Spanned<String> {
    Spanned::new(0..0, Rule::DEFAULT_PATTERN.to_owned())
}

fn default_translation() -> String {
    Rule::DEFAULT_TRANSLATION.to_owned()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    #[serde(default = "default_pattern")]
    pattern: Spanned<String>,
    #[serde(default = "default_translation")]
    translation: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    is_internal_extension: bool,
}

#[derive(Deserialize, Default, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum OverrideMode {
    /// The given rules replace the built-in ones.
    #[default]
    Replace,
    /// The given rules come after the built-in ones.
    Extend,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServicePlan {
    country: Spanned<String>,
    #[serde(default)]
    mode: OverrideMode,
    #[serde(default)]
    country_code: Option<String>,
    rules: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    id: Spanned<String>,
    #[serde(default)]
    private_number: Option<Spanned<String>>,
    #[serde(default)]
    reverse_number_lookup: Option<Spanned<String>>,
    #[serde(default)]
    calling_policy: Option<Spanned<String>>,
    #[serde(default)]
    caller_id_policy: Option<Spanned<String>>,
    #[serde(default)]
    network_site: Option<Spanned<String>>,
    #[serde(default)]
    usage_location: Option<Spanned<String>>,
    #[serde(default)]
    dial_plan: Option<Spanned<String>>,
    #[serde(default)]
    number: Option<Spanned<String>>,
    #[serde(default)]
    number_type: Option<Spanned<String>>,
    #[serde(default)]
    calling_plan: Option<Spanned<String>>,
    #[serde(default)]
    operator: Option<Spanned<String>>,
    #[serde(default)]
    voice_routing_policy: Option<Spanned<String>>,
    #[serde(default)]
    emergency_call_routing_policy: Option<Spanned<String>>,
    #[serde(default)]
    dial_out_policy: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUserRange {
    name: String,
    #[serde(default)]
    calling_policy: Option<Spanned<String>>,
    #[serde(default)]
    caller_id_policy: Option<Spanned<String>>,
    #[serde(default)]
    network_site: Option<Spanned<String>>,
    id_prefix: String,
    count: Spanned<i64>,
    #[serde(default)]
    first_number: Option<String>,
    #[serde(default)]
    usage_location: Option<Spanned<String>>,
    #[serde(default)]
    dial_plan: Option<Spanned<String>>,
    #[serde(default)]
    number_type: Option<Spanned<String>>,
    #[serde(default)]
    calling_plan: Option<Spanned<String>>,
    #[serde(default)]
    operator: Option<Spanned<String>>,
    #[serde(default)]
    voice_routing_policy: Option<Spanned<String>>,
    #[serde(default)]
    emergency_call_routing_policy: Option<Spanned<String>>,
    #[serde(default)]
    dial_out_policy: Option<Spanned<String>>,
}

/// Policy references of a user or a user range. The six fields are spelled out in `RawUser`,
/// `RawUserRange` and `RawAccount` rather than shared through `#[serde(flatten)]`: flattening
/// buffers the values and loses the TOML spans that error locations come from.
struct RawPolicyRefs<'a> {
    number_type: &'a Option<Spanned<String>>,
    calling_plan: &'a Option<Spanned<String>>,
    operator: &'a Option<Spanned<String>>,
    voice_routing_policy: &'a Option<Spanned<String>>,
    emergency_call_routing_policy: &'a Option<Spanned<String>>,
    dial_out_policy: &'a Option<Spanned<String>>,
}

macro_rules! policy_refs {
    ($u:expr) => {
        RawPolicyRefs {
            number_type: &$u.number_type,
            calling_plan: &$u.calling_plan,
            operator: &$u.operator,
            voice_routing_policy: &$u.voice_routing_policy,
            emergency_call_routing_policy: &$u.emergency_call_routing_policy,
            dial_out_policy: &$u.dial_out_policy,
        }
    };
}

/// Teams' twelve fixed dial-out policy instances (spec §2.7).
pub const DIAL_OUT_POLICIES: [&str; 12] = [
    "DialoutCPCandPSTNInternational",
    "DialoutCPCDomesticPSTNInternational",
    "DialoutCPCDisabledPSTNInternational",
    "DialoutCPCInternationalPSTNDomestic",
    "DialoutCPCInternationalPSTNDisabled",
    "DialoutCPCandPSTNDomestic",
    "DialoutCPCDomesticPSTNDisabled",
    "DialoutCPCDisabledPSTNDomestic",
    "DialoutCPCandPSTNDisabled",
    "DialoutCPCZoneAPSTNInternational",
    "DialoutCPCZoneAPSTNDomestic",
    "DialoutCPCZoneAPSTNDisabled",
];

/// Most users a range may generate.
const MAX_RANGE_USERS: i64 = crate::model::MAX_RANGE_USERS as i64;

/// Names an object in messages, `user "alice"`, and is only formatted when a message is: a
/// tenant of 100,000 users would otherwise build several such strings per user for nothing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Who<'a>(pub &'static str, pub &'a str);

impl fmt::Display for Who<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.0, self.1)
    }
}

pub(crate) struct Loader {
    index: LineIndex,
    errors: Vec<LoadError>,
}

impl Loader {
    pub(crate) fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let location = Some(self.index.location(span.start));
        self.errors.push(LoadError { location, message: message.into() });
    }

    /// An integer in `min..=max`; otherwise an error at its place and `None`.
    pub(crate) fn int(
        &mut self,
        v: &Spanned<i64>,
        what: impl fmt::Display,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        let x = *v.get_ref();
        if (min..=max).contains(&x) {
            return Some(x);
        }
        self.error(v.span(), format!("{what} must be {min} to {max}, got {x}"));
        None
    }

    /// An optional integer setting in `min..=max` (at most `u32`), `default` when absent.
    pub(crate) fn int_or(
        &mut self,
        v: &Option<Spanned<i64>>,
        what: impl fmt::Display,
        min: i64,
        max: i64,
        default: u32,
    ) -> u32 {
        v.as_ref().and_then(|v| self.int(v, what, min, max)).map_or(default, |x| x as u32)
    }

    /// One of fixed names; otherwise an error listing them and `None`.
    pub(crate) fn choice<T: Copy>(
        &mut self,
        v: &Spanned<String>,
        what: impl fmt::Display,
        options: &[(&str, T)],
    ) -> Option<T> {
        if let Some((_, t)) = options.iter().find(|(name, _)| *name == v.get_ref()) {
            return Some(*t);
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        self.error(
            v.span(),
            format!("{what} {:?} is not one of {}", v.get_ref(), names.join(", ")),
        );
        None
    }

    /// An optional choice, `default` when absent.
    pub(crate) fn choice_or<T: Copy>(
        &mut self,
        v: &Option<Spanned<String>>,
        what: impl fmt::Display,
        options: &[(&str, T)],
        default: T,
    ) -> T {
        v.as_ref().and_then(|v| self.choice(v, what, options)).unwrap_or(default)
    }

    fn region(&mut self, value: &Spanned<String>, what: impl fmt::Display) -> Option<Region> {
        match Region::try_new(value.get_ref()) {
            Ok(r) if service_plan(r).is_some() => Some(r),
            Ok(r) => {
                self.error(value.span(), format!("{what}: unknown region {r}"));
                None
            }
            Err(e) => {
                self.error(value.span(), format!("{what}: {e}"));
                None
            }
        }
    }

    fn rules(&mut self, raw: &[Spanned<RawRule>]) -> Vec<Rule> {
        raw.iter()
            .map(|r| {
                let r = r.get_ref();
                Rule {
                    name: r.name.clone(),
                    pattern: r.pattern.get_ref().clone(),
                    translation: r.translation.clone(),
                    description: r.description.clone(),
                    is_internal_extension: r.is_internal_extension,
                }
            })
            .collect()
    }

    /// Where a compile error points: the rule's pattern (at the right column when the TOML
    /// string is a literal string), the rule, or the plan.
    fn compile_error_span(
        &self,
        plan_span: Range<usize>,
        rules: &[Spanned<RawRule>],
        err: &tpr_dialplan::CompileError,
    ) -> Range<usize> {
        let Some((i, _)) = err.rule() else { return plan_span };
        let Some(rule) = rules.get(i) else { return plan_span };
        match err.kind() {
            CompileErrorKind::InvalidPattern { .. }
            | CompileErrorKind::UnsupportedPattern { .. } => {
                self.column_span(&rule.get_ref().pattern, err.kind())
            }
            _ => rule.span(),
        }
    }

    /// The span of `pattern`'s value, moved to the column a pattern error names when the value
    /// is a TOML literal string (which holds the pattern verbatim).
    pub(crate) fn column_span(
        &self,
        pattern: &Spanned<String>,
        kind: &CompileErrorKind,
    ) -> Range<usize> {
        let span = pattern.span();
        let col = match kind {
            CompileErrorKind::InvalidPattern { col, .. }
            | CompileErrorKind::UnsupportedPattern { col, .. } => *col,
            _ => return span,
        };
        if span.is_empty() {
            return span;
        }
        let text = &self.index_text()[span.clone()];
        if text.starts_with('\'') && !text.starts_with("\'\'\'") {
            let offset: usize = pattern.get_ref().chars().take(col - 1).map(char::len_utf8).sum();
            return span.start + 1 + offset..span.end;
        }
        span
    }

    /// Checks a user's (or range's) policy references against the tenant.
    fn policies(
        &mut self,
        r: RawPolicyRefs<'_>,
        who: &dyn fmt::Display,
        dr: &directrouting::DirectRouting,
    ) -> UserPolicies {
        let number_type = r.number_type.as_ref().and_then(|v| {
            self.choice(
                v,
                format_args!("{who}: number_type"),
                &[
                    ("direct_routing", NumberType::DirectRouting),
                    ("calling_plan", NumberType::CallingPlan),
                    ("operator_connect", NumberType::OperatorConnect),
                ],
            )
        });
        let calling_plan = self.choice_or(
            r.calling_plan,
            format_args!("{who}: calling_plan"),
            &[
                ("none", CallingPlan::None),
                ("domestic", CallingPlan::Domestic),
                ("domestic_120", CallingPlan::Domestic120),
                ("domestic_240", CallingPlan::Domestic240),
                ("international", CallingPlan::International),
                ("pay_as_you_go", CallingPlan::PayAsYouGo),
            ],
            CallingPlan::None,
        );
        let known = |l: &mut Loader,
                     v: &Option<Spanned<String>>,
                     exists: &dyn Fn(&str) -> bool,
                     what: &str| {
            let v = v.as_ref()?;
            if !exists(v.get_ref()) {
                l.error(v.span(), format!("{who}: {what} {:?} is not defined", v.get_ref()));
            }
            Some(v.get_ref().clone())
        };
        let operator = known(self, r.operator, &|n| dr.operator(n).is_some(), "operator");
        let voice_routing_policy = known(
            self,
            r.voice_routing_policy,
            &|n| n.eq_ignore_ascii_case("Global") || dr.voice_routing_policy(n).is_some(),
            "voice routing policy",
        );
        let emergency_call_routing_policy = known(
            self,
            r.emergency_call_routing_policy,
            &|n| dr.emergency_policy(n).is_some(),
            "emergency call routing policy",
        );
        let dial_out_policy = r.dial_out_policy.as_ref().map(|v| {
            if !DIAL_OUT_POLICIES.iter().any(|p| p.eq_ignore_ascii_case(v.get_ref())) {
                self.error(
                    v.span(),
                    format!("{who}: dial-out policy {:?} is not one of Teams' 12 fixed policies (DialoutCPC...)", v.get_ref()),
                );
            }
            v.get_ref().clone()
        });
        match (number_type, r.operator) {
            (Some(NumberType::OperatorConnect), None) => {
                let span = r.number_type.as_ref().map(|v| v.span()).unwrap_or(0..0);
                self.error(span, format!("{who}: an operator_connect number needs its operator"));
            }
            (Some(t), Some(op)) if t != NumberType::OperatorConnect => {
                self.error(
                    op.span(),
                    format!("{who}: operator is set, but number_type is not operator_connect"),
                );
            }
            _ => {}
        }
        UserPolicies {
            number_type,
            calling_plan,
            operator,
            voice_routing_policy,
            emergency_call_routing_policy,
            dial_out_policy,
            ..UserPolicies::default()
        }
    }

    fn index_text(&self) -> &str {
        self.index.text()
    }
}

impl Tenant {
    /// Reads and checks a tenant file.
    pub fn load(path: &Path) -> Result<Tenant, LoadErrors> {
        let text = tpr_types::read_utf8(path).map_err(|e| LoadErrors(vec![e]))?;
        Tenant::from_toml_str(&text, &path.display().to_string())
    }

    /// Parses and checks tenant TOML read from `file`.
    pub fn from_toml_str(text: &str, file: &str) -> Result<Tenant, LoadErrors> {
        Tenant::from_toml_str_with_positions(text, file).map(|(tenant, _)| tenant)
    }

    /// [`Tenant::from_toml_str`], also returning where the objects [`crate::lint_at`] points at
    /// are written (from the same parse: `tpr check` reads a file once).
    pub fn from_toml_str_with_positions(
        text: &str,
        file: &str,
    ) -> Result<(Tenant, Positions), LoadErrors> {
        let index = LineIndex::new(Arc::<str>::from(file), Arc::<str>::from(text));
        let mut l = Loader { index, errors: Vec::new() };
        let raw: RawFile = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                l.error(span, e.message().trim_end().to_owned());
                return Err(LoadErrors(l.errors));
            }
        };
        let Some(raw_tenant) = &raw.tenant else {
            l.error(0..0, "missing [tenant] section (name and country)");
            return Err(LoadErrors(l.errors));
        };
        let t = raw_tenant.get_ref();
        let positions = positions(&raw, t);
        let mut calling_plans = accounts::calling_plans(
            &mut l,
            raw.calling_plans.as_ref(),
            t.communications_credits.as_ref(),
        );
        if let Some(overage) = t.postpaid_overage {
            calling_plans.postpaid_overage |= overage;
        }
        let capacity = accounts::capacity(&mut l, raw.capacity.as_ref());
        let country = l.region(&t.country, "tenant country");

        // Dial plans: names unique, each compiles on its own against the tenant country.
        let limits = Limits::default();
        let mut dial_plans: Vec<DialPlan> = Vec::new();
        for raw_plan in &raw.dial_plans {
            let p = raw_plan.get_ref();
            let plan = DialPlan {
                name: p.name.get_ref().clone(),
                simple_name: p.simple_name.clone(),
                description: p.description.clone(),
                external_access_prefix: p.external_access_prefix.clone(),
                rules: l.rules(&p.rules),
            };
            if dial_plans.iter().any(|d| d.name.eq_ignore_ascii_case(&plan.name)) {
                l.error(p.name.span(), format!("dial plan {:?} is defined twice", plan.name));
                continue;
            }
            let region =
                country.unwrap_or_else(|| Region::try_new("US").unwrap_or_else(|_| unreachable!()));
            if let Some(service) = service_plan(region)
                && let Err(e) = CompiledPlan::compile(Some(&plan), service, &limits)
            {
                let span = l.compile_error_span(raw_plan.span(), &p.rules, &e);
                l.error(span, e.to_string());
            }
            dial_plans.push(plan);
        }

        let mut service_overrides: Vec<ServicePlan> = Vec::new();
        for raw_sp in &raw.service_dial_plans {
            let sp = raw_sp.get_ref();
            let Some(region) = l.region(&sp.country, "service dial plan") else { continue };
            if service_overrides.iter().any(|s| s.region == region) {
                l.error(
                    sp.country.span(),
                    format!("service dial plan for {region} is defined twice"),
                );
                continue;
            }
            let builtin = service_plan(region)
                .cloned()
                .unwrap_or_else(|| ServicePlan::new(region, "", vec![]));
            let mut rules = l.rules(&sp.rules);
            if sp.mode == OverrideMode::Extend {
                rules.splice(0..0, builtin.rules.iter().cloned());
            }
            let cc = sp.country_code.clone().unwrap_or(builtin.country_code);
            if cc.is_empty() || cc.len() > 3 || !cc.bytes().all(|b| b.is_ascii_digit()) {
                l.error(
                    raw_sp.span(),
                    format!(
                        "service dial plan for {region}: country_code {cc:?} must be 1 to 3 digits"
                    ),
                );
                continue;
            }
            let plan = ServicePlan::new(region, cc, rules);
            if let Err(e) = CompiledPlan::compile(None, &plan, &limits) {
                let offset = if sp.mode == OverrideMode::Extend { builtin.rules.len() } else { 0 };
                let span = match e.rule() {
                    Some((i, _)) if i >= offset => {
                        sp.rules.get(i - offset).map_or(raw_sp.span(), |r| r.span())
                    }
                    _ => raw_sp.span(),
                };
                l.error(
                    span,
                    e.to_string().replacen(
                        &format!("dial plan \"{region} service\""),
                        &format!("service dial plan {region}"),
                        1,
                    ),
                );
            }
            service_overrides.push(plan);
        }

        let domains = t.domains.clone();
        let routing = directrouting::load(
            &mut l,
            RawSections {
                gateways: &raw.gateways,
                translation_rules: &raw.translation_rules,
                pstn_usages: &[list(&raw.pstn_usages), list(&t.pstn_usages)].concat(),
                voice_routes: &raw.voice_routes,
                voice_routing_policies: &raw.voice_routing_policies,
                emergency_call_routing_policies: &raw.emergency_call_routing_policies,
                operators: &raw.operators,
            },
            &domains,
        );

        // `Global` always exists in Teams, defined in the file or not: naming it is the same
        // as naming no plan.
        let check_plan_ref = |l: &mut Loader,
                              plan: &Option<Spanned<String>>,
                              who: &dyn fmt::Display|
         -> Option<String> {
            let plan = plan.as_ref().filter(|p| !p.get_ref().eq_ignore_ascii_case("Global"))?;
            if !dial_plans.iter().any(|d| d.name.eq_ignore_ascii_case(plan.get_ref())) {
                l.error(
                    plan.span(),
                    format!("{who}: dial plan {:?} is not defined", plan.get_ref()),
                );
            }
            Some(plan.get_ref().clone())
        };

        // Policy references of users and ranges, checked once the policies are read.
        let mut deferred: Vec<(Who<'_>, [&Option<Spanned<String>>; 3])> = Vec::new();
        let mut users = Vec::new();
        let mut user_ids = std::collections::HashSet::new();
        for raw_user in &raw.users {
            let u = raw_user.get_ref();
            let who = Who("user", u.id.get_ref());
            let usage_location = match &u.usage_location {
                Some(loc) => l.region(loc, who),
                None => country,
            };
            let dial_plan = check_plan_ref(&mut l, &u.dial_plan, &who);
            if !user_ids.insert(u.id.get_ref().to_ascii_lowercase()) {
                l.error(u.id.span(), format!("{who} is defined twice"));
            }
            let mut policies = l.policies(policy_refs!(u), &who, &routing);
            deferred.push((who, [&u.calling_policy, &u.caller_id_policy, &u.network_site]));
            policies.calling_policy = name_of(&u.calling_policy);
            policies.caller_id_policy = name_of(&u.caller_id_policy);
            policies.network_site = name_of(&u.network_site);
            let number_type = policies.number_type;
            for n in [&u.number, &u.private_number].into_iter().flatten() {
                if let Err(why) = check_number(n.get_ref(), number_type) {
                    l.error(n.span(), format!("{who}: number {:?} {why}", n.get_ref()));
                }
            }
            let skip_internal_voip = match u
                .reverse_number_lookup
                .as_ref()
                .map(|r| r.get_ref().as_str())
            {
                None | Some("default") => false,
                Some("skip_internal_voip") => true,
                Some(other) => {
                    let span =
                        u.reverse_number_lookup.as_ref().map(Spanned::span).unwrap_or_default();
                    l.error(span, format!("{who}: reverse_number_lookup must be default or skip_internal_voip, got {other:?}"));
                    false
                }
            };
            if let Some(usage_location) = usage_location {
                users.push(User {
                    skip_internal_voip,
                    id: u.id.get_ref().clone(),
                    usage_location,
                    dial_plan,
                    number: name_of(&u.number),
                    private_number: name_of(&u.private_number),
                    policies,
                });
            }
        }

        let mut user_ranges: Vec<UserRange> = Vec::new();
        for raw_range in &raw.user_ranges {
            let r = raw_range.get_ref();
            let who = Who("user range", &r.name);
            let count = *r.count.get_ref();
            if !(1..=MAX_RANGE_USERS).contains(&count) {
                l.error(
                    r.count.span(),
                    format!("{who}: count must be 1 to {MAX_RANGE_USERS}, got {count}"),
                );
                continue;
            }
            if r.id_prefix.is_empty() {
                l.error(raw_range.span(), format!("{who}: id_prefix must not be empty"));
                continue;
            }
            let usage_location = match &r.usage_location {
                Some(loc) => l.region(loc, who),
                None => country,
            };
            let dial_plan = check_plan_ref(&mut l, &r.dial_plan, &who);
            let mut policies = l.policies(policy_refs!(r), &who, &routing);
            deferred.push((who, [&r.calling_policy, &r.caller_id_policy, &r.network_site]));
            policies.calling_policy = name_of(&r.calling_policy);
            policies.caller_id_policy = name_of(&r.caller_id_policy);
            policies.network_site = name_of(&r.network_site);
            let range = UserRange {
                name: r.name.clone(),
                id_prefix: r.id_prefix.clone(),
                count: count as u32,
                first_number: r.first_number.clone(),
                usage_location: usage_location
                    .unwrap_or_else(|| Region::try_new("US").unwrap_or_else(|_| unreachable!())),
                dial_plan,
                policies,
            };
            if let Some(why) = range.numbers_overflow() {
                l.error(raw_range.span(), format!("{who}: {why}"));
            }
            if let Some(u) = users.iter().find(|u| range.index_of(&u.id).is_some()) {
                l.error(
                    raw_range.span(),
                    format!("{who}: generates id {:?}, which a listed user already has", u.id),
                );
            }
            user_ranges.push(range);
        }

        let mut resource_accounts = Vec::new();
        for raw_account in &raw.resource_accounts {
            let a = raw_account.get_ref();
            let who = format!("resource account {:?}", a.id.get_ref());
            let policies = l.policies(policy_refs!(a), &who, &routing);
            if let Some(n) = &a.number
                && let Err(why) = check_number(n.get_ref(), policies.number_type)
            {
                l.error(n.span(), format!("{who}: number {:?} {why}", n.get_ref()));
            }
            resource_accounts.push(accounts::account(&mut l, a, policies));
        }

        let policies = policies::load(
            &mut l,
            policies::RawPolicySections {
                calling: &raw.calling_policies,
                caller_id: &raw.caller_id_policies,
                unassigned: &raw.unassigned_number_treatments,
                blocked: raw.blocked_calling_numbers.as_ref(),
                network_sites: &raw.network_sites,
            },
            &policies::Known {
                resource_account: &|id| {
                    resource_accounts
                        .iter()
                        .any(|a: &accounts::ResourceAccount| a.id.eq_ignore_ascii_case(id))
                },
                user: &|id| {
                    users.iter().any(|u: &User| u.id.eq_ignore_ascii_case(id))
                        || user_ranges.iter().any(|r| r.index_of(id).is_some())
                },
                emergency_policy: &|name| routing.emergency_policy(name).is_some(),
            },
        );
        for (who, [calling, caller_id, site]) in deferred {
            let checks: [(&Option<Spanned<String>>, &str, bool); 3] = [
                (
                    calling,
                    "calling policy",
                    calling
                        .as_ref()
                        .is_some_and(|p| policies.calling_policy(p.get_ref()).is_none()),
                ),
                (
                    caller_id,
                    "caller ID policy",
                    caller_id
                        .as_ref()
                        .is_some_and(|p| policies.caller_id_policy(p.get_ref()).is_none()),
                ),
                (
                    site,
                    "network site",
                    site.as_ref().is_some_and(|p| policies.network_site(p.get_ref()).is_none()),
                ),
            ];
            for (v, what, missing) in checks {
                if let (Some(v), true) = (v, missing) {
                    l.error(v.span(), format!("{who}: {what} {:?} is not defined", v.get_ref()));
                }
            }
        }

        // Ids and numbers are unique across users and resource accounts, generated ones
        // included (spec §2.1).
        let mut ids: HashMap<String, &str> = HashMap::new();
        let all_ids = raw
            .users
            .iter()
            .map(|u| ("user", &u.get_ref().id))
            .chain(raw.resource_accounts.iter().map(|a| ("resource account", &a.get_ref().id)));
        for (kind, id) in all_ids {
            let key = id.get_ref().to_ascii_lowercase();
            match ids.get(&key) {
                // Two users with one id are reported where users are read.
                Some(&"user") if kind == "user" => {}
                Some(other) => l.error(
                    id.span(),
                    format!("{kind} id {:?} is already used by a {other}", id.get_ref()),
                ),
                None => {
                    ids.insert(key, kind);
                }
            }
            if kind != "user"
                && let Some(r) = user_ranges.iter().find(|r| r.index_of(id.get_ref()).is_some())
            {
                l.error(
                    id.span(),
                    format!(
                        "{kind} id {:?} is also generated by user range {:?}",
                        id.get_ref(),
                        r.name
                    ),
                );
            }
        }
        let mut numbers: HashMap<&str, Who<'_>> = HashMap::new();
        let listed = raw
            .users
            .iter()
            .filter_map(|u| {
                u.get_ref().number.as_ref().map(|n| (n, Who("user", u.get_ref().id.get_ref())))
            })
            .chain(raw.resource_accounts.iter().filter_map(|a| {
                let a = a.get_ref();
                a.number.as_ref().map(|n| (n, Who("resource account", a.id.get_ref())))
            }));
        for (number, owner) in listed {
            let n = number.get_ref();
            if let Some(first) = numbers.get(n.as_str()) {
                l.error(
                    number.span(),
                    format!("{owner}: number {n} is already assigned to {first}"),
                );
                continue;
            }
            if let Some(r) = user_ranges.iter().find(|r| r.assigns(n)) {
                l.error(
                    number.span(),
                    format!("{owner}: number {n} is also assigned by user range {:?}", r.name),
                );
            }
            numbers.insert(n, owner);
        }
        for (i, a) in user_ranges.iter().enumerate() {
            if let Some(b) = user_ranges[..i].iter().find(|b| a.overlaps(b)) {
                let span = raw.user_ranges.get(i).map_or(0..0, |r| r.span());
                l.error(
                    span,
                    format!(
                        "user range {:?}: assigns numbers that user range {:?} assigns too",
                        a.name, b.name
                    ),
                );
            }
        }

        match (country, l.errors.is_empty()) {
            (Some(country), true) => Ok((
                Tenant {
                    name: t.name.clone(),
                    country,
                    dial_plans,
                    service_overrides,
                    users,
                    user_ranges,
                    routing,
                    resource_accounts,
                    calling_plans,
                    capacity,
                    policies,
                },
                positions,
            )),
            _ => {
                // In file order, whatever order the checks ran in.
                l.errors.sort_by_key(|e| e.location.as_ref().map(|loc| (loc.line, loc.col)));
                Err(LoadErrors(l.errors))
            }
        }
    }
}

fn name_of(v: &Option<Spanned<String>>) -> Option<String> {
    v.as_ref().map(|v| v.get_ref().clone())
}

/// A phone number as Teams accepts it (spec §2.1): E.164 (`+`, at most 15 digits), or for
/// Direct Routing 3 to 38 digits; either with an optional `;ext=` of 1 to 12 digits.
pub(crate) fn check_number(n: &str, number_type: Option<NumberType>) -> Result<(), String> {
    let (main, ext) = match n.split_once(";ext=") {
        Some((main, ext)) => (main, Some(ext)),
        None => (n, None),
    };
    if let Some(ext) = ext
        && (ext.is_empty() || ext.len() > 12 || !ext.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("has an extension that is not 1 to 12 digits".into());
    }
    let (plus, digits) = match main.strip_prefix('+') {
        Some(d) => (true, d),
        None => (false, main),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("is not a phone number: + and digits, optionally ;ext=digits".into());
    }
    let dr = matches!(number_type, None | Some(NumberType::DirectRouting));
    match (plus, dr) {
        (true, _) if (1..=15).contains(&digits.len()) => Ok(()),
        (_, true) if (3..=38).contains(&digits.len()) => Ok(()),
        (true, false) => Err("has more than the 15 digits E.164 allows".into()),
        (false, false) => Err("must be E.164 (+ and country code) for this number type".into()),
        (_, true) => Err("must have 3 to 38 digits".into()),
    }
}

/// The elements of an optional list.
fn list<T>(l: &Option<Spanned<Vec<T>>>) -> &[T] {
    l.as_ref().map_or(&[], |l| l.get_ref())
}

/// Where the objects the lints point at start, from the parsed file.
fn positions(raw: &RawFile, t: &RawTenant) -> Positions {
    let named = |name: &Spanned<String>, start: usize| (name.get_ref().clone(), start);
    Positions {
        dial_plans: raw
            .dial_plans
            .iter()
            .map(|p| {
                let rules = p.get_ref().rules.iter().map(|r| r.span().start).collect();
                (p.get_ref().name.get_ref().clone(), p.span().start, rules)
            })
            .collect(),
        gateways: raw.gateways.iter().map(|g| named(&g.get_ref().fqdn, g.span().start)).collect(),
        voice_routes: raw
            .voice_routes
            .iter()
            .map(|r| named(&r.get_ref().name, r.span().start))
            .collect(),
        voice_routing_policies: raw
            .voice_routing_policies
            .iter()
            .map(|p| named(&p.get_ref().name, p.span().start))
            .collect(),
        emergency_call_routing_policies: raw
            .emergency_call_routing_policies
            .iter()
            .map(|p| named(&p.get_ref().name, p.span().start))
            .collect(),
        usages: raw.pstn_usages.as_ref().or(t.pstn_usages.as_ref()).map(|l| l.span().start),
    }
}
