//! Inputs of the per-number commands: the arguments, or one per line on stdin.

use std::io::{self, BufRead, IsTerminal, Write};

/// Calls `each` with every input: the arguments if there are any, else every line of stdin
/// (ended by `\n`, `\r\n` or a lone `\r`, as a list saved with classic Mac line ends has
/// them; a UTF-8 byte-order mark before the first line, as Notepad saves a list of numbers, is
/// dropped). A line that is not UTF-8 comes as `Err` with its lossy text. On a terminal, `out`
/// is flushed after each line so that answers appear as they are typed.
pub fn for_each_input<W: Write>(
    args: &[String],
    out: &mut W,
    mut each: impl FnMut(&mut W, Result<&str, &str>) -> io::Result<()>,
) -> io::Result<()> {
    if !args.is_empty() {
        for n in args {
            each(out, Ok(n))?;
        }
        return Ok(());
    }
    let interactive = io::stdin().is_terminal();
    let stdin = io::stdin();
    let mut stdin = stdin.lock();
    let mut line = Vec::with_capacity(128);
    let mut first = true;
    // The last line ended in `\r`: a `\n` right after it belongs to that line end.
    let mut after_cr = false;
    loop {
        line.clear();
        if !read_line(&mut stdin, &mut line, &mut after_cr)? {
            return Ok(());
        }
        if std::mem::take(&mut first) && line.starts_with(b"\xef\xbb\xbf") {
            line.drain(..3);
        }
        match std::str::from_utf8(&line) {
            Ok(s) => each(out, Ok(s))?,
            Err(_) => each(out, Err(&String::from_utf8_lossy(&line)))?,
        }
        if interactive {
            out.flush()?;
        }
    }
}

/// Appends the next line of `input` to `line`, without its end; false at the end of input.
/// A line is handed over as soon as its end arrives (on a terminal, the reader does not wait
/// to see whether a `\n` follows a `\r`).
fn read_line(
    input: &mut impl BufRead,
    line: &mut Vec<u8>,
    after_cr: &mut bool,
) -> io::Result<bool> {
    let mut any = false;
    loop {
        let buf = match input.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if buf.is_empty() {
            return Ok(any);
        }
        let skip = usize::from(std::mem::take(after_cr) && buf[0] == b'\n');
        let rest = &buf[skip..];
        match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            Some(i) => {
                line.extend_from_slice(&rest[..i]);
                *after_cr = rest[i] == b'\r';
                input.consume(skip + i + 1);
                return Ok(true);
            }
            None => {
                line.extend_from_slice(rest);
                any |= !rest.is_empty();
                let n = buf.len();
                input.consume(n);
            }
        }
    }
}

/// The input as it goes into a tab-separated line: control characters escaped.
pub fn shown(input: &str) -> std::borrow::Cow<'_, str> {
    if input.chars().any(char::is_control) {
        input
            .chars()
            .map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() })
            .collect::<String>()
            .into()
    } else {
        input.into()
    }
}

/// Writes `v` as one line of JSON. It is made in a buffer kept between lines, then written
/// in one piece: through `Display`, or token by token into the writer, `tpr route --json`
/// ran at a seventh of its text output's speed.
pub fn json_line(out: &mut impl Write, v: &impl serde::Serialize) -> io::Result<()> {
    thread_local! {
        static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    LINE.with_borrow_mut(|line| {
        line.clear();
        serde_json::to_writer(&mut *line, v).map_err(io::Error::from)?;
        line.push(b'\n');
        out.write_all(line)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], chunk: usize) -> Vec<String> {
        // A reader that hands over `chunk` bytes at a time, so that line ends fall across
        // buffer boundaries.
        let mut r = io::BufReader::with_capacity(chunk, input);
        let (mut line, mut after_cr, mut all) = (Vec::new(), false, Vec::new());
        while read_line(&mut r, &mut line, &mut after_cr).unwrap() {
            all.push(String::from_utf8(std::mem::take(&mut line)).unwrap());
        }
        all
    }

    #[test]
    fn lines_end_at_lf_crlf_and_lone_cr_wherever_the_buffer_splits() {
        let input = b"0100\r\n4255550100\r206\n\n+1 425\r\r\nlast";
        let want = ["0100", "4255550100", "206", "", "+1 425", "", "last"];
        for chunk in 1..=input.len() {
            assert_eq!(lines(input, chunk), want, "chunks of {chunk}");
        }
        assert_eq!(lines(b"a\r", 1), ["a"]);
        assert_eq!(lines(b"a\r\n", 2), ["a"]);
        assert_eq!(lines(b"", 4), Vec::<String>::new());
        assert_eq!(lines(b"\n", 4), [""]);
    }
}
