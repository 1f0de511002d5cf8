//! The one error type of the core: which argument was wrong, and a message that says what came and
//! what was expected. The Python layer turns it into a `ValueError` subclass.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Name of the offending argument, as the user spells it (`lam`, `depth`, `rgb`...).
    pub argument: &'static str,
    /// Full sentence, starting with the argument name.
    pub message: String,
}

impl Error {
    pub fn new(argument: &'static str, message: impl Into<String>) -> Self {
        Error {
            argument,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
