//! Secret values that cannot leak through formatting.
//!
//! Every key this service holds (the VOD SecretKey, JWT secrets, the context key, callback keys)
//! travels as a [`Secret`]. It has no `Display`, its `Debug` prints `[REDACTED]`, and reading the
//! value takes an explicit [`Secret::expose`], so a stray `{:?}` in a log line or an error message
//! cannot print a key. Rotation is modelled by [`SecretList`]: several values at once, the first
//! used to produce, any accepted to check.

use std::fmt;

use subtle::ConstantTimeEq;

/// A secret string, read with [`Secret::expose`] and compared (inside the crate) with `ct_eq`, in
/// constant time.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<str>);

impl Secret {
    /// Wraps a value. Empty secrets are refused where they are parsed (see [`SecretList::parse`]).
    pub fn new(value: impl Into<Box<str>>) -> Self {
        Self(value.into())
    }

    /// The secret value. Call sites are the places where a key is actually used.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Compares with `candidate` in time independent of where they differ.
    pub(crate) fn ct_eq(&self, candidate: &[u8]) -> bool {
        self.0.as_bytes().ct_eq(candidate).into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

/// One or more secrets, for rotation: the first is current, the others are still accepted.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretList(Vec<Secret>);

/// Why a comma-separated secret list was refused. Never carries the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretListError {
    #[error("is empty")]
    Empty,
    #[error("item {0} is empty (comma-separated values must not be blank)")]
    BlankItem(usize),
}

impl SecretList {
    /// Parses `a,b,c` (whitespace around items is trimmed). At least one item; no blank items.
    pub fn parse(value: &str) -> Result<Self, SecretListError> {
        if value.trim().is_empty() {
            return Err(SecretListError::Empty);
        }
        value
            .split(',')
            .enumerate()
            .map(|(index, item)| {
                let item = item.trim();
                if item.is_empty() {
                    Err(SecretListError::BlankItem(index + 1))
                } else {
                    Ok(Secret::new(item))
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// A list holding exactly one secret.
    pub fn single(secret: Secret) -> Self {
        Self(vec![secret])
    }

    /// The current secret: the one used to produce new values.
    pub fn current(&self) -> &Secret {
        &self.0[0]
    }

    /// All accepted secrets, current first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Secret> {
        self.0.iter()
    }
}

impl fmt::Debug for SecretList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretList([REDACTED; {}])", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_value() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret([REDACTED])");
        let list = SecretList::parse("hunter2, swordfish").unwrap();
        let printed = format!("{list:?}");
        assert!(!printed.contains("hunter2") && !printed.contains("swordfish"));
    }

    #[test]
    fn list_parses_rotation_order() {
        let list = SecretList::parse(" new ,old").unwrap();
        assert_eq!(list.current().expose(), "new");
        assert_eq!(
            list.iter().map(Secret::expose).collect::<Vec<_>>(),
            ["new", "old"]
        );
        assert!(list.iter().any(|s| s.ct_eq(b"old")));
        assert!(!list.iter().any(|s| s.ct_eq(b"ol")));
    }

    #[test]
    fn list_refuses_blank_items() {
        assert_eq!(SecretList::parse(""), Err(SecretListError::Empty));
        assert_eq!(SecretList::parse(" "), Err(SecretListError::Empty));
        assert_eq!(
            SecretList::parse("a,,b"),
            Err(SecretListError::BlankItem(2))
        );
        assert_eq!(SecretList::parse("a,"), Err(SecretListError::BlankItem(2)));
    }
}
