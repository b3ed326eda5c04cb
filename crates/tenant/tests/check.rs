//! `tpr check` lints, each with its exact message, and silence on a clean tenant.

use tpr_tenant::{Tenant, lint, lint_at};

/// The lints of `text`, found both ways: with the positions the loader kept (what `tpr check`
/// does) and with the text parsed again on its own (what `lint` does); they must agree.
fn lints(text: &str) -> Vec<String> {
    let (t, positions) =
        Tenant::from_toml_str_with_positions(text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    let kept: Vec<String> =
        lint_at(&t, &positions, text, "t.toml").iter().map(ToString::to_string).collect();
    let parsed: Vec<String> = lint(&t, text, "t.toml").iter().map(ToString::to_string).collect();
    assert_eq!(kept, parsed);
    kept
}

#[test]
fn shadowed_and_never_matching_rules_are_decided_on_automata() {
    let text = r#"
[tenant]
name = "t"
country = "US"

[[dial_plans]]
name = "P"
rules = [
  { name = "Any", pattern = '^(\d+)$', translation = '+1$1' },
  { name = "Ext", pattern = '^(\d{4})$', translation = '+1425555$1' },
  { name = "Star", pattern = '^\*(\d+)$', translation = '$1' },
  { name = "Empty", pattern = '^$', translation = '+1' },
  { name = "Letters", pattern = '^[A-Z]+$', translation = '+1' },
  { name = "Op", pattern = '^0$', translation = '+14255550100' },
]
"#;
    assert_eq!(
        lints(text),
        [
            "t.toml:10:3: warning: dial plan \"P\", rule 2 \"Ext\" is shadowed: every dial string it matches is taken earlier, by \"Any\"",
            "t.toml:12:3: warning: dial plan \"P\", rule 4 \"Empty\" matches no dial string (digits, * and #, with an optional leading +)",
            "t.toml:13:3: warning: dial plan \"P\", rule 5 \"Letters\" matches no dial string (digits, * and #, with an optional leading +)",
            "t.toml:14:3: warning: dial plan \"P\", rule 6 \"Op\" is shadowed: every dial string it matches is taken earlier, by \"Any\"",
        ]
    );
}

#[test]
fn routes_gateways_usages_emergency_numbers_and_the_global_pitfall() {
    let text = r#"pstn_usages = ["US", "Intl", "Spare", "E911"]

[tenant]
name = "t"
country = "US"

[[gateways]]
fqdn = "sbc1.contoso.com"
sip_signaling_port = 5061

[[gateways]]
fqdn = "sbc2.contoso.com"
sip_signaling_port = 5061

[[voice_routes]]
name = "All"
number_pattern = '^\+\d+$'
gateways = ["sbc1.contoso.com"]
usages = ["US"]

[[voice_routes]]
name = "Intl"
number_pattern = '^\+[2-9]\d+$'
gateways = ["sbc1.contoso.com"]
usages = ["Intl"]

[[voice_routes]]
name = "Backup"
number_pattern = '^\+1\d{10}$'
gateways = ["sbc1.contoso.com"]
usages = ["US"]

[[voice_routes]]
name = "Nothing"
number_pattern = '^x$'
gateways = ["sbc1.contoso.com"]
usages = ["US"]

[[voice_routes]]
name = "E"
number_pattern = '^\+1911$'
gateways = ["sbc1.contoso.com"]
usages = ["E911"]

[[voice_routing_policies]]
name = "Global"
usages = ["US", "Intl"]

[[emergency_call_routing_policies]]
name = "EP"
numbers = [ { dial_string = "911", dial_masks = ["933"], usage = "E911" } ]

[[users]]
id = "cp"
number = "+12065550100"
number_type = "calling_plan"
calling_plan = "domestic"
"#;
    assert_eq!(
        lints(text),
        [
            "t.toml:1:15: warning: PSTN usage \"Spare\": no voice routing or emergency policy uses it",
            "t.toml:11:1: warning: gateway \"sbc2.contoso.com\": no voice route sends calls to it",
            "t.toml:21:1: warning: voice route \"Intl\" is never reached: in every policy that holds it (\"Global\"), routes of an earlier PSTN usage take every number it matches",
            "t.toml:33:1: warning: voice route \"Nothing\": its number pattern \"^x$\" matches no number",
            "t.toml:45:1: warning: voice routing policy \"Global\" has routes (first \"All\"), and Global reaches Calling Plan and Operator Connect users too: 1 of them have no policy of their own (e.g. \"cp\"), so their calls that match these routes go out through Direct Routing",
            "t.toml:49:1: warning: emergency call routing policy \"EP\": no voice route in usage \"E911\" matches 911, so emergency calls to it fail",
        ]
    );
}

#[test]
fn the_reference_example_has_only_what_is_really_there() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scenarios/tenants/contoso.toml");
    let text = std::fs::read_to_string(path).unwrap();
    assert_eq!(lints(&text), Vec::<String>::new());
}

#[test]
fn a_rule_covered_only_by_several_rules_names_all_of_them() {
    let text = "[tenant]\nname = \"t\"\ncountry = \"US\"\n[[dial_plans]]\nname = \"P\"\nrules = [\n  { name = \"Ones\", pattern = '^1\\d$' },\n  { name = \"Star\", pattern = '^\\*$' },\n  { name = \"Twos\", pattern = '^2\\d$' },\n  { name = \"Both\", pattern = '^[12]\\d$' },\n]\n";
    assert_eq!(
        lints(text),
        [
            "t.toml:10:3: warning: dial plan \"P\", rule 4 \"Both\" is shadowed: every dial string it matches is taken earlier, by \"Ones\", \"Twos\""
        ]
    );
}

#[test]
fn an_unused_usage_listed_under_the_tenant_table_points_at_that_list() {
    // `pstn_usages` after `[tenant]` belongs to that table (TOML's rules); the warning points at
    // the list wherever it is written.
    let text = r#"
[tenant]
name = "t"
country = "US"
pstn_usages = ["US", "Spare"]

[[gateways]]
fqdn = "sbc1.contoso.com"
sip_signaling_port = 5061

[[voice_routes]]
name = "All"
number_pattern = '^\+\d+$'
gateways = ["sbc1.contoso.com"]
usages = ["US"]

[[voice_routing_policies]]
name = "P"
usages = ["US"]
"#;
    assert_eq!(
        lints(text),
        [
            "t.toml:5:15: warning: PSTN usage \"Spare\": no voice routing or emergency policy uses it"
        ]
    );
}
