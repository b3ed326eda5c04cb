//! Reading text files that must be UTF-8 (TOML is), with the place of a bad byte.

use std::path::Path;

use crate::{Diagnostic, Location};

/// Reads `path` as UTF-8 text. A file that is not UTF-8 is an error at the line and column of
/// its first bad byte (the column counting the characters before it), where
/// `read_to_string` would only say "stream did not contain valid UTF-8". An I/O error has no
/// location and names the file in its message.
pub fn read_utf8(path: &Path) -> Result<String, Diagnostic> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| Diagnostic { location: None, message: format!("{name}: {e}") })?;
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let bad = e.utf8_error().valid_up_to();
        let line_start = bytes[..bad].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let line = 1 + bytes[..line_start].iter().filter(|&&b| b == b'\n').count();
        // Everything before `bad` is valid UTF-8.
        let col = 1 + std::str::from_utf8(&bytes[line_start..bad]).map_or(0, |s| s.chars().count());
        Diagnostic {
            location: Some(Location {
                file: name.into(),
                line: u32::try_from(line).unwrap_or(u32::MAX),
                col: u32::try_from(col).unwrap_or(u32::MAX),
            }),
            message: "not valid UTF-8 (TOML files are UTF-8: save the file as UTF-8)".into(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bad_byte_is_located_in_characters() {
        let dir = std::env::temp_dir().join(format!("tpr-read-utf8-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.toml");
        std::fs::write(&path, b"a = 1\nb = \"\xc3\xa9\xe9\"\nc = \xff\n").unwrap();
        let e = read_utf8(&path).unwrap_err();
        let l = e.location.as_ref().unwrap();
        assert_eq!((l.line, l.col), (2, 7));
        assert!(
            e.to_string().ends_with(
                "t.toml:2:7: error: not valid UTF-8 (TOML files are UTF-8: save the file as UTF-8)"
            ),
            "{e}"
        );
        std::fs::write(&path, "a = \"é\"\n").unwrap();
        assert_eq!(read_utf8(&path).unwrap(), "a = \"é\"\n");
        let e = read_utf8(&dir.join("none.toml")).unwrap_err();
        assert!(e.location.is_none() && e.message.contains("none.toml"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
