//! The API over real HTTP: a server on a free port of 127.0.0.1, and requests written
//! byte for byte, so headers a browser would never send alone (a foreign `Host`, a
//! cross-site `Origin`, `text/plain` bodies, bytes that are not UTF-8) are sent as an
//! attacker's page or tool would.

use std::path::PathBuf;

use plinth::Database;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{app, Served};

/// A running server on `plinth::memory()`, its port, and its site folder.
struct Server {
    port: u16,
    site: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.site);
    }
}

async fn start() -> Server {
    let db: Database = plinth::memory();
    plinth_demo::service::create_tables(&db).await.expect("tables");
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let site = std::env::temp_dir().join(format!("plinth-demo-site-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&site).expect("site folder");
    std::fs::write(site.join("index.html"), "<!doctype html><title>demo</title>").expect("index.html");
    let routes = app(db, Served::local(port), &site);
    tokio::spawn(async move { axum::serve(listener, routes).await });
    Server { port, site }
}

/// An answer: status, `Content-Type`, and body.
#[derive(Debug)]
struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    /// The documented error body: `{"status": status, "message": "…"}`, as JSON.
    fn assert_error(&self, status: u16) {
        assert_eq!(self.status, status, "{self:?}");
        assert!(self.content_type.starts_with("application/json"), "{self:?}");
        let body = self.json();
        assert_eq!(body["status"], status, "{body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    }
}

impl Server {
    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sends one request with exactly these headers (`Content-Length` added for a body).
    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.expect("connect");
        let mut request = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() || method == "POST" || method == "PUT" {
            request.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        stream.write_all(body).await.expect("write body");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a head");
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status");
        let content_type = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type: ").map(str::to_owned))
            .unwrap_or_default();
        Answer { status, content_type, body: raw[split + 4..].to_vec() }
    }

    /// A request the demo's own page would send.
    async fn own(&self, method: &str, path: &str, body: Option<&Value>) -> Answer {
        let (host, origin) = (self.host(), self.origin());
        let mut headers = vec![("Host", host.as_str()), ("Origin", origin.as_str())];
        let text = body.map(Value::to_string).unwrap_or_default();
        if body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        self.send(method, path, &headers, text.as_bytes()).await
    }

    async fn users(&self) -> Vec<Value> {
        let answer = self.own("GET", "/api/users", None).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.json().as_array().cloned().unwrap_or_default()
    }

    /// `GET /api/notes{query}`: each note's title and author's username.
    async fn notes(&self, query: &str) -> Vec<(Value, Value)> {
        let answer = self.own("GET", &format!("/api/notes{query}"), None).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        let notes = answer.json().as_array().cloned().unwrap_or_default();
        notes.iter().map(|n| (n["title"].clone(), n["author_username"].clone())).collect()
    }
}

fn ada() -> Value {
    json!({"username": "ada", "email_address": "ada@example.com"})
}

#[tokio::test]
async fn a_cross_site_text_plain_post_writes_nothing() {
    let server = start().await;
    let host = server.host();
    let body = ada().to_string();
    // What a form or `fetch(…, {mode: "no-cors"})` on another site can send without a preflight.
    let foreign = [("Host", host.as_str()), ("Origin", "http://evil.example"), ("Content-Type", "text/plain")];
    server.send("POST", "/api/users", &foreign, body.as_bytes()).await.assert_error(403);
    let no_origin = [("Host", host.as_str()), ("Content-Type", "text/plain;charset=UTF-8")];
    server.send("POST", "/api/users", &no_origin, body.as_bytes()).await.assert_error(415);
    let form = [("Host", host.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
    server.send("POST", "/api/users", &form, b"username=ada").await.assert_error(415);
    let null_origin = [("Host", host.as_str()), ("Origin", "null"), ("Content-Type", "application/json")];
    server.send("DELETE", "/api/users/1", &null_origin, b"").await.assert_error(403);
    assert!(server.users().await.is_empty(), "nothing was stored");
    assert_eq!(server.own("POST", "/api/users", Some(&ada())).await.status, 201);
    assert_eq!(server.users().await.len(), 1);
}

#[tokio::test]
async fn a_foreign_host_is_refused_for_the_api_and_the_page() {
    let server = start().await;
    let rebound = format!("evil.example:{}", server.port);
    for path in ["/api/users", "/api/info", "/", "/index.html"] {
        server.send("GET", path, &[("Host", rebound.as_str())], b"").await.assert_error(403);
    }
    server.send("GET", "/", &[], b"").await.assert_error(403);
    let localhost = format!("localhost:{}", server.port);
    let page = server.send("GET", "/index.html", &[("Host", localhost.as_str())], b"").await;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(String::from_utf8_lossy(&page.body).contains("demo"));
}

#[tokio::test]
async fn every_error_has_the_documented_json_body() {
    let server = start().await;
    let (host, origin) = (server.host(), server.origin());
    let json = [("Host", host.as_str()), ("Origin", origin.as_str()), ("Content-Type", "application/json")];
    server.own("DELETE", "/api/users/abc", None).await.assert_error(404);
    server.send("PUT", "/api/users/12x", &json, ada().to_string().as_bytes()).await.assert_error(404);
    server.own("GET", "/api/users/1/more", None).await.assert_error(404);
    server.own("GET", "/api/nothing", None).await.assert_error(404);
    server.own("PATCH", "/api/users", None).await.assert_error(405);
    server.own("DELETE", "/api/users/99", None).await.assert_error(404);
    server.own("GET", "/api/users?sort=sideways", None).await.assert_error(422);
    let huge = json!({"username": "ada", "email_address": "x".repeat(100 * 1024)}).to_string();
    server.send("POST", "/api/users", &json, huge.as_bytes()).await.assert_error(413);
    server.send("POST", "/api/users", &json, &[0xff, 0xfe, b'{', b'}']).await.assert_error(400);
    server.send("POST", "/api/users", &json, b"{not json").await.assert_error(422);
    assert!(server.users().await.is_empty(), "nothing was stored");
}

#[tokio::test]
async fn two_browsers_editing_one_record_the_second_gets_409() {
    let server = start().await;
    let created = server.own("POST", "/api/notes", Some(&json!({"title": "plan"}))).await;
    assert_eq!(created.status, 201, "{created:?}");
    let read = created.json();
    let (id, version) = (read["id"].as_i64().expect("an id"), read["updated_at"].clone());
    let path = format!("/api/notes/{id}");
    let first = json!({"title": "plan A", "updated_at": version});
    let second = json!({"title": "plan B", "updated_at": version});
    let saved = server.own("PUT", &path, Some(&first)).await;
    assert_eq!(saved.status, 200, "{saved:?}");
    server.own("PUT", &path, Some(&second)).await.assert_error(409);
    server.own("PUT", &path, Some(&json!({"title": "plan C"}))).await.assert_error(422);
    let notes = server.own("GET", "/api/notes", None).await.json();
    assert_eq!(notes[0]["title"], "plan A", "the first edit stands: {notes}");
    let again = json!({"title": "plan B", "updated_at": saved.json()["updated_at"]});
    assert_eq!(server.own("PUT", &path, Some(&again)).await.status, 200, "an edit of the current version goes through");
}

#[tokio::test]
async fn notes_belong_to_users_are_listed_by_author_and_go_with_their_user() {
    let server = start().await;
    let bob = json!({"username": "bob", "email_address": "bob@example.com"});
    let mut ids = Vec::new();
    for user in [ada(), bob] {
        let created = server.own("POST", "/api/users", Some(&user)).await;
        assert_eq!(created.status, 201, "{created:?}");
        ids.push(created.json()["id"].as_i64().expect("an id"));
    }
    let (ada_id, bob_id) = (ids[0], ids[1]);
    for (title, author) in [("ada's", json!(ada_id)), ("bob's", json!(bob_id)), ("nobody's", Value::Null)] {
        let created = server.own("POST", "/api/notes", Some(&json!({"title": title, "author_id": author}))).await;
        assert_eq!((created.status, created.json()["author"].clone()), (201, author), "{created:?}");
    }
    let everyone =
        vec![(json!("ada's"), json!("ada")), (json!("bob's"), json!("bob")), (json!("nobody's"), Value::Null)];
    assert_eq!(server.notes("?sort=oldest").await, everyone);
    assert_eq!(server.notes("?sort=oldest&author=").await, everyone, "an empty author is every note");
    assert_eq!(server.notes(&format!("?author={ada_id}")).await, [(json!("ada's"), json!("ada"))]);
    assert_eq!(server.notes(&format!("?q=bob&author={ada_id}")).await, []);
    assert_eq!(server.notes("?author=999").await, [], "a user that does not exist has no notes");
    let counts: Vec<Value> = server.users().await.iter().map(|u| json!([u["username"], u["note_count"]])).collect();
    assert_eq!(counts, [json!(["bob", 1]), json!(["ada", 1])], "newest first, each with its note count");

    let missing = server.own("POST", "/api/notes", Some(&json!({"title": "lost", "author_id": 999}))).await;
    missing.assert_error(422);
    assert!(missing.json()["message"].as_str().is_some_and(|m| m.contains("author does not exist")), "{missing:?}");
    server.own("POST", "/api/notes", Some(&json!({"title": "lost", "author_id": "1"}))).await.assert_error(422);
    for path in ["/api/notes?author=abc", "/api/notes?author=1.5", "/api/users?author=1"] {
        server.own("GET", path, None).await.assert_error(422);
    }
    assert_eq!(server.notes("").await.len(), 3, "nothing was stored");

    let deleted = server.own("DELETE", &format!("/api/users/{ada_id}"), None).await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert_eq!(server.notes(&format!("?author={ada_id}")).await, []);
    assert_eq!(server.notes("?sort=oldest").await, everyone[1..], "ada's note went with her; the others stay");
}
