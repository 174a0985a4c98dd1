//! Parsing `local://NAME`, `session://NAME` and `indexeddb://NAME`.

use plinth::{Error, Result};

/// Which browser storage a URL names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StorageKind {
    Local,
    Session,
    IndexedDb,
}

/// A parsed storage URL: the storage and the database NAME within it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct StorageUrl {
    pub(crate) kind: StorageKind,
    pub(crate) name: String,
}

const ACCEPTED: &str = "expected local://NAME, session://NAME or indexeddb://NAME, where NAME is 1 to 100 letters, digits, `-`, `_` or `.`";

impl StorageUrl {
    pub(crate) fn parse(url: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidUrl { url: url.to_owned(), reason };
        let (scheme, name) = url.split_once("://").ok_or_else(|| invalid(format!("no scheme; {ACCEPTED}")))?;
        let kind = match scheme.to_ascii_lowercase().as_str() {
            "local" => StorageKind::Local,
            "session" => StorageKind::Session,
            "indexeddb" => StorageKind::IndexedDb,
            other => return Err(invalid(format!("unknown scheme `{other}`; {ACCEPTED}"))),
        };
        if name.is_empty() {
            return Err(invalid(format!("the database NAME is missing; {ACCEPTED}")));
        }
        if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
            return Err(invalid(format!("`{bad}` is not allowed in the database NAME; {ACCEPTED}")));
        }
        if name.len() > 100 {
            return Err(invalid(format!("the database NAME is longer than 100 characters; {ACCEPTED}")));
        }
        Ok(StorageUrl { kind, name: name.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_three_schemes() {
        let parsed = StorageUrl::parse("indexeddb://my-app.v2").ok();
        assert_eq!(parsed, Some(StorageUrl { kind: StorageKind::IndexedDb, name: "my-app.v2".into() }));
        assert_eq!(StorageUrl::parse("local://a").map(|u| u.kind).ok(), Some(StorageKind::Local));
        assert_eq!(StorageUrl::parse("session://a").map(|u| u.kind).ok(), Some(StorageKind::Session));
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        let reason = |url: &str| match StorageUrl::parse(url) {
            Err(Error::InvalidUrl { reason, .. }) => reason,
            other => format!("{other:?}"),
        };
        assert!(reason("localstorage").starts_with("no scheme"));
        assert!(reason("postgres://x").starts_with("unknown scheme `postgres`"));
        assert!(reason("local://").starts_with("the database NAME is missing"));
        assert!(reason("local://a/b").starts_with("`/` is not allowed"));
        assert!(reason(&format!("local://{}", "a".repeat(101))).contains("longer than 100"));
    }
}
