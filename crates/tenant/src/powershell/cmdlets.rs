//! The Teams cmdlets (and the TeamsTools module's `Add-TeamsVirtual…` equivalents) that create,
//! change, remove, assign and read tenant objects.

use std::rc::Rc;

use super::Fail;
use super::doc::{Obj, Val};
use super::eval::{Interp, Value};
use super::parse::{Arg, Command};

/// Common parameters every cmdlet takes; none changes what is imported except `-WhatIf`.
const COMMON: [&str; 16] = [
    "erroraction",
    "warningaction",
    "informationaction",
    "errorvariable",
    "warningvariable",
    "informationvariable",
    "outvariable",
    "outbuffer",
    "pipelinevariable",
    "tenant",
    "verbose",
    "debug",
    "confirm",
    "whatif",
    "force",
    "passthru",
];
const COMMON_SWITCHES: [&str; 6] = ["verbose", "debug", "confirm", "whatif", "force", "passthru"];

/// How a parameter's value lands in a TOML field.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Bool,
    Int,
    /// An integer, or `$null` to remove the field.
    OptInt,
    /// A list of names; a hashtable `@{Add=…; Remove=…; Replace=…}` changes the current one.
    Names,
    /// `"408,503,504"` or a list of codes.
    Codes,
    /// `PascalCase` enumeration value, stored in snake_case.
    Enum,
}

type Field = (&'static str, &'static str, Kind);

const GATEWAY: [Field; 21] = [
    ("sipsignalingport", "sip_signaling_port", Kind::Int),
    ("enabled", "enabled", Kind::Bool),
    ("sendsipoptions", "send_sip_options", Kind::Bool),
    ("failovertimeseconds", "failover_time_seconds", Kind::Int),
    ("failoverresponsecodes", "failover_response_codes", Kind::Codes),
    ("maxconcurrentsessions", "max_concurrent_sessions", Kind::OptInt),
    ("forwardcallhistory", "forward_call_history", Kind::Bool),
    ("forwardpai", "forward_pai", Kind::Bool),
    ("pidflosupported", "pidf_lo_supported", Kind::Bool),
    ("gatewaysiteid", "gateway_site_id", Kind::Str),
    ("gatewaysitelbrenabled", "gateway_site_lbr_enabled", Kind::Bool),
    ("gatewaylbrenableduseroverride", "gateway_lbr_enabled_user_override", Kind::Bool),
    ("mediabypass", "media_bypass", Kind::Bool),
    ("bypassmode", "bypass_mode", Kind::Str),
    ("proxysbc", "proxy_sbc", Kind::Str),
    ("ipaddressversion", "ipv", Kind::Str),
    ("description", "description", Kind::Str),
    ("inboundteamsnumbertranslationrules", "inbound_teams_number_translation_rules", Kind::Names),
    ("inboundpstnnumbertranslationrules", "inbound_pstn_number_translation_rules", Kind::Names),
    ("outboundteamsnumbertranslationrules", "outbound_teams_number_translation_rules", Kind::Names),
    ("outboundpstnnumbertranslationrules", "outbound_pstn_number_translation_rules", Kind::Names),
];

const ROUTE: [Field; 7] = [
    ("numberpattern", "number_pattern", Kind::Str),
    ("onlinepstnusages", "usages", Kind::Names),
    ("pstnusagelist", "usages", Kind::Names),
    ("onlinepstngatewaylist", "gateways", Kind::Names),
    ("pstngatewaylist", "gateways", Kind::Names),
    ("priority", "priority", Kind::Int),
    ("description", "description", Kind::Str),
];

const POLICY: [Field; 3] = [
    ("onlinepstnusages", "usages", Kind::Names),
    ("pstnusagelist", "usages", Kind::Names),
    ("description", "description", Kind::Str),
];

const TRANSLATION: [Field; 3] = [
    ("pattern", "pattern", Kind::Str),
    ("translation", "translation", Kind::Str),
    ("description", "description", Kind::Str),
];

const DIAL_PLAN: [Field; 3] = [
    ("description", "description", Kind::Str),
    ("simplename", "simple_name", Kind::Str),
    ("externalaccessprefix", "external_access_prefix", Kind::Str),
];

const CALLING: [Field; 10] = [
    ("allowprivatecalling", "allow_private_calling", Kind::Bool),
    ("allowwebpstncalling", "allow_web_pstn_calling", Kind::Bool),
    ("allowcallforwardingtophone", "allow_call_forwarding_to_phone", Kind::Bool),
    ("allowcallforwardingtouser", "allow_call_forwarding_to_user", Kind::Bool),
    ("allowvoicemail", "allow_voicemail", Kind::Enum),
    ("busyonbusyenabledtype", "busy_on_busy_enabled_type", Kind::Enum),
    ("inboundpstncallroutingtreatment", "inbound_pstn_call_routing_treatment", Kind::Enum),
    ("preventtollbypass", "prevent_toll_bypass", Kind::Bool),
    ("enablespendlimits", "enable_spend_limits", Kind::Bool),
    ("callingspenduserlimit", "calling_spend_user_limit", Kind::OptInt),
];

const CALLER_ID: [Field; 6] = [
    ("callingidsubstitute", "calling_id_substitute", Kind::Enum),
    ("resourceaccount", "resource_account", Kind::Str),
    ("companyname", "company_name", Kind::Str),
    ("enableuseroverride", "enable_user_override", Kind::Bool),
    ("blockincomingpstncallerid", "block_incoming_pstn_caller_id", Kind::Bool),
    ("description", "description", Kind::Str),
];

const TREATMENT: [Field; 5] = [
    ("pattern", "pattern", Kind::Str),
    ("targettype", "target_type", Kind::Enum),
    ("target", "target", Kind::Str),
    ("treatmentpriority", "treatment_priority", Kind::Int),
    ("description", "description", Kind::Str),
];

const NUMBER_PATTERN: [Field; 3] = [
    ("pattern", "pattern", Kind::Str),
    ("enabled", "enabled", Kind::Bool),
    ("description", "description", Kind::Str),
];

const SITE: [Field; 5] = [
    ("networkregionid", "network_region", Kind::Str),
    ("enablelocationbasedrouting", "lbr_enabled", Kind::Bool),
    ("emergencycallroutingpolicy", "emergency_call_routing_policy", Kind::Str),
    ("description", "description", Kind::Str),
    ("networksiteid", "", Kind::Str),
];

const ECRP: [Field; 2] = [
    ("allowenhancedemergencyservices", "allow_enhanced_emergency_services", Kind::Bool),
    ("description", "description", Kind::Str),
];

/// Parameters bound to a cmdlet call.
struct Bound {
    cmdlet: String,
    values: Vec<(String, Value, usize)>,
    at: usize,
}

impl Bound {
    fn get(&self, p: &str) -> Option<&(String, Value, usize)> {
        self.values.iter().find(|(n, _, _)| n == p)
    }

    fn has(&self, p: &str) -> bool {
        self.get(p).is_some()
    }
}

/// Whether the call creates, changes, or creates-or-changes its object.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    New,
    Set,
    Upsert,
}

fn strip_tag(s: &str) -> &str {
    s.strip_prefix("Tag:").or_else(|| s.strip_prefix("tag:")).unwrap_or(s)
}

impl Interp<'_> {
    /// Runs `c` if it is a cmdlet on tenant objects: `Some(output)`, else `None`.
    pub fn teams_cmdlet(&mut self, c: &Command, lname: &str) -> Result<Option<Value>, Fail> {
        let v = match lname {
            "new-csvoicenormalizationrule" | "add-teamsvirtualvoicenormalisation" => {
                let b = self.bind(
                    c,
                    &[
                        "identity",
                        "parent",
                        "name",
                        "pattern",
                        "translation",
                        "description",
                        "isinternalextension",
                        "priority",
                        "inmemory",
                    ],
                    &["inmemory"],
                    &["identity"],
                    false,
                )?;
                self.normalization_rule(&b, lname.starts_with("add-"))?
            }
            "new-cstenantdialplan" | "set-cstenantdialplan" | "add-teamsvirtualdialplan" => {
                let b = self.bind(
                    c,
                    &[
                        "identity",
                        "description",
                        "simplename",
                        "externalaccessprefix",
                        "normalizationrules",
                        "optimizedevicedialing",
                    ],
                    &[],
                    &["identity"],
                    false,
                )?;
                let mode = mode_of(lname);
                let name = self.identity(&b)?;
                self.object(&b, "dial_plans", &name, mode, &DIAL_PLAN)?;
                if let Some((_, v, at)) = b.get("normalizationrules").cloned() {
                    let new = self.objects_of(&v, at, "normalizationrules")?;
                    let plan = self.doc.get_or_create("dial_plans", &name, at);
                    let rules = plan.list_mut("rules");
                    apply_ops(rules, new, |v| table_name(v, "name"));
                }
                Value::Null
            }
            "remove-cstenantdialplan" => self.remove(c, "dial_plans")?,
            "set-csonlinepstnusage" => {
                let b = self.bind(c, &["identity", "usage"], &[], &["identity"], false)?;
                if let Some((_, id, at)) = b.get("identity")
                    && !id.text().eq_ignore_ascii_case("global")
                {
                    return Err(Fail::new(
                        *at,
                        "Set-CsOnlinePstnUsage: the only identity is Global",
                    ));
                }
                if let Some((_, v, at)) = b.get("usage").cloned() {
                    let ops = self.name_ops(&v, at, "usage")?;
                    let mut current: Vec<Val> =
                        self.doc.pstn_usages.iter().map(|(u, _)| Val::Str(u.clone())).collect();
                    apply_ops(&mut current, ops, |v| match v {
                        Val::Str(s) => Some(s.clone()),
                        _ => None,
                    });
                    let old = std::mem::take(&mut self.doc.pstn_usages);
                    self.doc.pstn_usages = current
                        .into_iter()
                        .filter_map(|v| match v {
                            Val::Str(s) => Some(s),
                            _ => None,
                        })
                        .map(|u| {
                            let at = old
                                .iter()
                                .find(|(o, _)| o.eq_ignore_ascii_case(&u))
                                .map_or(b.at, |(_, a)| *a);
                            (u, at)
                        })
                        .collect();
                }
                Value::Null
            }
            "add-teamsvirtualpstnusage" => {
                let b = self.bind(c, &["pstnusage"], &[], &["pstnusage"], false)?;
                if let Some((_, v, at)) = b.get("pstnusage").cloned() {
                    for u in self.names(&v, at, "pstnusage")? {
                        if !self.doc.has_usage(&u) {
                            self.doc.pstn_usages.push((u, b.at));
                        }
                    }
                }
                Value::Null
            }
            "new-csonlinevoiceroute" | "set-csonlinevoiceroute" | "add-teamsvirtualvoiceroute" => {
                let b = self.bind(
                    c,
                    &[
                        "identity",
                        "name",
                        "numberpattern",
                        "onlinepstnusages",
                        "pstnusagelist",
                        "onlinepstngatewaylist",
                        "pstngatewaylist",
                        "priority",
                        "description",
                        "bridgesourcephonenumber",
                    ],
                    &[],
                    &["identity"],
                    false,
                )?;
                let name = self.identity(&b)?;
                self.object(&b, "voice_routes", &name, mode_of(lname), &ROUTE)?;
                Value::Null
            }
            "remove-csonlinevoiceroute" => self.remove(c, "voice_routes")?,
            "new-csonlinevoiceroutingpolicy"
            | "set-csonlinevoiceroutingpolicy"
            | "add-teamsvirtualvoiceroutingpolicy" => {
                let b = self.bind(
                    c,
                    &[
                        "identity",
                        "onlinepstnusages",
                        "pstnusagelist",
                        "description",
                        "routetype",
                        "onlinevoiceroutingpolicy",
                    ],
                    &[],
                    &["identity"],
                    false,
                )?;
                let name = self.identity(&b)?;
                self.object(&b, "voice_routing_policies", &name, mode_of(lname), &POLICY)?;
                Value::Null
            }
            "remove-csonlinevoiceroutingpolicy" => self.remove(c, "voice_routing_policies")?,
            "new-csonlinepstngateway"
            | "set-csonlinepstngateway"
            | "add-teamsvirtualpstngateway" => {
                let mut params: Vec<&str> = GATEWAY.iter().map(|f| f.0).collect();
                params.extend([
                    "identity",
                    "fqdn",
                    "mediarelayroutinglocationoverride",
                    "inboundpstnnumbertranslationrulelist",
                ]);
                let b = self.bind(c, &params, &[], &["identity"], false)?;
                let name = match b.get("fqdn") {
                    Some((_, v, at)) => self.text(v, *at, "fqdn")?,
                    None => self.identity(&b)?,
                };
                self.object(&b, "gateways", &name, mode_of(lname), &GATEWAY)?;
                Value::Null
            }
            "remove-csonlinepstngateway" => self.remove(c, "gateways")?,
            "new-csteamstranslationrule" | "set-csteamstranslationrule" => {
                let b = self.bind(
                    c,
                    &["identity", "pattern", "translation", "description"],
                    &[],
                    &["identity"],
                    false,
                )?;
                let name = self.identity(&b)?;
                self.object(&b, "translation_rules", &name, mode_of(lname), &TRANSLATION)?;
                Value::Null
            }
            "remove-csteamstranslationrule" => self.remove(c, "translation_rules")?,
            "new-csteamsemergencynumber" => {
                let b = self.bind(
                    c,
                    &["emergencydialstring", "emergencydialmask", "onlinepstnusage"],
                    &[],
                    &[],
                    false,
                )?;
                let mut o = Obj::default();
                if let Some((_, v, at)) = b.get("emergencydialstring") {
                    o.set("dial_string", Val::Str(self.text(v, *at, "emergencydialstring")?));
                }
                if let Some((_, v, at)) = b.get("emergencydialmask") {
                    let masks = self.text(v, *at, "emergencydialmask")?;
                    let masks: Vec<Val> = masks
                        .split([';', ','])
                        .map(str::trim)
                        .filter(|m| !m.is_empty())
                        .map(|m| Val::Str(m.to_owned()))
                        .collect();
                    o.set("dial_masks", Val::List(masks));
                }
                if let Some((_, v, at)) = b.get("onlinepstnusage") {
                    o.set("usage", Val::Str(self.text(v, *at, "onlinepstnusage")?));
                }
                Value::Obj(Rc::new(o), "dial_string")
            }
            "new-csteamsemergencycallroutingpolicy" | "set-csteamsemergencycallroutingpolicy" => {
                let b = self.bind(
                    c,
                    &[
                        "identity",
                        "emergencynumbers",
                        "allowenhancedemergencyservices",
                        "description",
                    ],
                    &[],
                    &["identity"],
                    false,
                )?;
                let name = self.identity(&b)?;
                self.object(&b, "emergency_call_routing_policies", &name, mode_of(lname), &ECRP)?;
                if let Some((_, v, at)) = b.get("emergencynumbers").cloned() {
                    let new = self.objects_of(&v, at, "emergencynumbers")?;
                    let p = self.doc.get_or_create("emergency_call_routing_policies", &name, at);
                    apply_ops(p.list_mut("numbers"), new, |v| table_name(v, "dial_string"));
                }
                Value::Null
            }
            "new-csteamscallingpolicy" | "set-csteamscallingpolicy" => {
                let b = self.bind(
                    c,
                    &CALLING
                        .iter()
                        .map(|f| f.0)
                        .chain(["identity", "description"])
                        .collect::<Vec<_>>(),
                    &[],
                    &["identity"],
                    true,
                )?;
                let name = self.identity(&b)?;
                self.object(&b, "calling_policies", &name, mode_of(lname), &CALLING)?;
                Value::Null
            }
            "new-cscallinglineidentity" | "set-cscallinglineidentity" => {
                let b = self.bind(
                    c,
                    &CALLER_ID.iter().map(|f| f.0).chain(["identity"]).collect::<Vec<_>>(),
                    &[],
                    &["identity"],
                    true,
                )?;
                let name = self.identity(&b)?;
                self.object(&b, "caller_id_policies", &name, mode_of(lname), &CALLER_ID)?;
                Value::Null
            }
            "new-csteamsunassignednumbertreatment" | "set-csteamsunassignednumbertreatment" => {
                let b = self.bind(
                    c,
                    &TREATMENT.iter().map(|f| f.0).chain(["identity"]).collect::<Vec<_>>(),
                    &[],
                    &["identity"],
                    false,
                )?;
                let name = self.identity(&b)?;
                self.object(&b, "unassigned_number_treatments", &name, mode_of(lname), &TREATMENT)?;
                Value::Null
            }
            "new-csinboundblockednumberpattern"
            | "new-csinboundexemptnumberpattern"
            | "set-csinboundblockednumberpattern"
            | "set-csinboundexemptnumberpattern" => {
                let b = self.bind(
                    c,
                    &["identity", "name", "pattern", "enabled", "description"],
                    &[],
                    &["identity"],
                    false,
                )?;
                let name = self.identity(&b)?;
                let list = if lname.contains("exempt") { "exempt" } else { "patterns" };
                let at = b.at;
                let mut o = Obj::default();
                o.set("name", Val::Str(name.clone()));
                self.fields(&b, &mut o, &NUMBER_PATTERN)?;
                let blocked = self.doc.blocked.get_or_insert_with(|| Obj::new(at));
                let items = blocked.list_mut(list);
                match items
                    .iter_mut()
                    .find(|v| table_name(v, "name").is_some_and(|n| n.eq_ignore_ascii_case(&name)))
                {
                    Some(Val::Table(existing)) if lname.starts_with("set-") => {
                        for (k, v) in o.fields {
                            existing.set(&k, v);
                        }
                    }
                    Some(_) => {
                        return Err(Fail::new(at, format!("{}: {name:?} already exists", c.name)));
                    }
                    None if lname.starts_with("set-") => {
                        return Err(Fail::new(at, format!("{}: {name:?} does not exist", c.name)));
                    }
                    None => items.push(Val::Table(o)),
                }
                Value::Null
            }
            "set-cstenantblockedcallingnumbers" => {
                let b = self.bind(
                    c,
                    &[
                        "identity",
                        "enabled",
                        "inboundblockednumberpatterns",
                        "inboundexemptnumberpatterns",
                    ],
                    &[],
                    &["identity"],
                    false,
                )?;
                if let Some((_, v, at)) = b.get("enabled").cloned() {
                    let e = self.boolean(&v, at, "enabled")?;
                    let at = b.at;
                    self.doc
                        .blocked
                        .get_or_insert_with(|| Obj::new(at))
                        .set("enabled", Val::Bool(e));
                }
                Value::Null
            }
            "new-cstenantnetworksite"
            | "set-cstenantnetworksite"
            | "add-teamsvirtualnetworksite" => {
                let b = self.bind(
                    c,
                    &SITE.iter().map(|f| f.0).chain(["identity"]).collect::<Vec<_>>(),
                    &[],
                    &["identity"],
                    true,
                )?;
                let name = match b.get("networksiteid") {
                    Some((_, v, at)) => self.text(v, *at, "networksiteid")?,
                    None => self.identity(&b)?,
                };
                self.object(&b, "network_sites", &name, mode_of(lname), &SITE[..4])?;
                Value::Null
            }
            "new-cstenantnetworksubnet" | "add-teamsvirtualnetworksubnet" => {
                let b = self.bind(
                    c,
                    &["identity", "subnetid", "maskbits", "mask", "networksiteid", "description"],
                    &[],
                    &["identity"],
                    false,
                )?;
                let subnet = match b.get("subnetid").or(b.get("identity")) {
                    Some((_, v, at)) => self.text(v, *at, "subnetid")?,
                    None => {
                        return Err(Fail::new(b.at, format!("{}: -SubnetID is required", c.name)));
                    }
                };
                let bits = match b.get("maskbits").or(b.get("mask")) {
                    Some((_, v, at)) => self.text(v, *at, "maskbits")?,
                    None => {
                        return Err(Fail::new(b.at, format!("{}: -MaskBits is required", c.name)));
                    }
                };
                let Some((_, site, site_at)) = b.get("networksiteid").cloned() else {
                    return Err(Fail::new(b.at, format!("{}: -NetworkSiteID is required", c.name)));
                };
                let site = self.text(&site, site_at, "networksiteid")?;
                let Some(o) = self.doc.get_mut("network_sites", &site) else {
                    return Err(Fail::new(
                        site_at,
                        format!("{}: network site {site:?} does not exist", c.name),
                    ));
                };
                o.list_mut("subnets").push(Val::Str(format!("{subnet}/{bits}")));
                Value::Null
            }
            "set-csphonenumberassignment"
            | "set-csuser"
            | "set-csonlinevoiceuser"
            | "add-teamsvirtualuser" => {
                let b = self.bind(
                    c,
                    &[
                        "identity",
                        "phonenumber",
                        "phonenumbertype",
                        "locationid",
                        "assignmentcategory",
                        "enterprisevoiceenabled",
                        "onpremlineuri",
                        "hostedvoicemail",
                        "telephonenumber",
                        "telephonenumbertype",
                        "usagelocation",
                        "voiceroutingpolicy",
                        "dialplan",
                        "survivablebranchappliancepolicy",
                    ],
                    &[],
                    &["identity"],
                    false,
                )?;
                self.user(&b, lname)?;
                Value::Null
            }
            "grant-cstenantdialplan"
            | "grant-csonlinevoiceroutingpolicy"
            | "grant-csteamsemergencycallroutingpolicy"
            | "grant-csdialoutpolicy"
            | "grant-csteamscallingpolicy"
            | "grant-cscallinglineidentity" => {
                let b = self.bind(
                    c,
                    &["identity", "policyname", "global", "group", "rank"],
                    &["global"],
                    &["identity", "policyname"],
                    false,
                )?;
                let field = match lname {
                    "grant-cstenantdialplan" => "dial_plan",
                    "grant-csonlinevoiceroutingpolicy" => "voice_routing_policy",
                    "grant-csteamsemergencycallroutingpolicy" => "emergency_call_routing_policy",
                    "grant-csdialoutpolicy" => "dial_out_policy",
                    "grant-csteamscallingpolicy" => "calling_policy",
                    _ => "caller_id_policy",
                };
                if b.has("global") || b.has("group") {
                    return Err(Fail::new(
                        b.at,
                        format!(
                            "{} -Global/-Group is not supported: tpr assigns policies to users; define the policy named Global instead",
                            c.name
                        ),
                    ));
                }
                let user = self.identity(&b)?;
                let policy = match b.get("policyname") {
                    Some((_, Value::Null, _)) | None => None,
                    Some((_, v, at)) => {
                        Some(strip_tag(&self.text(v, *at, "policyname")?).to_owned())
                    }
                };
                let at = b.at;
                let section = if self.doc.find("resource_accounts", &user).is_some() {
                    "resource_accounts"
                } else {
                    "users"
                };
                let o = self.doc.get_or_create(section, &user, at);
                match policy {
                    Some(p) => o.set(field, Val::Str(p)),
                    None => o.remove(field),
                }
                Value::Null
            }
            "get-cstenantdialplan" => self.query(c, "dial_plans")?,
            "get-csonlinepstngateway" => self.query(c, "gateways")?,
            "get-csonlinevoiceroute" => self.query(c, "voice_routes")?,
            "get-csonlinevoiceroutingpolicy" => self.query(c, "voice_routing_policies")?,
            "get-csteamstranslationrule" => self.query(c, "translation_rules")?,
            "get-csteamsemergencycallroutingpolicy" => {
                self.query(c, "emergency_call_routing_policies")?
            }
            "get-csonlinepstnusage" => Value::List(
                self.doc.pstn_usages.iter().map(|(u, _)| Value::Str(u.clone())).collect(),
            ),
            "new-teamsvirtualtopology" => Value::Null,
            "add-teamsvirtualtrustedipaddress"
            | "add-teamsvirtualsurvivablebranchappliance"
            | "add-teamsvirtualsurvivablebranchappliancepolicy"
            | "new-cstenanttrustedipaddress"
            | "new-csonlinelissubnet"
            | "new-csonlinelislocation" => {
                self.warn(
                    c.at,
                    format!("`{}` configures something tpr does not model; passed over", c.name),
                );
                Value::Null
            }
            _ => return Ok(None),
        };
        Ok(Some(v))
    }

    /// Binds `c`'s arguments to `params` (lowercase), with `switches` taking no value and
    /// `positional` filled in order. `open`: unknown parameters are Teams settings tpr does not
    /// model, passed over with a warning.
    fn bind(
        &mut self,
        c: &Command,
        params: &[&str],
        switches: &[&str],
        positional: &[&str],
        open: bool,
    ) -> Result<Bound, Fail> {
        let mut b = Bound { cmdlet: c.name.clone(), values: Vec::new(), at: c.at };
        self.spelled.clear();
        let mut pos = positional.iter();
        let mut args = c.args.iter().peekable();
        while let Some(a) = args.next() {
            match a {
                Arg::Param { name, at, value } => {
                    let lname = name.to_ascii_lowercase();
                    let all = params.iter().chain(COMMON.iter());
                    let exact = all.clone().find(|p| **p == lname);
                    let resolved = match exact {
                        Some(p) => Some(*p),
                        None => {
                            let cands: Vec<&&str> = all.filter(|p| p.starts_with(&lname)).collect();
                            match cands.as_slice() {
                                [one] => Some(**one),
                                [] => None,
                                many => {
                                    let names: Vec<String> =
                                        many.iter().map(|p| format!("-{p}")).collect();
                                    return Err(Fail::new(
                                        *at,
                                        format!(
                                            "{}: -{name} is ambiguous: {}",
                                            c.name,
                                            names.join(", ")
                                        ),
                                    ));
                                }
                            }
                        }
                    };
                    let is_switch = resolved
                        .is_some_and(|p| switches.contains(&p) || COMMON_SWITCHES.contains(&p));
                    let v = match (value, is_switch) {
                        (Some(e), _) => self.expr(e)?,
                        (None, true) => Value::Bool(true),
                        (None, false) => match args.peek() {
                            Some(Arg::Value(e)) => {
                                args.next();
                                self.expr(e)?
                            }
                            _ => {
                                return Err(Fail::new(
                                    *at,
                                    format!("{}: -{name} needs a value", c.name),
                                ));
                            }
                        },
                    };
                    match resolved {
                        Some(p) => {
                            self.spelled.push((p.to_owned(), name.clone()));
                            b.values.push((p.to_owned(), v, *at));
                        }
                        None if open => self.warn(
                            *at,
                            format!("{}: -{name} has no effect in tpr; passed over", c.name),
                        ),
                        None => {
                            return Err(Fail::new(
                                *at,
                                format!("{}: no parameter -{name}", c.name),
                            ));
                        }
                    }
                }
                Arg::Value(e) => {
                    let Some(p) = pos.by_ref().find(|p| !b.has(p)) else {
                        return Err(Fail::new(
                            e.at,
                            format!("{}: too many positional arguments", c.name),
                        ));
                    };
                    let v = self.expr(e)?;
                    b.values.push(((*p).to_owned(), v, e.at));
                }
            }
        }
        Ok(b)
    }

    fn unknown_value(&self, v: &Value, at: usize, param: &str) -> Result<(), Fail> {
        if let Some(why) = match v {
            Value::Unknown(w) => Some(w.clone()),
            Value::List(l) => l.iter().find_map(|i| match i {
                Value::Unknown(w) => Some(w.clone()),
                _ => None,
            }),
            _ => None,
        } {
            let hint = if why.starts_with('$') {
                let var = why
                    .split_whitespace()
                    .next()
                    .unwrap_or("$X")
                    .trim_start_matches('$')
                    .to_owned();
                format!("; give it with --var {var}=VALUE")
            } else {
                String::new()
            };
            return Err(Fail::new(at, format!("{} is unknown: {why}{hint}", self.shown(param))));
        }
        Ok(())
    }

    fn text(&mut self, v: &Value, at: usize, param: &str) -> Result<String, Fail> {
        self.unknown_value(v, at, param)?;
        match v {
            Value::List(l) if l.len() > 1 => Err(Fail::new(
                at,
                format!("{} takes one value, got {}", self.shown(param), l.len()),
            )),
            v => Ok(v.text()),
        }
    }

    fn boolean(&mut self, v: &Value, at: usize, param: &str) -> Result<bool, Fail> {
        self.unknown_value(v, at, param)?;
        match v {
            Value::Bool(b) => Ok(*b),
            Value::Int(i) => Ok(*i != 0),
            Value::Str(s) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("$true") => {
                Ok(true)
            }
            Value::Str(s)
                if s.eq_ignore_ascii_case("false") || s.eq_ignore_ascii_case("$false") =>
            {
                Ok(false)
            }
            v => Err(Fail::new(
                at,
                format!("{} must be $true or $false, got {:?}", self.shown(param), v.text()),
            )),
        }
    }

    fn int(&mut self, v: &Value, at: usize, param: &str) -> Result<i64, Fail> {
        self.unknown_value(v, at, param)?;
        match v {
            Value::Int(i) => Ok(*i),
            v => v.text().trim().parse().map_err(|_| {
                Fail::new(
                    at,
                    format!("{} must be a whole number, got {:?}", self.shown(param), v.text()),
                )
            }),
        }
    }

    fn names(&mut self, v: &Value, at: usize, param: &str) -> Result<Vec<String>, Fail> {
        self.unknown_value(v, at, param)?;
        Ok(v.items()
            .iter()
            .map(|i| strip_tag(&i.text()).to_owned())
            .filter(|s| !s.is_empty())
            .collect())
    }

    /// `@{Add=…; Remove=…; Replace=…}` or a plain list (which replaces).
    fn name_ops(&mut self, v: &Value, at: usize, param: &str) -> Result<Ops, Fail> {
        self.ops(v, at, param, &mut |me, v, at| {
            Ok(me.names(v, at, param)?.into_iter().map(Val::Str).collect())
        })
    }

    fn objects_of(&mut self, v: &Value, at: usize, param: &str) -> Result<Ops, Fail> {
        self.ops(v, at, param, &mut |me, v, at| {
            me.unknown_value(v, at, param)?;
            let mut out = Vec::new();
            for item in v.items() {
                match item {
                    Value::Obj(o, _) => {
                        let mut t = (*o).clone();
                        t.at = None;
                        out.push(Val::Table(t));
                    }
                    // Removing by name.
                    Value::Str(s) => out.push(Val::Str(s)),
                    other => {
                        let shown = me.shown(param);
                        return Err(Fail::new(
                            at,
                            format!(
                                "{shown} takes objects made by New-Cs… -InMemory, got {:?}",
                                other.text()
                            ),
                        ));
                    }
                }
            }
            Ok(out)
        })
    }

    fn ops(
        &mut self,
        v: &Value,
        at: usize,
        param: &str,
        convert: &mut Convert<'_, Self>,
    ) -> Result<Ops, Fail> {
        let mut ops = Ops::default();
        match v {
            Value::Hash(entries) => {
                for (k, v) in entries {
                    let items = convert(self, v, at)?;
                    match k.to_ascii_lowercase().as_str() {
                        "add" => ops.add.extend(items),
                        "remove" => ops.remove.extend(items),
                        "replace" => ops.replace = Some(items),
                        _ => {
                            let shown = self.shown(param);
                            return Err(Fail::new(
                                at,
                                format!("{shown}: @{{{k}=…}} is not one of Add, Remove, Replace"),
                            ));
                        }
                    }
                }
            }
            v => ops.replace = Some(convert(self, v, at)?),
        }
        Ok(ops)
    }

    fn identity(&mut self, b: &Bound) -> Result<String, Fail> {
        match b.get("identity").or(b.get("name")) {
            Some((_, v, at)) => {
                let (v, at) = (v.clone(), *at);
                Ok(strip_tag(&self.text(&v, at, "identity")?).to_owned())
            }
            None => Err(Fail::new(b.at, format!("{}: -Identity is required", b.cmdlet))),
        }
    }

    /// Creates or changes the object `name` of `section` and sets its fields from `b`.
    fn object(
        &mut self,
        b: &Bound,
        section: &str,
        name: &str,
        mode: Mode,
        fields: &[Field],
    ) -> Result<(), Fail> {
        let exists = self.doc.find(section, name).is_some();
        let global = name.eq_ignore_ascii_case("global");
        match (mode, exists) {
            (Mode::New, true) => {
                return Err(Fail::new(b.at, format!("{}: {name:?} already exists", b.cmdlet)));
            }
            (Mode::Set, false) if !global => {
                return Err(Fail::new(
                    b.at,
                    format!(
                        "{}: {name:?} does not exist (no New-… made it earlier in the script)",
                        b.cmdlet
                    ),
                ));
            }
            _ => {}
        }
        let mut o = match self.doc.find(section, name) {
            Some(i) => self.doc.objects_ref(section)[i].clone(),
            None => {
                let mut o = Obj::new(b.at);
                let key = super::doc::SECTIONS
                    .iter()
                    .find(|(s, _)| *s == section)
                    .map_or("name", |(_, k)| k);
                o.set(key, Val::Str(name.to_owned()));
                o
            }
        };
        self.fields(b, &mut o, fields)?;
        match self.doc.find(section, name) {
            Some(i) => self.doc.replace(section, i, o),
            None => {
                self.doc.push(section, o);
            }
        }
        Ok(())
    }

    fn fields(&mut self, b: &Bound, o: &mut Obj, fields: &[Field]) -> Result<(), Fail> {
        for (param, field, kind) in fields {
            let Some((_, v, at)) = b.get(param).cloned() else { continue };
            if field.is_empty() {
                continue;
            }
            match kind {
                Kind::Str => {
                    let s = self.text(&v, at, param)?;
                    o.set(field, Val::Str(s));
                }
                Kind::Bool => {
                    let x = self.boolean(&v, at, param)?;
                    o.set(field, Val::Bool(x));
                }
                Kind::Int => {
                    let x = self.int(&v, at, param)?;
                    o.set(field, Val::Int(x));
                }
                Kind::OptInt => match v {
                    Value::Null => o.remove(field),
                    v => {
                        let x = self.int(&v, at, param)?;
                        o.set(field, Val::Int(x));
                    }
                },
                Kind::Enum => {
                    let s = self.text(&v, at, param)?;
                    o.set(field, Val::Str(snake_case(&s)));
                }
                Kind::Codes => {
                    self.unknown_value(&v, at, param)?;
                    let mut codes = Vec::new();
                    for item in v.items() {
                        for part in item.text().split(',').map(str::trim).filter(|p| !p.is_empty())
                        {
                            let shown = self.shown(param);
                            let code = part.parse::<i64>().map_err(|_| {
                                Fail::new(
                                    at,
                                    format!("{shown}: {part:?} is not a SIP response code"),
                                )
                            })?;
                            codes.push(Val::Int(code));
                        }
                    }
                    o.set(field, Val::List(codes));
                }
                Kind::Names => {
                    let ops = self.name_ops(&v, at, param)?;
                    apply_ops(o.list_mut(field), ops, |v| match v {
                        Val::Str(s) => Some(s.clone()),
                        _ => None,
                    });
                }
            }
        }
        Ok(())
    }

    fn remove(&mut self, c: &Command, section: &str) -> Result<Value, Fail> {
        let b = self.bind(c, &["identity"], &[], &["identity"], false)?;
        let name = self.identity(&b)?;
        match self.doc.find(section, &name) {
            Some(i) => {
                self.doc.remove(section, i);
                Ok(Value::Null)
            }
            None => Err(Fail::new(b.at, format!("{}: {name:?} does not exist", c.name))),
        }
    }

    fn query(&mut self, c: &Command, section: &str) -> Result<Value, Fail> {
        let b = self.bind(c, &["identity", "filter"], &[], &["identity"], false)?;
        if b.has("filter") {
            return self.unknown(b.at, format!("`{} -Filter` reads the live tenant", c.name));
        }
        let key =
            super::doc::SECTIONS.iter().find(|(s, _)| *s == section).map_or("name", |(_, k)| k);
        Ok(match b.get("identity") {
            Some((_, v, at)) => {
                let name = strip_tag(&self.text(&v.clone(), *at, "identity")?).to_owned();
                match self.doc.find(section, &name) {
                    Some(i) => Value::Obj(Rc::new(self.doc.objects_ref(section)[i].clone()), key),
                    None => Value::Null,
                }
            }
            None => Value::List(
                self.doc
                    .objects_ref(section)
                    .iter()
                    .map(|o| Value::Obj(Rc::new(o.clone()), key))
                    .collect(),
            ),
        })
    }

    fn normalization_rule(&mut self, b: &Bound, tools: bool) -> Result<Value, Fail> {
        let (mut parent, mut name) = (None, None);
        if let Some((_, v, at)) = b.get("identity").cloned() {
            let id = self.text(&v, at, "identity")?;
            match id.split_once('/') {
                Some((p, n)) => {
                    parent = Some(strip_tag(p).to_owned());
                    name = Some(n.to_owned());
                }
                None => name = Some(id),
            }
        }
        if let Some((_, v, at)) = b.get("parent").cloned() {
            parent = Some(strip_tag(&self.text(&v, at, "parent")?).to_owned());
        }
        if let Some((_, v, at)) = b.get("name").cloned() {
            name = Some(self.text(&v, at, "name")?);
        }
        let Some(name) = name else {
            return Err(Fail::new(
                b.at,
                format!("{}: -Name (or -Identity Parent/Name) is required", b.cmdlet),
            ));
        };
        let mut rule = Obj::default();
        rule.set("name", Val::Str(name));
        for (param, field) in
            [("pattern", "pattern"), ("translation", "translation"), ("description", "description")]
        {
            if let Some((_, v, at)) = b.get(param).cloned() {
                let s = self.text(&v, at, param)?;
                rule.set(field, Val::Str(s));
            }
        }
        if let Some((_, v, at)) = b.get("isinternalextension").cloned() {
            let x = self.boolean(&v, at, "isinternalextension")?;
            rule.set("is_internal_extension", Val::Bool(x));
        }
        let in_memory = match b.get("inmemory") {
            Some((_, v, at)) => self.boolean(&v.clone(), *at, "inmemory")?,
            None => false,
        };
        if in_memory && !tools {
            return Ok(Value::Obj(Rc::new(rule), "name"));
        }
        let Some(parent) = parent else {
            return Err(Fail::new(
                b.at,
                format!("{}: a rule that is not -InMemory needs -Parent (its dial plan)", b.cmdlet),
            ));
        };
        let priority = match b.get("priority").cloned() {
            Some((_, v, at)) => Some(self.int(&v, at, "priority")?),
            None => None,
        };
        let Some(plan) = self.doc.get_mut("dial_plans", &parent) else {
            return Err(Fail::new(
                b.at,
                format!("{}: dial plan {parent:?} does not exist", b.cmdlet),
            ));
        };
        let rules = plan.list_mut("rules");
        let i = priority.map_or(rules.len(), |p| usize::try_from(p).unwrap_or(0).min(rules.len()));
        rules.insert(i, Val::Table(rule));
        Ok(Value::Null)
    }

    fn user(&mut self, b: &Bound, lname: &str) -> Result<(), Fail> {
        let id = self.identity(b)?;
        let mut sets: Vec<(&str, Val)> = Vec::new();
        for (param, field) in [
            ("usagelocation", "usage_location"),
            ("voiceroutingpolicy", "voice_routing_policy"),
            ("dialplan", "dial_plan"),
        ] {
            if let Some((_, v, at)) = b.get(param).cloned() {
                sets.push((field, Val::Str(strip_tag(&self.text(&v, at, param)?).to_owned())));
            }
        }
        let number =
            b.get("phonenumber").or(b.get("telephonenumber")).or(b.get("onpremlineuri")).cloned();
        if let Some((_, v, at)) = number {
            let n = self.text(&v, at, "phonenumber")?;
            let n =
                n.strip_prefix("tel:").or_else(|| n.strip_prefix("TEL:")).unwrap_or(&n).to_owned();
            let private = match b.get("assignmentcategory") {
                Some((_, v, _)) => v.text().eq_ignore_ascii_case("private"),
                None => false,
            };
            sets.push((if private { "private_number" } else { "number" }, Val::Str(n)));
            let ty = match b.get("phonenumbertype").or(b.get("telephonenumbertype")).cloned() {
                Some((_, v, at)) => Some(snake_case(&self.text(&v, at, "phonenumbertype")?)),
                None if lname == "set-csuser" => Some("direct_routing".into()),
                None if lname == "set-csonlinevoiceuser" => Some("calling_plan".into()),
                None => None,
            };
            if let Some(ty) = ty
                && !private
            {
                sets.push(("number_type", Val::Str(ty)));
            }
        }
        if let Some((_, _, at)) = b.get("survivablebranchappliancepolicy") {
            self.warn(
                *at,
                "survivable branch appliance policies are not modelled by tpr; passed over",
            );
        }
        let at = b.at;
        let section = if self.doc.find("resource_accounts", &id).is_some() {
            "resource_accounts"
        } else {
            "users"
        };
        let o = self.doc.get_or_create(section, &id, at);
        for (k, v) in sets {
            o.set(k, v);
        }
        Ok(())
    }
}

/// Turns one side of a list change into items.
type Convert<'f, I> = dyn FnMut(&mut I, &Value, usize) -> Result<Vec<Val>, Fail> + 'f;

/// List changes from `@{Add=…; Remove=…; Replace=…}`.
#[derive(Default)]
struct Ops {
    add: Vec<Val>,
    remove: Vec<Val>,
    replace: Option<Vec<Val>>,
}

fn apply_ops(list: &mut Vec<Val>, ops: Ops, name: impl Fn(&Val) -> Option<String>) {
    let same = |a: &Val, b: &Val| match (name(a), name(b)) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(&y),
        _ => a == b,
    };
    if let Some(r) = ops.replace {
        *list = r;
    }
    for a in ops.add {
        if !list.iter().any(|x| same(x, &a)) {
            list.push(a);
        }
    }
    for r in ops.remove {
        list.retain(|x| !same(x, &r));
    }
}

fn table_name(v: &Val, key: &str) -> Option<String> {
    match v {
        Val::Table(o) => o.str(key).map(str::to_owned),
        Val::Str(s) => Some(s.clone()),
        _ => None,
    }
}

fn mode_of(lname: &str) -> Mode {
    if lname.starts_with("new-") {
        Mode::New
    } else if lname.starts_with("set-") {
        Mode::Set
    } else {
        Mode::Upsert
    }
}

/// `LineUri` → `line_uri`, `DirectRouting` → `direct_routing`, `always_enabled` stays.
fn snake_case(s: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        out.extend(c.to_lowercase());
    }
    out
}
