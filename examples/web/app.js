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

// Ask vodgate something on the user's behalf; vodgate's envelope is
// {code:0, message:"ok", data:{…}} or {code:<status>, error, message}.
async function vodgate(path, body) {
  const base = $("base").value.trim().replace(/\/+$/, "");
  let res;
  try {
    res = await fetch(`${base}${path}`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${$("token").value.trim()}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify(body),
    });
  } catch (err) {
    // fetch rejects only when no HTTP answer arrived: server down, or CORS refused this origin.
    throw new Error(`cannot reach ${base} (is vodgate running, and does CORS_ALLOWED_ORIGINS allow ${location.origin}?): ${err.message}`);
  }
  const answer = await res.json().catch(() => null);
  if (!answer) throw new Error(`HTTP ${res.status} from ${base}: not a vodgate JSON answer`);
  if (answer.code !== 0) throw new Error(`${answer.error}: ${answer.message}`);
  return answer.data;
}

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
    const { getSignature } = await createUpload();
    const tcVod = new TcVod({ getSignature });
    const uploader = tcVod.upload({ mediaFile });
    let shown = -1;
    uploader.on("media_progress", (info) => {
      const percent = Math.floor(info.percent * 100);
      if (percent !== shown) log(`progress ${(shown = percent)}%`);
    });
    const result = await uploader.done();
    log(`done: fileId ${result.fileId}${result.video ? `, url ${result.video.url}` : ""}`);
  } catch (err) {
    // getSignature's errors come through unchanged; VOD's refusals carry VOD's code and message.
    log(`upload failed: ${err.code !== undefined ? `[${err.code}] ` : ""}${err.message}`);
  } finally {
    $("upload").disabled = false;
  }
});

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
  } catch (err) {
    $("plaintext").textContent = "";
    log(`getSignature failed: ${err.message}`);
  }
});
