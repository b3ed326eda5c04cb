//! `--sipp DIR` of `tpr sim` and `tpr replay`: the INVITEs a run sent to each Direct Routing
//! SBC, written as SIPp injection files (`-inf`), with a UAC scenario that plays them. A load
//! tester points SIPp at a lab SBC and sends it the calls Teams would have sent, with the
//! numbers as the SBC would see them (after the gateway's outbound translation rules).
//!
//! The directory gets `uac.xml` (calls at the even rate SIPp is given), `uac-timed.xml`
//! (each INVITE at its time in the run), `all.csv` (every INVITE, in the order sent) and one
//! `<fqdn>.csv` per SBC that got any. Each injection file is SEQUENTIAL, one INVITE per line,
//! fields separated by `;` (the layout is in `uac.xml` and docs/formats.md).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::ops::Range;
use std::path::Path;

use tpr_router::{CallerId, Engine, GatewayId, Scratch};
use tpr_sim::{Invite, InviteLog};

use crate::UserError;

/// The UAC scenario the injection files are written for.
pub const UAC_SCENARIO: &str = include_str!("sipp_uac.xml");

/// What `uac-timed.xml` puts in front of the INVITE: wait until `[field4]` ms after SIPp
/// started (`[clock_tick]` counts them); a call SIPp starts after its time goes at once, and
/// one more than 100 ms late says so in SIPp's log (`-trace_logs`).
const WAIT_FOR_SEND_TIME: &str = r#"
  <nop>
    <action>
      <assignstr assign_to="tick" value="[clock_tick]"/>
      <todouble assign_to="now_ms" variable="tick"/>
      <assignstr assign_to="sent_at" value="[field4]"/>
      <todouble assign_to="wait_ms" variable="sent_at"/>
      <subtract assign_to="wait_ms" variable="now_ms"/>
      <test assign_to="early" variable="wait_ms" compare="greater_than" value="0"/>
      <test assign_to="late" variable="wait_ms" compare="less_than" value="-100"/>
    </action>
  </nop>
  <pause variable="wait_ms" condexec="early"/>
  <nop condexec="late">
    <action>
      <log message="late: the INVITE to [field1] due at [field4] ms leaves at [$tick] ms"/>
    </action>
  </nop>
"#;

/// [`UAC_SCENARIO`] with each INVITE leaving at its time in the run.
pub fn timed_scenario() -> String {
    let plain = r#"<scenario name="tpr: Teams Direct Routing call to an SBC">"#;
    let timed =
        r#"<scenario name="tpr: Teams Direct Routing call to an SBC, at its time in the run">"#;
    UAC_SCENARIO.replacen(plain, &format!("{timed}{WAIT_FOR_SEND_TIME}"), 1)
}

/// Refuses, before the run, a `--sipp` directory that cannot be written: `-`, a file, or a
/// missing parent (the directory itself is created if need be).
pub fn check_dir(dir: &Path) -> Result<(), UserError> {
    let problem = if dir == Path::new("-") {
        "it writes a directory, not standard output".to_owned()
    } else if dir.exists() && !dir.is_dir() {
        "it exists and is not a directory".to_owned()
    } else {
        match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() && !p.is_dir() => {
                format!("no directory {}", p.display())
            }
            _ => return Ok(()),
        }
    };
    Err(UserError::Message(format!("--sipp {}: {problem}", dir.display())))
}

/// What the files' headers say about the run.
pub struct Source<'a> {
    /// What ran, as `scenarios/x.toml (seed 5)`.
    pub run: &'a str,
    /// Simulated time the calls arrived over, ms (the average rate SIPp is told to keep).
    pub duration_ms: u64,
}

/// What [`write`] wrote.
#[derive(Debug)]
pub struct Written {
    /// INVITEs written, per SBC FQDN.
    pub per_gateway: BTreeMap<String, usize>,
    /// INVITEs left out: a field SIPp cannot carry (see [`fields`]).
    pub left_out: usize,
}

impl Written {
    /// INVITEs written.
    pub fn invites(&self) -> usize {
        self.per_gateway.values().sum()
    }
}

/// The fields of one injection line (see `uac.xml`), or `None` if one of them holds what a
/// SIPp injection file cannot carry: `;` (the field separator), a line break, or a `#` at the
/// start of the line (a comment to SIPp, so the call would silently go missing).
pub fn fields(
    engine: &Engine,
    scratch: &mut Scratch,
    log: &InviteLog,
    invite: &Invite,
) -> Option<String> {
    let call = log.call(invite);
    let g = invite.gateway;
    let own = engine.number_of(call.caller).filter(|n| !n.is_empty());
    let presented = match call.caller_id {
        CallerId::Own => own,
        CallerId::Resource(ra) => engine.number_of(ra).filter(|n| !n.is_empty()),
        CallerId::Anonymous | CallerId::None => None,
    };
    let (callee, from) = engine.outbound_numbers(g, call.number, presented.unwrap_or(""), scratch);
    // A hidden caller ID still travels in P-Asserted-Identity, with `Privacy: id`.
    let (from, asserted, privacy) = match (presented, own) {
        (Some(_), _) => (from.clone(), from, "none"),
        (None, Some(own)) => {
            ("anonymous".to_owned(), engine.outbound_numbers(g, "", own, scratch).1, "id")
        }
        (None, None) => ("anonymous".to_owned(), "anonymous".to_owned(), "id"),
    };
    let line = format!(
        "{from};{callee};{};{};{};{asserted};{privacy}",
        engine.gateway_name(g),
        call.talk_ms,
        invite.at_ms
    );
    let fits = [&from, &callee, &asserted].iter().all(|f| !f.contains([';', '\n', '\r']))
        && !line.starts_with('#');
    fits.then_some(line)
}

/// Writes the injection files and `uac.xml` into `dir` (created if missing).
pub fn write(
    dir: &Path,
    engine: &Engine,
    log: &InviteLog,
    source: &Source<'_>,
) -> anyhow::Result<Written> {
    // Every line once, end to end (a day's run has hundreds of thousands), and where each
    // lies, by SBC.
    let mut body = String::new();
    let mut by_gateway: BTreeMap<GatewayId, Vec<Range<usize>>> = BTreeMap::new();
    let mut scratch = Scratch::new();
    let mut left_out = 0;
    for invite in log.invites() {
        match fields(engine, &mut scratch, log, invite) {
            Some(line) => {
                let start = body.len();
                body.push_str(&line);
                body.push('\n');
                by_gateway.entry(invite.gateway).or_default().push(start..body.len());
            }
            None => left_out += 1,
        }
    }
    let cannot = |path: &Path, e: std::io::Error| {
        UserError::Message(format!("cannot write {}: {e}", path.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| cannot(dir, e))?;
    let put = |name: &str, parts: &mut dyn Iterator<Item = &str>| -> anyhow::Result<()> {
        let path = dir.join(name);
        let file = std::fs::File::create(&path).map_err(|e| cannot(&path, e))?;
        let mut out = std::io::BufWriter::new(file);
        let copy = || -> std::io::Result<()> {
            for p in parts {
                out.write_all(p.as_bytes())?;
            }
            out.flush()
        };
        copy().map_err(|e| cannot(&path, e))?;
        Ok(())
    };
    put("uac.xml", &mut std::iter::once(UAC_SCENARIO))?;
    put("uac-timed.xml", &mut std::iter::once(timed_scenario().as_str()))?;
    let total = by_gateway.values().map(Vec::len).sum();
    let to = To { name: "every Direct Routing SBC", address: "SBC:PORT".to_owned() };
    let head = header(total, &Timed::of(body.lines().map(timing)), &to, "all.csv", source);
    put("all.csv", &mut [head.as_str(), body.as_str()].into_iter())?;
    let mut written = Written { per_gateway: BTreeMap::new(), left_out };
    for (g, lines) in &by_gateway {
        let fqdn = engine.gateway_name(*g);
        // FQDNs are letters, digits, '-' and '.' (the tenant loader checks), so they make
        // safe file names; lowercase, as SBC names are case-insensitive.
        let name = format!("{}.csv", fqdn.to_ascii_lowercase());
        let to = To { name: fqdn, address: format!("{fqdn}:{}", engine.gateway_port(*g)) };
        let timed = Timed::of(lines.iter().map(|r| timing(&body[r.clone()])));
        let head = header(lines.len(), &timed, &to, &name, source);
        let mut parts =
            std::iter::once(head.as_str()).chain(lines.iter().map(|r| &body[r.clone()]));
        put(&name, &mut parts)?;
        written.per_gateway.insert(fqdn.to_owned(), lines.len());
    }
    Ok(written)
}

/// Where an injection file's INVITEs went: a name for its header, and the address to give
/// SIPp.
struct To<'a> {
    name: &'a str,
    address: String,
}

/// Fields 4 and 3 of a line: when its INVITE went out, ms from the start of the run, and the
/// talk time, ms.
fn timing(line: &str) -> (u64, u64) {
    let field = |i| line.split(';').nth(i).and_then(|f: &str| f.parse().ok()).unwrap_or(0);
    (field(4), field(3))
}

/// How long a call counts as open in SIPp besides its talk time: the SBC's answer (post-dial
/// delay and ringing) and the hang-up.
const ANSWER_AND_HANG_UP_MS: u64 = 30_000;

/// How SIPp plays a file with `uac-timed.xml`: in users mode (`-users N`) each of `N` calls
/// takes the next line, waits for its send time, calls, and when it ends takes the next line.
/// An INVITE then leaves on time as long as fewer than `N` earlier calls are still open when
/// it is due, so `users` is the most calls of the file open at once, each from its send time
/// to [`ANSWER_AND_HANG_UP_MS`] past its talk time. (Started at a fixed rate instead, SIPp
/// has to run ahead of the busiest stretch all day, and a diurnal day keeps tens of
/// thousands of calls waiting in it.)
#[derive(Debug, PartialEq, Eq)]
struct Timed {
    users: usize,
}

impl Timed {
    /// For each line's send time and talk time, ms, in the order of the file (ascending send
    /// times).
    fn of(lines: impl Iterator<Item = (u64, u64)>) -> Timed {
        let mut open = BinaryHeap::new();
        let mut users = 1;
        for (at, talk) in lines {
            while open.peek().is_some_and(|&Reverse(end)| end <= at) {
                open.pop();
            }
            open.push(Reverse(at.saturating_add(talk).saturating_add(ANSWER_AND_HANG_UP_MS)));
            users = users.max(open.len());
        }
        Timed { users }
    }
}

/// The start of an injection file of `n` INVITEs: the mode line, then comments on where the
/// calls came from and how to play them.
fn header(n: usize, timed: &Timed, to: &To<'_>, name: &str, source: &Source<'_>) -> String {
    let mut s = String::from("SEQUENTIAL\n");
    let _ = writeln!(
        s,
        "# {}: the {n} INVITEs Teams sent to {} over {} of simulated time, in the order sent",
        source.run,
        to.name,
        tpr_sim::duration::format_ms(source.duration_ms)
    );
    s.push_str(
        "# fields: From user; Request-URI user; SBC FQDN; talk ms; sent at ms; \
         P-Asserted-Identity user; Privacy (see uac.xml)\n",
    );
    let _ = writeln!(
        s,
        "# at the run's average rate: sipp {} -sf uac.xml -inf {name} -m {n} -r {n} -rp {}",
        to.address,
        source.duration_ms.max(1)
    );
    let _ = writeln!(
        s,
        "# at the times of the run: sipp {} -sf uac-timed.xml -inf {name} -m {n} -users {}",
        to.address, timed.users
    );
    let secs = ANSWER_AND_HANG_UP_MS / 1000;
    let _ = writeln!(
        s,
        "# (-users: the most of these calls open at once, each from its INVITE to {secs} s past \
         its talk time; an INVITE due while all are busy leaves late, and with -trace_logs SIPp \
         logs each one over 100 ms late)"
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOLD: u64 = ANSWER_AND_HANG_UP_MS;

    #[test]
    fn users_are_the_most_calls_open_at_once() {
        // Nothing: one user all the same (SIPp wants at least one).
        assert_eq!(Timed::of(std::iter::empty()), Timed { users: 1 });
        // Calls one after another, each ending (talk + answer and hang-up) before the next.
        let apart = (0..5).map(|i| (i * (10 + HOLD), 10));
        assert_eq!(Timed::of(apart), Timed { users: 1 });
        // A call ending exactly when the next is due frees its user in time.
        assert_eq!(Timed::of([(0, 0), (HOLD, 0)].into_iter()), Timed { users: 1 });
        assert_eq!(Timed::of([(0, 1), (HOLD, 0)].into_iter()), Timed { users: 2 });
        // Three overlapping, then a long quiet stretch, then two: three at most.
        let day = [(0, 60_000), (1_000, 60_000), (2_000, 1), (3_600_000, 5), (3_600_001, 5)];
        assert_eq!(Timed::of(day.into_iter()), Timed { users: 3 });
        // A burst of 100 calls of a minute each within a second, among a trickle before.
        let trickle = (0..50).map(|i| (i * 100_000, 1_000));
        let burst = (0..100).map(|i| (6_000_000 + i * 10, 60_000));
        assert_eq!(Timed::of(trickle.chain(burst)), Timed { users: 100 });
    }

    #[test]
    fn timing_reads_the_send_and_talk_fields() {
        assert_eq!(
            timing("3125550100;2065550100;sbc1.example.com;36936;9006;3125550100;none"),
            (9006, 36936)
        );
        assert_eq!(timing("a;b;c"), (0, 0));
    }
}
