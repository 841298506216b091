//! The one error type of the library.
//!
//! An [`Error`] is an input, usage or I/O failure: something that stopped a command from
//! running. A tamper finding is *not* an error; it is a [`crate::ledger::verify::Finding`].
//! Every message says what failed and where (file, line, entry); an optional hint says what
//! to do next. The binary prints them as `vouch: error: …` / `vouch: hint: …` and exits 2.

use std::fmt;
use std::path::Path;

/// A failure that stopped a command, with an optional hint for the user.
#[derive(Debug)]
pub struct Error {
    message: String,
    hint: Option<String>,
    /// The failure is of the moment (a database restarting, every connection busy): the
    /// same request may succeed if tried again.
    transient: bool,
}

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error with a message (lowercase, no full stop).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            transient: false,
        }
    }

    /// Attach a hint: what the user can do about it.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Prefix the message with where it happened (`batch.jsonl line 3`).
    #[must_use]
    pub fn context(mut self, at: impl fmt::Display) -> Self {
        self.message = format!("{at}: {}", self.message);
        self
    }

    /// An I/O failure on a file, naming the file.
    pub fn io(path: &Path, err: &std::io::Error) -> Self {
        let what = match err.kind() {
            std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => lower_first(&err.to_string()),
        };
        Self::new(format!("{}: {what}", path.display()))
    }

    /// Mark the failure as of the moment: trying again later may succeed (`vouch serve`
    /// answers 503 with `Retry-After`).
    #[must_use]
    pub fn transient(mut self) -> Self {
        self.transient = true;
        self
    }

    /// Whether trying again later may succeed ([`Error::transient`]).
    pub fn is_transient(&self) -> bool {
        self.transient
    }

    /// The message, without the hint.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The hint, if any.
    pub fn hint_text(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
