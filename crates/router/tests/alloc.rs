//! Deciding allocates nothing once a thread's one scratch is warm, whatever engines it decides
//! with: compact plans, lazy plan DFAs whose states live in the scratch's caches, and a rule
//! run by its own backtracker, whose cache does too. (Rules with lookaround or
//! backreferences are the documented exception: their confirming engine allocates.) Alone in
//! its binary: the counting allocator counts every thread.

mod common;

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use tpr_dialplan::Limits;
use tpr_router::{Call, Engine, InboundCall, Ingress, Scratch, State};
use tpr_tenant::Tenant;
use tpr_types::counting_alloc::{Counting, allocations};

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn warm_decisions_over_many_engines_allocate_nothing() {
    let ext = r#"rules = [ { name = "Ext", pattern = '^(\d{4})$', translation = '+1425555$1' } ]"#;
    let plain = common::fixture_text(&[]);
    assert!(plain.contains(ext));
    // Group 2 inside the first piece, read by no translation but below one that is: no
    // splits, not one-pass, so the bounded backtracker, with its cache in the scratch.
    let own = ext.replace(r"^(\d{4})$", r"^((\d)\d+)(\d)$").replace("$1", "$1$3");
    let backtracked = plain.replace(ext, &own);
    assert_ne!(backtracked, plain);
    let lazy = Limits { compact_plans: false, ..Limits::default() };
    let mut engines = Vec::new();
    for (text, limits) in
        [(&plain, &Limits::default()), (&plain, &lazy), (&backtracked, &Limits::default())]
    {
        let tenant = Tenant::from_toml_str(text, "fixture.toml").unwrap();
        for _ in 0..4 {
            engines.push(Engine::compile_with(&tenant, limits).unwrap());
        }
    }
    let states: Vec<State> = engines.iter().map(State::new).collect();
    // Looked up by name (which allocates) before counting.
    let users: Vec<[_; 2]> =
        engines.iter().map(|e| ["spencer", "john"].map(|who| e.party(who).unwrap())).collect();
    let dialed = [
        "4255550100",
        "(425) 555-0100",
        "+1 425 555 0100",
        "+44 20 7946 0958",
        "011 44 20 7946 0958",
        "5550123",
        "0100",
        "1234",
        "911",
        "4255550102",
        "*99#",
    ];
    let mut rng = Pcg64Mcg::seed_from_u64(1);
    let mut round = |scratch: &mut Scratch| {
        let mut decisions = 0;
        for ((engine, state), users) in engines.iter().zip(&states).zip(&users) {
            for &user in users {
                for d in dialed {
                    let decision = engine.decide(state, &Call::new(user, d), scratch, &mut rng, 0);
                    std::hint::black_box(&decision);
                    decisions += 1;
                }
            }
            for (called, caller) in
                [("+14255550101", "+12065550100"), ("+14255559999", "(206) 555-0100")]
            {
                let call =
                    InboundCall { called, caller, via: Ingress::CallingPlan, voicemail: false };
                std::hint::black_box(engine.decide_inbound(state, &call, scratch));
                decisions += 1;
            }
        }
        decisions
    };
    let mut scratch = Scratch::new();
    // Warm: buffers grow, caches are made, lazy DFA states are built.
    round(&mut scratch);
    round(&mut scratch);
    // The lazy engines' plans and the backtracking rule's plans have caches; compact plans
    // without such rules need none.
    let caches = scratch.plan_caches();
    assert!((8..=16).contains(&caches), "{caches} plan caches");
    let before = allocations();
    let decisions = round(&mut scratch) + round(&mut scratch);
    let made = allocations() - before;
    assert_eq!(made, 0, "{made} allocations in {decisions} warm decisions");
    assert_eq!(scratch.plan_caches(), caches);
}
