//! The PowerShell importer: the real scripts of the corpus give the objects the corpus CSVs
//! extracted from them, and hand-written scripts exercise the language and every refusal.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tpr_tenant::{ImportOptions, Imported, import_file, import_str};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/powershell").join(name)
}

fn csv_rows(path: PathBuf) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers.iter().zip(rec.iter()).map(|(h, v)| (h.to_owned(), v.to_owned())).collect()
        })
        .collect()
}

fn table(imported: &Imported) -> toml::Table {
    toml::from_str(&imported.toml).unwrap_or_else(|e| panic!("{e}\n{}", imported.toml))
}

fn strs(v: &toml::Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect()
}

/// Dial plan → [(rule name, pattern, translation)] from the import.
fn imported_rules(t: &toml::Table) -> BTreeMap<String, Vec<(String, String, String)>> {
    let mut out = BTreeMap::new();
    for p in t.get("dial_plans").and_then(|v| v.as_array()).into_iter().flatten() {
        let rules = p["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let get = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
                (get("name"), get("pattern"), get("translation"))
            })
            .collect();
        out.insert(p["name"].as_str().unwrap().to_owned(), rules);
    }
    out
}

/// Dial plan → rules, from the corpus rule CSV, for one source file.
fn corpus_rules(source_file: &str) -> BTreeMap<String, Vec<(String, String, String)>> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dialplan/testdata/corpus/ALL_RULES.csv");
    let mut out: BTreeMap<String, Vec<(usize, (String, String, String))>> = BTreeMap::new();
    for row in csv_rows(path).into_iter().filter(|r| r["source_file"] == source_file) {
        out.entry(row["dial_plan"].clone()).or_default().push((
            row["rule_order"].parse().unwrap(),
            (row["rule_name"].clone(), row["pattern"].clone(), row["translation"].clone()),
        ));
    }
    out.into_iter()
        .map(|(k, mut v)| {
            v.sort_by_key(|(i, _)| *i);
            (k, v.into_iter().map(|(_, r)| r).collect())
        })
        .collect()
}

fn warnings(i: &Imported) -> Vec<String> {
    i.warnings
        .iter()
        .map(|w| format!("{}:{}: {}", w.location.line, w.location.col, w.message))
        .collect()
}

#[test]
fn sbcconnect_australian_dial_plans_import_as_the_corpus_lists_them() {
    let script = data("SBCConnect_documentation_new-tenant-australian-dial-plans.ps1");
    // As written the script is interactive: it stops at its first function.
    let e = import_file(&script, &ImportOptions::default()).unwrap_err();
    assert_eq!(e.0.len(), 1);
    assert!(
        e.to_string().ends_with(":31:1: error: `function` statement is not supported: tpr imports straight-line scripts (--skip-unsupported passes over such statements)"),
        "{e}"
    );

    // Skipping what needs a person at the keyboard, the gateways chosen at the prompt are
    // unknown, and the first route that needs them says so.
    let opts = ImportOptions { skip_unsupported: true, ..ImportOptions::default() };
    let e = import_file(&script, &opts).unwrap_err().to_string();
    assert!(
        e.ends_with(":829:89: error: -OnlinePstnGatewayList is unknown: $PSTNGWList is set by the `switch` statement that was skipped; give it with --var PSTNGWList=VALUE"),
        "{e}"
    );

    let opts = ImportOptions {
        skip_unsupported: true,
        vars: vec![("PSTNGWList".into(), "sbc1.example.com.au,sbc2.example.com.au".into())],
        ..ImportOptions::default()
    };
    // The script changes gateways it expects to exist.
    let e = import_file(&script, &opts).unwrap_err().to_string();
    assert!(e.ends_with(":854:5: error: Set-CsOnlinePSTNGateway: \"sbc1.example.com.au\" does not exist (no New-… made it earlier in the script)"), "{e}");
    let opts = ImportOptions { base: Some(data("sbcconnect-base.toml")), ..opts };
    let imported = import_file(&script, &opts).unwrap_or_else(|e| panic!("{e}"));
    let tenant = imported.load().unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));
    assert_eq!(tenant.dial_plans.len(), 4);
    assert_eq!(
        tenant
            .routing
            .gateway("sbc2.example.com.au")
            .unwrap()
            .outbound_teams_number_translation_rules,
        ["SBCconnect-AllCalls"]
    );
    let t = table(&imported);

    assert_eq!(
        imported_rules(&t),
        corpus_rules("SBCConnect_documentation_new-tenant-australian-dial-plans.ps1")
    );

    let mut usages = strs(&t["pstn_usages"]);
    usages.sort();
    let mut expected: Vec<String> = csv_rows(data("csv/SBCConnect-AU__usages.csv"))
        .into_iter()
        .map(|r| r["usage"].clone())
        .collect();
    expected.sort();
    assert_eq!(usages, expected);

    let mut policies: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in csv_rows(data("csv/SBCConnect-AU__policies.csv")) {
        policies.entry(row["policy"].clone()).or_default().push(row["pstn_usage"].clone());
    }
    let imported_policies: BTreeMap<String, Vec<String>> = t["voice_routing_policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_owned(), strs(&p["usages"])))
        .collect();
    assert_eq!(imported_policies, policies);

    let routes = t["voice_routes"].as_array().unwrap();
    let expected = csv_rows(data("csv/SBCConnect-AU__routes.csv"));
    assert_eq!(routes.len(), expected.len());
    for (r, e) in routes.iter().zip(&expected) {
        assert_eq!(r["name"].as_str().unwrap(), e["route_name"]);
        assert_eq!(r["priority"].as_integer().unwrap().to_string(), e["priority"]);
        assert_eq!(r["number_pattern"].as_str().unwrap(), e["number_pattern"]);
        assert_eq!(strs(&r["usages"]).join(";"), e["pstn_usages"]);
        assert_eq!(strs(&r["gateways"]), ["sbc1.example.com.au", "sbc2.example.com.au"]);
    }

    let rules = t["translation_rules"].as_array().unwrap();
    let expected = csv_rows(data("csv/SBCConnect-AU__translation_rules.csv"));
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["name"].as_str().unwrap(), expected[0]["rule_identity"]);
    assert_eq!(rules[0]["pattern"].as_str().unwrap(), expected[0]["pattern"]);
    assert_eq!(rules[0]["translation"].as_str().unwrap(), expected[0]["translation"]);

    let if_note = "skipped `if` statement (its condition depends on what tpr cannot know: the value of a pipeline into `Where-Object` that was skipped)";
    let mut expected = vec![
        "31:1: skipped `function` statement".to_owned(),
        "45:1: skipped `function` statement".into(),
        "167:1: skipped `function` statement".into(),
        "251:1: skipped `function` statement".into(),
        "386:11: skipped a pipeline into `Select-Object`".into(),
        "390:1: the script sets $PSTNGWList here; the --var value is kept".into(),
        "392:1: skipped `while` statement; $inputRouteType unknown from here on".into(),
        "416:1: skipped `switch` statement; $inputPstnGateway, $gwlen, $i, $selectedId, $list, $gwSelected unknown from here on".into(),
        "546:1: skipped `while` statement; $finalConfirm unknown from here on".into(),
        "736:25: skipped a pipeline into `Select-Object`".into(),
        "739:1: skipped `foreach` loop (its list is unknown: the value of a pipeline into `Select-Object` that was skipped)".into(),
        format!("765:5: {if_note}"),
        "765:10: skipped a pipeline into `Where-Object`".into(),
    ];
    for (line, usage) in [
        (829, "AU-National"),
        (831, "AU-Mobile"),
        (832, "AU-1300"),
        (834, "AU-Premium"),
        (835, "AU-Service"),
        (836, "AU-International"),
    ] {
        expected.push(format!("{line}:1: PSTN usage {usage:?} is used but never added with Set-CsOnlinePstnUsage; added"));
    }
    expected.push("871:1: skipped the command `Show-ScriptExit`".into());
    assert_eq!(warnings(&imported), expected);
}
