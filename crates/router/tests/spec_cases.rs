//! The routing, failover, emergency, dial-out and Calling Plan cases of the spec (§9), on the
//! Teams docs' Direct Routing fixture (`fixture.toml`).

mod common;

use common::{End, Script, fx};
use tpr_router::{
    Call, CallerId, Charge, Client, Failure, Ingress, Input, Location, Outcome, Reject,
};

const ALL_FAIL: [(&str, u16); 6] =
    [("sbc1", 503), ("sbc2", 503), ("sbc3", 503), ("sbc4", 503), ("sbc5", 503), ("sbc6", 503)];

fn all_fail() -> Script {
    ALL_FAIL.iter().fold(Script::new(), |s, (g, c)| s.code(g, *c))
}

fn pair(order: &str, a: &str, b: &str) -> bool {
    order == format!("{a},{b}") || order == format!("{b},{a}")
}

#[test]
fn t13_every_matching_route_by_priority_then_dropped() {
    let mut f = fx(&[]);
    let d = f.decide("spencer", "+14255550100");
    assert_eq!(d.kind(), "direct-routing");
    assert_eq!(
        f.engine.usage_name(match d.outcome {
            Outcome::Direct { usage, .. } => usage,
            _ => unreachable!(),
        }),
        "US and Canada"
    );
    let order = f.order(&d);
    let groups: Vec<&str> = order.split('|').collect();
    assert_eq!(groups.len(), 3, "{order}");
    assert!(pair(groups[0], "sbc1", "sbc2"), "{order}");
    assert!(pair(groups[1], "sbc3", "sbc4"), "{order}");
    assert!(pair(groups[2], "sbc5", "sbc6"), "{order}");
    let run = f.run(&d, &all_fail());
    assert_eq!(run.tried().len(), 6);
    assert_eq!(run.end, End::Failed(Failure::Exhausted(503)));
    assert_eq!(run.in_use_after, 0);
}

#[test]
fn t14_matched_route_failing_never_falls_back_to_calling_plan() {
    let mut f = fx(&[("spencer", r#"calling_plan = "domestic""#)]);
    let d = f.decide("spencer", "+13245678989");
    assert!(pair(&f.order(&d), "sbc5", "sbc6"));
    let run = f.run(&d, &all_fail());
    assert_eq!(run.end, End::Failed(Failure::Exhausted(503)));
}

#[test]
fn t15_t16_no_route_then_calling_plan_paid_from_credits() {
    let mut f = fx(&[]);
    assert_eq!(f.decide("spencer", "+442071234567").reject(), Some(Reject::NoRoute));
    let mut f = fx(&[
        ("spencer", r#"calling_plan = "domestic""#),
        ("extra", "[calling_plans]\ncommunications_credits = 100"),
    ]);
    let d = f.decide("spencer", "+442071234567");
    assert_eq!(d.outcome, Outcome::CallingPlan(Charge::Paid), "international on a domestic plan");
}

#[test]
fn t17_t18_t19_first_usage_with_a_match_is_the_only_one() {
    let mut f = fx(&[]);
    let d = f.decide("john", "+14255550100");
    let run = f.run(&d, &all_fail());
    assert_eq!(run.end, End::Failed(Failure::Exhausted(503)));
    // sbc2 and sbc5 are tried once each, through Redmond 1 and Other +1: never via INTL.
    assert_eq!(run.tried().len(), 6);
    let d = f.decide("john", "+442071234567");
    assert!(pair(&f.order(&d), "sbc2", "sbc5"));
    let mut f = fx(&[("norestrictions", r#"usages = ["International", "US and Canada"]"#)]);
    let d = f.decide("john", "+14255550100");
    assert!(pair(&f.order(&d), "sbc2", "sbc5"), "{}", f.order(&d));
}

#[test]
fn t20_forwarded_call_tries_its_ingress_gateway_first() {
    let mut f = fx(&[]);
    let sbc5 = f.engine.gateway("sbc5.contoso.com").unwrap();
    let mut call = Call::new(f.user("john"), "+14255550100");
    call.ingress = Some(Ingress::Gateway(sbc5));
    let d = f.decide_call(&call);
    let order = f.order(&d);
    let groups: Vec<&str> = order.split('|').collect();
    assert_eq!(groups[0], "sbc5", "{order}");
    assert!(pair(groups[1], "sbc1", "sbc2"));
    assert!(pair(groups[2], "sbc3", "sbc4"));
    assert_eq!(groups[3], "sbc6", "sbc5 is not tried twice");
}

#[test]
fn t21_demoted_gateways_go_after_the_healthy_ones_of_their_route() {
    let mut f = fx(&[]);
    let (sbc1, sbc2) = (
        f.engine.gateway("sbc1.contoso.com").unwrap(),
        f.engine.gateway("sbc2.contoso.com").unwrap(),
    );
    let now = 1_000_000;
    for name in ["sbc2", "sbc3", "sbc4", "sbc5", "sbc6"] {
        let g = f.engine.gateway(&format!("{name}.contoso.com")).unwrap();
        f.state.options_answered(g, now - 30_000);
    }
    f.state.options_answered(sbc1, now - 240_000);
    assert!(!f.state.healthy(&f.engine, sbc1, now) && f.state.healthy(&f.engine, sbc2, now));
    for _ in 0..20 {
        let call = Call::new(f.user("spencer"), "+14255550100");
        let d = f.engine.decide(&f.state, &call, &mut f.scratch, &mut f.rng, now);
        assert!(f.order(&d).starts_with("sbc2,sbc1|"), "{}", f.order(&d));
    }
}

#[test]
fn each_gateway_keeps_its_own_options_time() {
    // Twelve gateways: the state keeps the first ten times in its first lines and the rest
    // behind a pointer. One gateway at a time goes silent; only it is demoted.
    let extra: String = (0..6)
        .map(|i| format!("[[gateways]]\nfqdn = \"gw{i}.contoso.com\"\nsip_signaling_port = 5061\nenabled = true\n\n"))
        .collect();
    let text = format!("{extra}{}", common::fixture_text(&[]));
    let tenant = tpr_tenant::Tenant::from_toml_str(&text, "f.toml").unwrap();
    let engine = tpr_router::Engine::compile(&tenant).unwrap();
    let state = tpr_router::State::new(&engine);
    let now = 1_000_000;
    let ids: Vec<_> = (0..6)
        .map(|i| format!("gw{i}"))
        .chain((1..=6).map(|i| format!("sbc{i}")))
        .map(|n| engine.gateway(&format!("{n}.contoso.com")).unwrap())
        .collect();
    for &silent in &ids {
        for &g in &ids {
            state.options_answered(g, now - 30_000);
        }
        state.options_lost(silent);
        let healthy: Vec<bool> = ids.iter().map(|&g| state.healthy(&engine, g, now)).collect();
        let expected: Vec<bool> = ids.iter().map(|&g| g != silent).collect();
        assert_eq!(healthy, expected, "{silent:?} silent");
    }
}

#[test]
fn health_follows_every_options_time_exactly() {
    // Gateways answering, going silent, answering with an older time or being lost, in a
    // long pseudo-random run: each is healthy exactly when its own last answer is within the
    // window, whatever the others did (the state answers from one summary while they all
    // are). sbc6 is not pinged and always healthy.
    let text = common::fixture_text(&[("sbc6", "send_sip_options = false")]);
    let tenant = tpr_tenant::Tenant::from_toml_str(&text, "f.toml").unwrap();
    let engine = tpr_router::Engine::compile(&tenant).unwrap();
    let state = tpr_router::State::new(&engine);
    let ids: Vec<_> =
        (1..=6).map(|i| engine.gateway(&format!("sbc{i}.contoso.com")).unwrap()).collect();
    let window = tpr_router::HEALTH_WINDOW_MS;
    // Every gateway answered at 0; one lost, or answering late, is unhealthy at once.
    state.options_lost(ids[0]);
    assert!(!state.healthy(&engine, ids[0], 1_000));
    assert!(state.healthy(&engine, ids[1], 1_000));
    state.options_answered(ids[0], 1_000);
    state.options_answered(ids[1], 0);
    assert!(!state.healthy(&engine, ids[1], window + 1));
    assert!(state.healthy(&engine, ids[0], window + 1));
    state.options_answered(ids[1], 1_000);
    let mut last: Vec<Option<u64>> =
        vec![Some(1_000), Some(1_000), Some(0), Some(0), Some(0), Some(0)];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut now: u64 = 0;
    for step in 0..20_000 {
        let g = (next() % ids.len() as u64) as usize;
        // Mostly answers and small steps of time, so that all gateways are often healthy
        // together; now and then one is lost or answers late.
        match next() % 32 {
            31 => {
                // A round of pings that all answer.
                for (id, t) in ids.iter().zip(&mut last) {
                    state.options_answered(*id, now);
                    *t = Some(now);
                }
            }
            0 => {
                state.options_lost(ids[g]);
                last[g] = None;
            }
            1 => {
                // An older answer than the one before.
                let t = now.saturating_sub(next() % (2 * window));
                state.options_answered(ids[g], t);
                last[g] = Some(t);
            }
            2..=14 => {
                state.options_answered(ids[g], now);
                last[g] = Some(now);
            }
            15..=30 => now += next() % (window / 20),
            _ => unreachable!(),
        }
        for (i, &id) in ids.iter().enumerate() {
            let expected = i == 5 || last[i].is_some_and(|t| now.saturating_sub(t) <= window);
            assert_eq!(state.healthy(&engine, id, now), expected, "step {step}: sbc{}", i + 1);
            // The window's edge, both sides.
            if let Some(t) = last[i].filter(|_| i != 5) {
                assert!(state.healthy(&engine, id, t + window));
                assert!(!state.healthy(&engine, id, t + window + 1));
            }
        }
    }
}

#[test]
fn t22_fisher_yates_splits_evenly() {
    let mut f = fx(&[]);
    let n = 10_000;
    let mut first_sbc1 = 0;
    for _ in 0..n {
        let d = f.decide("spencer", "+14255550100");
        first_sbc1 += usize::from(f.order(&d).starts_with("sbc1"));
    }
    // Binomial(10,000, 1/2): sd 50; 2 % is 4 sd.
    assert!((4800..=5200).contains(&first_sbc1), "{first_sbc1}");
}

/// Scripts the first candidate of R1 (whichever the shuffle put first).
fn first_two(f: &mut common::Fx) -> (tpr_router::Decision, String, String) {
    let d = f.decide("spencer", "+14255550100");
    let order = f.order(&d);
    let mut g = order.split(['|', ',']).map(str::to_owned);
    let a = g.next().unwrap();
    let b = g.next().unwrap();
    (d, a, b)
}

#[test]
fn t23_t24_t25_t26_failover_codes_and_provisionals() {
    let mut f = fx(&[]);
    let (d, a, b) = first_two(&mut f);
    let run = f.run(&d, &Script::new().code(&a, 408));
    assert_eq!((run.tried(), &run.end), (vec![a.as_str(), b.as_str()], &End::Connected));
    assert_eq!(run.in_use_connected, 3, "caller number, tenant, gateway");
    assert_eq!(run.in_use_after, 0);

    let run = f.run(&d, &Script::new().code(&a, 486));
    assert_eq!((run.tried(), &run.end), (vec![a.as_str()], &End::Failed(Failure::Final(486))));

    let ringing_then_503 = [Input::Response(100), Input::Response(180), Input::Response(503)];
    let run = f.run(&d, &Script::new().respond(&a, &ringing_then_503));
    assert_eq!((run.tried(), &run.end), (vec![a.as_str()], &End::Failed(Failure::Final(503))));

    let mut f = fx(&[
        ("sbc1", "failover_response_codes = [408]"),
        ("sbc2", "failover_response_codes = [408]"),
    ]);
    let (d, a, _) = first_two(&mut f);
    let run = f.run(&d, &Script::new().code(&a, 503));
    assert_eq!(run.end, End::Failed(Failure::Final(503)));
}

/// A router on the fixture with one call from spencer to +14255550100 answered: the router,
/// the engine and state the call started on, the call's attempt machine, and the seeded RNG.
fn router_with_a_call_up()
-> (tpr_router::Router, Arc<tpr_router::Loaded>, tpr_router::Attempt, rand_pcg::Pcg64Mcg) {
    let text = common::fixture_text(&[]);
    let tenant = tpr_tenant::Tenant::from_toml_str(&text, "f.toml").unwrap();
    let router = tpr_router::Router::new(&tenant).unwrap();
    let before = router.current();
    let mut scratch = tpr_router::Scratch::new();
    let mut rng = <rand_pcg::Pcg64Mcg as rand::SeedableRng>::seed_from_u64(1);
    let spencer = before.engine.party("spencer").unwrap();
    let d = before.engine.decide(&before.state, &spencer_call(spencer), &mut scratch, &mut rng, 0);
    let mut up = tpr_router::Attempt::start(&before.engine, &before.state.ledger, &d, 0).unwrap();
    up.handle_input(&before.engine, &before.state.ledger, Input::Response(200), 0);
    (router, before, up, rng)
}

fn spencer_call(spencer: tpr_router::UserId) -> Call<'static> {
    Call::new(spencer, "+14255550100")
}

#[test]
fn t27_disabled_gateway_takes_no_new_calls_but_calls_in_flight_go_on() {
    let (router, before, mut up, mut rng) = router_with_a_call_up();
    let call = spencer_call(before.engine.party("spencer").unwrap());
    assert!(up.is_connected());

    let disabled = common::fixture_text(&[]).replacen("enabled = true", "enabled = false", 1);
    let disabled = tpr_tenant::Tenant::from_toml_str(&disabled, "f.toml").unwrap();
    router.reload(&disabled).unwrap();
    let after = router.current();
    assert!(Arc::ptr_eq(&after.state.ledger, &before.state.ledger), "same key layout, same ledger");
    let mut scratch = tpr_router::Scratch::new();
    for _ in 0..10 {
        let d = after.engine.decide(&after.state, &call, &mut scratch, &mut rng, 0);
        let Outcome::Direct { candidates, .. } = &d.outcome else { panic!() };
        assert!(
            candidates.iter().all(|c| after.engine.gateway_name(c.gateway) != "sbc1.contoso.com")
        );
        assert_eq!(after.engine.route_name(candidates[0].route), "Redmond 1");
    }
    assert!(up.is_connected(), "the call in flight is untouched");
    assert_eq!(after.state.ledger.in_use(), 3);
    up.handle_input(&before.engine, &before.state.ledger, Input::HangUp, 60_000);
    assert_eq!(after.state.ledger.in_use(), 0);

    // A tenant that does not compile changes nothing.
    let mut broken = disabled.clone();
    broken.routing.voice_routes[0].gateways.push("nowhere.contoso.com".into());
    assert!(router.reload(&broken).is_err());
    assert!(Arc::ptr_eq(&router.current(), &after));
}

#[test]
fn a_reload_that_moves_every_key_still_counts_the_calls_in_flight() {
    // spencer's number carries 2 calls at once; one is up when the tenant is reloaded with a
    // new gateway listed first, which gives every capacity key a new id.
    let (router, before, mut up, mut rng) = router_with_a_call_up();
    let call = spencer_call(before.engine.party("spencer").unwrap());
    before.state.options_lost(before.engine.gateway("sbc2.contoso.com").unwrap());

    let extra =
        "[[gateways]]\nfqdn = \"sbc0.contoso.com\"\nsip_signaling_port = 5061\nenabled = true\n";
    let moved = format!("{extra}\n{}", common::fixture_text(&[]));
    let moved = tpr_tenant::Tenant::from_toml_str(&moved, "f.toml").unwrap();
    router.reload(&moved).unwrap();
    let after = router.current();
    assert!(!Arc::ptr_eq(&after.state.ledger, &before.state.ledger), "a new key layout");
    let spencer = before.engine.party("spencer").unwrap();
    let (s_old, s_new) = (before.engine.number_key(spencer), after.engine.number_key(spencer));
    assert_ne!(s_old, s_new);
    assert_eq!(after.state.ledger.held(s_new.unwrap()), 1, "the call up on the old engine");
    // Gateway health carries over by name.
    let sbc2 = after.engine.gateway("sbc2.contoso.com").unwrap();
    assert!(!after.state.healthy(&after.engine, sbc2, 1));

    // One more call fits; the third is refused at the number, as before the reload.
    let mut scratch = tpr_router::Scratch::new();
    let d = after.engine.decide(&after.state, &call, &mut scratch, &mut rng, 0);
    let second = tpr_router::Attempt::start(&after.engine, &after.state.ledger, &d, 0).unwrap();
    let d = after.engine.decide(&after.state, &call, &mut scratch, &mut rng, 0);
    assert_eq!(d.reject(), Some(Reject::CapacityExceeded));
    // The old call ends: room again.
    up.handle_input(&before.engine, &before.state.ledger, Input::HangUp, 60_000);
    let d = after.engine.decide(&after.state, &call, &mut scratch, &mut rng, 0);
    assert_eq!(d.kind(), "direct-routing");
    drop(second);
    assert_eq!((before.state.ledger.in_use(), after.state.ledger.in_use()), (0, 0));
}

use std::sync::Arc;

#[test]
fn t28_silent_gateways_each_get_their_failover_time() {
    let mut f = fx(&[]);
    let d = f.decide("spencer", "+14255550100");
    let script = ["sbc1", "sbc2", "sbc3", "sbc4", "sbc5", "sbc6"]
        .iter()
        .fold(Script::new(), |s, g| s.silent(g));
    let run = f.run(&d, &script);
    let times: Vec<u64> = run.invites.iter().map(|(_, t)| *t).collect();
    assert_eq!(times, [0, 10_000, 20_000, 30_000, 40_000, 50_000]);
    assert_eq!(run.end, End::Failed(Failure::Exhausted(408)));
    assert_eq!(run.in_use_after, 0);
}

#[test]
fn t29_max_concurrent_sessions_alerts_but_never_refuses() {
    let f = fx(&[("sbc1", "max_concurrent_sessions = 100")]);
    let key = f.engine.gateway_key(f.engine.gateway("sbc1.contoso.com").unwrap());
    let permits: Vec<_> = (0..101).map(|_| f.ledger.try_acquire(&[key]).unwrap()).collect();
    assert_eq!(f.ledger.alerts(key), 1);
    assert_eq!(f.ledger.current(key), 101);
    drop(permits);
}

#[test]
fn t32_outbound_translation_rules_rewrite_callee_and_caller() {
    let mut f = fx(&[
        (
            "sbc1",
            r#"outbound_pstn_number_translation_rules = ["AddNPA", "StripPlus1"]
outbound_teams_number_translation_rules = ["StripPlus1"]"#,
        ),
        (
            "extra",
            r#"[[translation_rules]]
name = "AddNPA"
pattern = '^(\d{4})$'
translation = '425555$1'
[[translation_rules]]
name = "StripPlus1"
pattern = '^\+1(\d{10})$'
translation = '$1'
[[users]]
id = "alice"
number = "+12065550100"
number_type = "direct_routing"
voice_routing_policy = "US Only""#,
        ),
    ]);
    let d = f.decide("alice", "425 555 0100");
    assert_eq!(f.scratch.number, "+14255550100");
    assert_eq!(d.caller_id, CallerId::Own);
    let sbc1 = f.engine.gateway("sbc1.contoso.com").unwrap();
    let number = f.scratch.number.clone();
    let (callee, caller) = f.engine.outbound_numbers(sbc1, &number, "+12065550100", &mut f.scratch);
    assert_eq!((callee.as_str(), caller.as_str()), ("4255550100", "2065550100"));
}

#[test]
fn t35_t36_emergency_masks_become_the_dial_string() {
    let mut f = fx(&[("spencer", r#"emergency_call_routing_policy = "US Emergency""#)]);
    let d = f.decide("spencer", "933");
    assert_eq!((d.kind(), f.scratch.number.as_str()), ("emergency", "911"));
    assert_eq!(f.order(&d), "sbc-e911");
    assert_eq!(d.caller_id, CallerId::Own);
    assert!(d.admission.is_empty(), "emergency calls are exempt from capacity");
    let mut f = fx(&[("spencer", r#"emergency_call_routing_policy = "EU Emergency""#)]);
    let d = f.decide("spencer", "897");
    assert_eq!((f.scratch.number.as_str(), f.order(&d).as_str()), ("112", "eu112"));
}

/// A policy of several numbers, one with a mask longer than a packed string holds: each
/// dial string and mask finds its own number (the first number is kept in the policy's record,
/// the others past it; strings of up to seven bytes are compared packed, longer ones as
/// strings), and a string that is only a prefix or an extension of one is no emergency call.
#[test]
fn t35_a_policy_of_several_numbers_finds_each_by_its_strings() {
    let mut f = fx(&[
        ("spencer", r#"emergency_call_routing_policy = "Both""#),
        (
            "extra",
            r#"[[emergency_call_routing_policies]]
name = "Both"
numbers = [
  { dial_string = "911", dial_masks = ["933"], usage = "US911" },
  { dial_string = "112", dial_masks = ["117", "99999999"], usage = "EU112" },
]"#,
        ),
    ]);
    for (dialed, number, order) in [
        ("911", "911", "sbc-e911"),
        ("933", "911", "sbc-e911"),
        ("112", "112", "eu112"),
        ("117", "112", "eu112"),
        ("99999999", "112", "eu112"),
    ] {
        let d = f.decide("spencer", dialed);
        assert_eq!(d.kind(), "emergency", "{dialed}");
        assert_eq!((f.scratch.number.as_str(), f.order(&d).as_str()), (number, order), "{dialed}");
    }
    for dialed in ["91", "9111", "9999999", "999999999", "11"] {
        assert_ne!(f.decide("spencer", dialed).kind(), "emergency", "{dialed}");
    }
}

#[test]
fn t37_site_policy_only_for_its_own_numbers() {
    let mut f = fx(&[
        ("spencer", "emergency_call_routing_policy = \"US Emergency\"\nnetwork_site = \"Paris\""),
        (
            "extra",
            "[[network_sites]]\nname = \"Paris\"\nemergency_call_routing_policy = \"EU Emergency\"",
        ),
    ]);
    let d = f.decide("spencer", "911");
    assert_eq!(f.order(&d), "sbc-e911");
    let d = f.decide("spencer", "112");
    assert_eq!(f.order(&d), "eu112", "112 is the site policy's");
}

#[test]
fn t38_no_emergency_policy_means_an_ordinary_call() {
    let mut f = fx(&[]);
    let d = f.decide("spencer", "911");
    assert_eq!(f.scratch.number, "+1911");
    assert_eq!(d.reject(), Some(Reject::NoRoute));
}

#[test]
fn t39_t40_dial_out_policies() {
    let mut f = fx(&[(
        "spencer",
        "dial_out_policy = \"DialoutCPCandPSTNDisabled\"\nemergency_call_routing_policy = \"US Emergency\"",
    )]);
    assert_eq!(f.decide("spencer", "+14255550100").reject(), Some(Reject::DialOutPolicy));
    assert_eq!(f.decide("spencer", "911").kind(), "emergency");
    let mut f = fx(&[("john", "dial_out_policy = \"DialoutCPCInternationalPSTNDomestic\"")]);
    assert_eq!(f.decide("john", "+442071234567").reject(), Some(Reject::DialOutPolicy));
    assert_eq!(f.decide("john", "+14255550100").kind(), "direct-routing");
    assert_eq!(f.decide("john", "+14165550100").reject(), Some(Reject::DialOutPolicy), "Canada");
    assert_eq!(f.decide("john", "+17875550100").kind(), "direct-routing", "PR: default group");
}

#[test]
fn domestic_groups_come_from_the_tenant() {
    // Spec §2.7: `domestic_groups` merges countries; this tenant treats Canada as domestic and
    // Puerto Rico as abroad.
    let mut f = fx(&[
        ("john", "dial_out_policy = \"DialoutCPCInternationalPSTNDomestic\""),
        ("extra", "[calling_plans]\ndomestic_groups = [[\"US\", \"CA\"]]"),
    ]);
    assert_eq!(f.decide("john", "+14165550100").kind(), "direct-routing", "Canada");
    assert_eq!(f.decide("john", "+17875550100").reject(), Some(Reject::DialOutPolicy), "PR");
    let mut f = fx(&[
        ("john", "dial_out_policy = \"DialoutCPCInternationalPSTNDomestic\""),
        ("extra", "[calling_plans]\ndomestic_groups = []"),
    ]);
    assert_eq!(f.decide("john", "+17875550100").reject(), Some(Reject::DialOutPolicy), "no groups");
}

#[test]
fn t44_t68_internal_calls_and_treatments() {
    let mut f = fx(&[(
        "extra",
        r#"[[users]]
id = "megan"
number = "+14255550103"
number_type = "direct_routing"
[[users]]
id = "lee"
number = "+14255550104"
number_type = "direct_routing"
reverse_number_lookup = "skip_internal_voip"
[[unassigned_number_treatments]]
name = "Vacant"
pattern = '^\+1555333\d{4}$'
target_type = "announcement"
target = "vacant.wav"
treatment_priority = 2"#,
    )]);
    let d = f.decide("spencer", "+14255550103");
    assert_eq!(d.outcome, Outcome::Internal(f.user("megan")));
    assert!(d.admission.is_empty());
    let d = f.decide("spencer", "+14255550104");
    assert_eq!(d.kind(), "direct-routing", "skip_internal_voip goes over the PSTN");
    let d = f.decide("spencer", "+15553331234");
    assert_eq!((d.kind(), &d.outcome), ("internal", &Outcome::Treatment(0)));
}

#[test]
fn t46_t47_t48_location_based_routing() {
    let lbr = r#"[[calling_policies]]
name = "LBR"
prevent_toll_bypass = true
[[network_sites]]
name = "S1"
lbr_enabled = true
[[network_sites]]
name = "S2"
lbr_enabled = true"#;
    let sbc1_s1 = "gateway_site_id = \"S1\"\ngateway_site_lbr_enabled = true";
    let mut f = fx(&[
        ("sbc1", sbc1_s1),
        ("spencer", "calling_policy = \"LBR\"\nnetwork_site = \"S1\""),
        ("extra", lbr),
    ]);
    let d = f.decide("spencer", "+14255550100");
    assert_eq!(f.order(&d), "sbc1", "only the LBR gateway of the user's site");
    let d = f.decide("john", "+14255550100");
    assert!(!f.order(&d).contains("sbc1"), "users without LBR never use LBR gateways");

    let mut call = Call::new(f.user("spencer"), "+14255550100");
    call.location = Location::Site(f.engine.site("S2").unwrap());
    assert_eq!(f.decide_call(&call).reject(), Some(Reject::LbrNotAllowed));
    call.location = Location::Unknown;
    assert_eq!(f.decide_call(&call).reject(), Some(Reject::LbrNotAllowed), "override off");

    let mut f = fx(&[
        ("sbc1", &format!("{sbc1_s1}\ngateway_lbr_enabled_user_override = true")),
        ("spencer", "calling_policy = \"LBR\"\nnetwork_site = \"S1\""),
        ("extra", lbr),
    ]);
    let mut call = Call::new(f.user("spencer"), "+14255550100");
    call.location = Location::Unknown;
    let d = f.decide_call(&call);
    assert_eq!(f.order(&d), "sbc1", "override on");
}

fn cp_users(extra: &str) -> common::Fx {
    let mut users = String::new();
    for i in 0..100 {
        users.push_str(&format!(
            "[[users]]\nid = \"dom{i}\"\nnumber = \"+1206556{i:04}\"\nnumber_type = \"calling_plan\"\ncalling_plan = \"domestic\"\n"
        ));
    }
    for i in 0..10 {
        users.push_str(&format!(
            "[[users]]\nid = \"intl{i}\"\nnumber = \"+1206557{i:04}\"\nnumber_type = \"calling_plan\"\ncalling_plan = \"international\"\n"
        ));
    }
    users.push_str(extra);
    let text = common::fixture_text(&[("extra", &users)]);
    let tenant = tpr_tenant::Tenant::from_toml_str(&text, "f.toml").unwrap();
    let engine = tpr_router::Engine::compile(&tenant).unwrap();
    let state = tpr_router::State::new(&engine);
    let scratch = tpr_router::Scratch::new();
    let ledger = state.ledger.clone();
    common::Fx { engine, state, scratch, rng: rand::SeedableRng::seed_from_u64(3), ledger }
}

#[test]
fn a_reload_keeps_the_minutes_used_and_the_credit_balance() {
    let f = cp_users("[calling_plans]\ncommunications_credits = 50\n");
    let dom7 = f.engine.party("dom7").unwrap();
    let pool = f.engine.pools().iter().position(|p| p.name == "US domestic (domestic)").unwrap();
    let pool = tpr_router::PoolId::from_index(pool as u16);
    f.state.settle(&f.engine, dom7, Charge::Pool(pool), 1_000 * 60);
    f.state.settle(&f.engine, dom7, Charge::Paid, 20 * 60);
    assert_eq!((f.state.pool_used(pool), f.state.credits_left(&f.engine)), (1_000, Some(30.0)));
    // The reloaded tenant has one more domestic user: the pool grows by its 3,000 minutes,
    // and the minutes used and the balance stay.
    let more = "[[users]]\nid = \"dom100\"\nnumber = \"+12065569999\"\nnumber_type = \"calling_plan\"\ncalling_plan = \"domestic\"\n";
    let g = cp_users(&format!("{more}[calling_plans]\ncommunications_credits = 50\n"));
    let after = tpr_router::State::after(&g.engine, g.state.ledger.clone(), &f.engine, &f.state);
    let name = |e: &tpr_router::Engine, p: tpr_router::PoolId| e.pools()[p.index()].name.clone();
    let new_pool = (0..g.engine.pools().len() as u16)
        .map(tpr_router::PoolId::from_index)
        .find(|&p| name(&g.engine, p) == name(&f.engine, pool))
        .unwrap();
    assert_eq!(g.engine.pools()[new_pool.index()].minutes, 303_000);
    assert_eq!(after.pool_used(new_pool), 1_000);
    assert_eq!(after.pool_left(new_pool), 302_000);
    assert_eq!(after.credits_left(&g.engine), Some(30.0));
    assert_eq!(after.paid_minutes(), (20, 0));
    // A call that started on the old engine ends after the reload: its minutes count for the
    // new state too (500 from the pool, then 10 paid from the balance).
    let s = f.state.settle(&f.engine, dom7, Charge::Pool(pool), 500 * 60);
    assert_eq!(s.pool, 500);
    f.state.settle(&f.engine, dom7, Charge::Paid, 10 * 60);
    assert_eq!(after.pool_used(new_pool), 1_500);
    assert_eq!(after.credits_left(&g.engine), Some(20.0));
    assert_eq!(after.paid_minutes(), (30, 0));
    // And what new calls use, the old state sees: both draw on one pool and one balance.
    let dom100 = g.engine.party("dom100").unwrap();
    after.settle(&g.engine, dom100, Charge::Paid, 5 * 60);
    assert_eq!(f.state.credits_left(&f.engine), Some(15.0));
    // A changed credit setting starts from the new setting, and the old balance is its own.
    let h = cp_users("[calling_plans]\ncommunications_credits = 80\n");
    let after = tpr_router::State::after(&h.engine, h.state.ledger.clone(), &f.engine, &f.state);
    assert_eq!(after.credits_left(&h.engine), Some(80.0));
    f.state.settle(&f.engine, dom7, Charge::Paid, 10 * 60);
    assert_eq!(
        (after.credits_left(&h.engine), f.state.credits_left(&f.engine)),
        (Some(80.0), Some(5.0))
    );
}

#[test]
fn a_reload_keeps_counting_spend_of_calls_that_end_on_the_old_engine() {
    let capped = |more: &str| {
        fx(&[(
            "extra",
            &format!(
                r#"[calling_plans]
communications_credits = 50
[[calling_policies]]
name = "Capped"
enable_spend_limits = true
calling_spend_user_limit = 5
[[users]]
id = "bob"
number = "+12065550151"
number_type = "calling_plan"
calling_plan = "domestic"
calling_policy = "Capped"
{more}"#
            ),
        )])
    };
    // Same parties: bob's spend is shared. A 3-minute call ends on the old engine after the
    // reload, then a 2-minute call on the new one reaches the limit of 5.
    let f = capped("");
    let mut g = capped("");
    let after = tpr_router::State::after(&g.engine, g.state.ledger.clone(), &f.engine, &f.state);
    g.state = after;
    let bob = f.user("bob");
    f.state.settle(&f.engine, bob, Charge::Paid, 3 * 60);
    assert!(!g.state.spend_reached(&g.engine, g.user("bob")));
    assert_eq!(g.decide("bob", "+14255550100").kind(), "calling-plan");
    g.state.settle(&g.engine, g.user("bob"), Charge::Paid, 2 * 60);
    assert!(g.state.spend_reached(&g.engine, g.user("bob")));
    assert!(f.state.spend_reached(&f.engine, bob), "the old state sees it too");

    // A reload that adds a user copies bob's spend by name (here 5: still at the limit).
    let h = capped(
        "[[users]]\nid = \"carol\"\nnumber = \"+12065550152\"\nnumber_type = \"calling_plan\"\ncalling_plan = \"domestic\"\ncalling_policy = \"Capped\"\n",
    );
    let after = tpr_router::State::after(&h.engine, h.state.ledger.clone(), &f.engine, &f.state);
    assert!(after.spend_reached(&h.engine, h.engine.party("bob").unwrap()));
    assert!(!after.spend_reached(&h.engine, h.engine.party("carol").unwrap()));
}

#[test]
fn t49_t50_minute_pools_per_country_and_plan() {
    let mut f = cp_users("");
    let pools: Vec<(String, u64)> =
        f.engine.pools().iter().map(|p| (p.name.clone(), p.minutes)).collect();
    assert_eq!(
        pools,
        [
            ("US domestic (domestic)".to_owned(), 300_000),
            ("US international (domestic)".to_owned(), 30_000),
            ("US international (international)".to_owned(), 6_000),
        ]
    );
    let d = f.decide("dom7", "+14255550100");
    let Outcome::CallingPlan(Charge::Pool(pool)) = d.outcome else { panic!("{d:?}") };
    let dom7 = f.user("dom7");
    let s = f.state.settle(&f.engine, dom7, Charge::Pool(pool), 300_000 * 60);
    assert_eq!((s.minutes, s.pool, s.unfunded), (300_000, 300_000, 0));
    assert_eq!(f.decide("dom8", "+14255550100").reject(), Some(Reject::NoMinutes));
    assert!(matches!(
        f.decide("intl1", "+14255550100").outcome,
        Outcome::CallingPlan(Charge::Pool(_))
    ));
    // International from a domestic plan needs credits.
    assert_eq!(f.decide("dom8", "+442071234567").reject(), Some(Reject::NoCredits));
    assert!(matches!(
        f.decide("intl1", "+442071234567").outcome,
        Outcome::CallingPlan(Charge::Pool(_))
    ));
    f.state.new_period();
    assert!(matches!(
        f.decide("dom8", "+14255550100").outcome,
        Outcome::CallingPlan(Charge::Pool(_))
    ));

    let mut f = cp_users("[calling_plans]\ncommunications_credits = 20");
    let dom7 = f.user("dom7");
    let Outcome::CallingPlan(c) = f.decide("dom7", "+14255550100").outcome else { panic!() };
    f.state.settle(&f.engine, dom7, c, 300_000 * 60);
    assert_eq!(f.decide("dom8", "+14255550100").outcome, Outcome::CallingPlan(Charge::Paid));
}

#[test]
fn t51_t76_pay_as_you_go_spend_limits_and_overruns() {
    let mut f = fx(&[(
        "extra",
        "[[users]]\nid = \"payg\"\nnumber = \"+12065550150\"\nnumber_type = \"calling_plan\"\ncalling_plan = \"pay_as_you_go\"",
    )]);
    assert_eq!(f.decide("payg", "+14255550100").reject(), Some(Reject::PaygUnfunded));

    let mut f = fx(&[(
        "extra",
        r#"[calling_plans]
communications_credits = 50
domestic_minutes = { US = 10 }
[[calling_policies]]
name = "Capped"
enable_spend_limits = true
calling_spend_user_limit = 5
[[users]]
id = "bob"
number = "+12065550151"
number_type = "calling_plan"
calling_plan = "domestic"
calling_policy = "Capped""#,
    )]);
    let bob = f.user("bob");
    let Outcome::CallingPlan(c) = f.decide("bob", "+14255550100").outcome else { panic!() };
    let s = f.state.settle(&f.engine, bob, c, 15 * 60);
    assert_eq!((s.pool, s.paid, s.unfunded), (10, 5, 0));
    assert_eq!(f.decide("bob", "+14255550100").reject(), Some(Reject::SpendLimit));

    let mut f = fx(&[(
        "extra",
        "[calling_plans]\ndomestic_minutes = { US = 10 }\n[[users]]\nid = \"bob\"\nnumber = \"+12065550151\"\nnumber_type = \"calling_plan\"\ncalling_plan = \"domestic\"",
    )]);
    let bob = f.user("bob");
    let Outcome::CallingPlan(c) = f.decide("bob", "+14255550100").outcome else { panic!() };
    let s = f.state.settle(&f.engine, bob, c, 15 * 60 - 30);
    assert_eq!((s.minutes, s.pool, s.unfunded), (15, 10, 5), "admitted, never cut, overrun 5");
}

#[test]
fn t57_t58_caller_id() {
    let mut f = fx(&[
        (
            "spencer",
            "caller_id_policy = \"Main\"\nemergency_call_routing_policy = \"US Emergency\"",
        ),
        ("john", "caller_id_policy = \"Hidden\""),
        (
            "extra",
            r#"[[resource_accounts]]
id = "main-line"
kind = "auto_attendant"
number = "+14255550000"
number_type = "direct_routing"
[[caller_id_policies]]
name = "Main"
calling_id_substitute = "resource"
resource_account = "main-line"
[[caller_id_policies]]
name = "Hidden"
calling_id_substitute = "anonymous"
enable_user_override = true"#,
        ),
    ]);
    let main = f.user("main-line");
    assert_eq!(f.decide("spencer", "+14255550100").caller_id, CallerId::Resource(main));
    assert_eq!(f.decide("spencer", "911").caller_id, CallerId::Own);
    assert_eq!(f.decide("john", "+14255550100").caller_id, CallerId::Anonymous);
}

#[test]
fn t59_global_policy_reaches_calling_plan_users() {
    let mut f = fx(&[(
        "extra",
        r#"[[voice_routing_policies]]
name = "Global"
usages = ["US and Canada"]
[[users]]
id = "cp"
number = "+12065550160"
number_type = "calling_plan"
calling_plan = "domestic""#,
    )]);
    let d = f.decide("cp", "+14255550100");
    assert_eq!(d.kind(), "direct-routing");
    assert!(pair(f.order(&d).split('|').next().unwrap(), "sbc1", "sbc2"));
}

#[test]
fn t66_t67_carrier_emergency() {
    let mut f = fx(&[(
        "extra",
        r#"[[users]]
id = "cp"
number = "+12065550160"
number_type = "calling_plan"
calling_plan = "domestic"
[[users]]
id = "jp"
usage_location = "JP"
number = "+81312345678"
number_type = "calling_plan"
calling_plan = "domestic""#,
    )]);
    let d = f.decide("cp", "9911");
    assert_eq!((d.kind(), f.scratch.number.as_str()), ("emergency", "911"));
    assert_eq!(d.outcome, Outcome::CallingPlan(Charge::Free));
    assert_eq!(f.decide("jp", "110").reject(), Some(Reject::EmergencyNotSupported));
}

#[test]
fn t70_enforced_cap_answers_503_and_fails_over() {
    let mut f = fx(&[("sbc1", "enforced_max_sessions = 1"), ("sbc2", "enforced_max_sessions = 1")]);
    let (d, a, b) = first_two(&mut f);
    let key = f.engine.gateway_key(f.engine.gateway(&format!("{a}.contoso.com")).unwrap());
    let ledger = f.ledger.clone();
    let busy = ledger.try_acquire(&[key]).unwrap();
    let run = f.run(&d, &Script::new());
    assert_eq!(run.refused, std::slice::from_ref(&a));
    assert_eq!((run.tried(), &run.end), (vec![b.as_str()], &End::Connected));
    drop(busy);
    assert_eq!(f.ledger.in_use(), 0);
}

#[test]
fn t71_operator_connect_and_full_trunks() {
    let mut f = fx(&[(
        "extra",
        r#"[[users]]
id = "oc"
number = "+12065550170"
number_type = "operator_connect"
operator = "Fabrikam"
calling_plan = "domestic""#,
    )]);
    let d = f.decide("oc", "+442071234567");
    let Outcome::Operator(t) = d.outcome else { panic!("{d:?}") };
    assert_eq!(f.engine.trunk_name(t), "fabrikam-east");
    let key = f.engine.trunk_key(t);
    let ledger = f.ledger.clone();
    let full: Vec<_> = (0..300).map(|_| ledger.try_acquire(&[key]).unwrap()).collect();
    let run = f.run(&d, &Script::new());
    assert_eq!(run.end, End::Failed(Failure::Rejected(Reject::TrunkFull)));
    drop(full);
    assert_eq!(f.ledger.in_use(), 0);
}

#[test]
fn t72_resource_accounts_keep_the_inbound_connectivity() {
    let mut f = fx(&[(
        "extra",
        r#"[[resource_accounts]]
id = "cq"
kind = "call_queue"
number = "+12065550180"
number_type = "calling_plan"
calling_plan = "domestic""#,
    )]);
    let sbc1 = f.engine.gateway("sbc1.contoso.com").unwrap();
    let mut call = Call::new(f.user("cq"), "+14255550100");
    call.ingress = Some(Ingress::Gateway(sbc1));
    assert_eq!(f.decide_call(&call).reject(), Some(Reject::CrossTrunkTransfer));
    call.ingress = Some(Ingress::CallingPlan);
    assert_eq!(f.decide_call(&call).kind(), "calling-plan");
}

#[test]
fn t75_network_errors_retry_then_fail_over_and_each_gateway_once() {
    let mut f = fx(&[]);
    let (d, a, b) = first_two(&mut f);
    let run = f.run(&d, &Script::new().unreachable(&a, 3));
    assert_eq!(run.tried(), [a.as_str(), &a, &a, &b]);
    assert_eq!(run.end, End::Connected);

    let mut f = fx(&[("r2", r#"gateways = ["sbc2.contoso.com", "sbc3.contoso.com"]"#)]);
    let d = f.decide("spencer", "+14255550100");
    let run = f.run(&d, &Script::new().code("sbc1", 503).code("sbc2", 503));
    assert_eq!(run.tried()[2], "sbc3", "{:?}", run.tried());
    assert_eq!(run.tried().iter().filter(|g| **g == "sbc2").count(), 1);
}

#[test]
fn t77_web_client_and_calling_disabled() {
    let mut f = fx(&[
        ("spencer", "calling_policy = \"NoWeb\"\nemergency_call_routing_policy = \"US Emergency\""),
        ("john", "calling_policy = \"Off\""),
        (
            "extra",
            "[[calling_policies]]\nname = \"NoWeb\"\nallow_web_pstn_calling = false\n[[calling_policies]]\nname = \"Off\"\nallow_private_calling = false",
        ),
    ]);
    let mut call = Call::new(f.user("spencer"), "+14255550100");
    call.client = Client::Web;
    assert_eq!(f.decide_call(&call).reject(), Some(Reject::WebPstnDisabled));
    call.client = Client::Desktop;
    assert_eq!(f.decide_call(&call).kind(), "direct-routing");
    assert_eq!(f.decide("john", "911").reject(), Some(Reject::CallingDisabled));
}

#[test]
fn caller_number_capacity_is_checked_before_dial_out() {
    let mut f = fx(&[]);
    let spencer = f.user("spencer");
    let key = f.engine.number_key(spencer).unwrap();
    let ledger = f.ledger.clone();
    let two: Vec<_> = (0..2).map(|_| ledger.try_acquire(&[key]).unwrap()).collect();
    assert_eq!(f.decide("spencer", "+14255550100").reject(), Some(Reject::CapacityExceeded));
    drop(two);
    assert_eq!(f.decide("spencer", "+14255550100").kind(), "direct-routing");
}

#[test]
fn a_translation_may_leave_any_text_in_the_number() {
    // Translations are the admin's text; tpr does not police them. A number that is not
    // `+digits` goes where the route patterns send it (here the fixture's catch-all
    // International route), without a panic: finding its calling code once cut `é` in half.
    let mut f = fx(&[
        ("john", "dial_plan = \"Odd\""),
        (
            "extra",
            "[[dial_plans]]\nname = \"Odd\"\nrules = [ { name = \"Odd\", pattern = '^(\\d{5})$', translation = '+9é$1' } ]",
        ),
    ]);
    let d = f.decide("john", "12345");
    assert_eq!(f.scratch.number, "+9é12345");
    assert_eq!(d.kind(), "direct-routing", "{d:?}");
}

#[test]
fn each_gateway_once_beyond_the_first_128() {
    // Decisions track the gateways already placed as bits for the first 128 and by a scan
    // of the list for the rest; two routes sharing gateways on both sides of that line.
    let mut extra = String::new();
    for i in 0..140 {
        extra += &format!(
            "[[gateways]]\nfqdn = \"g{i}.contoso.com\"\nsip_signaling_port = 5061\nenabled = true\n"
        );
    }
    let list = |r: std::ops::Range<usize>| {
        r.map(|i| format!("\"g{i}.contoso.com\"")).collect::<Vec<_>>().join(", ")
    };
    extra += &format!(
        "[[voice_routes]]\nname = \"Wide A\"\nnumber_pattern = '^\\+1555'\npriority = 7\ngateways = [{}]\nusages = [\"US and Canada\"]\n",
        list(0..135)
    );
    extra += &format!(
        "[[voice_routes]]\nname = \"Wide B\"\nnumber_pattern = '^\\+1555'\npriority = 8\ngateways = [\"sbc5.contoso.com\", {}]\nusages = [\"US and Canada\"]\n",
        list(125..140)
    );
    let mut f = fx(&[("extra", &extra)]);
    let d = f.decide("spencer", "+15550000000");
    let order = f.order(&d);
    let groups: Vec<Vec<&str>> = order.split('|').map(|g| g.split(',').collect()).collect();
    assert_eq!(groups.len(), 3, "{order}");
    // Other +1 (priority 3) keeps sbc5 and sbc6; Wide A all its 135; Wide B only the five
    // of its gateways no earlier route placed.
    let sorted = |g: &[&str]| {
        let mut g = g.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        g.sort();
        g
    };
    assert_eq!(sorted(&groups[0]), ["sbc5", "sbc6"]);
    assert_eq!(groups[1].len(), 135);
    assert_eq!(sorted(&groups[2]), ["g135", "g136", "g137", "g138", "g139"]);
    let all: std::collections::HashSet<&str> = groups.iter().flatten().copied().collect();
    assert_eq!(all.len(), 142, "a gateway appears twice: {order}");
}
