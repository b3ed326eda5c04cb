//! `tpr sim --sipp DIR`: the SIPp injection files agree with the run they come from, carry the
//! numbers as each SBC gets them, and real SIPp plays them against an SBC stand-in.
//!
//! The last test needs SIPp (`sipp` on PATH; Debian's `sip-tester`). Without it the test says
//! so and passes, unless `TPR_REQUIRE_SIPP` is set, as CI sets it after installing SIPp.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn tpr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tpr"))
        .args(args)
        .current_dir(workspace())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tpr-sipp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const SCENARIO: &str = "crates/cli/tests/data/sipp/scenario.toml";

/// An injection file: its data lines split into fields (mode line and comments left out).
fn rows(path: &Path) -> Vec<Vec<String>> {
    let body = std::fs::read_to_string(path).unwrap();
    let mut lines = body.lines();
    assert_eq!(lines.next(), Some("SEQUENTIAL"), "{}", path.display());
    lines
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(';').map(str::to_owned).collect())
        .collect()
}

/// The report without the wall-clock fields (the rest is the same run for run).
fn deterministic(json: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
    for k in ["wall_ms", "events_per_s", "decision_latency_ns"] {
        v.as_object_mut().unwrap().remove(k);
    }
    v
}

#[test]
fn sipp_export_holds_every_invite_of_the_run_and_changes_nothing_else() {
    // The outage brings retries from other datacenters and failovers; the test scenario's
    // sbc2 refuses calls past its enforced cap (503).
    for (scenario, min_files) in [("scenarios/storms/sbc-outage.toml", 2), (SCENARIO, 2)] {
        let dir = scratch("report");
        let sipp = dir.join("out");
        let (with, without) = (dir.join("with.json"), dir.join("without.json"));
        let out = tpr(&[
            "sim",
            scenario,
            "--quiet",
            "--json",
            with.to_str().unwrap(),
            "--sipp",
            sipp.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let out = tpr(&["sim", scenario, "--quiet", "--json", without.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let said = text(&out.stderr);
        assert!(said.is_empty(), "without --sipp nothing is said: {said}");
        let report = deterministic(&std::fs::read_to_string(&with).unwrap());
        let plain = deterministic(&std::fs::read_to_string(without).unwrap());
        assert_eq!(report, plain, "{scenario}");

        // Per SBC, one line per INVITE the report counts: first tries, retries to another
        // datacenter, and INVITEs the SBC refused at its own cap.
        let mut total = 0;
        let mut files = 0;
        let mut kinds = [0; 3];
        for (fqdn, g) in report["gateways"].as_object().unwrap() {
            let counts = ["attempts", "retries", "cap_refused"].map(|k| g[k].as_u64().unwrap());
            let sent: u64 = counts.iter().sum();
            let path = sipp.join(format!("{fqdn}.csv"));
            if sent == 0 {
                assert!(!path.exists(), "{fqdn} got no INVITE but has a file");
                continue;
            }
            let lines = rows(&path);
            assert_eq!(lines.len() as u64, sent, "{scenario}: {fqdn}");
            assert!(lines.iter().all(|f| f.len() == 7 && f[2] == *fqdn), "{fqdn}");
            total += sent;
            files += 1;
            for (k, n) in kinds.iter_mut().zip(counts) {
                *k += n;
            }
        }
        assert!(files >= min_files, "{scenario}: {files} SBCs");
        let all = rows(&sipp.join("all.csv"));
        assert_eq!(all.len() as u64, total, "{scenario}");
        // In the order sent: the send times never go back.
        let at: Vec<u64> = all.iter().map(|f| f[4].parse().unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] <= w[1]), "{scenario}");
        let uac = std::fs::read_to_string(sipp.join("uac.xml")).unwrap();
        assert!(uac.contains("INVITE sip:[field1]@[field2]"));
        std::fs::remove_dir_all(&dir).unwrap();
        // What each scenario is here for.
        match scenario {
            SCENARIO => assert!(kinds[2] > 0, "cap refusals: {kinds:?}"),
            _ => assert!(kinds[1] > 0, "retries: {kinds:?}"),
        }
    }
}

#[test]
fn sipp_export_carries_numbers_as_each_sbc_gets_them() {
    let dir = scratch("numbers");
    let out = tpr(&["sim", SCENARIO, "--quiet", "--sipp", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(
        said.starts_with(&format!("tpr: --sipp {}: ", dir.display()))
            && said.contains("(sbc1.example.com ")
            && said.contains("sbc2.example.com "),
        "{said}"
    );

    // sbc1's outbound rules strip +1 from both numbers; sbc2 has none.
    let sbc1 = rows(&dir.join("sbc1.example.com.csv"));
    let sbc2 = rows(&dir.join("sbc2.example.com.csv"));
    assert!(sbc1.len() >= 10 && sbc2.len() >= 5, "{} and {}", sbc1.len(), sbc2.len());
    let ten_digits = |s: &str| s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit());
    for f in &sbc1 {
        assert!(ten_digits(&f[1]), "{f:?}");
        match f[6].as_str() {
            "none" => assert_eq!((f[0].as_str(), f[5].as_str()), ("3125550160", "3125550160")),
            "id" => assert_eq!((f[0].as_str(), f[5].as_str()), ("anonymous", "3125550161")),
            other => panic!("privacy {other}"),
        }
    }
    for f in &sbc2 {
        assert!(f[1].starts_with('+') && !f[1].starts_with("+1"), "{f:?}");
        match f[6].as_str() {
            "none" => assert_eq!((f[0].as_str(), f[5].as_str()), ("+13125550160", "+13125550160")),
            "id" => assert_eq!((f[0].as_str(), f[5].as_str()), ("anonymous", "+13125550161")),
            other => panic!("privacy {other}"),
        }
    }
    // Both callers call through both SBCs.
    for rows in [&sbc1, &sbc2] {
        let privacy: HashSet<&str> = rows.iter().map(|f| f[6].as_str()).collect();
        assert_eq!(privacy.len(), 2);
    }
    // The header says how to play the file at the run's average rate (10 minutes).
    let head = std::fs::read_to_string(dir.join("sbc1.example.com.csv")).unwrap();
    let n = sbc1.len();
    assert!(
        head.contains(&format!(
            "# at the run's average rate: sipp sbc1.example.com:5061 -sf uac.xml -inf \
             sbc1.example.com.csv -m {n} -r {n} -rp 600000\n"
        )),
        "{head}"
    );
    // And how many users (calls open at once) uac-timed.xml needs: counted by brute force,
    // the most calls open at any send time, each from its send time to 30 s past its talk.
    let span: Vec<(u64, u64)> =
        sbc1.iter().map(|f| (f[4].parse().unwrap(), f[3].parse::<u64>().unwrap())).collect();
    let users = span
        .iter()
        .map(|&(at, _)| span.iter().filter(|&&(t, talk)| t <= at && at < t + talk + 30_000).count())
        .max()
        .unwrap();
    assert!(
        head.contains(&format!(
            "# at the times of the run: sipp sbc1.example.com:5061 -sf uac-timed.xml -inf \
             sbc1.example.com.csv -m {n} -users {users}\n# (-users: the most of these calls \
             open at once, each from its INVITE to 30 s past its talk time; an INVITE due while \
             all are busy leaves late, and with -trace_logs SIPp logs each one over 100 ms \
             late)\n"
        )),
        "{head}"
    );
    assert!(users > 1 && users < n / 2, "{users} users for {n} calls");
    assert!(dir.join("uac-timed.xml").is_file());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sipp_export_is_refused_where_it_cannot_be_written() {
    let dir = scratch("refused");
    let file = dir.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let missing = dir.join("no/such/dir");
    let cases: [(&[&str], String); 4] = [
        (&["--sipp", "-"], "--sipp -: it writes a directory, not standard output".to_owned()),
        (
            &["--sipp", file.to_str().unwrap()],
            format!("--sipp {}: it exists and is not a directory", file.display()),
        ),
        (
            &["--sipp", missing.to_str().unwrap()],
            format!("--sipp {}: no directory {}", missing.display(), dir.join("no/such").display()),
        ),
        (
            &["--sipp", dir.to_str().unwrap(), "--repetitions", "2"],
            "--sipp exports the calls of one run, not 2: give one scenario and no --repetitions \
             above 1"
                .to_owned(),
        ),
    ];
    for (extra, why) in cases {
        let mut args = vec!["sim", SCENARIO, "--quiet"];
        args.extend_from_slice(extra);
        let out = tpr(&args);
        assert_eq!(out.status.code(), Some(1), "{extra:?}");
        assert_eq!(text(&out.stderr), format!("tpr: {why}\n"));
        assert!(out.stdout.is_empty(), "refused before the run: {extra:?}");
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "nothing written");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Is SIPp here? Without it, skip (say so), unless the environment requires it.
fn have_sipp() -> bool {
    let found =
        Command::new("sipp").arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if !found {
        assert!(
            std::env::var_os("TPR_REQUIRE_SIPP").is_none(),
            "TPR_REQUIRE_SIPP is set and there is no sipp on PATH"
        );
        eprintln!("skipped: no sipp on PATH (Debian: apt install sip-tester)");
    }
    found
}

/// A UDP port free on the loopback address just now.
fn free_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// One INVITE as the SBC stand-in received it.
#[derive(Debug)]
struct Received {
    /// Request-URI user, From user, P-Asserted-Identity user, Privacy.
    fields: [String; 4],
    /// When it arrived, ms since midnight (SIPp's message log time).
    at_ms: f64,
}

/// What the SBC stand-in's message log holds: the first copy of each INVITE (by Call-ID).
fn received_invites(log: &str) -> Vec<Received> {
    let user = |line: &str, after: &str| -> String {
        let rest = &line[line.find(after).unwrap() + after.len()..];
        rest[..rest.find('@').unwrap()].to_owned()
    };
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut at_ms = 0.0;
    let mut lines = log.lines().map(str::trim).peekable();
    while let Some(line) = lines.next() {
        // `----------- 2026-11-23 22:36:20.048483` before each message.
        if line.starts_with("-----") {
            let time = line.rsplit(' ').next().unwrap();
            let hms: Vec<f64> = time.split(':').map(|x| x.parse().unwrap()).collect();
            at_ms = ((hms[0] * 60.0 + hms[1]) * 60.0 + hms[2]) * 1000.0;
            continue;
        }
        if !line.starts_with("INVITE sip:") {
            continue;
        }
        let mut fields = [user(line, "INVITE sip:"), String::new(), String::new(), String::new()];
        let mut call_id = String::new();
        while let Some(h) = lines.next_if(|l| !l.is_empty()) {
            if let Some(v) = h.strip_prefix("From:") {
                fields[1] = user(v, "<sip:");
            } else if let Some(v) = h.strip_prefix("P-Asserted-Identity:") {
                fields[2] = user(v, "<sip:");
            } else if let Some(v) = h.strip_prefix("Privacy:") {
                fields[3] = v.trim().to_owned();
            } else if let Some(v) = h.strip_prefix("Call-ID:") {
                call_id = v.trim().to_owned();
            }
        }
        if seen.insert(call_id) {
            out.push(Received { fields, at_ms });
        }
    }
    out
}

/// Exports the test scenario and rewrites sbc1's file as `play.csv`, each line through
/// `change` (its index and fields), and returns the directory and the rewritten lines.
fn export_for_play(
    name: &str,
    change: impl Fn(usize, &mut Vec<String>),
) -> (PathBuf, Vec<Vec<String>>) {
    let dir = scratch(name);
    let out = tpr(&["sim", SCENARIO, "--quiet", "--sipp", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let file = std::fs::read_to_string(dir.join("sbc1.example.com.csv")).unwrap();
    let mut i = 0;
    let changed: String = file
        .lines()
        .map(|l| {
            if l == "SEQUENTIAL" || l.starts_with('#') {
                return format!("{l}\n");
            }
            let mut f: Vec<String> = l.split(';').map(str::to_owned).collect();
            change(i, &mut f);
            i += 1;
            format!("{}\n", f.join(";"))
        })
        .collect();
    std::fs::write(dir.join("play.csv"), changed).unwrap();
    let rows = rows(&dir.join("play.csv"));
    (dir, rows)
}

/// Plays `play.csv` in `dir` with the UAC scenario `uac` (and `start`: `-r` or `-users`)
/// against the SIPp SBC stand-in, asserts that every call completed, and returns what the
/// stand-in received and the lines the UAC wrote to its log.
fn play(dir: &Path, uac: &str, calls: usize, start: &[&str]) -> (Vec<Received>, Vec<String>) {
    // SIPp's log: `<scenario>_<pid>_logs.log`.
    let stem = uac.trim_end_matches(".xml");
    let calls = calls.to_string();
    let (sbc_port, uac_port) = (free_port(), free_port());
    let mut sbc = Command::new("sipp")
        .current_dir(dir)
        .args(["-sf", workspace().join("crates/cli/tests/data/sipp/sbc_uas.xml").to_str().unwrap()])
        .args(["-i", "127.0.0.1", "-p", &sbc_port.to_string(), "-m", &calls, "-nostdin"])
        .args(["-trace_msg", "-message_file", "sbc.log"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Listening once the port is taken.
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::UdpSocket::bind(("127.0.0.1", sbc_port)).is_ok() {
        assert!(Instant::now() < deadline, "the SIPp SBC stand-in did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let uac = Command::new("sipp")
        .current_dir(dir)
        .arg(format!("127.0.0.1:{sbc_port}"))
        .args(["-sf", uac, "-inf", "play.csv", "-m", &calls])
        .args(start)
        .args(["-i", "127.0.0.1", "-p", &uac_port.to_string(), "-nostdin", "-trace_logs"])
        .args(["-timeout", "60s", "-timeout_error"])
        .output()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let sbc_status = loop {
        if let Some(status) = sbc.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = sbc.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // SIPp exits 0 when every call went through the scenario to its end.
    assert_eq!(uac.status.code(), Some(0), "SIPp UAC:\n{}", text(&uac.stdout));
    assert_eq!(sbc_status.and_then(|s| s.code()), Some(0), "the SBC stand-in");
    let mut logged = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.starts_with(&format!("{stem}_")) && name.ends_with("_logs.log") {
            let log = std::fs::read_to_string(dir.join(name)).unwrap();
            logged.extend(log.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned));
        }
    }
    (received_invites(&std::fs::read_to_string(dir.join("sbc.log")).unwrap()), logged)
}

#[test]
fn sipp_plays_the_export_against_an_sbc() {
    if !have_sipp() {
        return;
    }
    // sbc1's calls, with talk times of 20 ms so that the test takes a second, not an hour.
    let (dir, want) = export_for_play("play", |_, f| f[3] = "20".to_owned());
    let (got, _) = play(&dir, "uac.xml", want.len(), &["-r", "50"]);
    let got: Vec<[String; 4]> = got.into_iter().map(|r| r.fields).collect();
    let expected: Vec<[String; 4]> =
        want.iter().map(|f| [f[1].clone(), f[0].clone(), f[5].clone(), f[6].clone()]).collect();
    assert_eq!(got, expected);
    let by_privacy: BTreeMap<&str, usize> = got.iter().fold(BTreeMap::new(), |mut m, f| {
        *m.entry(f[3].as_str()).or_default() += 1;
        m
    });
    assert_eq!(by_privacy.len(), 2, "shown and hidden callers both went through: {by_privacy:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sipp_plays_the_export_at_the_times_of_the_run() {
    if !have_sipp() {
        return;
    }
    // The run's times squeezed into 2.5 s: a call every 20 ms, with a one-second pause
    // after the 40th. Ten users take the first ten lines at once; the timed scenario holds
    // each INVITE until its time, and a user whose call ended takes the next line.
    let time = |i: usize| 300 + 20 * i + if i >= 40 { 1000 } else { 0 };
    let (dir, want) = export_for_play("timed", |i, f| {
        f[3] = "20".to_owned();
        f[4] = time(i).to_string();
    });
    assert!(want.len() > 41);
    let (got, late) = play(&dir, "uac-timed.xml", want.len(), &["-users", "10"]);
    let fields: Vec<&[String; 4]> = got.iter().map(|r| &r.fields).collect();
    let expected: Vec<[String; 4]> =
        want.iter().map(|f| [f[1].clone(), f[0].clone(), f[5].clone(), f[6].clone()]).collect();
    assert_eq!(fields, expected.iter().collect::<Vec<_>>());
    // A busy machine can only delay an INVITE, so the bounds are loose: with the waits gone,
    // the whole span would be about 0.1 s and the pause nothing.
    let span = got.last().unwrap().at_ms - got[0].at_ms;
    let planned = (time(want.len() - 1) - time(0)) as f64;
    assert!(span >= 0.8 * planned, "INVITEs spanned {span} ms, the run {planned} ms");
    let pause = got[40].at_ms - got[39].at_ms;
    assert!(pause >= 700.0, "the one-second pause was {pause} ms");
    // Calls of 20 ms every 20 ms keep two or three of the ten users busy: none was late
    // (unless the machine stalled SIPp for 100 ms, which the log would then show).
    assert!(late.len() <= 2, "{late:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sipp_logs_the_invites_too_few_users_send_late() {
    if !have_sipp() {
        return;
    }
    // A call every 20 ms, each talking 300 ms, played by one user: each INVITE has to wait
    // for the call before it to end, so from the second on they leave later and later.
    let (dir, want) = export_for_play("late", |i, f| {
        f[3] = "300".to_owned();
        f[4] = (300 + 20 * i).to_string();
    });
    let calls = want.len().min(12);
    let (got, late) = play(&dir, "uac-timed.xml", calls, &["-users", "1"]);
    assert_eq!(got.len(), calls);
    // `late: the INVITE to NUMBER due at DUE ms leaves at AT ms`, one for each call but the
    // first (and perhaps the second, if SIPp answered it within 100 ms of its time).
    assert!(late.len() >= calls - 2 && late.len() < calls, "{late:#?}");
    for line in &late {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[..4], ["late:", "the", "INVITE", "to"], "{line}");
        let row = want.iter().find(|f| f[1] == words[4]).expect(line);
        let (due, at): (u64, u64) = (words[7].parse().unwrap(), words[11].parse().unwrap());
        assert_eq!(due.to_string(), row[4], "{line}");
        assert!(at > due + 100, "{line}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
