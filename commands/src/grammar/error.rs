//! Why a text is not a command, with what would work: the usage line, an example, or
//! "did you mean …".

use std::fmt;

use crate::grammar::spec::{self, Spec};

// === Errors ===

/// Why a text is not a command; what would work is part of the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub message: String,
    /// The command the error is about, for its usage line and example.
    pub spec: Option<&'static str>,
    pub suggestions: Vec<String>,
}

/// Bounded set of error kinds, for metrics labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    Empty,
    Syntax,
    UnknownCommand,
    UnknownService,
    MissingArgument,
    InvalidValue,
    OutOfRange,
}

impl ParseError {
    pub(crate) fn syntax(message: String) -> Self {
        Self {
            kind: ParseErrorKind::Syntax,
            message,
            spec: None,
            suggestions: Vec::new(),
        }
    }

    pub(crate) fn missing(spec: &'static Spec, what: &str) -> Self {
        Self {
            kind: ParseErrorKind::MissingArgument,
            message: format!("`{}` needs {what}", spec.name),
            spec: Some(spec.name),
            suggestions: Vec::new(),
        }
    }

    pub(crate) fn invalid(spec: &'static Spec, message: String) -> Self {
        Self {
            kind: ParseErrorKind::InvalidValue,
            message,
            spec: Some(spec.name),
            suggestions: Vec::new(),
        }
    }

    pub(crate) fn out_of_range(spec: &'static Spec, message: String) -> Self {
        Self {
            kind: ParseErrorKind::OutOfRange,
            message,
            spec: Some(spec.name),
            suggestions: Vec::new(),
        }
    }

    pub(crate) fn unknown_service(
        spec: &'static Spec,
        input: &str,
        suggestions: Vec<String>,
    ) -> Self {
        let message = match suggestions.as_slice() {
            [] => format!("unknown service `{input}`; `/va health` lists the services"),
            [one] => format!("unknown service `{input}`: did you mean `{one}`?"),
            many => format!(
                "unknown service `{input}`: did you mean {}?",
                many.iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        };
        Self {
            kind: ParseErrorKind::UnknownService,
            message,
            spec: Some(spec.name),
            suggestions,
        }
    }

    /// The usage line and example of the command this error is about.
    pub fn usage(&self) -> Option<(String, &'static str)> {
        let spec = spec::spec(self.spec?)?;
        Some((spec.usage(), spec.example))
    }

    /// A stable label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self.kind {
            ParseErrorKind::Empty => "empty",
            ParseErrorKind::Syntax => "syntax",
            ParseErrorKind::UnknownCommand => "unknown_command",
            ParseErrorKind::UnknownService => "unknown_service",
            ParseErrorKind::MissingArgument => "missing_argument",
            ParseErrorKind::InvalidValue => "invalid_value",
            ParseErrorKind::OutOfRange => "out_of_range",
        }
    }
}

/// The full text of a parse error as a user should read it (message, usage, example).
pub struct ParseErrorReport<'a>(pub &'a ParseError);

impl fmt::Display for ParseErrorReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.message)?;
        if let Some((usage, example)) = self.0.usage() {
            write!(f, "\nUsage: {usage}\nExample: /va {example}")?;
        }
        Ok(())
    }
}
