//! Compile errors: what is wrong, in which dial plan and which rule.

use std::fmt;

/// A dial plan that could not be compiled.
///
/// Display gives one line such as
/// `dial plan "Redmond", rule 3 "Ext": invalid pattern at column 7: unclosed group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    plan: String,
    rule: Option<(usize, String)>,
    kind: CompileErrorKind,
}

/// What is wrong with a plan or rule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompileErrorKind {
    /// The plan's name breaks Teams' naming rules.
    InvalidPlanName(String),
    /// More rules than [`crate::Limits::max_rules`].
    TooManyRules {
        /// Rules in the plan.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A user-scoped plan with no rules.
    NoRules,
    /// A rule without a name.
    EmptyRuleName,
    /// Two rules with the same name.
    DuplicateRule,
    /// A name, pattern, translation or description over its limit.
    TooLong {
        /// Which field.
        what: &'static str,
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An external access prefix that is not 1–4 of `[0-9#*]`.
    InvalidAccessPrefix(String),
    /// A pattern that .NET would reject too.
    InvalidPattern {
        /// 1-based character column in the pattern.
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// A pattern .NET accepts but tpr does not support.
    UnsupportedPattern {
        /// 1-based character column in the pattern.
        col: usize,
        /// The construct.
        message: String,
    },
    /// The rule (or, without a rule, the whole plan) compiles to more than the size limit.
    TooBig {
        /// The limit in bytes.
        limit: usize,
    },
}

impl CompileError {
    pub(crate) fn new(
        plan: &str,
        rule: Option<(usize, &str)>,
        kind: CompileErrorKind,
    ) -> CompileError {
        CompileError { plan: plan.to_owned(), rule: rule.map(|(i, n)| (i, n.to_owned())), kind }
    }

    /// The dial plan's name.
    pub fn plan(&self) -> &str {
        &self.plan
    }

    /// The rule's 0-based position in its plan and its name, if the error is about one rule.
    pub fn rule(&self) -> Option<(usize, &str)> {
        self.rule.as_ref().map(|(i, n)| (*i, n.as_str()))
    }

    /// What is wrong.
    pub fn kind(&self) -> &CompileErrorKind {
        &self.kind
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dial plan {:?}", self.plan)?;
        if let Some((i, name)) = &self.rule {
            write!(f, ", rule {} {:?}", i + 1, name)?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl fmt::Display for CompileErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileErrorKind::InvalidPlanName(why) => write!(f, "invalid name: {why}"),
            CompileErrorKind::TooManyRules { count, max } => {
                write!(f, "{count} rules; a dial plan holds at most {max}")
            }
            CompileErrorKind::NoRules => f.write_str("a user dial plan needs at least one rule"),
            CompileErrorKind::EmptyRuleName => f.write_str("the rule has no name"),
            CompileErrorKind::DuplicateRule => {
                f.write_str("another rule of the plan has this name")
            }
            CompileErrorKind::TooLong { what, len, max } => {
                write!(f, "{what} has {len} characters; at most {max} are allowed")
            }
            CompileErrorKind::InvalidAccessPrefix(p) => {
                write!(f, "external access prefix {p:?} must be 1 to 4 of 0-9 # *")
            }
            CompileErrorKind::InvalidPattern { col, message } => {
                write!(f, "invalid pattern at column {col}: {message}")
            }
            CompileErrorKind::UnsupportedPattern { col, message } => {
                write!(f, "unsupported pattern at column {col}: {message}")
            }
            CompileErrorKind::TooBig { limit } => {
                write!(f, "compiled automaton exceeds the size limit of {limit} bytes")
            }
        }
    }
}

impl std::error::Error for CompileError {}
