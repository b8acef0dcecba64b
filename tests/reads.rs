//! The read side of uploads, in process: `GET /v1/uploads/{uploadId}` and `GET /v1/uploads` on the
//! `sign` router, fed by the `events` router sharing one SQLite file (as the dev server shares
//! it), so every status comes from real callbacks through the real store path.

mod common;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use common::{signature_contexts, signed, upload_events, upload_token};
use serde_json::{Value, json};
use tower::ServiceExt as _;
use vodgate::platform::config::Env;
use vodgate::web::Cors;

const JWT_SECRET: &str = "uploads-jwt-secret-0123456789abcdef";
const CALLBACK_KEY: &str = "UploadsCallbackKey012345";
const CONTEXT_KEY: &str = "uploads-context-key-0123456789abcdef";
/// Well formed, tagged for no one.
const NO_ONES_ID: &str = "AAECAwQFBgcICQoLLG4VR8Gezn85.post_77";

/// A `sign` router and an `events` router over one SQLite file (events and uploads).
struct World {
    sign: Router,
    events: Router,
    db: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// An answer: status, `Retry-After`, JSON body.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

impl World {
    /// Both routers with `UPLOADS_STORE`, a task flow on every signature (so it carries
    /// `sessionContext`), no signing limit; `overrides` win.
    async fn start(overrides: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("events.sqlite");
        let store = format!("sqlite:{}", db.display());
        let mut sign_env = vec![
            ("VOD_SECRET_ID", "AKIDuploads"),
            ("VOD_SECRET_KEY", "uploads-vod-secret-key"),
            ("JWT_HS256_SECRET", JWT_SECRET),
            ("VODGATE_CONTEXT_KEY", CONTEXT_KEY),
            ("VOD_PROCEDURE", "Transcode"),
            ("SIGN_RATE_LIMIT", "off"),
            ("UPLOADS_STORE", store.as_str()),
        ];
        sign_env.extend_from_slice(overrides);
        let events_env = Env::from_pairs([
            ("EVENT_SINK", store.as_str()),
            ("UPLOADS_STORE", store.as_str()),
            ("VOD_CALLBACK_KEYS", CALLBACK_KEY),
            ("VODGATE_CONTEXT_KEY", CONTEXT_KEY),
        ]);
        let events = vodgate::push::app(
            vodgate::push::EventsState::from_env(&events_env)
                .await
                .unwrap(),
            &Cors::Off,
        );
        // Later pairs win; an empty value unsets.
        let sign_env: std::collections::BTreeMap<&str, &str> = sign_env.into_iter().collect();
        let sign_env = Env::from_pairs(sign_env.into_iter().filter(|(_, v)| !v.is_empty()));
        let sign = vodgate::sign::app(
            vodgate::sign::SignState::from_env(&sign_env).await.unwrap(),
            &Cors::Off,
        );
        Self {
            sign,
            events,
            db,
            _dir: dir,
        }
    }

    async fn call(
        router: &Router,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .body(body.map_or_else(Body::empty, Body::from))
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("{method} {uri}: not JSON: {bytes:?}"));
        Answer {
            status,
            retry_after,
            body,
        }
    }

    async fn get(&self, uri: &str, token: &str) -> Answer {
        Self::call(&self.sign, "GET", uri, Some(token), None).await
    }

    async fn post(&self, uri: &str, token: &str, body: Value) -> Answer {
        Self::call(&self.sign, "POST", uri, Some(token), Some(body.to_string())).await
    }

    /// `POST /v1/uploads`: the new upload's id and its signature's contexts.
    async fn create(&self, token: &str, meta: Option<&str>) -> (String, String, Option<String>) {
        let body = meta.map_or_else(|| json!({}), |meta| json!({ "meta": meta }));
        let created = self.post("/v1/uploads", token, body).await;
        assert_eq!(created.status, 201, "{}", created.body);
        let data = &created.body["data"];
        let (source, session) = signature_contexts(data["signature"].as_str().unwrap());
        (
            data["uploadId"].as_str().unwrap().to_owned(),
            source,
            session,
        )
    }

    /// Posts a callback to the events router, which must store it.
    async fn deliver(&self, callback: &Value) {
        let answer = Self::call(
            &self.events,
            "POST",
            "/v1/vod/events",
            None,
            Some(callback.to_string()),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }

    /// The status `GET /v1/uploads/{id}` reports to `token`'s caller.
    async fn status(&self, id: &str, token: &str) -> String {
        let answer = self.get(&format!("/v1/uploads/{id}"), token).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer.body["data"]["status"].as_str().unwrap().to_owned()
    }
}

fn assert_not_found(answer: &Answer, what: &str) {
    assert_eq!(
        (
            answer.status,
            &answer.body["error"],
            &answer.body["message"]
        ),
        (404, &json!("not_found"), &json!("no such upload")),
        "{what}: {}",
        answer.body
    );
}

#[tokio::test]
async fn the_owner_watches_the_status_move_and_no_one_else_sees_the_upload() {
    let world = World::start(&[]).await;
    let alice = upload_token(JWT_SECRET, "alice");
    let bob = upload_token(JWT_SECRET, "bob");
    let (id, source, session) = world.create(&alice, Some("post_1")).await;
    assert!(session.is_some(), "a task flow was signed");

    // Nothing received yet: waiting, from the id alone.
    let waiting = world.get(&format!("/v1/uploads/{id}"), &alice).await;
    assert_eq!(waiting.status, 200, "{}", waiting.body);
    assert_eq!(
        waiting.body,
        json!({"code": 0, "message": "ok", "data": {
            "uploadId": id, "status": "waiting", "fileId": null, "meta": "post_1",
            "createdAt": null, "updatedAt": null, "media": null, "outputs": [],
            "review": null, "error": null
        }})
    );
    // A waiting upload has had no event: it is not listed.
    let listed = world.get("/v1/uploads", &alice).await;
    assert_eq!(
        listed.body["data"],
        json!({"uploads": [], "nextCursor": null})
    );

    let events = upload_events(&source, session.as_deref(), CALLBACK_KEY);
    world.deliver(&events.uploaded).await;
    assert_eq!(world.status(&id, &alice).await, "uploaded");
    world.deliver(&events.processing).await;
    assert_eq!(world.status(&id, &alice).await, "processing");
    world.deliver(&events.finished).await;
    let ready = world.get(&format!("/v1/uploads/{id}"), &alice).await;
    let upload = &ready.body["data"];
    assert_eq!(upload["status"], "ready", "{upload}");
    assert_eq!(upload["fileId"], events.file_id.as_str());
    assert_eq!(upload["meta"], "post_1");
    assert_eq!(upload["media"]["name"], "holiday.mp4");
    assert!(upload["createdAt"].as_str().unwrap().ends_with('Z'));
    assert!(
        !upload["outputs"].as_array().unwrap().is_empty(),
        "{upload}"
    );
    // A redelivery changes nothing.
    world
        .deliver(&signed(events.processing.clone(), CALLBACK_KEY, 600))
        .await;
    let again = world.get(&format!("/v1/uploads/{id}"), &alice).await;
    assert_eq!(again.body, ready.body);

    // The owner lists it, exactly as read alone.
    let listed = world.get("/v1/uploads", &alice).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["data"]["uploads"], json!([upload]));
    assert_eq!(listed.body["data"]["nextCursor"], Value::Null);

    // Anyone else: the same 404 as an unknown id, and an empty list.
    assert_not_found(&world.get(&format!("/v1/uploads/{id}"), &bob).await, "bob");
    let listed = world.get("/v1/uploads", &bob).await;
    assert_eq!(
        listed.body["data"],
        json!({"uploads": [], "nextCursor": null})
    );
}

#[tokio::test]
async fn callbacks_from_the_creation_and_every_refresh_update_the_same_upload() {
    let world = World::start(&[]).await;
    let alice = upload_token(JWT_SECRET, "alice");
    let (id, created_source, _) = world.create(&alice, Some("post_9")).await;
    // Three refreshes, as vod-js-sdk-v6 asks for signatures: POST with and without meta, GET.
    let refreshed = [
        world
            .post("/v1/upload-signature", &alice, json!({ "uploadId": id }))
            .await,
        world
            .post(
                "/v1/upload-signature",
                &alice,
                json!({ "uploadId": id, "meta": "post_9" }),
            )
            .await,
        world
            .get(&format!("/v1/upload-signature?uploadId={id}"), &alice)
            .await,
    ];
    let contexts: Vec<(String, Option<String>)> = refreshed
        .iter()
        .map(|answer| {
            assert_eq!(answer.status, 200, "{}", answer.body);
            assert_eq!(answer.body["data"]["uploadId"], id.as_str());
            signature_contexts(answer.body["data"]["signature"].as_str().unwrap())
        })
        .collect();

    // The file arrives under the last refresh's signature, its task flow under the first's and
    // the second's; a second NewFileUpload under the creation's does not replace the file.
    let (last_source, _) = &contexts[2];
    let events = upload_events(last_source, contexts[0].1.as_deref(), CALLBACK_KEY);
    world.deliver(&events.uploaded).await;
    assert_eq!(world.status(&id, &alice).await, "uploaded");
    world.deliver(&events.processing).await;
    assert_eq!(world.status(&id, &alice).await, "processing");
    let second = upload_events(&created_source, contexts[1].1.as_deref(), CALLBACK_KEY);
    world.deliver(&second.uploaded).await;
    world.deliver(&events.finished).await;
    let read = world.get(&format!("/v1/uploads/{id}"), &alice).await;
    let upload = &read.body["data"];
    assert_eq!(upload["status"], "ready", "{upload}");
    assert_eq!(
        upload["fileId"],
        events.file_id.as_str(),
        "the first file stays"
    );
    assert_eq!(upload["meta"], "post_9");
    let listed = world.get("/v1/uploads", &alice).await;
    assert_eq!(
        listed.body["data"]["uploads"],
        json!([upload]),
        "one upload"
    );
}

#[tokio::test]
async fn forged_malformed_foreign_and_v1_ids_are_404_on_every_route() {
    let world = World::start(&[]).await;
    let alice = upload_token(JWT_SECRET, "alice");
    let bob = upload_token(JWT_SECRET, "bob");
    let (id, source, session) = world.create(&alice, Some("post_1")).await;
    let events = upload_events(&source, session.as_deref(), CALLBACK_KEY);
    world.deliver(&events.uploaded).await;

    let core = id.split('.').next().unwrap();
    let mut flipped = core.to_owned();
    let last = if flipped.ends_with('A') { "B" } else { "A" };
    flipped.replace_range(27.., last);
    let v1 = vodgate::attribution::UploadId::random();
    let cases = [
        ("malformed", "nope".to_owned(), &alice),
        ("too long", "A".repeat(200), &alice),
        ("v1", v1.as_str().to_owned(), &alice),
        ("no one's", NO_ONES_ID.to_owned(), &alice),
        ("tag flipped", format!("{flipped}.post_1"), &alice),
        ("meta changed", format!("{core}.post_2"), &alice),
        ("meta dropped", core.to_owned(), &alice),
        ("another caller's", id.clone(), &bob),
    ];
    for (what, id, token) in &cases {
        assert_not_found(&world.get(&format!("/v1/uploads/{id}"), token).await, what);
        assert_not_found(
            &world
                .get(&format!("/v1/upload-signature?uploadId={id}"), token)
                .await,
            what,
        );
        assert_not_found(
            &world
                .post("/v1/upload-signature", token, json!({ "uploadId": id }))
                .await,
            what,
        );
    }
    // A path that does not even decode names no upload either.
    assert_not_found(&world.get("/v1/uploads/%FF%FE", &alice).await, "not UTF-8");
    // The owner still reads it.
    assert_eq!(world.status(&id, &alice).await, "uploaded");
}

#[tokio::test]
async fn a_listing_pages_through_every_upload_with_the_cursor() {
    let world = World::start(&[("VOD_PROCEDURE", "")]).await;
    let alice = upload_token(JWT_SECRET, "alice");
    let bob = upload_token(JWT_SECRET, "bob");
    let mut ids = Vec::new();
    for i in 0..5 {
        let (id, source, session) = world.create(&alice, Some(&format!("post_{i}"))).await;
        assert_eq!(session, None, "no task flow: NewFileUpload makes it ready");
        let mut events = upload_events(&source, None, CALLBACK_KEY);
        events.uploaded["FileUploadEvent"]["ProcedureTaskId"] = json!("");
        world
            .deliver(&signed(events.uploaded, CALLBACK_KEY, 600))
            .await;
        ids.push(id);
    }
    let (_, source, _) = world.create(&bob, None).await;
    world
        .deliver(&upload_events(&source, None, CALLBACK_KEY).uploaded)
        .await;

    let mut seen = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let uri = match &cursor {
            Some(cursor) => format!("/v1/uploads?limit=2&cursor={cursor}"),
            None => "/v1/uploads?limit=2".to_owned(),
        };
        let page = world.get(&uri, &alice).await;
        assert_eq!(page.status, 200, "{}", page.body);
        pages += 1;
        let uploads = page.body["data"]["uploads"].as_array().unwrap().clone();
        assert!(uploads.len() <= 2);
        for upload in &uploads {
            assert_eq!(upload["status"], "ready", "{upload}");
            seen.push(upload.clone());
        }
        match page.body["data"]["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut listed: Vec<&str> = seen
        .iter()
        .map(|u| u["uploadId"].as_str().unwrap())
        .collect();
    // Newest updatedAt first.
    let times: Vec<&str> = seen
        .iter()
        .map(|u| u["updatedAt"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    listed.sort_unstable();
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(
        listed, expected,
        "every upload of alice's once, none of bob's"
    );

    // One page holds them all by default.
    let all = world.get("/v1/uploads", &alice).await;
    assert_eq!(all.body["data"]["uploads"].as_array().unwrap().len(), 5);
    assert_eq!(all.body["data"]["nextCursor"], Value::Null);

    for bad in [
        "limit=0",
        "limit=101",
        "limit=ten",
        "cursor=not-a-cursor",
        "cursor=%FF",
        "page=2",
    ] {
        let answer = world.get(&format!("/v1/uploads?{bad}"), &alice).await;
        assert_eq!(
            (answer.status, answer.body["error"].as_str()),
            (400, Some("bad_request")),
            "{bad}: {}",
            answer.body
        );
    }
}

#[tokio::test]
async fn without_a_store_reads_are_501_and_uploads_still_work() {
    let world = World::start(&[("UPLOADS_STORE", "")]).await;
    let alice = upload_token(JWT_SECRET, "alice");
    let (id, _, _) = world.create(&alice, None).await;
    let refreshed = world
        .post("/v1/upload-signature", &alice, json!({ "uploadId": id }))
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    for uri in [format!("/v1/uploads/{id}"), "/v1/uploads".to_owned()] {
        let answer = world.get(&uri, &alice).await;
        assert_eq!(
            (answer.status, answer.body["error"].as_str()),
            (501, Some("not_configured")),
            "{uri}: {}",
            answer.body
        );
        assert!(
            answer.body["message"]
                .as_str()
                .unwrap()
                .contains("UPLOADS_STORE")
        );
    }
    // Still authenticated first.
    let answer = World::call(&world.sign, "GET", "/v1/uploads", None, None).await;
    assert_eq!(answer.status, 401);
}

#[tokio::test]
async fn reads_and_signatures_spend_budgets_of_their_own() {
    let world = World::start(&[("SIGN_RATE_LIMIT", "2/1h"), ("READ_RATE_LIMIT", "3/1h")]).await;
    let alice = upload_token(JWT_SECRET, "alice");
    let (id, _, _) = world.create(&alice, None).await;

    // Three reads, then the fourth waits; signing is untouched by them.
    for _ in 0..3 {
        assert_eq!(world.status(&id, &alice).await, "waiting");
    }
    let limited = world.get("/v1/uploads", &alice).await;
    assert_eq!(
        (limited.status, limited.body["error"].as_str()),
        (429, Some("rate_limited"))
    );
    assert!(limited.body["message"].as_str().unwrap().contains("reads"));
    let wait: u64 = limited.retry_after.unwrap().parse().unwrap();
    assert!((1..=1200).contains(&wait), "{wait}");
    let refreshed = world
        .post("/v1/upload-signature", &alice, json!({ "uploadId": id }))
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);

    // Signing runs out; reads of another caller, and that caller's signing, are their own.
    let third = world.post("/v1/uploads", &alice, json!({})).await;
    assert_eq!(third.status, 429);
    assert!(
        third.body["message"]
            .as_str()
            .unwrap()
            .contains("signature")
    );
    let carol = upload_token(JWT_SECRET, "carol");
    let (carols, _, _) = world.create(&carol, None).await;
    world.create(&carol, None).await;
    assert_eq!(
        world.post("/v1/uploads", &carol, json!({})).await.status,
        429
    );
    // Carol spent her whole signing budget; her reads are untouched.
    for _ in 0..3 {
        assert_eq!(world.status(&carols, &carol).await, "waiting");
    }
}

#[tokio::test]
async fn a_store_that_fails_is_503_and_says_nothing_of_why() {
    let world = World::start(&[]).await;
    let alice = upload_token(JWT_SECRET, "alice");
    let (id, _, _) = world.create(&alice, None).await;
    // A record the store cannot read: what a broken or incompatible store gives.
    let connection = rusqlite::Connection::open(&world.db).unwrap();
    connection
        .execute(
            "INSERT INTO uploads (upload_id, owner_sub, list_key, record) VALUES (?1, 'alice', \
             '2026-12-02T00:00:00Z#x', 'not json')",
            [&id],
        )
        .unwrap();
    for uri in [format!("/v1/uploads/{id}"), "/v1/uploads".to_owned()] {
        let answer = world.get(&uri, &alice).await;
        assert_eq!(
            (answer.status, answer.body["error"].as_str()),
            (503, Some("unavailable")),
            "{uri}: {}",
            answer.body
        );
        assert!(!answer.body["message"].as_str().unwrap().contains("json"));
    }
}
