//! Cleanup of what a user dialed, before any rule sees it.
//!
//! Teams documents that `425 555 0100` is normalized like `4255550100`; tpr's cleanup (spec
//! §3.1) goes a little further, the way phone keypads and address books write numbers:
//!
//! 1. inputs over [`MAX_DIALED_CHARS`] characters, or with a control character (CR, LF and TAB
//!    included), are rejected;
//! 2. decimal digits of any script (`٤`, `४`, full-width `４`) become ASCII digits; full-width
//!    `＋ ＊ ＃` become `+ * #`;
//! 3. spaces of every kind, hyphens and dashes, dots and parentheses (ASCII and full-width)
//!    are removed;
//! 4. what remains must be `+` (first only) followed by digits, `*` and `#`.
//!
//! The result is ASCII, so a rule's `\d` means the same in tpr as in .NET.

use std::fmt;

/// The longest dialed string accepted, in characters.
pub const MAX_DIALED_CHARS: usize = 64;

/// A cleaned dialed string: `+?[0-9*#]+`, at most [`MAX_DIALED_CHARS`] bytes. Reuse one
/// value with [`clean_into`] and cleaning allocates nothing.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct DialString {
    text: String,
}

impl DialString {
    /// An empty string with room for the longest dialed string.
    pub fn new() -> DialString {
        DialString { text: String::with_capacity(MAX_DIALED_CHARS) }
    }

    /// Cleans `raw` into a new value.
    pub fn try_clean(raw: &str) -> Result<DialString, InvalidDialString> {
        let mut d = DialString::new();
        clean_into(raw, &mut d)?;
        Ok(d)
    }

    /// The cleaned text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for DialString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DialString({:?})", self.as_str())
    }
}

/// Why a dialed string was refused. Positions are 1-based character positions in the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidDialString {
    /// Nothing left after cleanup.
    #[error("no digits dialed")]
    Empty,
    /// Longer than [`MAX_DIALED_CHARS`].
    #[error("dialed string has {0} characters; at most {MAX_DIALED_CHARS} are accepted")]
    TooLong(usize),
    /// A control character (newline, tab, ...).
    #[error("control character U+{code:04X} at position {pos}")]
    Control {
        /// Code point.
        code: u32,
        /// Position.
        pos: usize,
    },
    /// A character outside the dial-string alphabet.
    #[error("character {ch:?} at position {pos} is not a digit, '+', '*' or '#'")]
    BadChar {
        /// The character.
        ch: char,
        /// Position.
        pos: usize,
    },
    /// `+` anywhere but first.
    #[error("'+' at position {0} is only allowed as the first character")]
    MisplacedPlus(usize),
}

/// Zero digits of every Unicode decimal-digit (Nd) block; each block holds 0..=9 in order.
/// Generated from Python's `unicodedata` (Unicode 14.0).
const ND_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

fn decimal_digit(c: char) -> Option<u8> {
    let cp = c as u32;
    let k = ND_ZEROS.partition_point(|&z| z <= cp);
    let zero = *ND_ZEROS.get(k.checked_sub(1)?)?;
    (cp - zero < 10).then(|| b'0' + (cp - zero) as u8)
}

/// Characters removed by cleanup: separators people write between digit groups.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        '-' | '.' | '(' | ')' | '\u{2010}'
            ..='\u{2015}' // hyphens and dashes
            | '\u{2212}' // minus sign
            | '\u{FF0D}' | '\u{FF0E}' | '\u{FF08}' | '\u{FF09}' // full-width - . ( )
            | '\u{30FC}' // katakana prolonged sound mark, used as a dash in JP numbers
    ) || (c.is_whitespace() && !c.is_control())
        || c == '\u{200B}' // zero-width space
}

/// Cleans `raw` into `out`. Allocates nothing once `out` has room (see [`DialString::new`]).
pub fn clean_into(raw: &str, out: &mut DialString) -> Result<(), InvalidDialString> {
    let text = &mut out.text;
    text.clear();
    // Fast path: what machines and most people send, digits with an optional '+'.
    let digits = raw.strip_prefix('+').unwrap_or(raw);
    if raw.len() <= MAX_DIALED_CHARS
        && !digits.is_empty()
        && tpr_types::digits::all_ascii_digits(digits.as_bytes())
    {
        text.push_str(raw);
        return Ok(());
    }
    // Second fast path: ASCII with the usual separators ("(425) 555-0100", "+44 20 7946 0123").
    // Anything else it meets (a misplaced '+', a control, a letter) goes to the full loop,
    // which gives the error.
    if raw.len() <= MAX_DIALED_CHARS && raw.is_ascii() {
        let mut ok = true;
        for b in raw.bytes() {
            match b {
                b'0'..=b'9' | b'*' | b'#' => text.push(char::from(b)),
                b'+' if text.is_empty() => text.push('+'),
                b' ' | b'-' | b'.' | b'(' | b')' => {}
                _ => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            return not_empty(text);
        }
        text.clear();
    }
    clean_chars(raw, text)
}

/// The general cleanup, character by character.
fn clean_chars(raw: &str, text: &mut String) -> Result<(), InvalidDialString> {
    for (pos, c) in raw.chars().enumerate() {
        let pos = pos + 1;
        if pos > MAX_DIALED_CHARS {
            return Err(InvalidDialString::TooLong(raw.chars().count()));
        }
        if c.is_ascii_digit() {
            text.push(c);
            continue;
        }
        if c.is_control() {
            return Err(InvalidDialString::Control { code: c as u32, pos });
        }
        let b = match c {
            '+' | '\u{FF0B}' => {
                if !text.is_empty() {
                    return Err(InvalidDialString::MisplacedPlus(pos));
                }
                '+'
            }
            '*' | '\u{FF0A}' => '*',
            '#' | '\u{FF03}' => '#',
            c if is_separator(c) => continue,
            c => match decimal_digit(c) {
                Some(d) => char::from(d),
                None => return Err(InvalidDialString::BadChar { ch: c, pos }),
            },
        };
        text.push(b);
    }
    not_empty(text)
}

/// A cleaned string must hold more than a `+`.
fn not_empty(text: &str) -> Result<(), InvalidDialString> {
    match text {
        "" | "+" => Err(InvalidDialString::Empty),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(s: &str) -> Result<String, InvalidDialString> {
        DialString::try_clean(s).map(|d| d.as_str().to_owned())
    }

    #[test]
    fn removes_separators_and_maps_digits() {
        assert_eq!(clean("425 555 0100").unwrap(), "4255550100");
        assert_eq!(clean("(425) 555-0100").unwrap(), "4255550100");
        assert_eq!(clean("+1.425.555.0100").unwrap(), "+14255550100");
        assert_eq!(clean("＋８１ ３−１２３４").unwrap(), "+8131234");
        assert_eq!(clean("٠١٢٣٤٥٦٧٨٩").unwrap(), "0123456789");
        assert_eq!(clean("\u{a0}911\u{2009}").unwrap(), "911");
        assert_eq!(clean("*67#").unwrap(), "*67#");
    }

    #[test]
    fn rejects_what_is_not_a_dial_string() {
        assert_eq!(clean(""), Err(InvalidDialString::Empty));
        assert_eq!(clean(" - "), Err(InvalidDialString::Empty));
        assert_eq!(clean("+"), Err(InvalidDialString::Empty));
        assert_eq!(clean("12\n"), Err(InvalidDialString::Control { code: 10, pos: 3 }));
        assert_eq!(clean("1\t2"), Err(InvalidDialString::Control { code: 9, pos: 2 }));
        assert_eq!(clean("1+2"), Err(InvalidDialString::MisplacedPlus(2)));
        assert_eq!(clean("555;ext=1"), Err(InvalidDialString::BadChar { ch: ';', pos: 4 }));
        assert_eq!(clean("1-800-FLOWERS"), Err(InvalidDialString::BadChar { ch: 'F', pos: 7 }));
        let long = "1".repeat(65);
        assert_eq!(clean(&long), Err(InvalidDialString::TooLong(65)));
        assert!(clean(&"1".repeat(64)).is_ok());
    }

    #[test]
    fn every_nd_block_maps_all_ten_digits() {
        for &z in &ND_ZEROS {
            for k in 0..10 {
                let c = char::from_u32(z + k).unwrap();
                assert_eq!(decimal_digit(c), Some(b'0' + k as u8), "U+{:X}", z + k);
            }
        }
        assert_eq!(decimal_digit('a'), None);
        assert_eq!(decimal_digit('\u{65F}'), None);
    }

    proptest::proptest! {
        // The fast paths give what the character loop gives, errors included.
        #[test]
        fn fast_paths_agree_with_the_character_loop(
            raw in "[0-9+*#() .\\-a\t\u{FF0B}\u{0663}\u{2013}]{0,70}",
        ) {
            let mut fast = DialString::new();
            let got = clean_into(&raw, &mut fast).map(|()| fast.as_str().to_owned());
            let mut slow = String::new();
            let want = clean_chars(&raw, &mut slow).map(|()| slow);
            proptest::prop_assert_eq!(got, want);
        }

        // Runs of digits with one character replaced, at every position and length: the
        // eight-bytes-at-a-time digit test (the pattern above rarely draws eight digits in a
        // row).
        #[test]
        fn digit_runs_agree_with_the_character_loop(
            plus in proptest::bool::ANY,
            len in 1usize..40,
            at in 0usize..40,
            c in "[0-9+*#a :/\u{0663}]",
        ) {
            let mut raw = if plus { "+".to_owned() } else { String::new() };
            for i in 0..len {
                if i == at {
                    raw.push_str(&c);
                } else {
                    raw.push(char::from(b'0' + (i % 10) as u8));
                }
            }
            let mut fast = DialString::new();
            let got = clean_into(&raw, &mut fast).map(|()| fast.as_str().to_owned());
            let mut slow = String::new();
            let want = clean_chars(&raw, &mut slow).map(|()| slow);
            proptest::prop_assert_eq!(got, want);
        }
    }
}
