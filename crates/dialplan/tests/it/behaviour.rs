//! Runs the behaviour tables in `testdata/*.toml`.

use std::path::PathBuf;

use serde::Deserialize;
use tpr_dialplan::{CompiledPlan, DialPlan, Limits, Mode, Rule, service_plan};
use tpr_types::Region;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    id: String,
    source: String,
    region: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    access_prefix: Option<String>,
    #[serde(default)]
    rules: Option<Vec<[String; 3]>>,
    #[serde(default)]
    expect: Vec<[String; 3]>,
    #[serde(default)]
    error: Option<String>,
}

fn testdata(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn normalize_table() {
    let file: File = toml::from_str(&testdata("normalize.toml")).expect("normalize.toml parses");
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in &file.case {
        let region = Region::try_new(&case.region).unwrap();
        let service =
            service_plan(region).unwrap_or_else(|| panic!("{}: no service plan", case.id));
        let tenant = case.rules.as_ref().map(|rules| DialPlan {
            external_access_prefix: case.access_prefix.clone(),
            ..DialPlan::new("Test", rules.iter().map(|[n, p, t]| Rule::new(n, p, t)).collect())
        });
        let mode = match case.mode.as_deref() {
            None | Some("effective") => Mode::Effective,
            Some("tenant-scope-only") => Mode::TenantScopeOnly,
            Some(other) => panic!("{}: unknown mode {other}", case.id),
        };
        let compiled = CompiledPlan::compile(tenant.as_ref(), service, &Limits::default());
        match (&case.error, compiled) {
            (Some(want), Err(e)) => {
                checked += 1;
                if !e.to_string().contains(want.as_str()) {
                    failures.push(format!(
                        "{} ({}): error\n  want: {want}\n  got:  {e}",
                        case.id, case.source
                    ));
                }
            }
            (Some(want), Ok(_)) => {
                failures.push(format!("{}: compiled, but expected error {want:?}", case.id))
            }
            (None, Err(e)) => failures.push(format!("{}: does not compile: {e}", case.id)),
            (None, Ok(plan)) => {
                let mut cache = plan.create_cache();
                let mut out = String::new();
                for [input, want, want_rule] in &case.expect {
                    checked += 1;
                    let got = match plan.normalize_with(&mut cache, input, mode, &mut out) {
                        Ok(outcome) => (out.clone(), plan.describe(&outcome)),
                        Err(e) => (format!("!{e}"), String::new()),
                    };
                    // A caller that cleaned the string itself gets the same from
                    // `normalize_clean`.
                    if let Ok(clean) = tpr_dialplan::cleanup::DialString::try_clean(input) {
                        let mut again = String::new();
                        let o = plan.normalize_clean(&mut cache, &clean, mode, &mut again);
                        assert_eq!((&again, plan.describe(&o)), (&got.0, got.1.clone()), "{input}");
                    }
                    let ok = if let Some(msg) = want.strip_prefix('!') {
                        got.0.starts_with('!') && got.0.contains(msg)
                    } else {
                        got.0 == *want && got.1 == *want_rule
                    };
                    if !ok {
                        failures.push(format!(
                            "{} ({}): {input:?}\n  want: {want}\t{want_rule}\n  got:  {}\t{}",
                            case.id, case.source, got.0, got.1
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 60, "only {checked} checks ran");
}

#[test]
fn explain_names_passes_rules_and_captures() {
    let plan =
        DialPlan::new("Redmond", vec![Rule::new("AddOne", r"^([2-9]\d\d[2-9]\d{6})$", "1$1")]);
    let us = service_plan(Region::try_new("US").unwrap()).unwrap();
    let compiled = CompiledPlan::compile(Some(&plan), us, &Limits::default()).unwrap();
    let e = compiled.explain("(425) 555-4567", Mode::Effective).unwrap();
    assert_eq!(e.cleaned, "4255554567");
    assert_eq!(e.output, "+14255554567");
    assert_eq!(e.passes.len(), 2);
    assert_eq!(compiled.rule(e.passes[0].rule).name, "AddOne");
    assert_eq!(e.passes[0].output, "14255554567");
    assert_eq!(e.passes[0].captures, vec![Some("4255554567".into()), Some("4255554567".into())]);
    let second = compiled.rule(e.passes[1].rule);
    assert_eq!(
        (second.name.as_str(), second.scope.to_string().as_str()),
        ("US Long Distance", "service")
    );
    assert_eq!(e.passes[1].input, "14255554567");
    assert_eq!(e.fallback_country_code, None);
}

#[test]
fn notes_record_dotnet_readings() {
    let plan = DialPlan::new("CL", vec![Rule::new("CL-National", r"^(\d{3,9)$", "+56$2")]);
    let cl = service_plan(Region::try_new("CL").unwrap()).unwrap();
    let compiled = CompiledPlan::compile(Some(&plan), cl, &Limits::default()).unwrap();
    let notes = &compiled.rules().next().unwrap().1.notes;
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].starts_with("column 5: brace is not part of a quantifier"), "{}", notes[0]);
    assert!(notes[1].contains("$2 names no group"), "{}", notes[1]);
}

#[test]
fn compile_errors_name_plan_rule_and_column() {
    let us = service_plan(Region::try_new("US").unwrap()).unwrap();
    let check = |pattern: &str, want: &str| {
        let plan = DialPlan::new(
            "Redmond",
            vec![Rule::new("Ok", "^1$", "+1"), Rule::new("Bad", pattern, "+1")],
        );
        let err = CompiledPlan::compile(Some(&plan), us, &Limits::default()).unwrap_err();
        assert_eq!(err.to_string(), want, "pattern {pattern:?}");
    };
    check(
        r"^(\d{4}$",
        "dial plan \"Redmond\", rule 2 \"Bad\": invalid pattern at column 9: unclosed group: missing closing parenthesis",
    );
    check(
        r"^\d{4})$",
        "dial plan \"Redmond\", rule 2 \"Bad\": invalid pattern at column 7: unmatched closing parenthesis",
    );
    check(
        r"^[9-0]$",
        "dial plan \"Redmond\", rule 2 \"Bad\": invalid pattern at column 3: character range is in reverse order",
    );
    check(
        r"^a**$",
        "dial plan \"Redmond\", rule 2 \"Bad\": invalid pattern at column 4: nested quantifier '*'",
    );
    check(
        r"^(*1)$",
        "dial plan \"Redmond\", rule 2 \"Bad\": invalid pattern at column 3: quantifier '*' follows nothing",
    );
    check(
        r"^(?<a-b>1)$",
        "dial plan \"Redmond\", rule 2 \"Bad\": unsupported pattern at column 2: balancing groups (?<a-b>...) are not supported",
    );
    check(
        r"\d{99999}",
        "dial plan \"Redmond\", rule 2 \"Bad\": compiled automaton exceeds the size limit of 2097152 bytes",
    );
}

#[test]
fn compiled_plans_are_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<CompiledPlan>();
    let us = service_plan(Region::try_new("US").unwrap()).unwrap();
    let plan = std::sync::Arc::new(CompiledPlan::compile(None, us, &Limits::default()).unwrap());
    let results: Vec<String> = (0..2)
        .map(|k| {
            let plan = plan.clone();
            std::thread::spawn(move || {
                let mut cache = plan.create_cache();
                let mut out = String::new();
                plan.normalize_with(
                    &mut cache,
                    &format!("1425555010{k}"),
                    Mode::Effective,
                    &mut out,
                )
                .unwrap();
                out
            })
        })
        .map(|h| h.join().unwrap())
        .collect();
    assert_eq!(results, ["+14255550100", "+14255550101"]);
}

/// The `+CC` fallback uses the service plan's calling code, whatever its length: real ones of
/// one to three digits and longer made-up ones.
#[test]
fn fallback_takes_the_calling_code_of_any_length() {
    let us = Region::try_new("US").unwrap();
    let plan = DialPlan::new("Ext", vec![Rule::new("Ext", r"^(\d{4})$", "+1425555$1")]);
    for code in ["1", "44", "354", "1234567", "12345678", "123456789012"] {
        let service = tpr_dialplan::ServicePlan::new(us, code, Vec::new());
        let compiled = CompiledPlan::compile(Some(&plan), &service, &Limits::default()).unwrap();
        let mut cache = compiled.create_cache();
        let mut out = String::new();
        let outcome =
            compiled.normalize_with(&mut cache, "555 0100", Mode::Effective, &mut out).unwrap();
        assert!(outcome.fallback && outcome.first.is_none(), "{code}");
        assert_eq!(out, format!("+{code}5550100"));
        assert_eq!(compiled.country_code(), code);
        compiled.normalize_with(&mut cache, "0100", Mode::Effective, &mut out).unwrap();
        assert_eq!(out, "+14255550100", "{code}: a rule's result keeps its own code");
    }
}
