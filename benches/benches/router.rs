//! Full outbound decisions on the bundled contoso tenant (the Teams docs' routing example
//! plus 5,000 range users), compiled engine against the naive one-regex-per-rule engine in
//! the same run, and the attempt machine walking a failover.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use tpr_router::{Attempt, Call, Engine, Input, Output, Scratch, State};
use tpr_tenant::Tenant;

const CONTOSO: &str = include_str!("../../scenarios/tenants/contoso.toml");

fn decisions(c: &mut Criterion) {
    let tenant = Tenant::from_toml_str(CONTOSO, "contoso.toml").unwrap();
    let cases = [
        ("extension", "spencer.low", "50100"),
        ("e164-three-routes", "spencer.low", "+14255550100"),
        ("national-formatted", "john.woods", "(312) 555-0100"),
        ("international", "john.woods", "+44 20 7946 0123"),
        ("internal", "agent0042", "+14255550102"),
        ("emergency-mask", "spencer.low", "933"),
        ("calling-plan", "megan.bowen", "+442079460123"),
    ];
    for (label, engine) in [
        ("tpr", Engine::compile(&tenant).unwrap()),
        ("naive", Engine::compile_naive(&tenant).unwrap()),
    ] {
        let state = State::new(&engine);
        let mut scratch = Scratch::new();
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        let mut group = c.benchmark_group(format!("decide/{label}"));
        for (name, user, dialed) in cases {
            let call = Call::new(engine.party(user).unwrap(), dialed);
            group.bench_function(name, |b| {
                b.iter(|| {
                    black_box(engine.decide(&state, black_box(&call), &mut scratch, &mut rng, 0))
                })
            });
        }
        group.finish();
    }
}

fn attempts(c: &mut Criterion) {
    let tenant = Tenant::from_toml_str(CONTOSO, "contoso.toml").unwrap();
    let engine = Engine::compile(&tenant).unwrap();
    let state = State::new(&engine);
    let mut scratch = Scratch::new();
    let mut rng = Pcg64Mcg::seed_from_u64(1);
    let call = Call::new(engine.party("spencer.low").unwrap(), "+14255550100");
    let d = engine.decide(&state, &call, &mut scratch, &mut rng, 0);
    let ledger = state.ledger.clone();
    // First gateway 503, second answers, then hang-up: two permits taken and released.
    c.bench_function("attempt/failover-answer-hangup", |b| {
        b.iter(|| {
            let mut a = Attempt::start(&engine, &ledger, &d, 0).unwrap();
            a.handle_input(&engine, &ledger, Input::Response(503), 10);
            a.handle_input(&engine, &ledger, Input::Response(200), 20);
            a.handle_input(&engine, &ledger, Input::HangUp, 30);
            let mut n = 0;
            while let Some(o) = a.poll_output() {
                n += usize::from(matches!(o, Output::Released));
            }
            black_box(n)
        })
    });
}

criterion_group!(benches, decisions, attempts);
criterion_main!(benches);
