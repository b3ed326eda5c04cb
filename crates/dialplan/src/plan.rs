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

use regex_automata::dfa::onepass;
use regex_automata::hybrid;
use regex_automata::hybrid::LazyStateID;
use regex_automata::meta::{self, Regex};
use regex_automata::nfa::thompson::{self, NFA, backtrack, pikevm};
use regex_automata::util::primitives::NonMaxUsize;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, MatchKind, PatternSet};
use regex_syntax::hir::{Hir, Look};

use crate::cleanup::{DialString, InvalidDialString, clean_into};
use crate::dotnet::{GroupTable, PatternNote};
use crate::error::{CompileError, CompileErrorKind};
use crate::layout::Layout;
use crate::pattern::{Checked, any_bytes, build_backtracking, check};
use crate::rule::{DialPlan, Limits, Rule};
use crate::service::ServicePlan;
use crate::set::{Compact, SlotSpans, WHOLE_BUDGET};
use crate::splits::Splits;
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

/// How the winning rule's captures are found.
enum Matcher {
    /// Anchored rules of fixed shape: spans follow from the input length (see [`Layout`]).
    Layout(Layout),
    /// `^`-anchored rules that are one-pass and not of [`Splits`]' shape: one forward scan
    /// that also records captures.
    OnePass(Box<onepass::DFA>),
    /// Other regular rules: [`Splits`] where the rule has its shape (in the rule's record,
    /// [`CompiledRule::splits`]), a bounded backtracker (leftmost-first, like .NET) otherwise,
    /// with a PikeVM for inputs longer than the backtracker's bound (long second-pass
    /// strings). `Splits` comes before a one-pass DFA: on the national rule of the 50-rule
    /// site plan (`^1?([2-9]\d\d[2-9]\d{6})\d*(\D+\d+)?$`) it takes 981 instructions a
    /// normalization against the one-pass DFA's 1,294, and it tests bytes against its pieces'
    /// classes rather than walking a table state by state.
    Nfa(Box<NfaMatcher>),
    /// Lookaround and backreferences: fancy-regex with a step budget. Boxed: inline, its 112
    /// bytes would make every rule's matcher that big, and a rule's hot bytes more than two
    /// lines (see `HOT_RULE_BYTES`).
    Fancy(Box<fancy_regex::Regex>),
}

/// The engines of [`Matcher::Nfa`] for inputs [`Splits`] does not take (or rules it does not
/// fit), and for `explain`.
struct NfaMatcher {
    backtracker: backtrack::BoundedBacktracker,
    pikevm: pikevm::PikeVM,
}

/// Scratch of one rule's [`Matcher`].
enum RuleCache {
    None,
    OnePass(Box<onepass::Cache>),
    /// The backtracker's and the PikeVM's.
    Nfa(Box<(backtrack::Cache, pikevm::Cache)>),
    Fancy,
}

/// Capture slots [`CompiledPlan::try_rule`] keeps on the stack (groups 0 to 5); rules whose
/// translations read later groups use their cache's.
const STACK_SLOTS: usize = 12;

/// The automata that find the winning rule.
///
/// `compact` (the usual case, see [`Limits::compact_plans`]): the dense DFA of every rule as
/// `P(?s:.)*` with `MatchKind::All`, searched unanchored, renumbered into the 16-bit rows of a
/// [`Compact`] (as route tables are, see [`crate::PatternSet`]). One walk over the input ends in
/// the list of every rule that matches it, ascending: the first is Teams' first match, and the
/// ones after it are the candidates when a lookaround rule's regular superset matched but its
/// backtracker says no. The rows are immutable and shared by every thread, and in one
/// allocation whose addresses follow from the input, so a caller that knows its coming calls
/// can ask for each row before the decision needs it ([`Walk`]). Building them determinizes
/// the whole plan up front: about 0.9 ms for the 50-rule site plan against 0.3 ms for the
/// rest of its compile, and 20 KiB. A plan whose rows would not fit (or with `compact_plans`
/// off) has the other two.
///
/// `first` holds every rule in one leftmost-first lazy DFA, searched anchored at the start of
/// the input, with unanchored rules prefixed by `(?s:.)*?` (a rule that matches anywhere matches
/// from position 0 with that prefix). Leftmost-first among alternatives that all start at 0 is
/// priority order, so the match it reports is the lowest-index rule that matches: Teams' first
/// match, in one forward scan. The DFA is lazy (regex-automata's hybrid NFA/DFA): a state is
/// determinized the first time a search reaches it and kept in the per-thread [`Cache`], so
/// compiling costs only the NFA; once warm, a scan walks the cached transition table as a
/// dense DFA would. Every state is made at most once per byte of input, so no input makes the
/// search more than linear, and a cache that fills up is cleared and refilled. With thousands
/// of plans each thread keeps thousands of caches, and a scan waits for memory at every byte.
///
/// `all` reports every rule that matches (`MatchKind::All`). It is needed only when the
/// winner was a lookaround rule's regular superset and the backtracker rejected it: then the
/// next candidates come from `all`.
#[repr(C)]
struct RuleSet {
    /// First: see [`CompiledPlan`].
    compact: Option<Compact>,
    first: Option<hybrid::dfa::DFA>,
    /// Built only for plans with a lookaround rule, or whose `first` exceeded its size limit.
    all: Option<Regex>,
}

// `repr(C)` and a line's alignment: what the winner's captures and translation read, in the
// first two lines (see `HOT_RULE_BYTES`). With thousands of plans taking turns the winner's
// record is in no cache; a coming call's walk asks for these two lines, then for the splits'
// own (a split reads nothing else of the record), and the template's.
#[repr(C, align(64))]
struct CompiledRule {
    /// For [`Matcher::Nfa`] rules of its shape: the groups without a search.
    splits: Option<Splits>,
    /// Capture slots the template needs: groups 0..=max_group, two slots each. Searching with
    /// fewer slots is cheaper.
    slot_len: u32,
    template: Template,
    matcher: Matcher,
    groups: GroupTable,
    info: RuleInfo,
}

/// The bytes of a [`CompiledRule`] up to the end of its matcher.
const HOT_RULE_BYTES: usize =
    std::mem::offset_of!(CompiledRule, matcher) + std::mem::size_of::<Matcher>();

// Two lines from the start of a line; the splits in the first.
const _: () = assert!(HOT_RULE_BYTES <= 128 && align_of::<CompiledRule>() == 64);
const _: () = assert!(size_of::<Option<Splits>>() <= 64);

/// An effective dial plan, compiled. Immutable; share it between threads and give each
/// thread its own [`Cache`].
// `repr(C)`, what a normalization reads first: with thousands of plans taking turns, the plan
// is in no cache, and these fields then come in one line (the plan starts one; boxed slices
// and 32-bit offsets in `Compact` keep them within 64 bytes), which a caller can ask for ahead
// ([`CompiledPlan::prefetch_automaton`]).
#[repr(C, align(64))]
pub struct CompiledPlan {
    access_prefix: Option<Box<str>>,
    rules: Box<[CompiledRule]>,
    set: RuleSet,
    tenant_rules: usize,
    name: String,
    region: String,
    country_code: String,
}

/// The bytes of a [`CompiledPlan`] up to the end of its compact rows' place.
const HOT_PLAN_BYTES: usize =
    std::mem::offset_of!(CompiledPlan, set) + std::mem::size_of::<Option<Compact>>();
const _: () = assert!(HOT_PLAN_BYTES <= 64 && std::mem::align_of::<CompiledPlan>() == 64);

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
/// [`CompiledPlan::create_cache`]; after that, normalization allocates nothing. A cache
/// belongs to the plan that made it: using it with another plan is a bug and panics.
pub struct Cache {
    first: Option<hybrid::dfa::Cache>,
    memo: FirstMemo,
    /// Boxed: 1,400 bytes that only plans with lookaround or backreferences use, and a
    /// thread keeps a cache per plan.
    all: Option<Box<meta::Cache>>,
    matches: PatternSet,
    rules: Vec<RuleCache>,
    /// Capture slots, as many as the rule needing most.
    slots: Vec<Option<NonMaxUsize>>,
    dial: DialString,
    pass: String,
}

impl Cache {
    /// How many times the lazy first-match DFA filled this cache and started it afresh (a
    /// plan whose visited states do not fit; for diagnostics and tests).
    pub fn automaton_clears(&self) -> usize {
        self.first.as_ref().map_or(0, hybrid::dfa::Cache::clear_count)
    }

    /// Heap bytes of the lazy DFA states built so far in this cache.
    pub fn automaton_memory_usage(&self) -> usize {
        self.first.as_ref().map_or(0, hybrid::dfa::Cache::memory_usage)
    }
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache").finish_non_exhaustive()
    }
}

/// Where a normalization finds what it needs beyond its plan and its input: the plan's
/// [`Cache`], asked for only when needed, and a buffer for a first pass's result.
///
/// A [`Cache`] is its own source. A thread normalizing with many plans (a router serving
/// thousands of tenants) can keep its plans' caches elsewhere and look one up only when asked:
/// a scan of compact rows to a rule whose captures its layout or splits fill, the way most
/// rules of real plans go, asks for none, and a cache it does not touch is a line it does not
/// wait for.
pub trait CacheSource {
    /// The cache of `plan` (made by its [`CompiledPlan::create_cache`]). A cache of another
    /// plan is a bug, and normalization may panic on it.
    fn cache_for(&mut self, plan: &CompiledPlan) -> &mut Cache;

    /// A buffer for the result of a first pass that a second pass rewrites. Normalization
    /// leaves it as it found it, up to its contents.
    fn pass_buffer(&mut self) -> &mut String;
}

impl CacheSource for Cache {
    fn cache_for(&mut self, _plan: &CompiledPlan) -> &mut Cache {
        self
    }

    fn pass_buffer(&mut self) -> &mut String {
        &mut self.pass
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
        if service.rules.len() > limits.max_rules {
            let count = service.rules.len();
            return Err(CompileError::new(
                &service_name,
                None,
                CompileErrorKind::TooManyRules { count, max: limits.max_rules },
            ));
        }
        let mut rules = Vec::with_capacity(tenant_rules.len() + service.rules.len());
        let mut set_patterns = Vec::with_capacity(rules.capacity());
        let mut set_hirs = Vec::with_capacity(rules.capacity());
        let sources =
            tenant_rules.iter().enumerate().map(|(i, r)| (Scope::Tenant, plan_name, i, r)).chain(
                service
                    .rules
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (Scope::Service, service_name.as_str(), i, r)),
            );
        for (scope, owner, position, rule) in sources {
            let (compiled, automaton_pattern, hir) = compile_rule(rule, scope, position, limits)
                .map_err(|kind| CompileError::new(owner, Some((position, &rule.name)), kind))?;
            rules.push(compiled);
            set_patterns.push(automaton_pattern);
            set_hirs.push(hir);
        }
        if rules.len() > u16::MAX as usize {
            return Err(CompileError::new(
                plan_name,
                None,
                CompileErrorKind::TooManyRules { count: rules.len(), max: u16::MAX as usize },
            ));
        }
        let any_backtracking = rules.iter().any(|r| matches!(r.matcher, Matcher::Fancy(_)));
        let set = build_set(&set_patterns, &set_hirs, any_backtracking, limits).map_err(|_| {
            CompileError::new(
                plan_name,
                None,
                CompileErrorKind::TooBig { limit: limits.max_plan_bytes },
            )
        })?;
        Ok(CompiledPlan {
            name: plan_name.to_owned(),
            region: service.region.to_string(),
            country_code: service.country_code.clone(),
            access_prefix: tenant
                .and_then(|p| p.external_access_prefix.clone())
                .map(String::into_boxed_str),
            tenant_rules: tenant_rules.len(),
            rules: rules.into_boxed_slice(),
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

    /// The tenant plan's legacy external access prefix, if it has one (spec §3.5).
    pub fn access_prefix(&self) -> Option<&str> {
        self.access_prefix.as_deref()
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

    /// Heap bytes held by the compiled automata, not counting the per-thread caches (where
    /// the lazy first-match DFA keeps the states it has built: see
    /// [`Cache::automaton_memory_usage`]).
    pub fn memory_usage(&self) -> usize {
        let set = self.set.compact.as_ref().map_or(0, Compact::memory_usage)
            + self.set.first.as_ref().map_or(0, |d| d.memory_usage())
            + self.set.all.as_ref().map_or(0, Regex::memory_usage);
        set + self
            .rules
            .iter()
            .map(|r| match &r.matcher {
                Matcher::Layout(_) => std::mem::size_of::<Layout>(),
                Matcher::OnePass(dfa) => dfa.memory_usage(),
                // The backtracker and the PikeVM share one NFA (an `Arc`).
                Matcher::Nfa(m) => {
                    m.backtracker.get_nfa().memory_usage()
                        + r.splits.as_ref().map_or(0, Splits::memory_usage)
                }
                Matcher::Fancy(_) => r.info.pattern.len() * 64,
            })
            .sum::<usize>()
    }

    /// Is the first-match automaton in compact rows (see [`Limits::compact_plans`]), which a
    /// [`Walk`] can ask for ahead of a normalization?
    pub fn has_compact_rows(&self) -> bool {
        self.set.compact.is_some()
    }

    /// Does one first-match automaton find the winning rule? (Otherwise, for a plan whose
    /// automaton would pass its size limit, an every-match search does, more slowly.)
    pub fn has_first_match_automaton(&self) -> bool {
        self.set.compact.is_some() || self.set.first.is_some()
    }

    /// Asks for the lines of this plan a normalization reads first (its rules' place, the
    /// access prefix, where its compact rows are): the step before [`CompiledPlan::walk`] when
    /// walking a few calls ahead.
    #[inline]
    pub fn prefetch_automaton(&self) {
        // `HOT_PLAN_BYTES`, the plan's first line.
        tpr_types::prefetch(self);
        // The `+CC` fallback's code (its bytes: `walk`), which most inputs no rule takes
        // reach; at the plan's end, where it costs nothing to plans in cache.
        tpr_types::prefetch(&self.country_code);
    }

    /// A [`Walk`] of this plan's first-match rows over `dialed` (as dialed: bytes cleanup
    /// removes are skipped), for a caller that asks for its coming calls' memory; its start
    /// asks for the byte classes and the start row. An empty walk when the
    /// plan has no compact rows.
    pub fn walk<'a>(&'a self, dialed: &'a str) -> Walk<'a> {
        let Some(compact) = &self.set.compact else { return Walk::default() };
        let s = match &self.access_prefix {
            Some(prefix) if dialed.len() > prefix.len() && dialed.starts_with(&**prefix) => {
                &dialed[prefix.len()..]
            }
            _ => dialed,
        };
        Walk::new(self, compact, s.as_bytes())
    }

    /// Scratch space for one thread.
    pub fn create_cache(&self) -> Cache {
        Cache {
            first: self.set.first.as_ref().map(hybrid::dfa::DFA::create_cache),
            memo: FirstMemo::default(),
            all: self.set.all.as_ref().map(|r| Box::new(r.create_cache())),
            matches: PatternSet::new(self.rules.len()),
            rules: self
                .rules
                .iter()
                .map(|r| match &r.matcher {
                    Matcher::Layout(_) => RuleCache::None,
                    Matcher::OnePass(dfa) => RuleCache::OnePass(Box::new(dfa.create_cache())),
                    Matcher::Nfa(m) => RuleCache::Nfa(Box::new((
                        m.backtracker.create_cache(),
                        m.pikevm.create_cache(),
                    ))),
                    Matcher::Fancy(_) => RuleCache::Fancy,
                })
                .collect(),
            slots: vec![None; self.rules.iter().map(|r| r.slot_len as usize).max().unwrap_or(2)],
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
        // Moved out (no allocation) so that `cache` stays free to borrow; put back below.
        let dial = std::mem::take(&mut cache.dial);
        let result = self.normalize_clean(cache, &dial, mode, out);
        cache.dial = dial;
        Ok(result)
    }

    /// [`CompiledPlan::normalize_with`] for a string already cleaned (a caller that cleaned
    /// it for its own checks need not pay for cleanup twice).
    pub fn normalize_clean<C: CacheSource + ?Sized>(
        &self,
        cache: &mut C,
        dialed: &DialString,
        mode: Mode,
        out: &mut String,
    ) -> Outcome {
        out.clear();
        self.passes(cache, dialed.as_str(), mode, out, None)
    }

    /// [`CompiledPlan::normalize_clean`] of the input `walk` went through (a [`Walk`] of this
    /// plan over the string as dialed, before cleanup): when the walk read all of it, its
    /// match list stands in for the first pass's scan of the rows, which a caller that walked
    /// ahead would otherwise read a second time. Same result either way; a walk of another
    /// plan, or one that stopped short, is ignored.
    pub fn normalize_walked<C: CacheSource + ?Sized>(
        &self,
        cache: &mut C,
        dialed: &DialString,
        mode: Mode,
        out: &mut String,
        walk: &Walk<'_>,
    ) -> Outcome {
        out.clear();
        self.passes(cache, dialed.as_str(), mode, out, Some(walk))
    }

    // Inlined into both callers, so that `normalize_clean`'s has no walk to look at.
    #[inline(always)]
    fn passes<C: CacheSource + ?Sized>(
        &self,
        cache: &mut C,
        dialed: &str,
        mode: Mode,
        out: &mut String,
        walk: Option<&Walk<'_>>,
    ) -> Outcome {
        let mut outcome = Outcome::default();
        let s = self.strip_access_prefix(dialed, &mut outcome);
        let walked = walk.and_then(|w| w.candidates(self, s));
        if mode == Mode::TenantScopeOnly {
            outcome.first = match walked {
                Some(list) => self.first_of(cache, s, list, self.tenant_rules, out, &mut outcome),
                None => self.first_match(cache, s, self.tenant_rules, out, &mut outcome),
            };
            if outcome.first.is_none() {
                out.push_str(s);
            }
            return outcome;
        }
        // Pass 1 expands straight into `out`; only a result without '+' moves (by swap, no
        // copy) to the scratch buffer for pass 2.
        outcome.first = match walked {
            Some(list) => self.first_of(cache, s, list, self.rules.len(), out, &mut outcome),
            None => self.first_match(cache, s, self.rules.len(), out, &mut outcome),
        };
        if outcome.first.is_none() {
            self.fallback(s, out, &mut outcome);
        } else if !out.starts_with('+') {
            let mut pass1 = std::mem::take(cache.pass_buffer());
            std::mem::swap(&mut pass1, out);
            outcome.second = self.first_match(cache, &pass1, self.rules.len(), out, &mut outcome);
            if outcome.second.is_none() {
                self.fallback(&pass1, out, &mut outcome);
            }
            *cache.pass_buffer() = pass1;
        }
        outcome
    }

    /// The rule column of `tpr normalize`: the rules that produced the result, in pass order,
    /// joined by ` > `, with `(+CC fallback)` where the fallback applied, or `-` if nothing did.
    pub fn describe(&self, outcome: &Outcome) -> String {
        let mut parts: Vec<String> = [outcome.first, outcome.second]
            .into_iter()
            .flatten()
            .map(|r| self.rule(r).name.clone())
            .collect();
        if outcome.fallback {
            parts.push(format!("(+{} fallback)", self.country_code));
        }
        if parts.is_empty() { "-".to_owned() } else { parts.join(" > ") }
    }

    /// Spec §3.5: a longer string that starts with the legacy external access prefix loses it.
    #[inline]
    fn strip_access_prefix<'s>(&self, s: &'s str, outcome: &mut Outcome) -> &'s str {
        match &self.access_prefix {
            Some(prefix) if s.len() > prefix.len() && s.starts_with(&**prefix) => {
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
            let limit =
                if mode == Mode::TenantScopeOnly { self.tenant_rules } else { self.rules.len() };
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

    /// The first of `candidates` (a match list of compact rows at the end of `s`) below
    /// `limit` whose rule matches `s`, expanded into `out` (cleared).
    fn first_of<C: CacheSource + ?Sized>(
        &self,
        cache: &mut C,
        s: &str,
        candidates: &[u32],
        limit: usize,
        out: &mut String,
        outcome: &mut Outcome,
    ) -> Option<RuleIndex> {
        out.clear();
        for &i in candidates {
            let i = i as usize;
            if i >= limit {
                return None;
            }
            if self.try_rule(cache, i, s, out, outcome) {
                return Some(RuleIndex(i as u16));
            }
        }
        None
    }

    /// Finds the first of the first `limit` rules that matches `s`, expanding its translation
    /// into `out` (cleared). The plan's cache is asked for only without compact rows, or by a
    /// rule that needs it (see [`CacheSource`]).
    fn first_match<C: CacheSource + ?Sized>(
        &self,
        source: &mut C,
        s: &str,
        limit: usize,
        out: &mut String,
        outcome: &mut Outcome,
    ) -> Option<RuleIndex> {
        out.clear();
        if let Some(compact) = &self.set.compact {
            return self.first_of(source, s, compact.matching(s.as_bytes()), limit, out, outcome);
        }
        let cache = source.cache_for(self);
        let mut tried = None;
        if let (Some(first), Some(first_cache)) = (&self.set.first, &mut cache.first) {
            if let Some(found) = first_rule(first, first_cache, &mut cache.memo, s.as_bytes()) {
                let i = found?;
                if i >= limit {
                    return None;
                }
                if self.try_rule(cache, i, s, out, outcome) {
                    return Some(RuleIndex(i as u16));
                }
                // A lookaround rule's superset matched but the rule did not: fall through to
                // the candidates after it.
                tried = Some(i);
            }
        }
        let (Some(all), Some(all_cache)) = (&self.set.all, &mut cache.all) else {
            // Without lookaround rules and with a dense `first`, its answer was final.
            return None;
        };
        cache.matches.clear();
        all.which_overlapping_matches_with(all_cache, &Input::new(s), &mut cache.matches);
        let matches = std::mem::replace(&mut cache.matches, PatternSet::new(0));
        let mut winner = None;
        for pid in matches.iter() {
            let i = pid.as_usize();
            if i >= limit {
                break;
            }
            if tried.is_some_and(|t| i <= t) {
                continue;
            }
            if self.try_rule(cache, i, s, out, outcome) {
                winner = Some(RuleIndex(i as u16));
                break;
            }
        }
        cache.matches = matches;
        winner
    }

    /// Runs rule `i`'s own engine on `s`; if it matches, expands its translation into `out`.
    fn try_rule<C: CacheSource + ?Sized>(
        &self,
        source: &mut C,
        i: usize,
        s: &str,
        out: &mut String,
        outcome: &mut Outcome,
    ) -> bool {
        let slot_len = self.rules[i].slot_len as usize;
        // The usual few groups on the stack: with thousands of plans taking turns, the plan's
        // cache is in no cache, and layouts and splits need nothing else from it. More come
        // from the cache, moved out (no allocation) so that `source` stays free to lend.
        let mut stack = [None; STACK_SLOTS];
        let mut more = Vec::new();
        let slots = match stack.get_mut(..slot_len) {
            Some(slots) => slots,
            None => {
                more = std::mem::take(&mut source.cache_for(self).slots);
                &mut more[..slot_len]
            }
        };
        let found = self.run_rule(source, i, s, slots, out, outcome);
        if slot_len > STACK_SLOTS {
            source.cache_for(self).slots = more;
        }
        found
    }

    /// [`CompiledPlan::try_rule`] with the slots for its captures (its one caller).
    #[inline(always)]
    fn run_rule<C: CacheSource + ?Sized>(
        &self,
        source: &mut C,
        i: usize,
        s: &str,
        slots: &mut [Option<NonMaxUsize>],
        out: &mut String,
        outcome: &mut Outcome,
    ) -> bool {
        let rule = &self.rules[i];
        let input = Input::new(s);
        let quick = match &rule.matcher {
            Matcher::Layout(layout) => layout.fill(s.len(), slots),
            Matcher::Nfa(_) => rule.splits.as_ref().is_some_and(|splits| splits.fill(s, slots)),
            _ => false,
        };
        if quick {
            rule.template.expand(s, &SlotSpans(slots), out);
            return true;
        }
        let found = match (&rule.matcher, &mut source.cache_for(self).rules[i]) {
            (Matcher::OnePass(dfa), RuleCache::OnePass(c)) => dfa
                .try_search_slots(c, &input.anchored(Anchored::Yes), slots)
                .ok()
                .flatten()
                .is_some(),
            (Matcher::Nfa(m), RuleCache::Nfa(c)) => {
                let (bc, pc) = &mut **c;
                match m.backtracker.try_search_slots(bc, &input, slots) {
                    Ok(found) => found.is_some(),
                    // Longer than the backtracker's bound (a long second-pass string).
                    Err(_) => m.pikevm.search_slots(pc, &input, slots).is_some(),
                }
            }
            (Matcher::Fancy(re), _) => {
                return match re.captures(s) {
                    Ok(Some(caps)) => {
                        rule.template.expand(s, &BacktrackSpans(&caps), out);
                        true
                    }
                    Ok(None) => false,
                    Err(_) => {
                        outcome.budget_exceeded = true;
                        false
                    }
                };
            }
            // A layout always fills its slots.
            (Matcher::Layout(_), _) => false,
            _ => unreachable!("cache made by another plan"),
        };
        if !found {
            // Cannot happen: the automaton said this rule matches.
            return false;
        }
        rule.template.expand(s, &SlotSpans(slots), out);
        true
    }

    /// The capture groups of rule `index` on `s`, by .NET group number (index 0 is the whole
    /// match), for a rule that won on `s` (for [`CompiledPlan::explain`]).
    fn captures(&self, index: RuleIndex, s: &str) -> Option<Vec<Option<String>>> {
        let rule = &self.rules[index.as_usize()];
        match &rule.matcher {
            Matcher::Layout(layout) => {
                // Valid because `index` won on `s` (see the doc comment).
                let mut slots = vec![None; 2 * (rule.groups.last_net() + 1)];
                layout.fill(s.len(), &mut slots).then(|| {
                    net_captures(rule, |g| SlotSpans(&slots).span(g).map(|(a, b)| &s[a..b]))
                })
            }
            Matcher::OnePass(dfa) => {
                let mut caps = dfa.create_captures();
                dfa.captures(
                    &mut dfa.create_cache(),
                    Input::new(s).anchored(Anchored::Yes),
                    &mut caps,
                );
                caps.is_match()
                    .then(|| net_captures(rule, |g| caps.get_group(g).map(|sp| &s[sp.range()])))
            }
            Matcher::Nfa(m) => {
                let mut caps = m.pikevm.create_captures();
                m.pikevm.captures(&mut m.pikevm.create_cache(), s, &mut caps);
                caps.is_match()
                    .then(|| net_captures(rule, |g| caps.get_group(g).map(|sp| &s[sp.range()])))
            }
            Matcher::Fancy(re) => {
                let caps = re.captures(s).ok().flatten()?;
                Some(net_captures(rule, |g| caps.get(g).map(|m| m.as_str())))
            }
        }
    }
}

/// The groups of one match by .NET number, given a lookup by Rust index.
fn net_captures<'s>(
    rule: &CompiledRule,
    group: impl Fn(usize) -> Option<&'s str>,
) -> Vec<Option<String>> {
    (0..=rule.groups.last_net())
        .map(|net| rule.groups.rust_index(net).and_then(&group).map(str::to_owned))
        .collect()
}

/// Compiles one rule; returns it and the pattern it contributes to the plan's automaton, as
/// text and parsed (each pattern is parsed once: the automata are built from the parse).
fn compile_rule(
    rule: &Rule,
    scope: Scope,
    position: usize,
    limits: &Limits,
) -> Result<(CompiledRule, String, Hir), CompileErrorKind> {
    let Checked { t, hir } = check(&rule.pattern)?;
    let automaton_pattern = t.automaton_pattern().to_owned();
    let anchored = hir.properties().look_set_prefix().contains(Look::Start);
    let too_big = |_| CompileErrorKind::TooBig { limit: limits.max_rule_bytes };
    let (template, literal_refs) = Template::parse_noting(&rule.translation, &t.groups);
    let slot_len = 2 * (template.max_group() + 1);
    let mut splits = None;
    let matcher = if t.needs_backtracker {
        let re = build_backtracking(&t.exact, limits)?;
        Matcher::Fancy(Box::new(re))
    } else if let Some(layout) = Layout::of(&hir) {
        Matcher::Layout(layout)
    } else {
        // Without a backtracker the automaton pattern is the exact one: build from its parse.
        debug_assert_eq!(t.automaton_pattern(), t.exact);
        let nfa = NFA::compiler()
            .configure(
                thompson::Config::new().utf8(false).nfa_size_limit(Some(limits.max_rule_bytes)),
            )
            .build_from_hir(&hir)
            .map_err(too_big)?;
        splits = Splits::of(&hir, slot_len / 2, limits.max_rule_bytes);
        let onepass = (splits.is_none() && nfa.is_always_start_anchored()).then(|| {
            onepass::Builder::new()
                .configure(onepass::Config::new().size_limit(Some(limits.max_rule_bytes)))
                .build_from_nfa(nfa.clone())
                .ok()
        });
        match onepass.flatten() {
            Some(dfa) => Matcher::OnePass(Box::new(dfa)),
            None => Matcher::Nfa(Box::new(NfaMatcher {
                backtracker: backtrack::Builder::new()
                    .build_from_nfa(nfa.clone())
                    .map_err(too_big)?,
                pikevm: pikevm::Builder::new().build_from_nfa(nfa).map_err(too_big)?,
            })),
        }
    };
    let mut notes: Vec<String> = t.notes.iter().map(PatternNote::to_string).collect();
    notes.extend(literal_refs.iter().map(|r| {
        format!(
            "translation: {r} names no group of the pattern; kept as literal text, as .NET does"
        )
    }));
    let info = RuleInfo {
        name: rule.name.clone(),
        scope,
        position,
        pattern: rule.pattern.clone(),
        translation: rule.translation.clone(),
        notes,
    };
    // Rules that start with `^` can only match at 0 already; the others get a prefix so that
    // the anchored first-match automaton finds them anywhere. (Prefixing every rule would make
    // each DFA state carry every rule's prefix loop: ten times the determinization work.)
    let (automaton_pattern, hir) = if anchored {
        (automaton_pattern, hir)
    } else {
        (format!("(?s:.)*?(?:{automaton_pattern})"), Hir::concat(vec![any_bytes(false), hir]))
    };
    Ok((
        CompiledRule {
            splits,
            // Slots are bounded by the groups of a pattern of limited length.
            slot_len: u32::try_from(slot_len)
                .map_err(|_| CompileErrorKind::TooBig { limit: limits.max_rule_bytes })?,
            info,
            matcher,
            template,
            groups: t.groups,
        },
        automaton_pattern,
        hir,
    ))
}

/// What a thread's lazy first-match DFA answered before, kept in the plan's cache record,
/// which a search reads anyway: its start state and the rules of the match states it met last.
/// The lazy DFA keeps these answers in its own tables (a match state's rule sits in the
/// state's representation, behind the cache's state table: two dependent lines), and with
/// thousands of plans taking turns those lines are in no cache. Valid until the lazy cache
/// is cleared (`clears`), which renumbers its states.
#[derive(Debug, Default)]
struct FirstMemo {
    clears: usize,
    start: Option<LazyStateID>,
    /// (match state, its rule), filled round robin from `next`. A match state's id carries
    /// the match tag, so an empty entry's zero id never equals one.
    matches: [(LazyStateID, u32); FirstMemo::MATCHES],
    next: usize,
}

impl FirstMemo {
    /// A plan's usual inputs end in a handful of match states (extension, national,
    /// international, service), and searching more entries costs what a hit saves.
    const MATCHES: usize = 4;

    /// Forgets everything if the lazy cache was cleared since the memo was filled.
    #[inline]
    fn sync(&mut self, cache: &hybrid::dfa::Cache) {
        if self.clears != cache.clear_count() {
            *self = FirstMemo { clears: cache.clear_count(), ..FirstMemo::default() };
        }
    }

    /// The rule of match state `sid`.
    #[inline]
    fn rule(
        &mut self,
        first: &hybrid::dfa::DFA,
        cache: &hybrid::dfa::Cache,
        sid: LazyStateID,
    ) -> usize {
        self.sync(cache);
        if let Some(&(_, rule)) = self.matches.iter().find(|(s, _)| *s == sid) {
            return rule as usize;
        }
        let rule = first.match_pattern(cache, sid, 0);
        self.matches[self.next] = (sid, rule.as_u32());
        self.next = (self.next + 1) % FirstMemo::MATCHES;
        rule.as_usize()
    }
}

/// The rule an anchored leftmost-first scan of `first` finds: the pattern of the last match
/// state before the automaton dies or the input ends. This is `try_search_fwd` without what
/// these searches never need (prefilters, unanchored starts, quit bytes, spans), which cost
/// more than the walk itself on strings this short. `None` if the search could not run, which
/// cannot happen: there are no quit bytes and the lazy DFA is not told to give up.
fn first_rule(
    first: &hybrid::dfa::DFA,
    cache: &mut hybrid::dfa::Cache,
    memo: &mut FirstMemo,
    haystack: &[u8],
) -> Option<Option<usize>> {
    memo.sync(cache);
    let mut sid = match memo.start {
        Some(sid) => sid,
        None => {
            let start = regex_automata::util::start::Config::new().anchored(Anchored::Yes);
            let sid = first.start_state(cache, &start).ok()?;
            // Computing the start state may have cleared the cache.
            memo.sync(cache);
            memo.start = Some(sid);
            sid
        }
    };
    let mut found = None;
    for &byte in haystack {
        sid = first.next_state(cache, sid, byte).ok()?;
        if sid.is_tagged() {
            // Match states are delayed by one byte: this one says a rule matched the input
            // up to (not including) `byte`.
            if sid.is_match() {
                found = Some(memo.rule(first, cache, sid));
            } else if sid.is_dead() {
                return Some(found);
            } else if sid.is_quit() {
                return None;
            }
        }
    }
    sid = first.next_eoi_state(cache, sid).ok()?;
    if sid.is_match() {
        found = Some(memo.rule(first, cache, sid));
    }
    Some(found)
}

/// Builds the plan's automata (see [`RuleSet`]).
fn build_set(
    patterns: &[String],
    hirs: &[Hir],
    any_backtracking: bool,
    limits: &Limits,
) -> Result<RuleSet, ()> {
    if limits.compact_plans
        && let Some(compact) =
            Compact::of_patterns(hirs, WHOLE_BUDGET.min(limits.max_plan_bytes / 4))
    {
        return Ok(RuleSet { compact: Some(compact), first: None, all: None });
    }
    // The NFA as `dense::Builder::build_many` would make it from the text (no captures: a
    // DFA has none), from the parses the rules already made.
    let nfa = NFA::compiler()
        .configure(
            thompson::Config::new()
                .utf8(false)
                .nfa_size_limit(Some(limits.max_plan_bytes))
                .which_captures(thompson::WhichCaptures::None),
        )
        .build_many_from_hir(hirs);
    let first = nfa.ok().and_then(|nfa| {
        hybrid::dfa::Builder::new()
            .configure(
                hybrid::dfa::Config::new()
                    .match_kind(MatchKind::LeftmostFirst)
                    // Room for the states one thread visits; when full, the cache is cleared.
                    // The build fails (and the every-match search takes over) if the NFA is
                    // so big that too few states would fit.
                    .cache_capacity(limits.max_plan_bytes / 4),
            )
            .build_from_nfa(nfa)
            .ok()
    });
    if first.is_some() && !any_backtracking {
        return Ok(RuleSet { compact: None, first, all: None });
    }
    let all = Regex::builder()
        .configure(
            meta::Config::new()
                .match_kind(MatchKind::All)
                .utf8_empty(false)
                .nfa_size_limit(Some(limits.max_plan_bytes))
                .dfa_size_limit(Some(limits.max_plan_bytes))
                .onepass_size_limit(Some(limits.max_plan_bytes)),
        )
        .syntax(syntax_config())
        .build_many(patterns)
        .map_err(|_| ())?;
    Ok(RuleSet { compact: None, first, all: Some(all) })
}

struct BacktrackSpans<'a, 'b>(&'a fancy_regex::Captures<'b, str>);

impl Spans for BacktrackSpans<'_, '_> {
    fn span(&self, index: usize) -> Option<(usize, usize)> {
        self.0.get(index).map(|m| (m.start(), m.end()))
    }
}

/// A walk of a plan's first-match rows over a coming call's input, a byte a step, asking for
/// each row a step before reading it, then for the winning rule's records: for a caller that
/// knows its coming inputs and interleaves their walks, so that their misses overlap instead
/// of following one another (a walk alone waits for a line at every byte when the automaton
/// is in no cache). A hint, except that a walk that went to the end of an ASCII input can
/// stand in for the first pass's scan of the rows (see [`CompiledPlan::normalize_walked`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Walk<'a> {
    plan: Option<&'a CompiledPlan>,
    rows: &'a [u16],
    classes: Option<&'a [u16; 256]>,
    lists: &'a [u32],
    width: usize,
    input: &'a [u8],
    at: usize,
    stage: Stage,
    /// The first rule the rows listed at the end of the input.
    winner: Option<RuleIndex>,
    /// The words of `rows` the walk read, in order (the first [`Walk::PATH`]), then the end
    /// word naming the winner's list: what [`Walk::refresh`] asks for again.
    path: [u16; Walk::PATH],
    path_len: u8,
    list: u32,
    /// Bytes of the input the rows read (those cleanup keeps).
    seen: u32,
    /// No byte outside ASCII was skipped: what the rows read is what cleanup leaves.
    ascii: bool,
    /// The rows reached the end of the input and `list` is their match list (0: none).
    ended: bool,
}

impl Walk<'_> {
    /// The row words a walk remembers: a dialed number's, and the end of input.
    const PATH: usize = 24;

    fn read(&mut self, k: usize) {
        if let Some(w) = self.path.get_mut(usize::from(self.path_len)) {
            // Row words are 16-bit indexes (see `Compact`).
            *w = k as u16;
            self.path_len += 1;
        }
    }

    /// Asks again, all at once, for the lines the walk read: its row words (unless it
    /// [read all](Walk::read_all), when no scan will read them), the match list and the
    /// winning rule's record. For a caller about to normalize the walked input: by then the
    /// walk's first lines have left the core's first-level cache for the second (the walks
    /// of a score of other calls came in between), and a scan reads them a dependent load at
    /// a time; asked for together, they come back side by side.
    #[inline]
    pub fn refresh(&self) {
        use tpr_types::{prefetch, prefetch_span};
        let Some(plan) = self.plan else { return };
        // A walk that can stand in for the scan leaves the rows unread.
        if !self.read_all() {
            for &k in &self.path[..usize::from(self.path_len)] {
                prefetch(self.rows.as_ptr().wrapping_add(usize::from(k)));
            }
        }
        if self.list != 0 && crate::set::single(self.list as usize).is_none() {
            prefetch_span(self.lists.as_ptr().wrapping_add(self.list as usize), 8, 2);
        }
        if let Some(rule) = self.winner.and_then(|r| plan.rules.get(usize::from(r.0))) {
            prefetch_span(rule, HOT_RULE_BYTES, 4);
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
enum Stage {
    #[default]
    Done,
    Bytes,
    End,
    /// The winner's match list starts at this word of the lists.
    List(usize),
    /// The winning rule's record was asked for.
    Rule(usize),
}

impl<'a> Walk<'a> {
    /// Names rule `i` the winner and asks for its record.
    #[inline]
    fn ask_rule(&mut self, plan: &CompiledPlan, i: usize) -> bool {
        let Some(rule) = plan.rules.get(i) else {
            self.stage = Stage::Done;
            return false;
        };
        self.winner = Some(RuleIndex(i as u16));
        tpr_types::prefetch_span(rule, HOT_RULE_BYTES, 4);
        self.stage = Stage::Rule(i);
        true
    }

    /// Cleanup drops these (spaces, dashes, dots, parentheses); anything else outside ASCII
    /// is skipped as well.
    fn skipped(b: u8) -> bool {
        matches!(b, b' ' | b'-' | b'.' | b'(' | b')') || !b.is_ascii()
    }

    fn new(plan: &'a CompiledPlan, compact: &'a Compact, s: &'a [u8]) -> Walk<'a> {
        let (rows, classes) = compact.words().split_at(compact.classes());
        let Some(classes) = classes.first_chunk::<256>() else { return Walk::default() };
        tpr_types::prefetch(&classes[usize::from(b'0')]);
        tpr_types::prefetch(&rows[compact.width()]);
        // The `+CC` fallback's code, for inputs no rule takes.
        tpr_types::prefetch(plan.country_code.as_ptr());
        Walk {
            plan: Some(plan),
            rows,
            classes: Some(classes),
            lists: compact.lists(),
            width: compact.width(),
            input: s,
            at: compact.width(),
            stage: Stage::Bytes,
            winner: None,
            path: [0; Walk::PATH],
            path_len: 0,
            list: 0,
            seen: 0,
            ascii: true,
            ended: false,
        }
    }

    /// Did the rows read all of an ASCII input? Then the bytes they read are a suffix of what
    /// cleanup makes of it (cleanup only drops the ASCII bytes a walk skips), and the scan of
    /// an equally long suffix would read the same rows to the same match list: the walk can
    /// stand in for it (see [`CompiledPlan::normalize_walked`]).
    pub fn read_all(&self) -> bool {
        self.ended && self.ascii
    }

    /// The match list at the end of the input, if the walk read all of `plan`'s input and
    /// `s` (a suffix of the cleaned input) is as long as what it read.
    fn candidates(&self, plan: &CompiledPlan, s: &str) -> Option<&'a [u32]> {
        let mine = self.plan.is_some_and(|p| std::ptr::eq(p, plan));
        if !(mine && self.read_all() && s.len() == self.seen as usize) {
            return None;
        }
        Some(crate::set::list_at(self.lists, self.list as usize))
    }

    /// The rule the walk's rows named first once they reached the end of the input: the rule
    /// the first pass picks (unless it is a lookaround rule whose backtracker says no, or the
    /// input had characters cleanup turns into digits, which a walk skips). `None` before
    /// then, or if no rule matches.
    pub fn rule(&self) -> Option<RuleIndex> {
        self.winner
    }

    /// Reads what the step before asked for and asks for what comes next. `false` once the
    /// walk is over.
    #[inline]
    pub fn step(&mut self) -> bool {
        use tpr_types::{prefetch, prefetch_lines, prefetch_span};
        let Some(plan) = self.plan else { return false };
        match self.stage {
            Stage::Done => return false,
            Stage::Bytes => {
                let Some(classes) = self.classes else { return false };
                let mut next_class = self.width - 1;
                while let [b, rest @ ..] = self.input {
                    self.input = rest;
                    if Walk::skipped(*b) {
                        self.ascii &= b.is_ascii();
                        continue;
                    }
                    self.seen += 1;
                    let k = self.at + usize::from(classes[usize::from(*b)]);
                    self.read(k);
                    self.at = usize::from(self.rows.get(k).copied().unwrap_or(0));
                    if self.at == 0 {
                        self.stage = Stage::Done;
                        return false;
                    }
                    if let Some(b) = self.input.iter().find(|b| !Walk::skipped(**b)) {
                        next_class = usize::from(classes[usize::from(*b)]);
                        prefetch(self.rows.as_ptr().wrapping_add(self.at + next_class));
                        return true;
                    }
                    // The rest is skipped bytes, left unread.
                    self.ascii &= self.input.is_ascii();
                    break;
                }
                prefetch(self.rows.as_ptr().wrapping_add(self.at + next_class));
                self.stage = Stage::End;
            }
            Stage::End => {
                self.read(self.at + self.width - 1);
                let from =
                    usize::from(self.rows.get(self.at + self.width - 1).copied().unwrap_or(0));
                self.ended = true;
                if from == 0 {
                    self.stage = Stage::Done;
                    return false;
                }
                self.list = from as u32;
                match crate::set::single(from) {
                    // The end word names the rule: on to its record.
                    Some(i) => return self.ask_rule(plan, i),
                    None => {
                        // The length and the first rule, which may be in the next line.
                        prefetch_span(self.lists.as_ptr().wrapping_add(from), 8, 2);
                        self.stage = Stage::List(from);
                    }
                }
            }
            Stage::List(from) => {
                let Some(&i) = self.lists.get(from + 1) else {
                    self.stage = Stage::Done;
                    return false;
                };
                return self.ask_rule(plan, i as usize);
            }
            Stage::Rule(i) => {
                self.stage = Stage::Done;
                let Some(rule) = plan.rules.get(i) else { return false };
                rule.template.prefetch();
                match (&rule.splits, &rule.matcher) {
                    (Some(splits), _) => splits.prefetch(),
                    (None, Matcher::Nfa(m)) => {
                        prefetch_lines(&**m, size_of::<NfaMatcher>().div_ceil(64));
                    }
                    (None, Matcher::OnePass(d)) => prefetch(&**d),
                    (None, Matcher::Layout(layout)) => layout.prefetch(),
                    (None, Matcher::Fancy(_)) => {}
                }
                return false;
            }
        }
        true
    }
}
