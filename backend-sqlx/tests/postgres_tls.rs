//! TLS to PostgreSQL, as a hosted server asks for it: `sslmode` and `sslrootcert` in the
//! URL, through rustls. The local cluster serves TLS with Debian's snake-oil certificate
//! (package `ssl-cert`: self-signed, for the host name `localhost`), which these tests
//! use as the CA.
//!
//! Needs that server: `cargo xtask test`, or by hand
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo test -p plinth-sqlx --test postgres_tls`.

use plinth::{Entity, Error};
use plinth_conformance::entities::User;

mod support;

use support::server_url;

/// Debian's snake-oil certificate, which the local cluster serves.
const SNAKE_OIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

/// The server's URL on `host`, with `params` added.
fn url(host: &str, params: &str) -> String {
    let base = server_url().replacen("127.0.0.1", host, 1);
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}{params}")
}

/// Whether the connections named `name` are encrypted, as the server sees them.
async fn ssl_of_connections_named(name: &str) -> Vec<bool> {
    let admin = sqlx::PgPool::connect(&server_url()).await.expect("admin connection");
    sqlx::query_scalar(
        "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a ON a.pid = s.pid WHERE a.application_name = $1",
    )
    .bind(name)
    .fetch_all(&admin)
    .await
    .expect("pg_stat_ssl")
}

/// Connects with `params`, runs a session, and says whether the server saw TLS.
async fn session_over(host: &str, params: &str) -> plinth::Result<bool> {
    // One name per set of parameters (the tests run at once), short enough for
    // PostgreSQL's 63 bytes: a hash of them, not their length, which `sslmode=require`
    // and `sslmode=disable` share.
    let tag = {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (host, params).hash(&mut hasher);
        hasher.finish()
    };
    let name = format!("plinth_tls_{}_{tag:016x}", std::process::id());
    let db = plinth_sqlx::connect(&url(host, &format!("{params}&application_name={name}&max_connections=1"))).await?;
    db.create_all(&[User::table()]).await?;
    let mut session = db.session().await?;
    session.query::<User>().count().await?;
    let seen = ssl_of_connections_named(&name).await;
    drop(session);
    Ok(seen.iter().all(|ssl| *ssl) && !seen.is_empty())
}

#[tokio::test]
async fn sslmode_require_connects_over_tls() {
    assert!(session_over("127.0.0.1", "sslmode=require").await.expect("require"), "the connection is encrypted");
}

#[tokio::test]
async fn sslmode_disable_connects_in_the_clear() {
    assert!(!session_over("127.0.0.1", "sslmode=disable").await.expect("disable"), "the connection is not encrypted");
}

#[tokio::test]
async fn sslmode_verify_ca_trusts_the_given_root_certificate() {
    let params = format!("sslmode=verify-ca&sslrootcert={SNAKE_OIL}");
    assert!(session_over("localhost", &params).await.expect("verify-ca"), "the connection is encrypted");
    // libpq's verify-ca skips the host name; sqlx 0.8.6 with rustls 0.23.24 and later
    // checks it anyway (sqlx issue #3793), so verify-ca is as strict as verify-full for
    // now: by IP, this certificate for `localhost` is refused, safely. The crate docs say so.
    let by_ip = session_over("127.0.0.1", &params).await;
    assert!(matches!(by_ip, Err(Error::Connection { .. })), "{by_ip:?}");
}

#[tokio::test]
async fn sslmode_verify_full_checks_the_host_name() {
    let params = format!("sslmode=verify-full&sslrootcert={SNAKE_OIL}");
    assert!(session_over("localhost", &params).await.expect("verify-full for the certificate's host"));
    let refused = session_over("127.0.0.1", &params).await;
    match refused {
        Err(Error::Connection { source, .. }) => {
            let message = source.to_string();
            assert!(message.contains("certificate") || message.contains("name"), "says why: {message}");
            assert!(!message.contains("SQLx was built without TLS"), "{message}");
        }
        other => panic!("verify-full with another host name must be refused: {other:?}"),
    }
}

#[tokio::test]
async fn sslmode_verify_ca_without_a_root_refuses_a_self_signed_certificate() {
    // Mozilla's roots do not hold the snake-oil certificate.
    let refused = session_over("127.0.0.1", "sslmode=verify-ca").await;
    assert!(matches!(refused, Err(Error::Connection { .. })), "{refused:?}");
}
