//! ISO 3166-1 alpha-2 region codes, as Teams uses them for usage locations.

use std::fmt;
use std::str::FromStr;

/// A two-letter ISO 3166-1 region code such as `US` or `NZ`, stored upper case.
///
/// Parsing accepts lower case (`us`) because admins type it that way in scripts; the value is
/// always shown upper case. Whether the region exists is not checked here: that needs the
/// numbering-plan table of `tpr-dialplan`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region([u8; 2]);

/// Why a string is not a region code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("region code must be two ASCII letters (ISO 3166-1 alpha-2), got {0:?}")]
pub struct RegionError(pub String);

impl Region {
    /// Parses a two-letter code, case-insensitively.
    pub fn try_new(code: &str) -> Result<Region, RegionError> {
        match code.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Ok(Region([a.to_ascii_uppercase(), b.to_ascii_uppercase()]))
            }
            _ => Err(RegionError(code.to_owned())),
        }
    }

    /// Number of distinct regions [`Region::index`] can return.
    pub const COUNT: usize = 26 * 26;

    /// A dense index in `0..Region::COUNT` (`AA` is 0, `ZZ` the last), for tables indexed by
    /// region.
    pub fn index(self) -> usize {
        usize::from(self.0[0] - b'A') * 26 + usize::from(self.0[1] - b'A')
    }

    /// The code as an upper-case string slice.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl FromStr for Region {
    type Err = RegionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Region::try_new(s)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Region({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_indexes_are_dense_and_distinct() {
        assert_eq!(Region::try_new("AA").unwrap().index(), 0);
        assert_eq!(Region::try_new("ZZ").unwrap().index(), Region::COUNT - 1);
        assert_ne!(Region::try_new("US").unwrap().index(), Region::try_new("SU").unwrap().index());
    }

    #[test]
    fn parses_and_upper_cases() {
        assert_eq!(Region::try_new("nz").unwrap().as_str(), "NZ");
        assert_eq!("US".parse::<Region>().unwrap().to_string(), "US");
    }

    #[test]
    fn rejects_non_letters_and_wrong_lengths() {
        for bad in ["", "U", "USA", "U1", "ü", "  "] {
            assert!(Region::try_new(bad).is_err(), "{bad:?} accepted");
        }
    }
}
