// On-demand smoke check of the example in headless Chromium (not part of the Rust test suite).
//
// Needs: vodgate running (VODGATE_URL, default http://127.0.0.1:8080), TOKEN set to a token it
// accepts, `npm start` running (EXAMPLE_URL, default http://127.0.0.1:5173/) and a Chromium
// (CHROMIUM, default /usr/bin/chromium). It clicks "Get signature only", which creates an upload
// and refreshes its signature, and expects the decoded plaintext on the page, sealing the same
// uploadId that every getSignature call logged; then "Status", which reads the upload back
// (GET /v1/uploads/{uploadId}) and must show it waiting (nothing was uploaded). SCREENSHOT=path.png
// saves what the page looked like.
import { chromium } from "playwright-core";

const token = process.env.TOKEN;
if (!token) {
  console.error("set TOKEN to a token vodgate accepts (vodgate prints one; or `vodgate token`)");
  process.exit(2);
}
const vodgate = process.env.VODGATE_URL ?? "http://127.0.0.1:8080";
const example = process.env.EXAMPLE_URL ?? "http://127.0.0.1:5173/";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync"],
});
let ok = false;
try {
  const page = await browser.newPage();
  page.on("pageerror", (err) => console.error(`page error: ${err.message}`));
  await page.goto(`${example}?token=${encodeURIComponent(token)}`);
  await page.fill("#base", vodgate);
  await page.fill("#meta", "check_1");
  await page.click("#sign-only");
  await page.waitForFunction(() => /signature decoded|failed/.test(document.querySelector("#log").textContent));
  await page.click("#status-once");
  await page.waitForFunction(() => /status: |status failed/.test(document.querySelector("#log").textContent));
  const plaintext = await page.textContent("#plaintext");
  const status = await page.textContent("#status");
  const log = await page.textContent("#log");
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
  console.log(`plaintext:\n${plaintext}\nstatus:\n${status}\nlog:\n${log}`);
  // Every getSignature call names the one upload, and the refreshed signature seals its id.
  const ids = [...log.matchAll(/uploadId ([A-Za-z0-9_.-]+)/g)].map((m) => m[1]);
  const uploadId = ids[0];
  ok = plaintext.includes("secretId=")
    && ids.length >= 3 && ids.every((id) => id === uploadId) && uploadId.endsWith(".check_1")
    && new RegExp(`sourceContext=v2\\.[A-Za-z0-9_-]{22}\\.${uploadId.replace(".", "\\.")}\\.`).test(plaintext)
    && status.startsWith(`${uploadId}: waiting`);
} finally {
  await browser.close();
}
console.log(ok ? "check: ok" : "check: FAILED (no decoded signature with secretId= and a sourceContext=v2.… sealing the logged uploadId, or the upload not read back as waiting)");
process.exit(ok ? 0 : 1);
