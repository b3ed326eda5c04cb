//! `tpr sim`: run a scenario (the bundled default when none is named) and report.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tpr_router::Engine;
use tpr_sim::{Report, RunOptions, Scenario, ScenarioFile, run_many};
use tpr_tenant::Tenant;

use crate::{Finish, UserError, tenant_file};

/// The scenario `tpr sim` runs without a file, and the tenant it names.
pub const DEFAULT_SCENARIO: &str = include_str!("../../../scenarios/default.toml");
const DEFAULT_SCENARIO_NAME: &str = "scenarios/default.toml";
const DEFAULT_TENANT_NAME: &str = "tenants/contoso.toml";

/// Arguments of `tpr sim`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario (TOML). Without one, the bundled default runs. Several scenarios (one per
    /// tenant, say) run as shards of one run, and their reports combine into one.
    #[arg(value_name = "SCENARIO")]
    scenarios: Vec<PathBuf>,
    #[command(flatten)]
    out: Outputs,
}

/// Options shared by `tpr sim` and `tpr replay`.
#[derive(Debug, clap::Args)]
pub struct Outputs {
    /// Seed (overrides the scenario's `[run] seed`).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Worker threads: shards (every repetition of every scenario) run in parallel.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,
    /// Repetitions (independent runs, seeds S, S+1, ...), merged into one report.
    #[arg(long, value_name = "N")]
    pub repetitions: Option<u32>,
    /// Write the JSON report here (`-` for standard output instead of the text report).
    #[arg(long, value_name = "OUT")]
    pub json: Option<PathBuf>,
    /// Write the per-interval time series here as CSV (`-` for standard output instead of
    /// the text report).
    #[arg(long, value_name = "OUT")]
    pub csv: Option<PathBuf>,
    /// Draw concurrency per gateway over time and the decision-latency distribution (SVG;
    /// `-` for standard output instead of the text report).
    #[arg(long, value_name = "OUT.svg")]
    pub plot: Option<PathBuf>,
    /// Write the INVITEs the run sent to each Direct Routing SBC into this directory as SIPp
    /// injection files (`<fqdn>.csv`, `all.csv`) with the UAC scenario that plays them
    /// (`uac.xml`). One run only: one scenario, one repetition.
    #[arg(long, value_name = "DIR")]
    pub sipp: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<Finish> {
    let scenarios = if args.scenarios.is_empty() {
        let file = ScenarioFile::parse(DEFAULT_SCENARIO, DEFAULT_SCENARIO_NAME)
            .map_err(|e| anyhow::anyhow!("bundled scenario: {e}"))?;
        let tenant = Tenant::from_toml_str(crate::bench::DEFAULT_TENANT, DEFAULT_TENANT_NAME)
            .map_err(|e| anyhow::anyhow!("bundled tenant: {e}"))?;
        vec![bind(&file, &tenant)?]
    } else {
        args.scenarios.iter().map(|p| load_scenario(p)).collect::<anyhow::Result<_>>()?
    };
    simulate_many(scenarios, &args.out, &[])
}

/// Reads a scenario and the tenant it names (relative to the scenario file).
pub fn load_scenario(path: &Path) -> anyhow::Result<Scenario> {
    let text = tpr_types::read_utf8(path).map_err(UserError::from)?;
    let file = ScenarioFile::parse(&text, &path.display().to_string())
        .map_err(|e| UserError::Diagnostics(e.to_string()))?;
    let tenant_path = path.parent().unwrap_or(Path::new(".")).join(&file.tenant_file);
    if !tenant_path.is_file() {
        let at = file.tenant_location().map_or_else(String::new, |l| format!("{l}: "));
        return Err(UserError::Diagnostics(format!(
            "{at}error: tenant file {} not found",
            tenant_path.display()
        ))
        .into());
    }
    let tenant = tenant_file::load(&tenant_path)?;
    bind(&file, &tenant)
}

fn bind(file: &ScenarioFile, tenant: &Tenant) -> anyhow::Result<Scenario> {
    let engine = Engine::compile(tenant)
        .map_err(|e| UserError::Message(format!("tenant {}: {e}", tenant.name)))?;
    file.bind(Arc::new(engine)).map_err(|e| UserError::Diagnostics(e.to_string()).into())
}

/// Runs `scenario` (with `trace` calls on top) and writes what `out` asks for.
pub fn simulate(
    scenario: Scenario,
    out: &Outputs,
    trace: &[tpr_sim::trace::TraceCall],
) -> anyhow::Result<Finish> {
    simulate_many(vec![scenario], out, trace)
}

/// Runs every scenario as shards of one run and writes what `out` asks for.
fn simulate_many(
    mut scenarios: Vec<Scenario>,
    out: &Outputs,
    trace: &[tpr_sim::trace::TraceCall],
) -> anyhow::Result<Finish> {
    check_outputs(out)?;
    if let Some(r) = out.repetitions
        && !(1..=tpr_sim::MAX_REPETITIONS).contains(&r)
    {
        return Err(UserError::Message(format!(
            "--repetitions must be 1 to {}",
            tpr_sim::MAX_REPETITIONS
        ))
        .into());
    }
    if !(1..=crate::MAX_THREADS).contains(&out.threads) {
        return Err(
            UserError::Message(format!("--threads must be 1 to {}", crate::MAX_THREADS)).into()
        );
    }
    for scenario in &mut scenarios {
        if let Some(seed) = out.seed {
            scenario.seed = seed;
        }
        if let Some(r) = out.repetitions {
            scenario.repetitions = r;
        }
    }
    // A combined time series needs one interval.
    if (out.csv.is_some() || out.plot.is_some())
        && let Some(other) = scenarios.iter().find(|s| s.interval_ms != scenarios[0].interval_ms)
    {
        return Err(UserError::Message(format!(
            "--csv and --plot need one series interval for all scenarios: {} has {}, {} has {}; \
             set [run] interval in each",
            scenarios[0].file,
            tpr_sim::duration::format_ms(scenarios[0].interval_ms),
            other.file,
            tpr_sim::duration::format_ms(other.interval_ms)
        ))
        .into());
    }
    let shards: u32 = scenarios.iter().map(|s| s.repetitions.max(1)).sum();
    if let Some(dir) = &out.sipp {
        crate::sipp::check_dir(dir)?;
        if shards > 1 {
            return Err(UserError::Message(format!(
                "--sipp exports the calls of one run, not {shards}: give one scenario and no \
                 --repetitions above 1"
            ))
            .into());
        }
    }
    let bar = Progress::new(!out.quiet && std::io::stderr().is_terminal(), shards);
    let progress = |shard: usize, sim_ms: u64, duration_ms: u64| {
        bar.update(shard, sim_ms, duration_ms);
    };
    crate::clock::start();
    let clock = crate::clock::now_ns;
    let opts = RunOptions { clock: Some(&clock), progress: Some(&progress), trace, shard: 0 };
    let (report, invites) = if out.sipp.is_some() {
        // One run (checked above), on this thread, keeping its INVITEs.
        let sc = &scenarios[0];
        tpr_sim::run_with_invites(sc, 0, &opts)
            .map(|(report, log)| (report, Some(log)))
            .map_err(|e| UserError::Message(format!("{}: {e}", sc.file)))?
    } else {
        let report = run_many(&scenarios, out.threads, &opts)
            .map_err(|(file, e)| UserError::Message(format!("{file}: {e}")))?;
        (report, None)
    };
    bar.finish();
    write_outputs(&report, out)?;
    if let (Some(dir), Some(log)) = (&out.sipp, &invites)
        && report.leaked_permits == 0
    {
        export_sipp(dir, &scenarios[0], &report, log)?;
    }
    if report.leaked_permits != 0 {
        // A bug in tpr, not in the scenario: exit 2.
        anyhow::bail!(
            "{} capacity permits were still held after the run drained (a bug in tpr; the \
             report above is not trustworthy)",
            report.leaked_permits
        );
    }
    Ok(Finish::Ok)
}

/// Writes `--sipp DIR` and says on standard error what went where.
fn export_sipp(
    dir: &Path,
    scenario: &Scenario,
    report: &Report,
    log: &tpr_sim::InviteLog,
) -> anyhow::Result<()> {
    if log.invites().is_empty() {
        eprintln!(
            "tpr: --sipp {}: no call went to a Direct Routing SBC in this run; nothing written",
            dir.display()
        );
        return Ok(());
    }
    let run = format!("{} (seed {})", report.scenario, report.seed);
    let source = crate::sipp::Source { run: &run, duration_ms: scenario.duration_ms };
    let written = crate::sipp::write(dir, &scenario.engine, log, &source)?;
    let per: Vec<String> = written.per_gateway.iter().map(|(g, n)| format!("{g} {n}")).collect();
    eprintln!(
        "tpr: --sipp {}: {} INVITEs of {} calls in all.csv and one file per SBC ({}), with \
         uac.xml and uac-timed.xml",
        dir.display(),
        written.invites(),
        log.calls(),
        per.join(", ")
    );
    if written.left_out > 0 {
        eprintln!(
            "tpr: --sipp {}: {} INVITEs left out: a number in them holds ';' or a line break, \
             or starts the line with '#', which a SIPp injection file cannot carry",
            dir.display(),
            written.left_out
        );
    }
    Ok(())
}

/// The outputs asked for, as (flag, path).
fn outputs(out: &Outputs) -> impl Iterator<Item = (&'static str, &Path)> {
    [("--json", &out.json), ("--csv", &out.csv), ("--plot", &out.plot)]
        .into_iter()
        .filter_map(|(flag, p)| p.as_deref().map(|p| (flag, p)))
}

fn is_stdout(p: &Path) -> bool {
    p == Path::new("-")
}

/// Refuses, before anything runs, outputs that cannot be written: two of them on standard
/// output, a path that is a directory, a directory that does not exist. A day's run must not
/// end in "cannot write".
fn check_outputs(out: &Outputs) -> Result<(), UserError> {
    let to_stdout: Vec<&str> =
        outputs(out).filter(|(_, p)| is_stdout(p)).map(|(flag, _)| flag).collect();
    if to_stdout.len() > 1 {
        return Err(UserError::Message(format!(
            "only one output can go to standard output (`-`), not {}",
            to_stdout.join(" and ")
        )));
    }
    let files: Vec<(&str, &Path)> = outputs(out).filter(|(_, p)| !is_stdout(p)).collect();
    for (i, (flag, p)) in files.iter().enumerate() {
        if let Some((other, _)) = files[..i].iter().find(|(_, q)| q == p) {
            return Err(UserError::Message(format!(
                "{other} and {flag} both write {}: one would overwrite the other",
                p.display()
            )));
        }
    }
    for (flag, p) in files {
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let problem = if p.is_dir() {
            "it is a directory".to_owned()
        } else if !dir.is_dir() {
            format!("no directory {}", dir.display())
        } else {
            continue;
        };
        return Err(UserError::Message(format!("{flag} {}: {problem}", p.display())));
    }
    Ok(())
}

/// Writes the report: the output given `-` (or else the text report) to standard output,
/// the others to their files.
fn write_outputs(report: &Report, out: &Outputs) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    let mut text_report = true;
    for (flag, p) in outputs(out) {
        let body = match flag {
            "--json" => format!("{}\n", report.to_json()),
            "--csv" => report.series_csv(),
            _ => crate::plot::svg(report),
        };
        if is_stdout(p) {
            stdout.write_all(body.as_bytes())?;
            text_report = false;
        } else {
            write_file(p, &body)?;
        }
    }
    if text_report {
        write!(stdout, "{}", report.to_text())?;
    }
    Ok(())
}

fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text)
        .map_err(|e| UserError::Message(format!("cannot write {}: {e}", path.display())).into())
}

/// A progress bar on standard error, shown once a run has taken a second. With several shards
/// (repetitions or scenarios, possibly on several threads) it shows their average progress.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    /// Per shard: thousandths done.
    done: Vec<AtomicU64>,
}

impl Progress {
    fn new(enabled: bool, shards: u32) -> Progress {
        let bar = enabled.then(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                Some(1000),
                indicatif::ProgressDrawTarget::hidden(),
            );
            let style = indicatif::ProgressStyle::with_template(
                "{spinner} simulated {msg} [{bar:40}] {percent}% ({elapsed} wall)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            if shards > 1 {
                bar.set_message(format!("({shards} runs)"));
            }
            bar
        });
        let done = (0..shards.max(1)).map(|_| AtomicU64::new(0)).collect();
        Progress { bar, started: Instant::now(), done }
    }

    fn update(&self, shard: usize, sim_ms: u64, duration_ms: u64) {
        let Some(bar) = &self.bar else { return };
        if bar.is_hidden() && self.started.elapsed().as_secs_f64() >= 1.0 {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
        if let Some(d) = self.done.get(shard) {
            d.store(sim_ms * 1000 / duration_ms.max(1), Ordering::Relaxed);
        }
        let sum: u64 = self.done.iter().map(|d| d.load(Ordering::Relaxed)).sum();
        bar.set_position(sum / self.done.len() as u64);
        if self.done.len() == 1 {
            bar.set_message(tpr_sim::duration::format_ms(sim_ms - sim_ms % 1000));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
