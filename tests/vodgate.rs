//! The `vodgate` developer tool: one command, a working local server with dev keys.

mod common;

use common::{Spawned, eventually};
use vodgate::platform::secret::SecretList;
use vodgate::vod::signature::{MacCheck, UploadSignatureParams, inspect};

const BIN: &str = env!("CARGO_BIN_EXE_vodgate");
const PLACEHOLDER_KEY: &str = "vodgate-dev-placeholder-secret-key";

/// A project directory: an empty `.vodgate/` in a fresh temporary directory, which every command
/// run in it (or below it) finds as its state directory.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".vodgate")).unwrap();
    dir
}

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
    let dir = project();
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

    // `vodgate inspect` explains the signature: the dev placeholder secretId is a problem (VOD
    // refuses it), the HMAC is checked against the placeholder key, the attribution token under
    // the dev context key.
    let report = run_with(dir.path(), &["inspect", &signature], &[]);
    assert_eq!(report.code, 1, "{}", report.stderr);
    let out = &report.stdout;
    assert!(
        out.contains("HMAC: valid for the dev placeholder key"),
        "{out}"
    );
    assert!(
        out.contains("secretId = \"AKIDvodgateDevPlaceholder\""),
        "{out}"
    );
    assert!(out.contains("the dev PLACEHOLDER"), "{out}");
    assert!(
        out.contains("expires in 1 h 59 min, at 20") || out.contains("expires in 2 h, at 20"),
        "{out}"
    );
    assert!(
        out.contains("attribution token: sub=dev-user") && out.contains("MAC holds under"),
        "{out}"
    );
    assert!(out.contains("- secretId is the dev placeholder"), "{out}");
    // An exported real key does not stand in for the placeholder's: only the dev key made it.
    let exported = run_with(
        dir.path(),
        &["inspect", &signature],
        &[("VOD_SECRET_KEY", "a-real-key")],
    );
    assert!(
        exported
            .stdout
            .contains("HMAC: valid for the dev placeholder key"),
        "{}",
        exported.stdout
    );
    // A signature VOD would refuse is a problem found: exit 1, the report still printed.
    let wrong = run_with(dir.path(), &["inspect", &signature, "--key", "wrong"], &[]);
    assert_eq!(wrong.code, 1);
    assert!(wrong.stdout.contains("DOES NOT MATCH"), "{}", wrong.stdout);
    assert!(
        wrong.stderr.contains("error: the HMAC does not match"),
        "{}",
        wrong.stderr
    );
    let decoded = inspect(&signature, Some(PLACEHOLDER_KEY.as_bytes()), common::now());
    assert_eq!(decoded.mac, MacCheck::Valid);

    // A sample callback, signed with the dev callback key, is stored, then a duplicate.
    let fixture = common::root().join("tests/fixtures/callbacks/procedure_finish.json");
    let fixture = fixture.to_str().unwrap();
    let events_url = format!("{base}/v1/vod/events");
    let posted = run(dir.path(), &["callback", fixture, "--url", &events_url]);
    assert!(
        posted.starts_with("200 OK: stored as a new event, vod_"),
        "{posted}"
    );
    let again = run(dir.path(), &["callback", fixture, "--url", &events_url]);
    assert!(again.contains("a duplicate; vod_"), "{again}");
    // A server with other keys refuses: exit 1, and the hint names the state directory used.
    let said = run_failing(
        dir.path(),
        &["callback", fixture, "--url", &events_url],
        &[("VOD_CALLBACK_KEYS", "SomeoneElsesKey")],
    );
    assert!(
        said.contains("401 Unauthorized invalid_signature"),
        "{said}"
    );
    assert!(
        said.contains(".vodgate (found from the current directory)"),
        "{said}"
    );

    let listed = run(dir.path(), &["events"]);
    assert!(listed.contains("ProcedureStateChanged"), "{listed}");
    let json_lines = run(dir.path(), &["events", "--json"]);
    let envelope: serde_json::Value =
        serde_json::from_str(json_lines.lines().next().unwrap()).unwrap();
    assert_eq!(envelope["eventType"], "ProcedureStateChanged");

    // --follow starts at the end: the event stored before it started is not shown, the next is.
    let follow = Spawned::start_in(
        BIN,
        &["events", "--follow"],
        &[] as &[(&str, &str)],
        Some(dir.path()),
    );
    eventually("the header of --follow", || {
        let out = follow.stdout();
        if out.contains("EVENT TYPE") {
            Ok(())
        } else {
            Err(out)
        }
    })
    .await;
    let upload = common::root().join("tests/fixtures/callbacks/new_file_upload.json");
    run(
        dir.path(),
        &["callback", upload.to_str().unwrap(), "--url", &events_url],
    );
    let followed = eventually("the new event in --follow", || {
        let out = follow.stdout();
        if out.contains("NewFileUpload") {
            Ok(out)
        } else {
            Err(out)
        }
    })
    .await;
    assert!(!followed.contains("ProcedureStateChanged"), "{followed}");
    // An event whose fields carry terminal escapes (ESC, BEL, a C1 CSI) is listed escaped.
    let evil = dir.path().join("evil.json");
    let evil_body = serde_json::json!({
        "EventType": "Evil\u{1b}]0;pwned\u{7}\u{9b}2J",
        "FileDeleteEvent": {"FileIdSet": ["1"]}
    });
    std::fs::write(&evil, evil_body.to_string()).unwrap();
    run(
        dir.path(),
        &["callback", evil.to_str().unwrap(), "--url", &events_url],
    );
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
    let dir = project();
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
    let rows: Vec<&str> = listed.lines().skip(1).collect();
    assert!(listed.starts_with("  SEQ  RECEIVED"), "a header: {listed}");
    assert_eq!(rows.len(), 3, "{listed}");
    assert!(rows.iter().all(|r| r.contains(" dev-user ")), "{listed}");
    // The normalized type and VOD's own status tell the task flow's two reports apart.
    assert!(rows[0].contains("upload.completed") && rows[0].contains("NewFileUpload"));
    assert!(rows[1].contains("media.processing") && rows[1].contains(" PROCESSING "));
    assert!(rows[2].contains("media.ready") && rows[2].contains(" FINISH "));

    // Filters: --type matches the normalized type or VOD's EventType, --limit keeps the last.
    let only = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["events"];
        all.extend_from_slice(args);
        run(dir.path(), &all)
            .lines()
            .skip(1)
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(only(&["--type", "media.ready"]), [rows[2]]);
    assert_eq!(
        only(&["--type", "procedurestatechanged"]),
        [rows[1], rows[2]]
    );
    assert_eq!(
        only(&["--type", "ProcedureStateChanged", "--limit", "1"]),
        [rows[2]]
    );
    assert_eq!(only(&["--limit", "2"]), [rows[1], rows[2]]);
    assert_eq!(only(&["--since", "2000-01-01T00:00:00Z"]).len(), 3);
    let file = rows[0].split_whitespace().nth(5).unwrap();
    assert_eq!(only(&["--file", file]).len(), 3);
    let none = run_with(dir.path(), &["events", "--file", "1"], &[]);
    assert_eq!((none.code, none.stdout.as_str()), (0, ""));
    assert!(none.stderr.contains("hint: "), "{}", none.stderr);
    let none = run_with(
        dir.path(),
        &["events", "--since", "2999-01-01T00:00:00Z"],
        &[],
    );
    assert_eq!((none.code, none.stdout.as_str()), (0, ""));
    let bad = run_with(dir.path(), &["events", "--since", "yesterday"], &[]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);

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
    let dir = project();
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
        &["migrate", "--help"],
    ] {
        let help = run(dir.path(), command);
        let lines: Vec<&str> = help.lines().map(str::trim).collect();
        for (i, line) in lines.iter().enumerate() {
            if line.starts_with('-') || line.starts_with('<') {
                // The description follows on the line, or (in the long form) on the next one.
                let inline = line.split("  ").skip(1).collect::<String>();
                let next = lines.get(i + 1).copied().unwrap_or("");
                let below = !next.is_empty() && !next.starts_with('-') && !next.starts_with('<');
                assert!(
                    !inline.trim().is_empty() || below,
                    "{command:?}: {line:?} undescribed"
                );
            }
        }
        // Subcommand summaries fit a terminal.
        assert!(
            lines.iter().all(|l| l.chars().count() <= 100),
            "{command:?}: a line longer than 100 characters:\n{help}"
        );
    }
    // Usage errors: 2, clap's `error:` and a pointer to --help.
    for args in [
        &["uploads", "--bogus"][..],
        &["simulate", "extra"],
        &["no-such-command"],
        &["token", "--sub", ""],
        &["token", "--ttl", "0"],
        &["token", "--ttl", "1w"],
        &["events", "--replay"],
        &["vod-config", "set", "--url", "not-a-url"],
    ] {
        let ran = run_with(dir.path(), args, &[]);
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(
            ran.stderr.starts_with("error: "),
            "{args:?}: {}",
            ran.stderr
        );
        assert!(ran.stderr.contains("--help"), "{args:?}: {}", ran.stderr);
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
    let said = run_with(
        dir.path(),
        &["vod-config", "set", "--url", "not-a-url"],
        &[],
    )
    .stderr;
    assert!(said.contains("a full https URL is expected"), "{said}");
    // A stopped server: the hint asks whether `vodgate serve` runs there.
    let fixture = common::root().join("tests/fixtures/callbacks/file_deleted.json");
    let events_url = format!("{url}/v1/vod/events");
    let said = run_failing(
        dir.path(),
        &["callback", fixture.to_str().unwrap(), "--url", &events_url],
        &[],
    );
    assert!(said.contains("Connection refused"), "{said}");
    assert!(
        said.contains("hint: is `vodgate serve` running on"),
        "{said}"
    );
    let said = run_failing(dir.path(), &["callback", "nope.json"], &[]);
    assert!(said.starts_with("error: nope.json: No such file"), "{said}");
    // inspect: not a signature at all, or a key that does not match, is a problem found.
    let said = run_failing(dir.path(), &["inspect", "garbage"], &[]);
    assert!(said.contains("problem(s) above"), "{said}");
    // Half a VOD key pair is refused, naming the missing half.
    for (set, missing) in [
        ("VOD_SECRET_ID", "VOD_SECRET_KEY"),
        ("VOD_SECRET_KEY", "VOD_SECRET_ID"),
    ] {
        let said = run_failing(dir.path(), &["token"], &[(set, "real")]);
        assert!(
            said.contains(&format!("error: {set} is set but {missing} is not")),
            "{said}"
        );
    }
    // A busy port names the port and how to change it.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let said = run_failing(dir.path(), &["serve", "--port", &port], &[]);
    assert!(
        said.contains(&format!("port {port} on 127.0.0.1 is already in use")),
        "{said}"
    );
    assert!(said.contains("--port N or PORT=N"), "{said}");
}

#[test]
fn tokens_take_a_lifetime_with_units_and_refuse_what_the_server_would() {
    let dir = project();
    let claims = |token: &str| -> serde_json::Value {
        let payload = token.trim().split('.').nth(1).unwrap();
        let bytes =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    let hour = claims(&run(dir.path(), &["token", "--ttl", "1h"]));
    assert_eq!(
        hour["exp"].as_u64().unwrap() - hour["iat"].as_u64().unwrap(),
        3600
    );
    // The default is the banner's: seven days.
    let default = claims(&run(dir.path(), &["token", "--sub", "alice"]));
    assert_eq!(
        default["exp"].as_u64().unwrap() - default["iat"].as_u64().unwrap(),
        7 * 86_400
    );
    assert_eq!(default["sub"], "alice");
    let empty = run_with(dir.path(), &["token", "--sub", ""], &[]);
    assert_eq!(empty.code, 2);
    assert!(
        empty.stderr.contains("must not be empty"),
        "{}",
        empty.stderr
    );
}

#[test]
fn the_state_directory_is_found_from_anywhere_below_and_said_when_created() {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("app");
    let deep = project.join("src/nested");
    std::fs::create_dir_all(&deep).unwrap();
    let home = root.path().join("home");
    let env = [("HOME", home.to_str().unwrap())];

    // Nothing anywhere: the user's state directory, created, and said.
    let first = run_with(&deep, &["token"], &env);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let user = home.join(".local/state/vodgate");
    assert!(user.join("dev-keys.json").exists());
    assert!(
        first
            .stderr
            .contains(&format!("note: new dev keys in {}", user.display())),
        "{}",
        first.stderr
    );
    let second = run_with(&deep, &["token"], &env);
    assert_eq!(second.stderr, "", "the keys exist now: nothing to say");
    let xdg = root.path().join("xdg");
    let xdg_env = [
        ("HOME", home.to_str().unwrap()),
        ("XDG_STATE_HOME", xdg.to_str().unwrap()),
    ];
    run_with(&deep, &["token"], &xdg_env);
    assert!(xdg.join("vodgate/dev-keys.json").exists());

    // A project's .vodgate/ is found from any directory below it.
    std::fs::create_dir(project.join(".vodgate")).unwrap();
    let found = run_with(&deep, &["token"], &env);
    assert!(
        found.stderr.contains("found from the current directory"),
        "{}",
        found.stderr
    );
    assert!(project.join(".vodgate/dev-keys.json").exists());
    assert!(!deep.join(".vodgate").exists());

    // VODGATE_HOME wins over it, and --state-dir over both.
    let named = root.path().join("named");
    let mut with_home = env.to_vec();
    with_home.push(("VODGATE_HOME", named.to_str().unwrap()));
    let said = run_with(&deep, &["token"], &with_home).stderr;
    assert!(said.contains("(from VODGATE_HOME)"), "{said}");
    let flagged = root.path().join("flagged");
    let said = run_with(
        &deep,
        &["--state-dir", flagged.to_str().unwrap(), "token"],
        &with_home,
    )
    .stderr;
    assert!(said.contains("(from --state-dir)"), "{said}");
    assert!(flagged.join("dev-keys.json").exists());

    // No way to tell: a failure that says what to set.
    let elsewhere = root.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let said = run_failing(&elsewhere, &["token"], &[]);
    assert!(
        said.contains("hint: give --state-dir DIR or export VODGATE_HOME"),
        "{said}"
    );
}

#[test]
fn inspect_reads_stdin_and_flags_a_tampered_attribution_token() {
    let dir = project();
    run(dir.path(), &["token"]);
    let keys: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(".vodgate/dev-keys.json")).unwrap())
            .unwrap();
    let context_keys = SecretList::parse(keys["contextKey"].as_str().unwrap()).unwrap();
    let now = common::now();
    let signed = |context: &str| {
        UploadSignatureParams::builder("AKIDrealLookingSecretId0000000000000", now, now + 3600, 7)
            .source_context(context)
            .build()
            .unwrap()
            .sign(b"the-real-key")
    };
    let upload = vodgate::attribution::Upload::create(&context_keys, "alice", None).unwrap();
    let good = signed(&upload.seal(&context_keys));

    let inspect_stdin = |signature: &str| {
        use std::io::Write as _;
        let mut child = std::process::Command::new(BIN)
            .args(["inspect", "-", "--key", "the-real-key"])
            .current_dir(dir.path())
            .env_clear()
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{signature}").unwrap();
        let output = child.wait_with_output().unwrap();
        (
            output.status.code().unwrap(),
            String::from_utf8(output.stdout).unwrap(),
        )
    };
    let (code, out) = inspect_stdin(&good);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("HMAC: valid for the given key"), "{out}");
    assert!(out.contains("attribution token: sub=alice"), "{out}");
    assert!(out.contains("problems: none"), "{out}");

    let (code, out) = inspect_stdin(&signed("v1.bad.mac.x.y"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("claiming sub=y"), "{out}");
    assert!(
        out.contains("MAC DOES NOT HOLD under the dev context key"),
        "{out}"
    );
    assert!(
        out.contains("- sourceContext: the attribution token does not open"),
        "{out}"
    );
}

#[test]
fn serve_listens_on_port_from_the_environment_and_on_host_names() {
    let dir = project();
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = free.local_addr().unwrap().port();
    drop(free);
    let mut server = Spawned::start_in(BIN, &[], &[("PORT", port.to_string())], Some(dir.path()));
    assert_eq!(server.wait_listening(), format!("http://127.0.0.1:{port}"));
    drop(server);
    let mut server = Spawned::start_in(
        BIN,
        &["serve", "--host", "localhost", "--port", "0"],
        &[] as &[(&str, &str)],
        Some(dir.path()),
    );
    server.wait_listening();
}

#[tokio::test]
async fn simulate_against_a_server_that_keeps_no_uploads_says_so() {
    let dir = project();
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

#[tokio::test]
async fn a_server_with_other_dev_keys_refuses_and_the_hint_names_the_state_directory() {
    let server_dir = project();
    let mut server = Spawned::start_in(
        BIN,
        &["serve", "--port", "0"],
        &[] as &[(&str, &str)],
        Some(server_dir.path()),
    );
    let base = server.wait_listening();
    let other = project();
    let said = tokio::task::spawn_blocking({
        let dir = other.path().to_owned();
        move || run_failing(&dir, &["simulate", "--url", &base], &[])
    })
    .await
    .unwrap();
    assert!(said.contains("401"), "{said}");
    let state = other.path().join(".vodgate");
    assert!(
        said.contains(&format!(
            "does not take the dev token of {}",
            state.display()
        )),
        "{said}"
    );
}

#[test]
fn simulate_shows_an_upload_over_a_limit_rejected_and_its_media_deleted() {
    let dir = project();
    let ran = run_with(
        dir.path(),
        &["simulate", "--size", "20000000"],
        &[("UPLOAD_MAX_BYTES", "10MB")],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let report = ran.stdout;
    let statuses: Vec<&str> = report
        .lines()
        .filter_map(|l| l.trim().strip_prefix("status: "))
        .collect();
    assert_eq!(
        statuses,
        ["waiting", "rejected", "rejected", "rejected"],
        "{report}"
    );
    assert!(
        report.contains("VOD API stand-in: DeleteMedia FileId="),
        "{report}"
    );
    assert!(report.contains("\"code\": \"too_large\""), "{report}");
    assert!(report.contains("\"outputs\": []"), "{report}");
    let events = run(dir.path(), &["events"]);
    assert!(events.contains("vodgate.UploadRejected"), "{events}");
}

#[test]
fn the_dev_server_signs_webhooks_with_a_generated_secret() {
    let dir = project();
    let sink = format!(
        "sqlite:{},webhook:http://127.0.0.1:9/hooks",
        dir.path().join("events.sqlite").display()
    );
    let mut server = Spawned::start_in(
        BIN,
        &["serve", "--port", "0"],
        &[("EVENT_SINK", sink.as_str())],
        Some(dir.path()),
    );
    server.wait_listening();
    let keys: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(".vodgate/dev-keys.json")).unwrap())
            .unwrap();
    let secret = keys["webhookSecret"].as_str().unwrap();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{secret}"
    );
    assert!(!server.logs().contains(secret));
}
