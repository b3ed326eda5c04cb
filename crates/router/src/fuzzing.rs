//! Entry point for the `router_decide` fuzz target (`fuzz/`), also called by `cargo test` on
//! saved inputs so that a crash once found stays fixed on stable Rust.
//!
//! The tenant is fixed: the bundled contoso tenant (Direct Routing with failover, Calling Plan,
//! Operator Connect, emergency policies, resource accounts) plus `data/fuzz_extra.toml`
//! (Location-Based Routing, a disabled gateway, unassigned numbers, inbound blocking); the
//! bytes choose calls against it. Tenant files have their own fuzz target.

use std::sync::{Arc, OnceLock};

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use crate::{
    Attempt, Call, Client, Engine, GatewayId, InboundCall, Ingress, Input, Location, Outcome,
    Output, Prefetch, Scratch, SiteId, State, TrunkId, UserId,
};

const CONTOSO: &str = include_str!("../../../scenarios/tenants/contoso.toml");
const EXTRA: &str = include_str!("../data/fuzz_extra.toml");

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        // 50 range users instead of 5,000: each input gets a fresh `State`, whose ledger has a
        // key per number, and the fuzzer should spend its time on calls, not on building it.
        let contoso = CONTOSO.replacen("count = 5000", "count = 50", 1);
        assert_ne!(contoso, CONTOSO, "contoso.toml's user range moved: update the fuzz target");
        let text = format!("{contoso}\n{EXTRA}");
        let tenant = tpr_tenant::Tenant::from_toml_str(&text, "contoso.toml + fuzz_extra.toml")
            .unwrap_or_else(|e| panic!("the fuzz tenant loads: {e}"));
        Engine::compile(&tenant).expect("the fuzz tenant compiles")
    })
}

/// Reads the fuzz input a byte or a string at a time; past the end, zeros and empty strings.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |v, _| v << 8 | u64::from(self.byte()))
    }

    /// A string of the length the next byte gives (lossy UTF-8, as a SIP stack would pass on).
    fn text(&mut self) -> String {
        let n = (self.byte() as usize).min(self.0.len());
        let (s, rest) = self.0.split_at(n);
        self.0 = rest;
        String::from_utf8_lossy(s).into_owned()
    }
}

/// Decides calls the bytes describe, outbound and inbound, and drives each outbound call's
/// attempt machine with the responses, timers and hang-ups they give. Checks: nothing panics;
/// the same seed gives the same decision; a Direct Routing decision lists enabled gateways,
/// each once; the attempt machine ends and gives back every permit it took, exactly once.
pub fn decide_target(data: &[u8]) {
    let engine = engine();
    let state = State::new(engine);
    let mut scratch = Scratch::new();
    let mut b = Bytes(data);
    let users = engine.user_count() as u32;
    let gateways = engine.gateway_count() as u16;
    let mut calls = 0;
    while !b.0.is_empty() && calls < 64 {
        calls += 1;
        let op = b.byte();
        let ingress = match b.byte() % 5 {
            0 if gateways > 0 => {
                Some(Ingress::Gateway(GatewayId::from_index(u16::from(b.byte()) % gateways)))
            }
            1 => Some(Ingress::CallingPlan),
            2 if engine.trunk_count() > 0 => Some(Ingress::Operator(TrunkId::from_index(0))),
            _ => None,
        };
        if op % 4 == 0 {
            let (called, caller) = (b.text(), b.text());
            let via = ingress.unwrap_or(Ingress::CallingPlan);
            let call =
                InboundCall { called: &called, caller: &caller, via, voicemail: op & 8 != 0 };
            let _ = engine.decide_inbound(&state, &call, &mut scratch);
            continue;
        }
        let caller = UserId::from_index(u32::from(b.byte()) % users.max(1));
        let location = match b.byte() % 3 {
            0 => Location::Assigned,
            1 => Location::Site(SiteId::from_index(u16::from(b.byte() % 4))),
            _ => Location::Unknown,
        };
        let dialed = b.text();
        let call = Call {
            caller,
            dialed: &dialed,
            client: if op & 16 != 0 { Client::Web } else { Client::Desktop },
            location,
            ingress,
            hide_caller_id: op & 32 != 0,
        };
        let seed = b.u64();
        let now = b.u64() % (1 << 40);
        let d = engine.decide(&state, &call, &mut scratch, &mut Pcg64Mcg::seed_from_u64(seed), now);
        // Prefetching, for this caller or any index at all, is a hint that changes nothing
        // (the index comes from the seed, so the input is read as before).
        let anyone = UserId::from_index((seed >> 32) as u32);
        for step in [Prefetch::Header, Prefetch::Party, Prefetch::Records, Prefetch::Automata] {
            engine.prefetch_call(&state, anyone, &dialed, step);
            engine.prefetch_call(&state, caller, &dialed, step);
        }
        // Deciding with a walk ahead, at any step of it, decides the same; so does deciding
        // with another caller's.
        for who in [caller, anyone] {
            let mut ahead = engine.call_ahead(who, &dialed);
            let mut steps = 0;
            loop {
                let rng = &mut Pcg64Mcg::seed_from_u64(seed);
                let walked = engine.decide_ahead(&state, &call, &ahead, &mut scratch, rng, now);
                assert_eq!(d, walked, "a walk ahead changes the decision");
                if !ahead.step() {
                    break;
                }
                steps += 1;
                assert!(steps <= dialed.len() + 10, "a walk ahead ends");
                ahead.refresh();
            }
        }
        let again =
            engine.decide(&state, &call, &mut scratch, &mut Pcg64Mcg::seed_from_u64(seed), now);
        assert_eq!(d, again, "same seed, same decision");
        if let Outcome::Direct { candidates, .. } = &d.outcome {
            assert!(!candidates.is_empty(), "a routed call has a gateway to try");
            for (i, c) in candidates.iter().enumerate() {
                assert!(engine.gateway_enabled(c.gateway), "only enabled gateways are tried");
                assert!(
                    candidates[..i].iter().all(|x| x.gateway != c.gateway),
                    "each gateway once: {candidates:?}"
                );
            }
        }
        drive(engine, &state.ledger, &d, now, &mut b);
        assert_eq!(state.ledger.in_use(), 0, "every permit given back after the call");
    }
}

fn drive(
    engine: &Engine,
    ledger: &Arc<tpr_capacity::Ledger>,
    d: &crate::Decision,
    mut now: u64,
    b: &mut Bytes<'_>,
) {
    let Some(mut a) = Attempt::start(engine, ledger, d, now) else { return };
    let mut released = 0;
    let mut drain = |a: &mut Attempt| {
        while let Some(o) = a.poll_output() {
            if o == Output::Released {
                released += 1;
            }
        }
    };
    drain(&mut a);
    for _ in 0..32 {
        if a.is_done() {
            break;
        }
        let input = match b.byte() % 6 {
            0 => Input::Timer,
            1 => Input::NetworkError,
            2 => Input::HangUp,
            _ => Input::Response(100 + u16::from(b.byte()) * 2 % 600),
        };
        now += u64::from(b.byte()) * 100;
        a.handle_input(engine, ledger, input, now);
        drain(&mut a);
    }
    a.handle_input(engine, ledger, Input::HangUp, now);
    drain(&mut a);
    assert!(a.is_done(), "a hung-up call is over");
    assert_eq!(released, 1, "released exactly once");
}
