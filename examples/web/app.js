// vodgate web upload example: vod-js-sdk-v6 with signatures from vodgate's sign function.
// The part to copy into your app is getSignature(); the rest is page plumbing.

// The UMD bundle sets window.TcVod to the module; the class is its default export.
const TcVod = window.TcVod.default;

const $ = (id) => document.getElementById(id);
const log = (line) => { $("log").textContent += `${new Date().toLocaleTimeString()}  ${line}\n`; };

// Token: ?token=… wins, else the one saved last time. Take it out of the address bar afterwards.
const params = new URLSearchParams(location.search);
$("token").value = params.get("token") ?? localStorage.getItem("vodgate.token") ?? "";
$("token").addEventListener("change", () => localStorage.setItem("vodgate.token", $("token").value.trim()));
if (params.has("token")) {
  localStorage.setItem("vodgate.token", $("token").value.trim());
  history.replaceState(null, "", location.pathname);
}

// Ask vodgate something on the user's behalf: POST `body` to `path`, or GET `path` without one.
// vodgate's envelope is {code:0, message:"ok", data:{…}} or {code:<status>, error, message}; an
// error keeps its stable `error` reason as `err.reason`.
async function vodgate(path, body) {
  const base = $("base").value.trim().replace(/\/+$/, "");
  const headers = { Authorization: `Bearer ${$("token").value.trim()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(`${base}${path}`, {
      method: body === undefined ? "GET" : "POST",
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    // fetch rejects only when no HTTP answer arrived: server down, or CORS refused this origin.
    throw new Error(`cannot reach ${base} (is vodgate running, and does CORS_ALLOWED_ORIGINS allow ${location.origin}?): ${err.message}`);
  }
  const answer = await res.json().catch(() => null);
  if (!answer) throw new Error(`HTTP ${res.status} from ${base}: not a vodgate JSON answer`);
  if (answer.code !== 0) throw Object.assign(new Error(`${answer.error}: ${answer.message}`), { reason: answer.error });
  return answer.data;
}

// Is the video ready? After the upload, VOD processes the file and tells vodgate's events
// function; GET /v1/uploads/{uploadId} answers the upload's status: waiting → uploaded →
// processing → ready (or failed). Poll it every few seconds until it settles; vodgate gives
// reads a budget of their own, so polling never costs the uploads' signatures.
const SETTLED = ["ready", "failed", "deleted"];
async function watchStatus(uploadId, { everyMs = 3000, forMs = 15 * 60 * 1000 } = {}) {
  const until = Date.now() + forMs;
  let shown = null;
  for (;;) {
    const upload = await vodgate(`/v1/uploads/${encodeURIComponent(uploadId)}`);
    if (upload.status !== shown) {
      shown = upload.status;
      showStatus(upload);
    }
    if (SETTLED.includes(upload.status) || Date.now() > until) return upload;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

// Page plumbing: the upload's status, and where to play it once ready.
function showStatus(upload) {
  const play = upload.outputs.find((o) => o.kind === "adaptiveStreaming") ?? upload.outputs[0];
  const lines = [`${upload.uploadId}: ${upload.status}`];
  if (upload.fileId) lines.push(`fileId ${upload.fileId}`);
  if (upload.status === "ready") lines.push(`play: ${play?.url ?? upload.media?.url ?? "(no URL yet)"}`);
  if (upload.error) lines.push(`error ${upload.error.code}: ${upload.error.message}`);
  if (upload.review) lines.push(`review: ${upload.review.suggestion} ${upload.review.labels.join(", ")}`);
  $("status").textContent = lines.join("\n");
  log(`status: ${upload.status}`); // demo only
}

// The last upload this page created, for the "Status" button.
let lastUploadId = null;

// Create one upload, and the getSignature() for it.
//
// One upload is one uploadId: every signature of the upload seals it, and every event VOD sends
// about the upload comes back with it, so keep it with your own records. The SDK calls
// getSignature before each request it makes to VOD (the region probe, every apply attempt,
// every commit attempt) and again when it re-applies to refresh the temporary COS credential
// during a long upload: return a NEW signature for the SAME upload on every call, never a cached
// one (with SIGN_ONE_TIME=true each signature works once only). The first call takes the
// signature that came with the creation; the others refresh with the uploadId alone (its meta,
// e.g. your post id, is part of it).
async function createUpload() {
  const meta = $("meta").value.trim();
  const upload = await vodgate("/v1/uploads", meta ? { meta } : {});
  lastUploadId = upload.uploadId;
  log(`upload created: uploadId ${upload.uploadId}`); // demo only
  let unused = upload.signature;
  async function getSignature() {
    const signed = unused
      ? { signature: unused, expireTime: upload.expireTime }
      : await vodgate("/v1/upload-signature", { uploadId: upload.uploadId });
    unused = null;
    log(`getSignature → uploadId ${upload.uploadId}, expires ${new Date(signed.expireTime * 1000).toLocaleTimeString()}`); // demo only
    return signed.signature;
  }
  return { uploadId: upload.uploadId, getSignature };
}

$("upload").addEventListener("click", async () => {
  const mediaFile = $("file").files[0];
  if (!mediaFile) return log("choose a file first");
  $("upload").disabled = true;
  log(`uploading ${mediaFile.name} (${mediaFile.size} bytes)`);
  try {
    // One TcVod per upload, so its getSignature always names this upload. The SDK also posts
    // upload statistics to Tencent (file name, size, timings); add `allowReport: false` to turn
    // that off. Offline, those posts show as "Network Error" in the console.
    const { uploadId, getSignature } = await createUpload();
    const tcVod = new TcVod({ getSignature });
    const uploader = tcVod.upload({ mediaFile });
    let shown = -1;
    uploader.on("media_progress", (info) => {
      const percent = Math.floor(info.percent * 100);
      if (percent !== shown) log(`progress ${(shown = percent)}%`);
    });
    const result = await uploader.done();
    log(`done: fileId ${result.fileId}${result.video ? `, url ${result.video.url}` : ""}`);
    // Uploaded is not playable yet: wait for VOD's processing to finish.
    try {
      await watchStatus(uploadId);
    } catch (err) {
      log(err.reason === "not_configured"
        ? "this vodgate keeps no upload status (UPLOADS_STORE is not set); its events still tell"
        : `status unavailable: ${err.message}`);
    }
  } catch (err) {
    // getSignature's errors come through unchanged; VOD's refusals carry VOD's code and message.
    log(`upload failed: ${err.code !== undefined ? `[${err.code}] ` : ""}${err.message}`);
  } finally {
    $("upload").disabled = false;
  }
});

// Read the last upload's status once (e.g. after "Get signature only": waiting).
$("status-once").addEventListener("click", async () => {
  if (!lastUploadId) return log("create an upload first");
  try {
    showStatus(await vodgate(`/v1/uploads/${encodeURIComponent(lastUploadId)}`));
  } catch (err) {
    log(`status failed: ${err.message}`);
  }
});

// The secretId a vodgate dev server signs with when it has no real VOD key pair.
const DEV_PLACEHOLDER_SECRET_ID = "AKIDvodgateDevPlaceholder";

// Show what a signature says, without uploading: base64(HMAC-SHA1 (20 bytes) ‖ plaintext).
$("sign-only").addEventListener("click", async () => {
  try {
    const { getSignature } = await createUpload();
    await getSignature(); // the creation's own signature
    const signature = await getSignature(); // a refresh: same uploadId, fresh signature
    const bytes = Uint8Array.from(atob(signature), (c) => c.charCodeAt(0));
    const plaintext = new TextDecoder().decode(bytes.subarray(20));
    $("plaintext").textContent = plaintext.split("&").map((pair) => {
      const [key, value] = pair.split("=");
      const isTime = key === "currentTimeStamp" || key === "expireTime";
      return isTime ? `${pair}   (${new Date(value * 1000).toISOString()})` : pair;
    }).join("\n");
    log("signature decoded above");
    if (plaintext.includes(`secretId=${DEV_PLACEHOLDER_SECRET_ID}`)) {
      log(`warning: secretId is the dev placeholder (${DEV_PLACEHOLDER_SECRET_ID}): VOD refuses ` +
        "this signature; start vodgate with VOD_SECRET_ID and VOD_SECRET_KEY to upload for real");
    }
  } catch (err) {
    $("plaintext").textContent = "";
    log(`getSignature failed: ${err.message}`);
  }
});
