//! Emergency numbers on the carrier path: Calling Plan and Operator Connect users (spec §2.6).
//!
//! The Teams docs list numbers and masks for a few countries; those are built in. Other
//! countries use libphonenumber's emergency short numbers (`data/`), without masks. Japan's
//! Calling Plan carries no emergency calls at all (`EmergencyNotSupported`).

use std::sync::OnceLock;

use tpr_dialplan::{Limits, Pattern};
use tpr_types::Region;

const LIBPHONENUMBER: &str = include_str!("../data/libphonenumber_emergency_short_numbers.csv");

/// (region, emergency numbers, masks as `mask=number`).
const DOCUMENTED: &[(&str, &[&str], &[&str])] = &[
    ("US", &["911"], &["1911=911", "19911=911", "11911=911", "9911=911"]),
    ("CA", &["911"], &["1911=911", "9911=911", "19911=911", "11911=911"]),
    (
        "AU",
        &["000", "106", "132500"],
        &["112=000", "61000=000", "61112=000", "61106=106", "61132500=132500"],
    ),
    ("SE", &["112", "11313", "11414", "1177"], &["46112=112", "4611313=11313", "4611414=11414"]),
    (
        "AT",
        &["112", "122", "128", "133", "140", "141", "142", "144", "147"],
        &["43112=112", "43122=122", "43128=128", "43133=133", "43140=140", "43141=141"],
    ),
];

/// Regions whose Calling Plan has no emergency service.
const UNSUPPORTED: &[&str] = &["JP"];

/// What the carrier makes of a dialed string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CarrierEmergency<'a> {
    /// Not an emergency number here.
    No,
    /// An emergency call: to this dial string, or (`None`) to the string as dialed.
    Yes(Option<&'a str>),
    /// An emergency number the carrier cannot carry.
    Unsupported,
}

struct Table {
    region: Region,
    numbers: Vec<String>,
    masks: Vec<(String, String)>,
    /// libphonenumber's short-number pattern, compiled the first time it is needed (there are
    /// about 240 regions; a process uses a few, see [`warm`]).
    source: Option<String>,
    pattern: OnceLock<Option<Pattern>>,
    unsupported: bool,
}

impl Table {
    fn pattern(&self) -> Option<&Pattern> {
        self.pattern
            .get_or_init(|| {
                let source = self.source.as_deref()?;
                Pattern::new(&format!("^(?:{source})$"), &Limits::default()).ok()
            })
            .as_ref()
    }
}

fn table(region: Region) -> Option<&'static Table> {
    let tables = tables();
    tables.binary_search_by_key(&region, |t| t.region).ok().map(|i| &tables[i])
}

/// Compiles `region`'s carrier emergency pattern now, so that the first emergency check of a
/// caller there does not pay for it (engines call this for their users' regions).
pub(crate) fn warm(region: Region) {
    if let Some(t) = table(region) {
        t.pattern();
    }
}

fn tables() -> &'static [Table] {
    static TABLES: OnceLock<Vec<Table>> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut out: Vec<Table> = DOCUMENTED
            .iter()
            .filter_map(|(r, numbers, masks)| {
                Some(Table {
                    region: Region::try_new(r).ok()?,
                    numbers: numbers.iter().map(|n| n.to_string()).collect(),
                    masks: masks
                        .iter()
                        .filter_map(|m| m.split_once('='))
                        .map(|(m, n)| (m.to_owned(), n.to_owned()))
                        .collect(),
                    source: None,
                    pattern: OnceLock::new(),
                    unsupported: false,
                })
            })
            .collect();
        for line in LIBPHONENUMBER.lines().skip(1) {
            let mut f = line.split(',');
            let (Some(region), Some(_), Some(pattern)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let Ok(region) = Region::try_new(region) else { continue };
            if out.iter().any(|t| t.region == region) {
                continue;
            }
            out.push(Table {
                region,
                numbers: Vec::new(),
                masks: Vec::new(),
                source: Some(pattern.to_owned()),
                pattern: OnceLock::new(),
                unsupported: UNSUPPORTED.contains(&region.as_str()),
            });
        }
        // By region, for a binary search per call.
        out.sort_by_key(|t| t.region);
        out
    })
}

/// Is `dialed` (cleaned, without `+`) an emergency number of the carrier in `region`?
pub(crate) fn carrier_emergency(region: Region, dialed: &str) -> CarrierEmergency<'static> {
    let Some(t) = table(region) else {
        return CarrierEmergency::No;
    };
    if let Some(n) = t.numbers.iter().find(|n| *n == dialed) {
        return CarrierEmergency::Yes(Some(n));
    }
    if let Some((_, n)) = t.masks.iter().find(|(m, _)| m == dialed) {
        return CarrierEmergency::Yes(Some(n));
    }
    match t.pattern() {
        Some(p) if t.unsupported && p.is_match(dialed) => CarrierEmergency::Unsupported,
        Some(p) if p.is_match(dialed) => CarrierEmergency::Yes(None),
        _ => CarrierEmergency::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Region {
        Region::try_new(s).unwrap()
    }

    #[test]
    fn documented_masks_and_libphonenumber_numbers() {
        assert_eq!(carrier_emergency(r("US"), "9911"), CarrierEmergency::Yes(Some("911")));
        assert_eq!(carrier_emergency(r("US"), "911"), CarrierEmergency::Yes(Some("911")));
        assert_eq!(carrier_emergency(r("US"), "912"), CarrierEmergency::No);
        assert_eq!(carrier_emergency(r("AU"), "112"), CarrierEmergency::Yes(Some("000")));
        assert_eq!(carrier_emergency(r("GB"), "999"), CarrierEmergency::Yes(None));
        assert_eq!(carrier_emergency(r("JP"), "110"), CarrierEmergency::Unsupported);
        assert_eq!(carrier_emergency(r("JP"), "111"), CarrierEmergency::No);
        assert_eq!(carrier_emergency(r("FJ"), "911"), CarrierEmergency::No);
    }

    // Regions no other test here touches: tests share the process and its tables.
    #[test]
    fn a_region_pattern_compiles_when_first_needed() {
        let compiled = |region| table(r(region)).and_then(|t| t.pattern.get()).is_some();
        assert!(!compiled("IE"));
        assert_eq!(carrier_emergency(r("IE"), "112"), CarrierEmergency::Yes(None));
        assert!(compiled("IE"));
        assert!(!compiled("NZ"));
        warm(r("NZ"));
        assert!(compiled("NZ"));
    }

    #[test]
    fn compiling_an_engine_warms_its_callers_regions() {
        let text = r#"
            [tenant]
            name = "t"
            country = "ZA"

            [[users]]
            id = "ana"
            number = "+27211234567"
            usage_location = "ZA"
            calling_plan = "domestic"
        "#;
        let tenant = tpr_tenant::Tenant::from_toml_str(text, "t.toml").expect("tenant loads");
        assert!(table(r("ZA")).is_some_and(|t| t.pattern.get().is_none()));
        crate::Engine::compile(&tenant).expect("compiles");
        assert!(table(r("ZA")).is_some_and(|t| t.pattern.get().is_some_and(Option::is_some)));
    }
}
