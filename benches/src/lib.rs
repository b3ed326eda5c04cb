//! Inputs shared by the benchmarks: real and realistic dial plans with dialed strings that hit
//! their first, middle and last rules, or none.

use std::path::PathBuf;

use tpr_dialplan::{DialPlan, Rule};

/// The 8-rule `AU-Queensland` plan of SBCConnect's onboarding script (GPL-3.0; the rows are in
/// `crates/dialplan/testdata/corpus/ALL_RULES.csv` with the licence beside them).
pub fn au_queensland() -> DialPlan {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/dialplan/testdata/corpus/ALL_RULES.csv");
    let mut reader =
        csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = reader.headers().cloned().unwrap_or_default();
    let col = |name: &str| {
        headers.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"))
    };
    let (plan, name, pattern, translation) =
        (col("dial_plan"), col("rule_name"), col("pattern"), col("translation"));
    let rules = reader
        .records()
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .filter(|r| &r[plan] == "AU-Queensland")
        .map(|r| Rule::new(&r[name], &r[pattern], &r[translation]))
        .collect();
    DialPlan::new("AU-Queensland", rules)
}

/// Inputs for [`au_queensland`]: (label, dialed string, index of the tenant rule it hits).
pub const AU_INPUTS: [(&str, &str, Option<usize>); 4] = [
    ("first", "31234567", Some(0)),
    ("middle", "0412345678", Some(4)),
    ("last", "001144207946012", Some(7)),
    ("none", "12", None),
];

/// A multi-site plan of `n` rules shaped like the ones UCDialPlans generates for large
/// tenants: one 4-digit-extension rule per site (`7SS` + 4 digits), then national,
/// international and emergency rules.
pub fn site_plan(n: usize) -> DialPlan {
    assert!(n >= 4, "a site plan has at least 4 rules");
    let sites = n - 3;
    let mut rules: Vec<Rule> = (0..sites)
        .map(|k| {
            Rule::new(
                format!("Site{k:02}-Ext"),
                format!(r"^7{k:02}(\d{{4}})$"),
                format!("+1425{:03}$1", 200 + k),
            )
        })
        .collect();
    rules.push(Rule::new("National", r"^1?([2-9]\d\d[2-9]\d{6})\d*(\D+\d+)?$", "+1$1"));
    rules.push(Rule::new("Service", r"^([2-9]11)$", "$1"));
    rules.push(Rule::new(
        "International",
        r"^(?:\+|011)(1|7|2[07]|3[0-46]|39\d|4[013-9]|5[1-8]|6[0-6]|8[1246]|9[0-58]|2[1235689]\d|24[013-9]|242\d|3[578]\d|42\d|5[09]\d|6[789]\d|8[035789]\d|9[679]\d)(?:0)?(\d{6,14})(\D+\d+)?$",
        "+$1$2",
    ));
    DialPlan::new(format!("Sites{n}"), rules)
}

/// Inputs for [`site_plan`]`(n)`: (label, dialed string, index of the rule it hits).
pub fn site_inputs(n: usize) -> [(&'static str, String, Option<usize>); 4] {
    let sites = n - 3;
    [
        ("first", "7000123".to_owned(), Some(0)),
        ("middle", format!("7{:02}0123", sites / 2), Some(sites / 2)),
        ("last", "01144207946012".to_owned(), Some(n - 1)),
        ("none", "55".to_owned(), None),
    ]
}
