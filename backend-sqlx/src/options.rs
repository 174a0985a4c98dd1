//! [`ConnectOptions`]: a database URL plus pool settings, checked before connecting.

use std::str::FromStr;
use std::time::Duration;

use plinth::{Database, Error, Result};

/// How to connect: the URL and the pool's size and timeouts.
///
/// Pool settings come from the builder methods or from the URL's query, where Plinth
/// takes `max_connections`, `min_connections`, `connect_timeout`, `acquire_timeout` and
/// `idle_timeout` (seconds) and passes every other parameter to the driver:
///
/// ```
/// use std::time::Duration;
/// let options = plinth_sqlx::ConnectOptions::new("postgres://app@db.internal/app?max_connections=20&sslmode=prefer")?
///     .connect_timeout(Duration::from_secs(3));
/// assert_eq!(options.pool_size(), 20);
/// # Ok::<(), plinth::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    target: Target,
    display_url: String,
    max_connections: u32,
    min_connections: u32,
    connect_timeout: Duration,
    acquire_timeout: Duration,
    idle_timeout: Option<Duration>,
}

#[derive(Clone, Debug)]
enum Target {
    Postgres(String),
    Sqlite { url: String, in_memory: bool },
}

const POOL_KEYS: [&str; 5] =
    ["max_connections", "min_connections", "connect_timeout", "acquire_timeout", "idle_timeout"];

impl ConnectOptions {
    /// Checks `url` — `postgres://…`, `postgresql://…`, `sqlite://path`, `sqlite::memory:` —
    /// and reads pool settings from its query. A malformed URL, an unknown scheme or a bad
    /// setting is [`Error::InvalidUrl`], naming what is wrong.
    pub fn new(url: &str) -> Result<Self> {
        let display_url = redact(url);
        let invalid = |reason: String| Error::InvalidUrl { url: display_url.clone(), reason };
        let (scheme, _) = url.split_once(':').ok_or_else(|| {
            invalid("no scheme; use postgres://user@host/db, sqlite://path/to/file.db or sqlite::memory:".into())
        })?;
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base, query),
            None => (url, ""),
        };
        let mut settings = Vec::new();
        let mut passed_on = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if POOL_KEYS.contains(&key) {
                settings.push((key, value));
            } else {
                passed_on.push(pair);
            }
        }
        let driver_url = if passed_on.is_empty() { base.to_owned() } else { format!("{base}?{}", passed_on.join("&")) };
        let target = match scheme {
            "postgres" | "postgresql" => {
                let parsed = url::Url::parse(&driver_url).map_err(|e| invalid(format!("not a valid URL: {e}")))?;
                if parsed.host_str().is_none_or(str::is_empty) {
                    return Err(invalid("no host; write postgres://user@host:5432/database".into()));
                }
                check_postgres(&driver_url).map_err(invalid)?;
                Target::Postgres(driver_url)
            }
            "sqlite" => {
                let path = base.trim_start_matches("sqlite:").trim_start_matches("//");
                if path.is_empty() {
                    return Err(invalid("no file; write sqlite://path/to/file.db or sqlite::memory:".into()));
                }
                check_sqlite(&driver_url).map_err(invalid)?;
                Target::Sqlite { url: driver_url, in_memory: path == ":memory:" }
            }
            other => {
                return Err(invalid(format!(
                    "unknown scheme `{other}`; plinth-sqlx takes postgres://, postgresql:// and sqlite:// \
                     (browser storage URLs such as local:// belong to plinth-browser)"
                )))
            }
        };
        let mut options = ConnectOptions {
            target,
            display_url: display_url.clone(),
            max_connections: 10,
            min_connections: 0,
            connect_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(600)),
        };
        for (key, value) in settings {
            let number: u64 =
                value.parse().map_err(|_| invalid(format!("`{key}` must be a whole number, not `{value}`")))?;
            let seconds = Duration::from_secs(number);
            let count = u32::try_from(number).map_err(|_| invalid(format!("`{key}` is too large")))?;
            match key {
                "max_connections" if count == 0 => return Err(invalid("`max_connections` must be at least 1".into())),
                "max_connections" => options.max_connections = count,
                "min_connections" => options.min_connections = count,
                "connect_timeout" => options.connect_timeout = seconds,
                "acquire_timeout" => options.acquire_timeout = seconds,
                _ => options.idle_timeout = Some(seconds).filter(|d| !d.is_zero()),
            }
        }
        Ok(options)
    }

    /// At most this many connections (default 10).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Keep at least this many connections open (default 0).
    pub fn min_connections(mut self, n: u32) -> Self {
        self.min_connections = n;
        self
    }

    /// How long `connect` may take before it fails (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a session waits for a free connection (default 30 s).
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Close connections idle this long (default 10 min; `None` keeps them).
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The pool size this will connect with (`sqlite::memory:` always uses one
    /// connection, since each connection would otherwise see its own empty database).
    pub fn pool_size(&self) -> u32 {
        match self.target {
            Target::Sqlite { in_memory: true, .. } => 1,
            _ => self.max_connections,
        }
    }

    /// Opens the pool and checks that the database answers, within the connect timeout.
    pub async fn connect(self) -> Result<Database> {
        let connecting = async {
            match &self.target {
                Target::Postgres(url) => self.connect_postgres(url).await,
                Target::Sqlite { url, in_memory } => self.connect_sqlite(url, *in_memory).await,
            }
        };
        match tokio::time::timeout(self.connect_timeout, connecting).await {
            Ok(result) => result,
            Err(_) => Err(Error::Connection {
                backend: self.backend_name(),
                source: format!("{}: no answer within {:?}", self.display_url, self.connect_timeout).into(),
            }),
        }
    }

    #[cfg(feature = "postgres")]
    async fn connect_postgres(&self, url: &str) -> Result<Database> {
        use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
        let options = PgConnectOptions::from_str(url).map_err(|e| self.connection_error(e))?;
        let pool = PgPoolOptions::new()
            // No ping on every checkout (a round trip per session): a read that finds its
            // connection dead runs once more on a live one, and so does a first BEGIN
            // (`LazyTransaction::fresh_reader`), so a server restart stays invisible.
            .test_before_acquire(false)
            .max_connections(self.max_connections)
            .min_connections(self.min_connections)
            .acquire_timeout(self.acquire_timeout)
            .idle_timeout(self.idle_timeout)
            .connect_with(options)
            .await
            .map_err(|e| self.connection_error(e))?;
        Ok(crate::from_pg_pool(pool))
    }

    #[cfg(not(feature = "postgres"))]
    async fn connect_postgres(&self, _: &str) -> Result<Database> {
        Err(Error::InvalidUrl { url: self.display_url.clone(), reason: without_feature("postgres") })
    }

    #[cfg(feature = "sqlite")]
    async fn connect_sqlite(&self, url: &str, in_memory: bool) -> Result<Database> {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
        let mut options = SqliteConnectOptions::from_str(url)
            .map_err(|e| self.connection_error(e))?
            .create_if_missing(true)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        if !in_memory {
            options = options.journal_mode(SqliteJournalMode::Wal);
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(self.pool_size())
            .min_connections(if in_memory { 1 } else { self.min_connections })
            .acquire_timeout(self.acquire_timeout)
            .idle_timeout(if in_memory { None } else { self.idle_timeout })
            .max_lifetime(if in_memory { None } else { Some(Duration::from_secs(1800)) })
            .connect_with(options)
            .await
            .map_err(|e| self.connection_error(e))?;
        Ok(crate::from_sqlite_pool(pool))
    }

    #[cfg(not(feature = "sqlite"))]
    async fn connect_sqlite(&self, _: &str, _: bool) -> Result<Database> {
        Err(Error::InvalidUrl { url: self.display_url.clone(), reason: without_feature("sqlite") })
    }

    /// The URL as messages show it: every password replaced by `***`.
    pub fn redacted_url(&self) -> &str {
        &self.display_url
    }

    fn backend_name(&self) -> &'static str {
        match self.target {
            Target::Postgres(_) => "postgres",
            Target::Sqlite { .. } => "sqlite",
        }
    }

    fn connection_error(&self, err: sqlx::Error) -> Error {
        Error::Connection { backend: self.backend_name(), source: format!("{}: {err}", self.display_url).into() }
    }
}

fn without_feature(feature: &str) -> String {
    format!("plinth-sqlx was built without its `{feature}` feature; enable it in Cargo.toml (it is on by default)")
}

/// Checks a PostgreSQL URL as the driver reads it, and that the TLS it asks for is built in.
#[cfg(feature = "postgres")]
fn check_postgres(url: &str) -> Result<(), String> {
    sqlx::postgres::PgConnectOptions::from_str(url).map_err(|e| e.to_string())?;
    let needs_tls = url::Url::parse(url).ok().is_some_and(|parsed| {
        parsed.query_pairs().any(|(k, v)| k == "sslmode" && ["require", "verify-ca", "verify-full"].contains(&&*v))
    });
    match needs_tls && !cfg!(feature = "tls") {
        true => Err(without_feature("tls")),
        false => Ok(()),
    }
}

#[cfg(not(feature = "postgres"))]
fn check_postgres(_: &str) -> Result<(), String> {
    Err(without_feature("postgres"))
}

#[cfg(feature = "sqlite")]
fn check_sqlite(url: &str) -> Result<(), String> {
    sqlx::sqlite::SqliteConnectOptions::from_str(url).map(drop).map_err(|e| e.to_string())
}

#[cfg(not(feature = "sqlite"))]
fn check_sqlite(_: &str) -> Result<(), String> {
    Err(without_feature("sqlite"))
}

/// The URL with any password replaced by `***`, for messages: the one in the user
/// information and the `password` (or `sslpassword`) query parameter.
fn redact(url: &str) -> String {
    let without_user_password = match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        // Too malformed to parse (a bad port, say) or to have a password as a URL (a
        // doubled scheme), the text can still hold one: found by fuzzing,
        // `postgres://u:secret@h:notaport/db` was shown whole.
        _ => redact_text(url),
    };
    redact_query(&without_user_password)
}

/// Replaces the values of the query's password parameters, read as text.
fn redact_query(url: &str) -> String {
    let Some((base, rest)) = url.split_once('?') else { return url.to_owned() };
    let (query, fragment) = match rest.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (rest, None),
    };
    // Keys as the driver reads them: percent-decoded (`pass%77ord` is `password`).
    let is_password = |key: &str| {
        let decoded: String = url::form_urlencoded::parse(key.as_bytes()).map(|(k, _)| k.into_owned()).collect();
        ["password", "sslpassword"].contains(&decoded.to_ascii_lowercase().as_str())
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if is_password(key) => format!("{key}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
    format!("{base}?{}{fragment}", pairs.join("&"))
}

/// Replaces what follows the first `:` of `scheme://user:password@…`, read as text.
fn redact_text(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else { return url.to_owned() };
    let rest = &url[start..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    match authority.rfind('@').and_then(|at| authority[..at].find(':').map(|colon| (colon, at))) {
        Some((colon, at)) => format!("{}:***{}", &url[..start + colon], &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(url: &str) -> String {
        match ConnectOptions::new(url) {
            Err(Error::InvalidUrl { reason, .. }) => reason,
            other => format!("not refused: {other:?}"),
        }
    }

    #[test]
    fn malformed_urls_say_what_is_wrong() {
        assert!(reason("mysql://localhost/db").contains("unknown scheme `mysql`"));
        assert!(reason("local://demo").contains("plinth-browser"));
        assert!(reason("just some text").contains("no scheme"));
        assert!(reason("sqlite://").contains("no file"));
        assert!(reason("postgres:///db").contains("no host"));
        assert!(reason("postgres://h/db?max_connections=lots").contains("whole number"));
        assert!(reason("postgres://h/db?max_connections=0").contains("at least 1"));
        assert!(reason("postgres://h:notaport/db").contains("not a valid URL"));
    }

    #[test]
    fn pool_settings_come_from_the_query_and_the_rest_goes_to_the_driver() {
        let options = ConnectOptions::new("postgres://u@h/db?max_connections=3&sslmode=disable&connect_timeout=2");
        let options = options.ok();
        assert_eq!(options.as_ref().map(ConnectOptions::pool_size), Some(3));
        assert_eq!(options.as_ref().map(|o| o.connect_timeout), Some(Duration::from_secs(2)));
        assert!(
            matches!(options.map(|o| o.target), Some(Target::Postgres(url)) if url == "postgres://u@h/db?sslmode=disable")
        );
        assert_eq!(ConnectOptions::new("sqlite::memory:?max_connections=8").map(|o| o.pool_size()).ok(), Some(1));
    }

    #[test]
    fn passwords_never_reach_messages() {
        let err = ConnectOptions::new("postgres://u:secret@h/db?max_connections=x").err();
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(!message.contains("secret") && message.contains("***"), "{message}");
    }

    #[test]
    fn passwords_given_as_query_parameters_never_reach_messages() {
        for url in [
            "postgres://u@h/db?password=secret&max_connections=x",
            "postgres://u@h:notaport/db?sslmode=require&PASSWORD=secret",
            "postgres://u@h/db?sslpassword=secret&connect_timeout=soon",
            "postgres://u@h/db?pass%77ord=secret&max_connections=x",
        ] {
            let message = ConnectOptions::new(url).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(!message.contains("secret") && message.contains("=***"), "{message}");
        }
        let options = ConnectOptions::new("postgres://u@h/db?password=secret&sslmode=disable").ok();
        let shown = options.map(|o| o.redacted_url().to_owned()).unwrap_or_default();
        assert_eq!(shown, "postgres://u@h/db?password=***&sslmode=disable");
    }

    /// Found by the `url_parse` fuzz target: a URL the parser refuses was shown whole.
    #[test]
    fn passwords_of_malformed_urls_never_reach_messages() {
        for url in [
            "postgres://u:secret@h:notaport/db",
            "sqlitesqlitepostgres://postgre:secret@//aIpp.=rwc",
            "postgres:postgres://u:secret@h/db",
        ] {
            let message = ConnectOptions::new(url).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(!message.contains("secret") && message.contains(":***@"), "{message}");
        }
        assert_eq!(redact_text("postgres://u:a:b@c@h:x/p@q"), "postgres://u:***@h:x/p@q");
        assert_eq!(redact_text("postgres://h:x/db"), "postgres://h:x/db");
    }
}
