//! A tenant compiled for routing: dense ids, automata, and the capacity key layout.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use smallvec::SmallVec;
use tpr_capacity::{BuildError, Defaults, KeyId, LedgerBuilder};
use tpr_dialplan::{CompiledPlan, Limits, PatternSet, Translation};

use crate::intern::Interner;
use tpr_tenant::{
    AccountKind, CallerIdSubstitute, CallingPlan, CallingPolicy, Credits, EffectivePlanError,
    NumberType, QueueSettings, Tenant, TreatmentTarget, User, UserPolicies,
};
use tpr_types::{Lines, Region};

use crate::ids::{GatewayId, PoolId, RouteId, TrunkId, UserId};
use crate::numbers::NumberIndex;

/// Why a tenant could not be compiled for routing. Each names the object at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{object}: {message}")]
pub struct CompileError {
    /// The object (`voice route "Redmond 1"`, `user "alice"`).
    pub object: String,
    /// What is wrong with it.
    pub message: String,
}

fn err(object: impl fmt::Display, message: impl fmt::Display) -> CompileError {
    CompileError { object: object.to_string(), message: message.to_string() }
}

/// The user PSTN part of one of Teams' 12 fixed dial-out policies (spec §2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialOut {
    /// International and domestic.
    International,
    /// Domestic only.
    Domestic,
    /// Emergency calls only.
    Disabled,
}

impl DialOut {
    fn of(policy: Option<&str>) -> DialOut {
        match policy.and_then(|p| p.split_once("PSTN")).map(|(_, pstn)| pstn) {
            Some("Domestic") => DialOut::Domestic,
            Some("Disabled") => DialOut::Disabled,
            _ => DialOut::International,
        }
    }
}

/// Who a party is: a user or a resource account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartyKind {
    /// A person.
    User,
    /// An auto attendant.
    AutoAttendant,
    /// A call queue.
    CallQueue,
}

/// A user or resource account, compiled: what decisions read of it. Resource accounts follow
/// the users in the id space.
#[derive(Debug, Clone)]
#[repr(align(64))]
pub(crate) struct Party {
    pub kind: PartyKind,
    pub region: Region,
    pub calling_code: Option<u32>,
    pub plan: u16,
    /// Has the party a number (the number itself is in its [`PartyCold`])?
    pub has_number: bool,
    pub number_key: Option<KeyId>,
    pub toll_free: bool,
    pub number_type: Option<NumberType>,
    pub calling_plan: CallingPlan,
    pub trunk: Option<TrunkId>,
    /// That trunk's capacity key, which an Operator Connect call takes (copied here: the
    /// trunk records are one more line to read).
    pub trunk_key: Option<KeyId>,
    pub vrp: Option<u16>,
    pub ecrp: Option<u16>,
    pub dial_out: DialOut,
    pub calling: u16,
    pub caller_id: u16,
    /// What an outbound decision reads of those two policies.
    pub gates: Gates,
    pub site: Option<u16>,
    pub pools: [Option<PoolId>; 2],
}

/// What an outbound decision reads of a party's calling and caller ID policies, copied into
/// its [`Party`]: with thousands of tenants taking turns, reading the policies' own records
/// cost a line from memory each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gates(u8);

impl Gates {
    const PRIVATE_CALLING: u8 = 1;
    const WEB_PSTN_CALLING: u8 = 2;
    const PREVENT_TOLL_BYPASS: u8 = 4;
    const OWN_CALLER_ID: u8 = 8;

    fn new(calling: &CallingPolicy, caller_id: &tpr_tenant::CallerIdPolicy) -> Gates {
        let bit = |on: bool, b: u8| if on { b } else { 0 };
        Gates(
            bit(calling.allow_private_calling, Gates::PRIVATE_CALLING)
                | bit(calling.allow_web_pstn_calling, Gates::WEB_PSTN_CALLING)
                | bit(calling.prevent_toll_bypass, Gates::PREVENT_TOLL_BYPASS)
                | bit(
                    caller_id.calling_id_substitute == CallerIdSubstitute::LineUri
                        && !caller_id.enable_user_override,
                    Gates::OWN_CALLER_ID,
                ),
        )
    }

    /// `AllowPrivateCalling`.
    pub fn private_calling(self) -> bool {
        self.0 & Gates::PRIVATE_CALLING != 0
    }

    /// `AllowWebPSTNCalling`.
    pub fn web_pstn_calling(self) -> bool {
        self.0 & Gates::WEB_PSTN_CALLING != 0
    }

    /// `PreventTollBypass`: the party is subject to Location-Based Routing.
    pub fn prevent_toll_bypass(self) -> bool {
        self.0 & Gates::PREVENT_TOLL_BYPASS != 0
    }

    /// The caller ID policy shows the party's own number whatever the call asks (line URI,
    /// no user override), so a decision need not read it.
    pub fn own_caller_id(self) -> bool {
        self.0 & Gates::OWN_CALLER_ID != 0
    }
}

// One cache line per party, aligned: a decision for a random caller among hundreds of
// thousands reads its party from memory, and a record that straddled two lines cost two
// misses.
const _: () = assert!(std::mem::size_of::<Party>() == 64);
const _: () = assert!(std::mem::size_of::<RouteTable>() == 64);

/// What decisions do not read of a party, apart from [`Party`]: its number as text and its
/// call-queue settings.
#[derive(Debug, Clone)]
pub(crate) struct PartyCold {
    pub number: Option<Box<str>>,
    pub queue_key: Option<KeyId>,
    pub queue: Option<QueueSettings>,
}

/// What a routing decision reads of a gateway, apart from the rest of its record: a
/// decision looks at every gateway of its routes. Stored as a word each after the routes'
/// gateway lists in [`RouteWords`], in the lines a decision reads for those lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GatewayHot {
    pub send_options: bool,
    pub lbr: bool,
    pub lbr_user_override: bool,
    pub site: Option<u16>,
}

impl GatewayHot {
    const SEND_OPTIONS: u32 = 1;
    const LBR: u32 = 2;
    const LBR_USER_OVERRIDE: u32 = 4;
    const HAS_SITE: u32 = 8;

    fn of(g: &GatewayRec) -> GatewayHot {
        GatewayHot {
            send_options: g.send_options,
            lbr: g.lbr,
            lbr_user_override: g.lbr_user_override,
            site: g.site,
        }
    }

    /// Flags in the low bits, the site (if any) in the high half.
    fn pack(self) -> u32 {
        let bit = |on: bool, b: u32| if on { b } else { 0 };
        bit(self.send_options, Self::SEND_OPTIONS)
            | bit(self.lbr, Self::LBR)
            | bit(self.lbr_user_override, Self::LBR_USER_OVERRIDE)
            | self.site.map_or(0, |s| Self::HAS_SITE | u32::from(s) << 16)
    }

    fn unpack(w: u32) -> GatewayHot {
        GatewayHot {
            send_options: w & Self::SEND_OPTIONS != 0,
            lbr: w & Self::LBR != 0,
            lbr_user_override: w & Self::LBR_USER_OVERRIDE != 0,
            site: (w & Self::HAS_SITE != 0).then_some((w >> 16) as u16),
        }
    }
}

pub(crate) struct GatewayRec {
    pub fqdn: String,
    pub port: u16,
    pub enabled: bool,
    pub send_options: bool,
    pub failover_ms: u64,
    pub failover_codes: SmallVec<[u16; 4]>,
    pub key: KeyId,
    pub site: Option<u16>,
    pub lbr: bool,
    pub lbr_user_override: bool,
    pub max_concurrent_sessions: Option<u32>,
    pub inbound_teams: Vec<Translation>,
    pub inbound_pstn: Vec<Translation>,
    pub outbound_teams: Vec<Translation>,
    pub outbound_pstn: Vec<Translation>,
}

pub(crate) struct RouteRec {
    pub name: String,
}

/// The routes of a policy's usages, flattened in decision order: usage by usage, each usage's
/// routes by priority. One scan of `set` gives every entry whose pattern matches; the lowest
/// entry's usage is the one used, and its matching entries are contiguous and in order.
///
/// A line, aligned: a decision reads its caller's policy's table from a line that holds it
/// whole.
#[derive(Debug, Clone)]
#[repr(align(64))]
pub(crate) struct RouteTable {
    pub set: Arc<PatternSet>,
    /// `set`'s narrow rows, when they answer a scan alone (see [`PatternSet::narrow`]): a
    /// scan then reads the rows straight from here and leaves `set`'s own first line alone
    /// (with thousands of tenants taking turns, a miss a decision).
    pub rows: Option<tpr_dialplan::Narrow>,
    /// The lines a scan of `set` reads, to ask for before the decision that scans it
    /// ([`Prefetch::Automata`](crate::Prefetch::Automata)) without reading `set` first.
    pub lines: Lines,
    /// The baseline: one regex per entry, tried one by one (see [`Engine::compile_naive`]).
    /// Boxed to keep the table in a line: only the baseline reads it.
    pub naive: Option<Box<Arc<[tpr_dialplan::Pattern]>>>,
    /// Where its entries are in the engine's [`RouteWords`]: first word and count.
    pub entries: (u32, u32),
}

impl RouteTable {
    pub fn new(set: Arc<PatternSet>, entries: (u32, u32)) -> RouteTable {
        RouteTable { lines: set.lines(), rows: set.narrow(), set, naive: None, entries }
    }
}

/// What a decision reads of the routes, in one array of 32-bit words: where the per-route
/// words start, where the gateways' words start, every route table's entries (usage index in
/// the tenant's `pstn_usages` << 16 | route), then, per route, where its enabled gateways
/// start (one more word gives the end of the last), then those gateways, each once, in the
/// route's order, and last a [`GatewayHot`] word per gateway. A usual tenant's fit in two
/// cache lines, found from the engine without following another pointer; a vector per table,
/// a record per route and an array of the gateways' hot fields took a line each, and with
/// thousands of tenants taking turns each line is a miss. Indexes and flags only, no names:
/// tenants whose routes have the same shape (one deployment script, each tenant its own SBCs)
/// have the same words, and engines compiled with one [`Interner`] share them.
pub(crate) struct RouteWords {
    words: Arc<[u32]>,
}

impl RouteWords {
    /// Entry `i` of `table`: (usage, route).
    #[inline]
    pub fn entry(&self, table: &RouteTable, i: usize) -> (u16, RouteId) {
        let w = self.entries(table)[i];
        ((w >> 16) as u16, RouteId(w as u16))
    }

    /// `table`'s entries, packed.
    #[inline]
    pub fn entries(&self, table: &RouteTable) -> &[u32] {
        let (start, len) = (table.entries.0 as usize, table.entries.1 as usize);
        &self.words[start..start + len]
    }

    /// Route `r`'s enabled gateways, in order.
    #[inline]
    pub fn live(&self, r: RouteId) -> impl Iterator<Item = GatewayId> + Clone + '_ {
        let at = self.words[0] as usize + r.index();
        let (start, end) = (self.words[at] as usize, self.words[at + 1] as usize);
        self.words[start..end].iter().map(|&g| GatewayId(g as u16))
    }

    /// Gateway `g`'s hot fields.
    #[inline]
    pub fn hot(&self, g: GatewayId) -> GatewayHot {
        GatewayHot::unpack(self.words[self.words[1] as usize + g.index()])
    }

    /// Asks for the words (a few lines; see [`tpr_types::prefetch_slice`]).
    #[inline]
    pub fn prefetch(&self) {
        tpr_types::prefetch_slice(&self.words, 4);
    }

    fn memory_usage(&self) -> usize {
        self.words.len() * 4
    }
}

/// An index or count into [`RouteWords`].
fn word(n: usize) -> Result<u32, CompileError> {
    u32::try_from(n).map_err(|_| {
        err("voice routing", "the route tables and gateway lists need more than 2^32 entries")
    })
}

/// Builds [`RouteWords`]: tables' entries as they come, then the routes' gateway lists.
struct RouteWordsBuilder {
    entries: Vec<u32>,
    lists: Vec<SmallVec<[GatewayId; 4]>>,
}

impl RouteWordsBuilder {
    fn new() -> RouteWordsBuilder {
        // Words 0 and 1 say where the per-route words and the gateways' words start, known
        // once every table is in.
        RouteWordsBuilder { entries: vec![0, 0], lists: Vec::new() }
    }

    fn table(&mut self, entries: &[(u16, RouteId)]) -> Result<(u32, u32), CompileError> {
        let start = word(self.entries.len())?;
        self.entries.extend(entries.iter().map(|&(u, r)| u32::from(u) << 16 | u32::from(r.0)));
        Ok((start, word(entries.len())?))
    }

    fn build(
        self,
        gateways: impl IntoIterator<Item = GatewayHot>,
        interner: &Interner,
    ) -> Result<RouteWords, CompileError> {
        let lists = self.entries.len();
        let mut words = self.entries;
        words[0] = word(lists)?;
        let mut at = lists + self.lists.len() + 1;
        for l in &self.lists {
            words.push(word(at)?);
            at += l.len();
        }
        words.push(word(at)?);
        for l in &self.lists {
            words.extend(l.iter().map(|g| u32::from(g.0)));
        }
        words[1] = word(words.len())?;
        words.extend(gateways.into_iter().map(GatewayHot::pack));
        Ok(RouteWords { words: interner.route_words(words) })
    }
}

/// An emergency number of a policy. In this order: finding which number a dialed string is
/// reads the first line (the packed strings), routing it the second (the route table); the
/// strings themselves, each in an allocation of its own, are read only for strings too long
/// to pack. With thousands of tenants taking turns, each of those allocations was a miss.
#[repr(C)]
pub(crate) struct EcrpNumber {
    keys: EmergencyKeys,
    pub table: RouteTable,
    pub dial_string: String,
    pub masks: Vec<String>,
}

impl EcrpNumber {
    pub fn new(dial_string: String, masks: Vec<String>, table: RouteTable) -> EcrpNumber {
        let keys = EmergencyKeys::new(std::iter::once(&dial_string).chain(&masks));
        EcrpNumber { keys, table, dial_string, masks }
    }

    /// Is `dialed` (packed: `key`, see [`short_key`]) this number's dial string or one of its
    /// masks?
    #[inline]
    pub fn is(&self, dialed: &str, key: Option<u64>) -> bool {
        if self.keys.all {
            return key.is_some_and(|k| self.keys.packed.contains(&k));
        }
        self.dial_string == dialed || self.masks.iter().any(|m| m == dialed)
    }
}

/// A number's dial string and masks packed ([`short_key`]), when all of them pack and there
/// are no more than fit: emergency numbers are a few digits.
#[derive(Debug, Clone, Copy, Default)]
struct EmergencyKeys {
    /// The keys, then zeros (no string packs to 0).
    packed: [u64; 4],
    /// Are all the strings here? Else compare the strings.
    all: bool,
}

impl EmergencyKeys {
    fn new<'a>(strings: impl Iterator<Item = &'a String> + Clone) -> EmergencyKeys {
        let mut keys = EmergencyKeys::default();
        let n = strings.clone().count();
        let packed: Vec<u64> = strings.filter_map(|s| short_key(s)).collect();
        if packed.len() == n && n <= keys.packed.len() {
            keys.packed[..n].copy_from_slice(&packed);
            keys.all = true;
        }
        keys
    }
}

/// A string of 1 to 7 bytes as one word: its bytes, and its length in the top byte (so that
/// no key is 0 and strings that differ in trailing NULs differ). `None` for any other.
#[inline]
pub(crate) fn short_key(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 7 {
        return None;
    }
    let mut word = [0u8; 8];
    word[..b.len()].copy_from_slice(b);
    word[7] = b.len() as u8;
    Some(u64::from_le_bytes(word))
}

/// An emergency call routing policy. Its first number (most policies have one) is in the
/// record, not in an allocation of its own: a caller that asks for the record's lines
/// ([`EcrpRec::LINES`]) before an emergency call has all the call reads of the policy.
pub(crate) struct EcrpRec {
    pub numbers: SmallVec<[EcrpNumber; 1]>,
}

impl EcrpRec {
    /// The lines the record spans.
    pub const LINES: usize = std::mem::size_of::<EcrpRec>().div_ceil(64);
}

pub(crate) struct SiteRec {
    pub name: String,
    pub lbr: bool,
    pub ecrp: Option<u16>,
}

pub(crate) struct CallerIdRec {
    pub substitute: CallerIdSubstitute,
    pub resource: Option<UserId>,
    pub user_override: bool,
    pub block_incoming: bool,
}

/// Where an unassigned number's calls go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreatmentTo {
    /// A user or resource account.
    Party(UserId),
    /// An announcement, played once.
    Announcement,
}

pub(crate) struct TreatmentRec {
    pub name: String,
    pub target_name: String,
    pub to: TreatmentTo,
}

pub(crate) struct Blocking {
    pub blocked: Arc<PatternSet>,
    pub redirect: Vec<Option<UserId>>,
    pub exempt: Arc<PatternSet>,
}

/// A Calling Plan minute pool: licence country, plan, and domestic or international.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolInfo {
    /// `US domestic (domestic)`, `US international (international)`: a readable name.
    pub name: String,
    /// Licence country.
    pub region: Region,
    /// The plan whose users share it.
    pub plan: CallingPlan,
    /// International minutes (else domestic).
    pub international: bool,
    /// Monthly minutes: allowance × licensed users.
    pub minutes: u64,
}

pub(crate) struct TrunkRec {
    pub name: String,
    pub key: KeyId,
}

/// A tenant compiled for routing. Immutable: share it between threads (`Arc<Engine>`); each
/// thread makes its own [`crate::Scratch`].
///
/// `repr(C)` keeps the fields in the order written: the ones an outbound decision reads come
/// first, so that they share a few cache lines, and the engine starts a line, so that they
/// span no more lines than their size needs. With thousands of tenants taking turns, a
/// decision finds its tenant's engine in no cache, and every line of it read is a miss.
#[repr(C, align(64))]
pub struct Engine {
    // Boxed slices rather than vectors up to `numbers`: 16 bytes a field rather than 24 keeps
    // the fields every outbound decision reads in two lines (`HOT_HEADER_LINES`).
    pub(crate) parties: Box<[Party]>,
    /// The first two of `plans` (most tenants have one or two), read without `plans`' line.
    pub(crate) first_plans: [Option<Arc<CompiledPlan>>; 2],
    /// Each voice routing policy's route table (shared by engines compiled with one
    /// [`Interner`] whose tables are the same).
    pub(crate) vrps: Arc<[RouteTable]>,
    /// The route tables' entries, the routes' gateways and the gateways' hot fields.
    pub(crate) route_words: RouteWords,
    /// The longest dial string or mask of any emergency policy: a longer dialed string is
    /// not an emergency call on Direct Routing, without looking at the policies.
    pub(crate) emergency_max_len: u32,
    pub(crate) tenant_key: KeyId,
    pub(crate) spend_limits: bool,
    /// Has the tenant any unassigned-number pattern? A decision for a tenant without reads
    /// no line of `unassigned` (with thousands of tenants, one miss fewer a decision).
    pub(crate) any_unassigned: bool,
    pub(crate) postpaid_overage: bool,
    /// Is `naive_plans` set? A decision of a compiled engine reads this, not the slice.
    pub(crate) naive: bool,
    /// Last of the hot fields: the number index's filter, table and bounds come first in it.
    pub(crate) numbers: NumberIndex,
    /// Regions that count as one country for "domestic" (`calling_plans.domestic_groups`):
    /// read for a policy that allows domestic calls only and for Calling Plan calls.
    pub(crate) domestic_groups: crate::country::DomesticGroups,
    /// The effective dial plans (see [`Engine::plan`]).
    pub(crate) plans: Box<[Arc<CompiledPlan>]>,
    pub(crate) sites: Box<[SiteRec]>,
    /// Emergency call routing policies: read for dial strings no longer than
    /// `emergency_max_len`.
    pub(crate) ecrps: Box<[EcrpRec]>,
    /// The tenant's unassigned-number patterns (an empty set if it has none: then
    /// `any_unassigned` is false and decisions leave the set's lines alone).
    pub(crate) unassigned: Arc<PatternSet>,
    /// The naive baseline's one-regex-per-rule plans, parallel to `plans`.
    pub(crate) naive_plans: Option<Box<[Arc<tpr_dialplan::ReferencePlan>]>>,
    pub(crate) calling: Vec<CallingPolicy>,
    pub(crate) caller_id: Vec<CallerIdRec>,
    pub(crate) trunks: Vec<TrunkRec>,
    pub(crate) pools: Vec<PoolInfo>,
    pub(crate) credits: Credits,
    pub(crate) treatments: Vec<TreatmentRec>,
    pub(crate) blocking: Option<Blocking>,
    pub(crate) gateways: Vec<GatewayRec>,
    pub(crate) routes: Vec<RouteRec>,
    pub(crate) usages: Vec<String>,
    pub(crate) name: String,
    pub(crate) listed_ids: HashMap<String, UserId>,
    /// Ids of the listed users as written, by `UserId`.
    pub(crate) listed_names: Vec<String>,
    /// (first id, range) for users generated by ranges.
    pub(crate) ranges: Vec<(u32, tpr_tenant::UserRange)>,
    pub(crate) account_ids: Vec<String>,
    pub(crate) ledger: LedgerBuilder,
    /// (tenant dial plan, region) of each compiled plan.
    pub(crate) plan_keys: Vec<(Option<String>, Region)>,
    /// The rest of each party, by the same index as `parties`.
    pub(crate) party_cold: Vec<PartyCold>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("tenant", &self.name)
            .field("parties", &self.parties.len())
            .field("gateways", &self.gateways.len())
            .field("routes", &self.routes.len())
            .finish_non_exhaustive()
    }
}

fn find(names: &[String], name: &str) -> Option<usize> {
    names.iter().position(|n| n.eq_ignore_ascii_case(name))
}

fn id16(i: usize, what: &str) -> Result<u16, CompileError> {
    u16::try_from(i).map_err(|_| err(what, "more than 65,535 of them"))
}

fn key_err(e: BuildError) -> CompileError {
    err("capacity", e)
}

/// Monthly minutes of one licence (spec §5.1).
fn allowance(tenant: &Tenant, region: Region, plan: CallingPlan, international: bool) -> u64 {
    let cp = &tenant.calling_plans;
    let domestic = || {
        u64::from(
            cp.domestic_minutes
                .get(region.as_str())
                .or_else(|| cp.domestic_minutes.get("default"))
                .copied()
                .unwrap_or(1200),
        )
    };
    match (plan, international) {
        (CallingPlan::Domestic | CallingPlan::International, false) => domestic(),
        (CallingPlan::Domestic120, false) => 120,
        (CallingPlan::Domestic240, false) => 240,
        (CallingPlan::International, true) => u64::from(cp.international_minutes),
        _ => 0,
    }
}

fn plan_name(plan: CallingPlan) -> &'static str {
    match plan {
        CallingPlan::None => "none",
        CallingPlan::Domestic => "domestic",
        CallingPlan::Domestic120 => "domestic_120",
        CallingPlan::Domestic240 => "domestic_240",
        CallingPlan::International => "international",
        CallingPlan::PayAsYouGo => "pay_as_you_go",
    }
}

struct Builder<'t> {
    tenant: &'t Tenant,
    limits: Limits,
    interner: &'t Interner,
    plans: Vec<Arc<CompiledPlan>>,
    plan_index: HashMap<(Option<String>, Region), u16>,
    plan_keys: Vec<(Option<String>, Region)>,
    ledger: LedgerBuilder,
    pool_index: HashMap<(Region, &'static str, bool), PoolId>,
    pools: Vec<PoolInfo>,
}

impl Builder<'_> {
    fn plan(&mut self, dial_plan: Option<&str>, region: Region) -> Result<u16, CompileError> {
        let key = (dial_plan.map(str::to_ascii_lowercase), region);
        if let Some(&i) = self.plan_index.get(&key) {
            return Ok(i);
        }
        let owner = || format!("dial plan {:?}", dial_plan.unwrap_or("Global"));
        let tenant_plan = match dial_plan {
            Some(name) => Some(self.tenant.dial_plan(name).ok_or_else(|| {
                err(owner(), EffectivePlanError::UnknownDialPlan(name.to_owned()))
            })?),
            None => self.tenant.dial_plan("Global"),
        };
        let service = self
            .tenant
            .service_plan(region)
            .ok_or_else(|| err(owner(), EffectivePlanError::UnknownRegion(region)))?;
        let plan = self
            .interner
            .plan(tenant_plan, service, &self.limits)
            .map_err(|e| err(owner(), EffectivePlanError::Compile(e)))?;
        let i = id16(self.plans.len(), "effective dial plans")?;
        self.plans.push(plan);
        self.plan_keys.push((dial_plan.map(str::to_owned), region));
        self.plan_index.insert(key, i);
        Ok(i)
    }

    fn pool(&mut self, region: Region, plan: CallingPlan, international: bool) -> Option<PoolId> {
        let minutes = allowance(self.tenant, region, plan, international);
        if minutes == 0 {
            return None;
        }
        let key = (region, plan_name(plan), international);
        let id = *self.pool_index.entry(key).or_insert_with(|| {
            let id = PoolId(self.pools.len() as u16);
            self.pools.push(PoolInfo {
                name: format!(
                    "{region} {} ({})",
                    plan_name(plan),
                    if international { "international" } else { "domestic" }
                ),
                region,
                plan,
                international,
                minutes: 0,
            });
            id
        });
        self.pools[id.index()].minutes += minutes;
        Some(id)
    }
}

impl Engine {
    /// Compiles `tenant` with the default pattern limits.
    pub fn compile(tenant: &Tenant) -> Result<Engine, CompileError> {
        Engine::compile_with(tenant, &Limits::default())
    }

    /// Compiles `tenant`. Everything is checked before anything is returned: a tenant that
    /// fails here leaves no engine behind.
    pub fn compile_with(tenant: &Tenant, limits: &Limits) -> Result<Engine, CompileError> {
        Engine::compile_shared(tenant, limits, &Interner::new())
    }

    /// Compiles `tenant`, taking its dial plans and pattern sets from `interner` when an
    /// identical one was compiled before (for another tenant, or an earlier version of this
    /// one), and leaving the new ones there.
    pub fn compile_shared(
        tenant: &Tenant,
        limits: &Limits,
        interner: &Interner,
    ) -> Result<Engine, CompileError> {
        let c = &tenant.capacity;
        let defaults = Defaults {
            user_number_max_calls: c.user_number_max_calls,
            service_number_max_calls: c.service_number_max_calls,
            ..Defaults::default()
        };
        let mut b = Builder {
            tenant,
            limits: limits.clone(),
            interner,
            plans: Vec::new(),
            plan_index: HashMap::new(),
            plan_keys: Vec::new(),
            ledger: LedgerBuilder::new(defaults),
            pool_index: HashMap::new(),
            pools: Vec::new(),
        };
        let r = &tenant.routing;

        // Gateways and their translation rules.
        let rule_of = |name: &str, owner: &str| -> Result<Translation, CompileError> {
            let def =
                r.translation_rules.iter().find(|t| t.name.eq_ignore_ascii_case(name)).ok_or_else(
                    || err(owner, format!("translation rule {name:?} is not defined")),
                )?;
            Translation::new(&def.pattern, &def.translation, limits)
                .map_err(|e| err(format!("translation rule {:?}", def.name), e))
        };
        let site_names: Vec<String> =
            tenant.policies.network_sites.iter().map(|s| s.name.clone()).collect();
        let mut gateways = Vec::with_capacity(r.gateways.len());
        for g in &r.gateways {
            let owner = format!("gateway {:?}", g.fqdn);
            let list = |names: &[String]| -> Result<Vec<Translation>, CompileError> {
                names.iter().map(|n| rule_of(n, &owner)).collect()
            };
            let key = b
                .ledger
                .gateway(&g.fqdn, g.enforced_max_sessions, g.max_concurrent_sessions)
                .map_err(key_err)?;
            gateways.push(GatewayRec {
                fqdn: g.fqdn.clone(),
                enabled: g.enabled,
                send_options: g.send_sip_options,
                failover_ms: u64::from(g.failover_time_seconds) * 1000,
                failover_codes: g.failover_response_codes.iter().copied().collect(),
                key,
                site: g
                    .gateway_site_id
                    .as_deref()
                    .and_then(|s| find(&site_names, s))
                    .map(|i| i as u16),
                lbr: g.gateway_site_lbr_enabled,
                lbr_user_override: g.gateway_lbr_enabled_user_override,
                max_concurrent_sessions: g.max_concurrent_sessions,
                port: g.sip_signaling_port,
                inbound_teams: list(&g.inbound_teams_number_translation_rules)?,
                inbound_pstn: list(&g.inbound_pstn_number_translation_rules)?,
                outbound_teams: list(&g.outbound_teams_number_translation_rules)?,
                outbound_pstn: list(&g.outbound_pstn_number_translation_rules)?,
            });
        }
        id16(gateways.len(), "gateways")?;
        let gateway_names: Vec<String> = gateways.iter().map(|g| g.fqdn.clone()).collect();

        // Routes, in the tenant's order (already sorted by priority).
        let mut routes = Vec::with_capacity(r.voice_routes.len());
        let mut route_words = RouteWordsBuilder::new();
        for route in &r.voice_routes {
            let owner = format!("voice route {:?}", route.name);
            let list = route
                .gateways
                .iter()
                .map(|g| {
                    find(&gateway_names, g)
                        .map(|i| GatewayId(i as u16))
                        .ok_or_else(|| err(&owner, format!("gateway {g:?} is not defined")))
                })
                .collect::<Result<SmallVec<[GatewayId; 4]>, _>>()?;
            let mut live = SmallVec::new();
            for &g in &list {
                if gateways[g.index()].enabled && !live.contains(&g) {
                    live.push(g);
                }
            }
            routes.push(RouteRec { name: route.name.clone() });
            route_words.lists.push(live);
        }
        id16(routes.len(), "voice routes")?;
        let usages = r.pstn_usages.clone();
        let mut route_table =
            |usage_list: &[String], owner: &str| -> Result<RouteTable, CompileError> {
                let mut entries = Vec::new();
                let mut patterns = Vec::new();
                for u in usage_list {
                    let ui = find(&usages, u)
                        .ok_or_else(|| err(owner, format!("PSTN usage {u:?} is not defined")))?;
                    for (ri, route) in r.voice_routes.iter().enumerate() {
                        if route.usages.iter().any(|x| x.eq_ignore_ascii_case(u)) {
                            entries.push((ui as u16, RouteId(ri as u16)));
                            patterns.push(route.number_pattern.as_str());
                        }
                    }
                }
                let set = interner.set(&patterns, limits).map_err(|(i, e)| {
                    err(format!("voice route {:?}", routes[entries[i].1.index()].name), e)
                })?;
                Ok(RouteTable::new(set, route_words.table(&entries)?))
            };
        let mut vrps = Vec::with_capacity(r.voice_routing_policies.len());
        for p in &r.voice_routing_policies {
            let table = route_table(&p.usages, &format!("voice routing policy {:?}", p.name))?;
            vrps.push(table);
        }
        let vrp_names: Vec<String> =
            r.voice_routing_policies.iter().map(|p| p.name.clone()).collect();
        let global_vrp = find(&vrp_names, "Global").map(|i| i as u16);

        let mut ecrps = Vec::new();
        for p in &r.emergency_call_routing_policies {
            let owner = format!("emergency call routing policy {:?}", p.name);
            let numbers = p
                .numbers
                .iter()
                .map(|n| {
                    Ok(EcrpNumber::new(
                        n.dial_string.clone(),
                        n.dial_masks.clone(),
                        route_table(std::slice::from_ref(&n.usage), &owner)?,
                    ))
                })
                .collect::<Result<_, CompileError>>()?;
            ecrps.push(EcrpRec { numbers });
        }
        let ecrp_names: Vec<String> =
            r.emergency_call_routing_policies.iter().map(|p| p.name.clone()).collect();
        let global_ecrp = find(&ecrp_names, "Global").map(|i| i as u16);

        let sites = tenant
            .policies
            .network_sites
            .iter()
            .map(|s| SiteRec {
                name: s.name.clone(),
                lbr: s.lbr_enabled,
                ecrp: s
                    .emergency_call_routing_policy
                    .as_deref()
                    .and_then(|e| find(&ecrp_names, e))
                    .map(|i| i as u16),
            })
            .collect::<Vec<_>>();

        // Operator trunks.
        let mut trunks = Vec::new();
        let mut operator_trunk = Vec::new();
        for o in &r.operators {
            operator_trunk.push((o.name.clone(), TrunkId(trunks.len() as u16)));
            for t in &o.trunks {
                let key = b.ledger.trunk(&t.name, t.max_sessions).map_err(key_err)?;
                trunks.push(TrunkRec { name: t.name.clone(), key });
            }
        }
        let tenant_key = b
            .ledger
            .tenant(&format!("tenant {}", tenant.name), tenant.capacity.tenant_max_calls)
            .map_err(key_err)?;

        let calling = tenant.policies.calling.clone();
        let calling_policies = &calling;
        let calling_names: Vec<String> = calling.iter().map(|p| p.name.clone()).collect();
        let caller_id_names: Vec<String> =
            tenant.policies.caller_id.iter().map(|p| p.name.clone()).collect();
        let spend_limits =
            calling.iter().any(|p| p.enable_spend_limits && p.calling_spend_user_limit.is_some());

        // Parties: listed users, range users, then resource accounts.
        let mut parties = Vec::new();
        let mut party_cold = Vec::new();
        let mut listed_ids = HashMap::new();
        let mut listed_names = Vec::new();
        let mut ranges = Vec::new();
        let party_of = |b: &mut Builder<'_>,
                        kind: PartyKind,
                        region: Region,
                        dial_plan: Option<&str>,
                        number: Option<&str>,
                        p: &UserPolicies,
                        who: &dyn fmt::Display|
         -> Result<(Party, PartyCold), CompileError> {
            let plan = b.plan(dial_plan, region)?;
            let vrp = match &p.voice_routing_policy {
                Some(name) => Some(find(&vrp_names, name).ok_or_else(|| {
                    err(who, format!("voice routing policy {name:?} is not defined"))
                })? as u16),
                None => global_vrp,
            };
            let ecrp = match &p.emergency_call_routing_policy {
                Some(name) => Some(find(&ecrp_names, name).ok_or_else(|| {
                    err(who, format!("emergency call routing policy {name:?} is not defined"))
                })? as u16),
                None => global_ecrp,
            };
            let policy = |names: &[String], name: &Option<String>| {
                find(names, name.as_deref().unwrap_or("Global")).unwrap_or(0) as u16
            };
            let trunk = match (&p.operator, p.number_type) {
                (Some(op), _) => Some(
                    operator_trunk
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(op))
                        .map(|(_, t)| *t)
                        .ok_or_else(|| err(who, format!("operator {op:?} is not defined")))?,
                ),
                _ => None,
            };
            let number_key = match number {
                Some(n) => Some(
                    match kind {
                        PartyKind::User => b.ledger.user_number(n),
                        _ => b.ledger.service_number(n),
                    }
                    .map_err(|e| err(who, e))?,
                ),
                None => None,
            };
            let calling = policy(&calling_names, &p.calling_policy);
            let caller_id = policy(&caller_id_names, &p.caller_id_policy);
            let pools = match p.calling_plan {
                CallingPlan::None | CallingPlan::PayAsYouGo => [None, None],
                plan => [b.pool(region, plan, false), b.pool(region, plan, true)],
            };
            let cold = PartyCold { number: number.map(Into::into), queue_key: None, queue: None };
            let party = Party {
                kind,
                region,
                calling_code: crate::country::calling_code(region),
                plan,
                has_number: number.is_some(),
                number_key,
                toll_free: false,
                number_type: p.number_type,
                calling_plan: p.calling_plan,
                trunk,
                trunk_key: trunk.map(|t| trunks[t.index()].key),
                vrp,
                ecrp,
                dial_out: DialOut::of(p.dial_out_policy.as_deref()),
                calling,
                caller_id,
                gates: Gates::new(
                    &calling_policies[calling as usize],
                    &tenant.policies.caller_id[caller_id as usize],
                ),
                site: p
                    .network_site
                    .as_deref()
                    .and_then(|s| find(&site_names, s))
                    .map(|i| i as u16),
                pools,
            };
            Ok((party, cold))
        };
        // `who` names the party in errors only: formatting it for each of 100,000 users that
        // compile cleanly would cost a tenth of the compile.
        let user_party = |b: &mut Builder<'_>, u: &User, who: &dyn fmt::Display| {
            let number = u.number.as_deref();
            let plan = u.dial_plan.as_deref();
            party_of(b, PartyKind::User, u.usage_location, plan, number, &u.policies, who)
        };
        let mut skip_rnl: HashSet<UserId> = HashSet::new();
        let mut private: Vec<(UserId, &str)> = Vec::new();
        for u in &tenant.users {
            let id = UserId(parties.len() as u32);
            let (party, cold) = user_party(&mut b, u, &format_args!("user {:?}", u.id))?;
            parties.push(party);
            party_cold.push(cold);
            listed_ids.insert(u.id.to_ascii_lowercase(), id);
            listed_names.push(u.id.clone());
            if u.skip_internal_voip {
                skip_rnl.insert(id);
            }
            if let Some(p) = &u.private_number {
                private.push((id, p));
            }
        }
        for range in &tenant.user_ranges {
            let first = u32::try_from(parties.len()).map_err(|_| err("users", "too many"))?;
            let who = format!("user range {:?}", range.name);
            for u in (0..range.count).filter_map(|k| range.user(k)) {
                let (party, cold) = user_party(&mut b, &u, &who)?;
                parties.push(party);
                party_cold.push(cold);
            }
            ranges.push((first, range.clone()));
        }
        let mut account_ids = Vec::new();
        for a in &tenant.resource_accounts {
            let who = format!("resource account {:?}", a.id);
            let kind = match a.kind {
                AccountKind::AutoAttendant => PartyKind::AutoAttendant,
                AccountKind::CallQueue => PartyKind::CallQueue,
            };
            let (mut party, mut cold) = party_of(
                &mut b,
                kind,
                tenant.country,
                None,
                a.number.as_deref(),
                &a.policies,
                &who,
            )?;
            party.toll_free = a.toll_free;
            cold.queue =
                a.queue.or_else(|| (a.kind == AccountKind::CallQueue).then(QueueSettings::default));
            if let Some(q) = cold.queue {
                cold.queue_key = Some(
                    b.ledger
                        .queue(&format!("queue {}", a.id), Some(q.overflow_threshold))
                        .map_err(|e| err(&who, e))?,
                );
            }
            parties.push(party);
            party_cold.push(cold);
            account_ids.push(a.id.clone());
        }
        let account_base = (parties.len() - account_ids.len()) as u32;
        let party_by_id = |id: &str| -> Option<UserId> {
            if let Some(i) = find(&account_ids, id) {
                return Some(UserId(account_base + i as u32));
            }
            if let Some(&u) = listed_ids.get(&id.to_ascii_lowercase()) {
                return Some(u);
            }
            ranges.iter().find_map(|(first, r)| r.index_of(id).map(|k| UserId(first + k)))
        };

        // Reverse number lookup.
        let mut numbers = NumberIndex::with_capacity(parties.len());
        let mut add = |number: &str, who: UserId| numbers.add(number, who);
        for (i, p) in party_cold.iter().enumerate() {
            if let Some(n) = &p.number
                && !skip_rnl.contains(&UserId(i as u32))
            {
                add(n, UserId(i as u32));
            }
        }
        for (who, n) in &private {
            add(n, *who);
        }
        numbers.seal();

        let caller_id = tenant
            .policies
            .caller_id
            .iter()
            .map(|p| CallerIdRec {
                substitute: p.calling_id_substitute,
                resource: p.resource_account.as_deref().and_then(party_by_id),
                user_override: p.enable_user_override,
                block_incoming: p.block_incoming_pstn_caller_id,
            })
            .collect();

        let unassigned_patterns: Vec<&str> =
            tenant.policies.unassigned.iter().map(|t| t.pattern.as_str()).collect();
        let unassigned = interner.set(&unassigned_patterns, limits).map_err(|(i, e)| {
            err(format!("unassigned number treatment {:?}", tenant.policies.unassigned[i].name), e)
        })?;
        let treatments = tenant
            .policies
            .unassigned
            .iter()
            .map(|t| {
                let to = match t.target_type {
                    TreatmentTarget::Announcement => TreatmentTo::Announcement,
                    _ => TreatmentTo::Party(party_by_id(&t.target).ok_or_else(|| {
                        err(
                            format!("unassigned number treatment {:?}", t.name),
                            format!("target {:?} is not defined", t.target),
                        )
                    })?),
                };
                Ok(TreatmentRec { name: t.name.clone(), target_name: t.target.clone(), to })
            })
            .collect::<Result<_, CompileError>>()?;

        let bl = &tenant.policies.blocked;
        let blocking = if bl.enabled && bl.patterns.iter().any(|p| p.enabled) {
            let on: Vec<_> = bl.patterns.iter().filter(|p| p.enabled).collect();
            let exempt: Vec<&str> =
                bl.exempt.iter().filter(|p| p.enabled).map(|p| p.pattern.as_str()).collect();
            Some(Blocking {
                blocked: interner
                    .set(&on.iter().map(|p| p.pattern.as_str()).collect::<Vec<_>>(), limits)
                    .map_err(|(i, e)| err(format!("blocked number pattern {:?}", on[i].name), e))?,
                redirect: on
                    .iter()
                    .map(|p| p.resource_account.as_deref().and_then(party_by_id))
                    .collect(),
                exempt: interner
                    .set(&exempt, limits)
                    .map_err(|(_, e)| err("exempt number pattern", e))?,
            })
        } else {
            None
        };

        // Every caller's region has a plan: their carrier emergency numbers are ready before
        // the first call rather than compiled during it.
        for (_, region) in &b.plan_keys {
            crate::carrier::warm(*region);
        }
        let route_words = route_words.build(gateways.iter().map(GatewayHot::of), interner)?;
        Ok(Engine {
            name: tenant.name.clone(),
            first_plans: [b.plans.first().cloned(), b.plans.get(1).cloned()],
            plans: b.plans.into(),
            parties: parties.into(),
            party_cold,
            listed_ids,
            listed_names,
            ranges,
            account_ids,
            gateways,
            routes,
            route_words,
            usages,
            vrps: interner.route_tables(vrps),
            emergency_max_len: ecrps
                .iter()
                .flat_map(|e| &e.numbers)
                .flat_map(|n| std::iter::once(&n.dial_string).chain(&n.masks))
                .map(String::len)
                .max()
                .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
            ecrps: ecrps.into(),
            sites: sites.into(),
            calling,
            caller_id,
            numbers,
            any_unassigned: !unassigned.is_empty(),
            unassigned,
            treatments,
            blocking,
            pools: b.pools,
            trunks,
            credits: tenant.calling_plans.communications_credits,
            domestic_groups: crate::country::DomesticGroups::new(
                &tenant.calling_plans.domestic_groups,
            ),
            postpaid_overage: tenant.calling_plans.postpaid_overage,
            ledger: b.ledger,
            tenant_key,
            spend_limits,
            plan_keys: b.plan_keys,
            naive_plans: None,
            naive: false,
        })
    }

    /// The same engine with naive matching: every dial-plan rule and every voice route its
    /// own regex, tried one after another (the way a script, or Kamailio's dialplan module,
    /// does it), and normalization that allocates. Decisions are the same; only the speed
    /// differs. It is the baseline `tpr bench --baseline naive` measures against.
    pub fn compile_naive(tenant: &Tenant) -> Result<Engine, CompileError> {
        Engine::compile_naive_shared(tenant, &Interner::new())
    }

    /// [`Engine::compile_naive`], taking from `interner` what an engine compiled with it
    /// before built from the same rules: its automata, and its naive plans and route regexes,
    /// as a script's regex library caches the patterns it compiled. Matching is the same one
    /// regex at a time; only the copies are shared. With .NET's Unicode classes one rule's
    /// regex takes around a hundred KiB, so the naive engines of 10,000 copies of a 100-rule
    /// tenant would need over 100 GiB compiled one by one.
    pub fn compile_naive_shared(
        tenant: &Tenant,
        interner: &Interner,
    ) -> Result<Engine, CompileError> {
        let limits = Limits::default();
        let mut engine = Engine::compile_shared(tenant, &limits, interner)?;
        let mut plans = Vec::with_capacity(engine.plan_keys.len());
        for (name, region) in &engine.plan_keys {
            let plan = match name {
                Some(n) => tenant.dial_plan(n),
                None => tenant.dial_plan("Global"),
            };
            let service = tenant
                .service_plan(*region)
                .ok_or_else(|| err(format!("region {region}"), "no service plan"))?;
            plans
                .push(interner.reference(plan, service, &limits).map_err(|e| err("dial plan", e))?);
        }
        engine.naive_plans = Some(plans.into());
        engine.naive = true;
        let r = &tenant.routing;
        // The tables are shared with the fast engines of the same shape: these get their own.
        let mut vrps = engine.vrps.to_vec();
        for v in &mut vrps {
            let patterns: Vec<&str> = engine
                .route_words
                .entries(v)
                .iter()
                .map(|&w| r.voice_routes[usize::from(w as u16)].number_pattern.as_str())
                .collect();
            v.naive = Some(Box::new(
                interner.patterns(&patterns, &limits).map_err(|(_, e)| err("voice route", e))?,
            ));
        }
        engine.vrps = vrps.into();
        Ok(engine)
    }

    /// Does this engine match naively (see [`Engine::compile_naive`])?
    pub fn is_naive(&self) -> bool {
        self.naive_plans.is_some()
    }

    /// The tenant's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A user or resource account by id (case-insensitive).
    pub fn party(&self, id: &str) -> Option<UserId> {
        if let Some(&u) = self.listed_ids.get(&id.to_ascii_lowercase()) {
            return Some(u);
        }
        if let Some(i) = find(&self.account_ids, id) {
            let base = (self.parties.len() - self.account_ids.len()) as u32;
            return Some(UserId(base + i as u32));
        }
        self.ranges.iter().find_map(|(first, r)| r.index_of(id).map(|k| UserId(first + k)))
    }

    /// The id of party `u` as the tenant names it.
    pub fn party_name(&self, u: UserId) -> String {
        let i = u.0 as usize;
        let accounts = self.parties.len() - self.account_ids.len();
        if i >= accounts {
            return self.account_ids[i - accounts].clone();
        }
        if let Some(id) = self.listed_names.get(i) {
            return id.clone();
        }
        for (first, r) in &self.ranges {
            if (*first..first + r.count).contains(&u.0)
                && let Some(user) = r.user(u.0 - first)
            {
                return user.id;
            }
        }
        format!("#{}", u.0)
    }

    /// Number of users and resource accounts.
    pub fn party_count(&self) -> usize {
        self.parties.len()
    }

    /// Number of listed and generated users (they come first in the id space).
    pub fn user_count(&self) -> usize {
        self.parties.len() - self.account_ids.len()
    }

    /// What party `u` is.
    pub fn party_kind(&self, u: UserId) -> PartyKind {
        self.parties[u.index()].kind
    }

    /// The number of party `u`.
    pub fn number_of(&self, u: UserId) -> Option<&str> {
        self.party_cold[u.index()].number.as_deref()
    }

    /// Asks for party `u`'s records (a hint, as [`Engine::prefetch_call`]): a caller that
    /// knows who its next call is from or to, events ahead, issues this step and then, an
    /// event or more later, [`Engine::prefetch_party_number`], so that a party among many
    /// thousands is in cache when its call comes. An unknown party is ignored.
    #[inline]
    pub fn prefetch_party(&self, u: UserId) {
        if let (Some(p), Some(c)) = (self.parties.get(u.index()), self.party_cold.get(u.index())) {
            tpr_types::prefetch(p);
            tpr_types::prefetch(c);
        }
    }

    /// The step after [`Engine::prefetch_party`]: reads the records that one asked for and
    /// asks for the number's text and the party's ledger cell. (A decision asks for the
    /// policy records itself, first thing: tenant-wide, they are warm when one tenant's
    /// calls follow each other.)
    #[inline]
    pub fn prefetch_party_number(&self, state: &crate::State, u: UserId) {
        if let (Some(p), Some(c)) = (self.parties.get(u.index()), self.party_cold.get(u.index())) {
            if let Some(n) = &c.number {
                tpr_types::prefetch(n.as_ptr());
            }
            if let Some(k) = p.number_key {
                state.prefetch_cell(k);
            }
        }
    }

    /// Asks for the lines a reverse number lookup of `number` reads (a hint): for a caller
    /// that knows, an event or more ahead, which number an inbound call will be to.
    #[inline]
    pub fn prefetch_lookup(&self, number: &str) {
        self.numbers.prefetch(number);
    }

    /// The usage location of party `u`.
    pub fn region_of(&self, u: UserId) -> Region {
        self.parties[u.index()].region
    }

    /// The effective dial plan of party `u`.
    pub fn plan_of(&self, u: UserId) -> &CompiledPlan {
        self.plan_at(self.parties[u.index()].plan)
    }

    /// Effective dial plan `i`.
    #[inline]
    pub(crate) fn plan(&self, i: u16) -> Option<&Arc<CompiledPlan>> {
        match self.first_plans.get(usize::from(i)) {
            Some(p) => p.as_ref(),
            None => self.plans.get(usize::from(i)),
        }
    }

    /// Effective dial plan `i` of a party (an index the engine handed out).
    #[inline]
    pub(crate) fn plan_at(&self, i: u16) -> &Arc<CompiledPlan> {
        self.plan(i).unwrap_or_else(|| &self.plans[usize::from(i)])
    }

    /// Asks for plan `i`'s record (a hint): from the hot fields for the first two, else
    /// for its place in `plans`.
    #[inline]
    pub(crate) fn prefetch_plan(&self, i: u16) {
        match self.first_plans.get(usize::from(i)) {
            Some(p) => {
                if let Some(p) = p {
                    tpr_types::prefetch(Arc::as_ptr(p));
                }
            }
            None => tpr_types::prefetch(self.plans.as_ptr().wrapping_add(usize::from(i))),
        }
    }

    /// The number type of party `u`'s number (how inbound calls to it arrive).
    pub fn number_type(&self, u: UserId) -> Option<NumberType> {
        self.parties[u.index()].number_type
    }

    /// The Operator Connect trunk of party `u`, if its number is an operator's.
    pub fn trunk_of(&self, u: UserId) -> Option<TrunkId> {
        self.parties[u.index()].trunk
    }

    /// The call-queue settings of party `u`, if it is a call queue.
    pub fn queue_settings(&self, u: UserId) -> Option<QueueSettings> {
        self.party_cold[u.index()].queue
    }

    /// The users a `[[user_ranges]]` entry generated: its first id and how many.
    pub fn user_range(&self, name: &str) -> Option<(UserId, u32)> {
        self.ranges
            .iter()
            .find(|(_, r)| r.name.eq_ignore_ascii_case(name))
            .map(|(first, r)| (UserId(*first), r.count))
    }

    /// Is gateway `g` enabled for calls?
    pub fn gateway_enabled(&self, g: GatewayId) -> bool {
        self.gateways[g.index()].enabled
    }

    /// Teams' `MaxConcurrentSessions` of gateway `g` (alerts only, never enforced).
    pub fn gateway_alert_limit(&self, g: GatewayId) -> Option<u32> {
        self.gateways[g.index()].max_concurrent_sessions
    }

    /// Does gateway `g` send SIP OPTIONS (is its health monitored)?
    pub fn gateway_sends_options(&self, g: GatewayId) -> bool {
        self.gateways[g.index()].send_options
    }

    /// Number of gateways.
    pub fn gateway_count(&self) -> usize {
        self.gateways.len()
    }

    /// A gateway by FQDN (case-insensitive).
    pub fn gateway(&self, fqdn: &str) -> Option<GatewayId> {
        self.gateways
            .iter()
            .position(|g| g.fqdn.eq_ignore_ascii_case(fqdn))
            .map(|i| GatewayId(i as u16))
    }

    /// A gateway's FQDN.
    pub fn gateway_name(&self, g: GatewayId) -> &str {
        &self.gateways[g.index()].fqdn
    }

    /// The port Teams sends a gateway's SIP to (`SipSignalingPort`).
    pub fn gateway_port(&self, g: GatewayId) -> u16 {
        self.gateways[g.index()].port
    }

    /// A gateway's capacity key.
    pub fn gateway_key(&self, g: GatewayId) -> KeyId {
        self.gateways[g.index()].key
    }

    /// A gateway's final codes that fail over.
    pub fn failover_codes(&self, g: GatewayId) -> &[u16] {
        &self.gateways[g.index()].failover_codes
    }

    /// A route's name.
    pub fn route_name(&self, r: RouteId) -> &str {
        &self.routes[r.index()].name
    }

    /// A PSTN usage's name.
    pub fn usage_name(&self, usage: u16) -> &str {
        &self.usages[usage as usize]
    }

    /// An operator trunk's name.
    pub fn trunk_name(&self, t: TrunkId) -> &str {
        &self.trunks[t.index()].name
    }

    /// An operator trunk's capacity key.
    pub fn trunk_key(&self, t: TrunkId) -> KeyId {
        self.trunks[t.index()].key
    }

    /// Number of operator trunks.
    pub fn trunk_count(&self) -> usize {
        self.trunks.len()
    }

    /// The Calling Plan minute pools.
    pub fn pools(&self) -> &[PoolInfo] {
        &self.pools
    }

    /// An unassigned-number treatment: its name and its target as written.
    pub fn treatment(&self, t: u16) -> (&str, &str) {
        let t = &self.treatments[t as usize];
        (&t.name, &t.target_name)
    }

    /// The tenant-wide capacity key.
    pub fn tenant_key(&self) -> KeyId {
        self.tenant_key
    }

    /// The capacity key of party `u`'s number, if it has one.
    pub fn number_key(&self, u: UserId) -> Option<KeyId> {
        self.parties[u.index()].number_key
    }

    /// The key layout: build a fresh [`tpr_capacity::Ledger`] from a clone of it.
    pub fn ledger_layout(&self) -> &LedgerBuilder {
        &self.ledger
    }

    /// Compiled dial plans, automata and tables, in heap bytes (approximate). Automata and
    /// route tables shared with other engines (see [`Interner`]) count in full here too.
    pub fn memory_usage(&self) -> usize {
        self.plans.iter().map(|p| p.memory_usage()).sum::<usize>()
            + self.vrps.iter().map(|v| v.set.memory_usage()).sum::<usize>()
            + self.route_memory_usage()
            + self.table_memory_usage()
    }

    /// The route tables and route words, in heap bytes (shared between engines of the same
    /// shape, see [`RouteWords`]).
    pub(crate) fn route_memory_usage(&self) -> usize {
        self.vrps.len() * std::mem::size_of::<RouteTable>() + self.route_words.memory_usage()
    }

    /// The engine's own tables (parties, number index), in heap bytes: what each tenant costs
    /// when its automata and route tables are shared.
    pub fn table_memory_usage(&self) -> usize {
        self.parties.len() * std::mem::size_of::<Party>()
            + self.party_cold.len() * std::mem::size_of::<PartyCold>()
            + self
                .party_cold
                .iter()
                .filter_map(|p| p.number.as_ref())
                .map(|n| n.len())
                .sum::<usize>()
            + self.numbers.memory_usage()
    }

    pub(crate) fn caller_id_substitute(&self, u: UserId) -> &CallerIdRec {
        &self.caller_id[self.parties[u.index()].caller_id as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Short strings of the bytes that matter: digits, '*', '#', a NUL and a two-byte
    /// character, from empty to past the seven bytes a key holds.
    fn short() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::string::string_regex("[0-9*#\\x00é]{0,9}").unwrap()
    }

    proptest::proptest! {
        // Finding an emergency number by its packed strings answers as comparing the
        // strings does, however many masks, whatever their lengths.
        #[test]
        fn packed_emergency_strings_match_as_the_strings_do(
            dial_string in short(),
            masks in proptest::collection::vec(short(), 0..6),
            dialed in proptest::collection::vec(short(), 1..8),
        ) {
            let set = Arc::new(PatternSet::new(&["^112$"], &tpr_dialplan::Limits::default()).unwrap());
            let n = EcrpNumber::new(dial_string, masks, RouteTable::new(set, (0, 0)));
            let mut all: Vec<&String> = std::iter::once(&n.dial_string).chain(&n.masks).collect();
            all.extend(&dialed);
            for d in all {
                let by_strings = n.dial_string == *d || n.masks.iter().any(|m| m == d);
                proptest::prop_assert_eq!(n.is(d, short_key(d)), by_strings, "{:?}", d);
            }
        }
    }

    #[test]
    fn short_keys_keep_strings_apart() {
        assert_eq!(short_key(""), None);
        assert_eq!(short_key("12345678"), None);
        let keys: Vec<u64> = ["1", "11", "1\0", "911", "9110", "112", "1234567", "é"]
            .iter()
            .map(|s| short_key(s).unwrap())
            .collect();
        let distinct: HashSet<u64> = keys.iter().copied().collect();
        assert_eq!(distinct.len(), keys.len());
        assert!(!keys.contains(&0));
        // Three of them: all packed; a long mask: compared as strings.
        let table = || {
            let set =
                Arc::new(PatternSet::new(&["^911$"], &tpr_dialplan::Limits::default()).unwrap());
            RouteTable::new(set, (0, 0))
        };
        let s = |v: &[&str]| v.iter().map(|m| m.to_string()).collect::<Vec<_>>();
        assert!(EcrpNumber::new("911".into(), s(&["112", "999"]), table()).keys.all);
        assert!(!EcrpNumber::new("911".into(), s(&["12345678"]), table()).keys.all);
        assert!(!EcrpNumber::new("911".into(), s(&["1", "2", "3", "4"]), table()).keys.all);
    }

    #[test]
    fn route_words_give_back_each_table_and_gateway_list() {
        let g = |ids: &[u16]| ids.iter().map(|&i| GatewayId(i)).collect::<SmallVec<_>>();
        let mut b = RouteWordsBuilder::new();
        b.lists = vec![g(&[3, 1]), g(&[]), g(&[65_535, 0, 7])];
        let first = b.table(&[(0, RouteId(2)), (0, RouteId(0)), (1, RouteId(1))]).unwrap();
        let empty = b.table(&[]).unwrap();
        let last = b.table(&[(65_535, RouteId(65_535))]).unwrap();
        let hot = [
            GatewayHot { send_options: true, lbr: false, lbr_user_override: true, site: None },
            GatewayHot { send_options: false, lbr: true, lbr_user_override: false, site: Some(0) },
            GatewayHot {
                send_options: true,
                lbr: true,
                lbr_user_override: true,
                site: Some(65_535),
            },
        ];
        let words = b.build(hot, &Interner::new()).unwrap();
        let table = |entries| {
            RouteTable::new(
                Arc::new(PatternSet::new::<&str>(&[], &Limits::default()).unwrap()),
                entries,
            )
        };
        let (first, empty, last) = (table(first), table(empty), table(last));
        let all = |t: &RouteTable| {
            (0..words.entries(t).len()).map(|i| words.entry(t, i)).collect::<Vec<_>>()
        };
        assert_eq!(all(&first), [(0, RouteId(2)), (0, RouteId(0)), (1, RouteId(1))]);
        assert_eq!(all(&empty), []);
        assert_eq!(all(&last), [(65_535, RouteId(65_535))]);
        let live = |r: u16| words.live(RouteId(r)).map(|g| g.0).collect::<Vec<_>>();
        assert_eq!(live(0), [3, 1]);
        assert_eq!(live(1), []);
        assert_eq!(live(2), [65_535, 0, 7]);
        for (i, h) in hot.iter().enumerate() {
            assert_eq!(words.hot(GatewayId(i as u16)), *h);
        }
    }
}
