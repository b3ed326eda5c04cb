//! `tpr route`: the full decision for dialed numbers (or, with `--inbound`, for calls to
//! numbers of the tenant).

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use serde_json::json;
use tpr_router::{
    Call, CallerId, Charge, Client, Decision, Delivery, Engine, InboundCall, InboundDecision,
    InboundOutcome, Ingress, Location, Outcome, Scratch, State, UserId,
};

use crate::lines::{for_each_input, shown};
use crate::{Finish, UserError, tenant_file};

/// Arguments of `tpr route`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The tenant: TOML or a PowerShell script.
    #[arg(long, value_name = "FILE")]
    tenant: PathBuf,
    /// The calling user or resource account (outbound calls).
    #[arg(long, value_name = "ID", required_unless_present = "inbound")]
    user: Option<String>,
    /// Seed of the gateway shuffle (same seed, same order).
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Route inbound calls to the given numbers instead.
    #[arg(long, conflicts_with = "user")]
    inbound: bool,
    /// Inbound: the caller's number.
    #[arg(long, value_name = "NUMBER", default_value = "+14255550199", requires = "inbound")]
    from: String,
    /// Inbound: where the call enters: a gateway FQDN, `calling-plan`, or `operator:TRUNK`.
    #[arg(long, value_name = "ENTRY", default_value = "calling-plan")]
    via: String,
    /// Outbound: a forwarded or transferred call that came in this way (same forms as
    /// `--via`); its gateway is tried first.
    #[arg(long, value_name = "ENTRY", conflicts_with = "inbound")]
    ingress: Option<String>,
    /// Outbound: the caller is at this network site (`unknown` for an unknown network).
    #[arg(long, value_name = "SITE")]
    site: Option<String>,
    /// Outbound: the call comes from Teams on the web.
    #[arg(long)]
    web: bool,
    /// One JSON object per input, with the candidates and their translated numbers.
    #[arg(long)]
    json: bool,
    /// Numbers; without any, one per line is read from stdin.
    numbers: Vec<String>,
}

fn entry(engine: &Engine, text: &str) -> Result<Ingress, UserError> {
    if text == "calling-plan" {
        return Ok(Ingress::CallingPlan);
    }
    if let Some(trunk) = text.strip_prefix("operator:") {
        return (0..engine.trunk_count())
            .map(|i| tpr_router::TrunkId::from_index(i as u16))
            .find(|t| engine.trunk_name(*t).eq_ignore_ascii_case(trunk))
            .map(Ingress::Operator)
            .ok_or_else(|| UserError::Message(format!("no operator trunk {trunk:?}")));
    }
    engine.gateway(text).map(Ingress::Gateway).ok_or_else(|| {
        UserError::Message(format!(
            "{text:?} is not a gateway of the tenant, `calling-plan` or `operator:TRUNK`"
        ))
    })
}

pub fn run(args: Args) -> anyhow::Result<Finish> {
    let tenant = tenant_file::load(&args.tenant)?;
    let engine = Engine::compile(&tenant)
        .map_err(|e| UserError::Message(format!("{}: {e}", args.tenant.display())))?;
    let state = State::new(&engine);
    let mut p = Printer {
        engine: &engine,
        state: &state,
        scratch: Scratch::new(),
        rng: Pcg64Mcg::seed_from_u64(args.seed),
        json: args.json,
        invalid: 0,
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    if args.inbound {
        let via = entry(&engine, &args.via)?;
        for_each_input(&args.numbers, &mut out, |out, input| match input {
            Ok(s) => p.inbound(out, s, &args.from, via),
            Err(s) => p.bad(out, s),
        })?;
    } else {
        let id = args.user.as_deref().unwrap_or_default();
        let caller = engine.party(id).ok_or_else(|| {
            UserError::Message(format!("{}: no user {id:?} in the tenant", args.tenant.display()))
        })?;
        let location = match args.site.as_deref() {
            None => Location::Assigned,
            Some(s) if s.eq_ignore_ascii_case("unknown") => Location::Unknown,
            Some(s) => Location::Site(
                engine
                    .site(s)
                    .ok_or_else(|| UserError::Message(format!("no network site {s:?}")))?,
            ),
        };
        let ingress = args.ingress.as_deref().map(|t| entry(&engine, t)).transpose()?;
        let client = if args.web { Client::Web } else { Client::Desktop };
        for_each_input(&args.numbers, &mut out, |out, input| match input {
            Ok(s) => {
                let mut call = Call::new(caller, s);
                call.location = location;
                call.ingress = ingress;
                call.client = client;
                p.outbound(out, &call)
            }
            Err(s) => p.bad(out, s),
        })?;
    }
    out.flush()?;
    if p.invalid > 0 {
        eprintln!("tpr: {} input(s) were not valid UTF-8", p.invalid);
        return Ok(Finish::SomeInputsInvalid);
    }
    Ok(Finish::Ok)
}

/// One outbound decision as a JSON line (keys in alphabetical order, as they always were).
#[derive(serde::Serialize)]
struct OutboundJson<'a> {
    caller_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    candidates: Option<Vec<CandidateJson<'a>>>,
    detail: &'a str,
    emergency: bool,
    input: &'a str,
    kind: &'a str,
    normalized: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    rules: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<&'a str>,
}

/// A gateway to try, with the numbers its outbound translation rules send.
#[derive(serde::Serialize)]
struct CandidateJson<'a> {
    callee: String,
    caller: String,
    gateway: &'a str,
    route: &'a str,
}

struct Printer<'a> {
    engine: &'a Engine,
    state: &'a State,
    scratch: Scratch,
    rng: Pcg64Mcg,
    json: bool,
    invalid: usize,
}

impl Printer<'_> {
    fn bad(&mut self, out: &mut impl Write, input: &str) -> io::Result<()> {
        self.invalid += 1;
        if self.json {
            crate::lines::json_line(
                out,
                &json!({ "input": input, "error": "input is not valid UTF-8" }),
            )
        } else {
            writeln!(out, "{}\t\trejected\tinput is not valid UTF-8", shown(input))
        }
    }

    fn caller_number(&self, caller: UserId, d: &Decision) -> String {
        let e = self.engine;
        match d.caller_id {
            CallerId::Own => e.number_of(caller).unwrap_or_default().to_owned(),
            CallerId::Resource(ra) => e.number_of(ra).unwrap_or_default().to_owned(),
            CallerId::Anonymous => "anonymous".to_owned(),
            CallerId::None => String::new(),
        }
    }

    /// The detail column of an outbound decision.
    fn detail(&self, d: &Decision) -> String {
        let e = self.engine;
        match &d.outcome {
            Outcome::Direct { candidates, .. } => {
                let mut s = String::new();
                let mut route = None;
                for c in candidates {
                    if route != Some(c.route) {
                        if route.is_some() {
                            s.push_str("; ");
                        }
                        s.push_str(e.route_name(c.route));
                        s.push_str(": ");
                        route = Some(c.route);
                    } else {
                        s.push(',');
                    }
                    s.push_str(e.gateway_name(c.gateway));
                }
                s
            }
            Outcome::CallingPlan(Charge::Pool(p)) => {
                format!("Microsoft PSTN, pool {}", e.pools()[p.index()].name)
            }
            Outcome::CallingPlan(Charge::Paid) => "Microsoft PSTN, paid minutes".to_owned(),
            Outcome::CallingPlan(Charge::Free) => "Microsoft PSTN".to_owned(),
            Outcome::Operator(t) => format!("operator trunk {}", e.trunk_name(*t)),
            Outcome::Internal(u) => format!("to {}", e.party_name(*u)),
            Outcome::Treatment(t) => {
                let (name, target) = e.treatment(*t);
                format!("unassigned number treatment {name}: {target}")
            }
            Outcome::Rejected(r) => r.to_string(),
        }
    }

    fn outbound(&mut self, out: &mut impl Write, call: &Call<'_>) -> io::Result<()> {
        let d = self.engine.decide(self.state, call, &mut self.scratch, &mut self.rng, 0);
        let number = self.scratch.number.clone();
        let detail = self.detail(&d);
        if !self.json {
            return writeln!(out, "{}\t{number}\t{}\t{detail}", shown(call.dialed), d.kind());
        }
        let e = self.engine;
        let caller = self.caller_number(call.caller, &d);
        let (usage, candidates) = match &d.outcome {
            Outcome::Direct { usage, candidates } => {
                let list = candidates
                    .iter()
                    .map(|c| {
                        let (callee, caller) =
                            e.outbound_numbers(c.gateway, &number, &caller, &mut self.scratch);
                        CandidateJson {
                            callee,
                            caller,
                            gateway: e.gateway_name(c.gateway),
                            route: e.route_name(c.route),
                        }
                    })
                    .collect();
                (Some(e.usage_name(*usage)), Some(list))
            }
            _ => (None, None),
        };
        let reason = match &d.outcome {
            Outcome::Rejected(r) => Some(r.as_str()),
            _ => None,
        };
        crate::lines::json_line(
            out,
            &OutboundJson {
                caller_id: &caller,
                candidates,
                detail: &detail,
                emergency: d.emergency,
                input: call.dialed,
                kind: d.kind(),
                normalized: &number,
                reason,
                rules: e.plan_of(call.caller).describe(&d.normalization),
                usage,
            },
        )
    }

    fn inbound(
        &mut self,
        out: &mut impl Write,
        called: &str,
        from: &str,
        via: Ingress,
    ) -> io::Result<()> {
        let call = InboundCall { called, caller: from, via, voicemail: false };
        let d: InboundDecision = self.engine.decide_inbound(self.state, &call, &mut self.scratch);
        let e = self.engine;
        let (kind, detail) = match d.outcome {
            InboundOutcome::Deliver { to, delivery, redirected } => {
                let how = match delivery {
                    Delivery::Ring => "rings",
                    Delivery::Voicemail => "voicemail",
                    Delivery::Unanswered => "unanswered settings",
                    Delivery::AutoAttendant => "auto attendant answers",
                    Delivery::Queue => "waits in the queue",
                };
                let note = if redirected { " (blocked caller, redirected)" } else { "" };
                ("internal", format!("to {}: {how}{note}", e.party_name(to)))
            }
            InboundOutcome::Announcement(t) => {
                let (name, target) = e.treatment(t);
                ("internal", format!("unassigned number treatment {name}: {target}"))
            }
            InboundOutcome::Rejected(r) => {
                ("rejected", format!("{} ({})", r.as_str(), r.sip_code()))
            }
        };
        if self.json {
            let v = json!({
                "input": called,
                "normalized": self.scratch.number,
                "caller": self.scratch.caller,
                "kind": kind,
                "detail": detail,
                "anonymous_caller": d.anonymous_caller,
                "toll_free": d.toll_free,
            });
            crate::lines::json_line(out, &v)
        } else {
            writeln!(out, "{}\t{}\t{kind}\t{detail}", shown(called), self.scratch.number)
        }
    }
}
