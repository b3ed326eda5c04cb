//! Normalization throughput: the compiled automaton against the naive one-regex-per-rule loop
//! (how Kamailio's dialplan module and most scripts work), on a real 8-rule plan and on site
//! plans of 5 to 50 rules, plus compile time. Results: docs/performance.md.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tpr_benches::{AU_INPUTS, au_queensland, site_inputs, site_plan};
use tpr_dialplan::{CompiledPlan, DialPlan, Limits, Mode, ReferencePlan, service_plan};
use tpr_types::Region;

fn plans(plan: &DialPlan, region: &str) -> (CompiledPlan, ReferencePlan) {
    let service = service_plan(Region::try_new(region).expect("region")).expect("service plan");
    let limits = Limits::default();
    (
        CompiledPlan::compile(Some(plan), service, &limits).expect("compiles"),
        ReferencePlan::new(Some(plan), service, &limits).expect("reference builds"),
    )
}

/// Both engines must agree on the bench inputs and hit the intended rules, or the numbers
/// mean nothing.
fn check(compiled: &CompiledPlan, reference: &ReferencePlan, input: &str, rule: Option<usize>) {
    let mut cache = compiled.create_cache();
    let first = reference
        .diff(compiled, &mut cache, input, Mode::Effective)
        .unwrap_or_else(|d| panic!("{d}"));
    let hit = first.filter(|&i| i < compiled.tenant_len());
    assert_eq!(hit, rule, "{input} hits the wrong rule");
}

fn bench_pair(
    c: &mut Criterion,
    group: &str,
    compiled: &CompiledPlan,
    reference: &ReferencePlan,
    label: &str,
    input: &str,
) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    let mut cache = compiled.create_cache();
    let mut out = String::with_capacity(64);
    g.bench_with_input(BenchmarkId::new("compiled", label), input, |b, input| {
        b.iter(|| {
            compiled
                .normalize_with(&mut cache, black_box(input), Mode::Effective, &mut out)
                .map(|o| o.first)
        })
    });
    g.bench_with_input(BenchmarkId::new("naive", label), input, |b, input| {
        b.iter(|| reference.normalize(black_box(input), Mode::Effective).map(|r| r.first))
    });
    g.finish();
}

fn normalize_au(c: &mut Criterion) {
    let (compiled, reference) = plans(&au_queensland(), "AU");
    for (label, input, rule) in AU_INPUTS {
        check(&compiled, &reference, input, rule);
        bench_pair(c, "normalize/au-queensland-8", &compiled, &reference, label, input);
    }
}

fn normalize_sites(c: &mut Criterion) {
    for n in [5, 10, 25, 50] {
        let (compiled, reference) = plans(&site_plan(n), "US");
        for (label, input, rule) in site_inputs(n) {
            check(&compiled, &reference, &input, rule);
            bench_pair(c, &format!("normalize/sites-{n}"), &compiled, &reference, label, &input);
        }
    }
}

fn compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile");
    let us = service_plan(Region::try_new("US").expect("region")).expect("US");
    let au = service_plan(Region::try_new("AU").expect("region")).expect("AU");
    let limits = Limits::default();
    let au8 = au_queensland();
    g.bench_function("au-queensland-8", |b| {
        b.iter(|| CompiledPlan::compile(Some(black_box(&au8)), au, &limits))
    });
    for n in [5, 50] {
        let plan = site_plan(n);
        g.bench_with_input(BenchmarkId::new("sites", n), &plan, |b, plan| {
            b.iter(|| CompiledPlan::compile(Some(black_box(plan)), us, &limits))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(30);
    targets = normalize_au, normalize_sites, compile
}
criterion_main!(benches);
