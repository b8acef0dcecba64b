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

// Ask vodgate for a fresh upload signature.
//
// Return a NEW signature on every call, never a cached one: the SDK calls getSignature before
// each request it makes to VOD (the region probe, every apply attempt, every commit attempt) and
// again when it re-applies to refresh the temporary COS credential during a long upload. With
// SIGN_ONE_TIME=true each signature works once only, so reusing one fails the second request.
// Each signature also carries its own uploadId; pass the same `meta` on every call (e.g. your
// post id) to tie the upload's events to your own records.
async function getSignature() {
  const base = $("base").value.trim().replace(/\/+$/, "");
  const meta = $("meta").value.trim();
  let res;
  try {
    res = await fetch(`${base}/v1/upload-signature`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${$("token").value.trim()}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify(meta ? { meta } : {}),
    });
  } catch (err) {
    // fetch rejects only when no HTTP answer arrived: server down, or CORS refused this origin.
    throw new Error(`cannot reach ${base} (is vodgate running, and does CORS_ALLOWED_ORIGINS allow ${location.origin}?): ${err.message}`);
  }
  const body = await res.json().catch(() => null);
  if (!body) throw new Error(`HTTP ${res.status} from ${base}: not a vodgate JSON answer`);
  // vodgate's envelope: {code:0, message:"ok", data:{…}} or {code:<status>, error, message}.
  if (body.code !== 0) throw new Error(`${body.error}: ${body.message}`);
  log(`getSignature → uploadId ${body.data.uploadId}, expires ${new Date(body.data.expireTime * 1000).toLocaleTimeString()}`); // demo only
  return body.data.signature;
}

// The SDK also posts upload statistics to Tencent (file name, size, timings); add
// `allowReport: false` to turn that off. Offline, those posts show as "Network Error" in the console.
const tcVod = new TcVod({ getSignature });

$("upload").addEventListener("click", async () => {
  const mediaFile = $("file").files[0];
  if (!mediaFile) return log("choose a file first");
  $("upload").disabled = true;
  log(`uploading ${mediaFile.name} (${mediaFile.size} bytes)`);
  try {
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
    const signature = await getSignature();
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
