//! The commit journal: a commit's writes are recorded under one key before any of
//! them is made, so a commit cut off half-way (the tab closed, storage full) is
//! finished or undone on the next open, never left half.

use plinth::{Error, Result};
use serde_json::Value as Json;

use crate::KeyValue;

/// One key's new value; `None` removes the key.
pub(crate) type Write = (String, Option<String>);

/// A commit's writes and, for each key it touches, the value it had before.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    pub(crate) redo: Vec<Write>,
    pub(crate) undo: Vec<Write>,
}

impl Journal {
    /// `{"redo": [[key, value], …], "undo": […]}`, written straight from the lists:
    /// a `Json` tree first would copy every value of a large commit once more.
    fn encode(&self) -> Result<String, serde_json::Error> {
        Ok(format!(
            r#"{{"redo":{},"undo":{}}}"#,
            serde_json::to_string(&self.redo)?,
            serde_json::to_string(&self.undo)?
        ))
    }

    fn decode(text: &str) -> Option<Journal> {
        let json: Json = serde_json::from_str(text).ok()?;
        let writes = |name: &str| serde_json::from_value::<Vec<Write>>(json.get(name)?.clone()).ok();
        Some(Journal { redo: writes("redo")?, undo: writes("undo")? })
    }
}

/// Records `journal` at `key`, makes its writes, and removes it. If a write fails,
/// every key gets its old value back and the write's error is returned. Nothing has
/// changed if the journal itself does not fit.
pub(crate) fn commit(kv: &impl KeyValue, key: &str, journal: &Journal) -> Result<()> {
    kv.set(key, &journal.encode().map_err(|e| Error::backend(kv.name(), e))?)?;
    finish(kv, key, journal)
}

/// Finishes a commit whose journal was left at `key` by a handle that stopped
/// half-way: rolls it forward, or back if its writes no longer fit.
pub(crate) fn recover(kv: &impl KeyValue, key: &str) -> Result<()> {
    let Some(text) = kv.get(key)? else { return Ok(()) };
    let journal = Journal::decode(&text).ok_or_else(|| Error::CorruptStorage {
        backend: kv.name(),
        location: format!("key `{key}` (the commit journal; remove it to discard that commit)"),
        found: "not a journal".to_owned(),
    })?;
    match finish(kv, key, &journal) {
        // Rolled back whole: the store is as before that commit.
        Err(Error::QuotaExceeded { .. }) if kv.get(key)?.is_none() => Ok(()),
        other => other,
    }
}

fn finish(kv: &impl KeyValue, key: &str, journal: &Journal) -> Result<()> {
    match write_all(kv, journal.redo.iter()) {
        Ok(()) => kv.remove(key),
        Err(err) => {
            undo(kv, &journal.undo)?;
            kv.remove(key)?;
            Err(err)
        }
    }
}

/// Puts every key back as `writes` says: first the keys that shrink (or go), then the
/// ones that grow. The space used then only falls and then rises to what it was before
/// the commit, so a store that was full when the commit failed has room for each step;
/// a grown value restored before a shrunk one could be refused, leaving the store half
/// undone. Sizes count UTF-16 code units, as browsers do.
fn undo(kv: &impl KeyValue, writes: &[Write]) -> Result<()> {
    let size = |value: Option<&str>| value.map_or(0, |v| v.encode_utf16().count());
    let (mut shrinking, mut growing) = (Vec::new(), Vec::new());
    for write in writes {
        if size(write.1.as_deref()) <= size(kv.get(&write.0)?.as_deref()) {
            shrinking.push(write);
        } else {
            growing.push(write);
        }
    }
    write_all(kv, shrinking.into_iter().chain(growing))
}

fn write_all<'w>(kv: &impl KeyValue, writes: impl Iterator<Item = &'w Write>) -> Result<()> {
    for (key, value) in writes {
        match value {
            Some(value) => kv.set(key, value)?,
            None => kv.remove(key)?,
        }
    }
    Ok(())
}
