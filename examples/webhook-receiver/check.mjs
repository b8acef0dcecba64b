// On-demand end-to-end check of the receiver (not part of the Rust test suite).
//
//   VODGATE=../../target/debug/vodgate node check.mjs
//
// Starts, in a temporary state directory: this receiver; a vodgate dev server whose EVENT_SINK
// is its SQLite store plus a webhook to the receiver (signed with the dev keys' WEBHOOK_SECRET);
// then `vodgate simulate --url` against it, and a second simulate over an upload limit. The
// receiver must print every status change of both uploads, verified, and nothing refused.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const vodgate = resolve(process.env.VODGATE ?? "../../target/debug/vodgate");
const dir = mkdtempSync(join(tmpdir(), "vodgate-webhook-check-"));
mkdirSync(join(dir, ".vodgate"));
const children = [];

function start(command, args, env) {
  const child = spawn(command, args, { cwd: dir, env: { ...process.env, ...env } });
  children.push(child);
  let out = "";
  const ready = new Promise((resolve, reject) => {
    const look = (data) => {
      out += data;
      const found = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (found) resolve(found[1]);
    };
    child.stdout.on("data", look);
    child.stderr.on("data", look);
    child.on("exit", (code) => reject(new Error(`${command} exited with ${code}:\n${out}`)));
  });
  return { ready, output: () => out };
}

let ok = false;
try {
  // The dev keys, created by a first run of the tool; their webhook secret signs for the receiver.
  execFileSync(vodgate, ["token"], { cwd: dir, stdio: "ignore" });
  const keys = JSON.parse(readFileSync(join(dir, ".vodgate", "dev-keys.json"), "utf8"));
  const receiver = start("node", [join(process.cwd(), "server.mjs")], {
    WEBHOOK_SECRET: keys.webhookSecret,
    PORT: "0",
  });
  const hook = await receiver.ready;
  const server = start(vodgate, ["serve", "--port", "0"], {
    EVENT_SINK: `sqlite:${join(dir, ".vodgate", "events.sqlite")},webhook:${hook}/hooks`,
    UPLOAD_MAX_BYTES: "10MB",
  });
  const base = await server.ready;
  execFileSync(vodgate, ["simulate", "--url", base], { cwd: dir, stdio: "inherit" });
  execFileSync(vodgate, ["simulate", "--url", base, "--size", "20000000"], {
    cwd: dir,
    stdio: "inherit",
    env: { ...process.env, UPLOAD_MAX_BYTES: "10MB" },
  });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const said = receiver.output();
  console.log(`receiver:\n${said}`);
  const expected = ["upload.completed", "media.processing", "media.ready", "upload.rejected (too_large)"];
  ok = expected.every((line) => said.includes(line)) && !said.includes("refused");
  console.log(ok ? "check passed" : `check FAILED: expected ${expected.join(", ")} and no refusal`);
} catch (error) {
  console.error(`check FAILED: ${error.message}`);
} finally {
  for (const child of children) child.kill();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
