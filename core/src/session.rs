//! [`Session`]: one unit of work, committed all at once or not at all.

use std::fmt;

use std::sync::Arc;

use crate::backend::{Backend, Transaction};
use crate::entity::{DecodeError, Entity};
use crate::error::{Error, Result};
use crate::id::Id;
use crate::live::Recorded;
use crate::query::{Column, Filter, Query, Select};
use crate::record::Record;
use crate::relations::delete::{delete_with_rules, Deleted};
use crate::relations::Relations;
use crate::row::{Row, RowMeta, StoredFields, StoredRow};
use crate::table::{ColumnRef, Table};

/// How often [`Session::upsert`] looks its row up before it reports what another
/// session's writes meanwhile caused.
const UPSERT_ATTEMPTS: usize = 3;

/// One transaction over a [`Database`](crate::Database): reads see the session's own
/// writes, other sessions see none of them until [`commit`](Session::commit), and a
/// session dropped without `commit` is rolled back.
///
/// ```
/// # use plinth::Entity;
/// # #[derive(plinth::Entity, Clone, Debug, PartialEq)]
/// # pub struct User { #[entity(unique)] pub username: String, pub email_address: String }
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// use plinth::Error;
///
/// let db = plinth::memory();
/// db.create_all(&[User::table()]).await?;
/// let mut session = db.session().await?;
/// let mut ada = session
///     .add(User { username: "ada".into(), email_address: "ada@example.com".into() })
///     .await?;
///
/// // A second "ada" is refused, writes nothing, and the session goes on.
/// let dup = session.add(User { username: "ada".into(), email_address: "x@example.com".into() }).await;
/// assert!(matches!(dup, Err(Error::UniqueViolation { column: Some("username"), .. })));
///
/// ada.email_address = "ada@lovelace.org".into();
/// session.update(&mut ada).await?;
/// assert!(ada.updated_at() > ada.created_at());
///
/// let c = User::columns();
/// let found = session.query::<User>().filter(|c| c.username.like("a%")).all().await?;
/// assert_eq!(found.len(), 1);
/// assert_eq!(session.query::<User>().filter(|_| c.email_address.eq("nobody")).count().await?, 0);
/// session.commit().await?;
/// # Ok::<(), plinth::Error>(()) })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Session {
    tx: Recorded,
    /// The backend, to read the stored tables again when one changed meanwhile.
    backend: Arc<dyn Backend>,
    relations: Relations,
    /// Set when a write of several statements (a delete with rules, a bulk write)
    /// failed part-way, or while one is under way (so one cancelled part-way, its future
    /// dropped, counts as failed): what `commit` answers, after rolling back, so half of
    /// it is never committed.
    half_done: Option<Error>,
    /// The unique values upserts inserted, as (table, column, id): a commit that finds
    /// another session committed one meanwhile answers `Conflict` (run the session
    /// again and the upsert updates that row), not `UniqueViolation`.
    upserted: Vec<(&'static str, &'static str, i64)>,
}

impl Session {
    pub(crate) fn new(tx: Box<dyn Transaction>, backend: Arc<dyn Backend>) -> Self {
        let relations = backend.relations();
        let tx = Recorded::new(tx, backend.changes());
        Session { tx, backend, relations, half_done: None, upserted: Vec::new() }
    }

    pub(crate) fn transaction(&mut self) -> &mut dyn Transaction {
        &mut self.tx
    }

    /// The tables this session has read (see [`Recorded::tables_read`]).
    pub(crate) fn tables_read(&self) -> Option<std::collections::BTreeSet<&'static str>> {
        self.tx.tables_read()
    }

    /// Marks the session as in the middle of a write of several statements on `table`
    /// (see `half_done`); whether this call set the mark, for [`end_multi_write`].
    ///
    /// [`end_multi_write`]: Session::end_multi_write
    pub(crate) fn begin_multi_write(&mut self, table: &'static Table, id: i64) -> bool {
        let free = self.half_done.is_none();
        if free {
            self.half_done = Some(Error::Conflict { table: table.name(), id });
        }
        free
    }

    /// The write [`begin_multi_write`](Session::begin_multi_write) marked ended whole
    /// (done, or refused with nothing of it left).
    pub(crate) fn end_multi_write(&mut self, marked: bool) {
        if marked {
            self.half_done = None;
        }
    }

    /// Stores a new entity and returns it as a record with its id and timestamps.
    pub async fn add<E: Entity>(&mut self, entity: E) -> Result<Record<E>> {
        let row = checked_row(&entity)?;
        let meta = self.tx.insert(E::table(), std::slice::from_ref(&row)).await?;
        let meta = meta.into_iter().next().ok_or_else(|| missing_meta::<E>(1, 0))?;
        Ok(Record::new(meta, decode::<E>(meta.id, row)?))
    }

    /// Stores many new entities in one backend call (one statement per batch on SQL
    /// backends), returning records in input order. If any of them violates a unique
    /// constraint, none is stored.
    pub async fn add_all<E: Entity>(&mut self, entities: impl IntoIterator<Item = E>) -> Result<Vec<Record<E>>> {
        let rows = entities.into_iter().map(|e| checked_row(&e)).collect::<Result<Vec<_>>>()?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let metas = self.tx.insert(E::table(), &rows).await?;
        if metas.len() != rows.len() {
            return Err(missing_meta::<E>(rows.len(), metas.len()));
        }
        metas.into_iter().zip(rows).map(|(meta, row)| Ok(Record::new(meta, decode::<E>(meta.id, row)?))).collect()
    }

    /// Stores `entity` as the row that holds its value in the unique column `on`: that
    /// row is updated (it keeps its id and `created_at`, its `updated_at` moves, as with
    /// [`update`](Session::update)) if one exists, as this session sees the table;
    /// otherwise a new row is inserted, as with [`add`](Session::add). A `NULL` value
    /// matches no row, so it always inserts. `on` must be a unique column
    /// ([`Error::InvalidValue`] before any I/O); a value that another row holds in
    /// another unique column is [`Error::UniqueViolation`], and nothing is written.
    ///
    /// When another session inserts or writes the same row between the lookup and the
    /// write, the lookup runs again (a few times at most), so the upsert updates what
    /// that session committed. Under heavier contention it is refused as an update
    /// would be, with [`Error::Conflict`] (on the record engine at commit): retry the
    /// session.
    ///
    /// ```
    /// # use plinth::Entity;
    /// # #[derive(plinth::Entity, Clone, Debug, PartialEq)]
    /// # pub struct User { #[entity(unique)] pub username: String, pub email_address: String }
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// # let db = plinth::memory();
    /// # db.create_all(&[User::table()]).await?;
    /// let mut session = db.session().await?;
    /// let ada = |email: &str| User { username: "ada".into(), email_address: email.into() };
    /// let first = session.upsert(ada("ada@example.com"), |c| c.username).await?;
    /// let again = session.upsert(ada("ada@lovelace.org"), |c| c.username).await?;
    /// assert_eq!((again.id(), again.created_at()), (first.id(), first.created_at()));
    /// assert!(again.updated_at() > first.updated_at());
    /// assert_eq!(session.query::<User>().count().await?, 1);
    /// # Ok::<(), plinth::Error>(()) })?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn upsert<E: Entity, T>(
        &mut self,
        entity: E,
        on: impl FnOnce(E::Columns) -> Column<E, T>,
    ) -> Result<Record<E>> {
        let table = E::table();
        let name = on(E::columns()).name();
        let column = match table.resolve(name)?.0 {
            ColumnRef::Field(i) if table.columns()[i].is_unique() => i,
            _ => {
                let reason = "an upsert finds its row by a unique column, and this one is not".to_owned();
                return Err(Error::InvalidValue { table: table.name(), column: Some(name), reason });
            }
        };
        let row = checked_row(&entity)?;
        let value = row.values()[column].clone();
        let lookup = (!value.is_null())
            .then(|| Select::bind(table, vec![Filter::column(name).eq(value)], Vec::new(), Some(1), 0))
            .transpose()?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let holder = match &lookup {
                Some(select) => self.tx.select(table, select).await?.into_iter().next(),
                None => None,
            };
            let written = match holder {
                Some(stored) => {
                    table.check_stored(&stored)?;
                    self.tx.update(table, stored.meta.id, stored.meta.updated_at, &row).await
                }
                None => {
                    let inserted = self.tx.insert(table, std::slice::from_ref(&row)).await;
                    let meta =
                        inserted.and_then(|metas| metas.into_iter().next().ok_or_else(|| missing_meta::<E>(1, 0)));
                    if let (Ok(meta), true) = (&meta, lookup.is_some()) {
                        self.upserted.push((table.name(), name, meta.id));
                    }
                    meta
                }
            };
            match written {
                // Another session inserted the value, or wrote its row, since the lookup.
                Err(Error::UniqueViolation { column: Some(c), .. }) if c == name && attempts < UPSERT_ATTEMPTS => {}
                Err(Error::Conflict { .. } | Error::NotFound { .. }) if attempts < UPSERT_ATTEMPTS => {}
                written => {
                    let meta = written?;
                    return Ok(Record::new(meta, decode::<E>(meta.id, row)?));
                }
            }
        }
    }

    /// The record with this id, or `None`. The id is an [`Id<E>`](crate::Id) (from a
    /// record, or a number: `get::<User>(7)`).
    pub async fn get<E: Entity>(&mut self, id: impl Into<Id<E>>) -> Result<Option<Record<E>>> {
        self.tx.get(E::table(), id.into().get()).await?.map(record_from_stored).transpose()
    }

    /// Writes the record's fields back, keeping its id and `created_at` and moving its
    /// `updated_at` forward.
    ///
    /// `updated_at` is the record's version: if the row was written since this record
    /// was read (by another session, or through another copy of the record), the update
    /// is refused with [`Error::Conflict`](crate::Error::Conflict) instead of silently
    /// overwriting that write; read the record again and retry.
    pub async fn update<E: Entity>(&mut self, record: &mut Record<E>) -> Result<()> {
        let row = checked_row(record.entity())?;
        let meta = self.tx.update(E::table(), record.id().get(), record.updated_at(), &row).await?;
        **record = decode::<E>(meta.id, row)?;
        record.set_meta(meta);
        Ok(())
    }

    /// Deletes the record, applying the delete rule of every reference to it (see
    /// [`delete_by_id`](Session::delete_by_id)).
    pub async fn delete<E: Entity>(&mut self, record: Record<E>) -> Result<()> {
        self.delete_by_id::<E>(record.id()).await
    }

    /// Deletes the row with this id; [`Error::NotFound`] if there is none. Rows that
    /// refer to it get their reference's rule, on every backend: `cascade` deletes
    /// them too (and theirs in turn), `set_null` sets the column to `NULL` (moving
    /// their `updated_at`), and `restrict`, the default, refuses the delete with
    /// [`Error::StillReferenced`] while such a row is left, writing nothing.
    ///
    /// If the delete fails while writing (another session changed a referring row in
    /// the meantime, or the connection failed), the session cannot commit any more:
    /// `commit` rolls it back and answers [`Error::Conflict`].
    pub async fn delete_by_id<E: Entity>(&mut self, id: impl Into<Id<E>>) -> Result<()> {
        let (table, id) = (E::table(), id.into().get());
        if self.relations.referrers(table.name()).is_empty() {
            return self.tx.delete(table, id).await;
        }
        match self.tx.get(table, id).await? {
            Some(_) => self.delete_rows(table, &[id]).await.map(drop),
            None => Err(Error::NotFound { table: table.name(), id }),
        }
    }

    /// Deletes rows `ids` of `table`, which this session has read, by the delete rules of
    /// every reference to them (see [`delete_by_id`](Session::delete_by_id)); how many.
    pub(crate) async fn delete_rows(&mut self, table: &'static Table, ids: &[i64]) -> Result<u64> {
        let marked = self.begin_multi_write(table, ids.first().copied().unwrap_or_default());
        let mut deleted = delete_with_rules(&mut self.tx, &self.relations, table, ids).await;
        // A referring table read from the storage that another handle changed since:
        // read the stored tables again, once, and delete by their rules as they are now.
        if let Deleted::Settled(Err(
            Error::SchemaMismatch { table: changed, .. } | Error::SchemaChanged { table: changed, .. },
        )) = &deleted
        {
            if *changed != table.name() && !self.relations.is_given(changed) {
                self.relations.add_stored(&self.backend.stored_tables().await?);
                deleted = delete_with_rules(&mut self.tx, &self.relations, table, ids).await;
            }
        }
        match deleted {
            Deleted::Settled(done) => {
                self.end_multi_write(marked);
                done
            }
            Deleted::HalfDone(err) => {
                let id = ids.first().copied().unwrap_or_default();
                self.half_done = Some(Error::Conflict { table: table.name(), id });
                Err(err)
            }
        }
    }

    /// Starts a query on `E`'s table.
    pub fn query<E: Entity>(&mut self) -> Query<'_, E> {
        Query::new(self)
    }

    /// Makes every write of this session visible to other sessions, all at once.
    pub async fn commit(self) -> Result<()> {
        match self.half_done {
            Some(err) => {
                Box::new(self.tx).rollback().await?;
                Err(err)
            }
            None => match Box::new(self.tx).commit().await {
                Err(Error::UniqueViolation { table, column: Some(column) }) => {
                    let upserted = self.upserted.iter().find(|(t, c, _)| *t == table && *c == column);
                    Err(match upserted {
                        Some(&(table, _, id)) => Error::Conflict { table, id },
                        None => Error::UniqueViolation { table, column: Some(column) },
                    })
                }
                done => done,
            },
        }
    }

    /// Discards every write of this session (dropping the session does the same).
    pub async fn rollback(self) -> Result<()> {
        Box::new(self.tx).rollback().await
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").finish_non_exhaustive()
    }
}

/// The backend transaction under `session`, for a backend crate's own escape hatches
/// (through [`Transaction::as_any_mut`]). What is done through it bypasses the
/// session's checks.
pub fn session_transaction(session: &mut Session) -> &mut dyn Transaction {
    &mut session.tx
}

fn checked_row<E: Entity>(entity: &E) -> Result<Row> {
    let row = entity.to_row();
    E::table().check_row(&row)?;
    Ok(row)
}

/// A stored row as a record of `E`, checked as every read row is
/// ([`Table::check_stored`]: its timestamps, then each field as it is decoded).
pub fn record_from_stored<E: Entity>(mut stored: StoredRow) -> Result<Record<E>> {
    record_from_fields(stored.meta, &mut stored.row)
}

/// A row just written, back as the entity it came from.
fn decode<E: Entity>(id: i64, mut row: Row) -> Result<E> {
    decode_fields(id, &mut row)
}

/// Row `id`'s fields as an `E`, a field that does not fit as [`Error::Decode`].
fn decode_fields<E: Entity>(id: i64, fields: &mut dyn StoredFields) -> Result<E> {
    E::from_fields(fields).map_err(|DecodeError { column, found }| Error::Decode {
        table: E::table().name(),
        record: format!("id {id}"),
        column,
        found,
    })
}

/// A row a backend hands over field by field ([`Transaction::select_into`]) as a record
/// of `E`, checked as [`record_from_stored`] checks one.
pub(crate) fn record_from_fields<E: Entity>(meta: RowMeta, fields: &mut dyn StoredFields) -> Result<Record<E>> {
    E::table().check_stored_meta(&meta)?;
    Ok(Record::new(meta, decode_fields(meta.id, fields)?))
}

fn missing_meta<E: Entity>(expected: usize, got: usize) -> Error {
    Error::backend(
        "plinth",
        format!("table `{}`: the backend returned {got} ids for {expected} inserted rows", E::table().name()),
    )
}
