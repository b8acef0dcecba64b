// A receiver for vodgate's webhook sink: verify, deduplicate, act.
//
//   WEBHOOK_SECRET=whsec_… PORT=8090 node server.mjs
//
// Every delivery is verified with the `standardwebhooks` package (signature and timestamp);
// a forged or stale one is 401. The envelope `id` (the `webhook-id` header) is the idempotency
// key: vodgate delivers again whenever it did not get a 2xx, so an id seen before is answered 204
// at once. Then it prints what the event means for its upload. A real app would keep the seen ids
// and the statuses in its database, in the same transaction as what it does with the event.

import http from "node:http";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

const secret = process.env.WEBHOOK_SECRET;
if (!secret) {
  console.error("error: WEBHOOK_SECRET is not set\nhint: the whsec_… secret vodgate signs with");
  process.exit(2);
}
const webhook = new Webhook(secret);
const seen = new Set();
const MAX_BODY = 2 * 1024 * 1024;

/// What an envelope means for its upload, in one line.
function describe(envelope) {
  const upload = envelope.uploader?.uploadId ?? "(not attributed)";
  const meta = envelope.uploader?.meta ? ` meta=${envelope.uploader.meta}` : "";
  const reason = envelope.type === "upload.rejected" ? ` (${envelope.event.reason})` : "";
  return `${envelope.type}${reason} upload=${upload}${meta} file=${envelope.fileId ?? "-"}`;
}

const server = http.createServer((request, response) => {
  if (request.method !== "POST" || request.url !== "/hooks") {
    response.writeHead(404).end();
    return;
  }
  const chunks = [];
  let size = 0;
  request.on("data", (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY) request.destroy();
    else chunks.push(chunk);
  });
  request.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    let envelope;
    try {
      envelope = webhook.verify(body, request.headers);
    } catch (error) {
      if (!(error instanceof WebhookVerificationError)) throw error;
      console.log(`refused: ${error.message}`);
      response.writeHead(401).end();
      return;
    }
    if (seen.has(envelope.id)) {
      console.log(`duplicate ${envelope.id}: already processed`);
    } else {
      seen.add(envelope.id);
      console.log(describe(envelope));
    }
    response.writeHead(204).end();
  });
});

server.listen(Number(process.env.PORT ?? 8090), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/hooks`);
});
