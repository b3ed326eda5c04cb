//! Resource accounts (auto attendants and call queues), Calling Plan allowances and
//! communications credits, and the concurrent-call defaults (spec §2.1, §2.11, §5, §6).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;
use tpr_types::Region;

use crate::load::Loader;
use crate::model::UserPolicies;

/// What a resource account fronts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    /// An auto attendant: answers at once.
    AutoAttendant,
    /// A call queue: callers wait for agents.
    CallQueue,
}

/// What a full queue does with the next caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverflowAction {
    /// Disconnect with busy (Teams' default).
    DisconnectWithBusy,
    /// Forward to a target.
    Forward,
    /// To a person's voicemail.
    Voicemail,
    /// To shared voicemail.
    SharedVoicemail,
}

/// How a queue offers calls to agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoutingMethod {
    /// All agents at once (Teams' default).
    Attendant,
    /// In order.
    Serial,
    /// Round robin.
    RoundRobin,
    /// The agent idle longest.
    LongestIdle,
}

/// Call-queue settings (`New-CsCallQueue`, spec §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    /// Waiting callers before overflow (50; 0–200; 0 overflows at once).
    pub overflow_threshold: u32,
    /// What overflow does.
    pub overflow_action: OverflowAction,
    /// Longest wait in seconds (1200; 0–2700, rounded to the nearest 15 s).
    pub timeout_threshold_s: u32,
    /// Seconds an agent is alerted (30; 15–180).
    pub agent_alert_time_s: u32,
    /// How calls reach agents.
    pub routing_method: RoutingMethod,
    /// Agents offered at once or in turn.
    pub agents: u32,
}

impl Default for QueueSettings {
    fn default() -> QueueSettings {
        QueueSettings {
            overflow_threshold: 50,
            overflow_action: OverflowAction::DisconnectWithBusy,
            timeout_threshold_s: 1200,
            agent_alert_time_s: 30,
            routing_method: RoutingMethod::Attendant,
            agents: 0,
        }
    }
}

/// A resource account with its number (spec §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceAccount {
    /// Unique among users and resource accounts.
    pub id: String,
    /// Auto attendant or call queue.
    pub kind: AccountKind,
    /// Its number, if any.
    pub number: Option<String>,
    /// A toll-free number (inbound minutes are paid from communications credits).
    pub toll_free: bool,
    /// Licences and policies, as for users.
    pub policies: UserPolicies,
    /// Queue settings (call queues only).
    pub queue: Option<QueueSettings>,
}

/// Communications credits (spec §2.11).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Credits {
    /// None.
    None,
    /// Auto-recharge: never runs out.
    Unlimited,
    /// A one-time balance in paid minutes.
    Balance(f64),
}

/// Calling Plan allowances and credits (`[calling_plans]`, spec §5).
#[derive(Debug, Clone, PartialEq)]
pub struct CallingPlans {
    /// Monthly domestic minutes per user by licence country (`default` for the others).
    pub domestic_minutes: BTreeMap<String, u32>,
    /// Monthly international minutes per International-plan user.
    pub international_minutes: u32,
    /// Communications credits.
    pub communications_credits: Credits,
    /// Postpaid overage (MCA billing).
    pub postpaid_overage: bool,
    /// Regions that count as one country for "domestic" (dial-out policies and Calling Plan
    /// minutes). Default `[["US", "PR"]]`.
    pub domestic_groups: Vec<Vec<Region>>,
}

impl Default for CallingPlans {
    fn default() -> CallingPlans {
        let domestic_minutes = [("US", 3000), ("CA", 3000), ("PR", 3000), ("default", 1200)]
            .map(|(k, v)| (k.to_owned(), v))
            .into();
        CallingPlans {
            domestic_minutes,
            international_minutes: 600,
            communications_credits: Credits::None,
            postpaid_overage: false,
            domestic_groups: vec![["US", "PR"].map(|r| Region::try_new(r).expect("valid")).into()],
        }
    }
}

/// Concurrent-call defaults (`[capacity]`, spec §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapacitySettings {
    /// Calls a user number carries at once (2).
    pub user_number_max_calls: u32,
    /// Calls a service number carries at once (500).
    pub service_number_max_calls: u32,
    /// Calls the whole tenant carries at once (none: unlimited).
    pub tenant_max_calls: Option<u32>,
}

impl Default for CapacitySettings {
    fn default() -> CapacitySettings {
        CapacitySettings {
            user_number_max_calls: 2,
            service_number_max_calls: 500,
            tenant_max_calls: None,
        }
    }
}

// ---- reading ----------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAccount {
    pub id: Spanned<String>,
    kind: Spanned<String>,
    #[serde(default)]
    pub number: Option<Spanned<String>>,
    #[serde(default)]
    toll_free: bool,
    #[serde(default)]
    pub number_type: Option<Spanned<String>>,
    #[serde(default)]
    pub calling_plan: Option<Spanned<String>>,
    #[serde(default)]
    pub operator: Option<Spanned<String>>,
    #[serde(default)]
    pub voice_routing_policy: Option<Spanned<String>>,
    #[serde(default)]
    pub emergency_call_routing_policy: Option<Spanned<String>>,
    #[serde(default)]
    pub dial_out_policy: Option<Spanned<String>>,
    #[serde(default)]
    overflow_threshold: Option<Spanned<i64>>,
    #[serde(default)]
    overflow_action: Option<Spanned<String>>,
    #[serde(default)]
    timeout_threshold: Option<Spanned<i64>>,
    #[serde(default)]
    agent_alert_time: Option<Spanned<i64>>,
    #[serde(default)]
    routing_method: Option<Spanned<String>>,
    #[serde(default)]
    agents: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCallingPlans {
    #[serde(default)]
    domestic_minutes: BTreeMap<String, Spanned<i64>>,
    #[serde(default)]
    international_minutes: Option<Spanned<i64>>,
    #[serde(default)]
    communications_credits: Option<Spanned<toml::Value>>,
    #[serde(default)]
    postpaid_overage: bool,
    #[serde(default)]
    domestic_groups: Option<Vec<Spanned<Vec<Spanned<String>>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCapacity {
    #[serde(default)]
    user_number_max_calls: Option<Spanned<i64>>,
    #[serde(default)]
    service_number_max_calls: Option<Spanned<i64>>,
    #[serde(default)]
    tenant_max_calls: Option<Spanned<i64>>,
}

/// Teams rounds a queue timeout to the nearest 15 seconds (spec T56: 47 → 45).
pub fn round_timeout(seconds: u32) -> u32 {
    (seconds + 7) / 15 * 15
}

pub(crate) fn account(l: &mut Loader, a: &RawAccount, policies: UserPolicies) -> ResourceAccount {
    let who = format!("resource account {:?}", a.id.get_ref());
    let kind = l
        .choice(
            &a.kind,
            format_args!("{who}: kind"),
            &[
                ("auto_attendant", AccountKind::AutoAttendant),
                ("call_queue", AccountKind::CallQueue),
            ],
        )
        .unwrap_or(AccountKind::AutoAttendant);
    let queue_fields =
        [&a.overflow_threshold, &a.timeout_threshold, &a.agent_alert_time, &a.agents];
    let queue = match kind {
        AccountKind::CallQueue => {
            let d = QueueSettings::default();
            Some(QueueSettings {
                overflow_threshold: l.int_or(
                    &a.overflow_threshold,
                    format_args!("{who}: overflow_threshold"),
                    0,
                    200,
                    d.overflow_threshold,
                ),
                overflow_action: l.choice_or(
                    &a.overflow_action,
                    format_args!("{who}: overflow_action"),
                    &[
                        ("disconnect_with_busy", OverflowAction::DisconnectWithBusy),
                        ("forward", OverflowAction::Forward),
                        ("voicemail", OverflowAction::Voicemail),
                        ("shared_voicemail", OverflowAction::SharedVoicemail),
                    ],
                    d.overflow_action,
                ),
                timeout_threshold_s: round_timeout(l.int_or(
                    &a.timeout_threshold,
                    format_args!("{who}: timeout_threshold"),
                    0,
                    2700,
                    d.timeout_threshold_s,
                )),
                agent_alert_time_s: l.int_or(
                    &a.agent_alert_time,
                    format_args!("{who}: agent_alert_time"),
                    15,
                    180,
                    d.agent_alert_time_s,
                ),
                routing_method: l.choice_or(
                    &a.routing_method,
                    format_args!("{who}: routing_method"),
                    &[
                        ("attendant", RoutingMethod::Attendant),
                        ("serial", RoutingMethod::Serial),
                        ("round_robin", RoutingMethod::RoundRobin),
                        ("longest_idle", RoutingMethod::LongestIdle),
                    ],
                    d.routing_method,
                ),
                // Teams: up to 20 agents directly, 200 through groups or a channel.
                agents: l.int_or(&a.agents, format_args!("{who}: agents"), 0, 200, d.agents),
            })
        }
        AccountKind::AutoAttendant => {
            let set =
                queue_fields.iter().find_map(|f| f.as_ref()).map(|v| v.span()).or_else(|| {
                    a.overflow_action.as_ref().or(a.routing_method.as_ref()).map(|v| v.span())
                });
            if let Some(span) = set {
                l.error(
                    span,
                    format!("{who}: queue settings belong to call queues, not auto attendants"),
                );
            }
            None
        }
    };
    ResourceAccount {
        id: a.id.get_ref().clone(),
        kind,
        number: a.number.as_ref().map(|n| n.get_ref().clone()),
        toll_free: a.toll_free,
        policies,
        queue,
    }
}

pub(crate) fn calling_plans(
    l: &mut Loader,
    raw: Option<&RawCallingPlans>,
    tenant_credits: Option<&Spanned<toml::Value>>,
) -> CallingPlans {
    let mut plans = CallingPlans::default();
    let Some(raw) = raw else {
        plans.communications_credits = credits(l, tenant_credits);
        return plans;
    };
    for (country, minutes) in &raw.domestic_minutes {
        let ok_key = country == "default"
            || (country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase()));
        if !ok_key {
            l.error(minutes.span(), format!("calling_plans.domestic_minutes: {country:?} is not a region code or \"default\""));
            continue;
        }
        if let Some(m) =
            l.int(minutes, format_args!("calling_plans.domestic_minutes.{country}"), 0, 1_000_000)
        {
            plans.domestic_minutes.insert(country.clone(), m as u32);
        }
    }
    plans.international_minutes = l.int_or(
        &raw.international_minutes,
        "calling_plans.international_minutes",
        0,
        1_000_000,
        plans.international_minutes,
    );
    plans.communications_credits =
        credits(l, raw.communications_credits.as_ref().or(tenant_credits));
    plans.postpaid_overage = raw.postpaid_overage;
    if let Some(groups) = &raw.domestic_groups {
        plans.domestic_groups = domestic_groups(l, groups);
    }
    plans
}

/// `[["US", "PR"], ["CH", "LI"]]`: each group two or more regions tpr has a service plan
/// for, no region in two groups.
fn domestic_groups(l: &mut Loader, raw: &[Spanned<Vec<Spanned<String>>>]) -> Vec<Vec<Region>> {
    let mut out: Vec<Vec<Region>> = Vec::new();
    for group in raw {
        let mut regions: Vec<Region> = Vec::new();
        for code in group.get_ref() {
            let region = Region::try_new(code.get_ref())
                .ok()
                .filter(|r| tpr_dialplan::service_plan(*r).is_some());
            let Some(region) = region else {
                let msg = format!(
                    "calling_plans.domestic_groups: {:?} is not a region code tpr knows",
                    code.get_ref()
                );
                l.error(code.span(), msg);
                continue;
            };
            if regions.contains(&region) || out.iter().any(|g| g.contains(&region)) {
                let msg = format!("calling_plans.domestic_groups: {region} is listed twice");
                l.error(code.span(), msg);
                continue;
            }
            regions.push(region);
        }
        if group.get_ref().len() < 2 {
            l.error(
                group.span(),
                "calling_plans.domestic_groups: a group needs two or more regions",
            );
        }
        out.push(regions);
    }
    out
}

/// `true` (auto-recharge), `false` (none) or a balance in paid minutes (spec §2.11).
fn credits(l: &mut Loader, v: Option<&Spanned<toml::Value>>) -> Credits {
    let Some(v) = v else { return Credits::None };
    match v.get_ref() {
        toml::Value::Boolean(true) => Credits::Unlimited,
        toml::Value::Boolean(false) => Credits::None,
        toml::Value::Integer(n) if *n >= 0 => Credits::Balance(*n as f64),
        toml::Value::Float(x) if x.is_finite() && *x >= 0.0 => Credits::Balance(*x),
        other => {
            l.error(v.span(), format!("communications_credits must be true, false or a balance of at least 0, got {other}"));
            Credits::None
        }
    }
}

pub(crate) fn capacity(l: &mut Loader, raw: Option<&RawCapacity>) -> CapacitySettings {
    let d = CapacitySettings::default();
    let Some(raw) = raw else { return d };
    CapacitySettings {
        user_number_max_calls: l.int_or(
            &raw.user_number_max_calls,
            "capacity.user_number_max_calls",
            1,
            1000,
            d.user_number_max_calls,
        ),
        service_number_max_calls: l.int_or(
            &raw.service_number_max_calls,
            "capacity.service_number_max_calls",
            1,
            100_000,
            d.service_number_max_calls,
        ),
        tenant_max_calls: raw
            .tenant_max_calls
            .as_ref()
            .and_then(|v| l.int(v, "capacity.tenant_max_calls", 1, 10_000_000))
            .map(|v| v as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_timeouts_round_to_fifteen_seconds() {
        assert_eq!(round_timeout(47), 45);
        assert_eq!(round_timeout(53), 60);
        assert_eq!(round_timeout(0), 0);
        assert_eq!(round_timeout(2700), 2700);
        assert_eq!(round_timeout(1200), 1200);
    }
}
