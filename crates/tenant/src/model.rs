//! The checked tenant: dial plans, service-plan overrides, users and user ranges.

use std::borrow::Cow;

use tpr_dialplan::{CompileError, CompiledPlan, DialPlan, Limits, ServicePlan, service_plan};
use tpr_types::Region;

use crate::accounts::{CallingPlans, CapacitySettings, ResourceAccount};
use crate::directrouting::DirectRouting;
use crate::policies::Policies;

/// Most users a range may generate.
pub const MAX_RANGE_USERS: u32 = 10_000_000;

/// A tenant, loaded and checked.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The tenant's name.
    pub name: String,
    /// Default usage location of users that name none.
    pub country: Region,
    /// Tenant dial plans, `Global` among them if the file defines it.
    pub dial_plans: Vec<DialPlan>,
    /// Service-country plans that replace or extend the built-in ones.
    pub service_overrides: Vec<ServicePlan>,
    /// Users listed one by one.
    pub users: Vec<User>,
    /// Users generated from a template.
    pub user_ranges: Vec<UserRange>,
    /// Gateways, translation rules, usages, routes, policies, emergency policies, operators.
    pub routing: DirectRouting,
    /// Auto attendants and call queues.
    pub resource_accounts: Vec<ResourceAccount>,
    /// Calling Plan allowances and communications credits.
    pub calling_plans: CallingPlans,
    /// Concurrent-call defaults.
    pub capacity: CapacitySettings,
    /// Calling and caller ID policies, unassigned numbers, blocking, network sites.
    pub policies: Policies,
}

/// How a number is provided (spec §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberType {
    /// Through the tenant's own SBCs.
    DirectRouting,
    /// A Microsoft Calling Plan number.
    CallingPlan,
    /// An Operator Connect carrier's number.
    OperatorConnect,
}

/// A Calling Plan licence (spec §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CallingPlan {
    /// No Calling Plan.
    #[default]
    None,
    /// MCOPSTN1.
    Domestic,
    /// MCOPSTN5: 120 minutes.
    Domestic120,
    /// MCOPSTN6: 240 minutes.
    Domestic240,
    /// MCOPSTN2.
    International,
    /// Pay as you go.
    PayAsYouGo,
}

/// The licences and policies assigned to a user (`None`: the tenant's Global one).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserPolicies {
    /// How the user's number is provided.
    pub number_type: Option<NumberType>,
    /// Calling Plan licence.
    pub calling_plan: CallingPlan,
    /// Operator Connect carrier of the number.
    pub operator: Option<String>,
    /// Voice routing policy.
    pub voice_routing_policy: Option<String>,
    /// Emergency call routing policy.
    pub emergency_call_routing_policy: Option<String>,
    /// One of the 12 fixed dial-out policies.
    pub dial_out_policy: Option<String>,
    /// Calling policy.
    pub calling_policy: Option<String>,
    /// Caller ID policy.
    pub caller_id_policy: Option<String>,
    /// Network site the user works at (Location-Based Routing); `None`: an unknown network.
    pub network_site: Option<String>,
}

/// A user, with what normalization needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user's id (UPN or alias).
    pub id: String,
    /// Usage location: selects the service-country plan and the `+CC` fallback.
    pub usage_location: Region,
    /// The user's tenant dial plan; `None` means the tenant's `Global` plan.
    pub dial_plan: Option<String>,
    /// The user's phone number, if any.
    pub number: Option<String>,
    /// A private number: inbound only, never shown as caller ID.
    pub private_number: Option<String>,
    /// `reverse_number_lookup = "skip_internal_voip"`: calls to the number from inside the
    /// tenant go out over the PSTN instead of becoming internal VoIP calls.
    pub skip_internal_voip: bool,
    /// Licences and policies.
    pub policies: UserPolicies,
}

/// Many users from one template: ids `{id_prefix}{k}` for `k` in `0..count`, zero-padded to
/// the width of `count - 1`, with numbers counting up from `first_number`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRange {
    /// The range's name.
    pub name: String,
    /// Prefix of the generated ids.
    pub id_prefix: String,
    /// How many users.
    pub count: u32,
    /// Number of the first user (E.164), if numbers are assigned.
    pub first_number: Option<String>,
    /// Usage location of every user in the range.
    pub usage_location: Region,
    /// Dial plan of every user in the range.
    pub dial_plan: Option<String>,
    /// Licences and policies of every user in the range.
    pub policies: UserPolicies,
}

impl UserRange {
    /// Digits in a generated id's counter.
    pub fn width(&self) -> usize {
        self.count.saturating_sub(1).max(1).to_string().len()
    }

    /// The `k`-th user of the range.
    pub fn user(&self, k: u32) -> Option<User> {
        if k >= self.count {
            return None;
        }
        let number = self.first_number.as_deref().and_then(|n| add_to_number(n, u64::from(k)));
        Some(User {
            id: format!("{}{:0width$}", self.id_prefix, k, width = self.width()),
            usage_location: self.usage_location,
            dial_plan: self.dial_plan.clone(),
            number,
            private_number: None,
            skip_internal_voip: false,
            policies: self.policies.clone(),
        })
    }

    /// The index of `id` in the range, if it is one of its ids.
    pub fn index_of(&self, id: &str) -> Option<u32> {
        let digits = id.strip_prefix(&self.id_prefix)?;
        if digits.len() != self.width() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|&k| k < self.count)
    }

    /// Why the range's numbers do not fit, if its last one has more digits than its first.
    pub(crate) fn numbers_overflow(&self) -> Option<String> {
        let first = self.first_number.as_ref()?;
        let last = self.count.checked_sub(1).and_then(|k| self.user(k)).and_then(|u| u.number);
        last.is_none().then(|| {
            format!("{} numbers counting up from {first} do not fit its digits", self.count)
        })
    }

    /// Is `number` one of the numbers the range assigns?
    pub fn assigns(&self, number: &str) -> bool {
        let (Some((n, len)), Some((first, flen))) =
            (numeric(number), self.first_number.as_deref().and_then(numeric))
        else {
            return false;
        };
        len == flen && n >= first && n - first < u64::from(self.count)
    }

    /// Do the two ranges assign a number in common?
    pub fn overlaps(&self, other: &UserRange) -> bool {
        let (Some((x, xl)), Some((y, yl))) = (
            self.first_number.as_deref().and_then(numeric),
            other.first_number.as_deref().and_then(numeric),
        ) else {
            return false;
        };
        xl == yl && x < y + u64::from(other.count) && y < x + u64::from(self.count)
    }
}

/// The numeric value of an E.164 string and its digit count.
fn numeric(number: &str) -> Option<(u64, usize)> {
    let d = number.strip_prefix('+').unwrap_or(number);
    Some((d.parse().ok()?, d.len()))
}

/// `+14255560000` + 7 = `+14255560007`, keeping the width.
fn add_to_number(first: &str, k: u64) -> Option<String> {
    let digits = first.strip_prefix('+').unwrap_or(first);
    let n: u64 = digits.parse().ok()?;
    let sum = n.checked_add(k)?;
    let s = format!("{sum:0width$}", width = digits.len());
    (s.len() == digits.len()).then(|| format!("+{s}"))
}

impl Tenant {
    /// A tenant dial plan by name (case-insensitive, as in Teams).
    pub fn dial_plan(&self, name: &str) -> Option<&DialPlan> {
        self.dial_plans.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// A resource account by id (case-insensitive).
    pub fn resource_account(&self, id: &str) -> Option<&ResourceAccount> {
        self.resource_accounts.iter().find(|a| a.id.eq_ignore_ascii_case(id))
    }

    /// A user by id, listed or generated by a range.
    pub fn user(&self, id: &str) -> Option<Cow<'_, User>> {
        if let Some(u) = self.users.iter().find(|u| u.id.eq_ignore_ascii_case(id)) {
            return Some(Cow::Borrowed(u));
        }
        self.user_ranges.iter().find_map(|r| r.index_of(id).and_then(|k| r.user(k))).map(Cow::Owned)
    }

    /// Gives user range `index` `count` users instead of its own, checked as loading checks
    /// a range: its numbers must fit their digits and be no listed user's or resource
    /// account's, nor another range's, and it must generate no listed user's id. `tpr bench
    /// --callers` uses it to hold the number of callers fixed while the number of tenants
    /// changes. On error the tenant is left as it was.
    pub fn resize_range(&mut self, index: usize, count: u32) -> Result<(), String> {
        let Some(range) = self.user_ranges.get(index) else {
            return Err(format!("the tenant has no user range {index}"));
        };
        let mut resized = range.clone();
        resized.count = count;
        let who = format!("user range {:?}", resized.name);
        if !(1..=MAX_RANGE_USERS).contains(&count) {
            return Err(format!("{who}: count must be 1 to {MAX_RANGE_USERS}, got {count}"));
        }
        if let Some(why) = resized.numbers_overflow() {
            return Err(format!("{who}: {why}"));
        }
        let listed =
            self.users.iter().filter_map(|u| u.number.as_deref().map(|n| ("user", &u.id, n)));
        let accounts = self
            .resource_accounts
            .iter()
            .filter_map(|a| a.number.as_deref().map(|n| ("resource account", &a.id, n)));
        if let Some((kind, id, n)) = listed.chain(accounts).find(|(_, _, n)| resized.assigns(n)) {
            return Err(format!(
                "{who}: with {count} users it assigns {n}, the number of {kind} {id}"
            ));
        }
        if let Some(other) =
            self.user_ranges.iter().enumerate().find(|&(i, r)| i != index && resized.overlaps(r))
        {
            return Err(format!(
                "{who}: with {count} users it assigns numbers that user range {:?} assigns too",
                other.1.name
            ));
        }
        if let Some(u) = self.users.iter().find(|u| resized.index_of(&u.id).is_some()) {
            return Err(format!(
                "{who}: with {count} users it generates id {:?}, which a listed user already has",
                u.id
            ));
        }
        self.user_ranges[index] = resized;
        Ok(())
    }

    /// Number of users, listed and generated.
    pub fn user_count(&self) -> u64 {
        self.users.len() as u64 + self.user_ranges.iter().map(|r| u64::from(r.count)).sum::<u64>()
    }

    /// The service-country plan of `region`: the tenant's override, else the built-in one.
    pub fn service_plan(&self, region: Region) -> Option<&ServicePlan> {
        self.service_overrides.iter().find(|s| s.region == region).or_else(|| service_plan(region))
    }

    /// Compiles the effective plan of tenant plan `plan` (`None`: `Global`) for users in
    /// `region`.
    pub fn compile_effective(
        &self,
        plan: Option<&str>,
        region: Region,
        limits: &Limits,
    ) -> Result<CompiledPlan, EffectivePlanError> {
        let tenant_plan = match plan {
            Some(name) => Some(
                self.dial_plan(name)
                    .ok_or_else(|| EffectivePlanError::UnknownDialPlan(name.to_owned()))?,
            ),
            None => self.dial_plan("Global"),
        };
        let service = self.service_plan(region).ok_or(EffectivePlanError::UnknownRegion(region))?;
        CompiledPlan::compile(tenant_plan, service, limits).map_err(EffectivePlanError::Compile)
    }
}

/// Why an effective plan could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EffectivePlanError {
    /// No tenant dial plan by that name.
    #[error("no dial plan named {0:?} in the tenant")]
    UnknownDialPlan(String),
    /// No service-country plan for the region.
    #[error("no service dial plan for region {0}: it is not a libphonenumber region")]
    UnknownRegion(Region),
    /// The plan does not compile.
    #[error(transparent)]
    Compile(CompileError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_generate_ids_and_numbers() {
        let r = UserRange {
            name: "agents".into(),
            id_prefix: "agent".into(),
            count: 5000,
            first_number: Some("+14255560000".into()),
            usage_location: Region::try_new("US").unwrap(),
            dial_plan: None,
            policies: UserPolicies::default(),
        };
        assert_eq!(r.user(0).unwrap().id, "agent0000");
        let last = r.user(4999).unwrap();
        assert_eq!((last.id.as_str(), last.number.as_deref()), ("agent4999", Some("+14255564999")));
        assert!(r.user(5000).is_none());
        assert_eq!(r.index_of("agent0042"), Some(42));
        assert_eq!(r.index_of("agent42"), None);
        assert_eq!(r.index_of("agent5000"), None);
        assert_eq!(r.index_of("bob0001"), None);
        assert_eq!(add_to_number("+99", 1), None);
    }
}
