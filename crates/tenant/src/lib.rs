//! The Teams tenant model and its TOML format.
//!
//! This version loads what normalization needs: `[tenant]`, `[[dial_plans]]` (rules as an
//! inline array or as `[[dial_plans.rules]]`), `[[service_dial_plans]]`, `[[users]]` and
//! `[[user_ranges]]`. Other sections of the format (gateways, routes, policies ...) are
//! accepted and not read yet. Field names follow `docs/formats.md`.
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

mod load;
mod model;

pub use load::{LoadError, LoadErrors};
pub use model::{EffectivePlanError, Tenant, User, UserRange};
