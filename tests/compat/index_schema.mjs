#!/usr/bin/env node
// Reads an INDEX_ENDPOINT body (JSON) on stdin and prints ONE JSON line: what the Trigger.dev
// server's zod schema makes of it, using @trigger.dev/core 2.3.19's IndexEndpointResponseSchema
// (the union of every 2.x shape; adds `version:"1"` to v1 sources, `internal:false`, strips
// unknown keys):  {"success":true,"data":{...}}  or  {"success":false,"error":"<zod message>"}
import { IndexEndpointResponseSchema } from "@trigger.dev/core";

let input = "";
process.stdin.setEncoding("utf8");
for await (const chunk of process.stdin) input += chunk;
const result = IndexEndpointResponseSchema.safeParse(JSON.parse(input));
process.stdout.write(
  JSON.stringify(result.success ? { success: true, data: result.data } : { success: false, error: result.error.message }) +
    "\n",
);
