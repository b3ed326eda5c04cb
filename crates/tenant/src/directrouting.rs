//! Direct Routing and the objects around it: gateways (SBCs), trunk translation rules, PSTN
//! usages, voice routes, voice routing policies, emergency call routing policies, and
//! Operator Connect operators. Field names and defaults follow the Teams cmdlets (spec §2.3–2.6).

use serde::Deserialize;
use toml::Spanned;
use tpr_dialplan::{Limits, Pattern, Translation};

use crate::load::Loader;

/// A Direct Routing SBC (`New-CsOnlinePSTNGateway`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gateway {
    /// At most 63 characters, in a domain of the tenant, not `*.onmicrosoft.com`.
    pub fqdn: String,
    /// 1–65535.
    pub sip_signaling_port: u16,
    /// Teams' default is **false**: a disabled SBC takes no new outbound calls.
    pub enabled: bool,
    /// false: unmonitored, so treated as always healthy.
    pub send_sip_options: bool,
    /// No answer in this time: the next SBC (default 10).
    pub failover_time_seconds: u32,
    /// Final codes that fail over (default 408, 503, 504; a set list replaces them; empty: never).
    pub failover_response_codes: Vec<u16>,
    /// Teams' `MaxConcurrentSessions`: never enforced, alerts at 90 %.
    pub max_concurrent_sessions: Option<u32>,
    /// The SBC's own limit: above it, it answers 503 (tpr's model).
    pub enforced_max_sessions: Option<u32>,
    /// Send History-Info and Referred-By.
    pub forward_call_history: bool,
    /// Send P-Asserted-Identity and Privacy: id.
    pub forward_pai: bool,
    /// Send PIDF-LO location.
    pub pidf_lo_supported: bool,
    /// Network site for Location-Based Routing.
    pub gateway_site_id: Option<String>,
    /// The SBC's site is LBR-enabled.
    pub gateway_site_lbr_enabled: bool,
    /// LBR users on unknown networks may use it.
    pub gateway_lbr_enabled_user_override: bool,
    /// Translation rules (names) for the called number of inbound calls.
    pub inbound_teams_number_translation_rules: Vec<String>,
    /// Translation rules for the caller of inbound calls.
    pub inbound_pstn_number_translation_rules: Vec<String>,
    /// Translation rules for the caller of outbound calls.
    pub outbound_teams_number_translation_rules: Vec<String>,
    /// Translation rules for the callee of outbound calls.
    pub outbound_pstn_number_translation_rules: Vec<String>,
    /// Stored, no effect.
    pub media_bypass: bool,
}

/// A trunk number translation rule (`New-CsTeamsTranslationRule`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranslationRuleDef {
    /// Unique, at most 100 characters.
    pub name: String,
    /// .NET pattern, at most 1024 characters.
    pub pattern: String,
    /// .NET substitution, at most 256 characters.
    pub translation: String,
}

/// A voice route (`New-CsOnlineVoiceRoute`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceRoute {
    /// Unique.
    pub name: String,
    /// .NET pattern searched in the normalized number (default `[0-9]{10}`).
    pub number_pattern: String,
    /// Lower first; routes sharing a usage have distinct priorities. Omitted in the file: the
    /// highest so far plus one.
    pub priority: i32,
    /// SBC FQDNs.
    pub gateways: Vec<String>,
    /// PSTN usages this route belongs to.
    pub usages: Vec<String>,
}

/// A voice routing policy: PSTN usages in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceRoutingPolicy {
    /// `Global` or a tag name.
    pub name: String,
    /// Usages, tried in this order.
    pub usages: Vec<String>,
}

/// One emergency number of an emergency call routing policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyNumber {
    /// Sent without `+` (`911`).
    pub dial_string: String,
    /// Other strings that mean it (1–10 digits each), translated to the dial string.
    pub dial_masks: Vec<String>,
    /// The PSTN usage whose routes carry the call.
    pub usage: String,
}

/// An emergency call routing policy (`New-CsTeamsEmergencyCallRoutingPolicy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyCallRoutingPolicy {
    /// Unique.
    pub name: String,
    /// At most 512 characters.
    pub description: String,
    /// Enhanced emergency services (location).
    pub allow_enhanced_emergency_services: bool,
    /// Dial strings and masks, unique within the policy.
    pub numbers: Vec<EmergencyNumber>,
}

/// An Operator Connect carrier and its trunks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// Unique.
    pub name: String,
    /// Trunks, names unique within the operator.
    pub trunks: Vec<OperatorTrunk>,
}

/// One operator trunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorTrunk {
    /// Unique within the operator.
    pub name: String,
    /// Concurrent calls (`None`: unlimited).
    pub max_sessions: Option<u32>,
}

/// Everything of this module in one tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectRouting {
    /// SBCs.
    pub gateways: Vec<Gateway>,
    /// Trunk translation rules.
    pub translation_rules: Vec<TranslationRuleDef>,
    /// PSTN usage names.
    pub pstn_usages: Vec<String>,
    /// Voice routes, sorted by priority.
    pub voice_routes: Vec<VoiceRoute>,
    /// Voice routing policies (`Global` included if the file defines it).
    pub voice_routing_policies: Vec<VoiceRoutingPolicy>,
    /// Emergency call routing policies.
    pub emergency_call_routing_policies: Vec<EmergencyCallRoutingPolicy>,
    /// Operator Connect operators.
    pub operators: Vec<Operator>,
}

impl DirectRouting {
    /// A gateway by FQDN (case-insensitive).
    pub fn gateway(&self, fqdn: &str) -> Option<&Gateway> {
        self.gateways.iter().find(|g| g.fqdn.eq_ignore_ascii_case(fqdn))
    }

    /// A voice routing policy by name; `Global` exists even when the file leaves it out
    /// (empty).
    pub fn voice_routing_policy(&self, name: &str) -> Option<&VoiceRoutingPolicy> {
        self.voice_routing_policies.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// An emergency call routing policy by name.
    pub fn emergency_policy(&self, name: &str) -> Option<&EmergencyCallRoutingPolicy> {
        self.emergency_call_routing_policies.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// An operator by name.
    pub fn operator(&self, name: &str) -> Option<&Operator> {
        self.operators.iter().find(|o| o.name.eq_ignore_ascii_case(name))
    }
}

// ---- reading ----------------------------------------------------------------------------

fn yes() -> bool {
    true
}
fn ten() -> u32 {
    10
}
fn default_codes() -> Vec<Spanned<i64>> {
    [408, 503, 504].into_iter().map(|c| Spanned::new(0..0, c)).collect()
}
fn default_route_pattern() -> Spanned<String> {
    Spanned::new(0..0, "[0-9]{10}".to_owned())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGateway {
    pub(crate) fqdn: Spanned<String>,
    sip_signaling_port: Spanned<i64>,
    #[serde(default)]
    enabled: bool,
    #[serde(default = "yes")]
    send_sip_options: bool,
    #[serde(default = "ten")]
    failover_time_seconds: u32,
    #[serde(default = "default_codes")]
    failover_response_codes: Vec<Spanned<i64>>,
    #[serde(default)]
    max_concurrent_sessions: Option<Spanned<i64>>,
    #[serde(default)]
    enforced_max_sessions: Option<Spanned<i64>>,
    #[serde(default)]
    forward_call_history: bool,
    #[serde(default)]
    forward_pai: bool,
    #[serde(default)]
    pidf_lo_supported: bool,
    #[serde(default)]
    gateway_site_id: Option<String>,
    #[serde(default)]
    gateway_site_lbr_enabled: bool,
    #[serde(default)]
    gateway_lbr_enabled_user_override: bool,
    #[serde(default)]
    inbound_teams_number_translation_rules: Vec<Spanned<String>>,
    #[serde(default)]
    inbound_pstn_number_translation_rules: Vec<Spanned<String>>,
    #[serde(default)]
    outbound_teams_number_translation_rules: Vec<Spanned<String>>,
    #[serde(default)]
    outbound_pstn_number_translation_rules: Vec<Spanned<String>>,
    // Stored in Teams with no effect on routing.
    #[serde(default)]
    media_bypass: bool,
    #[serde(default)]
    bypass_mode: Option<String>,
    #[serde(default)]
    proxy_sbc: Option<String>,
    #[serde(default)]
    ipv: Option<String>,
    #[serde(default, rename = "description")]
    _description: Option<String>,
    /// `pstn_usages = [...]` written after `[[gateways]]` tables lands, by TOML's rules, in the
    /// last gateway (the reference example does it). It means the tenant's usages.
    #[serde(default)]
    pstn_usages: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTranslationRule {
    name: Spanned<String>,
    pattern: Spanned<String>,
    translation: Spanned<String>,
    #[serde(default, rename = "description")]
    _description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRoute {
    pub(crate) name: Spanned<String>,
    #[serde(default = "default_route_pattern")]
    number_pattern: Spanned<String>,
    #[serde(default)]
    priority: Option<Spanned<i64>>,
    #[serde(default)]
    gateways: Vec<Spanned<String>>,
    #[serde(default)]
    usages: Vec<Spanned<String>>,
    #[serde(default, rename = "description")]
    _description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    pub(crate) name: Spanned<String>,
    #[serde(default)]
    usages: Vec<Spanned<String>>,
    #[serde(default, rename = "description")]
    _description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEmergencyPolicy {
    pub(crate) name: Spanned<String>,
    #[serde(default)]
    description: Option<Spanned<String>>,
    #[serde(default)]
    allow_enhanced_emergency_services: bool,
    #[serde(default)]
    numbers: Vec<Spanned<RawEmergencyNumber>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEmergencyNumber {
    dial_string: Spanned<String>,
    #[serde(default)]
    dial_masks: Vec<Spanned<String>>,
    usage: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOperator {
    name: Spanned<String>,
    #[serde(default)]
    trunks: Vec<Spanned<RawTrunk>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrunk {
    name: Spanned<String>,
    #[serde(default)]
    max_sessions: Option<Spanned<i64>>,
}

/// The raw sections, as `RawFile` holds them.
pub(crate) struct RawSections<'a> {
    pub gateways: &'a [Spanned<RawGateway>],
    pub translation_rules: &'a [Spanned<RawTranslationRule>],
    pub pstn_usages: &'a [Spanned<String>],
    pub voice_routes: &'a [Spanned<RawRoute>],
    pub voice_routing_policies: &'a [Spanned<RawPolicy>],
    pub emergency_call_routing_policies: &'a [Spanned<RawEmergencyPolicy>],
    pub operators: &'a [Spanned<RawOperator>],
}

/// Teams: at most 400 translation rules per tenant.
const MAX_TRANSLATION_RULES: usize = 400;

fn too_long(l: &mut Loader, v: &Spanned<String>, what: &str, max: usize) -> bool {
    let n = v.get_ref().chars().count();
    if n > max {
        l.error(v.span(), format!("{what} has {n} characters; at most {max} are allowed"));
    }
    n > max
}

/// Names of `items`, reporting duplicates (case-insensitive) at the second one.
fn unique<'a>(
    l: &mut Loader,
    names: impl Iterator<Item = &'a Spanned<String>>,
    what: &str,
) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for n in names {
        if seen.iter().any(|s| s.eq_ignore_ascii_case(n.get_ref())) {
            l.error(n.span(), format!("{what} {:?} is defined twice", n.get_ref()));
        } else {
            seen.push(n.get_ref().clone());
        }
    }
    seen
}

fn check_ref(l: &mut Loader, r: &Spanned<String>, known: &[String], who: &str, what: &str) {
    if !known.iter().any(|k| k.eq_ignore_ascii_case(r.get_ref())) {
        l.error(r.span(), format!("{who}: {what} {:?} is not defined", r.get_ref()));
    }
}

/// Checks a pattern, reporting at its column when the TOML string is a literal string.
fn check_pattern(l: &mut Loader, p: &Spanned<String>, who: &str, limits: &Limits) -> bool {
    match Pattern::new(p.get_ref(), limits) {
        Ok(_) => true,
        Err(kind) => {
            let span = l.column_span(p, &kind);
            l.error(span, format!("{who}: {kind}"));
            false
        }
    }
}

fn strings(v: &[Spanned<String>]) -> Vec<String> {
    v.iter().map(|s| s.get_ref().clone()).collect()
}

fn valid_fqdn(fqdn: &str) -> Result<(), String> {
    if fqdn.chars().count() > 63 {
        return Err(format!("has {} characters; at most 63 are allowed", fqdn.chars().count()));
    }
    let labels_ok = fqdn.split('.').all(|label| {
        !label.is_empty()
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if !labels_ok || !fqdn.contains('.') {
        return Err("is not a fully qualified domain name".into());
    }
    if fqdn.to_ascii_lowercase().ends_with(".onmicrosoft.com") {
        return Err("is in *.onmicrosoft.com, which Teams does not accept for an SBC".into());
    }
    Ok(())
}

pub(crate) fn load(l: &mut Loader, raw: RawSections<'_>, domains: &[String]) -> DirectRouting {
    let limits = Limits { max_translation_len: 256, ..Limits::default() };

    // Translation rules first: gateways refer to them.
    if raw.translation_rules.len() > MAX_TRANSLATION_RULES {
        l.error(
            raw.translation_rules[MAX_TRANSLATION_RULES].span(),
            format!(
                "{} translation rules; a tenant holds at most {MAX_TRANSLATION_RULES}",
                raw.translation_rules.len()
            ),
        );
    }
    let rule_names =
        unique(l, raw.translation_rules.iter().map(|r| &r.get_ref().name), "translation rule");
    let mut translation_rules = Vec::new();
    for r in raw.translation_rules {
        let r = r.get_ref();
        let who = format!("translation rule {:?}", r.name.get_ref());
        too_long(l, &r.name, &who, 100);
        too_long(l, &r.translation, &who, 256);
        if !too_long(l, &r.pattern, &who, 1024) {
            match Translation::new(r.pattern.get_ref(), r.translation.get_ref(), &limits) {
                Ok(_) => {}
                Err(kind) => {
                    let span = l.column_span(&r.pattern, &kind);
                    l.error(span, format!("{who}: {kind}"));
                }
            }
        }
        translation_rules.push(TranslationRuleDef {
            name: r.name.get_ref().clone(),
            pattern: r.pattern.get_ref().clone(),
            translation: r.translation.get_ref().clone(),
        });
    }

    let all_usages: Vec<&Spanned<String>> = raw
        .pstn_usages
        .iter()
        .chain(raw.gateways.iter().flat_map(|g| &g.get_ref().pstn_usages))
        .collect();
    let pstn_usages = unique(l, all_usages.iter().copied(), "PSTN usage");
    for u in all_usages {
        if u.get_ref().trim().is_empty() {
            l.error(u.span(), "a PSTN usage needs a name");
        }
    }

    let fqdns = unique(l, raw.gateways.iter().map(|g| &g.get_ref().fqdn), "gateway");
    let mut gateways = Vec::new();
    for g in raw.gateways {
        let g = g.get_ref();
        let fqdn = g.fqdn.get_ref();
        let who = format!("gateway {fqdn:?}");
        if let Err(why) = valid_fqdn(fqdn) {
            l.error(g.fqdn.span(), format!("{who}: the FQDN {why}"));
        } else if !domains.is_empty()
            && !domains.iter().any(|d| {
                let (f, d) = (fqdn.to_ascii_lowercase(), d.to_ascii_lowercase());
                f == d || f.ends_with(&format!(".{d}"))
            })
        {
            l.error(
                g.fqdn.span(),
                format!("{who}: not in a domain of the tenant ({})", domains.join(", ")),
            );
        }
        let port =
            l.int(&g.sip_signaling_port, format_args!("{who}: sip_signaling_port"), 1, 65535);
        if g.failover_time_seconds == 0 {
            l.error(g.fqdn.span(), format!("{who}: failover_time_seconds must be at least 1"));
        }
        let codes = g
            .failover_response_codes
            .iter()
            .filter_map(|c| l.int(c, format_args!("{who}: a failover response code"), 400, 699))
            .map(|c| c as u16)
            .collect();
        let max_sessions = g
            .max_concurrent_sessions
            .as_ref()
            .and_then(|m| l.int(m, format_args!("{who}: max_concurrent_sessions"), 1, 100_000));
        let enforced = g
            .enforced_max_sessions
            .as_ref()
            .and_then(|m| l.int(m, format_args!("{who}: enforced_max_sessions"), 1, 1_000_000));
        for list in [
            &g.inbound_teams_number_translation_rules,
            &g.inbound_pstn_number_translation_rules,
            &g.outbound_teams_number_translation_rules,
            &g.outbound_pstn_number_translation_rules,
        ] {
            for r in list {
                check_ref(l, r, &rule_names, &who, "translation rule");
            }
        }
        let _ = (&g.bypass_mode, &g.proxy_sbc, &g.ipv);
        gateways.push(Gateway {
            fqdn: fqdn.clone(),
            sip_signaling_port: port.unwrap_or(5061) as u16,
            enabled: g.enabled,
            send_sip_options: g.send_sip_options,
            failover_time_seconds: g.failover_time_seconds,
            failover_response_codes: codes,
            max_concurrent_sessions: max_sessions.map(|m| m as u32),
            enforced_max_sessions: enforced.map(|m| m as u32),
            forward_call_history: g.forward_call_history,
            forward_pai: g.forward_pai,
            pidf_lo_supported: g.pidf_lo_supported,
            gateway_site_id: g.gateway_site_id.clone(),
            gateway_site_lbr_enabled: g.gateway_site_lbr_enabled,
            gateway_lbr_enabled_user_override: g.gateway_lbr_enabled_user_override,
            inbound_teams_number_translation_rules: strings(
                &g.inbound_teams_number_translation_rules,
            ),
            inbound_pstn_number_translation_rules: strings(
                &g.inbound_pstn_number_translation_rules,
            ),
            outbound_teams_number_translation_rules: strings(
                &g.outbound_teams_number_translation_rules,
            ),
            outbound_pstn_number_translation_rules: strings(
                &g.outbound_pstn_number_translation_rules,
            ),
            media_bypass: g.media_bypass,
        });
    }

    unique(l, raw.voice_routes.iter().map(|r| &r.get_ref().name), "voice route");
    let mut voice_routes: Vec<VoiceRoute> = Vec::new();
    // Two routes may share a priority unless they share a usage: within a usage the order
    // must be defined.
    let mut taken: Vec<(i32, String, Vec<String>)> = Vec::new();
    for r in raw.voice_routes {
        let r = r.get_ref();
        let who = format!("voice route {:?}", r.name.get_ref());
        check_pattern(l, &r.number_pattern, &who, &limits);
        let priority = match &r.priority {
            Some(p) => l
                .int(p, format_args!("{who}: priority"), i64::from(i32::MIN), i64::from(i32::MAX))
                .map(|p| p as i32),
            // Teams puts a route without a priority after all others.
            None => Some(taken.iter().map(|(p, _, _)| p.saturating_add(1)).max().unwrap_or(0)),
        };
        let usages = strings(&r.usages);
        if let Some(p) = priority {
            let clash = taken.iter().find(|(q, _, u)| {
                *q == p && u.iter().any(|a| usages.iter().any(|b| a.eq_ignore_ascii_case(b)))
            });
            if let Some((_, other, _)) = clash {
                let span = r.priority.as_ref().map_or(r.name.span(), |p| p.span());
                l.error(
                    span,
                    format!(
                        "{who}: priority {p} is already used by voice route {other:?}, which shares a PSTN usage with it"
                    ),
                );
            }
            taken.push((p, r.name.get_ref().clone(), usages));
        }
        for g in &r.gateways {
            check_ref(l, g, &fqdns, &who, "gateway");
        }
        for u in &r.usages {
            check_ref(l, u, &pstn_usages, &who, "PSTN usage");
        }
        voice_routes.push(VoiceRoute {
            name: r.name.get_ref().clone(),
            number_pattern: r.number_pattern.get_ref().clone(),
            priority: priority.unwrap_or(0),
            gateways: strings(&r.gateways),
            usages: strings(&r.usages),
        });
    }
    voice_routes.sort_by_key(|r| r.priority);

    unique(l, raw.voice_routing_policies.iter().map(|p| &p.get_ref().name), "voice routing policy");
    let mut voice_routing_policies = Vec::new();
    for p in raw.voice_routing_policies {
        let p = p.get_ref();
        let who = format!("voice routing policy {:?}", p.name.get_ref());
        unique(l, p.usages.iter(), &format!("{who}: PSTN usage"));
        for u in &p.usages {
            check_ref(l, u, &pstn_usages, &who, "PSTN usage");
        }
        voice_routing_policies.push(VoiceRoutingPolicy {
            name: p.name.get_ref().clone(),
            usages: strings(&p.usages),
        });
    }

    unique(
        l,
        raw.emergency_call_routing_policies.iter().map(|p| &p.get_ref().name),
        "emergency call routing policy",
    );
    let mut emergency_call_routing_policies = Vec::new();
    for p in raw.emergency_call_routing_policies {
        let p = p.get_ref();
        let who = format!("emergency call routing policy {:?}", p.name.get_ref());
        if let Some(d) = &p.description {
            too_long(l, d, &format!("{who}: description"), 512);
        }
        let mut strings_seen: Vec<String> = Vec::new();
        let mut numbers = Vec::new();
        for n in &p.numbers {
            let n = n.get_ref();
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            if !digits(n.dial_string.get_ref()) {
                l.error(
                    n.dial_string.span(),
                    format!("{who}: dial string {:?} must be digits", n.dial_string.get_ref()),
                );
            }
            for s in std::iter::once(&n.dial_string).chain(&n.dial_masks) {
                if strings_seen.contains(s.get_ref()) {
                    l.error(
                        s.span(),
                        format!("{who}: {:?} is used twice as a dial string or mask", s.get_ref()),
                    );
                } else {
                    strings_seen.push(s.get_ref().clone());
                }
            }
            for m in &n.dial_masks {
                let len = m.get_ref().len();
                if !digits(m.get_ref()) || !(1..=10).contains(&len) {
                    l.error(
                        m.span(),
                        format!("{who}: dial mask {:?} must be 1 to 10 digits", m.get_ref()),
                    );
                }
            }
            check_ref(l, &n.usage, &pstn_usages, &who, "PSTN usage");
            numbers.push(EmergencyNumber {
                dial_string: n.dial_string.get_ref().clone(),
                dial_masks: strings(&n.dial_masks),
                usage: n.usage.get_ref().clone(),
            });
        }
        emergency_call_routing_policies.push(EmergencyCallRoutingPolicy {
            name: p.name.get_ref().clone(),
            description: p.description.as_ref().map(|d| d.get_ref().clone()).unwrap_or_default(),
            allow_enhanced_emergency_services: p.allow_enhanced_emergency_services,
            numbers,
        });
    }

    unique(l, raw.operators.iter().map(|o| &o.get_ref().name), "operator");
    let mut operators = Vec::new();
    for o in raw.operators {
        let o = o.get_ref();
        let who = format!("operator {:?}", o.name.get_ref());
        unique(l, o.trunks.iter().map(|t| &t.get_ref().name), &format!("{who}: trunk"));
        let trunks = o
            .trunks
            .iter()
            .map(|t| {
                let t = t.get_ref();
                let max = t.max_sessions.as_ref().and_then(|m| {
                    l.int(
                        m,
                        format_args!("{who}: trunk {:?}: max_sessions", t.name.get_ref()),
                        1,
                        10_000_000,
                    )
                });
                OperatorTrunk {
                    name: t.name.get_ref().clone(),
                    max_sessions: max.map(|m| m as u32),
                }
            })
            .collect();
        operators.push(Operator { name: o.name.get_ref().clone(), trunks });
    }

    DirectRouting {
        gateways,
        translation_rules,
        pstn_usages,
        voice_routes,
        voice_routing_policies,
        emergency_call_routing_policies,
        operators,
    }
}
