//! `tpr normalize`: what a user's effective dial plan makes of dialed strings.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use serde_json::json;
use tpr_dialplan::{CompiledPlan, Limits, Mode};
use tpr_types::Region;

use crate::lines::{for_each_input, shown};
use crate::{Finish, UserError, tenant_file};

/// Arguments of `tpr normalize`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("whose").required(true).args(["user", "dial_plan"])))]
pub struct Args {
    /// The tenant: a TOML file.
    #[arg(long, value_name = "FILE")]
    tenant: PathBuf,
    /// Use this user's dial plan and usage location.
    #[arg(long, value_name = "ID")]
    user: Option<String>,
    /// Use this tenant dial plan (`Global` for the tenant-wide one).
    #[arg(long, value_name = "NAME")]
    dial_plan: Option<String>,
    /// Usage location for --dial-plan (default: the tenant's country).
    #[arg(long, value_name = "CC", requires = "dial_plan")]
    country: Option<String>,
    /// Apply only the tenant plan: first match, no second pass, no +CC fallback.
    #[arg(long)]
    tenant_scope_only: bool,
    /// One JSON object per input, with every pass, rule and capture.
    #[arg(long)]
    json: bool,
    /// Dialed strings; without any, one per line is read from stdin.
    numbers: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<Finish> {
    let tenant = tenant_file::load(&args.tenant)?;
    let (plan_name, region) = match (&args.user, &args.dial_plan) {
        (Some(id), _) => {
            let user = tenant.user(id).ok_or_else(|| {
                UserError::Message(format!(
                    "{}: no user {id:?} in the tenant",
                    args.tenant.display()
                ))
            })?;
            (user.dial_plan.clone(), user.usage_location)
        }
        (None, Some(name)) => {
            let region = match &args.country {
                Some(cc) => Region::try_new(cc)
                    .map_err(|e| UserError::Message(format!("--country: {e}")))?,
                None => tenant.country,
            };
            // `Global` may be left out of the file: then it is empty.
            let plan = (!name.eq_ignore_ascii_case("Global") || tenant.dial_plan(name).is_some())
                .then(|| name.clone());
            (plan, region)
        }
        (None, None) => unreachable!("clap requires --user or --dial-plan"),
    };
    let plan = tenant
        .compile_effective(plan_name.as_deref(), region, &Limits::default())
        .map_err(|e| UserError::Message(format!("{}: {e}", args.tenant.display())))?;
    let mode = if args.tenant_scope_only { Mode::TenantScopeOnly } else { Mode::Effective };

    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut printer = Printer {
        plan: &plan,
        mode,
        json: args.json,
        cache: plan.create_cache(),
        result: String::new(),
        invalid: 0,
    };
    for_each_input(&args.numbers, &mut out, |out, input| match input {
        Ok(s) => printer.print(out, s),
        Err(s) => printer.print_error(out, s, "input is not valid UTF-8"),
    })?;
    out.flush()?;
    if printer.invalid > 0 {
        eprintln!("tpr: {} input(s) were not valid dial strings", printer.invalid);
        return Ok(Finish::SomeInputsInvalid);
    }
    Ok(Finish::Ok)
}

struct Printer<'a> {
    plan: &'a CompiledPlan,
    mode: Mode,
    json: bool,
    cache: tpr_dialplan::Cache,
    result: String,
    invalid: usize,
}

impl Printer<'_> {
    fn print(&mut self, out: &mut impl Write, input: &str) -> io::Result<()> {
        if self.json {
            return self.print_json(out, input);
        }
        match self.plan.normalize_with(&mut self.cache, input, self.mode, &mut self.result) {
            Ok(outcome) if outcome.translated() => {
                writeln!(out, "{}\t{}\t{}", shown(input), self.result, self.plan.describe(&outcome))
            }
            Ok(_) => writeln!(out, "{}\t\t-", shown(input)),
            Err(e) => self.print_error(out, input, &e.to_string()),
        }
    }

    fn print_error(&mut self, out: &mut impl Write, input: &str, reason: &str) -> io::Result<()> {
        self.invalid += 1;
        if self.json {
            let v = json!({ "input": input, "error": reason });
            crate::lines::json_line(out, &v)
        } else {
            writeln!(out, "{}\t\t!error: {reason}", shown(input))
        }
    }

    fn print_json(&mut self, out: &mut impl Write, input: &str) -> io::Result<()> {
        let e = match self.plan.explain(input, self.mode) {
            Ok(e) => e,
            Err(err) => return self.print_error(out, input, &err.to_string()),
        };
        let passes: Vec<_> = e
            .passes
            .iter()
            .map(|p| {
                let rule = self.plan.rule(p.rule);
                json!({
                    "rule": rule.name,
                    "scope": rule.scope.to_string(),
                    "plan": match rule.scope {
                        tpr_dialplan::Scope::Tenant => self.plan.name().to_owned(),
                        tpr_dialplan::Scope::Service => format!("{} service", self.plan.region()),
                    },
                    "position": rule.position,
                    "pattern": rule.pattern,
                    "translation": rule.translation,
                    "input": p.input,
                    "captures": p.captures,
                    "output": p.output,
                })
            })
            .collect();
        let v = json!({
            "input": input,
            "cleaned": e.cleaned,
            "translated": e.outcome.translated(),
            "result": e.output,
            "rule": self.plan.describe(&e.outcome),
            "dial_plan": self.plan.name(),
            "usage_location": self.plan.region(),
            "access_prefix_stripped": e.access_prefix_stripped,
            "passes": passes,
            "fallback": e.fallback_country_code.map(|cc| format!("+{cc}")),
            "budget_exceeded": e.budget_exceeded,
        });
        crate::lines::json_line(out, &v)
    }
}
