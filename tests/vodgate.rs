//! The `vodgate` developer tool: one command, a working local server with dev keys.

mod common;

use common::{Spawned, eventually};
use vodgate::vod::signature::{MacCheck, inspect};

const BIN: &str = env!("CARGO_BIN_EXE_vodgate");

fn run(dir: &std::path::Path, args: &[&str]) -> String {
    let output = std::process::Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
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
    let report = run(dir.path(), &["inspect", &signature, "--key", "wrong"]);
    assert!(report.contains("DOES NOT MATCH"), "{report}");
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
fn simulate_runs_the_whole_loop_in_one_go() {
    let dir = tempfile::tempdir().unwrap();
    let report = run(dir.path(), &["simulate"]);
    assert!(report.contains("\"sub\": \"dev-user\""), "{report}");
    assert!(report.contains("\"meta\": \"simulated\""), "{report}");
    let listed = run(dir.path(), &["events"]);
    assert!(
        listed.contains("NewFileUpload") && listed.contains("uploader=dev-user"),
        "{listed}"
    );
}
