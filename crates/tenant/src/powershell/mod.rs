//! Importing Teams PowerShell scripts as admins write them: the cmdlets that create, change
//! and assign tenant objects, in straight-line code with variables, arrays, `+=`, hashtables,
//! both quoting styles, here-strings, backtick continuations and comments.
//!
//! The script is read, not run against Teams: it starts from an empty tenant, `Get-Cs…`
//! queries see what the script made so far, `if` runs the branch its condition picks, and
//! `foreach` runs its body once per item. Output and session commands (`Write-Host`,
//! `Connect-MicrosoftTeams` …) change nothing and are passed over. Anything else — loops with
//! conditions, functions, `switch`, prompts, pipelines with logic — stops the import with
//! `file:line:col` and the construct, and nothing is imported. With
//! [`ImportOptions::skip_unsupported`] such statements are skipped with a warning instead; what
//! they would have set becomes unknown, and using an unknown value in a cmdlet is an error that
//! says which `--var` supplies it.

mod cmdlets;
mod doc;
mod eval;
mod lex;
mod parse;
mod xml;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tpr_types::{LineIndex, Location};

use crate::load::{LoadError, LoadErrors};
use crate::model::Tenant;
use doc::Val;

/// How to import a script.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Skip unsupported statements with a warning instead of stopping.
    pub skip_unsupported: bool,
    /// Variables fixed before the script runs (`NAME`, `a` or `a,b,c`); the script's own
    /// assignments to them are ignored. For values a script asks for at a prompt.
    pub vars: Vec<(String, String)>,
    /// Local copies of what the script downloads: (URL, file).
    pub resources: Vec<(String, PathBuf)>,
    /// The tenant's country (default: the first usage location the script sets, else US).
    pub country: Option<String>,
    /// The tenant's name (default: the script's file name).
    pub name: Option<String>,
    /// A tenant TOML the script changes (objects it assumes exist, such as gateways);
    /// default: an empty tenant.
    pub base: Option<PathBuf>,
}

/// A problem found while importing, located in the script.
#[derive(Debug)]
pub(crate) struct Fail {
    at: usize,
    message: String,
}

impl Fail {
    pub(crate) fn new(at: usize, message: impl Into<String>) -> Fail {
        Fail { at, message: message.into() }
    }
}

/// Something the import passed over or guessed, located in the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where.
    pub location: Location,
    /// What.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: warning: {}", self.location, self.message)
    }
}

/// An imported script: the tenant TOML, and what the import noticed.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The tenant in tpr's TOML format.
    pub toml: String,
    /// Warnings, in script order.
    pub warnings: Vec<Warning>,
    file: Arc<str>,
    /// First TOML line of each object, and where in the script it was made.
    origins: Vec<(u32, Option<Location>)>,
}

impl Imported {
    /// Loads the TOML; errors point at the script line that made the object.
    pub fn load(&self) -> Result<Tenant, LoadErrors> {
        let label = format!("{} (imported)", self.file);
        Tenant::from_toml_str(&self.toml, &label)
            .map_err(|e| LoadErrors(e.0.into_iter().map(|err| self.map_error(err)).collect()))
    }

    /// `tpr check` lints of the imported tenant, located in the script.
    pub fn lint(&self, tenant: &Tenant) -> Vec<Warning> {
        let label = format!("{} (imported)", self.file);
        let mut out: Vec<Warning> = crate::check::lint(tenant, &self.toml, &label)
            .into_iter()
            .map(|w| match self.script_location(w.location.line) {
                Some(location) => Warning { location, message: w.message },
                None => w,
            })
            .collect();
        out.sort_by_key(|w| (w.location.line, w.location.col));
        out
    }

    /// Where the script made the object that TOML line `line` belongs to.
    fn script_location(&self, line: u32) -> Option<Location> {
        let (_, origin) = self.origins.iter().rev().find(|(first, _)| *first <= line)?;
        origin.clone()
    }

    fn map_error(&self, err: LoadError) -> LoadError {
        let Some(loc) = &err.location else { return err };
        match self.script_location(loc.line) {
            Some(location) => LoadError {
                location: Some(location),
                message: format!("{} (imported TOML line {})", err.message, loc.line),
            },
            None => err,
        }
    }
}

/// Imports the script at `path`.
pub fn import_file(path: &Path, opts: &ImportOptions) -> Result<Imported, LoadErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        LoadErrors(vec![LoadError { location: None, message: format!("{}: {e}", path.display()) }])
    })?;
    let dir = path.parent().map(|p| p.display().to_string()).unwrap_or_default();
    let mut opts = opts.clone();
    if opts.name.is_none() {
        opts.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    }
    import_str(&text, &path.display().to_string(), &dir, &opts)
}

/// Imports script `text` read from `file` (in directory `dir`, which `$PSScriptRoot` names).
pub fn import_str(
    text: &str,
    file: &str,
    dir: &str,
    opts: &ImportOptions,
) -> Result<Imported, LoadErrors> {
    let index = LineIndex::new(Arc::<str>::from(file), Arc::<str>::from(text));
    let fail = |f: Fail| {
        LoadErrors(vec![LoadError { location: Some(index.location(f.at)), message: f.message }])
    };
    let tokens = lex::lex(text, 0).map_err(|e| fail(Fail::new(e.at, e.message)))?;
    let stmts = parse::parse(&tokens).map_err(|e| fail(Fail::new(e.at, e.message)))?;
    let mut interp = eval::Interp::new(opts, dir.to_owned());
    if let Some(base) = &opts.base {
        let err = |m: String| {
            LoadErrors(vec![LoadError {
                location: None,
                message: format!("{}: {m}", base.display()),
            }])
        };
        Tenant::load(base)?;
        let text = std::fs::read_to_string(base).map_err(|e| err(e.to_string()))?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        interp.doc = doc::Doc::from_toml(&table).map_err(err)?;
    }
    interp.run(&stmts).map_err(fail)?;

    // Usages that routes, policies and emergency numbers name but no cmdlet added: Teams
    // needs them in the global list; a script that assumes they exist gets them, with a note.
    let mut named: Vec<(String, usize)> = Vec::new();
    for section in ["voice_routes", "voice_routing_policies"] {
        for o in interp.doc.objects_ref(section) {
            if let Some(Val::List(us)) = o.get("usages") {
                for u in us {
                    if let Val::Str(u) = u {
                        named.push((u.clone(), o.at.unwrap_or(0)));
                    }
                }
            }
        }
    }
    for o in interp.doc.objects_ref("emergency_call_routing_policies") {
        if let Some(Val::List(ns)) = o.get("numbers") {
            for n in ns {
                if let Val::Table(t) = n
                    && let Some(u) = t.str("usage")
                {
                    named.push((u.to_owned(), o.at.unwrap_or(0)));
                }
            }
        }
    }
    for (u, at) in named {
        if !interp.doc.has_usage(&u) {
            interp.warn(
                at,
                format!(
                    "PSTN usage {u:?} is used but never added with Set-CsOnlinePstnUsage; added"
                ),
            );
            interp.doc.pstn_usages.push((u, at));
        }
    }

    let base_country = interp.doc.tenant.str("country").map(str::to_owned);
    let country = match (opts.country.clone(), base_country) {
        (Some(c), _) | (None, Some(c)) => c,
        (None, None) => {
            let first = interp
                .doc
                .objects_ref("users")
                .iter()
                .find_map(|u| u.str("usage_location").map(str::to_owned));
            first.unwrap_or_else(|| {
                interp.warn(0, "the script sets no usage location: the tenant country is US (--country sets it)");
                "US".to_owned()
            })
        }
    };
    let name = match (&opts.name, interp.doc.tenant.str("name")) {
        (_, Some(base)) if opts.base.is_some() => base.to_owned(),
        (Some(n), _) => n.clone(),
        (None, Some(n)) => n.to_owned(),
        (None, None) => "imported".to_owned(),
    };
    interp.doc.tenant.remove("name");
    interp.doc.tenant.remove("country");
    interp.doc.tenant.fields.splice(
        0..0,
        [("name".to_owned(), Val::Str(name)), ("country".to_owned(), Val::Str(country))],
    );

    let header = format!("# Imported by tpr from {file}.\n");
    let (toml, origins) = interp.doc.to_toml(&header);
    let mut warnings: Vec<Warning> = interp
        .warnings
        .iter()
        .map(|(at, m)| Warning { location: index.location(*at), message: m.clone() })
        .collect();
    warnings.sort_by_key(|w| (w.location.line, w.location.col));
    // A loop repeats its warnings; once is enough.
    warnings.dedup();
    Ok(Imported {
        toml,
        warnings,
        file: Arc::from(file),
        origins: origins
            .into_iter()
            .map(|(line, at)| (line, at.map(|at| index.location(at))))
            .collect(),
    })
}
