//! The PostgreSQL sink against a real server each test starts for itself (a throwaway cluster,
//! `tests/common/postgres.rs`), driven through the `events` binary.
//!
//! What must hold: every event is stored exactly once whatever redelivers it and however many
//! instances write at once; two instances starting together both create the tables without a
//! failure; an envelope `jsonb` cannot hold is still stored; and a server that stops mid-stream
//! makes the answer 503 until it is back, after which the event is stored once.

mod common;

use common::postgres::PgCluster;
use common::{Spawned, callback_fixture};
use serde_json::Value;

const SIGN_KEY: &str = "PostgresTestCallbackKey01";
const CONTEXT_KEY: &str = "postgres-test-context-key-0123456789abcdef";

fn events(sink: &str, extra: &[(&str, &str)]) -> (Spawned, String) {
    let mut env = vec![
        ("PORT", "0"),
        ("VODGATE_CONTEXT_KEY", CONTEXT_KEY),
        ("VOD_CALLBACK_KEYS", SIGN_KEY),
        ("EVENT_SINK", sink),
    ];
    env.extend_from_slice(extra);
    let mut server = Spawned::start(env!("CARGO_BIN_EXE_events"), &env);
    let base = server.wait_listening();
    (server, base)
}

async fn deliver(base: &str, body: &Value) -> u16 {
    common::upload::deliver(base, body, SIGN_KEY).await
}

fn upload_event(n: u32) -> Value {
    let mut body = callback_fixture("new_file_upload.json");
    body["FileUploadEvent"]["FileId"] = format!("528589078427{n:07}").into();
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_create_the_tables_together_and_store_each_event_once() {
    let cluster = PgCluster::start();
    let url = cluster.database().await;
    let (_a, base_a) = events(&url, &[]);
    let (_b, base_b) = events(&url, &[]);
    let bodies: Vec<Value> = (0..10).map(upload_event).collect();
    // Both instances, at once, every event twice each: their first writes race the DDL.
    let mut deliveries = tokio::task::JoinSet::new();
    for body in &bodies {
        for base in [&base_a, &base_b, &base_a, &base_b] {
            let (base, body) = (base.clone(), body.clone());
            deliveries.spawn(async move { deliver(&base, &body).await });
        }
    }
    while let Some(status) = deliveries.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    let client = PgCluster::client(&url).await;
    let rows = client
        .query(
            "SELECT id, type, event_type, file_id, envelope->>'id', envelope_text
             FROM vodgate_events ORDER BY file_id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 10, "each event once");
    for (row, body) in rows.iter().zip(&bodies) {
        let id: &str = row.get(0);
        assert_eq!(row.get::<_, &str>(1), "upload.completed");
        assert_eq!(row.get::<_, &str>(2), "NewFileUpload");
        assert_eq!(
            row.get::<_, Option<&str>>(3),
            body["FileUploadEvent"]["FileId"].as_str()
        );
        assert_eq!(
            row.get::<_, Option<&str>>(4),
            Some(id),
            "the envelope is jsonb"
        );
        assert_eq!(row.get::<_, Option<&str>>(5), None);
    }

    // A string jsonb cannot hold: stored all the same, as text.
    let mut odd = upload_event(99);
    odd["FileUploadEvent"]["MediaBasicInfo"]["Name"] = "nul\u{0}.mp4".into();
    assert_eq!(deliver(&base_a, &odd).await, 200);
    assert_eq!(deliver(&base_b, &odd).await, 200);
    let row = client
        .query_one(
            "SELECT envelope IS NULL, envelope_text FROM vodgate_events WHERE file_id = $1",
            &[&"5285890784270000099"],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0));
    let text: &str = row.get(1);
    assert!(text.contains("nul\\u0000.mp4"), "{text}");
}

#[tokio::test]
async fn a_server_stopped_mid_stream_is_503_until_it_is_back_then_stored_once() {
    let mut cluster = PgCluster::start();
    let url = cluster.database().await;
    let (server, base) = events(&url, &[("EVENT_STORE_TIMEOUT_SECONDS", "3")]);
    assert_eq!(deliver(&base, &upload_event(1)).await, 200);

    cluster.stop();
    let second = upload_event(2);
    for _ in 0..2 {
        assert_eq!(deliver(&base, &second).await, 503);
    }
    cluster.restart();
    // The instance dropped its broken connection and opens a new one.
    assert_eq!(deliver(&base, &second).await, 200);
    assert_eq!(deliver(&base, &second).await, 200, "a duplicate");
    let client = PgCluster::client(&url).await;
    let count: i64 = client
        .query_one("SELECT count(*) FROM vodgate_events", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 2);
    let logs = server.logs();
    assert!(logs.contains("postgres://postgres@127.0.0.1"), "{logs}");
}

#[tokio::test]
async fn vodgate_migrate_creates_the_tables_and_says_why_it_cannot() {
    let cluster = PgCluster::start();
    let url = cluster.database().await;
    let migrate = |url: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_vodgate"))
            .args(["migrate", url])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .output()
            .unwrap()
    };
    for _ in 0..2 {
        let ran = migrate(&url);
        assert_eq!(ran.status.code(), Some(0), "{ran:?}");
        let said = String::from_utf8(ran.stdout).unwrap();
        assert!(
            said.contains("are ready in postgres://postgres@127.0.0.1"),
            "{said}"
        );
    }
    let client = PgCluster::client(&url).await;
    for table in ["vodgate_events", "vodgate_uploads"] {
        let found: i64 = client
            .query_one(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = $1",
                &[&table],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(found, 1, "{table}");
    }
    assert_eq!(migrate("mysql://x/y").status.code(), Some(2));
    let unreachable = migrate("postgres://postgres@127.0.0.1:9/none?sslmode=disable");
    assert_eq!(unreachable.status.code(), Some(1));
    let said = String::from_utf8(unreachable.stderr).unwrap();
    assert!(
        said.contains("error: ") && said.contains("hint: "),
        "{said}"
    );
}

#[tokio::test]
async fn tls_verifies_the_server_against_sslrootcert() {
    let cluster = PgCluster::start_tls();
    let plain = cluster.database().await;
    let database = plain.rsplit_once('/').unwrap().1.split('?').next().unwrap();
    let ca = cluster.ca.clone().expect("a TLS cluster has a CA");
    let tls = |host: &str, root: Option<&str>| {
        let root = root
            .map(|ca| format!("&sslrootcert={ca}"))
            .unwrap_or_default();
        format!(
            "postgres://postgres@{host}:{}/{database}?sslmode=require{root}",
            cluster.port
        )
    };
    // Verified by name and by address, against the CA the URL names.
    for host in ["localhost", "127.0.0.1"] {
        let (_server, base) = events(&tls(host, Some(&ca)), &[]);
        assert_eq!(deliver(&base, &upload_event(1)).await, 200, "{host}");
    }
    // A server the roots do not vouch for is refused, not trusted.
    let (server, base) = events(
        &tls("localhost", None),
        &[("EVENT_STORE_TIMEOUT_SECONDS", "3")],
    );
    assert_eq!(deliver(&base, &upload_event(2)).await, 503);
    // The answer can overtake the log line that explains it: wait for the line.
    common::eventually("the TLS failure in the log", || {
        let logs = server.logs();
        (logs.contains("TLS") || logs.contains("tls"))
            .then_some(())
            .ok_or(logs)
    })
    .await;
    let client = PgCluster::client(&plain).await;
    let count: i64 = client
        .query_one("SELECT count(*) FROM vodgate_events", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1, "stored once, never over an unverified connection");
}
