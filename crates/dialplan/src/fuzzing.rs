//! Entry points of the fuzz targets in `fuzz/`, kept here so that `cargo test` on stable can
//! replay every saved crash input (`tests/fuzz_regressions/`).
//!
//! Input format, chosen so that crash files are readable: the first line holds dialed strings
//! separated by `|`, the first of them `@` and digits for an external access prefix; every
//! further line is a rule, `pattern<TAB>translation` (without a tab the translation is Teams'
//! default `+$1`); for `pattern_set_diff`, a pattern.

use std::sync::OnceLock;

use tpr_types::Region;

use crate::cleanup::DialString;
use crate::pattern::Pattern;
use crate::plan::{Cache, CompiledPlan, Mode, Walk};
use crate::reference::{ReferenceError, ReferencePlan, ServiceReference};
use crate::rule::{DialPlan, Limits, Rule};
use crate::service::service_plan;
use crate::set::{PatternSet, Prefer};

fn parse(data: &[u8]) -> (Vec<String>, DialPlan) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let mut inputs: Vec<String> =
        lines.next().unwrap_or("").split('|').map(str::to_owned).collect();
    let prefix = inputs
        .first()
        .and_then(|i| i.strip_prefix('@'))
        .filter(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned);
    if prefix.is_some() {
        inputs.remove(0);
    }
    let rules = lines
        .enumerate()
        .map(|(i, line)| {
            let (pattern, translation) = line.split_once('\t').unwrap_or((line, "+$1"));
            Rule::new(format!("r{i}"), pattern, translation)
        })
        .collect();
    let mut plan = DialPlan::new("Fuzz", rules);
    plan.external_access_prefix = prefix;
    (inputs, plan)
}

/// The four regions the targets pick from, by the input's first byte.
const REGIONS: [&str; 4] = ["US", "NZ", "AU", "DE"];

fn region_index(data: &[u8]) -> usize {
    data.first().map_or(REGIONS.len() - 1, |b| usize::from(b % 4))
}

fn region(data: &[u8]) -> Region {
    Region::try_new(REGIONS[region_index(data)])
        .unwrap_or_else(|_| unreachable!("static region code"))
}

/// The region's built-in service rules compiled for the reference, once per process: they are
/// the same for every input and cost more to compile than most inputs' own rules.
fn service_reference(data: &[u8]) -> Option<&'static ServiceReference> {
    static BUILT: [OnceLock<Option<ServiceReference>>; 4] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new(), OnceLock::new()];
    BUILT[region_index(data)]
        .get_or_init(|| {
            let service = service_plan(region(data))?;
            ServiceReference::new(service, &Limits::default()).ok()
        })
        .as_ref()
}

/// `dialplan_compile`: any rules either compile or give an error; compiled plans normalize
/// any input without panicking.
pub fn compile_target(data: &[u8]) {
    let (inputs, plan) = parse(data);
    let Some(service) = service_plan(region(data)) else { return };
    if let Ok(compiled) = CompiledPlan::compile(Some(&plan), service, &Limits::default()) {
        let mut cache = compiled.create_cache();
        let mut out = String::new();
        for input in &inputs {
            for mode in [Mode::Effective, Mode::TenantScopeOnly] {
                let _ = compiled.normalize_with(&mut cache, input, mode, &mut out);
                let _ = compiled.explain(input, mode);
            }
        }
        let _ = compiled.memory_usage();
    }
}

/// `dialplan_normalize_diff`: where both the compiled plan (compact rows, and again with a
/// lazy DFA) and the reference build, they agree on every input: same output, same rules,
/// same fallback; a walk of the rows over any input ends, and at every step normalizing with
/// it gives what normalizing without it does. Panics on a difference.
pub fn normalize_diff_target(data: &[u8]) {
    let (inputs, plan) = parse(data);
    let Some(service) = service_plan(region(data)) else { return };
    let limits = Limits::default();
    let Ok(compiled) = CompiledPlan::compile(Some(&plan), service, &limits) else { return };
    let lazy_limits = Limits { compact_plans: false, ..Limits::default() };
    // Without its rows a plan can pass a size limit its rows fitted in.
    let lazy = CompiledPlan::compile(Some(&plan), service, &lazy_limits).ok();
    let service_reference = service_reference(data).unwrap_or_else(|| {
        panic!("{}'s built-in rules do not build for the reference", service.region)
    });
    let reference = match ReferencePlan::with_service(Some(&plan), service_reference) {
        Ok(r) => r,
        // Its Unicode automaton passed the budget the plan's ASCII one fitted in.
        Err(ReferenceError::TooBig { .. }) => return,
        Err(e) => panic!("compiled plan built but the reference did not: {e}"),
    };
    for compiled in [Some(&compiled), lazy.as_ref()].into_iter().flatten() {
        let mut cache = compiled.create_cache();
        for input in &inputs {
            for mode in [Mode::Effective, Mode::TenantScopeOnly] {
                if let Err(diff) = reference.diff(compiled, &mut cache, input, mode) {
                    panic!("{diff}; rules {:?}", plan.rules);
                }
            }
            let cleaned = DialString::try_clean(input).ok();
            let mut walk = compiled.walk(input);
            let mut steps = 0;
            loop {
                if let Some(d) = &cleaned {
                    walked_agrees(compiled, &mut cache, d, &walk);
                }
                if !walk.step() {
                    break;
                }
                steps += 1;
                assert!(steps <= input.len() + 4, "the walk of {input:?} goes on");
                walk.refresh();
            }
            walk.refresh();
        }
    }
}

/// Panics unless `plan` normalizes `dialed` with `walk` as it does without it.
fn walked_agrees(plan: &CompiledPlan, cache: &mut Cache, dialed: &DialString, walk: &Walk<'_>) {
    for mode in [Mode::Effective, Mode::TenantScopeOnly] {
        let (mut plain, mut walked) = (String::new(), String::new());
        let a = plan.normalize_clean(cache, dialed, mode, &mut plain);
        let b = plan.normalize_walked(cache, dialed, mode, &mut walked, walk);
        assert_eq!((a, &plain), (b, &walked), "{dialed:?} {mode:?}, walked {}", walk.read_all());
    }
}

/// `pattern_set_diff`: a set of patterns built each way (narrow rows, compact rows, the dense
/// DFA of every `P(?s:.)*`, the overlapping search) reports for every input exactly the
/// patterns that match it on their own. Panics on a difference.
pub fn pattern_set_diff_target(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let inputs: Vec<&str> = lines.next().unwrap_or("").split('|').collect();
    let patterns: Vec<&str> = lines.collect();
    // Smaller automata than a tenant may have (a set's dense DFAs are built within a quarter
    // of the plan limit) keep inputs whose automata explode at tens of runs a second; the
    // scanners still each get sets of every size they take.
    let limits = Limits {
        max_plan_bytes: 1 << 20,
        max_rule_bytes: 1 << 18,
        backtrack_steps: 10_000,
        ..Limits::default()
    };
    let Ok(single) = Pattern::many(&patterns, &limits) else { return };
    for prefer in [Prefer::Compact, Prefer::Wide, Prefer::Whole, Prefer::Overlapping] {
        // A set can pass the size limit where each pattern alone fits it.
        let Ok(set) = PatternSet::build(&patterns, &limits, prefer) else { continue };
        let mut cache = set.create_cache();
        for input in &inputs {
            let alone: Vec<usize> =
                (0..patterns.len()).filter(|&i| single[i].is_match(input)).collect();
            let together: Vec<usize> = set.matches(&mut cache, input).collect();
            assert_eq!(together, alone, "{prefer:?} set of {patterns:?} on {input:?}");
        }
        let _ = set.lines();
        set.prefetch_classes();
    }
}

/// Runs `run` on every saved input in `dir` (a `tests/fuzz_regressions/<target>/` folder),
/// panicking with the file's name if one fails again, or if the folder is empty.
pub fn replay(dir: &std::path::Path, run: fn(&[u8])) {
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display())).path();
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            panic!("{} fails again", path.display());
        }
        n += 1;
    }
    assert!(n > 0, "no inputs in {}", dir.display());
}
