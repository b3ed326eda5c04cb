//! Loading tenant TOML: the reference example, and every error with its exact message.

use std::path::PathBuf;

use tpr_dialplan::{Limits, Mode};
use tpr_tenant::Tenant;
use tpr_types::Region;

fn example_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/tenants/contoso.toml")
}

#[test]
fn the_reference_example_loads_as_it_is() {
    let t = Tenant::load(&example_path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.name, "contoso");
    assert_eq!(t.country.as_str(), "US");
    assert_eq!(t.dial_plans.len(), 2);
    assert_eq!(t.dial_plan("redmonddialplan").unwrap().rules.len(), 4);
    assert_eq!(t.user_count(), 4 + 5000);
    let spencer = t.user("spencer.low").unwrap();
    assert_eq!(spencer.dial_plan.as_deref(), Some("RedmondDialPlan"));
    let agent = t.user("agent4999").unwrap();
    assert_eq!(agent.number.as_deref(), Some("+14255564999"));
    assert!(t.user("agent5000").is_none());

    // Spencer's effective plan: Redmond rules, then the US service rules.
    let plan = t
        .compile_effective(spencer.dial_plan.as_deref(), spencer.usage_location, &Limits::default())
        .unwrap();
    let mut cache = plan.create_cache();
    let mut out = String::new();
    plan.normalize_with(&mut cache, "50100", Mode::Effective, &mut out).unwrap();
    assert_eq!(out, "+14255550100");
    // An agent has no plan: Global's 4-digit rule applies.
    let plan = t.compile_effective(None, agent.usage_location, &Limits::default()).unwrap();
    let mut cache = plan.create_cache();
    plan.normalize_with(&mut cache, "0100", Mode::Effective, &mut out).unwrap();
    assert_eq!(out, "+14255550100");
}

fn errors(text: &str) -> Vec<String> {
    match Tenant::from_toml_str(text, "t.toml") {
        Ok(_) => vec![],
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

const HEAD: &str = "[tenant]\nname = \"t\"\ncountry = \"US\"\n";

#[test]
fn syntax_and_type_errors_have_line_and_column() {
    assert_eq!(
        errors("[tenant]\nname = \"t\"\ncountry = US\n"),
        vec!["t.toml:3:11: error: string values must be quoted, expected literal string"]
    );
    let e = errors(&format!(
        "{HEAD}[[dial_plans]]\nname = \"P\"\nrules = [ {{ name = \"a\", patern = '1' }} ]\n"
    ));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("t.toml:6:25: error: unknown field `patern`"), "{e:?}");
    assert_eq!(
        errors("[tenant]\nname = \"t\"\n"),
        vec!["t.toml:1:1: error: missing field `country`"]
    );
    assert_eq!(
        errors("x = 1\n"),
        vec!["t.toml:1:1: error: missing [tenant] section (name and country)"]
    );
}

#[test]
fn all_problems_are_reported_at_once_with_their_objects() {
    let text = format!(
        "{HEAD}
[[dial_plans]]
name = \"Redmond\"
[[dial_plans.rules]]
name = \"Ok\"
pattern = '^1$'
[[dial_plans.rules]]
name = \"Bad\"
pattern = '^(\\d{{4}}$'

[[dial_plans]]
name = \"redmond\"
rules = [ {{ name = \"x\", pattern = '1' }} ]

[[service_dial_plans]]
country = \"XX\"
rules = []

[[users]]
id = \"a\"
usage_location = \"USA\"
dial_plan = \"Nope\"

[[user_ranges]]
name = \"agents\"
id_prefix = \"agent\"
count = 0
"
    );
    let e = errors(&text);
    assert_eq!(
        e,
        vec![
            "t.toml:12:20: error: dial plan \"Redmond\", rule 2 \"Bad\": invalid pattern at column 9: unclosed group: missing closing parenthesis",
            "t.toml:15:8: error: dial plan \"redmond\" is defined twice",
            "t.toml:19:11: error: service dial plan: unknown region XX",
            "t.toml:24:18: error: user \"a\": region code must be two ASCII letters (ISO 3166-1 alpha-2), got \"USA\"",
            "t.toml:25:13: error: user \"a\": dial plan \"Nope\" is not defined",
            "t.toml:30:9: error: user range \"agents\": count must be 1 to 10000000, got 0",
        ]
    );
}

#[test]
fn service_plan_overrides_replace_or_extend() {
    let text = format!(
        "{HEAD}
[[service_dial_plans]]
country = \"US\"
rules = [ {{ name = \"US-LongDistance\", pattern = '^1?([2-9]\\d{{9}})$', translation = '+1$1' }} ]

[[service_dial_plans]]
country = \"NZ\"
mode = \"extend\"
rules = [ {{ name = \"NZ-Short\", pattern = '^(\\d{{3}})$', translation = '+6499$1' }} ]
"
    );
    let t = Tenant::from_toml_str(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    let us = t.service_plan(Region::try_new("US").unwrap()).unwrap();
    assert_eq!(us.rules.len(), 1);
    let nz = t.service_plan(Region::try_new("NZ").unwrap()).unwrap();
    assert_eq!(nz.rules.len(), 3);
    assert_eq!(nz.rules[2].name, "NZ-Short");
    let plan =
        t.compile_effective(None, Region::try_new("US").unwrap(), &Limits::default()).unwrap();
    let e = plan.explain("4255550100", Mode::Effective).unwrap();
    assert_eq!(e.output, "+14255550100");
    assert_eq!(plan.rule(e.passes[0].rule).name, "US-LongDistance");
}

#[test]
fn a_hundred_thousand_users_load_without_a_line_each() {
    let text = format!(
        "{HEAD}[[user_ranges]]\nname = \"all\"\nid_prefix = \"u\"\ncount = 100000\nfirst_number = \"+13125500000\"\n"
    );
    let t = Tenant::from_toml_str(&text, "t.toml").unwrap();
    assert_eq!(t.user_count(), 100_000);
    assert_eq!(t.user("u99999").unwrap().number.as_deref(), Some("+13125599999"));
}

#[test]
fn global_always_exists() {
    let text = format!("{HEAD}[[users]]\nid = \"a\"\ndial_plan = \"global\"\n");
    let t = Tenant::from_toml_str(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    let a = t.user("a").unwrap();
    assert_eq!(a.dial_plan, None);
    // An empty Global: only the service rules and the fallback.
    let plan = t.compile_effective(None, a.usage_location, &Limits::default()).unwrap();
    assert_eq!(plan.tenant_len(), 0);
    assert_eq!(plan.explain("4255550100", Mode::Effective).unwrap().output, "+14255550100");
}
