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

/// Where objects sit in the TOML text (the loader keeps no positions).
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

fn find<'a>(items: &'a [Spanned<LocNamed>], name: &str) -> Option<&'a Spanned<LocNamed>> {
    items.iter().find(|i| i.get_ref().name.eq_ignore_ascii_case(name))
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
    let loc: Locate = toml::from_str(text).unwrap_or_default();
    let mut out = Out {
        index: LineIndex::new(Arc::<str>::from(file), Arc::<str>::from(text)),
        warnings: Vec::new(),
    };

    // Dial-plan rules: matching nothing, or taken entirely by earlier rules of the plan.
    for plan in &tenant.dial_plans {
        let Some(lp) =
            loc.dial_plans.iter().find(|p| p.get_ref().name.eq_ignore_ascii_case(&plan.name))
        else {
            continue;
        };
        for (j, rule) in plan.rules.iter().enumerate() {
            let at = lp.get_ref().rules.get(j).map_or(lp.span().start, |r| r.span().start);
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
        let at = find(&loc.voice_routes, &route.name).map_or(0, |r| r.span().start);
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
            let at = find(&loc.gateways, &g.fqdn).map_or(0, |r| r.span().start);
            out.warn(at, format!("gateway {:?}: no voice route sends calls to it", g.fqdn));
        }
    }
    let usages_at = loc
        .pstn_usages
        .as_ref()
        .map(|s| s.span().start)
        .or_else(|| {
            loc.tenant
                .as_ref()
                .and_then(|t| t.get_ref().pstn_usages.as_ref())
                .map(|s| s.span().start)
        })
        .unwrap_or(0);
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
        let at = find(&loc.emergency_call_routing_policies, &p.name).map_or(0, |r| r.span().start);
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
            let at = find(&loc.voice_routing_policies, "Global").map_or(0, |r| r.span().start);
            out.warn(at, format!(
                "voice routing policy \"Global\" has routes (first {:?}), and Global reaches Calling Plan and Operator Connect users too: {count} of them have no policy of their own (e.g. {:?}), so their calls that match these routes go out through Direct Routing",
                route.name, who[0]
            ));
        }
    }

    out.warnings.sort_by_key(|w| (w.location.line, w.location.col));
    out.warnings
}
