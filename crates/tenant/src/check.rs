//! `tpr check` lints: what loads but cannot be what the admin meant. Shadowed and
//! never-matching rules and routes are decided on automata (`tpr_dialplan::language`).

use serde::Deserialize;
use serde::de::IgnoredAny;
use std::sync::Arc;
use toml::Spanned;
use tpr_dialplan::language::{Coverage, covered_by, matches_nothing};
use tpr_dialplan::{Limits, Pattern};
use tpr_types::LineIndex;

use crate::model::{NumberType, Tenant};
use crate::powershell::Warning;

/// Where the objects the lints point at are written in a tenant's TOML text (the model keeps
/// no positions): byte offsets of each object's start, by name.
/// [`Tenant::from_toml_str_with_positions`](crate::Tenant::from_toml_str_with_positions) gives
/// them from its own parse; [`Positions::parse`] reads them from a text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Positions {
    /// Each dial plan's name and start, and its rules' starts.
    pub(crate) dial_plans: Vec<(String, usize, Vec<usize>)>,
    pub(crate) gateways: Vec<(String, usize)>,
    pub(crate) voice_routes: Vec<(String, usize)>,
    pub(crate) voice_routing_policies: Vec<(String, usize)>,
    pub(crate) emergency_call_routing_policies: Vec<(String, usize)>,
    /// The `pstn_usages` list: at the top level, else under `[tenant]`.
    pub(crate) usages: Option<usize>,
}

impl Positions {
    /// Reads them from TOML `text` on their own (a text that does not parse has none).
    pub fn parse(text: &str) -> Positions {
        let loc: Locate = toml::from_str(text).unwrap_or_default();
        let named = |items: Vec<Spanned<LocNamed>>| {
            items.into_iter().map(|i| (i.get_ref().name.clone(), i.span().start)).collect()
        };
        Positions {
            dial_plans: loc
                .dial_plans
                .into_iter()
                .map(|p| {
                    let rules = p.get_ref().rules.iter().map(|r| r.span().start).collect();
                    (p.get_ref().name.clone(), p.span().start, rules)
                })
                .collect(),
            gateways: named(loc.gateways),
            voice_routes: named(loc.voice_routes),
            voice_routing_policies: named(loc.voice_routing_policies),
            emergency_call_routing_policies: named(loc.emergency_call_routing_policies),
            usages: loc.pstn_usages.map(|s| s.span().start).or_else(|| {
                loc.tenant.and_then(|t| t.into_inner().pstn_usages).map(|s| s.span().start)
            }),
        }
    }
}

/// What [`Positions::parse`] reads.
#[derive(Deserialize, Default)]
struct Locate {
    #[serde(default)]
    dial_plans: Vec<Spanned<LocPlan>>,
    #[serde(default)]
    gateways: Vec<Spanned<LocNamed>>,
    #[serde(default)]
    voice_routes: Vec<Spanned<LocNamed>>,
    #[serde(default)]
    voice_routing_policies: Vec<Spanned<LocNamed>>,
    #[serde(default)]
    emergency_call_routing_policies: Vec<Spanned<LocNamed>>,
    #[serde(default)]
    pstn_usages: Option<Spanned<IgnoredAny>>,
    #[serde(default)]
    tenant: Option<Spanned<LocTenant>>,
}

#[derive(Deserialize, Default)]
struct LocTenant {
    #[serde(default)]
    pstn_usages: Option<Spanned<IgnoredAny>>,
}

#[derive(Deserialize, Default)]
struct LocPlan {
    #[serde(default)]
    name: String,
    #[serde(default)]
    rules: Vec<Spanned<IgnoredAny>>,
}

#[derive(Deserialize, Default)]
struct LocNamed {
    #[serde(default, alias = "fqdn")]
    name: String,
}

/// Where the object of that name starts (names are case-insensitive), or the file's start.
fn find(items: &[(String, usize)], name: &str) -> usize {
    items.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map_or(0, |&(_, at)| at)
}

struct Out {
    index: LineIndex,
    warnings: Vec<Warning>,
}

impl Out {
    fn warn(&mut self, offset: usize, message: String) {
        self.warnings.push(Warning { location: self.index.location(offset), message });
    }
}

fn names(list: &[&str]) -> String {
    list.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
}

/// Lints `tenant`, loaded from `text` (TOML) read from `file`. Warnings come in file order.
pub fn lint(tenant: &Tenant, text: &str, file: &str) -> Vec<Warning> {
    lint_at(tenant, &Positions::parse(text), text, file)
}

/// [`lint`], with the positions of the objects in `text` already known (from
/// [`Tenant::from_toml_str_with_positions`](crate::Tenant::from_toml_str_with_positions)).
pub fn lint_at(tenant: &Tenant, loc: &Positions, text: &str, file: &str) -> Vec<Warning> {
    let mut out = Out {
        index: LineIndex::new(Arc::<str>::from(file), Arc::<str>::from(text)),
        warnings: Vec::new(),
    };

    // Dial-plan rules: matching nothing, or taken entirely by earlier rules of the plan.
    for plan in &tenant.dial_plans {
        let Some((_, plan_at, rules_at)) =
            loc.dial_plans.iter().find(|(name, ..)| name.eq_ignore_ascii_case(&plan.name))
        else {
            continue;
        };
        for (j, rule) in plan.rules.iter().enumerate() {
            let at = rules_at.get(j).copied().unwrap_or(*plan_at);
            let who = format!("dial plan {:?}, rule {} {:?}", plan.name, j + 1, rule.name);
            if let Ok(Coverage::Covered) = matches_nothing(&rule.pattern) {
                out.warn(
                    at,
                    format!(
                        "{who} matches no dial string (digits, * and #, with an optional leading +)"
                    ),
                );
                continue;
            }
            let earlier: Vec<&str> = plan.rules[..j].iter().map(|r| r.pattern.as_str()).collect();
            if j > 0
                && let Ok(Coverage::Covered) = covered_by(&rule.pattern, &earlier)
            {
                // Name a minimal set of earlier rules that still covers it.
                let mut keep: Vec<usize> = (0..j).collect();
                for i in 0..j {
                    let without: Vec<&str> =
                        keep.iter().filter(|&&k| k != i).map(|&k| earlier[k]).collect();
                    if let Ok(Coverage::Covered) = covered_by(&rule.pattern, &without) {
                        keep.retain(|&k| k != i);
                    }
                }
                let by: Vec<&str> = keep.iter().map(|&k| plan.rules[k].name.as_str()).collect();
                out.warn(
                    at,
                    format!(
                        "{who} is shadowed: every dial string it matches is taken earlier, by {}",
                        names(&by)
                    ),
                );
            }
        }
    }

    let dr = &tenant.routing;
    // Voice routes: matching nothing, in no policy, or never reached.
    for route in &dr.voice_routes {
        let at = find(&loc.voice_routes, &route.name);
        let who = format!("voice route {:?}", route.name);
        if let Ok(Coverage::Covered) = matches_nothing(&route.number_pattern) {
            out.warn(
                at,
                format!("{who}: its number pattern {:?} matches no number", route.number_pattern),
            );
            continue;
        }
        let holders: Vec<_> = dr
            .voice_routing_policies
            .iter()
            .filter(|p| {
                p.usages.iter().any(|u| route.usages.iter().any(|r| r.eq_ignore_ascii_case(u)))
            })
            .collect();
        let emergency = dr.emergency_call_routing_policies.iter().any(|p| {
            p.numbers.iter().any(|n| route.usages.iter().any(|r| r.eq_ignore_ascii_case(&n.usage)))
        });
        if emergency {
            // Emergency calls take it through their policy's usage.
            continue;
        }
        if holders.is_empty() {
            out.warn(
                at,
                format!(
                    "{who}: no voice routing policy holds its usages ({}), so no call takes it",
                    names(&route.usages.iter().map(String::as_str).collect::<Vec<_>>())
                ),
            );
            continue;
        }
        // Reached if some policy, at some usage of the route, leaves a number to it.
        let mut reached = false;
        let mut decided = true;
        'policies: for p in &holders {
            for (k, u) in p.usages.iter().enumerate() {
                if !route.usages.iter().any(|r| r.eq_ignore_ascii_case(u)) {
                    continue;
                }
                // Teams takes the first usage with a matching route and does not go on to
                // the next one; routes of the same usage are each other's failover.
                let earlier_usages = &p.usages[..k];
                let earlier: Vec<&str> = dr
                    .voice_routes
                    .iter()
                    .filter(|r| {
                        r.usages
                            .iter()
                            .any(|x| earlier_usages.iter().any(|e| e.eq_ignore_ascii_case(x)))
                    })
                    .map(|r| r.number_pattern.as_str())
                    .collect();
                if earlier.is_empty() {
                    reached = true;
                    break 'policies;
                }
                match covered_by(&route.number_pattern, &earlier) {
                    Ok(Coverage::Covered) => {}
                    Ok(Coverage::Witness(_)) => {
                        reached = true;
                        break 'policies;
                    }
                    _ => decided = false,
                }
            }
        }
        if !reached && decided {
            let ps: Vec<&str> = holders.iter().map(|p| p.name.as_str()).collect();
            out.warn(at, format!("{who} is never reached: in every policy that holds it ({}), routes of an earlier PSTN usage take every number it matches", names(&ps)));
        }
    }

    // Gateways and usages nothing uses.
    for g in &dr.gateways {
        if !dr
            .voice_routes
            .iter()
            .any(|r| r.gateways.iter().any(|x| x.eq_ignore_ascii_case(&g.fqdn)))
        {
            let at = find(&loc.gateways, &g.fqdn);
            out.warn(at, format!("gateway {:?}: no voice route sends calls to it", g.fqdn));
        }
    }
    let usages_at = loc.usages.unwrap_or(0);
    for u in &dr.pstn_usages {
        let in_policy = dr
            .voice_routing_policies
            .iter()
            .any(|p| p.usages.iter().any(|x| x.eq_ignore_ascii_case(u)))
            || dr
                .emergency_call_routing_policies
                .iter()
                .any(|p| p.numbers.iter().any(|n| n.usage.eq_ignore_ascii_case(u)));
        if !in_policy {
            out.warn(
                usages_at,
                format!("PSTN usage {u:?}: no voice routing or emergency policy uses it"),
            );
        }
    }

    // Emergency numbers no route carries.
    let limits = Limits::default();
    for p in &dr.emergency_call_routing_policies {
        let at = find(&loc.emergency_call_routing_policies, &p.name);
        for n in &p.numbers {
            let carried = dr
                .voice_routes
                .iter()
                .filter(|r| r.usages.iter().any(|u| u.eq_ignore_ascii_case(&n.usage)))
                .any(|r| {
                    Pattern::new(&r.number_pattern, &limits)
                        .is_ok_and(|pat| pat.is_match(&n.dial_string))
                });
            if !carried {
                out.warn(at, format!("emergency call routing policy {:?}: no voice route in usage {:?} matches {}, so emergency calls to it fail", p.name, n.usage, n.dial_string));
            }
        }
    }

    // The Global policy reaches Calling Plan and Operator Connect users too.
    if let Some(global) = dr.voice_routing_policy("Global")
        && let Some(route) = dr.voice_routes.iter().find(|r| {
            r.usages.iter().any(|u| global.usages.iter().any(|g| g.eq_ignore_ascii_case(u)))
        })
    {
        let exposed = |t: Option<NumberType>, vrp: &Option<String>| {
            matches!(t, Some(NumberType::CallingPlan | NumberType::OperatorConnect))
                && vrp.as_deref().is_none_or(|v| v.eq_ignore_ascii_case("Global"))
        };
        let mut who: Vec<String> = tenant
            .users
            .iter()
            .filter(|u| exposed(u.policies.number_type, &u.policies.voice_routing_policy))
            .map(|u| u.id.clone())
            .collect();
        let mut count = who.len() as u64;
        for r in &tenant.user_ranges {
            if exposed(r.policies.number_type, &r.policies.voice_routing_policy) {
                count += u64::from(r.count);
                who.push(format!("user range {:?}", r.name));
            }
        }
        for a in &tenant.resource_accounts {
            if exposed(a.policies.number_type, &a.policies.voice_routing_policy) {
                count += 1;
                who.push(a.id.clone());
            }
        }
        if count > 0 {
            let at = find(&loc.voice_routing_policies, "Global");
            out.warn(at, format!(
                "voice routing policy \"Global\" has routes (first {:?}), and Global reaches Calling Plan and Operator Connect users too: {count} of them have no policy of their own (e.g. {:?}), so their calls that match these routes go out through Direct Routing",
                route.name, who[0]
            ));
        }
    }

    out.warnings.sort_by_key(|w| (w.location.line, w.location.col));
    out.warnings
}
