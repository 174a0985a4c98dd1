//! SQLite out of space in the middle of a session's writes: a database capped by its
//! own `max_page_count`, and a real full disk (a 2 MiB tmpfs mounted by the test, which
//! needs root; as another user that case says so and passes). Each time the refused write
//! is `Error::QuotaExceeded`, nothing of its session is stored, every earlier commit
//! reads back exactly, `PRAGMA integrity_check` finds the file whole, and the database
//! takes the same writes once there is room.
//!
//! `cargo test -p plinth-sqlx --test sqlite_full`

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use plinth::{Database, Entity, Error, Record};
use plinth_conformance::entities::User;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;

mod support;

use support::{unique_name, SqliteFile};

/// A pool on the file at `url` as `plinth_sqlx::connect` makes it, with `pragmas` set on
/// every connection.
async fn pool(url: &str, pragmas: &[(&'static str, String)]) -> SqlitePool {
    let mut options = SqliteConnectOptions::from_str(url)
        .expect("a SQLite URL")
        .create_if_missing(true)
        .busy_timeout(Duration::from_secs(5))
        .journal_mode(SqliteJournalMode::Wal);
    for (name, value) in pragmas {
        options = options.pragma(*name, value.clone());
    }
    SqlitePoolOptions::new().max_connections(2).connect_with(options).await.expect("pool")
}

fn batch(round: usize) -> Vec<User> {
    // Long addresses, so the file grows by pages at every round.
    (0..40).map(|i| User { username: format!("r{round}-{i}"), email_address: "x".repeat(400) }).collect()
}

/// Commits batches until the storage refuses one, then checks what the module docs say;
/// `make_room` frees space (and gives a database on the freed storage).
async fn fill_and_recover(db: &Database, pool: &SqlitePool, make_room: impl std::future::Future<Output = Database>) {
    db.create_all(&[User::table()]).await.expect("create_all");
    let mut committed: Vec<Record<User>> = Vec::new();
    let refused = loop {
        let round = committed.len() / 40;
        assert!(round < 10_000, "the storage never filled up");
        let mut session = db.session().await.expect("session");
        let result = match session.add_all(batch(round)).await {
            Ok(records) => session.commit().await.map(|()| records).map_err(|e| ("commit", e)),
            Err(err) => Err(("add_all", err)),
        };
        match result {
            Ok(records) => committed.extend(records),
            Err(refused) => break refused,
        }
    };
    let (at, refused) = refused;
    assert!(matches!(refused, Error::QuotaExceeded { .. }), "a full storage is QuotaExceeded: {refused:?}");
    assert!(refused.to_string().contains("full"), "{refused}");
    let round = committed.len() / 40;
    assert!(round > 0, "the storage filled up before the first commit");

    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(pool).await.expect("integrity_check");
    assert_eq!(check, "ok", "the file is whole");
    let mut session = db.session().await.expect("session");
    let stored = session.query::<User>().all().await.expect("every earlier commit reads back");
    assert_eq!(stored, committed, "exactly what was committed, nothing of the refused session");

    let db = make_room.await;
    let mut session = db.session().await.expect("session");
    let records = session.add_all(batch(round)).await.expect("the refused writes, once there is room");
    session.commit().await.expect("commit");
    committed.extend(records);
    let stored = db.session().await.expect("session").query::<User>().all().await.expect("query");
    assert_eq!(stored, committed);
    println!("full after {round} batches of 40 rows, at {at}: {refused}");
}

#[tokio::test]
async fn a_database_at_its_max_page_count_refuses_the_session_and_keeps_the_rest() {
    let file = SqliteFile::new("plinth-full-pages");
    let capped = pool(&file.url(), &[("max_page_count", "64".to_owned())]).await;
    let db = plinth_sqlx::from_sqlite_pool(capped.clone());
    let url = file.url();
    fill_and_recover(&db, &capped, async move {
        plinth_sqlx::from_sqlite_pool(pool(&url, &[("max_page_count", "100000".to_owned())]).await)
    })
    .await;
}

/// A tmpfs of `size` mounted at a new folder, unmounted on drop; `None` if this user
/// may not mount one.
struct Tmpfs {
    dir: std::path::PathBuf,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Self> {
        let dir = std::env::temp_dir().join(unique_name("plinth-tmpfs"));
        std::fs::create_dir_all(&dir).ok()?;
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output()
            .ok()?;
        if !mounted.status.success() {
            eprintln!(
                "sqlite_full: cannot mount a tmpfs here ({}); the disk-full case needs root",
                String::from_utf8_lossy(&mounted.stderr).trim()
            );
            let _ = std::fs::remove_dir(&dir);
            return None;
        }
        Some(Tmpfs { dir })
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

fn is_root() -> bool {
    std::process::Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

#[tokio::test]
async fn a_full_disk_refuses_the_session_and_the_database_goes_on_once_there_is_room() {
    if !is_root() {
        eprintln!("sqlite_full: not root, so no tmpfs can be mounted; the disk-full case did not run");
        return;
    }
    let disk = Tmpfs::mount("2m").expect("root mounts a tmpfs");
    // Room to free later: a filler file on the same small disk.
    let filler = disk.path("filler");
    std::fs::write(&filler, vec![0_u8; 512 * 1024]).expect("the filler");
    let url = format!("sqlite://{}", disk.path("app.sqlite").display());
    let full = pool(&url, &[]).await;
    let db = plinth_sqlx::from_sqlite_pool(full.clone());
    fill_and_recover(&db, &full, remove_and_reopen(&filler, db.clone())).await;
    full.close().await;
}

async fn remove_and_reopen(filler: &Path, db: Database) -> Database {
    std::fs::remove_file(filler).expect("free the filler's room");
    db
}
