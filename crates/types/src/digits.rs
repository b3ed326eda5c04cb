//! ASCII digits eight bytes at a time, for the hot paths that check or read phone numbers.

const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
const THREES: u64 = 0x3030_3030_3030_3030;
const SIXES: u64 = 0x0606_0606_0606_0606;

/// Eight bytes as a little-endian word: the first byte is the lowest.
#[inline]
fn word(chunk: &[u8; 8]) -> u64 {
    u64::from_le_bytes(*chunk)
}

/// A chunk of `chunks_exact(8)` as an array.
#[inline]
pub fn eight(chunk: &[u8]) -> [u8; 8] {
    let mut a = [0; 8];
    a.copy_from_slice(chunk);
    a
}

/// Are all eight bytes ASCII digits? A byte is a digit when its high nibble is 3 and adding 6
/// leaves it 3 (0x3A..=0x3F become 0x40..=0x45). No byte carries into the next in the
/// addition, because every byte already passed the first test and so is below 0x40.
#[inline]
pub fn eight_ascii_digits(chunk: &[u8; 8]) -> bool {
    let x = word(chunk);
    x & HIGH == THREES && x.wrapping_add(SIXES) & HIGH == THREES
}

/// Are all of `b` ASCII digits (true for an empty slice)?
#[inline]
pub fn all_ascii_digits(b: &[u8]) -> bool {
    let mut chunks = b.chunks_exact(8);
    chunks.all(|c| eight_ascii_digits(&eight(c)))
        && chunks.remainder().iter().all(u8::is_ascii_digit)
}

/// The value of eight ASCII digits, the first the most significant, or `None` if one is not
/// a digit. Pairs of digits, then pairs of pairs, then the two halves are combined by
/// multiplying whole words: three multiplies instead of a dependent multiply-add per digit.
#[inline]
pub fn eight_digits_value(chunk: &[u8; 8]) -> Option<u32> {
    if !eight_ascii_digits(chunk) {
        return None;
    }
    let x = word(chunk) - THREES;
    // Each 16-bit lane: 10 * first + second in its low byte.
    let x = (x * 10 + (x >> 8)) & 0x00FF_00FF_00FF_00FF;
    // Each 32-bit lane: 100 * first pair + second pair.
    let x = (x * 100 + (x >> 16)) & 0x0000_FFFF_0000_FFFF;
    // 10,000 * first half + second half.
    Some(((x * 10_000 + (x >> 32)) & 0xFFFF_FFFF) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_at_every_position() {
        for at in 0..8 {
            for byte in 0..=255u8 {
                let mut b = *b"12345678";
                b[at] = byte;
                let digit = byte.is_ascii_digit();
                assert_eq!(eight_ascii_digits(&b), digit, "byte {byte:#x} at {at}");
                let value = std::str::from_utf8(&b).ok().and_then(|s| s.parse::<u32>().ok());
                assert_eq!(eight_digits_value(&b), value.filter(|_| digit), "{b:?}");
            }
        }
        assert_eq!(eight_digits_value(b"00000000"), Some(0));
        assert_eq!(eight_digits_value(b"99999999"), Some(99_999_999));
        assert_eq!(eight_digits_value(b"09000001"), Some(9_000_001));
    }

    #[test]
    fn slices_of_every_length() {
        for len in 0..20 {
            let mut b = vec![b'7'; len];
            assert!(all_ascii_digits(&b));
            for at in 0..len {
                for bad in [b'/', b':', b'+', 0xB7] {
                    b[at] = bad;
                    assert!(!all_ascii_digits(&b), "{b:?}");
                    b[at] = b'7';
                }
            }
        }
    }
}
