#!/usr/bin/env node
// ONE real Trigger.dev v2 endpoint of a chosen SDK line (2.0, 2.1, 2.2 or 2.3), on loopback.
//
//   node tests/compat/server.mjs --sdk 2.0 --id my-endpoint --api-key tr_dev_abc123 --port 0 [--scenario basic]
//
// stdout: exactly ONE JSON line, e.g.
//   {"url":"http://127.0.0.1:41234/api/trigger","id":"my-endpoint","pid":1234,"port":41234,"sdk":"2.0.14",
//    "line":"2.0","core":"2.0.14","adapter":"node-http","scenario":"basic","features":[]}
// Everything else (SDK logs) goes to stderr. SIGTERM/SIGINT: clean shutdown, exit code 0.
//
// Options (also --name=value):
//   --sdk LINE          2.0 | 2.1 | 2.2 | 2.3 (required). Each line is an npm alias in package.json
//                       (trigger-sdk-2.0 = @trigger.dev/sdk@2.0.14, ...), with its own @trigger.dev/core.
//   --id ID             endpoint id (TriggerClient id)
//   --api-key KEY       key the endpoint accepts, ^tr_[a-z]+_[a-zA-Z0-9]+$
//   --port N            0 or absent = free port
//   --scenario NAME     basic (default) | sources (scenarios/NAME.mjs)
//   --adapter A         official | node-http. Default: official where an @trigger.dev/express release of
//                       that line exists (2.1 -> express 2.1.3, 2.3 -> express 2.3.18), else node-http
//                       (plain node:http glue: Request -> client.handleRequest -> {status, body, headers}).
//   --host H            loopback address (default 127.0.0.1)
//   --path P            handler path (default /api/trigger)
//   --api-url URL       where the SDK would call the Trigger.dev API (never used by PING/VALIDATE/INDEX)
//   --verbose           SDK debug logging (stderr)
//   --scenario-dir DIR  accepted and ignored (tests/support/sdk.py always passes it)

import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";

import * as integrations from "./lib/integrations.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const API_KEY_RE = /^tr_[a-z]+_[a-zA-Z0-9]+$/;
const LOOPBACK_RE = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|::1)$/;

// line -> npm alias of the SDK and (if one exists for that line) of the official express adapter
const LINES = {
  "2.0": { sdk: "trigger-sdk-2.0", express: null },
  "2.1": { sdk: "trigger-sdk-2.1", express: "trigger-express-2.1" },
  "2.2": { sdk: "trigger-sdk-2.2", express: null },
  "2.3": { sdk: "trigger-sdk-2.3", express: "trigger-express-2.3" },
};

function parseArgv(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) continue;
    const eq = arg.indexOf("=");
    if (eq !== -1) options[arg.slice(2, eq)] = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) options[arg.slice(2)] = argv[++i];
    else options[arg.slice(2)] = true;
  }
  return options;
}

function fail(message, code = 2) {
  process.stderr.write(`compat/server.mjs: ${message}\n`);
  process.exit(code);
}

function packageVersion(requireFn, name) {
  try {
    return JSON.parse(fs.readFileSync(requireFn.resolve(`${name}/package.json`), "utf8")).version;
  } catch {
    return null;
  }
}

// Plain node:http glue, like the Next.js/Remix adapters: every method goes to handleRequest.
function nodeHttpHandler(client, triggerPath) {
  return async (req, res) => {
    const url = new URL(req.url, `http://${req.headers.host ?? "127.0.0.1"}`);
    if (url.pathname !== triggerPath) {
      res.writeHead(404, { "content-type": "application/json; charset=utf-8" });
      res.end(JSON.stringify({ error: "Not found" }));
      return;
    }
    try {
      const headers = new Headers();
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
      const hasBody = req.method !== "GET" && req.method !== "HEAD";
      const request = new Request(url, {
        method: req.method,
        headers,
        body: hasBody ? Readable.toWeb(req) : undefined,
        duplex: "half",
      });
      const response = await client.handleRequest(request);
      if (!response) {
        res.writeHead(404, { "content-type": "application/json; charset=utf-8" });
        res.end(JSON.stringify({ error: "Not found" }));
        return;
      }
      const outHeaders = { "content-type": "application/json; charset=utf-8" };
      for (const [key, value] of Object.entries(response.headers ?? {})) {
        if (typeof value === "string") outHeaders[key] = value;
      }
      res.writeHead(response.status, outHeaders);
      res.end(req.method === "HEAD" ? undefined : JSON.stringify(response.body));
    } catch (error) {
      process.stderr.write(`compat/server.mjs: handleRequest failed: ${error?.stack ?? error}\n`);
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
      res.end("Internal Server Error");
    }
  };
}

async function officialExpressHandler(client, triggerPath, expressAlias) {
  const { default: express } = await import("express");
  const { createMiddleware } = await import(expressAlias);
  const app = express();
  app.set("env", "production"); // error pages without stack traces
  app.use(createMiddleware(client, triggerPath));
  return app;
}

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address().port);
    });
  });
}

async function main() {
  const options = parseArgv(process.argv.slice(2));

  // stdout is reserved for the single JSON line.
  console.log = (...args) => console.error(...args);
  console.info = (...args) => console.error(...args);
  console.debug = (...args) => console.error(...args);

  const lineName = String(options.sdk ?? "");
  const line = LINES[lineName];
  if (!line) fail(`--sdk must be one of ${Object.keys(LINES).join(", ")}`);

  const scenarioName = String(options.scenario ?? "basic");
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(scenarioName)) fail(`bad scenario name: ${scenarioName}`);
  const scenarioFile = path.join(HERE, "scenarios", `${scenarioName}.mjs`);
  if (!fs.existsSync(scenarioFile)) fail(`unknown scenario "${scenarioName}"`);

  const id = options.id;
  const apiKey = options["api-key"];
  if (typeof id !== "string" || id.length === 0) fail("--id is required");
  if (typeof apiKey !== "string" || !API_KEY_RE.test(apiKey)) {
    fail("--api-key is required and must look like tr_dev_xxx (regex ^tr_[a-z]+_[a-zA-Z0-9]+$)");
  }
  const host = String(options.host ?? "127.0.0.1");
  if (!LOOPBACK_RE.test(host)) fail(`--host must be a loopback address, got ${host}`);
  const port = Number.parseInt(String(options.port ?? "0"), 10);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad --port ${options.port}`);
  const triggerPath = String(options.path ?? "/api/trigger");
  const apiUrl = String(options["api-url"] ?? "http://127.0.0.1:8000");
  const verbose = Boolean(options.verbose);
  const adapterName = String(options.adapter ?? (line.express ? "official" : "node-http"));
  if (adapterName !== "official" && adapterName !== "node-http") fail("--adapter must be official or node-http");
  if (adapterName === "official" && !line.express) fail(`no official express adapter for SDK ${lineName}`);

  // The SDK, its own @trigger.dev/core and its own zod, exactly as an app on that line loads them.
  const sdk = await import(line.sdk);
  const sdkRequire = createRequire(require.resolve(`${line.sdk}/package.json`));
  const zodModule = await import(pathToFileURL(sdkRequire.resolve("zod")).href);
  const z = zodModule.z ?? zodModule.default?.z ?? zodModule.default;
  const sdkVersion = packageVersion(require, line.sdk);
  const coreVersion = packageVersion(sdkRequire, "@trigger.dev/core");
  const adapter =
    adapterName === "official" ? `@trigger.dev/express@${packageVersion(require, line.express)}` : "node-http";

  const { default: setup } = await import(pathToFileURL(scenarioFile).href);
  const result = setup({
    sdk,
    z,
    integrations,
    line: lineName,
    createClient: (overrides = {}) => new sdk.TriggerClient({ id, apiKey, apiUrl, verbose, ...overrides }),
  });
  const client = result.client;

  const handler =
    adapterName === "official"
      ? await officialExpressHandler(client, triggerPath, line.express)
      : nodeHttpHandler(client, triggerPath);
  const server = http.createServer(handler);
  const actualPort = await listen(server, port, host);
  const hostForUrl = host.includes(":") ? `[${host}]` : host;

  let closing = false;
  const shutdown = (signal) => {
    if (closing) return;
    closing = true;
    process.stderr.write(`compat/server.mjs: ${signal}, shutting down\n`);
    setTimeout(() => process.exit(0), 3000).unref();
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));

  const info = {
    url: `http://${hostForUrl}:${actualPort}${triggerPath}`,
    id,
    pid: process.pid,
    port: actualPort,
    sdk: sdkVersion,
    line: lineName,
    core: coreVersion,
    adapter,
    scenario: scenarioName,
    ...(result.info ?? {}),
  };
  process.stdout.write(JSON.stringify(info) + "\n");
}

main().catch((error) => {
  process.stderr.write(`compat/server.mjs: ${error?.stack ?? error}\n`);
  process.exit(1);
});
