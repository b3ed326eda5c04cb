//! Which country a number is in, as far as "domestic" needs it (spec §2.7, §5.1).
//!
//! Domestic means the destination is in the caller's usage-location country. Outside the North
//! American Numbering Plan the country calling code decides: `+44…` is domestic for a GB user.
//! Inside it (`+1`), 25 countries share the code and the area code decides: `+1 416` is Canada,
//! `+1 787` Puerto Rico. Regions can be merged into one domestic group (the tenant's
//! `calling_plans.domestic_groups`); by default the United States and Puerto Rico form one
//! (tpr's choice, \[O\] in the spec), so US → PR is domestic and US → CA is international. A
//! group may span calling codes: with `["CH", "LI"]`, `+423…` is domestic for a Swiss user.
//! Dialed strings without `+` (extensions sent over Direct Routing) count as domestic.

use std::sync::{Arc, OnceLock};

use tpr_dialplan::{service_plan, service_regions};
use tpr_types::Region;

/// NANP area codes outside the United States, by region (from the NANPA assignments).
const NANP: &[(&str, &[u16])] = &[
    (
        "CA",
        &[
            204, 226, 236, 249, 250, 257, 263, 289, 306, 343, 354, 365, 367, 368, 382, 387, 403,
            416, 418, 428, 431, 437, 438, 450, 460, 468, 474, 506, 514, 519, 548, 579, 581, 584,
            587, 600, 604, 613, 622, 639, 647, 672, 683, 705, 709, 742, 753, 778, 780, 782, 807,
            819, 825, 867, 873, 879, 902, 905, 942,
        ],
    ),
    ("PR", &[787, 939]),
    ("AG", &[268]),
    ("AI", &[264]),
    ("AS", &[684]),
    ("BB", &[246]),
    ("BM", &[441]),
    ("BS", &[242]),
    ("DM", &[767]),
    ("DO", &[809, 829, 849]),
    ("GD", &[473]),
    ("GU", &[671]),
    ("JM", &[658, 876]),
    ("KN", &[869]),
    ("KY", &[345]),
    ("LC", &[758]),
    ("MP", &[670]),
    ("MS", &[664]),
    ("SX", &[721]),
    ("TC", &[649]),
    ("TT", &[868]),
    ("VC", &[784]),
    ("VG", &[284]),
    ("VI", &[340]),
];

/// Lookup tables, built once: which 1–3 digit strings are country calling codes, and the
/// region of every NANP area code.
struct Tables {
    codes: Vec<bool>,
    nanp: Vec<Region>,
}

fn region(code: &str) -> Region {
    Region::try_new(code).expect("the NANP table holds two-letter codes")
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut codes = vec![false; 1000];
        for r in service_regions() {
            if let Some(cc) = service_plan(r).and_then(|p| p.country_code.parse::<usize>().ok())
                && cc < 1000
            {
                codes[cc] = true;
            }
        }
        let mut nanp = vec![region("US"); 1000];
        for (code, areas) in NANP {
            for &a in *areas {
                nanp[usize::from(a)] = region(code);
            }
        }
        Tables { codes, nanp }
    })
}

/// The NANP region of a 3-digit area code (the United States for any not listed).
fn nanp_region(area: u16) -> Region {
    tables().nanp.get(usize::from(area)).copied().unwrap_or_else(|| region("US"))
}

fn digits_value(s: &str) -> Option<u32> {
    s.bytes().try_fold(0u32, |v, b| b.is_ascii_digit().then(|| v * 10 + u32::from(b - b'0')))
}

/// The country calling code of `number` (`+` and digits) and the digits after it.
fn split_code(number: &str) -> Option<(u32, &str)> {
    let digits = number.strip_prefix('+')?;
    let codes = &tables().codes;
    // The shortest run of 1-3 leading digits that is a code (calling codes are prefix-free)
    // and leaves at least one digit after it. Nothing is sliced before it is known to be ASCII.
    let mut cc = 0u32;
    for (n, b) in digits.bytes().take(3).enumerate() {
        if !b.is_ascii_digit() || digits.len() <= n + 1 {
            return None;
        }
        cc = cc * 10 + u32::from(b - b'0');
        if codes[cc as usize] {
            return Some((cc, &digits[n + 1..]));
        }
    }
    None
}

/// Regions merged into one country for "domestic", with their calling codes looked up once.
/// Engines with the default groups share one copy, which stays in cache however many
/// tenants take turns. A thin pointer (8 bytes) among an engine's hot fields.
#[derive(Debug, Clone, Default)]
pub struct DomesticGroups(Arc<Box<[Group]>>);

/// One domestic group: its regions and their calling codes.
type Group = (Box<[Region]>, Box<[u32]>);

impl DomesticGroups {
    /// The groups, e.g. `[[US, PR]]`.
    pub fn new(groups: &[Vec<Region>]) -> DomesticGroups {
        static DEFAULT: OnceLock<DomesticGroups> = OnceLock::new();
        let build = |groups: &[Vec<Region>]| {
            DomesticGroups(Arc::new(
                groups
                    .iter()
                    .map(|g| {
                        (g.clone().into(), g.iter().filter_map(|&r| calling_code(r)).collect())
                    })
                    .collect(),
            ))
        };
        let default = tpr_tenant::CallingPlans::default().domestic_groups;
        if groups == default.as_slice() {
            return DEFAULT.get_or_init(|| build(&default)).clone();
        }
        build(groups)
    }

    /// The group `region` belongs to (empty if none): its regions and their codes.
    fn of(&self, region: Region) -> (&[Region], &[u32]) {
        self.0.iter().find(|(g, _)| g.contains(&region)).map_or((&[], &[]), |(g, c)| (g, c))
    }
}

/// The country calling code of `region`, if it has a service plan.
pub fn calling_code(region: Region) -> Option<u32> {
    service_plan(region)?.country_code.parse().ok()
}

/// Is a call from a user in `region` to `number` domestic, with the default groups
/// (US and PR)?
pub fn is_domestic(region: Region, number: &str) -> bool {
    let groups = DomesticGroups::new(&tpr_tenant::CallingPlans::default().domestic_groups);
    is_domestic_from(region, calling_code(region), number, &groups)
}

/// [`is_domestic`] with the calling code of `region` looked up already (the hot path).
pub fn is_domestic_from(
    region: Region,
    home_code: Option<u32>,
    number: &str,
    groups: &DomesticGroups,
) -> bool {
    if !number.starts_with('+') {
        return true;
    }
    let Some((cc, rest)) = split_code(number) else { return false };
    let (group, codes) = groups.of(region);
    if cc == 1 {
        // NANP: the area code names the region.
        if home_code != Some(1) && group.is_empty() {
            return false;
        }
        let area = rest.get(..3).and_then(digits_value).unwrap_or(0) as u16;
        let to = nanp_region(area);
        return to == region || group.contains(&to);
    }
    Some(cc) == home_code || codes.contains(&cc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Region {
        Region::try_new(s).unwrap()
    }

    #[test]
    fn nanp_splits_by_area_code() {
        assert!(is_domestic(r("US"), "+14255550100"));
        assert!(is_domestic(r("US"), "+17875550100"), "PR is grouped with the US");
        assert!(!is_domestic(r("US"), "+14165550100"), "Toronto is Canada");
        assert!(is_domestic(r("CA"), "+14165550100"));
        assert!(!is_domestic(r("CA"), "+14255550100"));
        assert!(!is_domestic(r("US"), "+18765550100"), "Jamaica");
    }

    #[test]
    fn other_codes_decide_alone() {
        assert!(is_domestic(r("GB"), "+442079460123"));
        assert!(!is_domestic(r("US"), "+442079460123"));
        assert!(is_domestic(r("NZ"), "+6448014640"));
        assert!(!is_domestic(r("AU"), "+6448014640"));
        assert!(is_domestic(r("IE"), "+353123456789"), "three-digit code");
        assert!(is_domestic(r("US"), "911"), "no + : an extension or a dial string");
        assert!(!is_domestic(r("US"), "+"));
        assert!(!is_domestic(r("US"), "+1"), "a code with nothing after it");
        assert!(!is_domestic(r("GB"), "+44"));
        // A translation may write anything; a multi-byte character is not cut in half.
        assert!(!is_domestic(r("GB"), "+9é12345"));
        assert!(!is_domestic(r("GB"), "+4é"));
    }

    #[test]
    fn groups_merge_regions_across_codes() {
        let groups = DomesticGroups::new(&[vec![r("US"), r("CA")], vec![r("CH"), r("LI")]]);
        let d = |region: &str, n: &str| {
            is_domestic_from(r(region), calling_code(r(region)), n, &groups)
        };
        assert!(d("US", "+14165550100"), "Toronto, with US and CA grouped");
        assert!(!d("US", "+17875550100"), "PR is not in this tenant's US group");
        assert!(d("CA", "+14255550100"));
        assert!(d("CH", "+4236123456"), "Liechtenstein's own code");
        assert!(d("LI", "+41446681800"));
        assert!(!d("CH", "+33123456789"));
        let none = DomesticGroups::default();
        assert!(!is_domestic_from(r("US"), Some(1), "+17875550100", &none));
        assert!(is_domestic_from(r("US"), Some(1), "+12065550100", &none));
    }
}
