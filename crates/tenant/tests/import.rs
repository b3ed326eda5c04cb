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

/// (rule name, pattern, translation)
type RuleRow = (String, String, String);

/// Dial plan → rules from the import.
fn imported_rules(t: &toml::Table) -> BTreeMap<String, Vec<RuleRow>> {
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
fn corpus_rules(source_file: &str) -> BTreeMap<String, Vec<RuleRow>> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dialplan/testdata/corpus/ALL_RULES.csv");
    let mut out: BTreeMap<String, Vec<(usize, RuleRow)>> = BTreeMap::new();
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

/// The voice routing policies of the import match `csv` (policy, usage_order, pstn_usage).
fn assert_policies(t: &toml::Table, csv: &str) {
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in csv_rows(data(csv)) {
        expected.entry(row["policy"].clone()).or_default().push(row["pstn_usage"].clone());
    }
    let imported: BTreeMap<String, Vec<String>> = t["voice_routing_policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_owned(), strs(&p["usages"])))
        .collect();
    assert_eq!(imported, expected);
}

/// The voice routes of the import match `csv` in order, name, priority, pattern and usages;
/// returns each route with its CSV row for further checks.
fn assert_routes<'t>(
    t: &'t toml::Table,
    csv: &str,
) -> Vec<(&'t toml::Value, BTreeMap<String, String>)> {
    let routes = t["voice_routes"].as_array().unwrap();
    let expected = csv_rows(data(csv));
    assert_eq!(routes.len(), expected.len());
    for (r, e) in routes.iter().zip(&expected) {
        assert_eq!(r["name"].as_str().unwrap(), e["route_name"]);
        assert_eq!(r["priority"].as_integer().unwrap().to_string(), e["priority"]);
        assert_eq!(r["number_pattern"].as_str().unwrap(), e["number_pattern"]);
        assert_eq!(strs(&r["usages"]).join(";"), e["pstn_usages"]);
    }
    routes.iter().zip(expected).collect()
}

/// What `tpr check` runs (`load_and_lint`, reading the TOML once) gives what `load` and then
/// `lint` give: the same tenant and the same lints, at the same script lines.
fn assert_one_read_agrees(i: &Imported) {
    let (tenant, lints) = i.load_and_lint().unwrap_or_else(|e| panic!("{e}"));
    let loaded = i.load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(format!("{tenant:?}"), format!("{loaded:?}"));
    let text = |w: &[tpr_tenant::Warning]| w.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert_eq!(text(&lints), text(&i.lint(&loaded)));
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
    assert_one_read_agrees(&imported);
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

    assert_policies(&t, "csv/SBCConnect-AU__policies.csv");
    // The CSV says "<all PSTN gateways chosen at run time>": here, the --var.
    for (r, _) in assert_routes(&t, "csv/SBCConnect-AU__routes.csv") {
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

#[test]
fn telesmart_tenant_dial_plans_import_as_the_corpus_lists_them() {
    let script = data("Telesmart-nz_anz-dialplan_patch-TenantDialPlans.ps1");
    let e = import_file(&script, &ImportOptions::default()).unwrap_err().to_string();
    assert!(e.ends_with(":270:16: error: a pipeline into `Where-Object` is not supported: tpr imports straight-line scripts (--skip-unsupported passes over such statements)"), "{e}");
    let opts = ImportOptions {
        skip_unsupported: true,
        country: Some("NZ".into()),
        ..ImportOptions::default()
    };
    let imported = import_file(&script, &opts).unwrap_or_else(|e| panic!("{e}"));
    assert_one_read_agrees(&imported);
    // Each `If (Get-CsTenantDialPlan …)` finds no plan in a new tenant and takes its `else`.
    assert_eq!(
        imported_rules(&table(&imported)),
        corpus_rules("Telesmart-nz_anz-dialplan_patch-TenantDialPlans.ps1")
    );
    let tenant = imported.load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tenant.dial_plans.len(), 9);
    assert_eq!(
        warnings(&imported),
        [
            "270:16: skipped a pipeline into `Where-Object`",
            "278:1: skipped `switch` statement",
            "287:1: skipped `foreach` loop (its list is unknown: the value of a pipeline into `Where-Object` that was skipped)",
            "344:1: skipped `switch` statement",
            "354:1: skipped dot-sourcing another script",
        ]
    );
}

#[test]
fn teamstools_create_script_imports_as_the_corpus_lists_it() {
    let script = data("shanehoey_TeamsTools_scripts_create.ps1");
    let url = "https://gist.githubusercontent.com/shanehoey/68c3f24ea4301d84220891f830b73b63/raw/6b61c95566b42a6a842ab6f815a705380521e281/defaults.xml";
    let e = import_file(&script, &ImportOptions::default()).unwrap_err().to_string();
    assert!(e.contains(&format!("error: `invoke-webrequest` downloads {url}: give a local copy with --resource '{url}=FILE'")), "{e}");
    let opts = ImportOptions {
        resources: vec![(url.into(), data("shanehoey_TeamsTools_TeamsToolsConfig_default.xml"))],
        ..ImportOptions::default()
    };
    let imported = import_file(&script, &opts).unwrap_or_else(|e| panic!("{e}"));
    assert_one_read_agrees(&imported);
    let t = table(&imported);

    let mut expected: BTreeMap<String, Vec<RuleRow>> = BTreeMap::new();
    for r in csv_rows(data("csv/shanehoey-TeamsTools__dialplan_rules.csv")) {
        expected.entry(r["dial_plan"].clone()).or_default().push((
            r["rule_name"].clone(),
            r["pattern"].clone(),
            r["translation"].clone(),
        ));
    }
    assert_eq!(imported_rules(&t), expected);

    let usages: Vec<String> = csv_rows(data("csv/shanehoey-TeamsTools__usages.csv"))
        .into_iter()
        .map(|r| r["usage"].clone())
        .collect();
    assert_eq!(strs(&t["pstn_usages"]), usages);

    for (r, e) in assert_routes(&t, "csv/shanehoey-TeamsTools__routes.csv") {
        assert_eq!(strs(&r["gateways"]).join(";"), e["gateways"]);
    }
    assert_policies(&t, "csv/shanehoey-TeamsTools__policies.csv");

    let gateways = t["gateways"].as_array().unwrap();
    let expected = csv_rows(data("csv/shanehoey-TeamsTools__gateways.csv"));
    assert_eq!(gateways.len(), expected.len());
    for (g, e) in gateways.iter().zip(&expected) {
        assert_eq!(g["fqdn"].as_str().unwrap(), e["gateway_fqdn"]);
        assert_eq!(
            g["sip_signaling_port"].as_integer().unwrap().to_string(),
            e["sip_signaling_port"]
        );
        assert_eq!(
            g["max_concurrent_sessions"].as_integer().unwrap().to_string(),
            e["max_concurrent_sessions"]
        );
        let codes: Vec<String> = g["failover_response_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_integer().unwrap().to_string())
            .collect();
        assert_eq!(codes.join(","), e["failover_response_codes"]);
        assert_eq!(
            g.get("gateway_site_id").and_then(|v| v.as_str()).unwrap_or(""),
            e["gateway_site_id"]
        );
        assert_eq!(g.get("proxy_sbc").and_then(|v| v.as_str()).unwrap_or(""), e["proxy_sbc"]);
    }

    let users = t["users"].as_array().unwrap();
    let expected = csv_rows(data("csv/shanehoey-TeamsTools__users.csv"));
    assert_eq!(users.len(), expected.len());
    for (u, e) in users.iter().zip(&expected) {
        assert_eq!(u["id"].as_str().unwrap(), e["upn"]);
        assert_eq!(u["number"].as_str().unwrap(), e["telephone_number"]);
        assert_eq!(u["number_type"].as_str().unwrap(), "direct_routing");
        assert_eq!(u["usage_location"].as_str().unwrap(), e["usage_location"]);
        assert_eq!(u["voice_routing_policy"].as_str().unwrap(), e["voice_routing_policy"]);
        assert_eq!(u["dial_plan"].as_str().unwrap(), e["tenant_dial_plan"]);
    }
    let tenant = imported.load().unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));
    assert_eq!(tenant.country.as_str(), "AU");
    assert_eq!(tenant.policies.network_sites.len(), 4);
    assert_eq!(
        tenant.policies.network_site("AUBNE").unwrap().subnets,
        ["172.16.8.0/24", "172.16.9.0/24"]
    );
    let w = warnings(&imported);
    assert_eq!(w.len(), 16, "{w:#?}");
    assert_eq!(
        w[0],
        "37:1: `Add-TeamsVirtualTrustedIPAddress` configures something tpr does not model; passed over"
    );
    assert_eq!(
        w[5],
        "145:245: survivable branch appliance policies are not modelled by tpr; passed over"
    );
}

/// The corpus script saved the ways Windows saves scripts: UTF-16 little- and big-endian
/// with a byte-order mark (Windows PowerShell's `Out-File` and `>`), UTF-8 with and without
/// one, CRLF line ends. Each imports to the same tenant with the same warnings at the same
/// places.
#[test]
fn a_script_reads_the_same_in_every_encoding_windows_saves() {
    let original =
        std::fs::read(data("Telesmart-nz_anz-dialplan_patch-TenantDialPlans.ps1")).unwrap();
    let text = std::str::from_utf8(original.strip_prefix(b"\xef\xbb\xbf").unwrap()).unwrap();
    let crlf = text.replace('\n', "\r\n");
    let utf16 = |s: &str, le: bool| -> Vec<u8> {
        let mut out = if le { vec![0xff, 0xfe] } else { vec![0xfe, 0xff] };
        for u in s.encode_utf16() {
            out.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        out
    };
    let opts = ImportOptions {
        skip_unsupported: true,
        country: Some("NZ".into()),
        name: Some("nz".into()),
        ..ImportOptions::default()
    };
    let dir = std::env::temp_dir().join(format!("tpr-encodings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let body = |i: &Imported| i.toml.split_once('\n').unwrap().1.to_owned();
    let reference =
        import_file(&data("Telesmart-nz_anz-dialplan_patch-TenantDialPlans.ps1"), &opts).unwrap();
    for (name, bytes) in [
        ("utf8.ps1", text.as_bytes().to_vec()),
        ("crlf.ps1", crlf.as_bytes().to_vec()),
        ("utf16le.ps1", utf16(text, true)),
        ("utf16be.ps1", utf16(text, false)),
        ("utf16le-crlf.ps1", utf16(&crlf, true)),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let imported = import_file(&path, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(body(&imported), body(&reference), "{name}");
        assert_eq!(warnings(&imported), warnings(&reference), "{name}");
    }
    // UTF-16 that does not decode is an error at its line and column.
    let mut broken =
        utf16("Set-CsOnlinePstnUsage -Identity Global -Usage @{Add='Local'}\n# ", true);
    broken.extend([0x00, 0xd8]);
    let path = dir.join("broken.ps1");
    std::fs::write(&path, broken).unwrap();
    let e = import_file(&path, &opts).unwrap_err().to_string();
    assert!(
        e.ends_with("broken.ps1:2:3: error: not valid UTF-16 (a lone surrogate 0xd800)"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The local copy of what a script downloads (`--resource`), saved with a byte-order mark or
/// as UTF-16, gives the tenant the plain copy gives.
#[test]
fn a_resource_reads_in_the_encodings_windows_saves() {
    let script = data("shanehoey_TeamsTools_scripts_create.ps1");
    let url = "https://gist.githubusercontent.com/shanehoey/68c3f24ea4301d84220891f830b73b63/raw/6b61c95566b42a6a842ab6f815a705380521e281/defaults.xml";
    let xml = data("shanehoey_TeamsTools_TeamsToolsConfig_default.xml");
    let with = |path: PathBuf| {
        let opts =
            ImportOptions { resources: vec![(url.into(), path)], ..ImportOptions::default() };
        import_file(&script, &opts).unwrap_or_else(|e| panic!("{e}"))
    };
    let reference = with(xml.clone());
    let text = std::fs::read_to_string(&xml).unwrap();
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let dir = std::env::temp_dir().join(format!("tpr-resource-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(text.as_bytes());
    for (name, bytes) in [("utf16.xml", utf16), ("bom.xml", bom)] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let imported = with(path);
        assert_eq!(imported.toml, reference.toml, "{name}");
        assert_eq!(warnings(&imported), warnings(&reference), "{name}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A script without a byte-order mark that is not UTF-8 is read as Windows PowerShell 5.1
/// reads it, in Windows-1252, with a warning on its first such line: a `Zürich` in a string,
/// and the curly quotes and en dash a word processor puts in, which PowerShell reads as
/// quotes and a hyphen.
#[test]
fn an_ansi_script_reads_as_windows_1252() {
    let ansi = b"Set-CsOnlinePstnUsage -Identity Global -Usage @{Add='Local'}\n\
                 New-CsOnlineVoiceRoute -Identity \x93Z\xfcrich Local\x94 \x96NumberPattern '^\\+41(\\d+)$' -OnlinePstnUsages Local -OnlinePstnGatewayList \x91sbc.example.ch\x92\n";
    let dir = std::env::temp_dir().join(format!("tpr-ansi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ansi.ps1");
    std::fs::write(&path, ansi).unwrap();
    let opts = ImportOptions { country: Some("CH".into()), ..ImportOptions::default() };
    let imported = import_file(&path, &opts).unwrap_or_else(|e| panic!("{e}"));
    let w = warnings(&imported);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("2:1: not UTF-8 and no byte-order mark: read as Windows-1252"),
        "{w:?}"
    );
    let t = table(&imported);
    let route = &t["voice_routes"].as_array().unwrap()[0];
    assert_eq!(route["name"].as_str(), Some("Zürich Local"));
    assert_eq!(route["number_pattern"].as_str(), Some(r"^\+41(\d+)$"));
    assert_eq!(strs(&route["gateways"]), ["sbc.example.ch"]);
    // Among the script's other warnings, it keeps script order.
    let mut script = b"switch ($x) { default { } }\n# Z\xfcrich\n".to_vec();
    script.extend_from_slice(ansi);
    script.extend_from_slice(b"while ($true) { }\n");
    std::fs::write(&path, &script).unwrap();
    let opts = ImportOptions { skip_unsupported: true, ..opts };
    let w = warnings(&import_file(&path, &opts).unwrap_or_else(|e| panic!("{e}")));
    let lines: Vec<&str> = w.iter().map(|w| w.split(':').next().unwrap()).collect();
    assert_eq!(lines, ["1", "2", "5"], "{w:?}");
    assert!(w[1].starts_with("2:1: not UTF-8"), "{w:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The decoding itself: marks are dropped, UTF-8 passes through, Windows-1252's typographic
/// range maps where Windows maps it.
#[test]
fn script_bytes_decode_as_powershell_reads_them() {
    let d = |b: &[u8]| tpr_tenant::decode_script(b).unwrap();
    assert_eq!(d(b"\xef\xbb\xbfa\xc3\xbc").text, "aü");
    assert_eq!(d(b"\xef\xbb\xbfa\xc3\xbc").ansi_from_line, None);
    assert_eq!(d(b"\xff\xfea\x00\xfc\x00").text, "aü");
    assert_eq!(d(b"\xfe\xff\x00a\x00\xfc").text, "aü");
    let ansi = d(b"x\ny\n\x80\x81\x93\x94\x96\x97\x9f\xe9");
    assert_eq!(ansi.text, "x\ny\n\u{20ac}\u{81}\u{201c}\u{201d}\u{2013}\u{2014}\u{178}é");
    assert_eq!(ansi.ansi_from_line, Some(3));
    assert!(tpr_tenant::decode_script(b"\xff\xfea").is_err());
}

fn import(script: &str) -> Result<Imported, String> {
    import_str(
        script,
        "s.ps1",
        ".",
        &ImportOptions { country: Some("US".into()), ..ImportOptions::default() },
    )
    .map_err(|e| e.to_string())
}

#[test]
fn the_language_admins_use() {
    let script = r#"
<# A block comment
   over lines #>
Connect-MicrosoftTeams   # session set-up: passed over
$plan = "HQ"
$ext = '^(\d{4})$'
$rules = @()
$rules += New-CsVoiceNormalizationRule -Parent $plan -Name 'Ext' -Pattern $ext `
    -Translation '+1425555$1' -InMemory
$rules += New-CsVoiceNormalizationRule -Identity "$plan/Operator" -Pattern '^0$' -Translation "+14255550100" -InMemory
New-CsTenantDialPlan -Identity $plan -NormalizationRules @{Add = $rules}; Write-Host "done $plan"
Set-CsTenantDialPlan $plan -NormalizationRules @{Remove = $rules[1]}
Set-CsOnlinePstnUsage -Identity Global -Usage @{Add = "US", "Intl"}
Set-CsOnlinePstnUsage Global -Usage @{Remove = 'Intl'}
New-CsOnlinePSTNGateway -Fqdn sbc1.contoso.com -SipSignalingPort 5061 -Enabled:$true -FailoverResponseCodes "408,503" -MaxConcurrentSessions 20
New-CsOnlineVoiceRoute -Identity "US" -NumberPattern '^\+1\d{10}$' -OnlinePstnGatewayList sbc1.contoso.com -OnlinePstnUsages "US" -Priority 1
$gws = "sbc1.contoso.com"
foreach ($g in @($gws)) { Set-CsOnlinePSTNGateway -Identity $g -SendSipOptions $false }
New-CsOnlineVoiceRoutingPolicy "US Only" -OnlinePstnUsages @{Add="US"}
$n = New-CsTeamsEmergencyNumber -EmergencyDialString "911" -EmergencyDialMask "933;112" -OnlinePSTNUsage "US"
New-CsTeamsEmergencyCallRoutingPolicy -Identity "E911" -EmergencyNumbers @{add=$n} -AllowEnhancedEmergencyServices:$true
if (Get-CsTenantDialPlan -Identity "Nope") { New-CsTenantDialPlan -Identity "Never" } elseif ($plan -eq 'hq') { $chosen = 'yes' } else { $chosen = 'no' }
Set-CsPhoneNumberAssignment -Identity alice@contoso.com -PhoneNumber "+14255550101" -PhoneNumberType DirectRouting
Grant-CsOnlineVoiceRoutingPolicy -Identity alice@contoso.com -PolicyName "Tag:US Only"
Grant-CsTenantDialPlan alice@contoso.com $plan
Grant-CsTeamsEmergencyCallRoutingPolicy -Identity alice@contoso.com -PolicyName E911
New-CsTeamsCallingPolicy -Identity NoWeb -AllowWebPSTNCalling $false -BusyOnBusyEnabledType Unanswered
Grant-CsTeamsCallingPolicy -Identity alice@contoso.com -PolicyName NoWeb
New-CsInboundBlockedNumberPattern -Name "spam" -Pattern '^\+?1312555\d{4}$'
New-CsTeamsTranslationRule -Identity 'StripPlus' -Pattern '^\+(\d+)$' -Translation '$1'
Set-CsOnlinePSTNGateway sbc1.contoso.com -OutboundPstnNumberTranslationRules @{Add='StripPlus'}
"#;
    let imported = import(script).unwrap_or_else(|e| panic!("{e}"));
    let t = table(&imported);
    assert_eq!(
        imported_rules(&t)["HQ"],
        [("Ext".to_owned(), r"^(\d{4})$".to_owned(), "+1425555$1".to_owned())]
    );
    assert_eq!(strs(&t["pstn_usages"]), ["US"]);
    let g = &t["gateways"][0];
    assert_eq!(g["enabled"].as_bool(), Some(true));
    assert_eq!(g["send_sip_options"].as_bool(), Some(false));
    assert_eq!(g["failover_response_codes"].as_array().unwrap().len(), 2);
    assert_eq!(strs(&g["outbound_pstn_number_translation_rules"]), ["StripPlus"]);
    assert_eq!(
        strs(&t["emergency_call_routing_policies"][0]["numbers"][0]["dial_masks"]),
        ["933", "112"]
    );
    let alice = &t["users"][0];
    assert_eq!(alice["voice_routing_policy"].as_str(), Some("US Only"));
    assert_eq!(alice["dial_plan"].as_str(), Some("HQ"));
    assert!(
        t["dial_plans"].as_array().unwrap().iter().all(|p| p["name"].as_str() != Some("Never"))
    );
    let tenant = imported.load().unwrap_or_else(|e| panic!("{e}\n{}", imported.toml));
    let alice = tenant.user("alice@contoso.com").unwrap();
    assert_eq!(alice.policies.calling_policy.as_deref(), Some("NoWeb"));
    assert_eq!(alice.number.as_deref(), Some("+14255550101"));
    assert_eq!(tenant.policies.blocked.patterns.len(), 1);
    assert!(imported.warnings.is_empty(), "{:?}", imported.warnings);
}

#[test]
fn a_group_reference_in_double_quotes_is_a_powershell_variable() {
    let imported = import(
        "New-CsTenantDialPlan -Identity P -NormalizationRules @{Add=(New-CsVoiceNormalizationRule -Parent P -Name R -Pattern '^(\\d{4})$' -Translation \"+1425555$1\" -InMemory)}",
    )
    .unwrap();
    assert_eq!(imported_rules(&table(&imported))["P"][0].2, "+1425555");
    assert_eq!(
        warnings(&imported),
        [
            "1:142: $1 in a double-quoted string is a PowerShell variable that is not set, so it becomes empty: to keep a regex group reference like $1, use single quotes"
        ]
    );
}

#[test]
fn refusals_name_the_line_and_the_construct_and_import_nothing() {
    let cases = [
        (
            "$x = 1\nwhile ($x) { New-CsOnlineVoiceRoutingPolicy P }",
            "s.ps1:2:1: error: `while` statement is not supported: tpr imports straight-line scripts (--skip-unsupported passes over such statements)",
        ),
        (
            "Get-CsOnlineUser | ForEach-Object { Grant-CsTenantDialPlan $_ -PolicyName P }",
            "s.ps1:1:1: error: a pipeline into `ForEach-Object` is not supported: tpr imports straight-line scripts (--skip-unsupported passes over such statements)",
        ),
        (
            "$gw = Read-Host 'SBC?'",
            "s.ps1:1:7: error: what the user types at Read-Host; tpr imports what a script does without running it against Teams",
        ),
        (
            "New-CsOnlineVoiceRoute -Identity R -NumberPatern '^1$'",
            "s.ps1:1:36: error: New-CsOnlineVoiceRoute: no parameter -NumberPatern",
        ),
        (
            "New-CsOnlineVoiceRoute -Identity R -Pri 1 -P x",
            "s.ps1:1:43: error: New-CsOnlineVoiceRoute: -P is ambiguous: -pstnusagelist, -pstngatewaylist, -priority, -pipelinevariable, -passthru",
        ),
        (
            "Set-CsOnlineVoiceRoute -Identity R -Priority 2",
            "s.ps1:1:1: error: Set-CsOnlineVoiceRoute: \"R\" does not exist (no New-… made it earlier in the script)",
        ),
        (
            "New-CsOnlineVoiceRoutingPolicy P\nNew-CsOnlineVoiceRoutingPolicy P",
            "s.ps1:2:1: error: New-CsOnlineVoiceRoutingPolicy: \"P\" already exists",
        ),
        ("New-CsTenantDialPlan -Identity 'P", "s.ps1:1:32: error: string is never closed"),
        (
            "New-CsTenantDialPlan -Identity P -NormalizationRules @{Add=$r",
            "s.ps1:1:54: error: hashtable `@{` is never closed",
        ),
        (
            "Set-CsOnlinePstnUsage -Identity Global -Usage @{Append='x'}",
            "s.ps1:1:40: error: -Usage: @{Append=…} is not one of Add, Remove, Replace",
        ),
        (
            "New-CsOnlinePSTNGateway -Fqdn a.b.c -SipSignalingPort five",
            "s.ps1:1:37: error: -SipSignalingPort must be a whole number, got \"five\"",
        ),
        (
            "Grant-CsOnlineVoiceRoutingPolicy -PolicyName P -Global",
            "s.ps1:1:1: error: Grant-CsOnlineVoiceRoutingPolicy -Global/-Group is not supported: tpr assigns policies to users; define the policy named Global instead",
        ),
        (
            "Do-Something -Now",
            "s.ps1:1:1: error: the command `Do-Something` is not supported: tpr imports straight-line scripts (--skip-unsupported passes over such statements)",
        ),
    ];
    for (script, expected) in cases {
        assert_eq!(import(script).map(|i| i.toml), Err(expected.to_owned()), "{script}");
    }
}

#[test]
fn a_tenant_error_points_at_the_cmdlet_that_made_the_object() {
    let imported = import(
        "Set-CsOnlinePstnUsage -Identity Global -Usage @{Add='US'}\n\
         New-CsOnlineVoiceRoute -Identity R -NumberPattern '^(1$' -OnlinePstnUsages US",
    )
    .unwrap();
    let e = imported.load().unwrap_err().to_string();
    assert!(
        e.starts_with(
            "s.ps1:2:1: error: voice route \"R\": invalid pattern at column 5: unclosed group"
        ),
        "{e}"
    );
    assert!(e.ends_with("(imported TOML line 10)"), "{e}");
}

#[test]
fn no_script_exhausts_the_stack_memory_or_time() {
    let deep = format!("$x = {}1{}", "(".repeat(10_000), ")".repeat(10_000));
    assert_eq!(
        import(&deep).map(|i| i.toml),
        Err("s.ps1:1:38: error: nested more than 64 levels deep".into())
    );
    let doubling = format!("$x = 'ab'\n{}", "$x += $x\n".repeat(40));
    assert_eq!(
        import(&doubling).map(|i| i.toml),
        Err("s.ps1:21:1: error: $x grows past 1048576 characters or items".into())
    );
    let loops = "$l = @(1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20)\n\
                 foreach ($a in $l) { foreach ($b in $l) { foreach ($c in $l) { foreach ($d in $l) { foreach ($e in $l) { $z = 1 } } } } }";
    assert!(
        import(loops).unwrap_err().ends_with("error: the script runs more than 1000000 statements")
    );
    let like = format!("if ('{}' -like '{}b') {{ }}", "a".repeat(3000), "*a".repeat(200));
    assert!(import(&like).is_ok());
}
