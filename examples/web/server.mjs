// A tiny static server for the example: no bundler, no framework, only Node's `http`.
// It serves exactly three files (so nothing else in this folder is reachable):
// the page, its script and the SDK's prebuilt UMD bundle from node_modules.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";

const port = Number(process.env.PORT ?? 5173);
const host = process.env.HOST ?? "127.0.0.1";
const sdk = "node_modules/vod-js-sdk-v6/dist/vod-js-sdk-v6.js";

const files = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/app.js": ["app.js", "text/javascript; charset=utf-8"],
  "/vod-js-sdk-v6.js": [sdk, "text/javascript; charset=utf-8"],
  "/vod-js-sdk-v6.js.map": [`${sdk}.map`, "application/json"],
};

createServer(async (req, res) => {
  const path = new URL(req.url, "http://x").pathname;
  const file = files[path];
  if (!file || (req.method !== "GET" && req.method !== "HEAD")) {
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    return;
  }
  try {
    const body = await readFile(new URL(file[0], import.meta.url));
    res.writeHead(200, { "content-type": file[1], "cache-control": "no-cache" });
    res.end(req.method === "HEAD" ? undefined : body);
  } catch (err) {
    res.writeHead(500, { "content-type": "text/plain" }).end(`${err.message}\n(did you run npm install?)\n`);
  }
}).listen(port, host, () => {
  console.log(`vodgate web example on http://${host}:${port}/`);
  console.log(`open http://${host}:${port}/?token=$TOKEN (the token vodgate printed)`);
});
