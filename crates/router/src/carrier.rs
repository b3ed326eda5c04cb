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
    pattern: Option<Pattern>,
    unsupported: bool,
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
                    pattern: None,
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
            let Ok(pattern) = Pattern::new(&format!("^(?:{pattern})$"), &Limits::default()) else {
                continue;
            };
            out.push(Table {
                region,
                numbers: Vec::new(),
                masks: Vec::new(),
                pattern: Some(pattern),
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
    let tables = tables();
    let Ok(i) = tables.binary_search_by_key(&region, |t| t.region) else {
        return CarrierEmergency::No;
    };
    let t = &tables[i];
    if let Some(n) = t.numbers.iter().find(|n| *n == dialed) {
        return CarrierEmergency::Yes(Some(n));
    }
    if let Some((_, n)) = t.masks.iter().find(|(m, _)| m == dialed) {
        return CarrierEmergency::Yes(Some(n));
    }
    match &t.pattern {
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
}
