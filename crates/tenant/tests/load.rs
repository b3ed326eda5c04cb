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
        errors("[capacity]\n"),
        vec!["t.toml:1:1: error: missing [tenant] section (name and country)"]
    );
    let e = errors(&format!("{HEAD}[[calling_policy]]\nname = \"x\"\n"));
    assert!(
        e[0].starts_with(
            "t.toml:4:3: error: unknown field `calling_policy`, expected one of `tenant`"
        ),
        "{e:?}"
    );
    let e = errors(&format!("{HEAD}[[users]]\nid = \"a\"\nvoice_policy = \"x\"\n"));
    assert!(e[0].starts_with("t.toml:6:1: error: unknown field `voice_policy`"), "{e:?}");
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

#[test]
fn the_reference_example_has_its_direct_routing_objects() {
    let t = Tenant::load(&example_path()).unwrap_or_else(|e| panic!("{e}"));
    let r = &t.routing;
    assert_eq!(r.gateways.len(), 7);
    let sbc1 = r.gateway("SBC1.contoso.com").unwrap();
    assert_eq!((sbc1.max_concurrent_sessions, sbc1.enforced_max_sessions), (Some(100), Some(120)));
    // Teams defaults for what the file leaves out.
    let sbc2 = r.gateway("sbc2.contoso.com").unwrap();
    assert!(sbc2.enabled && sbc2.send_sip_options);
    assert_eq!(
        (sbc2.failover_time_seconds, sbc2.failover_response_codes.as_slice()),
        (10, &[408, 503, 504][..])
    );
    // `pstn_usages` written after the last [[gateways]] table still means the tenant's usages.
    assert_eq!(r.pstn_usages, ["US and Canada", "International", "US911"]);
    let routes: Vec<(&str, i32)> =
        r.voice_routes.iter().map(|v| (v.name.as_str(), v.priority)).collect();
    assert_eq!(
        routes,
        [
            ("Redmond 1", 1),
            ("Redmond 2", 2),
            ("Other +1", 3),
            ("International", 4),
            ("Emergency 911", 5)
        ]
    );
    assert_eq!(
        r.voice_routing_policy("no restrictions").unwrap().usages,
        ["US and Canada", "International"]
    );
    let ecrp = r.emergency_policy("US Emergency").unwrap();
    assert_eq!(
        (ecrp.numbers[0].dial_string.as_str(), ecrp.numbers[0].dial_masks.as_slice()),
        ("911", &["933".to_owned()][..])
    );
    assert_eq!(r.operator("Fabrikam Telecom").unwrap().trunks[0].max_sessions, Some(300));
    let alex = t.user("alex.wilber").unwrap();
    assert_eq!(alex.policies.number_type, Some(tpr_tenant::NumberType::OperatorConnect));
    assert_eq!(alex.policies.operator.as_deref(), Some("Fabrikam Telecom"));
    let agent = t.user("agent0042").unwrap();
    assert_eq!(agent.policies.voice_routing_policy.as_deref(), Some("No Restrictions"));
}

#[test]
fn a_gateway_without_enabled_is_disabled_as_in_teams() {
    let text =
        format!("{HEAD}[[gateways]]\nfqdn = \"sbc.contoso.com\"\nsip_signaling_port = 5061\n");
    let t = Tenant::from_toml_str(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    assert!(!t.routing.gateways[0].enabled);
}

#[test]
fn direct_routing_problems_are_all_reported() {
    let text = format!(
        "{HEAD}pstn_usages = [\"US\", \"US\"]

[[translation_rules]]
name = \"strip\"
pattern = '^\\+1(\\d{{10}}$'
translation = '$1'

[[gateways]]
fqdn = \"sbc1.contoso.onmicrosoft.com\"
sip_signaling_port = 0
failover_response_codes = [503, 302]
max_concurrent_sessions = 100001
outbound_pstn_number_translation_rules = [\"nope\"]

[[voice_routes]]
name = \"R1\"
number_pattern = '^\\+1(425|206)(\\d{{7}})$'
priority = 1
gateways = [\"sbc9.contoso.com\"]
usages = [\"US\", \"Canada\"]

[[voice_routes]]
name = \"R2\"
priority = 1
usages = [\"US\"]

[[voice_routing_policies]]
name = \"US Only\"
usages = [\"US\", \"EU\"]

[[emergency_call_routing_policies]]
name = \"E\"
numbers = [ {{ dial_string = \"911\", dial_masks = [\"911\", \"12345678901\"], usage = \"US\" }} ]

[[users]]
id = \"a\"
number_type = \"operator_connect\"
dial_out_policy = \"DialoutEverything\"
voice_routing_policy = \"Nope\"
"
    );
    let e = errors(&text);
    assert_eq!(
        e,
        vec![
            "t.toml:4:22: error: PSTN usage \"US\" is defined twice",
            "t.toml:8:24: error: translation rule \"strip\": invalid pattern at column 13: unclosed group: missing closing parenthesis",
            "t.toml:12:8: error: gateway \"sbc1.contoso.onmicrosoft.com\": the FQDN is in *.onmicrosoft.com, which Teams does not accept for an SBC",
            "t.toml:13:22: error: gateway \"sbc1.contoso.onmicrosoft.com\": sip_signaling_port must be 1 to 65535, got 0",
            "t.toml:14:33: error: gateway \"sbc1.contoso.onmicrosoft.com\": a failover response code must be 400 to 699, got 302",
            "t.toml:15:27: error: gateway \"sbc1.contoso.onmicrosoft.com\": max_concurrent_sessions must be 1 to 100000, got 100001",
            "t.toml:16:43: error: gateway \"sbc1.contoso.onmicrosoft.com\": translation rule \"nope\" is not defined",
            "t.toml:22:13: error: voice route \"R1\": gateway \"sbc9.contoso.com\" is not defined",
            "t.toml:23:17: error: voice route \"R1\": PSTN usage \"Canada\" is not defined",
            "t.toml:27:12: error: voice route \"R2\": priority 1 is already used by voice route \"R1\", which shares a PSTN usage with it",
            "t.toml:32:17: error: voice routing policy \"US Only\": PSTN usage \"EU\" is not defined",
            "t.toml:36:50: error: emergency call routing policy \"E\": \"911\" is used twice as a dial string or mask",
            "t.toml:36:57: error: emergency call routing policy \"E\": dial mask \"12345678901\" must be 1 to 10 digits",
            "t.toml:40:15: error: user \"a\": an operator_connect number needs its operator",
            "t.toml:41:19: error: user \"a\": dial-out policy \"DialoutEverything\" is not one of Teams' 12 fixed policies (DialoutCPC...)",
            "t.toml:42:24: error: user \"a\": voice routing policy \"Nope\" is not defined",
        ]
    );
}

#[test]
fn routes_without_priority_go_last_and_gateways_must_be_in_tenant_domains() {
    let text = "[tenant]\nname = \"t\"\ncountry = \"US\"\ndomains = [\"contoso.com\"]\n\
        pstn_usages = [\"U\"]\n\
        [[gateways]]\nfqdn = \"sbc1.fabrikam.com\"\nsip_signaling_port = 5061\n\
        [[voice_routes]]\nname = \"a\"\npriority = 7\n\
        [[voice_routes]]\nname = \"b\"\n";
    assert_eq!(
        errors(text),
        vec![
            "t.toml:7:8: error: gateway \"sbc1.fabrikam.com\": not in a domain of the tenant (contoso.com)"
        ]
    );
    let ok = text.replace("sbc1.fabrikam.com", "sbc1.contoso.com");
    let t = Tenant::from_toml_str(&ok, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    let routes: Vec<(&str, i32)> =
        t.routing.voice_routes.iter().map(|r| (r.name.as_str(), r.priority)).collect();
    assert_eq!(routes, [("a", 7), ("b", 8)]);
    assert_eq!(t.routing.voice_routes[1].number_pattern, "[0-9]{10}");
}

#[test]
fn resource_accounts_calling_plans_and_capacity() {
    let t = Tenant::load(&example_path()).unwrap_or_else(|e| panic!("{e}"));
    let main = t.resource_account("main-line").unwrap();
    assert_eq!((main.kind, main.queue), (tpr_tenant::AccountKind::AutoAttendant, None));
    let cq = t.resource_account("support-queue").unwrap();
    assert!(cq.toll_free);
    let q = cq.queue.unwrap();
    assert_eq!((q.overflow_threshold, q.timeout_threshold_s, q.agent_alert_time_s), (50, 1200, 30));
    assert_eq!(t.calling_plans.domestic_minutes["GB"], 1200);
    assert_eq!(t.calling_plans.international_minutes, 600);
    assert_eq!(t.calling_plans.communications_credits, tpr_tenant::Credits::Unlimited);
    assert_eq!((t.capacity.user_number_max_calls, t.capacity.service_number_max_calls), (2, 500));

    // Spec T56: a timeout of 47 s loads as 45 s.
    let text = format!(
        "{HEAD}[[resource_accounts]]\nid = \"cq\"\nkind = \"call_queue\"\ntimeout_threshold = 47\n"
    );
    let t = Tenant::from_toml_str(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.resource_account("cq").unwrap().queue.unwrap().timeout_threshold_s, 45);
}

#[test]
fn domestic_groups_default_replace_and_errors() {
    let t = Tenant::from_toml_str(HEAD, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    let names = |t: &Tenant| -> Vec<Vec<String>> {
        t.calling_plans
            .domestic_groups
            .iter()
            .map(|g| g.iter().map(|r| r.as_str().to_owned()).collect())
            .collect()
    };
    assert_eq!(names(&t), [["US", "PR"]]);
    let text =
        format!("{HEAD}[calling_plans]\ndomestic_groups = [[\"US\", \"CA\"], [\"CH\", \"LI\"]]\n");
    let t = Tenant::from_toml_str(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(names(&t), [["US", "CA"], ["CH", "LI"]]);
    let text = format!("{HEAD}[calling_plans]\ndomestic_groups = []\n");
    let t = Tenant::from_toml_str(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    assert!(t.calling_plans.domestic_groups.is_empty());

    let text = format!(
        "{HEAD}[calling_plans]\ndomestic_groups = [[\"US\", \"XX\"], [\"CA\"], [\"PR\", \"US\"]]\n"
    );
    let line = HEAD.lines().count() + 2;
    assert_eq!(
        errors(&text),
        vec![
            format!(
                "t.toml:{line}:27: error: calling_plans.domestic_groups: \"XX\" is not a region code tpr knows"
            ),
            format!(
                "t.toml:{line}:34: error: calling_plans.domestic_groups: a group needs two or more regions"
            ),
            format!("t.toml:{line}:49: error: calling_plans.domestic_groups: US is listed twice"),
        ]
    );
}

#[test]
fn accounts_and_numbers_problems() {
    let text = format!(
        "{HEAD}
[[users]]
id = \"a\"
number = \"+14255550100\"

[[resource_accounts]]
id = \"A\"
kind = \"call_queue\"
number = \"+14255550100\"
overflow_threshold = 201
routing_method = \"random\"

[[resource_accounts]]
id = \"aa\"
kind = \"auto_attendant\"
agent_alert_time = 20

[[user_ranges]]
name = \"r1\"
id_prefix = \"r\"
count = 10
first_number = \"+14255550095\"

[calling_plans]
communications_credits = -5

[capacity]
user_number_max_calls = 0
"
    );
    assert_eq!(
        errors(&text),
        vec![
            "t.toml:7:10: error: user \"a\": number +14255550100 is also assigned by user range \"r1\"",
            "t.toml:10:6: error: resource account id \"A\" is already used by a user",
            "t.toml:12:10: error: resource account \"A\": number +14255550100 is already assigned to user \"a\"",
            "t.toml:13:22: error: resource account \"A\": overflow_threshold must be 0 to 200, got 201",
            "t.toml:14:18: error: resource account \"A\": routing_method \"random\" is not one of attendant, serial, round_robin, longest_idle",
            "t.toml:19:20: error: resource account \"aa\": queue settings belong to call queues, not auto attendants",
            "t.toml:28:26: error: communications_credits must be true, false or a balance of at least 0, got -5",
            "t.toml:31:25: error: capacity.user_number_max_calls must be 1 to 1000, got 0",
        ]
    );
    // A listed number inside a range's numbers.
    let text = format!(
        "{HEAD}[[users]]\nid = \"a\"\nnumber = \"+14255550100\"\n[[user_ranges]]\nname = \"r1\"\nid_prefix = \"r\"\ncount = 10\nfirst_number = \"+14255550095\"\n"
    );
    assert_eq!(
        errors(&text),
        vec![
            "t.toml:6:10: error: user \"a\": number +14255550100 is also assigned by user range \"r1\""
        ]
    );
}

#[test]
fn twenty_thousand_listed_users_load() {
    let mut text = HEAD.to_owned();
    for i in 0..20_000 {
        text.push_str(&format!("[[users]]\nid = \"u{i}\"\nnumber = \"+1312550{i:04}\"\n"));
    }
    let t = Tenant::from_toml_str(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.user_count(), 20_000);
    text.push_str("[[users]]\nid = \"U7\"\nnumber = \"+13125500007\"\n");
    let e = errors(&text);
    assert_eq!(e.len(), 2, "{e:?}");
    assert!(e[0].ends_with("error: user \"U7\" is defined twice"), "{e:?}");
    assert!(
        e[1].ends_with(
            "error: user \"U7\": number +13125500007 is already assigned to user \"u7\""
        ),
        "{e:?}"
    );
}

#[test]
fn licence_fields_must_be_known_values() {
    let text =
        format!("{HEAD}[[users]]\nid = \"a\"\nnumber_type = \"sip\"\ncalling_plan = \"gold\"\n");
    assert_eq!(
        errors(&text),
        vec![
            "t.toml:6:15: error: user \"a\": number_type \"sip\" is not one of direct_routing, calling_plan, operator_connect",
            "t.toml:7:16: error: user \"a\": calling_plan \"gold\" is not one of none, domestic, domestic_120, domestic_240, international, pay_as_you_go",
        ]
    );
}

#[test]
fn calling_and_caller_id_policies_unassigned_numbers_blocking_and_sites() {
    let text = format!(
        r#"{HEAD}
[[resource_accounts]]
id = "main"
kind = "auto_attendant"
number = "+14255550000"

[[calling_policies]]
name = "NoWeb"
allow_web_pstn_calling = false
busy_on_busy_enabled_type = "unanswered"

[[caller_id_policies]]
name = "Main"
calling_id_substitute = "resource"
resource_account = "main"
company_name = "Contoso"

[[unassigned_number_treatments]]
name = "late"
pattern = '^\+1425555\d{{4}}$'
target_type = "announcement"
target = "not-in-service.wav"
treatment_priority = 2

[[unassigned_number_treatments]]
name = "early"
pattern = '^\+14255550\d{{3}}$'
target_type = "resource_account"
target = "main"
treatment_priority = 1

[blocked_calling_numbers]
patterns = [ {{ name = "spam", pattern = '^\+?1312555\d{{4}}$' }} ]
exempt = [ {{ name = "ok", pattern = '^\+?1312555888[2|3]$' }} ]

[[network_sites]]
name = "S1"
lbr_enabled = true
subnets = ["10.1.0.0/16"]

[[users]]
id = "a"
number = "+14255550101;ext=12"
private_number = "+14255550199"
calling_policy = "NoWeb"
caller_id_policy = "Main"
network_site = "S1"
"#
    );
    let t = Tenant::from_toml_str(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    let p = &t.policies;
    assert_eq!(p.calling.len(), 2, "Global is implicit");
    let global = p.calling_policy("global").unwrap();
    assert!(global.allow_web_pstn_calling && global.allow_private_calling);
    let noweb = p.calling_policy("NoWeb").unwrap();
    assert!(!noweb.allow_web_pstn_calling);
    assert_eq!(noweb.busy_on_busy, tpr_tenant::BusyOnBusy::Unanswered);
    assert_eq!(
        p.caller_id_policy("Main").unwrap().calling_id_substitute,
        tpr_tenant::CallerIdSubstitute::Resource
    );
    let names: Vec<&str> = p.unassigned.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["early", "late"], "lowest priority first");
    assert!(p.blocked.enabled);
    assert_eq!((p.blocked.patterns.len(), p.blocked.exempt.len()), (1, 1));
    assert!(p.network_site("s1").unwrap().lbr_enabled);
    let a = t.user("a").unwrap();
    assert_eq!(a.policies.network_site.as_deref(), Some("S1"));
    assert_eq!(a.private_number.as_deref(), Some("+14255550199"));
}

#[test]
fn policy_errors_name_the_object() {
    let text = format!(
        r#"{HEAD}
[[caller_id_policies]]
name = "Res"
calling_id_substitute = "resource"

[[caller_id_policies]]
name = "Ghost"
calling_id_substitute = "resource"
resource_account = "nobody"

[[calling_policies]]
name = "X"
allow_voicemail = "sometimes"

[[unassigned_number_treatments]]
name = "a"
pattern = '^(\d+$'
target_type = "user"
target = "ghost"
treatment_priority = 1

[[unassigned_number_treatments]]
name = "b"
pattern = '^1$'
target_type = "announcement"
target = "x.wav"
treatment_priority = 1

[blocked_calling_numbers]
exempt = [ {{ name = "e", pattern = '^1$', resource_account = "x" }} ]

[[network_sites]]
name = "S"
subnets = ["10.0.0.0/33", "10.0.0.0"]

[[users]]
id = "u"
number = "4255550101"
number_type = "calling_plan"
calling_plan = "domestic"
calling_policy = "Nope"
network_site = "Elsewhere"

[[users]]
id = "v"
number = "+1425;ext=1234567890123"
"#
    );
    assert_eq!(
        errors(&text),
        vec![
            "t.toml:5:1: error: caller ID policy \"Res\": calling_id_substitute = \"resource\" needs resource_account",
            "t.toml:12:20: error: caller ID policy \"Ghost\": resource account \"nobody\" is not defined",
            "t.toml:16:19: error: calling policy \"X\": allow_voicemail \"sometimes\" is not one of always_enabled, always_disabled, user_override",
            "t.toml:20:18: error: unassigned number treatment \"a\": invalid pattern at column 7: unclosed group: missing closing parenthesis",
            "t.toml:22:10: error: unassigned number treatment \"a\": user \"ghost\" is not defined",
            "t.toml:30:22: error: unassigned number treatment \"b\": treatment_priority 1 is already used by \"a\"",
            "t.toml:33:62: error: exempt number pattern \"e\": only blocked patterns take a resource_account",
            "t.toml:37:12: error: network site \"S\": subnet \"10.0.0.0/33\" has a prefix length longer than the address",
            "t.toml:37:27: error: network site \"S\": subnet \"10.0.0.0\" needs a prefix length: address/bits",
            "t.toml:41:10: error: user \"u\": number \"4255550101\" must be E.164 (+ and country code) for this number type",
            "t.toml:44:18: error: user \"u\": calling policy \"Nope\" is not defined",
            "t.toml:45:16: error: user \"u\": network site \"Elsewhere\" is not defined",
            "t.toml:49:10: error: user \"v\": number \"+1425;ext=1234567890123\" has an extension that is not 1 to 12 digits",
        ]
    );
}

#[test]
fn a_range_resizes_under_the_checks_loading_makes() {
    let text = format!(
        "{HEAD}[[users]]\nid = \"r0050\"\nnumber = \"+14255570000\"\n[[resource_accounts]]\nid = \"aa\"\nkind = \"auto_attendant\"\nnumber = \"+14255560100\"\n[[user_ranges]]\nname = \"r1\"\nid_prefix = \"r\"\ncount = 10\nfirst_number = \"+14255550000\"\n[[user_ranges]]\nname = \"r2\"\nid_prefix = \"s\"\ncount = 10\nfirst_number = \"+14255560000\"\n"
    );
    let t = Tenant::from_toml_str(&text, "t.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.user_count(), 21);
    let resized = |range: usize, count: u32| {
        let mut r = t.clone();
        r.resize_range(range, count).map(|()| r)
    };
    // Up and down, to one.
    let r = resized(0, 300).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.user_count(), 311);
    assert_eq!(r.user("r299").unwrap().number.as_deref(), Some("+14255550299"));
    let r = resized(0, 100).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.user("r99").unwrap().number.as_deref(), Some("+14255550099"));
    assert_eq!(resized(0, 1).unwrap().user_count(), 12);
    // Each check, naming the range; the tenant is left as it was.
    let e = |range, count| resized(range, count).err().unwrap_or_default();
    assert_eq!(
        e(0, 10001),
        "user range \"r1\": with 10001 users it assigns numbers that user range \"r2\" assigns too"
    );
    assert_eq!(
        e(1, 101),
        "user range \"r2\": with 101 users it assigns +14255560100, the number of resource account aa"
    );
    assert_eq!(
        e(1, 10001),
        "user range \"r2\": with 10001 users it assigns +14255570000, the number of user r0050"
    );
    assert_eq!(
        e(0, 1001),
        "user range \"r1\": with 1001 users it generates id \"r0050\", which a listed user already has"
    );
    assert_eq!(e(0, 0), "user range \"r1\": count must be 1 to 10000000, got 0");
    assert_eq!(e(2, 5), "the tenant has no user range 2");
    let mut edge = t.clone();
    edge.user_ranges[1].first_number = Some("+99999999990".into());
    assert_eq!(
        edge.resize_range(1, 11).err().unwrap_or_default(),
        "user range \"r2\": 11 numbers counting up from +99999999990 do not fit its digits"
    );
    assert_eq!(edge.user_ranges[1].count, 10);
    edge.resize_range(1, 10).unwrap_or_else(|e| panic!("{e}"));
    // Loading says the same of such a range, where it is.
    let text = format!(
        "{HEAD}[[user_ranges]]\nname = \"r2\"\nid_prefix = \"s\"\ncount = 11\nfirst_number = \"+99999999990\"\n"
    );
    assert_eq!(
        errors(&text),
        vec![
            "t.toml:4:1: error: user range \"r2\": 11 numbers counting up from +99999999990 do not fit its digits"
        ]
    );
}
