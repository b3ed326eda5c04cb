//! The spec fixture with per-test changes, and a scripted driver for the attempt machine.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use tpr_router::{
    Attempt, Call, Decision, Engine, Failure, Input, Outcome, Output, Scratch, State, UserId,
};
use tpr_tenant::Tenant;

pub const FIXTURE: &str = include_str!("../fixture.toml");

/// The fixture with `#{slot}` lines replaced: `(slot, text)` pairs; slots not given get their
/// defaults.
pub fn fixture_text(changes: &[(&str, &str)]) -> String {
    let defaults = [
        ("r2", r#"gateways = ["sbc3.contoso.com", "sbc4.contoso.com"]"#),
        ("norestrictions", r#"usages = ["US and Canada", "International"]"#),
    ];
    let mut text = FIXTURE.to_owned();
    for (slot, value) in changes.iter().chain(defaults.iter()) {
        text = text.replace(&format!("#{{{slot}}}"), value);
    }
    text
}

pub struct Fx {
    pub engine: Engine,
    pub state: State,
    pub scratch: Scratch,
    pub rng: Pcg64Mcg,
    pub ledger: Arc<tpr_capacity::Ledger>,
}

pub fn fx(changes: &[(&str, &str)]) -> Fx {
    let text = fixture_text(changes);
    let tenant = Tenant::from_toml_str(&text, "fixture.toml")
        .unwrap_or_else(|e| panic!("fixture does not load:\n{e}"));
    let engine = Engine::compile(&tenant).unwrap_or_else(|e| panic!("fixture: {e}"));
    let state = State::new(&engine);
    let scratch = Scratch::new();
    let ledger = state.ledger.clone();
    Fx { engine, state, scratch, rng: Pcg64Mcg::seed_from_u64(7), ledger }
}

impl Fx {
    pub fn user(&self, id: &str) -> UserId {
        self.engine.party(id).unwrap_or_else(|| panic!("no party {id}"))
    }

    pub fn decide(&mut self, user: &str, dialed: &str) -> Decision {
        let call = Call::new(self.user(user), dialed);
        self.decide_call(&call)
    }

    pub fn decide_call(&mut self, call: &Call<'_>) -> Decision {
        self.engine.decide(&self.state, call, &mut self.scratch, &mut self.rng, 0)
    }

    /// Gateway names in try order, `|` between routes.
    pub fn order(&self, d: &Decision) -> String {
        let Outcome::Direct { candidates, .. } = &d.outcome else {
            return format!("{:?}", d.outcome);
        };
        let mut out = String::new();
        let mut route = None;
        for c in candidates {
            if route.is_some() {
                out.push(if route == Some(c.route) { ',' } else { '|' });
            }
            route = Some(c.route);
            out.push_str(self.engine.gateway_name(c.gateway).trim_end_matches(".contoso.com"));
        }
        out
    }

    /// Runs the decision's attempts against scripted gateways; returns the gateways that got
    /// an INVITE (with datacenter retries), the end, and the time each INVITE was sent.
    pub fn run(&self, d: &Decision, script: &Script) -> Run {
        let mut run = Run::default();
        let Some(mut a) = Attempt::start(&self.engine, &self.ledger, d, 0) else {
            run.end = End::NotStarted;
            return run;
        };
        let mut now = 0u64;
        let mut timer: Option<u64> = None;
        let mut pending: Vec<Input> = Vec::new();
        loop {
            while let Some(o) = a.poll_output() {
                match o {
                    Output::Invite { gateway, .. } => {
                        let name =
                            self.engine.gateway_name(gateway).trim_end_matches(".contoso.com");
                        run.invites.push((name.to_owned(), now));
                        let n = run.invites.iter().filter(|(g, _)| g == name).count();
                        pending.extend(script.answer(name, n));
                    }
                    Output::CapRefused { gateway } => {
                        let name =
                            self.engine.gateway_name(gateway).trim_end_matches(".contoso.com");
                        run.refused.push(name.to_owned());
                    }
                    Output::InviteCarrier { .. } => pending.push(Input::Response(200)),
                    Output::ArmTimer => timer = a.timer(),
                    Output::CancelTimer => timer = None,
                    Output::Connected => run.end = End::Connected,
                    Output::Failed(f) => run.end = End::Failed(f),
                    Output::Released => {
                        run.in_use_after = self.ledger.in_use();
                        return run;
                    }
                    Output::Ringing | Output::Cancel => {}
                }
            }
            if a.is_connected() {
                run.in_use_connected = self.ledger.in_use();
                a.handle_input(&self.engine, &self.ledger, Input::HangUp, now);
                continue;
            }
            if let Some(input) = (!pending.is_empty()).then(|| pending.remove(0)) {
                a.handle_input(&self.engine, &self.ledger, input, now);
            } else if let Some(at) = timer.take() {
                now = at;
                a.handle_input(&self.engine, &self.ledger, Input::Timer, now);
            } else {
                panic!("the machine is stuck: no input, no timer, not done");
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum End {
    #[default]
    Running,
    NotStarted,
    Connected,
    Failed(Failure),
}

#[derive(Debug, Default)]
pub struct Run {
    pub invites: Vec<(String, u64)>,
    pub refused: Vec<String>,
    pub end: End,
    pub in_use_connected: u64,
    pub in_use_after: u64,
}

impl Run {
    pub fn tried(&self) -> Vec<&str> {
        self.invites.iter().map(|(g, _)| g.as_str()).collect()
    }
}

/// What each gateway answers: a list of inputs per INVITE it gets (a `Silent` gateway sends
/// nothing and lets the timer fire). Gateways not listed answer 200.
#[derive(Debug, Default, Clone)]
pub struct Script {
    by_gateway: HashMap<String, Vec<Input>>,
    network_errors: HashMap<String, usize>,
    silent: Vec<String>,
}

impl Script {
    pub fn new() -> Script {
        Script::default()
    }

    pub fn respond(mut self, gateway: &str, inputs: &[Input]) -> Script {
        self.by_gateway.insert(gateway.to_owned(), inputs.to_vec());
        self
    }

    pub fn code(self, gateway: &str, code: u16) -> Script {
        self.respond(gateway, &[Input::Response(code)])
    }

    pub fn silent(mut self, gateway: &str) -> Script {
        self.silent.push(gateway.to_owned());
        self
    }

    /// The first `n` INVITEs to `gateway` meet a network error.
    pub fn unreachable(mut self, gateway: &str, n: usize) -> Script {
        self.network_errors.insert(gateway.to_owned(), n);
        self
    }

    fn answer(&self, gateway: &str, nth: usize) -> Vec<Input> {
        if self.network_errors.get(gateway).is_some_and(|&n| nth <= n) {
            return vec![Input::NetworkError];
        }
        if self.silent.iter().any(|g| g == gateway) {
            return vec![Input::Response(100)];
        }
        self.by_gateway.get(gateway).cloned().unwrap_or_else(|| vec![Input::Response(200)])
    }
}
