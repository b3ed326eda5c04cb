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
        Tenant::from_toml_str(&self.toml, &self.label()).map_err(|e| self.in_script(e))
    }

    /// `tpr check` lints of the imported tenant, located in the script.
    pub fn lint(&self, tenant: &Tenant) -> Vec<Warning> {
        self.located(crate::check::lint(tenant, &self.toml, &self.label()))
    }

    /// [`Imported::load`] and then [`Imported::lint`], reading the TOML once (what `tpr
    /// check` does: a script that provisions 100,000 users makes a TOML of 20 MB).
    pub fn load_and_lint(&self) -> Result<(Tenant, Vec<Warning>), LoadErrors> {
        let label = self.label();
        let (tenant, positions) = Tenant::from_toml_str_with_positions(&self.toml, &label)
            .map_err(|e| self.in_script(e))?;
        let warnings = crate::check::lint_at(&tenant, &positions, &self.toml, &label);
        Ok((tenant, self.located(warnings)))
    }

    /// What the TOML is called in messages that could not be placed in the script.
    fn label(&self) -> String {
        format!("{} (imported)", self.file)
    }

    /// Load errors, each at the script line that made its object.
    fn in_script(&self, e: LoadErrors) -> LoadErrors {
        LoadErrors(e.0.into_iter().map(|err| self.map_error(err)).collect())
    }

    /// Lints, each at the script line that made its object, in script order.
    fn located(&self, warnings: Vec<Warning>) -> Vec<Warning> {
        let mut out: Vec<Warning> = warnings
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

/// Imports the script at `path`, read as PowerShell reads it ([`decode_script`]).
pub fn import_file(path: &Path, opts: &ImportOptions) -> Result<Imported, LoadErrors> {
    let file = path.display().to_string();
    let fail = |message: String| {
        LoadErrors(vec![LoadError { location: None, message: format!("{file}: {message}") }])
    };
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let script = decode_script(&bytes).map_err(|e| match e.at {
        Some((line, col)) => LoadErrors(vec![LoadError {
            location: Some(Location { file: Arc::from(file.as_str()), line, col }),
            message: e.message,
        }]),
        None => fail(e.message),
    })?;
    let dir = path.parent().map(|p| p.display().to_string()).unwrap_or_default();
    let mut opts = opts.clone();
    if opts.name.is_none() {
        opts.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
    }
    let mut imported = import_str(&script.text, &file, &dir, &opts)?;
    if let Some(line) = script.ansi_from_line {
        // Warnings stay in script order.
        let at = imported.warnings.partition_point(|w| w.location.line <= line);
        imported.warnings.insert(
            at,
            Warning {
                location: Location { file: Arc::from(file.as_str()), line, col: 1 },
                message: "not UTF-8 and no byte-order mark: read as Windows-1252, as Windows \
                          PowerShell 5.1 reads such a script (save it as UTF-8 to be sure)"
                    .into(),
            },
        );
    }
    Ok(imported)
}

/// A script's text, as [`decode_script`] read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptText {
    /// The text, without its byte-order mark.
    pub text: String,
    /// Set when the file was not UTF-8 and had no byte-order mark, so it was read as
    /// Windows-1252: the first line that was not UTF-8.
    pub ansi_from_line: Option<u32>,
}

/// Why a script's bytes are not text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// The line and column (in characters) of the first bad unit, when one is to blame.
    pub at: Option<(u32, u32)>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some((line, col)) => write!(f, "line {line}, column {col}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Reads a script file's bytes the way PowerShell does. A byte-order mark says the encoding:
/// UTF-8, or UTF-16 (little-endian is what Windows PowerShell 5.1's `Out-File` and `>` write).
/// Without one the file is UTF-8 (PowerShell 7 and every editor today), or else the ANSI code
/// page, which Windows PowerShell 5.1 falls back to: Windows-1252 here, the Western European
/// one (an older Notepad's "ANSI" with `Zürich` in a description). UTF-16 that does not
/// decode is an error.
pub fn decode_script(bytes: &[u8]) -> Result<ScriptText, DecodeError> {
    let utf16 = |bytes: &[u8], from: fn([u8; 2]) -> u16| -> Result<ScriptText, DecodeError> {
        if bytes.len() % 2 == 1 {
            return Err(DecodeError {
                at: None,
                message: "UTF-16 (by its byte-order mark) with an odd number of bytes".into(),
            });
        }
        let units = bytes.chunks_exact(2).map(|c| from([c[0], c[1]]));
        let mut text = String::with_capacity(bytes.len() / 2);
        let (mut line, mut col) = (1u32, 1u32);
        for c in char::decode_utf16(units) {
            match c {
                Ok(c) => {
                    (line, col) = if c == '\n' { (line + 1, 1) } else { (line, col + 1) };
                    text.push(c);
                }
                Err(e) => {
                    return Err(DecodeError {
                        at: Some((line, col)),
                        message: format!(
                            "not valid UTF-16 (a lone surrogate {:#06x})",
                            e.unpaired_surrogate()
                        ),
                    });
                }
            }
        }
        Ok(ScriptText { text, ansi_from_line: None })
    };
    if let Some(rest) = bytes.strip_prefix(&[0xff, 0xfe]) {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xfe, 0xff]) {
        return utf16(rest, u16::from_be_bytes);
    }
    let bytes = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(ScriptText { text: text.to_owned(), ansi_from_line: None }),
        Err(e) => {
            let line = 1 + bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count();
            Ok(ScriptText {
                text: bytes.iter().map(|&b| windows_1252(b)).collect(),
                ansi_from_line: Some(u32::try_from(line).unwrap_or(u32::MAX)),
            })
        }
    }
}

/// One Windows-1252 byte as a character. 0x80–0x9F hold typographic marks (the quotes and
/// dashes PowerShell reads as `'`, `"` and `-`); the five codes the page leaves free map to
/// the C1 controls, as Windows maps them; the rest is Latin-1.
fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '\u{20ac}', '\u{81}', '\u{201a}', '\u{192}', '\u{201e}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{2c6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8d}', '\u{17d}',
        '\u{8f}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}', '\u{2022}', '\u{2013}',
        '\u{2014}', '\u{2dc}', '\u{2122}', '\u{161}', '\u{203a}', '\u{153}', '\u{9d}', '\u{17e}',
        '\u{178}',
    ];
    match b {
        0x80..=0x9f => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
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
        let text = tpr_types::read_utf8(base).map_err(|e| LoadErrors(vec![e]))?;
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
