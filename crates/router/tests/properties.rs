//! Properties: decisions depend only on their inputs and the seed; the attempt machine never
//! fails over after ringing and releases every permit exactly once, whatever the gateways do.

mod common;

use proptest::prelude::*;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use tpr_router::{Attempt, Call, Input, Output, Prefetch, UserId};

fn dialed() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\+1(425|206|312)[0-9]{7}",
        "\\+44[0-9]{10}",
        "[0-9]{1,12}",
        "(911|933|0|5[0-9]{4})",
        "[0-9+*# ()-]{0,20}",
    ]
}

fn input() -> impl Strategy<Value = (Input, u64)> {
    let input = prop_oneof![
        4 => prop::sample::select(vec![100u16, 180, 183, 200, 408, 486, 503, 504, 603])
            .prop_map(Input::Response),
        2 => Just(Input::Timer),
        1 => Just(Input::NetworkError),
        1 => Just(Input::HangUp),
    ];
    (input, 0u64..20_000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn same_seed_same_decision(number in dialed(), seed in any::<u64>(), who in 0usize..2) {
        let mut f = common::fx(&[]);
        let user = f.user(["spencer", "john"][who]);
        let call = Call::new(user, &number);
        let mut a = Pcg64Mcg::seed_from_u64(seed);
        let mut b = Pcg64Mcg::seed_from_u64(seed);
        let d1 = f.engine.decide(&f.state, &call, &mut f.scratch, &mut a, 0);
        let n1 = f.scratch.number.clone();
        let d2 = f.engine.decide(&f.state, &call, &mut f.scratch, &mut b, 0);
        prop_assert_eq!(d1, d2);
        prop_assert_eq!(n1, f.scratch.number.clone());
    }

    // Prefetching is a hint: asking for any caller's memory, at any step, known caller or
    // not, changes no decision and never panics. Callers on Direct Routing, on a Calling
    // Plan (whose calls read their pool and the domestic groups) and on Operator Connect with
    // a domestic-only policy; dial strings that are the tenant's numbers (whose slots the
    // steps ask for) among the others, in a tenant of over 64 numbers (whose filter the steps
    // ask for by the dial string's probes).
    #[test]
    fn prefetching_changes_nothing(
        number in prop_oneof![
            4 => dialed(),
            1 => prop::sample::select(vec![
                "+14255550101", "+14255550102", "+12065550151", "+14255570042", "+14255570100",
            ])
            .prop_map(str::to_owned),
        ],
        seed in any::<u64>(),
        who in 0usize..4,
        other in prop_oneof![0u32..6, Just(u32::MAX)],
    ) {
        let mut f = common::fx(&[(
            "extra",
            r#"[[users]]
id = "bob"
number = "+12065550151"
number_type = "calling_plan"
calling_plan = "domestic"
[[users]]
id = "olga"
number = "+12065550152"
number_type = "operator_connect"
operator = "Fabrikam"
dial_out_policy = "DialoutCPCInternationalPSTNDomestic"
[[user_ranges]]
name = "agents"
id_prefix = "agent"
count = 100
first_number = "+14255570000"
voice_routing_policy = "No Restrictions""#,
        )]);
        let user = f.user(["spencer", "john", "bob", "olga"][who]);
        let call = Call::new(user, &number);
        let d1 = f.engine.decide(&f.state, &call, &mut f.scratch, &mut Pcg64Mcg::seed_from_u64(seed), 0);
        let n1 = f.scratch.number.clone();
        for step in [Prefetch::Header, Prefetch::Party, Prefetch::Records, Prefetch::Automata] {
            f.engine.prefetch_call(&f.state, UserId::from_index(other), &number, step);
            f.engine.prefetch_call(&f.state, user, &number, step);
        }
        // Walks ahead end within a few steps past the input; deciding with a walk, at any step of it, or with another caller's or another dial
        // string's, decides the same.
        let shorter = number.get(..number.len() / 2).unwrap_or("");
        for (caller, dialed) in [
            (user, number.as_str()),
            (UserId::from_index(other), number.as_str()),
            (user, shorter),
        ] {
            let mut ahead = f.engine.call_ahead(caller, dialed);
            let mut steps = 0;
            loop {
                let d = f.engine.decide_ahead(&f.state, &call, &ahead, &mut f.scratch, &mut Pcg64Mcg::seed_from_u64(seed), 0);
                prop_assert_eq!(&d, &d1);
                prop_assert_eq!(&n1, &f.scratch.number);
                if !ahead.step() {
                    break;
                }
                steps += 1;
                prop_assert!(steps <= dialed.len() + 10, "walk of {dialed:?} goes on");
                ahead.refresh();
            }
        }
        let d2 = f.engine.decide(&f.state, &call, &mut f.scratch, &mut Pcg64Mcg::seed_from_u64(seed), 0);
        prop_assert_eq!(d1, d2);
        prop_assert_eq!(n1, f.scratch.number.clone());
    }

    #[test]
    fn naive_baseline_decides_the_same(number in dialed(), seed in any::<u64>(), who in 0usize..2) {
        let text = common::fixture_text(&[]);
        let tenant = tpr_tenant::Tenant::from_toml_str(&text, "f.toml").unwrap();
        let fast = tpr_router::Engine::compile(&tenant).unwrap();
        let naive = tpr_router::Engine::compile_naive(&tenant).unwrap();
        prop_assert!(naive.is_naive() && !fast.is_naive());
        // A copy of the tenant takes its naive plans and route regexes from an interner that
        // compiled them for the first, and decides the same.
        let mut other = tenant.clone();
        other.name = "fabrikam".into();
        let interner = tpr_router::Interner::new();
        tpr_router::Engine::compile_naive_shared(&tenant, &interner).unwrap();
        let before = interner.stats();
        let copy = tpr_router::Engine::compile_naive_shared(&other, &interner).unwrap();
        let after = interner.stats();
        prop_assert!(copy.is_naive() && before.naive_plans > 0 && before.naive_routes > 0);
        let counts = |s: tpr_router::InternStats| (s.plans, s.sets, s.naive_plans, s.naive_routes);
        prop_assert_eq!(counts(before), counts(after));
        prop_assert!(after.shared > before.shared);
        let user = fast.party(["spencer", "john"][who]).unwrap();
        let call = Call::new(user, &number);
        let s1 = tpr_router::State::new(&fast);
        let mut c1 = tpr_router::Scratch::new();
        let d1 = fast.decide(&s1, &call, &mut c1, &mut Pcg64Mcg::seed_from_u64(seed), 0);
        for engine in [&naive, &copy] {
            let s2 = tpr_router::State::new(engine);
            let mut c2 = tpr_router::Scratch::new();
            let d2 = engine.decide(&s2, &call, &mut c2, &mut Pcg64Mcg::seed_from_u64(seed), 0);
            prop_assert_eq!(&d1.outcome, &d2.outcome);
            prop_assert_eq!(&c1.number, &c2.number);
        }
    }

    #[test]
    fn shared_automata_decide_the_same(number in dialed(), seed in any::<u64>(), who in 0usize..2, compact_plans in any::<bool>()) {
        let text = common::fixture_text(&[]);
        let tenant = tpr_tenant::Tenant::from_toml_str(&text, "f.toml").unwrap();
        let mut other = tenant.clone();
        other.name = "fabrikam".into();
        let limits = tpr_dialplan::Limits { compact_plans, ..tpr_dialplan::Limits::default() };
        let interner = tpr_router::Interner::new();
        let first = tpr_router::Engine::compile_shared(&tenant, &limits, &interner).unwrap();
        let before = interner.stats();
        let second = tpr_router::Engine::compile_shared(&other, &limits, &interner).unwrap();
        let after = interner.stats();
        // The second tenant compiled nothing new.
        prop_assert_eq!(
            (before.plans, before.sets, before.routes, before.bytes),
            (after.plans, after.sets, after.routes, after.bytes)
        );
        prop_assert!(after.shared > before.shared);
        let alone = tpr_router::Engine::compile(&other).unwrap();
        let user = alone.party(["spencer", "john"][who]).unwrap();
        let call = Call::new(user, &number);
        // One scratch serves every engine, sharing automata or not, and decides as a fresh
        // scratch does; the tenants sharing automata share their caches too.
        let mut shared = tpr_router::Scratch::new();
        let mut caches = Vec::new();
        for engine in [&first, &second, &alone, &second] {
            let (s1, s2) = (tpr_router::State::new(engine), tpr_router::State::new(&alone));
            let mut fresh = tpr_router::Scratch::new();
            let d1 = engine.decide(&s1, &call, &mut shared, &mut Pcg64Mcg::seed_from_u64(seed), 0);
            let d2 = alone.decide(&s2, &call, &mut fresh, &mut Pcg64Mcg::seed_from_u64(seed), 0);
            prop_assert_eq!(d1, d2);
            prop_assert_eq!(&shared.number, &fresh.number);
            caches.push(shared.plan_caches());
        }
        // The second tenant's decision made no cache the first's had not; the engine compiled
        // alone has plans of its own; a plan takes one cache, however many tenants use it.
        prop_assert_eq!(caches[1], caches[0]);
        prop_assert_eq!(caches[3], caches[2]);
        prop_assert!(caches[2] <= 2 * caches[0]);
        prop_assert!(caches[0] <= after.plans);
    }

    #[test]
    fn tenants_of_one_shape_share_their_routes_and_decide_as_alone(number in dialed(), seed in any::<u64>(), who in 0usize..2) {
        let text = common::fixture_text(&[]);
        let tenant = tpr_tenant::Tenant::from_toml_str(&text, "f.toml").unwrap();
        // Set up by the same script with SBCs of its own, and one with a gateway disabled
        // (so its routes list other gateways).
        let own = text.replace("contoso", "fabrikam").replace("sbc", "edge");
        let own = tpr_tenant::Tenant::from_toml_str(&own, "g.toml").unwrap();
        let disabled = text.replace("contoso", "tailspin").replacen("enabled = true", "enabled = false", 1);
        let disabled = tpr_tenant::Tenant::from_toml_str(&disabled, "h.toml").unwrap();
        let limits = tpr_dialplan::Limits::default();
        let interner = tpr_router::Interner::new();
        tpr_router::Engine::compile_shared(&tenant, &limits, &interner).unwrap();
        let first = interner.stats();
        let shared = [
            tpr_router::Engine::compile_shared(&own, &limits, &interner).unwrap(),
            tpr_router::Engine::compile_shared(&disabled, &limits, &interner).unwrap(),
        ];
        let after = interner.stats();
        prop_assert_eq!(first.routes, 1);
        // The routes of the first shape are shared: the disabled gateway's tenant alone
        // added one.
        prop_assert_eq!((after.plans, after.sets, after.routes), (first.plans, first.sets, 2));
        prop_assert!(after.bytes > first.bytes);
        for (engine, t) in shared.iter().zip([&own, &disabled]) {
            let alone = tpr_router::Engine::compile(t).unwrap();
            let user = alone.party(["spencer", "john"][who]).unwrap();
            let call = Call::new(user, &number);
            let (s1, s2) = (tpr_router::State::new(engine), tpr_router::State::new(&alone));
            let (mut c1, mut c2) = (tpr_router::Scratch::new(), tpr_router::Scratch::new());
            let d1 = engine.decide(&s1, &call, &mut c1, &mut Pcg64Mcg::seed_from_u64(seed), 0);
            let d2 = alone.decide(&s2, &call, &mut c2, &mut Pcg64Mcg::seed_from_u64(seed), 0);
            prop_assert_eq!(d1, d2);
        }
    }

    #[test]
    fn machine_never_double_rings_and_releases_everything(
        inputs in prop::collection::vec(input(), 0..40),
        seed in any::<u64>(),
    ) {
        let mut f = common::fx(&[("sbc1", "enforced_max_sessions = 1")]);
        f.rng = Pcg64Mcg::seed_from_u64(seed);
        let d = f.decide("spencer", "+14255550100");
        let ledger = f.ledger.clone();
        // Another call holds sbc1's only session half the time.
        let hold = (seed % 2 == 0).then(|| {
            let key = f.engine.gateway_key(f.engine.gateway("sbc1.contoso.com").unwrap());
            ledger.try_acquire(&[key]).unwrap()
        });
        let base = ledger.in_use();
        let mut a = Attempt::start(&f.engine, &ledger, &d, 0).unwrap();
        let (mut now, mut rang, mut invites_after_ringing, mut released) = (0u64, false, 0, 0);
        let drain = |a: &mut Attempt, rang: &mut bool, after: &mut i32, released: &mut i32| {
            while let Some(o) = a.poll_output() {
                match o {
                    Output::Ringing => *rang = true,
                    Output::Invite { .. } if *rang => *after += 1,
                    Output::Released => *released += 1,
                    _ => {}
                }
            }
        };
        drain(&mut a, &mut rang, &mut invites_after_ringing, &mut released);
        for (input, dt) in inputs {
            now += dt;
            a.handle_input(&f.engine, &ledger, input, now);
            drain(&mut a, &mut rang, &mut invites_after_ringing, &mut released);
            // At most the admission keys (number, tenant) and one gateway.
            prop_assert!(ledger.in_use() <= base + 3);
        }
        a.handle_input(&f.engine, &ledger, Input::HangUp, now);
        drain(&mut a, &mut rang, &mut invites_after_ringing, &mut released);
        prop_assert!(a.is_done());
        prop_assert_eq!(invites_after_ringing, 0);
        prop_assert_eq!(released, 1);
        prop_assert_eq!(ledger.in_use(), base);
        drop(hold);
        prop_assert_eq!(ledger.in_use(), 0);
    }
}

#[test]
fn call_state_fits_in_256_bytes() {
    let size = std::mem::size_of::<Attempt>();
    assert!(size <= 256, "Attempt is {size} bytes");
}

/// A thread's scratch outlives engines (reloads): each plan that needs a cache gets one,
/// found again while the plan lives, and the caches of dropped plans do not pile up.
#[test]
fn a_scratch_outliving_engines_keeps_no_cache_of_dropped_plans() {
    let text = common::fixture_text(&[]);
    let tenant = tpr_tenant::Tenant::from_toml_str(&text, "f.toml").unwrap();
    // Without compact rows, every plan's lazy DFA keeps its states in a cache.
    let limits = tpr_dialplan::Limits { compact_plans: false, ..tpr_dialplan::Limits::default() };
    let kept = tpr_router::Engine::compile_with(&tenant, &limits).unwrap();
    let call = Call::new(kept.party("spencer").unwrap(), "4255550100");
    let mut scratch = tpr_router::Scratch::new();
    let decide = |engine: &tpr_router::Engine, scratch: &mut tpr_router::Scratch| {
        let state = tpr_router::State::new(engine);
        let d = engine.decide(&state, &call, scratch, &mut Pcg64Mcg::seed_from_u64(3), 0);
        (d, scratch.number.clone())
    };
    let first = decide(&kept, &mut scratch);
    let one = scratch.plan_caches();
    assert_eq!(one, 1, "the caller's plan");
    let states = scratch.automaton_memory_usage();
    assert!(states > 0, "the lazy DFA built states");
    let mut most = 0;
    for _ in 0..200 {
        let reloaded = tpr_router::Engine::compile_with(&tenant, &limits).unwrap();
        assert_eq!(decide(&reloaded, &mut scratch), first);
        most = most.max(scratch.plan_caches());
    }
    assert!((2..=128).contains(&most), "{most} plan caches after 200 reloads");
    assert_eq!(decide(&kept, &mut scratch), first);
}

/// A walk ahead that read all of an ASCII dial string stands in for the decision's scan of
/// the plan's rows, and the decision is the one `decide` makes; a walk that skipped digits of
/// another script (cleanup turns them into ASCII ones) cannot, and is ignored.
#[test]
fn decisions_take_the_candidates_of_walks_that_read_all() {
    let ext = r#"rules = [ { name = "Ext", pattern = '^(\d{4})$', translation = '+1425555$1' } ]"#;
    let text = common::fixture_text(&[]);
    assert!(text.contains(ext));
    let text = text.replace(
        ext,
        r#"rules = [
  { name = "Ext", pattern = '^(\d{4})$', translation = '+1425555$1' },
  { name = "Local", pattern = '^([2-9]\d{6})$', translation = '+1425$1' },
  { name = "National", pattern = '^1?([2-9]\d\d[2-9]\d{6})$', translation = '+1$1' },
]"#,
    );
    let tenant = tpr_tenant::Tenant::from_toml_str(&text, "f.toml").unwrap();
    let engine = tpr_router::Engine::compile(&tenant).unwrap();
    let state = tpr_router::State::new(&engine);
    let mut scratch = tpr_router::Scratch::new();
    let user = engine.party("spencer").unwrap();
    let dialed = [
        "4255550100",
        "(425) 555-0100",
        "425.555.0199",
        "5550123",
        "0100",
        "911",
        "+1 425 555 0100",
        "\u{664}\u{662}\u{665}5550100",
        "425555010\u{FF10}",
    ];
    let mut stood_in = 0;
    for number in dialed {
        let call = Call::new(user, number);
        let rng = || Pcg64Mcg::seed_from_u64(7);
        let plain = engine.decide(&state, &call, &mut scratch, &mut rng(), 0);
        let out = scratch.number.clone();
        let mut ahead = engine.call_ahead(user, number);
        while ahead.step() {}
        assert!(
            !ahead.read_all() || number.is_ascii(),
            "{number:?}: a walk that skipped digits read all"
        );
        stood_in += usize::from(ahead.read_all());
        let walked = engine.decide_ahead(&state, &call, &ahead, &mut scratch, &mut rng(), 0);
        assert_eq!(plain, walked, "{number:?}");
        assert_eq!(out, scratch.number, "{number:?}");
    }
    assert_eq!(stood_in, 6, "the walks of the ASCII national, local and short numbers read all");
}
