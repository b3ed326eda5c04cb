//! Inbound cases of the spec (§7, §9): trunk translation, blocking, reverse number lookup with
//! extensions, unassigned numbers, toll-free credits, number capacity, queues, voicemail.

mod common;

use common::fx;
use tpr_router::{Delivery, InboundCall, InboundOutcome, InboundReject, Ingress};

const EXTRA: &str = r#"
[[translation_rules]]
name = "AddPlus1"
pattern = '^(\d{10})$'
translation = '+1$1'
[[translation_rules]]
name = "SeattleExt"
pattern = '^(\d{4})$'
translation = '+1206555$1'

[[users]]
id = "alice"
number = "+12065550100"
number_type = "direct_routing"

[[users]]
id = "ext-a"
number = "+14255388701;ext=1001"
number_type = "direct_routing"

[[users]]
id = "ext-b"
number = "+14255388701;ext=1002"
number_type = "direct_routing"

[[users]]
id = "quiet"
number = "+12065550120"
number_type = "direct_routing"
calling_policy = "Quiet"

[[users]]
id = "busy"
number = "+12065550121"
number_type = "direct_routing"
calling_policy = "BusyOnBusy"

[[calling_policies]]
name = "Quiet"
inbound_pstn_call_routing_treatment = "voicemail"

[[calling_policies]]
name = "BusyOnBusy"
busy_on_busy_enabled_type = "enabled"

[[resource_accounts]]
id = "main-aa"
kind = "auto_attendant"
number = "+15552223333"
number_type = "direct_routing"

[[resource_accounts]]
id = "screen"
kind = "auto_attendant"
number = "+14255550999"
number_type = "direct_routing"

[[resource_accounts]]
id = "support"
kind = "call_queue"
number = "+18005550199"
number_type = "calling_plan"
toll_free = true

[[unassigned_number_treatments]]
name = "Main"
pattern = '^\+15552223333$'
target_type = "resource_account"
target = "main-aa"
treatment_priority = 1

[[unassigned_number_treatments]]
name = "Vacant"
pattern = '^\+1555333\d{4}$'
target_type = "announcement"
target = "vacant.wav"
treatment_priority = 2

[blocked_calling_numbers]
patterns = [ { name = "Spam", pattern = '^\+?1312555\d{4}$' },
             { name = "Screened", pattern = '^\+?1313555\d{4}$', resource_account = "screen" } ]
exempt = [ { name = "Friends", pattern = '^\+?1312555888[2|3]$' } ]
"#;

const SBC1: &str = r#"inbound_teams_number_translation_rules = ["AddPlus1", "SeattleExt"]
inbound_pstn_number_translation_rules = ["AddPlus1"]"#;

fn setup(credits: &str) -> common::Fx {
    let extra = format!("{EXTRA}\n[calling_plans]\ncommunications_credits = {credits}\n");
    fx(&[("sbc1", SBC1), ("extra", &extra)])
}

fn via_sbc1(f: &mut common::Fx, called: &str, caller: &str) -> tpr_router::InboundDecision {
    let sbc1 = f.engine.gateway("sbc1.contoso.com").unwrap();
    let call = InboundCall { called, caller, via: Ingress::Gateway(sbc1), voicemail: false };
    f.engine.decide_inbound(&f.state, &call, &mut f.scratch)
}

fn via(
    f: &mut common::Fx,
    called: &str,
    caller: &str,
    via: Ingress,
) -> tpr_router::InboundDecision {
    let call = InboundCall { called, caller, via, voicemail: false };
    f.engine.decide_inbound(&f.state, &call, &mut f.scratch)
}

fn delivered(f: &common::Fx, d: &tpr_router::InboundDecision) -> (String, Delivery) {
    match d.outcome {
        InboundOutcome::Deliver { to, delivery, .. } => (f.engine.party_name(to), delivery),
        other => panic!("not delivered: {other:?}"),
    }
}

#[test]
fn t30_t31_inbound_translation_then_lookup() {
    let mut f = setup("true");
    let d = via_sbc1(&mut f, "2065550100", "4255550100");
    assert_eq!(delivered(&f, &d), ("alice".into(), Delivery::Ring));
    assert_eq!(
        (f.scratch.number.as_str(), f.scratch.caller.as_str()),
        ("+12065550100", "+14255550100")
    );
    let d = via_sbc1(&mut f, "0100", "4255550100");
    assert_eq!(delivered(&f, &d).0, "alice");
    assert_eq!(d.admission.len(), 2, "alice's number and the tenant");
}

#[test]
fn t41_t73_blocked_exempt_and_redirected_callers() {
    let mut f = setup("true");
    let d = via(&mut f, "+12065550100", "13125558884", Ingress::CallingPlan);
    assert_eq!(d.outcome, InboundOutcome::Rejected(InboundReject::Blocked));
    assert_eq!(InboundReject::Blocked.sip_code(), 403);
    let d = via(&mut f, "+12065550100", "(1312) 555-8883", Ingress::CallingPlan);
    assert_eq!(delivered(&f, &d).0, "alice", "exempt beats the block");
    let d = via_sbc1(&mut f, "+12065550100", "+13135550001");
    assert_eq!(delivered(&f, &d).0, "screen", "redirected to the RA over DR");
    assert!(matches!(d.outcome, InboundOutcome::Deliver { redirected: true, .. }));
    let d = via(&mut f, "+12065550100", "+13135550001", Ingress::CallingPlan);
    assert_eq!(
        d.outcome,
        InboundOutcome::Rejected(InboundReject::Blocked),
        "CP calls stay blocked"
    );
}

#[test]
fn t42_t43_unassigned_numbers() {
    let mut f = setup("true");
    let d = via(&mut f, "+15553331234", "+14255550100", Ingress::CallingPlan);
    assert_eq!(d.outcome, InboundOutcome::Announcement(1));
    assert_eq!(f.engine.treatment(1), ("Vacant", "vacant.wav"));
    // +15552223333 is main-aa's own number: assigned numbers win over treatments.
    let d = via(&mut f, "+15552223333", "+14255550100", Ingress::CallingPlan);
    assert_eq!(delivered(&f, &d), ("main-aa".into(), Delivery::AutoAttendant));
    let d = via(&mut f, "+19995550000", "+14255550100", Ingress::CallingPlan);
    assert_eq!(d.outcome, InboundOutcome::Rejected(InboundReject::NotFound));
    assert_eq!(InboundReject::NotFound.sip_code(), 404);
    let d = via_sbc1(&mut f, "12345", "+14255550100");
    assert_eq!(d.outcome, InboundOutcome::Rejected(InboundReject::NotFound), "not E.164");

    // Spec §5.4: routing an unassigned Calling Plan subscriber number needs credits. Direct
    // Routing numbers do not.
    let mut f = setup("false");
    let d = via(&mut f, "+15553331234", "+14255550100", Ingress::CallingPlan);
    assert_eq!(d.outcome, InboundOutcome::Rejected(InboundReject::UnassignedNoCredits));
    let r = InboundReject::UnassignedNoCredits;
    assert_eq!((r.sip_code(), r.as_str()), (404, "unassigned-no-credits"));
    let d = via_sbc1(&mut f, "+15553331234", "+14255550100");
    assert_eq!(d.outcome, InboundOutcome::Announcement(1));
    let d = via(&mut f, "+19995550000", "+14255550100", Ingress::CallingPlan);
    assert_eq!(d.outcome, InboundOutcome::Rejected(InboundReject::NotFound), "no treatment");
}

#[test]
fn t45_extensions() {
    let mut f = setup("true");
    let d = via(&mut f, "+14255388701;ext=1001", "+14255550100", Ingress::CallingPlan);
    assert_eq!(delivered(&f, &d).0, "ext-a");
    let d = via(&mut f, "+14255388701", "+14255550100", Ingress::CallingPlan);
    assert_eq!(d.outcome, InboundOutcome::Rejected(InboundReject::NotFound));
    // One number with that base and no extension: an extension still reaches it.
    let d = via(&mut f, "+12065550100;ext=7", "+14255550100", Ingress::CallingPlan);
    assert_eq!(delivered(&f, &d).0, "alice");
}

#[test]
fn t52_toll_free_needs_credits() {
    let mut f = setup("0");
    let d = via(&mut f, "+18005550199", "+14255550100", Ingress::CallingPlan);
    assert_eq!(d.outcome, InboundOutcome::Rejected(InboundReject::NoCredits));
    let mut f = setup("true");
    let d = via(&mut f, "+18005550199", "+14255550100", Ingress::CallingPlan);
    assert_eq!(delivered(&f, &d), ("support".into(), Delivery::Queue));
    assert!(d.toll_free && d.queue.is_some());
}

#[test]
fn t55_t69_number_capacity_and_queue_overflow() {
    let mut f = setup("true");
    let ledger = f.ledger.clone();
    let d = via(&mut f, "+12065550100", "+14255550100", Ingress::CallingPlan);
    let calls: Vec<_> = (0..2).map(|_| ledger.try_acquire(&d.admission).unwrap()).collect();
    let d2 = via(&mut f, "+12065550100", "+14255550100", Ingress::CallingPlan);
    assert_eq!(d2.outcome, InboundOutcome::Rejected(InboundReject::Busy));
    drop(calls);

    let d = via(&mut f, "+18005550199", "+14255550100", Ingress::CallingPlan);
    let queue = d.queue.unwrap();
    let waiting: Vec<_> = (0..50).map(|_| ledger.try_acquire(&[queue]).unwrap()).collect();
    let refused = ledger.try_acquire(&[queue]).unwrap_err();
    assert_eq!(
        (refused.limit, d.overflow),
        (50, Some(tpr_tenant::OverflowAction::DisconnectWithBusy))
    );
    drop(waiting);

    let key = d.admission[0];
    let full: Vec<_> = (0..500).map(|_| ledger.try_acquire(&[key]).unwrap()).collect();
    let d = via(&mut f, "+18005550199", "+14255550100", Ingress::CallingPlan);
    assert_eq!(d.outcome, InboundOutcome::Rejected(InboundReject::Busy), "486 before the queue");
    drop(full);
    assert_eq!(ledger.in_use(), 0);
}

#[test]
fn t74_voicemail_and_busy_on_busy() {
    let mut f = setup("true");
    let d = via(&mut f, "+12065550120", "+14255550100", Ingress::CallingPlan);
    assert_eq!(delivered(&f, &d).1, Delivery::Voicemail);
    let ledger = f.ledger.clone();
    let d = via(&mut f, "+12065550121", "+14255550100", Ingress::CallingPlan);
    assert_eq!(delivered(&f, &d).1, Delivery::Ring);
    let in_call = ledger.try_acquire(&d.admission).unwrap();
    let d = via(&mut f, "+12065550121", "+14255550100", Ingress::CallingPlan);
    assert_eq!(d.outcome, InboundOutcome::Rejected(InboundReject::Busy));
    drop(in_call);
    let call = InboundCall {
        called: "+12065550100",
        caller: "+14255550100",
        via: Ingress::CallingPlan,
        voicemail: true,
    };
    let d = f.engine.decide_inbound(&f.state, &call, &mut f.scratch);
    assert_eq!(delivered(&f, &d).1, Delivery::Voicemail, "opaque=app:voicemail");
}
