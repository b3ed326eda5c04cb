//! The real dial plans of the corpus: every one compiles, agrees with the reference evaluator
//! on generated inputs, and reproduces the golden cases.

use std::collections::BTreeMap;
use std::path::PathBuf;

use tpr_dialplan::{CompiledPlan, DialPlan, Limits, Mode, ReferencePlan, Rule, service_plan};
use tpr_types::Region;

use crate::inputs::{Rng, near_misses, random_dial, sample};

fn corpus_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/corpus").join(name)
}

/// A plan of the corpus with the region its users would be in.
pub struct CorpusPlan {
    pub label: String,
    pub region: Region,
    pub plan: DialPlan,
}

fn region_of(source: &str, plan: &str, hint: &str) -> &'static str {
    let hint = if hint == "UK" { "GB" } else { hint };
    for code in [
        "NL", "BE", "DE", "FR", "IT", "GR", "HU", "JP", "AU", "BR", "CA", "CL", "CO", "GB", "MZ",
        "PH", "SG", "US", "ZA",
    ] {
        if hint == code {
            return code;
        }
    }
    match () {
        _ if plan.starts_with("AU-") || plan.starts_with("TS-AU") => "AU",
        _ if plan.starts_with("TS-NZ") => "NZ",
        _ if plan.starts_with("UK-") => "GB",
        _ if source.contains("DialPlanNL") => "NL",
        _ if source.contains("US-National") => "US",
        _ => panic!("no region for {source} / {plan}"),
    }
}

/// Teams plan names allow only `[A-Za-z0-9.-]`; the corpus labels plans more freely.
fn teams_name(label: &str) -> String {
    let s: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '-' })
        .collect();
    s.trim_start_matches(['.', '-']).chars().take(49).collect()
}

/// All 36 plans of `ALL_RULES.csv`, rules in their order.
pub fn corpus_plans() -> Vec<CorpusPlan> {
    let mut reader = csv::Reader::from_path(corpus_file("ALL_RULES.csv")).unwrap();
    // (source file, plan label) -> (country hint, rules with their order)
    type Rules = (String, Vec<(usize, Rule)>);
    let mut plans: BTreeMap<(String, String), Rules> = BTreeMap::new();
    for row in reader.deserialize::<BTreeMap<String, String>>() {
        let row = row.unwrap();
        let key = (row["source_file"].clone(), row["dial_plan"].clone());
        let order: usize = row["rule_order"].parse().unwrap();
        let rule = Rule::new(&row["rule_name"], &row["pattern"], &row["translation"]);
        plans
            .entry(key)
            .or_insert_with(|| (row["country_hint"].clone(), Vec::new()))
            .1
            .push((order, rule));
    }
    plans
        .into_iter()
        .map(|((source, label), (hint, mut rules))| {
            rules.sort_by_key(|(o, _)| *o);
            CorpusPlan {
                region: Region::try_new(region_of(&source, &label, &hint)).unwrap(),
                plan: DialPlan::new(
                    teams_name(&label),
                    rules.into_iter().map(|(_, r)| r).collect(),
                ),
                label: format!("{source} / {label}"),
            }
        })
        .collect()
}

#[test]
fn every_corpus_plan_compiles() {
    let plans = corpus_plans();
    assert_eq!(plans.len(), 36);
    assert_eq!(plans.iter().map(|p| p.plan.rules.len()).sum::<usize>(), 157);
    for p in &plans {
        let service = service_plan(p.region).unwrap();
        if let Err(e) = CompiledPlan::compile(Some(&p.plan), service, &Limits::default()) {
            panic!("{}: {e}", p.label);
        }
    }
}

#[test]
fn corpus_plans_agree_with_the_reference() {
    let limits = Limits::default();
    let mut compared = 0usize;
    let mut rules_won = 0usize;
    let mut rules_total = 0usize;
    for (seed, p) in corpus_plans().iter().enumerate() {
        let mut rng = Rng::new(seed as u64);
        let service = service_plan(p.region).unwrap();
        let compiled = CompiledPlan::compile(Some(&p.plan), service, &limits).unwrap();
        let reference = ReferencePlan::new(Some(&p.plan), service, &limits).unwrap();
        let mut inputs = Vec::new();
        for rule in p.plan.rules.iter().chain(&service.rules) {
            for _ in 0..25 {
                if let Some(s) = sample(&rule.pattern, &mut rng) {
                    inputs.extend(near_misses(&s, &mut rng));
                    inputs.push(s);
                }
            }
        }
        inputs.extend((0..200).map(|_| random_dial(&mut rng)));
        let mut won = vec![false; compiled.len()];
        let mut cache = compiled.create_cache();
        for input in &inputs {
            for mode in [Mode::Effective, Mode::TenantScopeOnly] {
                match reference.diff(&compiled, &mut cache, input, mode) {
                    Ok(Some(first)) => won[first] = true,
                    Ok(None) => {}
                    Err(diff) => panic!("{}: {diff} (seed {seed})", p.label),
                }
                compared += 1;
            }
        }
        rules_total += p.plan.rules.len();
        rules_won += won[..p.plan.rules.len()].iter().filter(|w| **w).count();
    }
    assert!(compared > 20_000, "only {compared} comparisons");
    // The generated inputs must exercise the rules, not just the fallback. Some real rules
    // are shadowed by earlier ones and can never win.
    assert!(
        rules_won * 10 >= rules_total * 8,
        "only {rules_won} of {rules_total} tenant rules ever matched first"
    );
}

/// The golden cases of `golden_tests_from_sources.csv`, run against the plans they name.
#[test]
fn golden_cases_from_the_sources() {
    let plans = corpus_plans();
    let find = |label: &str| {
        plans.iter().find(|p| p.label.ends_with(label)).unwrap_or_else(|| panic!("{label}"))
    };
    let mut reader = csv::Reader::from_path(corpus_file("golden_tests_from_sources.csv")).unwrap();
    let mut ran = 0;
    for row in reader.deserialize::<BTreeMap<String, String>>() {
        let row = row.unwrap();
        let id = row["case_id"].as_str();
        let (plan, region, mode) = match id {
            "NZ01" | "NZ02" | "NZ03" | "NZ04" => {
                (find("/ TS-NZ-TDP-04").plan.clone(), "NZ", Mode::Effective)
            }
            "JP01" => {
                (find("/ Global(JP service dial plan rules)").plan.clone(), "JP", Mode::Effective)
            }
            // "After the default rule was removed": the three other rules alone. The effective
            // plan would still add +81 (spec §3.4), so the case is about the rules' own scope.
            "JP02" => {
                let mut p = find("/ Global(JP service dial plan rules)").plan.clone();
                p.rules.retain(|r| r.name != "JP Default Rule");
                (p, "JP", Mode::TenantScopeOnly)
            }
            "AU01" => {
                let mut reader =
                    csv::Reader::from_path(corpus_file("shanehoey-TeamsTools__dialplan_rules.csv"))
                        .unwrap();
                let rules = reader
                    .deserialize::<BTreeMap<String, String>>()
                    .map(Result::unwrap)
                    .filter(|r| r["dial_plan"] == "AU02-DP1")
                    .map(|r| Rule::new(&r["rule_name"], &r["pattern"], &r["translation"]))
                    .collect();
                (DialPlan::new("AU02-DP1", rules), "AU", Mode::Effective)
            }
            other => panic!("golden case {other} has no mapping"),
        };
        let service = service_plan(Region::try_new(region).unwrap()).unwrap();
        let compiled = CompiledPlan::compile(Some(&plan), service, &Limits::default()).unwrap();
        let e = compiled.explain(&row["dialed_as_written"], mode).unwrap();
        assert_eq!(e.cleaned, row["dialed_number"], "{id}");
        let (want_out, want_rule) =
            (&row["expected_translated_number"], &row["expected_matching_rule"]);
        if want_out.is_empty() {
            // Teams prints no translation and no rule: nothing matched, the input stays.
            assert!(!e.outcome.translated(), "{id}: {e:?}");
            assert_eq!(e.output, e.cleaned, "{id}");
        } else {
            assert_eq!(&e.output, want_out, "{id}");
            let last = e.passes.last().map(|p| compiled.rule(p.rule).name.clone());
            assert_eq!(last.as_deref(), Some(want_rule.as_str()), "{id}");
        }
        ran += 1;
    }
    assert_eq!(ran, 7);
}
