//! Teams dial plans: normalization rules compiled into automata.
//!
//! A user's *effective* dial plan is their tenant plan (or the tenant's `Global` plan)
//! followed by the service-country plan of their usage location. What they dial is cleaned
//! ([`cleanup`]), matched against the rules top to bottom with .NET regex semantics, and
//! translated with .NET substitution semantics; a result without `+` gets a second pass, and a
//! string no rule matched gets the `+CC` of the usage location.
//!
//! The pieces:
//! - [`DialPlan`] and [`Rule`]: the objects as Teams defines them, with their [`Limits`];
//! - [`CompiledPlan`]: one multi-pattern automaton per effective plan, and
//!   [`CompiledPlan::normalize_with`], which allocates nothing per call given a [`Cache`];
//! - [`CompiledPlan::explain`]: which pass and which rule produced a result, with captures;
//! - [`service_plan`]: built-in service-country plans for every libphonenumber region;
//! - [`ReferencePlan`]: a naive one-regex-per-rule evaluator to test and benchmark against;
//! - [`PatternSet`]: many patterns searched in one scan (voice routes, blocked numbers);
//! - [`Pattern`] and [`Translation`]: one .NET pattern (and template) on its own, for voice
//!   routes, trunk translation rules and number patterns.
//!
//! How tpr reads .NET patterns and templates is documented in `docs/dotnet-regex.md`.

#![deny(missing_docs)]

pub mod cleanup;
mod dotnet;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod language;
mod layout;
mod pattern;
mod plan;
mod reference;
mod rule;
mod service;
mod set;
mod splits;
mod template;

pub use cleanup::{DialString, InvalidDialString, MAX_DIALED_CHARS};
pub use dotnet::{PatternNote, PatternNoteKind};
pub use error::{CompileError, CompileErrorKind};
pub use pattern::{Pattern, Translation};
pub use plan::{
    Cache, CacheSource, CompiledPlan, Explanation, Mode, NormalizeError, Outcome, PassExplanation,
    RuleIndex, RuleInfo, Scope, Walk,
};
pub use reference::{
    REFERENCE_REGEX_BYTES, ReferenceError, ReferencePlan, ReferenceResult, ServiceReference,
};
pub use rule::{DialPlan, Limits, Rule};
pub use service::{SERVICE_TABLE_TSV, ServicePlan, service_plan, service_regions};
pub use set::{Narrow, PatternSet, SetCache, TranslationScratch};
