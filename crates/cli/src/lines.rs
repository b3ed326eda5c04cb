//! Inputs of the per-number commands: the arguments, or one per line on stdin.

use std::io::{self, BufRead, IsTerminal, Write};

/// Calls `each` with every input: the arguments if there are any, else every line of stdin
/// (`\n` or `\r\n`; a UTF-8 byte-order mark before the first line, as Notepad saves a list of
/// numbers, is dropped). A line that is not UTF-8 comes as `Err` with its lossy text. On a
/// terminal, `out` is flushed after each line so that answers appear as they are typed.
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
    loop {
        line.clear();
        if stdin.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        if std::mem::take(&mut first) && line.starts_with(b"\xef\xbb\xbf") {
            line.drain(..3);
        }
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
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
