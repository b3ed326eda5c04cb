//! Call traces to replay: tpr's own CSV, Asterisk `Master.csv` (`cdr_csv`) and the Teams
//! admin center PSTN usage report export (Direct Routing and Calling Plans tabs).
//!
//! Each format becomes a list of [`TraceCall`]s in start order, times relative to the first
//! call. A replayed call goes through the real pipeline and the far end repeats what the trace
//! says happened (answered for so long, busy, no answer). Rows that cannot be read are
//! reported with their line number and skipped, or stop the reading in strict mode.
//!
//! - tpr CSV (header required): `start,direction,caller,dialed,duration_s,outcome[,via]`.
//!   `start` is `YYYY-MM-DD HH:MM:SS` (optionally `T`, fractions, `Z`) or seconds from the
//!   start; `outcome` is `answered`, `no-answer`, `busy` or a final SIP code; `via` (inbound)
//!   is a gateway FQDN, `calling-plan` or `operator:<trunk>`.
//! - Asterisk `cdr_csv` (no header, 16–21 columns): the legs of one call share a `linkedid`
//!   (else a `uniqueid`); a call is answered when any leg is, and lasts its longest `billsec`.
//!   A call whose `src` is a tenant number is outbound (the user dialed `dst`); otherwise it
//!   is inbound to `dst`, which the ingress gateway's translation rules may complete.
//! - Teams PSTN usage report: columns found by their header names (both the documented and
//!   the exported spellings). Call types ending in `_in` are inbound.

use std::collections::BTreeMap;
use std::fmt;

use tpr_router::{Engine, Ingress, TrunkId, UserId};

use crate::scenario::Direction;

/// How a traced call ended, which the replay makes the far end do again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceOutcome {
    /// Answered; it lasted `hold_ms`.
    Answered,
    /// Rang until the caller gave up.
    NoAnswer,
    /// Refused with a final SIP code.
    Code(u16),
}

/// One call of a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceCall {
    /// Line of the trace it came from (its first row).
    pub line: u64,
    /// When it started, relative to the first call.
    pub at_ms: u64,
    /// Outbound (a user calls out) or inbound (the PSTN calls a tenant number).
    pub direction: Direction,
    /// The caller: a user id or a number.
    pub caller: String,
    /// The caller resolved to a party of the tenant, when known.
    pub caller_party: Option<UserId>,
    /// What was dialed (outbound) or the called number (inbound).
    pub dialed: String,
    /// How an inbound call arrived, when the trace says.
    pub via: Option<Ingress>,
    /// Talk time.
    pub hold_ms: u64,
    /// How it ended.
    pub outcome: TraceOutcome,
}

/// A trace format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceFormat {
    /// tpr's own CSV.
    Tpr,
    /// Asterisk `cdr_csv` `Master.csv`.
    Asterisk,
    /// Teams PSTN usage report, Direct Routing tab.
    TeamsDirectRouting,
    /// Teams PSTN usage report, Calling Plans tab.
    TeamsCallingPlan,
}

impl TraceFormat {
    /// The name used on the command line and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            TraceFormat::Tpr => "tpr",
            TraceFormat::Asterisk => "asterisk",
            TraceFormat::TeamsDirectRouting => "teams-pstn (Direct Routing)",
            TraceFormat::TeamsCallingPlan => "teams-pstn (Calling Plans)",
        }
    }
}

/// A row that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceError {
    /// 1-based line in the trace (0: the trace as a whole).
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

/// A trace read: the calls, and the rows skipped with why.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// Calls in start order.
    pub calls: Vec<TraceCall>,
    /// Rows skipped.
    pub skipped: Vec<TraceError>,
}

/// The most rows a trace may have.
pub const MAX_ROWS: usize = 20_000_000;

/// Guesses the format from the first line.
pub fn detect(text: &str) -> Option<TraceFormat> {
    let first = without_bom(text).split(['\r', '\n']).find(|l| !l.trim().is_empty())?;
    let lower = first.to_ascii_lowercase();
    if lower.starts_with("start,") && lower.contains("dialed") {
        return Some(TraceFormat::Tpr);
    }
    if lower.contains("sbc fqdn") || lower.contains("final sip code") {
        return Some(TraceFormat::TeamsDirectRouting);
    }
    if lower.contains("call type") && (lower.contains("called to") || lower.contains("called from"))
    {
        return Some(TraceFormat::TeamsCallingPlan);
    }
    let mut rd =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(first.as_bytes());
    let rec = rd.records().next()?.ok()?;
    (rec.len() >= 16 && parse_time_ms(&rec[9]).is_some()).then_some(TraceFormat::Asterisk)
}

/// Reads a trace. `speed` divides the gaps between call starts (2.0 offers the calls twice as
/// fast; talk times stay as recorded). With `strict`, the first bad row is the error.
pub fn read(
    text: &str,
    format: TraceFormat,
    engine: &Engine,
    speed: f64,
    strict: bool,
) -> Result<Trace, TraceError> {
    if !(speed.is_finite() && speed > 0.0 && speed <= 1e6) {
        return Err(TraceError { line: 0, message: format!("speed must be above 0, got {speed}") });
    }
    // Excel and Windows tools start UTF-8 files with a byte-order mark; it is no part of the
    // first cell (the csv reader drops it too, but the format checks read the text itself).
    let text = without_bom(text);
    let mut rows = Rows {
        engine,
        calls: Vec::new(),
        skipped: Vec::new(),
        strict,
        lines: RecordLines::new(text),
    };
    match format {
        TraceFormat::Tpr => rows.tpr(text)?,
        TraceFormat::Asterisk => rows.asterisk(text)?,
        TraceFormat::TeamsDirectRouting | TraceFormat::TeamsCallingPlan => {
            rows.teams(text, format)?
        }
    }
    let mut calls = rows.calls;
    // (absolute start ms, call): stable, so same-time calls keep file order.
    calls.sort_by_key(|(t, c)| (*t, c.line));
    let t0 = calls.first().map_or(0, |(t, _)| *t);
    // Simulated time is bounded like a scenario's: a stray date (year 4050) is an error, not
    // a run over centuries.
    if let Some((t, last)) = calls.last()
        && (t - t0) as f64 / speed > crate::duration::MAX_DURATION_MS as f64
    {
        return Err(TraceError {
            line: last.line,
            message: "the calls span more than 400 days (a wrong date?)".into(),
        });
    }
    let calls = calls
        .into_iter()
        .map(|(t, mut c)| {
            c.at_ms = ((t - t0) as f64 / speed).round() as u64;
            c
        })
        .collect();
    Ok(Trace { calls, skipped: rows.skipped })
}

struct Rows<'a> {
    engine: &'a Engine,
    calls: Vec<(i64, TraceCall)>,
    skipped: Vec<TraceError>,
    strict: bool,
    lines: RecordLines<'a>,
}

fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Whether byte `i` ends a line: a `\n`, or a `\r` not followed by one. The csv reader ends
/// records at `\r\n`, `\n` and a lone `\r` alike, and so do line numbers here, so a file
/// saved with classic Mac line ends is not one long line 1.
fn ends_line(text: &[u8], i: usize) -> bool {
    match text[i] {
        b'\n' => true,
        b'\r' => text.get(i + 1) != Some(&b'\n'),
        _ => false,
    }
}

/// Line numbers from the byte offsets where records start. The csv reader's own line count
/// is one short on every record after the first when lines end in CRLF (it counts a
/// record's `\n` only once the next record has started: rust-csv issue 395), and Windows
/// tools, the Teams admin center's export among them, write CRLF.
struct RecordLines<'a> {
    text: &'a [u8],
    /// A byte offset already counted, and the line it is on.
    at: usize,
    line: u64,
}

impl<'a> RecordLines<'a> {
    fn new(text: &'a str) -> RecordLines<'a> {
        RecordLines { text: text.as_bytes(), at: 0, line: 1 }
    }

    /// The 1-based line of the record the reader says starts at byte `byte`. The reader may
    /// place it on the end of the line before (the `\n` of a CRLF), so the start moves past
    /// line ends first: no record begins with one, and the reader skips empty lines.
    fn line_of(&mut self, byte: u64) -> u64 {
        let mut b = usize::try_from(byte).unwrap_or(usize::MAX).min(self.text.len());
        while b < self.text.len() && matches!(self.text[b], b'\r' | b'\n') {
            b += 1;
        }
        if b < self.at {
            // Records come in order; start over if one ever does not.
            (self.at, self.line) = (0, 1);
        }
        self.line += (self.at..b).filter(|&i| ends_line(self.text, i)).count() as u64;
        self.at = b;
        self.line
    }
}

/// A trace file's bytes as text, and the lines that were not valid UTF-8. Exports are UTF-8,
/// but one caller name written in Latin-1 (Asterisk's `cdr_csv` copies `CALLERID(name)` byte
/// for byte) must not cost the whole trace: each invalid sequence becomes U+FFFD. tpr reads no
/// name column, and a column it does read that holds one fails to parse, so that row is
/// skipped (or stops a strict read) like any other bad row.
pub fn decode(bytes: Vec<u8>) -> (String, Vec<u64>) {
    match String::from_utf8(bytes) {
        Ok(text) => (text, Vec::new()),
        Err(e) => {
            let bytes = e.into_bytes();
            let mut bad = Vec::new();
            let (mut line, mut start) = (1, 0);
            for i in 0..=bytes.len() {
                if i == bytes.len() || ends_line(&bytes, i) {
                    if std::str::from_utf8(&bytes[start..i]).is_err() {
                        bad.push(line);
                    }
                    (line, start) = (line + 1, i + 1);
                }
            }
            (String::from_utf8_lossy(&bytes).into_owned(), bad)
        }
    }
}

impl Rows<'_> {
    fn bad(&mut self, line: u64, message: String) -> Result<(), TraceError> {
        let e = TraceError { line, message };
        if self.strict {
            return Err(e);
        }
        self.skipped.push(e);
        Ok(())
    }

    /// A CSV record and its line, or `None` for a row the reader could not split (reported).
    fn record(
        &mut self,
        rec: Result<csv::StringRecord, csv::Error>,
    ) -> Result<Option<(csv::StringRecord, u64)>, TraceError> {
        match rec {
            Ok(r) => {
                let line = r.position().map_or(0, |p| self.lines.line_of(p.byte()));
                Ok(Some((r, line)))
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| self.lines.line_of(p.byte()));
                self.bad(line, e.to_string())?;
                Ok(None)
            }
        }
    }

    fn push(&mut self, t: i64, call: TraceCall) -> Result<(), TraceError> {
        if self.calls.len() >= MAX_ROWS {
            return Err(TraceError {
                line: call.line,
                message: format!("more than {MAX_ROWS} calls in one trace"),
            });
        }
        self.calls.push((t, call));
        Ok(())
    }

    /// A caller that is a tenant number or user id.
    fn party(&self, caller: &str) -> Option<UserId> {
        self.engine
            .lookup(caller)
            .or_else(|| e164(caller).and_then(|n| self.engine.lookup(&n)))
            .or_else(|| self.engine.party(caller))
    }

    fn via(&self, s: &str) -> Option<Ingress> {
        ingress(self.engine, s)
    }

    fn tpr(&mut self, text: &str) -> Result<(), TraceError> {
        let mut rd = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
        let headers =
            rd.headers().map_err(|e| TraceError { line: 1, message: e.to_string() })?.clone();
        let want = ["start", "direction", "caller", "dialed", "duration_s", "outcome"];
        let col: Vec<Option<usize>> = want
            .iter()
            .chain(["via"].iter())
            .map(|w| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(w)))
            .collect();
        if let Some(missing) = want.iter().zip(&col).find(|(_, c)| c.is_none()) {
            return Err(TraceError { line: 1, message: format!("no {:?} column", missing.0) });
        }
        let col = |i: usize| col[i].unwrap_or(usize::MAX);
        for rec in rd.records() {
            let Some((rec, line)) = self.record(rec)? else { continue };
            let get = |i: usize| rec.get(col(i)).unwrap_or("").trim();
            let Some(t) = parse_time_ms(get(0)).or_else(|| seconds_ms(get(0)).map(|ms| ms as i64))
            else {
                self.bad(line, format!("start {:?} is not a time", get(0)))?;
                continue;
            };
            let direction = match get(1) {
                "outbound" | "out" => Direction::Outbound,
                "inbound" | "in" => Direction::Inbound,
                d => {
                    self.bad(line, format!("direction {d:?} is not outbound or inbound"))?;
                    continue;
                }
            };
            let Some(hold_ms) = seconds_ms(get(4)) else {
                self.bad(line, format!("duration_s {:?} is not a number of seconds", get(4)))?;
                continue;
            };
            let outcome = match get(5).to_ascii_lowercase().as_str() {
                "answered" | "200" => TraceOutcome::Answered,
                "no-answer" | "no answer" | "487" => TraceOutcome::NoAnswer,
                "busy" => TraceOutcome::Code(486),
                c => match c.parse::<u16>() {
                    Ok(code) if (300..=699).contains(&code) => TraceOutcome::Code(code),
                    _ => {
                        self.bad(
                            line,
                            format!("outcome {c:?}: answered, no-answer, busy or a SIP code"),
                        )?;
                        continue;
                    }
                },
            };
            let (caller, dialed) = (get(2).to_owned(), get(3).to_owned());
            if dialed.is_empty() || dialed.len() > 64 || caller.len() > 64 {
                self.bad(line, "dialed is empty, or a number is longer than 64 characters".into())?;
                continue;
            }
            let via = match get(6) {
                "" => None,
                v => match self.via(v) {
                    Some(v) => Some(v),
                    None => {
                        self.bad(line, format!("via {v:?}: no such gateway or trunk"))?;
                        continue;
                    }
                },
            };
            let caller_party = match direction {
                Direction::Outbound => self.party(&caller),
                Direction::Inbound => None,
            };
            let call = TraceCall {
                line,
                at_ms: 0,
                direction,
                caller,
                caller_party,
                dialed,
                via,
                hold_ms,
                outcome,
            };
            self.push(t, call)?;
        }
        Ok(())
    }

    fn asterisk(&mut self, text: &str) -> Result<(), TraceError> {
        let mut rd = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        // Legs grouped by call, in order of first appearance.
        struct Group {
            line: u64,
            start: i64,
            src: String,
            dst: String,
            billsec: u64,
            local: bool,
            answered: bool,
            busy: bool,
            failed: bool,
        }
        let mut order: Vec<String> = Vec::new();
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        for rec in rd.records() {
            let Some((rec, line)) = self.record(rec)? else { continue };
            if rec.len() == 1 && rec[0].trim().is_empty() {
                continue;
            }
            if rec.len() < 16 {
                self.bad(line, format!("{} columns; cdr_csv writes at least 16", rec.len()))?;
                continue;
            }
            let Some(start) = parse_time_ms(&rec[9]) else {
                self.bad(line, format!("start {:?} is not a time", &rec[9]))?;
                continue;
            };
            let Ok(billsec) = rec[13].trim().parse::<u64>() else {
                self.bad(line, format!("billsec {:?} is not a number", &rec[13]))?;
                continue;
            };
            let disposition = rec[14].trim().to_ascii_uppercase();
            if !matches!(
                disposition.as_str(),
                "ANSWERED" | "NO ANSWER" | "BUSY" | "FAILED" | "CONGESTION"
            ) {
                self.bad(line, format!("disposition {disposition:?} is not one Asterisk writes"))?;
                continue;
            }
            // linkedid (column 20) groups the legs of one call; else the uniqueid.
            let key = match (rec.get(19), rec.get(16)) {
                (Some(l), _) if !l.is_empty() => l.to_owned(),
                (_, Some(u)) if !u.is_empty() => u.to_owned(),
                _ => format!("line {line}"),
            };
            let g = groups.entry(key.clone()).or_insert_with(|| {
                order.push(key);
                Group {
                    line,
                    start,
                    src: rec[1].to_owned(),
                    dst: rec[2].to_owned(),
                    billsec: 0,
                    local: rec[5].starts_with("Local/"),
                    answered: false,
                    busy: false,
                    failed: false,
                }
            });
            // The call's own numbers are on its SIP legs; `Local/` helper legs (dst "leg1" in
            // a ring-group context) only add outcomes.
            if g.local && !rec[5].starts_with("Local/") {
                g.local = false;
                g.src = rec[1].to_owned();
                g.dst = rec[2].to_owned();
            }
            if start < g.start {
                g.start = start;
            }
            g.billsec = g.billsec.max(billsec);
            match disposition.as_str() {
                "ANSWERED" => g.answered = true,
                "BUSY" => g.busy = true,
                "FAILED" | "CONGESTION" => g.failed = true,
                _ => {}
            }
        }
        for key in order {
            let Some(g) = groups.remove(&key) else { continue };
            let outcome = if g.answered && g.billsec > 0 {
                TraceOutcome::Answered
            } else if g.busy {
                TraceOutcome::Code(486)
            } else if g.failed {
                TraceOutcome::Code(503)
            } else {
                TraceOutcome::NoAnswer
            };
            let caller_party = self.party(&g.src);
            let direction =
                if caller_party.is_some() { Direction::Outbound } else { Direction::Inbound };
            let call = TraceCall {
                line: g.line,
                at_ms: 0,
                direction,
                caller: g.src,
                caller_party,
                dialed: g.dst,
                via: None,
                hold_ms: g.billsec * 1000,
                outcome,
            };
            self.push(g.start, call)?;
        }
        Ok(())
    }

    fn teams(&mut self, text: &str, format: TraceFormat) -> Result<(), TraceError> {
        let mut rd = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
        let headers =
            rd.headers().map_err(|e| TraceError { line: 1, message: e.to_string() })?.clone();
        let find = |names: &[&str]| {
            headers.iter().position(|h| {
                let h = h.trim().to_ascii_lowercase();
                names.iter().any(|n| h == *n)
            })
        };
        let time = find(&[
            "invite time (utc)",
            "start time (utc)",
            "start time",
            "time stamp (utc)",
            "timestamp (utc)",
            "time stamp",
        ]);
        let call_type = find(&["call type"]);
        let duration = find(&["duration", "duration (seconds)"]);
        let (caller, callee) = match format {
            TraceFormat::TeamsDirectRouting => {
                (find(&["caller number", "phone number"]), find(&["callee number", "called to"]))
            }
            _ => (find(&["called from"]), find(&["called to"])),
        };
        let upn = find(&["sip address", "username", "user principal name"]);
        let sbc = find(&["sbc fqdn"]);
        let code = find(&["final sip code"]);
        let success = find(&["event type", "successful call"]);
        for (name, c) in [
            ("time", time),
            ("call type", call_type),
            ("duration", duration),
            ("caller", caller),
            ("callee", callee),
        ] {
            if c.is_none() {
                return Err(TraceError {
                    line: 1,
                    message: format!("no {name} column in the {} header", format.as_str()),
                });
            }
        }
        let at = |c: Option<usize>| c.unwrap_or(usize::MAX);
        for rec in rd.records() {
            let Some((rec, line)) = self.record(rec)? else { continue };
            let get = |c: Option<usize>| rec.get(at(c)).unwrap_or("").trim();
            let Some(t) = parse_time_ms(get(time)) else {
                self.bad(line, format!("time {:?} is not a time", get(time)))?;
                continue;
            };
            let kind = get(call_type).to_ascii_lowercase();
            let direction = if kind.ends_with("_in") || kind.contains("_in_") || kind == "ucap_in" {
                Direction::Inbound
            } else {
                Direction::Outbound
            };
            let Some(hold_ms) = seconds_ms(get(duration)) else {
                self.bad(line, format!("duration {:?} is not seconds", get(duration)))?;
                continue;
            };
            let answered = match (format, get(success).to_ascii_lowercase().as_str()) {
                (TraceFormat::TeamsCallingPlan, _) => true,
                (_, "success" | "true") => true,
                (_, "attempt" | "false") => false,
                _ => hold_ms > 0,
            };
            let outcome = if answered {
                TraceOutcome::Answered
            } else {
                match get(code).parse::<u16>() {
                    Ok(487) => TraceOutcome::NoAnswer,
                    Ok(c) if (300..=699).contains(&c) => TraceOutcome::Code(c),
                    _ => TraceOutcome::Code(503),
                }
            };
            let caller_no = get(caller).to_owned();
            let dialed = get(callee).to_owned();
            if dialed.is_empty() {
                self.bad(line, "no callee number".into())?;
                continue;
            }
            let (caller_party, via) = match direction {
                Direction::Outbound => {
                    let by_upn = get(upn).split('@').next().and_then(|id| self.engine.party(id));
                    (by_upn.or_else(|| self.party(&caller_no)), None)
                }
                Direction::Inbound => {
                    let via = match format {
                        TraceFormat::TeamsCallingPlan => Some(Ingress::CallingPlan),
                        _ => self.via(get(sbc)),
                    };
                    (None, via)
                }
            };
            let call = TraceCall {
                line,
                at_ms: 0,
                direction,
                caller: caller_no,
                caller_party,
                dialed,
                via,
                hold_ms,
                outcome,
            };
            self.push(t, call)?;
        }
        Ok(())
    }
}

/// An ingress by name: a gateway FQDN, `calling-plan` or `operator:<trunk>`.
pub fn ingress(engine: &Engine, s: &str) -> Option<Ingress> {
    match s {
        "" => None,
        "calling-plan" | "calling_plan" => Some(Ingress::CallingPlan),
        s if s.starts_with("operator:") => (0..engine.trunk_count())
            .map(|i| TrunkId::from_index(i as u16))
            .find(|t| engine.trunk_name(*t).eq_ignore_ascii_case(&s[9..]))
            .map(Ingress::Operator),
        s => engine.gateway(s).map(Ingress::Gateway),
    }
}

/// `13125550101` → `+13125550101`: digits long enough to carry a country code.
fn e164(s: &str) -> Option<String> {
    let digits = s.strip_prefix("011").unwrap_or(s);
    (digits.len() >= 11 && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("+{digits}"))
}

/// Seconds (integer or decimal) as ms.
fn seconds_ms(s: &str) -> Option<u64> {
    let v: f64 = s.trim().parse().ok()?;
    (v.is_finite() && (0.0..=86_400.0 * 400.0).contains(&v)).then(|| (v * 1000.0).round() as u64)
}

/// `2025-03-10 09:02:11`, `2025-03-10T09:02:11.1234567Z`, `2025/3/13 11:05`: ms since 1970
/// (the zone is ignored: a trace is in one zone).
pub fn parse_time_ms(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('Z');
    let (date, time) = s.split_once(['T', ' '])?;
    let mut d = date.split(['-', '/']);
    let (y, m, day): (i64, u32, u32) =
        (d.next()?.parse().ok()?, d.next()?.parse().ok()?, d.next()?.parse().ok()?);
    if d.next().is_some()
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&day)
        || !(1900..=9999).contains(&y)
    {
        return None;
    }
    let time = time.split(['+']).next()?;
    let mut t = time.split(':');
    let h: i64 = t.next()?.parse().ok()?;
    let min: i64 = t.next()?.parse().ok()?;
    let sec: f64 = match t.next() {
        Some(x) => x.parse().ok()?,
        None => 0.0,
    };
    if t.next().is_some()
        || !(0..24).contains(&h)
        || !(0..60).contains(&min)
        || !(0.0..61.0).contains(&sec)
    {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + min) * 60_000 + (sec * 1000.0).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time_ms("1970-01-01 00:00:01"), Some(1000));
        assert_eq!(parse_time_ms("2025-03-10 09:02:11"), Some(1_741_597_331_000));
        assert_eq!(parse_time_ms("2025-03-10T09:02:11.25Z"), Some(1_741_597_331_250));
        assert_eq!(parse_time_ms("2025/3/13 11:05"), Some(1_741_863_900_000));
        for bad in ["", "2025-13-01 00:00:00", "2025-03-10", "x 1:2:3", "2025-03-10 25:00:00"] {
            assert_eq!(parse_time_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(e164("13125550101").as_deref(), Some("+13125550101"));
        assert_eq!(e164("01144201234567").as_deref(), Some("+44201234567"));
        assert_eq!(e164("5550100"), None);
        assert_eq!(seconds_ms("27"), Some(27_000));
        assert_eq!(seconds_ms("-1"), None);
    }
}
