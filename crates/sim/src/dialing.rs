//! What users dial: destination numbers of each kind, written the way people of the caller's
//! country dial them, so that dial plans do the work they do in production.
//!
//! Formats come from libphonenumber's metadata (example numbers with their national dialing
//! digits, international and national prefixes; Apache-2.0, copied into `data/` with the
//! licence). The last four digits of an example are drawn at random, so a run dials many
//! different numbers of the right shape. Emergency numbers are the ones people dial in each
//! country (911 in North America, 999 in the UK, 000 in Australia, 112 in most of Europe).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use rand::Rng;
use tpr_router::{Engine, PartyKind, UserId};
use tpr_types::Region;

use crate::scenario::DestinationKind;

const EXAMPLES: &str = include_str!("../data/libphonenumber_example_numbers.csv");
const PREFIXES: &str = include_str!("../data/libphonenumber_dialing_prefixes.csv");
const EMERGENCY: &str = include_str!("../data/libphonenumber_emergency_short_numbers.csv");

/// The emergency number most people dial, where it differs from libphonenumber's example.
const DIALED_EMERGENCY: &[(&str, &str)] = &[
    ("US", "911"),
    ("CA", "911"),
    ("MX", "911"),
    ("AR", "911"),
    ("PH", "911"),
    ("GB", "999"),
    ("IE", "112"),
    ("AU", "000"),
    ("NZ", "111"),
    ("DE", "112"),
    ("FR", "112"),
    ("ES", "112"),
    ("IN", "112"),
    ("SG", "999"),
    ("BR", "190"),
    ("ZA", "10111"),
];

/// Dialing facts of one country.
#[derive(Debug, Clone, Default)]
struct Country {
    cc: String,
    /// Digits dialed before a country code; `None` when the country has no single one (the
    /// generator then dials `+`).
    international: Option<String>,
    /// Fixed-line, mobile and toll-free numbers as dialed nationally.
    fixed: Option<String>,
    mobile: Option<String>,
    toll_free: Option<String>,
    /// National significant numbers of a fixed line and a mobile (for callers abroad).
    nsn: Vec<String>,
    emergency: Option<String>,
}

#[derive(Debug)]
struct Numbering {
    /// By region code, in code order (international destinations are drawn from it).
    countries: Vec<(String, Country)>,
    /// The position in `countries` of each region, by [`Region::index`] (`u16::MAX`: none).
    by_region: Vec<u16>,
}

impl Numbering {
    fn get(&self, region: Region) -> Option<&Country> {
        let i = *self.by_region.get(region.index())?;
        self.countries.get(usize::from(i)).map(|(_, c)| c)
    }
}

fn numbering() -> &'static Numbering {
    static DATA: OnceLock<Numbering> = OnceLock::new();
    DATA.get_or_init(|| {
        let mut countries: BTreeMap<String, Country> = BTreeMap::new();
        let mut rd = csv::Reader::from_reader(EXAMPLES.as_bytes());
        for row in rd.records().flatten() {
            let (region, cc, kind, nsn, dial) = (&row[0], &row[1], &row[2], &row[3], &row[6]);
            let c = countries.entry(region.to_owned()).or_default();
            c.cc = cc.to_owned();
            let slot = match kind {
                "fixedLine" => &mut c.fixed,
                "mobile" => &mut c.mobile,
                "tollFree" => &mut c.toll_free,
                _ => continue,
            };
            if !dial.is_empty() && slot.is_none() {
                // NANP numbers are dialed nationally with a leading 1.
                *slot = Some(if cc == "1" { format!("1{dial}") } else { dial.to_owned() });
            }
            if matches!(kind, "fixedLine" | "mobile") && !c.nsn.iter().any(|n| n == nsn) {
                c.nsn.push(nsn.to_owned());
            }
        }
        let mut rd = csv::Reader::from_reader(PREFIXES.as_bytes());
        for row in rd.records().flatten() {
            let Some(c) = countries.get_mut(&row[0]) else { continue };
            let (pattern, preferred) = (&row[2], &row[3]);
            c.international = if !preferred.is_empty() {
                Some(preferred.to_owned())
            } else if !pattern.is_empty() && pattern.bytes().all(|b| b.is_ascii_digit()) {
                Some(pattern.to_owned())
            } else {
                None
            };
        }
        let mut rd = csv::Reader::from_reader(EMERGENCY.as_bytes());
        for row in rd.records().flatten() {
            if let Some(c) = countries.get_mut(&row[0]) {
                c.emergency = Some(row[1].to_owned());
            }
        }
        for (r, e) in DIALED_EMERGENCY {
            if let Some(c) = countries.get_mut(*r) {
                c.emergency = Some((*e).to_owned());
            }
        }
        let countries: Vec<(String, Country)> = countries.into_iter().collect();
        let mut by_region = vec![u16::MAX; Region::COUNT];
        for (i, (code, _)) in countries.iter().enumerate() {
            if let Ok(r) = Region::try_new(code) {
                by_region[r.index()] = i as u16;
            }
        }
        Numbering { countries, by_region }
    })
}

/// Draws destinations for one tenant: its users' and resource accounts' numbers, and the
/// numbering facts of the countries.
#[derive(Debug)]
pub struct Dialer {
    /// Users with a number (for extensions and internal calls).
    users: Vec<UserId>,
    /// Resource accounts with a number.
    services: Vec<UserId>,
}

impl Dialer {
    /// Indexes the tenant's numbered parties.
    pub fn new(engine: &Engine) -> Dialer {
        let mut users = Vec::new();
        let mut services = Vec::new();
        for i in 0..engine.party_count() {
            let u = UserId::from_index(i as u32);
            if engine.number_of(u).is_none() {
                continue;
            }
            match engine.party_kind(u) {
                PartyKind::User => users.push(u),
                _ => services.push(u),
            }
        }
        Dialer { users, services }
    }

    /// A random user with a number.
    pub fn user<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<UserId> {
        (!self.users.is_empty()).then(|| self.users[rng.random_range(0..self.users.len())])
    }

    /// A random resource account with a number.
    pub fn service<R: Rng + ?Sized>(&self, rng: &mut R) -> Option<UserId> {
        (!self.services.is_empty()).then(|| self.services[rng.random_range(0..self.services.len())])
    }

    /// Writes into `out` what a user of `region` with number `own` dials for `kind`.
    /// Returns false when nothing of that kind exists (no colleague with a number).
    pub fn dial<R: Rng + ?Sized>(
        &self,
        engine: &Engine,
        kind: DestinationKind,
        region: Region,
        own: Option<&str>,
        rng: &mut R,
        out: &mut String,
    ) -> bool {
        out.clear();
        let data = numbering();
        let country = data.get(region);
        match kind {
            DestinationKind::Extension | DestinationKind::InternalUser => {
                let Some(number) = self.user(rng).and_then(|u| engine.number_of(u)) else {
                    return false;
                };
                let base = number.split(';').next().unwrap_or(number);
                if kind == DestinationKind::Extension {
                    out.push_str(&base[base.len().saturating_sub(4)..]);
                } else {
                    out.push_str(base);
                }
            }
            DestinationKind::ServiceNumber => {
                let Some(number) = self.service(rng).and_then(|u| engine.number_of(u)) else {
                    return false;
                };
                out.push_str(number);
            }
            DestinationKind::Emergency => {
                out.push_str(country.and_then(|c| c.emergency.as_deref()).unwrap_or("112"));
            }
            DestinationKind::Local => match (country, own) {
                (Some(c), Some(_)) if c.cc == "1" => {
                    // Seven digits in the caller's own area code: NXX-XXXX.
                    out.push(char::from(b'2' + rng.random_range(0..8u8)));
                    random_digits(rng, out, 6);
                }
                (Some(c), Some(own)) if own.starts_with('+') && own[1..].starts_with(&c.cc) => {
                    // The caller's own number with other last digits, dialed nationally.
                    out.push('0');
                    out.push_str(&own[1 + c.cc.len()..]);
                    randomize_tail(rng, out, 4);
                }
                _ => national(country, |c| &c.fixed, rng, out),
            },
            DestinationKind::National => national(country, |c| &c.fixed, rng, out),
            DestinationKind::Mobile => national(country, |c| &c.mobile, rng, out),
            DestinationKind::TollFree => national(country, |c| &c.toll_free, rng, out),
            DestinationKind::International => {
                let own_cc = country.map_or("", |c| c.cc.as_str());
                // A country other than the caller's (by calling code), at random: a few
                // draws, since almost every country in the table qualifies.
                let mut to = &data.countries[0].1;
                for _ in 0..16 {
                    to = &data.countries[rng.random_range(0..data.countries.len())].1;
                    if to.cc != own_cc && !to.nsn.is_empty() {
                        break;
                    }
                }
                match country.and_then(|c| c.international.as_deref()) {
                    Some(prefix) => out.push_str(prefix),
                    None => out.push('+'),
                }
                out.push_str(&to.cc);
                out.push_str(&to.nsn[rng.random_range(0..to.nsn.len())]);
                randomize_tail(rng, out, 4);
            }
        }
        true
    }
}

/// A national number of the caller's country (or, for countries tpr has no data for, a US
/// number in E.164).
fn national<R: Rng + ?Sized>(
    country: Option<&Country>,
    pick: impl Fn(&Country) -> &Option<String>,
    rng: &mut R,
    out: &mut String,
) {
    match country.and_then(|c| pick(c).as_deref()) {
        Some(digits) => out.push_str(digits),
        None => out.push_str("+12015550123"),
    }
    randomize_tail(rng, out, 4);
}

fn random_digits<R: Rng + ?Sized>(rng: &mut R, out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(char::from(b'0' + rng.random_range(0..10u8)));
    }
}

/// Replaces the last `n` characters (digits) of `out` with random digits.
fn randomize_tail<R: Rng + ?Sized>(rng: &mut R, out: &mut String, n: usize) {
    let keep = out.len().saturating_sub(n);
    out.truncate(keep);
    random_digits(rng, out, n);
}

/// Writes a caller number from the fiction range `+1 NPA 555 01XX` (numbers reserved for
/// drama, so a trace never names a real line).
pub fn fiction_caller<R: Rng + ?Sized>(rng: &mut R, out: &mut String) {
    out.clear();
    out.push_str("+1");
    out.push(char::from(b'2' + rng.random_range(0..8u8)));
    random_digits(rng, out, 2);
    out.push_str("55501");
    random_digits(rng, out, 2);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_country_has_the_basics() {
        let n = numbering();
        let get = |r: &str| n.get(Region::try_new(r).unwrap()).unwrap();
        assert!(n.countries.len() >= 28, "{}", n.countries.len());
        for (r, c) in &n.countries {
            assert!(!c.cc.is_empty(), "{r}");
            assert!(c.emergency.is_some(), "{r}: no emergency number");
        }
        assert_eq!(get("US").international.as_deref(), Some("011"));
        assert_eq!(get("GB").international.as_deref(), Some("00"));
        assert_eq!(get("AU").international.as_deref(), Some("0011"));
        assert_eq!(get("GB").fixed.as_deref(), Some("01212345678"));
        assert_eq!(get("US").fixed.as_deref(), Some("12015550123"));
        assert_eq!(get("US").emergency.as_deref(), Some("911"));
    }

    #[test]
    fn fiction_callers_are_in_the_555_01_range() {
        let mut rng = <rand_pcg::Pcg64 as rand::SeedableRng>::seed_from_u64(3);
        let mut s = String::new();
        fiction_caller(&mut rng, &mut s);
        assert_eq!(s.len(), 12, "{s}");
        assert_eq!(&s[5..10], "55501", "{s}");
    }
}
