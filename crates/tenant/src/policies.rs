//! Calling policies, caller ID policies, unassigned-number treatments, inbound blocked and
//! exempt number patterns, and network sites for Location-Based Routing (spec §2.8–§2.10,
//! §4.6).

use serde::Deserialize;
use toml::Spanned;
use tpr_dialplan::{Limits, Pattern};

use crate::load::Loader;

/// What voicemail a calling policy allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voicemail {
    /// Always on.
    AlwaysEnabled,
    /// Always off.
    AlwaysDisabled,
    /// The user decides (Teams' default).
    UserOverride,
}

/// What a busy user's second caller gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusyOnBusy {
    /// Off: the call rings (Teams' default).
    Disabled,
    /// Busy signal.
    Enabled,
    /// The user's unanswered settings.
    Unanswered,
    /// The user decides.
    UserOverride,
}

/// Where inbound PSTN calls go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundTreatment {
    /// Ring as usual (Teams' default).
    RegularIncoming,
    /// Straight to the unanswered settings.
    Unanswered,
    /// Straight to voicemail.
    Voicemail,
    /// The user decides.
    UserOverride,
}

/// A calling policy (`New-CsTeamsCallingPolicy`, spec §2.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallingPolicy {
    /// `Global` or a tag.
    pub name: String,
    /// False blocks every call, emergency calls too (true).
    pub allow_private_calling: bool,
    /// False blocks PSTN calls from web clients (true).
    pub allow_web_pstn_calling: bool,
    /// Forwarding to a phone number creates an outbound leg (true).
    pub allow_call_forwarding_to_phone: bool,
    /// Forwarding to another user (true).
    pub allow_call_forwarding_to_user: bool,
    /// Voicemail.
    pub allow_voicemail: Voicemail,
    /// Busy on busy.
    pub busy_on_busy: BusyOnBusy,
    /// Inbound PSTN treatment.
    pub inbound_pstn_call_routing_treatment: InboundTreatment,
    /// Makes the user LBR-enabled (false).
    pub prevent_toll_bypass: bool,
    /// Caps paid minutes per period (false).
    pub enable_spend_limits: bool,
    /// The cap, in paid minutes.
    pub calling_spend_user_limit: Option<u32>,
}

impl CallingPolicy {
    /// Teams' defaults under `name`.
    pub fn with_defaults(name: &str) -> CallingPolicy {
        CallingPolicy {
            name: name.to_owned(),
            allow_private_calling: true,
            allow_web_pstn_calling: true,
            allow_call_forwarding_to_phone: true,
            allow_call_forwarding_to_user: true,
            allow_voicemail: Voicemail::UserOverride,
            busy_on_busy: BusyOnBusy::Disabled,
            inbound_pstn_call_routing_treatment: InboundTreatment::RegularIncoming,
            prevent_toll_bypass: false,
            enable_spend_limits: false,
            calling_spend_user_limit: None,
        }
    }
}

/// What number outbound calls show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerIdSubstitute {
    /// The caller's own number (Teams' default).
    LineUri,
    /// No number.
    Anonymous,
    /// A resource account's number.
    Resource,
}

/// A caller ID policy (`New-CsCallingLineIdentity`, spec §2.9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdPolicy {
    /// `Global` or a tag.
    pub name: String,
    /// What is shown.
    pub calling_id_substitute: CallerIdSubstitute,
    /// For `resource`: the account whose number is shown.
    pub resource_account: Option<String>,
    /// CNAM, at most 200 characters.
    pub company_name: String,
    /// The user may hide their number (false).
    pub enable_user_override: bool,
    /// Inbound PSTN callers appear anonymous (false).
    pub block_incoming_pstn_caller_id: bool,
}

impl CallerIdPolicy {
    /// Teams' defaults under `name`.
    pub fn with_defaults(name: &str) -> CallerIdPolicy {
        CallerIdPolicy {
            name: name.to_owned(),
            calling_id_substitute: CallerIdSubstitute::LineUri,
            resource_account: None,
            company_name: String::new(),
            enable_user_override: false,
            block_incoming_pstn_caller_id: false,
        }
    }
}

/// Where an unassigned number's calls go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreatmentTarget {
    /// A user.
    User,
    /// A resource account.
    ResourceAccount,
    /// An announcement, played once; then the call ends.
    Announcement,
}

/// An unassigned-number treatment (`New-CsTeamsUnassignedNumberTreatment`, spec §2.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnassignedTreatment {
    /// Its identity.
    pub name: String,
    /// The .NET pattern the called number is matched against.
    pub pattern: String,
    /// Kind of target.
    pub target_type: TreatmentTarget,
    /// The user or account id, or the announcement's name.
    pub target: String,
    /// Unique; the lowest wins.
    pub treatment_priority: u32,
}

/// An inbound blocked or exempt number pattern (spec §2.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberPattern {
    /// Its identity.
    pub name: String,
    /// The .NET pattern the caller's number is matched against.
    pub pattern: String,
    /// Disabled patterns match nothing (true).
    pub enabled: bool,
    /// Blocked patterns only: OC and DR calls go to this account instead.
    pub resource_account: Option<String>,
}

/// Inbound call blocking (`Set-CsTenantBlockedCallingNumbers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockedNumbers {
    /// The tenant switch: off means no blocking (true).
    pub enabled: bool,
    /// Blocked patterns; any match blocks.
    pub patterns: Vec<NumberPattern>,
    /// Exempt patterns; they beat every block.
    pub exempt: Vec<NumberPattern>,
}

impl Default for BlockedNumbers {
    fn default() -> BlockedNumbers {
        BlockedNumbers { enabled: true, patterns: Vec::new(), exempt: Vec::new() }
    }
}

/// A network site (`New-CsTenantNetworkSite`, spec §4.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkSite {
    /// Its id, which gateways name in `gateway_site_id`.
    pub name: String,
    /// Its network region, if any.
    pub network_region: Option<String>,
    /// Location-Based Routing applies at this site (false).
    pub lbr_enabled: bool,
    /// Emergency policy of calls made at the site.
    pub emergency_call_routing_policy: Option<String>,
    /// Subnets (`a.b.c.d/n`) that place a client at the site.
    pub subnets: Vec<String>,
}

/// The policies, treatments, patterns and sites of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policies {
    /// Calling policies; `Global` is among them, with Teams' defaults if the file has none.
    pub calling: Vec<CallingPolicy>,
    /// Caller ID policies; `Global` likewise.
    pub caller_id: Vec<CallerIdPolicy>,
    /// Unassigned-number treatments, lowest priority first.
    pub unassigned: Vec<UnassignedTreatment>,
    /// Inbound blocking.
    pub blocked: BlockedNumbers,
    /// Network sites.
    pub network_sites: Vec<NetworkSite>,
}

impl Policies {
    /// A calling policy by name (case-insensitive).
    pub fn calling_policy(&self, name: &str) -> Option<&CallingPolicy> {
        self.calling.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// A caller ID policy by name (case-insensitive).
    pub fn caller_id_policy(&self, name: &str) -> Option<&CallerIdPolicy> {
        self.caller_id.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// A network site by name (case-insensitive).
    pub fn network_site(&self, name: &str) -> Option<&NetworkSite> {
        self.network_sites.iter().find(|s| s.name.eq_ignore_ascii_case(name))
    }
}

// ---- reading ----------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCallingPolicy {
    name: Spanned<String>,
    #[serde(default, rename = "description")]
    _description: Option<String>,
    allow_private_calling: Option<bool>,
    allow_web_pstn_calling: Option<bool>,
    allow_call_forwarding_to_phone: Option<bool>,
    allow_call_forwarding_to_user: Option<bool>,
    allow_voicemail: Option<Spanned<String>>,
    busy_on_busy_enabled_type: Option<Spanned<String>>,
    inbound_pstn_call_routing_treatment: Option<Spanned<String>>,
    prevent_toll_bypass: Option<bool>,
    enable_spend_limits: Option<bool>,
    calling_spend_user_limit: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCallerIdPolicy {
    name: Spanned<String>,
    #[serde(default, rename = "description")]
    _description: Option<String>,
    calling_id_substitute: Option<Spanned<String>>,
    resource_account: Option<Spanned<String>>,
    company_name: Option<Spanned<String>>,
    enable_user_override: Option<bool>,
    block_incoming_pstn_caller_id: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTreatment {
    name: Spanned<String>,
    pattern: Spanned<String>,
    target_type: Spanned<String>,
    target: Spanned<String>,
    treatment_priority: Spanned<i64>,
    #[serde(default, rename = "description")]
    _description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNumberPattern {
    name: Spanned<String>,
    pattern: Spanned<String>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    resource_account: Option<Spanned<String>>,
    #[serde(default, rename = "description")]
    _description: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBlocked {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    patterns: Vec<Spanned<RawNumberPattern>>,
    #[serde(default)]
    exempt: Vec<Spanned<RawNumberPattern>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSite {
    name: Spanned<String>,
    #[serde(default, rename = "description")]
    _description: Option<String>,
    #[serde(default)]
    network_region: Option<String>,
    #[serde(default)]
    lbr_enabled: bool,
    #[serde(default)]
    emergency_call_routing_policy: Option<Spanned<String>>,
    #[serde(default)]
    subnets: Vec<Spanned<String>>,
}

/// The raw sections this module reads.
pub(crate) struct RawPolicySections<'a> {
    pub calling: &'a [Spanned<RawCallingPolicy>],
    pub caller_id: &'a [Spanned<RawCallerIdPolicy>],
    pub unassigned: &'a [Spanned<RawTreatment>],
    pub blocked: Option<&'a RawBlocked>,
    pub network_sites: &'a [Spanned<RawSite>],
}

/// What the policies refer to, checked against the rest of the tenant.
pub(crate) struct Known<'a> {
    pub resource_account: &'a dyn Fn(&str) -> bool,
    pub user: &'a dyn Fn(&str) -> bool,
    pub emergency_policy: &'a dyn Fn(&str) -> bool,
}

/// Reports a second object of the same name; true when `name` is new.
fn first_of_name(
    l: &mut Loader,
    seen: &mut Vec<String>,
    name: &Spanned<String>,
    what: &str,
) -> bool {
    if seen.iter().any(|s| s.eq_ignore_ascii_case(name.get_ref())) {
        l.error(name.span(), format!("{what} {:?} is defined twice", name.get_ref()));
        return false;
    }
    seen.push(name.get_ref().clone());
    true
}

/// A .NET pattern that must compile; errors point at its column when possible.
fn pattern(l: &mut Loader, p: &Spanned<String>, who: &str) {
    if let Err(kind) = Pattern::new(p.get_ref(), &Limits::default()) {
        let span = l.column_span(p, &kind);
        l.error(span, format!("{who}: {kind}"));
    }
}

pub(crate) fn load(l: &mut Loader, raw: RawPolicySections<'_>, known: &Known<'_>) -> Policies {
    let mut policies = Policies::default();
    let mut seen = Vec::new();
    for raw_p in raw.calling {
        let p = raw_p.get_ref();
        if !first_of_name(l, &mut seen, &p.name, "calling policy") {
            continue;
        }
        let who = format!("calling policy {:?}", p.name.get_ref());
        let d = CallingPolicy::with_defaults(p.name.get_ref());
        let limit = p.calling_spend_user_limit.as_ref().and_then(|v| {
            l.int(v, format_args!("{who}: calling_spend_user_limit"), 0, i64::from(u32::MAX))
        });
        policies.calling.push(CallingPolicy {
            allow_private_calling: p.allow_private_calling.unwrap_or(d.allow_private_calling),
            allow_web_pstn_calling: p.allow_web_pstn_calling.unwrap_or(d.allow_web_pstn_calling),
            allow_call_forwarding_to_phone: p
                .allow_call_forwarding_to_phone
                .unwrap_or(d.allow_call_forwarding_to_phone),
            allow_call_forwarding_to_user: p
                .allow_call_forwarding_to_user
                .unwrap_or(d.allow_call_forwarding_to_user),
            allow_voicemail: l.choice_or(
                &p.allow_voicemail,
                format_args!("{who}: allow_voicemail"),
                &[
                    ("always_enabled", Voicemail::AlwaysEnabled),
                    ("always_disabled", Voicemail::AlwaysDisabled),
                    ("user_override", Voicemail::UserOverride),
                ],
                d.allow_voicemail,
            ),
            busy_on_busy: l.choice_or(
                &p.busy_on_busy_enabled_type,
                format_args!("{who}: busy_on_busy_enabled_type"),
                &[
                    ("disabled", BusyOnBusy::Disabled),
                    ("enabled", BusyOnBusy::Enabled),
                    ("unanswered", BusyOnBusy::Unanswered),
                    ("user_override", BusyOnBusy::UserOverride),
                ],
                d.busy_on_busy,
            ),
            inbound_pstn_call_routing_treatment: l.choice_or(
                &p.inbound_pstn_call_routing_treatment,
                format_args!("{who}: inbound_pstn_call_routing_treatment"),
                &[
                    ("regular_incoming", InboundTreatment::RegularIncoming),
                    ("unanswered", InboundTreatment::Unanswered),
                    ("voicemail", InboundTreatment::Voicemail),
                    ("user_override", InboundTreatment::UserOverride),
                ],
                d.inbound_pstn_call_routing_treatment,
            ),
            prevent_toll_bypass: p.prevent_toll_bypass.unwrap_or(d.prevent_toll_bypass),
            enable_spend_limits: p.enable_spend_limits.unwrap_or(d.enable_spend_limits),
            calling_spend_user_limit: limit.map(|x| x as u32),
            name: d.name,
        });
    }
    if policies.calling_policy("Global").is_none() {
        policies.calling.insert(0, CallingPolicy::with_defaults("Global"));
    }

    let mut seen = Vec::new();
    for raw_p in raw.caller_id {
        let p = raw_p.get_ref();
        if !first_of_name(l, &mut seen, &p.name, "caller ID policy") {
            continue;
        }
        let who = format!("caller ID policy {:?}", p.name.get_ref());
        let d = CallerIdPolicy::with_defaults(p.name.get_ref());
        let substitute = l.choice_or(
            &p.calling_id_substitute,
            format_args!("{who}: calling_id_substitute"),
            &[
                ("line_uri", CallerIdSubstitute::LineUri),
                ("anonymous", CallerIdSubstitute::Anonymous),
                ("resource", CallerIdSubstitute::Resource),
                // Deprecated in Teams and ignored there: the line URI is shown.
                ("service", CallerIdSubstitute::LineUri),
            ],
            d.calling_id_substitute,
        );
        let resource_account = p.resource_account.as_ref().map(|ra| {
            if !(known.resource_account)(ra.get_ref()) {
                l.error(
                    ra.span(),
                    format!("{who}: resource account {:?} is not defined", ra.get_ref()),
                );
            }
            ra.get_ref().clone()
        });
        if substitute == CallerIdSubstitute::Resource && resource_account.is_none() {
            l.error(
                raw_p.span(),
                format!("{who}: calling_id_substitute = \"resource\" needs resource_account"),
            );
        }
        let company_name = p.company_name.as_ref().map_or(String::new(), |c| {
            let n = c.get_ref().chars().count();
            if n > 200 {
                l.error(
                    c.span(),
                    format!("{who}: company_name has {n} characters; at most 200 are allowed"),
                );
            }
            c.get_ref().clone()
        });
        policies.caller_id.push(CallerIdPolicy {
            calling_id_substitute: substitute,
            resource_account,
            company_name,
            enable_user_override: p.enable_user_override.unwrap_or(d.enable_user_override),
            block_incoming_pstn_caller_id: p
                .block_incoming_pstn_caller_id
                .unwrap_or(d.block_incoming_pstn_caller_id),
            name: d.name,
        });
    }
    if policies.caller_id_policy("Global").is_none() {
        policies.caller_id.insert(0, CallerIdPolicy::with_defaults("Global"));
    }

    let mut seen = Vec::new();
    let mut priorities: Vec<(i64, String)> = Vec::new();
    for raw_t in raw.unassigned {
        let t = raw_t.get_ref();
        if !first_of_name(l, &mut seen, &t.name, "unassigned number treatment") {
            continue;
        }
        let who = format!("unassigned number treatment {:?}", t.name.get_ref());
        pattern(l, &t.pattern, &who);
        let target_type = l.choice(
            &t.target_type,
            format_args!("{who}: target_type"),
            &[
                ("user", TreatmentTarget::User),
                ("resource_account", TreatmentTarget::ResourceAccount),
                ("announcement", TreatmentTarget::Announcement),
            ],
        );
        let target = t.target.get_ref();
        match target_type {
            Some(TreatmentTarget::User) if !(known.user)(target) => {
                l.error(t.target.span(), format!("{who}: user {target:?} is not defined"));
            }
            Some(TreatmentTarget::ResourceAccount) if !(known.resource_account)(target) => l.error(
                t.target.span(),
                format!("{who}: resource account {target:?} is not defined"),
            ),
            _ => {}
        }
        let priority = *t.treatment_priority.get_ref();
        if let Some((_, other)) = priorities.iter().find(|(p, _)| *p == priority) {
            l.error(
                t.treatment_priority.span(),
                format!("{who}: treatment_priority {priority} is already used by {other:?}"),
            );
        }
        let Some(priority) = l.int(
            &t.treatment_priority,
            format_args!("{who}: treatment_priority"),
            0,
            i64::from(u32::MAX),
        ) else {
            continue;
        };
        priorities.push((priority, t.name.get_ref().clone()));
        if let Some(target_type) = target_type {
            policies.unassigned.push(UnassignedTreatment {
                name: t.name.get_ref().clone(),
                pattern: t.pattern.get_ref().clone(),
                target_type,
                target: target.clone(),
                treatment_priority: priority as u32,
            });
        }
    }
    policies.unassigned.sort_by_key(|t| t.treatment_priority);

    if let Some(b) = raw.blocked {
        policies.blocked.enabled = b.enabled;
        let mut seen = Vec::new();
        for (list, what, out) in [
            (&b.patterns, "blocked number pattern", &mut policies.blocked.patterns),
            (&b.exempt, "exempt number pattern", &mut policies.blocked.exempt),
        ] {
            for raw_p in list {
                let p = raw_p.get_ref();
                if !first_of_name(l, &mut seen, &p.name, what) {
                    continue;
                }
                let who = format!("{what} {:?}", p.name.get_ref());
                pattern(l, &p.pattern, &who);
                if let Some(ra) = &p.resource_account {
                    if what.starts_with("exempt") {
                        l.error(
                            ra.span(),
                            format!("{who}: only blocked patterns take a resource_account"),
                        );
                    } else if !(known.resource_account)(ra.get_ref()) {
                        l.error(
                            ra.span(),
                            format!("{who}: resource account {:?} is not defined", ra.get_ref()),
                        );
                    }
                }
                out.push(NumberPattern {
                    name: p.name.get_ref().clone(),
                    pattern: p.pattern.get_ref().clone(),
                    enabled: p.enabled,
                    resource_account: p.resource_account.as_ref().map(|r| r.get_ref().clone()),
                });
            }
        }
    }

    let mut seen = Vec::new();
    for raw_s in raw.network_sites {
        let s = raw_s.get_ref();
        if !first_of_name(l, &mut seen, &s.name, "network site") {
            continue;
        }
        let who = format!("network site {:?}", s.name.get_ref());
        if let Some(p) = &s.emergency_call_routing_policy
            && !(known.emergency_policy)(p.get_ref())
        {
            l.error(
                p.span(),
                format!("{who}: emergency call routing policy {:?} is not defined", p.get_ref()),
            );
        }
        for subnet in &s.subnets {
            if let Err(why) = check_subnet(subnet.get_ref()) {
                l.error(subnet.span(), format!("{who}: subnet {:?} {why}", subnet.get_ref()));
            }
        }
        policies.network_sites.push(NetworkSite {
            name: s.name.get_ref().clone(),
            network_region: s.network_region.clone(),
            lbr_enabled: s.lbr_enabled,
            emergency_call_routing_policy: s
                .emergency_call_routing_policy
                .as_ref()
                .map(|p| p.get_ref().clone()),
            subnets: s.subnets.iter().map(|s| s.get_ref().clone()).collect(),
        });
    }
    policies
}

/// `a.b.c.d/n` with `n` at most 32, or an IPv6 address with `/n` at most 128.
fn check_subnet(s: &str) -> Result<(), &'static str> {
    let Some((addr, bits)) = s.split_once('/') else {
        return Err("needs a prefix length: address/bits");
    };
    let bits: u8 = bits.parse().map_err(|_| "has a prefix length that is not a number")?;
    match addr.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) if bits <= 32 => Ok(()),
        Ok(std::net::IpAddr::V6(_)) if bits <= 128 => Ok(()),
        Ok(_) => Err("has a prefix length longer than the address"),
        Err(_) => Err("is not an IP address"),
    }
}
