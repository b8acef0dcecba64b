//! The `vodgate` developer tool: one command, a working local server with dev keys.

mod common;

use common::{Spawned, eventually};
use vodgate::vod::signature::{MacCheck, inspect};

const BIN: &str = env!("CARGO_BIN_EXE_vodgate");

/// What a run of the tool gave: exit code, stdout, stderr.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the tool in `dir` with a clean environment plus `env`.
fn run_with(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let output = std::process::Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    Ran {
        code: output.status.code().unwrap(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// Runs the tool, which must succeed; its stdout.
fn run(dir: &std::path::Path, args: &[&str]) -> String {
    let ran = run_with(dir, args, &[]);
    assert_eq!(ran.code, 0, "{args:?}: {}", ran.stderr);
    ran.stdout
}

/// Runs the tool, which must fail (exit 1) saying `error: …` then `hint: …`; its stderr.
fn run_failing(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let ran = run_with(dir, args, env);
    assert_eq!(ran.code, 1, "{args:?}: {}\n{}", ran.stdout, ran.stderr);
    let lines: Vec<&str> = ran
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: ") || l.starts_with("hint: "))
        .collect();
    assert!(
        lines.len() == 2 && lines[0].starts_with("error: ") && lines[1].starts_with("hint: "),
        "{args:?}: {}",
        ran.stderr
    );
    ran.stderr
}

#[tokio::test]
async fn serves_both_functions_with_generated_dev_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Spawned::start_in(
        BIN,
        &["serve", "--port", "0"],
        &[] as &[(&str, &str)],
        Some(dir.path()),
    );
    let base = server.wait_listening();
    // The banner goes to stdout, the "listening" line to stderr: two pipes, read by two threads,
    // so the banner may land a moment after.
    let (banner, token) = eventually("the dev token in the banner", || {
        let banner = server.stdout();
        let token = banner
            .lines()
            .find_map(|l| l.trim().strip_prefix("export TOKEN="))
            .map(str::to_owned);
        token.map(|token| (banner.clone(), token)).ok_or(banner)
    })
    .await;
    assert!(
        banner.contains(&base),
        "banner names the real address: {banner}"
    );
    assert!(dir.path().join(".vodgate/dev-keys.json").exists());
    assert!(
        server.logs().contains("PLACEHOLDER"),
        "loud warning about VOD credentials"
    );

    let http = reqwest::Client::new();
    let sign = |token: String| {
        let http = http.clone();
        let url = format!("{base}/v1/upload-signature");
        async move {
            let response = http.post(url).bearer_auth(token).send().await.unwrap();
            let status = response.status().as_u16();
            let body: serde_json::Value =
                serde_json::from_str(&response.text().await.unwrap()).unwrap();
            (status, body)
        }
    };
    let (status, body) = sign(token.clone()).await;
    assert_eq!(status, 200, "{body}");
    let signature = body["data"]["signature"].as_str().unwrap().to_owned();

    // The dev server keeps uploads (UPLOADS_STORE defaults to the dev SQLite file): the upload
    // just signed for is the caller's, waiting.
    let upload_id = body["data"]["uploadId"].as_str().unwrap();
    let read = http
        .get(format!("{base}/v1/uploads/{upload_id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let read: serde_json::Value = serde_json::from_str(&read.text().await.unwrap()).unwrap();
    assert_eq!(read["data"]["status"], "waiting");

    // `vodgate token` reads the same dev keys, so its tokens work against the running server.
    let minted = run(dir.path(), &["token", "--sub", "someone-else"]);
    let (status, _) = sign(minted.trim().to_owned()).await;
    assert_eq!(status, 200);

    // `vodgate inspect` explains the signature; the placeholder key verifies it.
    let report = run(
        dir.path(),
        &[
            "inspect",
            &signature,
            "--key",
            "vodgate-dev-placeholder-secret-key",
        ],
    );
    assert!(report.contains("HMAC: valid"), "{report}");
    assert!(
        report.contains("secretId = \"AKIDvodgateDevPlaceholder\""),
        "{report}"
    );
    assert!(report.contains("problems: none"), "{report}");
    // A signature VOD would refuse is a problem found: exit 1, the report still printed.
    let wrong = run_with(dir.path(), &["inspect", &signature, "--key", "wrong"], &[]);
    assert_eq!(wrong.code, 1);
    assert!(wrong.stdout.contains("DOES NOT MATCH"), "{}", wrong.stdout);
    assert!(
        wrong.stderr.contains("error: the HMAC does not match"),
        "{}",
        wrong.stderr
    );
    let decoded = inspect(
        &signature,
        Some(b"vodgate-dev-placeholder-secret-key"),
        common::now(),
    );
    assert_eq!(decoded.mac, MacCheck::Valid);

    // A sample callback, signed with the dev callback key, is stored and listed.
    let fixture = common::root().join("tests/fixtures/callbacks/procedure_finish.json");
    let posted = run(
        dir.path(),
        &[
            "callback",
            fixture.to_str().unwrap(),
            "--url",
            &format!("{base}/v1/vod/events"),
        ],
    );
    assert!(posted.starts_with("200"), "{posted}");
    let listed = run(dir.path(), &["events"]);
    assert!(listed.contains("ProcedureStateChanged"), "{listed}");
    let json_lines = run(dir.path(), &["events", "--json"]);
    let envelope: serde_json::Value =
        serde_json::from_str(json_lines.lines().next().unwrap()).unwrap();
    assert_eq!(envelope["eventType"], "ProcedureStateChanged");

    // An event whose fields carry terminal escapes (ESC, BEL, a C1 CSI) is listed escaped.
    let evil = dir.path().join("evil.json");
    let evil_body = serde_json::json!({
        "EventType": "Evil\u{1b}]0;pwned\u{7}\u{9b}2J",
        "FileDeleteEvent": {"FileIdSet": ["1"]}
    });
    std::fs::write(&evil, evil_body.to_string()).unwrap();
    let posted = run(
        dir.path(),
        &[
            "callback",
            evil.to_str().unwrap(),
            "--url",
            &format!("{base}/v1/vod/events"),
        ],
    );
    assert!(posted.starts_with("200"), "{posted}");
    for args in [&["events"][..], &["events", "--json"]] {
        let listed = run(dir.path(), args);
        assert!(
            !listed.chars().any(|c| c.is_control() && c != '\n'),
            "{args:?}: {listed:?}"
        );
        assert!(listed.contains("Evil\\u001b]0;pwned"), "{args:?}: {listed}");
    }

    // The token is printed once, in the banner; request logs never carry it. The callback's line
    // is the last request's: once it is in, so are the lines of the requests that carried tokens.
    let logs = eventually("the callback's request log line", || {
        let logs = server.logs();
        if logs.contains("route=\"/v1/vod/events\"") {
            Ok(logs)
        } else {
            Err(logs)
        }
    })
    .await;
    assert!(!logs.contains(&token), "{logs}");
}

#[test]
fn simulate_shows_the_upload_move_to_ready_and_uploads_lists_it() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing yet: a success that says how to get something.
    let empty = run_with(dir.path(), &["uploads"], &[]);
    assert_eq!((empty.code, empty.stdout.as_str()), (0, ""));
    assert!(
        empty.stderr.contains("hint: `vodgate simulate`"),
        "{}",
        empty.stderr
    );

    let report = run(dir.path(), &["simulate"]);
    let statuses: Vec<&str> = report
        .lines()
        .filter_map(|l| l.trim().strip_prefix("status: "))
        .collect();
    assert_eq!(
        statuses,
        ["waiting", "uploaded", "processing", "ready"],
        "{report}"
    );
    assert!(report.contains("\"meta\": \"simulated\""), "{report}");
    assert!(report.contains("\"status\": \"ready\""), "{report}");
    let upload_id = report
        .lines()
        .find_map(|l| l.strip_prefix("2. upload created: uploadId="))
        .unwrap()
        .to_owned();

    // The events came back attributed to the dev user, NewFileUpload through sourceContext and
    // the task flow through sessionContext.
    let listed = run(dir.path(), &["events"]);
    assert_eq!(listed.matches("uploader=dev-user").count(), 3, "{listed}");
    assert!(listed.contains("NewFileUpload") && listed.contains("ProcedureStateChanged"));

    let listed = run(dir.path(), &["uploads"]);
    let line = listed.lines().find(|l| l.contains(&upload_id)).unwrap();
    assert!(
        line.contains(" ready ") && line.contains("owner=dev-user"),
        "{listed}"
    );
    let json = run(dir.path(), &["uploads", "--json"]);
    let upload: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(upload["uploadId"], upload_id.as_str());
    assert_eq!(upload["status"], "ready");
    assert_eq!(upload["outputs"][0]["kind"], "transcode");
}

#[test]
fn every_command_follows_the_conventions() {
    let dir = tempfile::tempdir().unwrap();
    // --help describes every argument of every command.
    for command in [
        &["--help"][..],
        &["serve", "--help"],
        &["token", "--help"],
        &["inspect", "--help"],
        &["events", "--help"],
        &["uploads", "--help"],
        &["callback", "--help"],
        &["simulate", "--help"],
        &["pull", "--help"],
        &["vod-config", "--help"],
        &["vod-config", "set", "--help"],
    ] {
        let help = run(dir.path(), command);
        for line in help.lines().map(str::trim) {
            if line.starts_with('-') || line.starts_with('<') {
                let description = line.split("  ").skip(1).collect::<String>();
                assert!(
                    !description.trim().is_empty(),
                    "{command:?}: {line:?} undescribed"
                );
            }
        }
    }
    // Usage errors: 2, with clap's usage line.
    for args in [
        &["uploads", "--bogus"][..],
        &["simulate", "extra"],
        &["no-such-command"],
    ] {
        let ran = run_with(dir.path(), args, &[]);
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.contains("Usage:"), "{args:?}: {}", ran.stderr);
    }
    // Failures: 1, `error:` then `hint:`.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{closed}");
    let said = run_failing(dir.path(), &["simulate", "--url", &url], &[]);
    assert!(said.contains("error: cannot reach"), "{said}");
    let said = run_failing(
        dir.path(),
        &["uploads"],
        &[("UPLOADS_STORE", "dynamodb:vodgate-uploads")],
    );
    assert!(said.contains("reads only a local sqlite: store"), "{said}");
    let said = run_failing(dir.path(), &["uploads"], &[("UPLOADS_STORE", "redis:x")]);
    assert!(said.contains("UPLOADS_STORE"), "{said}");
    let said = run_failing(dir.path(), &["pull", "--once"], &[]);
    assert!(said.contains("VOD_SECRET_ID"), "{said}");
}

#[tokio::test]
async fn simulate_against_a_server_that_keeps_no_uploads_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // The dev server, told to keep no uploads: creating works, reading is 501.
    let mut server = Spawned::start_in(
        BIN,
        &["serve", "--port", "0"],
        &[("UPLOADS_STORE", "")],
        Some(dir.path()),
    );
    let base = server.wait_listening();
    let said = tokio::task::spawn_blocking({
        let dir = dir.path().to_owned();
        move || run_failing(&dir, &["simulate", "--url", &base], &[])
    })
    .await
    .unwrap();
    assert!(
        said.contains("501") && said.contains("UPLOADS_STORE"),
        "{said}"
    );
}
