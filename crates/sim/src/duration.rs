//! Durations as scenarios write them: a number and a unit (`ms`, `s`, `m`, `h`), or several
//! in a row (`1h30m`), parsed into whole milliseconds.

/// The longest duration a scenario may name: 400 days, so that times in ms never come near
/// overflowing and a typo (`duration = "1000000h"`) is caught instead of running for ever.
pub const MAX_DURATION_MS: u64 = 400 * 24 * 3_600_000;

/// Parses `"250ms"`, `"2s"`, `"1.5m"`, `"1h30m"`. The message says what is wrong.
pub fn parse_ms(text: &str) -> Result<u64, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration: write a number and a unit, like \"30s\"".into());
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("bad duration {text:?}: expected a number at {rest:?}"));
        }
        let value: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("bad duration {text:?}: {:?} is not a number", &rest[..digits]))?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ms" => 1.0,
            "s" => 1_000.0,
            "m" | "min" => 60_000.0,
            "h" => 3_600_000.0,
            "" => {
                return Err(format!(
                    "bad duration {text:?}: a number needs a unit (ms, s, m or h)"
                ));
            }
            other => {
                return Err(format!("bad duration {text:?}: unknown unit {other:?} (ms, s, m, h)"));
            }
        };
        rest = &rest[unit_len..];
        total += value * scale;
    }
    if !total.is_finite() || total > MAX_DURATION_MS as f64 {
        return Err(format!("duration {text:?} is longer than the limit of 400 days"));
    }
    Ok(total.round() as u64)
}

/// Writes `ms` the way scenarios do: `1h30m`, `45s`, `250ms`.
pub fn format_ms(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let (h, rest) = (ms / 3_600_000, ms % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1_000, rest % 1_000);
    for (v, unit) in [(h, "h"), (m, "m"), (s, "s"), (milli, "ms")] {
        if v > 0 {
            out.push_str(&format!("{v}{unit}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_compounds() {
        assert_eq!(parse_ms("250ms"), Ok(250));
        assert_eq!(parse_ms("2s"), Ok(2_000));
        assert_eq!(parse_ms("1.5m"), Ok(90_000));
        assert_eq!(parse_ms("1h30m"), Ok(5_400_000));
        assert_eq!(parse_ms(" 0s "), Ok(0));
        assert_eq!(format_ms(5_400_250), "1h30m250ms");
        assert_eq!(format_ms(0), "0s");
    }

    #[test]
    fn mistakes_are_named() {
        assert!(parse_ms("").unwrap_err().contains("empty"));
        assert!(parse_ms("30").unwrap_err().contains("needs a unit"));
        assert!(parse_ms("3d").unwrap_err().contains("unknown unit \"d\""));
        assert!(parse_ms("h").unwrap_err().contains("expected a number"));
        assert!(parse_ms("1.2.3s").unwrap_err().contains("not a number"));
        assert!(parse_ms("100000h").unwrap_err().contains("400 days"));
        assert!(parse_ms("-5s").is_err());
    }
}
