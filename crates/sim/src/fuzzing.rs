//! Entry points for the fuzz targets (`fuzz/`), also called by `cargo test` on saved inputs so
//! that a crash once found stays fixed on stable Rust.

use std::sync::{Arc, OnceLock};

use tpr_router::Engine;
use tpr_tenant::Tenant;

use crate::run::RunOptions;
use crate::scenario::{Scenario, ScenarioFile};
use crate::trace::{TraceFormat, read};

fn engine(which: &'static str) -> Arc<Engine> {
    static CONTOSO: OnceLock<Arc<Engine>> = OnceLock::new();
    static ACME: OnceLock<Arc<Engine>> = OnceLock::new();
    let (cell, text) = match which {
        "acme" => (&ACME, include_str!("../../../scenarios/tenants/acme.toml")),
        _ => (&CONTOSO, include_str!("../../../scenarios/tenants/contoso.toml")),
    };
    cell.get_or_init(|| {
        let tenant = Tenant::from_toml_str(text, which).unwrap_or_else(|e| panic!("{e}"));
        Arc::new(Engine::compile(&tenant).unwrap_or_else(|e| panic!("{e}")))
    })
    .clone()
}

/// Any text parses and binds as a scenario (against the bundled contoso tenant) or gives
/// located errors. Small scenarios that bind also run, and must release every permit.
pub fn scenario_target(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let file = match ScenarioFile::parse(text, "fuzz.toml") {
        Ok(f) => f,
        Err(e) => {
            assert!(!e.0.is_empty() && e.0.iter().all(|e| e.location.is_some()), "{e}");
            return;
        }
    };
    let sc = match file.bind(engine("contoso")) {
        Ok(sc) => sc,
        Err(e) => {
            assert!(!e.0.is_empty(), "an error result carries at least one error");
            return;
        }
    };
    if sc.expected_calls() <= 300.0 && sc.duration_ms <= 86_400_000 && sc.repetitions <= 2 {
        if let Ok(r) = crate::run_all(&sc, 1, &RunOptions::default()) {
            assert_eq!(r.leaked_permits, 0, "permits leaked");
        }
        invites_agree(&sc);
    }
}

/// A run that keeps its INVITEs (`--sipp`) reports what the same run without them reports, and
/// keeps one INVITE per first try, retry and cap refusal the report counts for each gateway.
fn invites_agree(sc: &Scenario) {
    let Ok(plain) = crate::run(sc, 0, &RunOptions::default()) else { return };
    let (report, log) =
        crate::run_with_invites(sc, 0, &RunOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.to_json(), plain.to_json(), "keeping INVITEs changed the run");
    for g in 0..sc.engine.gateway_count() {
        let id = tpr_router::GatewayId::from_index(g as u16);
        let name = sc.engine.gateway_name(id);
        let kept = log.invites().iter().filter(|i| i.gateway == id).count() as u64;
        let counted =
            report.gateways.get(name).map_or(0, |r| r.attempts + r.retries + r.cap_refused);
        assert_eq!(kept, counted, "INVITEs kept for {name}");
    }
    assert!(log.invites().windows(2).all(|w| w[0].at_ms <= w[1].at_ms), "INVITEs in time order");
}

/// Any bytes read as a trace (the first byte picks the format) give calls and skipped rows,
/// or one error; what reads replays against the acme tenant and releases every permit.
pub fn trace_target(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else { return };
    // As `tpr replay` reads a file: bytes that are not UTF-8 become U+FFFD.
    let (text, not_utf8) = crate::trace::decode(rest.to_vec());
    // Lines end at LF, CRLF or a lone CR, as csv records do.
    let lone_cr =
        rest.iter().enumerate().filter(|&(i, &b)| b == b'\r' && rest.get(i + 1) != Some(&b'\n'));
    let lines = 1 + rest.iter().filter(|&&b| b == b'\n').count() as u64 + lone_cr.count() as u64;
    assert!(
        not_utf8.windows(2).all(|w| w[0] < w[1]) && not_utf8.iter().all(|&l| l >= 1 && l <= lines)
    );
    assert_eq!(not_utf8.is_empty(), std::str::from_utf8(rest).is_ok());
    let text = text.as_str();
    let format = match pick % 4 {
        0 => TraceFormat::Tpr,
        1 => TraceFormat::Asterisk,
        2 => TraceFormat::TeamsDirectRouting,
        _ => TraceFormat::TeamsCallingPlan,
    };
    let _ = crate::trace::detect(text);
    let engine = engine("acme");
    let Ok(trace) = read(text, format, &engine, 1.0 + f64::from(pick >> 4), pick & 8 == 8) else {
        return;
    };
    assert!(trace.calls.windows(2).all(|w| w[0].at_ms <= w[1].at_ms), "calls in time order");
    if !trace.calls.is_empty() && trace.calls.len() <= 200 {
        let sc = Scenario::for_replay(engine, "fuzz", &trace.calls);
        let opts = RunOptions { trace: &trace.calls, ..RunOptions::default() };
        if let Ok(r) = crate::run_all(&sc, 1, &opts) {
            assert_eq!(r.leaked_permits, 0, "permits leaked");
        }
    }
}
