//! The demo's server: the page, its wasm, and a JSON API running the demo's service on
//! `plinth-sqlx` — a SQLite file by default, PostgreSQL when `DATABASE_URL` is set.
//!
//! `plinth-demo-server [--port 8080] [--site DIR] [--database URL]`; `cargo xtask demo`
//! builds the wasm and runs it.

mod api;

use std::net::SocketAddr;
use std::path::PathBuf;

struct Args {
    port: u16,
    site: PathBuf,
    database_url: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 8080,
        site: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../static")),
        database_url: std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite://plinth-demo.sqlite".to_owned()),
    };
    let mut words = std::env::args().skip(1);
    while let Some(flag) = words.next() {
        let mut value = || words.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => args.port = value()?.parse().map_err(|_| "--port takes a number from 1 to 65535")?,
            "--site" => args.site = PathBuf::from(value()?),
            "--database" => args.database_url = value()?,
            other => return Err(format!("unknown argument `{other}`; use --port, --site or --database")),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("plinth-demo-server: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let options = plinth_sqlx::ConnectOptions::new(&args.database_url)?;
    let shown_url = options.redacted_url().to_owned();
    let db = options.connect().await?;
    plinth_demo::service::create_tables(&db).await?;
    let app = api::app(db.clone(), api::Served::local(args.port), &args.site);
    let address = SocketAddr::from(([127, 0, 0, 1], args.port));
    let listener =
        tokio::net::TcpListener::bind(address).await.map_err(|e| format!("cannot listen on {address}: {e}"))?;
    println!("Plinth demo on http://{address}/  (database: {} — {})", db.backend_name(), shown_url);
    println!("Press Ctrl-C to stop.");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    println!("stopped");
    Ok(())
}
