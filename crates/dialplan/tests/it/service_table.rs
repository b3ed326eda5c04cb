//! The generator of `data/service_plans.tsv`, run as a test: it rebuilds the table from
//! libphonenumber's metadata (`data/libphonenumber/`, Apache-2.0) and fails if the committed
//! table differs. `TPR_BLESS=1 cargo test -p tpr-dialplan --test service_table` rewrites it.
//!
//! Shape of each region's rules (spec §3.4):
//! - NANP regions (calling code 1): `^1([2-9]\d{2}[2-9]\d{6})$ -> +1$1`, `^011(\d{7,15})$ -> +$1`;
//! - AU, NZ, JP: the spec's seed rules (NZ's second rule is the observed "NZ Long Distance");
//! - every other region: its international prefix (`^00(\d{7,15})$ -> +$1`, or the region's
//!   own prefix) and, when it has a national prefix, `^0(\d{6,14})$ -> +CC$1`.

use std::fmt::Write as _;
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn generate(xml: &str) -> String {
    let options = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
    let doc = roxmltree::Document::parse_with_options(xml, options)
        .expect("libphonenumber metadata parses");
    let mut out = String::from(
        "# Service-country dial plans, generated from libphonenumber's PhoneNumberMetadata.xml\n\
         # by crates/dialplan/tests/service_table.rs. Do not edit: regenerate.\n\
         # region<TAB>country code<TAB>rule name<TAB>pattern<TAB>translation\n",
    );
    // (region, country code, rules as (name, pattern, translation))
    type Row = (String, String, Vec<(String, String, String)>);
    let mut rows: Vec<Row> = Vec::new();
    for t in doc.descendants().filter(|n| n.has_tag_name("territory")) {
        let id = t.attribute("id").unwrap_or_default();
        if id.len() != 2 || !id.bytes().all(|b| b.is_ascii_uppercase()) {
            continue; // "001": non-geographic entities
        }
        let cc = t.attribute("countryCode").expect("countryCode").to_owned();
        let rules: Vec<(String, String, String)> = match (id, cc.as_str()) {
            (_, "1") => vec![
                (format!("{id} Long Distance"), r"^1([2-9]\d{2}[2-9]\d{6})$".into(), "+1$1".into()),
                (format!("{id} International"), r"^011(\d{7,15})$".into(), "+$1".into()),
            ],
            ("AU", _) => vec![
                ("AU International".into(), r"^0011(\d{7,15})$".into(), "+$1".into()),
                ("AU Long Distance".into(), r"^0(\d{9})$".into(), "+61$1".into()),
            ],
            ("NZ", _) => vec![
                ("NZ International".into(), r"^00(\d{7,15})$".into(), "+$1".into()),
                ("NZ Long Distance".into(), r"^0(\d+)$".into(), "+64$1".into()),
            ],
            ("JP", _) => vec![
                ("JP International".into(), r"^010(\d{7,15})$".into(), "+$1".into()),
                ("JP Long Distance".into(), r"^0(\d{9,10})$".into(), "+81$1".into()),
            ],
            _ => {
                let preferred = t.attribute("preferredInternationalPrefix").filter(|p| digits(p));
                let intl = t.attribute("internationalPrefix").unwrap_or("00");
                let intl = match preferred {
                    Some(p) => p.to_owned(),
                    None if digits(intl) => intl.to_owned(),
                    None => format!("(?:{intl})"),
                };
                let mut rules = vec![(
                    format!("{id} International"),
                    format!(r"^{intl}(\d{{7,15}})$"),
                    "+$1".into(),
                )];
                if let Some(np) = t.attribute("nationalPrefix").filter(|p| digits(p)) {
                    rules.push((
                        format!("{id} Long Distance"),
                        format!(r"^{np}(\d{{6,14}})$"),
                        format!("+{cc}$1"),
                    ));
                }
                rules
            }
        };
        rows.push((id.to_owned(), cc, rules));
    }
    rows.sort();
    for (id, cc, rules) in rows {
        for (name, pattern, translation) in rules {
            writeln!(out, "{id}\t{cc}\t{name}\t{pattern}\t{translation}").unwrap();
        }
    }
    out
}

#[test]
fn committed_table_matches_the_metadata() {
    let xml =
        std::fs::read_to_string(data_dir().join("libphonenumber/PhoneNumberMetadata.xml")).unwrap();
    let generated = generate(&xml);
    let path = data_dir().join("service_plans.tsv");
    if std::env::var_os("TPR_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "data/service_plans.tsv is stale; regenerate with TPR_BLESS=1 cargo test -p tpr-dialplan --test service_table"
    );
    assert_eq!(committed, tpr_dialplan::SERVICE_TABLE_TSV);
}

#[test]
fn every_region_plan_compiles() {
    let limits = tpr_dialplan::Limits::default();
    let mut n = 0;
    for region in tpr_dialplan::service_regions() {
        let plan = tpr_dialplan::service_plan(region).unwrap();
        tpr_dialplan::CompiledPlan::compile(None, plan, &limits)
            .unwrap_or_else(|e| panic!("{region}: {e}"));
        n += 1;
    }
    assert!(n >= 240, "only {n} regions");
}
