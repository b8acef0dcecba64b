//! The plain-HTTP server's limits on what one client may cost (`vodgate::web::serve::ServerLimits`),
//! driven over raw sockets against the real binaries, because a well-behaved HTTP client cannot
//! stall a body, dribble a head or send 20 KiB of headers.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Spawned, upload_token};
use serde_json::Value;
use vodgate::ingest::sink::SqliteSink;

const JWT_SECRET: &str = "limits-jwt-secret-0123456789abcdef";

fn start_sign() -> (Spawned, String) {
    let mut server = Spawned::start(
        env!("CARGO_BIN_EXE_sign"),
        &[
            ("PORT", "0"),
            ("REQUEST_TIMEOUT_SECONDS", "1"),
            ("VOD_SECRET_ID", "AKIDlimits"),
            ("VOD_SECRET_KEY", "limits-vod-secret-key"),
            ("VODGATE_CONTEXT_KEY", "limits-context-key-0123456789abcdef"),
            ("JWT_HS256_SECRET", JWT_SECRET),
        ],
    );
    let base = server.wait_listening();
    (server, base)
}

fn start_events(db: &Path) -> (Spawned, String) {
    let sink = format!("sqlite:{}", db.display());
    let mut server = Spawned::start(
        env!("CARGO_BIN_EXE_events"),
        &[
            ("PORT", "0"),
            ("REQUEST_TIMEOUT_SECONDS", "1"),
            ("EVENT_SINK", sink.as_str()),
            ("VOD_CALLBACK_KEYS", "LimitsKey1LimitsKey1Limits"),
        ],
    );
    let base = server.wait_listening();
    (server, base)
}

fn connect(base: &str) -> TcpStream {
    let stream = TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Sends `head` (and nothing more), then reads until the server closes: what it answered and
/// how long it took.
fn send_and_read(base: &str, head: &[u8]) -> (String, Duration) {
    let mut stream = connect(base);
    let started = Instant::now();
    stream.write_all(head).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

fn status_of(answer: &str) -> u16 {
    answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"))
}

fn json_body(answer: &str) -> Value {
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {answer:?}"))
}

/// Whether an answer's head says `Connection: close`.
fn closes(answer: &str) -> bool {
    let head = answer.split("\r\n\r\n").next().unwrap_or_default();
    head.to_ascii_lowercase()
        .contains("\r\nconnection: close\r\n")
}

fn healthy(base: &str) {
    let (answer, _) = send_and_read(
        base,
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status_of(&answer), 200, "{answer}");
}

#[test]
fn a_stalled_body_is_answered_408_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let (events, events_base) = start_events(&db);
    let (sign, sign_base) = start_sign();
    let token = upload_token(JWT_SECRET, "limits-user");
    for (base, head) in [
        (
            &events_base,
            "POST /v1/vod/events HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
             Content-Length: 400\r\n\r\n{\"EventType\":\"NewFileUpload\","
                .to_owned(),
        ),
        (
            &sign_base,
            format!(
                "POST /v1/upload-signature HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"meta\""
            ),
        ),
    ] {
        let (answer, took) = send_and_read(base, head.as_bytes());
        assert_eq!(status_of(&answer), 408, "{answer}");
        assert!(closes(&answer), "{answer}");
        let body = json_body(&answer);
        assert_eq!(body["code"], 408);
        assert_eq!(body["error"], "request_timeout");
        assert!(answer.to_ascii_lowercase().contains("x-request-id:"));
        assert!(took < Duration::from_secs(5), "{took:?}");
        healthy(base);
    }
    assert_eq!(SqliteSink::open(&db).unwrap().count().unwrap(), 0);
    for server in [events, sign] {
        assert!(server.logs().contains("reason=\"request_timeout\""));
        assert!(!server.logs().contains("panicked"), "{}", server.logs());
    }
}

#[test]
fn a_head_that_never_ends_is_dropped_after_the_timeout() {
    let (_sign, base) = start_sign();
    // Half a head, then silence: the connection is closed without an answer.
    let (answer, took) = send_and_read(&base, b"GET /healthz HTTP/1.1\r\nHost: t\r\n");
    assert_eq!(answer, "");
    assert!(took < Duration::from_secs(5), "{took:?}");

    // A keep-alive connection left idle after its first answer is closed as well.
    let mut stream = connect(&base);
    let started = Instant::now();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    healthy(&base);
}

#[test]
fn oversized_heads_are_answered_431() {
    let (sign, base) = start_sign();
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(vodgate::web::serve::MAX_HEADER_BYTES)
    );
    let (answer, _) = send_and_read(&base, big.as_bytes());
    assert_eq!(status_of(&answer), 431, "{answer}");
    assert!(closes(&answer), "{answer}");
    let body = json_body(&answer);
    assert_eq!(
        (body["code"].as_u64(), body["error"].as_str()),
        (Some(431), Some("headers_too_large"))
    );
    assert!(
        answer.to_ascii_lowercase().contains("x-request-id:"),
        "{answer}"
    );

    let mut many = String::from("GET /healthz HTTP/1.1\r\nHost: t\r\n");
    for i in 0..100 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let (answer, _) = send_and_read(&base, many.as_bytes());
    assert_eq!(status_of(&answer), 431, "{answer}");
    assert_eq!(json_body(&answer)["error"], "headers_too_large", "{answer}");

    // A large but reasonable head (an 8 KiB token, as big identity tokens get) still passes.
    let token = format!("Bearer {}", "t".repeat(8 * 1024));
    let fine = format!(
        "GET /healthz HTTP/1.1\r\nHost: t\r\nAuthorization: {token}\r\nConnection: close\r\n\r\n"
    );
    let (answer, _) = send_and_read(&base, fine.as_bytes());
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(!sign.logs().contains("panicked"));
}

#[test]
fn request_timeout_is_validated_at_start() {
    for value in ["0", "61", "ten"] {
        let mut server = Spawned::start(
            env!("CARGO_BIN_EXE_sign"),
            &[
                ("PORT", "0"),
                ("REQUEST_TIMEOUT_SECONDS", value),
                ("VOD_SECRET_ID", "AKIDlimits"),
                ("VOD_SECRET_KEY", "limits-vod-secret-key"),
                ("VODGATE_CONTEXT_KEY", "limits-context-key-0123456789abcdef"),
                ("JWT_HS256_SECRET", JWT_SECRET),
            ],
        );
        assert_eq!(server.wait_exit(), 1, "{value}");
        assert!(
            server.logs().contains("REQUEST_TIMEOUT_SECONDS"),
            "{value}: {}",
            server.logs()
        );
    }
}

/// Unauthenticated callers are refused from the head alone: a wrong path token, or a wrong
/// `Sign`/`T` in the query string, is answered before the body arrives (here, never).
#[test]
fn a_callback_that_cannot_authenticate_is_refused_before_its_body() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let sink = format!("sqlite:{}", db.display());
    let mut events = Spawned::start(
        env!("CARGO_BIN_EXE_events"),
        &[
            ("PORT", "0"),
            ("REQUEST_TIMEOUT_SECONDS", "30"),
            ("EVENT_SINK", sink.as_str()),
            ("VOD_CALLBACK_KEYS", "LimitsKey1LimitsKey1Limits"),
            ("VOD_CALLBACK_TOKEN", "a-long-random-path-token"),
        ],
    );
    let base = events.wait_listening();
    let t = common::now() + 600;
    for (path, reason) in [
        (
            "/v1/vod/events/wrong-path-token-0000",
            "invalid_callback_token",
        ),
        ("/v1/vod/events", "not_found"),
        (
            &*format!(
                "/v1/vod/events/a-long-random-path-token?Sign={}&T={t}",
                "0".repeat(32)
            ),
            "invalid_signature",
        ),
    ] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
             Content-Length: 1048576\r\n\r\n"
        );
        let (answer, took) = send_and_read(&base, head.as_bytes());
        assert!(took < Duration::from_secs(10), "{path}: {took:?}");
        assert_eq!(json_body(&answer)["error"], reason, "{path}: {answer}");
    }
}

/// A keep-alive client learns from the answer itself whether the connection stays open: one whose
/// body was read stays open for the next request, one answered 413 before its body was read
/// whole (or refused from its head) says `Connection: close`.
#[test]
fn an_answer_before_the_body_is_read_says_connection_close() {
    let (_sign, base) = start_sign();
    let token = upload_token(JWT_SECRET, "limits-user");
    let post = |length: usize| {
        format!(
            "POST /v1/upload-signature HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
        )
    };

    // Read whole: two requests on one connection.
    let mut stream = connect(&base);
    for _ in 0..2 {
        stream
            .write_all(format!("{}{{}}", post(2)).as_bytes())
            .unwrap();
        let answer = read_answer(&mut stream);
        assert_eq!(status_of(&answer), 200, "{answer}");
        assert!(!closes(&answer), "{answer}");
    }

    // 3 MiB to a 16 KiB route: 413, and the connection closes.
    let mut stream = connect(&base);
    let body = vec![b'x'; 3 * 1024 * 1024];
    let head = post(body.len());
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(head.as_bytes());
        let _ = writer.write_all(&body);
    });
    let answer = read_answer(&mut stream);
    assert_eq!(status_of(&answer), 413, "{answer}");
    assert!(closes(&answer), "{answer}");
    drop(stream);
    sender.join().unwrap();

    // Refused from its head, with the body never sent.
    let mut stream = connect(&base);
    let refused = post(100).replace(&format!("Bearer {token}"), "Bearer nope");
    stream.write_all(refused.as_bytes()).unwrap();
    let answer = read_answer(&mut stream);
    assert_eq!(status_of(&answer), 401, "{answer}");
    assert!(closes(&answer), "{answer}");
}

/// Reads one answer (head and `Content-Length` body) from a connection that may stay open.
fn read_answer(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "{answer:?}");
        answer.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&answer).to_ascii_lowercase();
    let length: usize = head
        .split("\r\n")
        .find_map(|line| line.strip_prefix("content-length: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).unwrap();
    answer.extend_from_slice(&body);
    String::from_utf8_lossy(&answer).into_owned()
}

/// With `MAX_CONNECTIONS=2`, a third connection is not served while two are open (it waits in
/// the listen queue), and is served as soon as one of them closes.
#[test]
fn connections_beyond_the_cap_wait_for_one_to_end() {
    let mut server = Spawned::start(
        env!("CARGO_BIN_EXE_sign"),
        &[
            ("PORT", "0"),
            ("MAX_CONNECTIONS", "2"),
            ("VOD_SECRET_ID", "AKIDlimits"),
            ("VOD_SECRET_KEY", "limits-vod-secret-key"),
            ("VODGATE_CONTEXT_KEY", "limits-context-key-0123456789abcdef"),
            ("JWT_HS256_SECRET", JWT_SECRET),
        ],
    );
    let base = server.wait_listening();
    let health = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
    let mut open: Vec<TcpStream> = (0..2)
        .map(|_| {
            let mut stream = connect(&base);
            stream.write_all(health).unwrap();
            assert_eq!(status_of(&read_answer(&mut stream)), 200);
            stream
        })
        .collect();

    let mut third = connect(&base);
    third.write_all(health).unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut byte = [0u8; 1];
    assert!(third.read(&mut byte).is_err(), "served beyond the cap");

    drop(open.pop());
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    assert_eq!(status_of(&read_answer(&mut third)), 200);
    assert!(!server.logs().contains("panicked"));
}
