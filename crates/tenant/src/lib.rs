//! The Teams tenant model and its TOML format.
//!
//! This version loads `[tenant]`, `[[dial_plans]]` (rules as an inline array or as
//! `[[dial_plans.rules]]`), `[[service_dial_plans]]`, the Direct Routing objects (gateways,
//! translation rules, PSTN usages, voice routes, voice routing policies, emergency call routing
//! policies, operators), `[[users]]` and `[[user_ranges]]` with their licences and policy
//! references, `[[resource_accounts]]` (auto attendants, call queues and their settings),
//! `[calling_plans]`, `[capacity]`, `[[calling_policies]]`, `[[caller_id_policies]]`,
//! `[[unassigned_number_treatments]]`, `[blocked_calling_numbers]` and `[[network_sites]]`.
//! Field names follow `docs/formats.md`; an unknown field anywhere is an error.
//!
//! Loading checks everything it reads and reports every problem at once, each with
//! `file:line:col`; a tenant with any error is not returned at all.
//!
//! ```
//! let text = r#"
//! [tenant]
//! name = "contoso"
//! country = "US"
//!
//! [[dial_plans]]
//! name = "Global"
//! rules = [ { name = "Ext", pattern = '^(\d{4})$', translation = '+1425555$1' } ]
//! "#;
//! let tenant = tpr_tenant::Tenant::from_toml_str(text, "contoso.toml").unwrap();
//! assert_eq!(tenant.dial_plan("Global").unwrap().rules.len(), 1);
//! ```

#![deny(missing_docs)]

mod accounts;
mod check;
mod directrouting;
#[doc(hidden)]
pub mod fuzzing;
mod load;
mod model;
mod policies;
mod powershell;

pub use accounts::{
    AccountKind, CallingPlans, CapacitySettings, Credits, OverflowAction, QueueSettings,
    ResourceAccount, RoutingMethod, round_timeout,
};
pub use check::{Positions, lint, lint_at};
pub use directrouting::{
    DirectRouting, EmergencyCallRoutingPolicy, EmergencyNumber, Gateway, Operator, OperatorTrunk,
    TranslationRuleDef, VoiceRoute, VoiceRoutingPolicy,
};
pub use load::{DIAL_OUT_POLICIES, LoadError, LoadErrors};
pub use model::{
    CallingPlan, EffectivePlanError, MAX_RANGE_USERS, NumberType, Tenant, User, UserPolicies,
    UserRange,
};
pub use policies::{
    BlockedNumbers, BusyOnBusy, CallerIdPolicy, CallerIdSubstitute, CallingPolicy,
    InboundTreatment, NetworkSite, NumberPattern, Policies, TreatmentTarget, UnassignedTreatment,
    Voicemail,
};
pub use powershell::{
    DecodeError, ImportOptions, Imported, ScriptText, Warning, decode_script, import_file,
    import_str,
};
