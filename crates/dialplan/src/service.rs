//! Service-country dial plans: the built-in rules Teams applies after a tenant's own.
//!
//! Microsoft does not publish these plans. tpr's table (`data/service_plans.tsv`) is generated
//! from libphonenumber's metadata for every region it knows, shaped like the built-in rules
//! seen in `Test-CsEffectiveTenantDialPlan` output: the international prefix becomes `+`, the
//! national (trunk) prefix becomes `+CC`. The United States and the other NANP regions,
//! Australia, New Zealand and Japan use the seed rules of the spec (§3.4). The generator is
//! the test `service_table` of this crate; it fails when the table and the metadata disagree.
//!
//! Tenants can replace a region's plan (`[[service_dial_plans]]`) with [`ServicePlan::new`].

use std::collections::BTreeMap;
use std::sync::OnceLock;

use tpr_types::Region;

use crate::rule::Rule;

/// The built-in plan of one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePlan {
    /// The region (usage location).
    pub region: Region,
    /// Its country calling code, without `+` (`1`, `64`).
    pub country_code: String,
    /// Rules in order.
    pub rules: Vec<Rule>,
}

impl ServicePlan {
    /// A plan for `region` with calling code `country_code` and the given rules.
    pub fn new(region: Region, country_code: impl Into<String>, rules: Vec<Rule>) -> ServicePlan {
        ServicePlan { region, country_code: country_code.into(), rules }
    }
}

/// The generated table, as committed.
pub const SERVICE_TABLE_TSV: &str = include_str!("../data/service_plans.tsv");

fn table() -> &'static BTreeMap<Region, ServicePlan> {
    static TABLE: OnceLock<BTreeMap<Region, ServicePlan>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut map: BTreeMap<Region, ServicePlan> = BTreeMap::new();
        for line in SERVICE_TABLE_TSV.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
            let f: Vec<&str> = line.split('\t').collect();
            let [region, cc, name, pattern, translation] = f[..] else { continue };
            let Ok(region) = Region::try_new(region) else { continue };
            map.entry(region)
                .or_insert_with(|| ServicePlan::new(region, cc, Vec::new()))
                .rules
                .push(Rule::new(name, pattern, translation));
        }
        map
    })
}

/// The built-in service plan of `region`, if libphonenumber knows the region.
pub fn service_plan(region: Region) -> Option<&'static ServicePlan> {
    table().get(&region)
}

/// Every region with a built-in plan, in order.
pub fn service_regions() -> impl Iterator<Item = Region> {
    table().keys().copied()
}
