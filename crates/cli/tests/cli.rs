//! The `tpr` binary against its command-line contract (design.md): output formats, stdin
//! streaming, exit codes and error messages.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn tpr(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tpr"))
        .args(args)
        .current_dir(workspace())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = stdin.unwrap_or("").to_owned();
    let mut pipe = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || pipe.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

const T: &str = "scenarios/tenants/contoso.toml";

#[test]
fn normalize_prints_input_translated_and_rule() {
    let out = tpr(
        &[
            "normalize",
            "--tenant",
            T,
            "--user",
            "spencer.low",
            "50100",
            "62220100",
            "0",
            "(425) 555-0100",
            "+14255550100",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "50100\t+14255550100\t5digitExtension\n\
         62220100\t+14255550100\tRedmondSitePrefix\n\
         0\t+14255550100\tRedmondOperator\n\
         (425) 555-0100\t+14255550100\t(+1 fallback)\n\
         +14255550100\t\t-\n"
    );
}

#[test]
fn normalize_streams_stdin_in_order_and_reports_bad_lines() {
    let input = "0100\r\n12a\n\n4255554567\n";
    let out = tpr(&["normalize", "--tenant", T, "--dial-plan", "Global"], Some(input));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "0100\t+14255550100\t4digitExtension\n\
         12a\t\t!error: character 'a' at position 3 is not a digit, '+', '*' or '#'\n\
         \t\t!error: no digits dialed\n\
         4255554567\t+14255554567\t(+1 fallback)\n"
    );
    assert_eq!(text(&out.stderr), "tpr: 2 input(s) were not valid dial strings\n");

    // A list saved by Notepad starts with a byte-order mark; it is no part of the number. One
    // later in the input is.
    let out = tpr(
        &["normalize", "--tenant", T, "--dial-plan", "Global"],
        Some("\u{feff}0100\r\n\u{feff}0100\r\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "0100\t+14255550100\t4digitExtension");
    assert!(lines[1].starts_with("\u{feff}0100\t\t!error: character '\\u{feff}'"), "{stdout}");

    // Classic Mac line ends (a lone CR) end lines too, mixed with the others.
    let out = tpr(
        &["normalize", "--tenant", T, "--dial-plan", "Global"],
        Some("0100\r4255554567\r\n0100"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "0100\t+14255550100\t4digitExtension\n\
         4255554567\t+14255554567\t(+1 fallback)\n\
         0100\t+14255550100\t4digitExtension\n"
    );

    let many: String = (0..20_000).map(|i| format!("{:04}\n", i % 10_000)).collect();
    let out = tpr(&["normalize", "--tenant", T, "--dial-plan", "Global"], Some(&many));
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 20_000);
    assert_eq!(lines[12_345], "2345\t+14255552345\t4digitExtension");
}

#[test]
fn normalize_tenant_scope_only_and_country() {
    let out = tpr(
        &[
            "normalize",
            "--tenant",
            T,
            "--user",
            "spencer.low",
            "--tenant-scope-only",
            "50100",
            "4255550100",
        ],
        None,
    );
    assert_eq!(text(&out.stdout), "50100\t+14255550100\t5digitExtension\n4255550100\t\t-\n");
    let out = tpr(
        &["normalize", "--tenant", T, "--dial-plan", "Global", "--country", "nz", "048014640"],
        None,
    );
    assert_eq!(text(&out.stdout), "048014640\t+6448014640\tNZ Long Distance\n");
}

#[test]
fn normalize_json_explains_every_pass() {
    let out =
        tpr(&["normalize", "--tenant", T, "--user", "spencer.low", "--json", "50100", "x"], None);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let lines: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    let v = &lines[0];
    assert_eq!(v["result"], "+14255550100");
    assert_eq!(v["translated"], true);
    assert_eq!(v["dial_plan"], "RedmondDialPlan");
    assert_eq!(v["usage_location"], "US");
    let pass = &v["passes"][0];
    assert_eq!(pass["rule"], "5digitExtension");
    assert_eq!(pass["scope"], "tenant");
    assert_eq!(pass["position"], 0);
    assert_eq!(pass["pattern"], r"^5(\d{4})$");
    assert_eq!(pass["captures"], serde_json::json!(["50100", "0100"]));
    assert_eq!(lines[1]["error"], "character 'x' at position 1 is not a digit, '+', '*' or '#'");
}

#[test]
fn bad_tenant_files_give_located_errors_and_exit_1() {
    let dir = std::env::temp_dir().join(format!("tpr-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[tenant]\nname = \"t\"\ncountry = \"US\"\n[[dial_plans]]\nname = \"P\"\nrules = [ { name = \"r\", pattern = '^(1' } ]\n").unwrap();
    let out = tpr(&["normalize", "--tenant", bad.to_str().unwrap(), "--dial-plan", "P", "1"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "{}:6:39: error: dial plan \"P\", rule 1 \"r\": invalid pattern at column 4: unclosed group: missing closing parenthesis\n",
            bad.display()
        )
    );
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();

    let out = tpr(&["normalize", "--tenant", "does/not/exist.toml", "--user", "a", "1"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("error: does/not/exist.toml: "), "{}", text(&out.stderr));

    let out = tpr(&["normalize", "--tenant", "x.ps1", "--user", "a", "1"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("error: x.ps1: "), "{}", text(&out.stderr));
}

#[test]
fn usage_errors_exit_1_and_help_exits_0() {
    let out = tpr(&["normalize", "--tenant", T, "1"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--user <ID>|--dial-plan <NAME>"));
    let out = tpr(&["normalize", "--tenant", T, "--user", "nobody", "1"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), format!("tpr: {T}: no user \"nobody\" in the tenant\n"));
    let out = tpr(&["--help"], None);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("normalize"));
}

const TELESMART: &str =
    "crates/tenant/testdata/powershell/Telesmart-nz_anz-dialplan_patch-TenantDialPlans.ps1";

#[test]
fn import_writes_toml_that_normalize_reads() {
    // As written the script reads the live tenant's users: refused, with the place.
    let out = tpr(&["import", TELESMART], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "{TELESMART}:270:16: error: a pipeline into `Where-Object` is not supported: tpr imports straight-line scripts (--skip-unsupported passes over such statements)\n"
        )
    );
    assert!(out.stdout.is_empty());

    let dir = std::env::temp_dir().join(format!("tpr-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = dir.join("telesmart.toml");
    let out = tpr(
        &[
            "import",
            TELESMART,
            "--skip-unsupported",
            "--country",
            "NZ",
            "-o",
            toml.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr).lines().count(), 5, "one warning per skipped statement");
    // The README's observed Teams outputs (corpus golden cases NZ01, NZ02, NZ04).
    let out = tpr(
        &[
            "normalize",
            "--tenant",
            toml.to_str().unwrap(),
            "--dial-plan",
            "TS-NZ-TDP-04",
            "--country",
            "NZ",
        ],
        Some("8014640\n048014640\n111\n"),
    );
    assert_eq!(
        text(&out.stdout),
        "8014640\t+6448014640\tTS-NZ-NR-04\n048014640\t+6448014640\tNZ Long Distance\n111\t+64111\tNZ Emergency Number\n"
    );
    // `-o -` is standard output, the same TOML; a directory is no place to write it.
    let to_stdout =
        tpr(&["import", TELESMART, "--skip-unsupported", "--country", "NZ", "-o", "-"], None);
    assert_eq!(to_stdout.stdout, std::fs::read(&toml).unwrap());
    assert!(!workspace().join("-").exists(), "a file named - was written");
    let d = dir.to_str().unwrap();
    let out = tpr(&["import", TELESMART, "--skip-unsupported", "--country", "NZ", "-o", d], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr)
            .ends_with(&format!("tpr: cannot write {d}: Is a directory (os error 21)\n")),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();

    let out = tpr(&["import", TELESMART, "--var", "novalue"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "tpr: --var \"novalue\": expected NAME=VALUE\n");
}

/// The importer's messages name `tpr import`'s options: `tpr check` takes them too, and
/// `--tenant` (which does not) says where they are.
#[test]
fn check_takes_the_import_options_and_tenant_says_where_they_are() {
    let out = tpr(&["check", TELESMART], None);
    assert_eq!(out.status.code(), Some(1));
    let out = tpr(&["check", TELESMART, "--skip-unsupported", "--country", "NZ"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "{TELESMART}:270:16: warning: skipped a pipeline into `Where-Object`"
        )),
        "{stdout}"
    );
    let out = tpr(&["check", T, "--skip-unsupported"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!("tpr: --skip-unsupported is for PowerShell scripts; {T} is read as TOML\n")
    );
    let out = tpr(&["route", "--tenant", TELESMART, "--user", "x", "1"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.starts_with(&format!("{TELESMART}:270:16: error: a pipeline")), "{err}");
    assert!(
        err.contains("\nnote: --tenant reads a script with none of `tpr import`'s options"),
        "{err}"
    );
}

/// A clean tenant gets a verdict on stderr (what was checked), and stdout stays empty.
#[test]
fn check_says_what_it_checked() {
    let out = tpr(&["check", T], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    // (The compiled size depends on the regex engine's version: only its unit is pinned.)
    let err = text(&out.stderr);
    let want = format!(
        "{T}: ok: 5004 users, 2 resource accounts, 2 dial plans, 7 gateways, 5 voice routes, 3 PSTN usages, 2 voice routing policies; compiled to "
    );
    assert!(err.starts_with(&want) && err.ends_with(" KiB; 0 warnings\n"), "{err}");
}

#[test]
fn check_prints_located_warnings_and_fails_only_on_errors() {
    let dir = std::env::temp_dir().join(format!("tpr-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let t = dir.join("t.toml");
    std::fs::write(
        &t,
        "[tenant]\nname = \"t\"\ncountry = \"US\"\n[[dial_plans]]\nname = \"P\"\nrules = [\n  { name = \"A\", pattern = '^(\\d+)$' },\n  { name = \"B\", pattern = '^(\\d{4})$' },\n]\n",
    )
    .unwrap();
    let out = tpr(&["check", t.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        format!(
            "{}:8:3: warning: dial plan \"P\", rule 2 \"B\" is shadowed: every dial string it matches is taken earlier, by \"A\"\n",
            t.display()
        )
    );
    let err = text(&out.stderr);
    let want = format!(
        "{}: ok: 0 users, 0 resource accounts, 1 dial plan, 0 gateways, 0 voice routes, 0 PSTN usages, 0 voice routing policies; compiled to ",
        t.display()
    );
    assert!(err.starts_with(&want) && err.ends_with(" KiB; 1 warning\n"), "{err}");
    std::fs::write(&t, "[tenant]\nname = \"t\"\ncountry = \"XX\"\n").unwrap();
    let out = tpr(&["check", t.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!("{}:3:11: error: tenant country: unknown region XX\n", t.display())
    );
    std::fs::remove_dir_all(&dir).unwrap();

    let out = tpr(
        &[
            "check",
            "crates/tenant/testdata/powershell/Telesmart-nz_anz-dialplan_patch-AuVoiceroute.ps1",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "the patch script reads live routes");
}

#[test]
fn a_long_list_of_errors_prints_its_first_fifty_and_counts_the_rest() {
    let dir = std::env::temp_dir().join(format!("tpr-max-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let t = dir.join("t.toml");
    let mut toml = String::from("[tenant]\nname = \"t\"\ncountry = \"US\"\n");
    for i in 0..60 {
        toml.push_str(&format!(
            "[[users]]\nid = \"u{i}\"\nnumber = \"+1206555{i:04}\"\nvoice_routing_policy = \"Nope\"\n"
        ));
    }
    std::fs::write(&t, toml).unwrap();
    let f = t.display().to_string();
    // User i's policy is on line 7 + 4i, column 24.
    let line = |i: usize| {
        format!(
            "{f}:{}:24: error: user \"u{i}\": voice routing policy \"Nope\" is not defined",
            7 + 4 * i
        )
    };
    let first = |n: usize| (0..n).map(line).collect::<Vec<_>>().join("\n");

    let out = tpr(&["check", &f], None);
    assert_eq!(out.status.code(), Some(1));
    let want = format!(
        "{}\n... and 10 more errors (--max-errors 0 lists them all)\n60 errors in {f}\n",
        first(50)
    );
    assert_eq!(text(&out.stderr), want);

    let out = tpr(&["check", &f, "--max-errors", "0"], None);
    assert_eq!(text(&out.stderr), format!("{}\n60 errors in {f}\n", first(60)));
    let out = tpr(&["check", &f, "--max-errors", "59"], None);
    let want = format!(
        "{}\n... and 1 more error (--max-errors 0 lists them all)\n60 errors in {f}\n",
        first(59)
    );
    assert_eq!(text(&out.stderr), want);

    // Other commands print the first fifty too, and name the command that lists them all.
    let out = tpr(&["route", "--tenant", &f, "--user", "u1", "+14255550100"], None);
    assert_eq!(out.status.code(), Some(1));
    let want = format!(
        "{}\n... and 10 more errors (tpr check --max-errors 0 {f} lists them all)\n60 errors in {f}\n",
        first(50)
    );
    assert_eq!(text(&out.stderr), want);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn route_prints_kind_and_gateways_in_try_order() {
    let out = tpr(
        &[
            "route",
            "--tenant",
            T,
            "--user",
            "spencer.low",
            "50100",
            "933",
            "+442071234567",
            "4255550102",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<Vec<&str>> = stdout.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(&lines[0][..3], ["50100", "+14255550100", "direct-routing"]);
    let routes: Vec<&str> = lines[0][3].split("; ").map(|r| r.split(':').next().unwrap()).collect();
    assert_eq!(routes, ["Redmond 1", "Redmond 2", "Other +1"]);
    assert!(lines[0][3].contains("sbc1.contoso.com") && lines[0][3].contains("sbc4.contoso.com"));
    assert_eq!(lines[1], ["933", "911", "emergency", "Emergency 911: sbc-e911.contoso.com"]);
    assert_eq!(lines[2], ["+442071234567", "+442071234567", "rejected", "no-route"]);
    assert_eq!(lines[3], ["4255550102", "+14255550102", "internal", "to john.woods"]);
}

#[test]
fn route_same_seed_same_order_and_seeds_differ() {
    let run = |seed: &str| {
        let input = "+14255550100\n".repeat(20);
        let out =
            tpr(&["route", "--tenant", T, "--user", "spencer.low", "--seed", seed], Some(&input));
        assert!(out.status.success());
        text(&out.stdout)
    };
    assert_eq!(run("7"), run("7"));
    assert_ne!(run("7"), run("8"));
}

#[test]
fn route_json_inbound_and_errors() {
    let out =
        tpr(&["route", "--tenant", T, "--user", "john.woods", "--json", "+442071234567"], None);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["usage"], "International");
    assert_eq!(v["candidates"].as_array().unwrap().len(), 2);
    assert_eq!(v["caller_id"], "+14255550102");
    // Lines hold exactly these keys, in this order; `usage` and `candidates` only for Direct
    // Routing, `reason` only for a rejection.
    let out = tpr(
        &["route", "--tenant", T, "--user", "alex.wilber", "--json", "+442071234567", "911"],
        None,
    );
    assert_eq!(
        text(&out.stdout),
        "{\"caller_id\":\"\",\"detail\":\"dial-out-policy\",\"emergency\":false,\
         \"input\":\"+442071234567\",\"kind\":\"rejected\",\"normalized\":\"+442071234567\",\
         \"reason\":\"dial-out-policy\",\"rules\":\"-\"}\n\
         {\"caller_id\":\"+12065550104\",\"detail\":\"operator trunk fabrikam-east\",\
         \"emergency\":true,\"input\":\"911\",\"kind\":\"emergency\",\"normalized\":\"911\",\
         \"rules\":\"-\"}\n"
    );
    let out =
        tpr(&["route", "--tenant", T, "--user", "john.woods", "--json", "+14255550100"], None);
    let line = text(&out.stdout);
    let keys: Vec<&str> = line
        .match_indices("\":")
        .map(|(i, _)| &line[line[..i].rfind('"').unwrap() + 1..i])
        .filter(|k| !["callee", "caller", "gateway", "route"].contains(k))
        .collect();
    assert_eq!(
        keys,
        [
            "caller_id",
            "candidates",
            "detail",
            "emergency",
            "input",
            "kind",
            "normalized",
            "rules",
            "usage"
        ],
        "{line}"
    );

    let out = tpr(&["route", "--tenant", T, "--inbound", "+14255550101", "+14255559999"], None);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("+14255550101\t+14255550101\tinternal\tto spencer.low: rings"),
        "{stdout}"
    );
    assert!(stdout.contains("\trejected\tnot-found (404)"), "{stdout}");

    let out = tpr(&["route", "--tenant", T, "--user", "nobody", "1"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no user \"nobody\""));
    let out = tpr(&["route", "--tenant", T, "--inbound", "--via", "sbc9.contoso.com", "1"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not a gateway"), "{}", text(&out.stderr));
}

#[test]
fn sim_runs_the_bundled_default_with_the_report_schema() {
    let out = tpr(&["sim", "--json", "-", "--quiet"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "seed",
        "simulated_s",
        "wall_ms",
        "events",
        "events_per_s",
        "offered",
        "carried",
        "failed",
        "blocked",
        "blocking_probability",
        "failovers",
        "emergency",
        "by_connectivity",
        "gateways",
        "minute_pools",
        "decision_latency_ns",
        "leaked_permits",
    ] {
        assert!(v.get(key).is_some(), "no {key} in {v}");
    }
    for key in ["direct_routing", "calling_plan", "operator_connect", "internal"] {
        assert!(v["by_connectivity"][key].as_u64().unwrap() > 0, "{key}");
    }
    let sbc1 = &v["gateways"]["sbc1.contoso.com"];
    for key in
        ["attempts", "answered", "peak_concurrent", "mean_concurrent", "utilization", "alerts"]
    {
        assert!(sbc1.get(key).is_some(), "no gateways.*.{key}");
    }
    for key in ["p50", "p90", "p99", "p999", "max"] {
        assert!(v["decision_latency_ns"][key].as_u64().unwrap() > 0, "{key}");
    }
    assert_eq!(v["leaked_permits"], 0);
    assert_eq!(v["seed"], 7);
}

#[test]
fn sim_writes_csv_and_svg_and_takes_a_seed() {
    let dir = std::env::temp_dir().join(format!("tpr-sim-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (csv, svg) = (dir.join("s.csv"), dir.join("p.svg"));
    let out = tpr(
        &[
            "sim",
            "scenarios/storms/tv-vote.toml",
            "--seed",
            "3",
            "--csv",
            csv.to_str().unwrap(),
            "--plot",
            svg.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("seed 3"), "{report}");
    assert!(report.contains("support-queue"), "{report}");
    let series = std::fs::read_to_string(&csv).unwrap();
    assert!(series.starts_with("ElapsedTime(C),CallRate(P),OutgoingCall(P)"), "{series}");
    assert_eq!(series.lines().count(), 1 + 120, "30 minutes in 15 s intervals");
    let plot = std::fs::read_to_string(&svg).unwrap();
    assert!(plot.starts_with("<svg") && plot.contains("calls in progress per gateway"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sim_runs_several_tenants_as_shards_of_one_report() {
    let (a, b) = ("scenarios/storms/tv-vote.toml", "scenarios/storms/emergency-outage.toml");
    let json = |args: &[&str]| -> serde_json::Value {
        let out = tpr(args, None);
        assert!(out.status.success(), "{}", text(&out.stderr));
        serde_json::from_str(&text(&out.stdout)).unwrap()
    };
    let one = json(&["sim", a, "--json", "-", "--quiet"]);
    let two = json(&["sim", b, "--json", "-", "--quiet"]);
    let both = json(&["sim", a, b, "--json", "-", "--quiet", "--threads", "2"]);
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap();
    assert_eq!(n(&both, "offered"), n(&one, "offered") + n(&two, "offered"));
    assert_eq!(n(&both, "repetitions"), 2);
    assert_eq!(both["leaked_permits"], 0);
    // Each tenant's gateways under its own name.
    let tenant = one["tenant"].as_str().unwrap();
    let gateways = both["gateways"].as_object().unwrap();
    assert!(gateways.keys().any(|k| k.starts_with(&format!("{tenant}/"))), "{gateways:?}");
    // A combined series needs one interval.
    let out = tpr(&["sim", a, b, "--csv", "/dev/null", "--quiet"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("one series interval"), "{}", text(&out.stderr));
}

#[test]
fn sim_errors_point_at_the_scenario() {
    let dir = std::env::temp_dir().join(format!("tpr-sim-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[run]\nduration = \"1h\"\n[tenant]\nfile = \"nowhere.toml\"\n[[traffic]]\narrivals = { process = \"poisson\", rate_per_s = 1.0 }\nhold = { dist = \"fixed\", value = \"1m\" }\ndestinations = [ { kind = \"national\" } ]\n").unwrap();
    let out = tpr(&["sim", bad.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("bad.toml:4:8: error: tenant file"), "{err}");
    std::fs::write(&bad, "[run]\nduration = \"1 hour\"\n").unwrap();
    let out = tpr(&["sim", bad.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("bad.toml:2:12: error: duration"), "{}", text(&out.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A TOML file saved in Latin-1 (TOML is UTF-8) is refused at its first bad byte, by every
/// command that reads one.
#[test]
fn toml_that_is_not_utf8_is_an_error_at_its_first_bad_byte() {
    let dir = std::env::temp_dir().join(format!("tpr-latin1-toml-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tenant = dir.join("t.toml");
    let mut bytes = std::fs::read(workspace().join("scenarios/tenants/acme.toml")).unwrap();
    bytes.extend_from_slice(b"\n# Z\xfcrich office\n");
    std::fs::write(&tenant, &bytes).unwrap();
    let line = bytes.iter().filter(|&&b| b == b'\n').count();
    let want = format!("t.toml:{line}:4: error: not valid UTF-8");
    let path = tenant.to_str().unwrap();
    for args in [
        vec!["check", path],
        vec!["route", "--tenant", path, "--user", "avery.sample", "911"],
        vec!["normalize", "--tenant", path, "--dial-plan", "Global", "911"],
    ] {
        let out = tpr(&args, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(text(&out.stderr).contains(&want), "{args:?}: {}", text(&out.stderr));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn replay_reads_traces_and_reports_bad_rows() {
    let acme = "scenarios/tenants/acme.toml";
    let out = tpr(
        &[
            "replay",
            "scenarios/traces/SYNTHETIC_teams_pstn_usage_DirectRouting.csv",
            "--tenant",
            acme,
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("DirectRouting.csv:7: skipped: duration \"oops\""), "{err}");
    assert!(text(&out.stdout).contains("offered         5"), "{}", text(&out.stdout));
    let out = tpr(
        &[
            "replay",
            "scenarios/traces/SYNTHETIC_teams_pstn_usage_DirectRouting.csv",
            "--tenant",
            acme,
            "--strict",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("DirectRouting.csv:7: error: duration"),
        "{}",
        text(&out.stderr)
    );
    let out = tpr(
        &["replay", "scenarios/traces/acme-day.csv", "--tenant", acme, "--json", "-", "--quiet"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["offered"], 9);
    assert_eq!(v["leaked_permits"], 0);
    // `-` reads the trace from standard input: the same replay, named <stdin>; its bad rows
    // are named that way too.
    let day = std::fs::read_to_string(workspace().join("scenarios/traces/acme-day.csv")).unwrap();
    let out = tpr(&["replay", "-", "--tenant", acme, "--json", "-", "--quiet"], Some(&day));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut piped: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(piped["scenario"], "<stdin>");
    for r in [&mut v, &mut piped] {
        for wall in ["scenario", "wall_ms", "events_per_s", "decision_latency_ns"] {
            r.as_object_mut().unwrap().remove(wall);
        }
    }
    assert_eq!(v, piped);
    let out = tpr(&["replay", "-", "--tenant", acme, "--strict"], Some(&format!("{day}0,x\n")));
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("<stdin>:11: error: direction"), "{}", text(&out.stderr));
}

/// A Latin-1 caller name in an Asterisk CDR: a warning naming the line, and the replay goes
/// on; `--strict` stops there instead.
#[test]
fn replay_reads_a_trace_with_bytes_that_are_not_utf8() {
    let dir = std::env::temp_dir().join(format!("tpr-latin1-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("Master.csv");
    let sample =
        std::fs::read(workspace().join("scenarios/traces/SYNTHETIC_asterisk_cdr_csv_Master.csv"))
            .unwrap();
    let mut bytes = Vec::new();
    for (i, line) in sample.split_inclusive(|&b| b == b'\n').enumerate() {
        match (i, line.iter().position(|&b| b == b'<')) {
            (2, Some(at)) => {
                bytes.extend_from_slice(&line[..at]);
                bytes.extend_from_slice(b"Jos\xe9 ");
                bytes.extend_from_slice(&line[at..]);
            }
            _ => bytes.extend_from_slice(line),
        }
    }
    std::fs::write(&trace, &bytes).unwrap();
    let path = trace.to_str().unwrap();
    let acme = "scenarios/tenants/acme.toml";
    let out = tpr(&["replay", path, "--tenant", acme, "--json", "-", "--quiet"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("Master.csv:3: warning: not valid UTF-8; read with U+FFFD"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["offered"], 24);
    let out = tpr(&["replay", path, "--tenant", acme, "--strict"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("Master.csv:3: error: not valid UTF-8"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bench_reports_the_fastest_of_its_rounds() {
    let out = tpr(&["bench", "--calls", "20000", "--rounds", "3"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let rate = |line: &str, after: &str| -> f64 {
        let rest =
            &line[line.find(after).unwrap_or_else(|| panic!("{after} in {line}")) + after.len()..];
        rest.split_whitespace().next().unwrap().trim_end_matches(',').parse().unwrap()
    };
    let lines: Vec<&str> = stdout.lines().collect();
    let tpr_line = lines.iter().find(|l| l.starts_with("  tpr: ")).expect(&stdout);
    let rounds = lines.iter().find(|l| l.contains("fastest of 3 rounds")).expect(&stdout);
    // The reported throughput is the fastest round, so no slower than the median or slowest.
    let fastest = rate(tpr_line, "tpr: ");
    let (median, slowest) = (rate(rounds, "median "), rate(rounds, "slowest "));
    assert!(fastest >= median && median >= slowest, "{stdout}");
    // The bundled tenant's records stay in cache: no asking ahead, and the report says so.
    assert!(stdout.contains("\n       no memory asked for ahead: "), "{stdout}");
    // Latencies by kind: every kind decided (the bundled tenant's calls take them all but
    // rejections), each with a p50 no higher than its p99.
    let by_kind = lines.iter().find(|l| l.starts_with("  latency by kind: ")).expect(&stdout);
    let kinds: Vec<&str> = by_kind["  latency by kind: ".len()..].split("; ").collect();
    for kind in ["direct-routing", "calling-plan", "operator-connect", "internal", "emergency"] {
        let k = kinds.iter().find(|k| k.starts_with(&format!("{kind} p50 "))).expect(by_kind);
        let (p50, p99) = (rate(k, " p50 "), rate(k, " p99 "));
        assert!(p50 > 0.0 && p50 <= p99, "{by_kind}");
    }
    // One round (the default) prints no rounds line.
    let out = tpr(&["bench", "--calls", "20000"], None);
    assert!(!text(&out.stdout).contains("rounds"), "{}", text(&out.stdout));
    // 1,100 tenants of 50 callers do not: each decision asks for the next calls' memory.
    let small = "scenarios/perf/small-50rules.toml";
    let out = tpr(&["bench", "--tenant", small, "--tenants", "1100", "--calls", "20000"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("\n       each decision asks for the coming calls' memory: "),
        "{stdout}"
    );
    // The Calling Plan variant of the same tenant: most of its calls go to the Calling Plan,
    // through the same prefetch steps.
    let cp = "scenarios/perf/small-50rules-calling-plan.toml";
    let out = tpr(&["bench", "--tenant", cp, "--tenants", "1100", "--calls", "20000"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let share = stdout
        .split("calling-plan ")
        .nth(1)
        .and_then(|rest| rest.split(" %").next())
        .and_then(|p| p.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(share > 75.0, "{stdout}");
    let out = tpr(&["bench", "--calls", "20000", "--rounds", "0"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--rounds must be at least 1"), "{}", text(&out.stderr));
}

/// `--callers N` holds the callers fixed as `--tenants` changes: the tenant's user range is
/// resized so that the copies have N callers in all (rounded down to a multiple of K), and
/// what cannot be done is refused before any work.
#[test]
fn bench_holds_the_callers_fixed_over_tenant_counts() {
    let small = "scenarios/perf/small-50rules.toml";
    for (tenants, callers) in [("1", "994"), ("7", "994"), ("2", "1000")] {
        let args = ["bench", "--tenant", small, "--tenants", tenants, "--callers", "1000"];
        let out = tpr(&[&args[..], &["--calls", "3000"]].concat(), None);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let head = format!("tenant contoso x{tenants}: {callers} callers, ");
        let want = if tenants == "1" { head.replace("994", "1000") } else { head };
        assert!(stdout.starts_with(&want), "{want} in {stdout}");
    }
    // A list of counts runs each in order and ends with their rates against the first's.
    let args = ["bench", "--tenant", small, "--tenants", "2,1,7", "--callers", "1000"];
    let out = tpr(&[&args[..], &["--calls", "3000"]].concat(), None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let heads: Vec<&str> = stdout.lines().filter(|l| l.starts_with("tenant contoso x")).collect();
    assert_eq!(heads.len(), 3, "{stdout}");
    for (head, want) in
        heads.iter().zip(["x2: 1000 callers", "x1: 1000 callers", "x7: 994 callers"])
    {
        assert!(head.starts_with(&format!("tenant contoso {want}, ")), "{stdout}");
    }
    let table: Vec<&str> =
        stdout.lines().skip_while(|l| !l.starts_with("over tenant counts")).collect();
    assert_eq!(table.len(), 4, "{stdout}");
    assert_eq!(table[0], "over tenant counts (fastest rounds; against x2):");
    for (row, copies) in table[1..].iter().zip(["x2 ", "x1 ", "x7 "]) {
        assert!(row.trim_start().starts_with(copies), "{row}");
        assert!(row.contains(" M decisions/s ") && row.contains(" %  p99 "), "{row}");
    }
    assert!(table[1].contains(" 100 %  p99 "), "{}", table[1]);
    // One count prints no table.
    assert!(!text(&tpr(&["bench", "--calls", "300"], None).stdout).contains("over tenant counts"));
    for (args, message) in [
        (
            // A count that cannot be made stops the run before any work, wherever it is.
            &["--tenants", "1,3", "--callers", "10"][..],
            "--callers 10 over 3 tenants is 3 a tenant, and 4 callers of each are outside user \
             range \"agents\", which needs at least one: give --callers at least 15",
        ),
        (&["--tenants", "2,0"], "--calls, --threads, --tenants and --rounds must be at least 1"),
        (
            &["--tenants", "3", "--callers", "10"][..],
            "--callers 10 over 3 tenants is 3 a tenant, and 4 callers of each are outside user \
             range \"agents\", which needs at least one: give --callers at least 15",
        ),
        (
            &["--callers", "20000000"],
            "--callers 20000000 over 1 tenant needs 19999996 users in user range \"agents\", more \
             than a range holds (10000000)",
        ),
    ] {
        let out = tpr(&[&["bench", "--tenant", small, "--calls", "100"][..], args].concat(), None);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&out.stderr), format!("tpr: {message}\n"), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // Agents counting up from just below the support queue's number take it at 100.
    let dir = std::env::temp_dir().join(format!("tpr-callers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let clash = dir.join("clash.toml");
    let toml = std::fs::read_to_string(workspace().join(small)).unwrap();
    let moved = toml.replace("first_number = \"+14255560000\"", "first_number = \"+18005550100\"");
    assert_ne!(moved, toml);
    std::fs::write(&clash, moved).unwrap();
    let args = ["bench", "--tenant", clash.to_str().unwrap(), "--calls", "100", "--callers"];
    assert!(tpr(&[&args[..], &["103"]].concat(), None).status.success());
    let out = tpr(&[&args[..], &["104"]].concat(), None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "tpr: --callers 104: user range \"agents\": with 100 users it assigns +18005550199, \
         the number of resource account support-queue\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let out = tpr(&["bench", "--tenant", "scenarios/tenants/acme.toml", "--callers", "9"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "tpr: --callers resizes a user range with numbers ([[user_ranges]] with first_number), \
         and tenant acme has none\n"
    );
}

/// `-` sends one output to standard output in place of the text report; outputs that cannot
/// be written are refused before the run (nothing on standard output), not after it.
#[test]
fn sim_outputs_go_to_stdout_or_are_refused_up_front() {
    let out = tpr(&["sim", "--quiet", "--csv", "-"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("ElapsedTime(C),CallRate(P),"), "{stdout}");
    assert!(!stdout.contains("leaked permits"), "{stdout}");
    assert!(!workspace().join("-").exists(), "a file named - was written");
    let out = tpr(&["sim", "--quiet", "--plot", "-"], None);
    assert!(text(&out.stdout).starts_with("<svg "), "{}", text(&out.stdout));

    let dir = std::env::temp_dir().join(format!("tpr-outputs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing/report.json");
    let (d, m) = (dir.to_str().unwrap(), missing.to_str().unwrap());
    for (args, message) in [
        (
            &["sim", "--quiet", "--csv", "-", "--json", "-"][..],
            "only one output can go to standard output (`-`), not --json and --csv".to_owned(),
        ),
        (&["sim", "--quiet", "--plot", d], format!("--plot {d}: it is a directory")),
        (
            &["sim", "--quiet", "--json", "r.out", "--plot", "r.out"],
            "--json and --plot both write r.out: one would overwrite the other".to_owned(),
        ),
        (
            &["sim", "--quiet", "--json", m],
            format!("--json {m}: no directory {}", missing.parent().unwrap().display()),
        ),
        (
            &[
                "replay",
                "scenarios/traces/acme-day.csv",
                "--tenant",
                "scenarios/tenants/acme.toml",
                "--quiet",
                "--csv",
                d,
            ],
            format!("--csv {d}: it is a directory"),
        ),
    ] {
        let out = tpr(args, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&out.stderr), format!("tpr: {message}\n"), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Counts no machine can start are refused before any work: 100,000 threads used to end in
/// an abort inside the standard library, 100 million tenant copies in an allocation failure.
#[test]
fn thread_and_copy_counts_past_the_limits_are_refused() {
    for (args, message) in [
        (&["bench", "--threads", "1025"][..], "--threads must be at most 1024"),
        (&["bench", "--tenants", "100000000"], "--tenants must be at most 1000000"),
        (&["sim", "--threads", "100000", "--quiet"], "--threads must be 1 to 1024"),
        (&["sim", "--threads", "0", "--quiet"], "--threads must be 1 to 1024"),
    ] {
        let out = tpr(args, None);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&out.stderr), format!("tpr: {message}\n"), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// The naive baseline over tenant copies compiles each distinct regex list once: before it
/// did, 1,000 copies of `small-50rules` took 12 GiB and 10,000 ran the machine out of memory.
#[test]
fn bench_compares_with_the_naive_baseline_over_tenant_copies() {
    let out = tpr(
        &["bench", "--calls", "3000", "--tenants", "4", "--baseline", "naive", "--no-share"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("nothing shared"), "{stdout}");
    let naive = stdout.lines().find(|l| l.starts_with("naive: ")).expect(&stdout);
    assert!(naive.contains("M decisions/s"), "{stdout}");
    assert!(stdout.contains("x the naive throughput"), "{stdout}");
}

/// `--lazy-plans` compiles dial plans to lazy DFAs, whose states the worker's scratch then
/// holds (one cache per distinct plan); compact rows, the default, need none.
#[test]
fn bench_lazy_plans_keep_their_states_in_the_scratch() {
    let small = "scenarios/perf/small-50rules.toml";
    let run = |lazy: bool| {
        let mut args = vec!["bench", "--tenant", small, "--tenants", "3", "--no-share"];
        args.extend(["--calls", "3000"]);
        if lazy {
            args.push("--lazy-plans");
        }
        let out = tpr(&args, None);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let caches = |stdout: &str| -> usize {
        let line = stdout.lines().find(|l| l.contains("per thread: one scratch")).expect(stdout);
        let after = &line[line.find("need one: ").expect(line) + "need one: ".len()..];
        after.split_whitespace().next().unwrap().parse().unwrap()
    };
    let compact = run(false);
    assert!(!compact.contains("lazy DFAs)"), "{compact}");
    assert_eq!(caches(&compact), 0, "{compact}");
    let lazy = run(true);
    assert!(lazy.lines().next().unwrap().ends_with("; dial plans as lazy DFAs)"), "{lazy}");
    // Three tenants of two plans each (`Global`, and `RedmondDialPlan` one caller has).
    assert_eq!(caches(&lazy), 6, "{lazy}");
}

#[test]
fn a_reader_that_goes_away_is_not_an_error() {
    // `tpr bench | head -1`: the first line is read, then the pipe closes while the bench
    // measures; its next line must end the run quietly, not as an internal error.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tpr"))
        .args(["bench", "--calls", "300000"])
        .current_dir(workspace())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert!(first.starts_with("tenant contoso x1:"), "{first}");
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(text(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0));
}
