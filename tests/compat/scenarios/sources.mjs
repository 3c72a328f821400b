// sources: the index-document shapes that differ between the 2.x lines, built only with
// the public API of the running SDK line and the credential-free integrations in
// lib/integrations.mjs. What a line cannot do is skipped (see `features` in the result).
//
// every line (2.0 - 2.3):
//   repo-push-static     ExternalSourceTrigger on an HTTP ExternalSource -> sources[0]
//                        2.0.x: v1 shape {channel,key,params,events:[...],integration,registerSourceJob}
//                        >= 2.1: v2 shape {version:"2",...,options:{event:[...]}}
//                        + the internal register-source job (id = source key)
//   repo-push-dynamic    DynamicTrigger "acme-repo-push" -> dynamicTriggers[0]
//                        + internal job register-dynamic-trigger-acme-repo-push
//   user-digest          DynamicSchedule "per-user-digest" -> dynamicSchedules[0]
//   hourly-sync          intervalTrigger 3600 s (github integration, HOSTED)
//   charge-customer      eventTrigger with the stripe integration (LOCAL)
// >= 2.1 (defineAuthResolver):   stripe gets an auth resolver -> authSource "RESOLVER"
// >= 2.2.5 (invokeTrigger, defineHttpEndpoint):
//   manual-backfill      invokeTrigger -> trigger {"type":"invoke"}
//   inbound-http         HTTP endpoint "inbound-http" -> httpEndpoints[]
// >= 2.2.8 (WebhookSource):
//   deploy-webhook       WebhookTrigger -> webhooks[0] + httpEndpoints[] + internal job
// >= 2.2.9 (concurrencyLimit): hourly-sync gets concurrencyLimit 3
export const description =
  "static ExternalSource (v1 in 2.0, v2 later), dynamic trigger, dynamic schedule, interval, integrations; plus resolver/invoke/http endpoint/webhook/concurrency where the line has them";

export default function setup({ sdk, z, createClient, integrations }) {
  const client = createClient();
  const ints = integrations.integrationsById();
  const acme = ints["acme-prod"];
  const noop = async () => {};
  const features = [];

  const repoSource = new sdk.ExternalSource("HTTP", {
    id: "acme.repo",
    version: "0.1.0",
    schema: z.object({ owner: z.string(), repo: z.string() }),
    integration: acme,
    key: (params) => `${params.owner}.${params.repo}`,
    filter: (params) => ({ repository: { full_name: [`${params.owner}/${params.repo}`] } }),
    properties: (params) => [{ label: "Repo", text: `${params.owner}/${params.repo}` }],
    register: async (event) => ({ secret: event.source.secret, data: {}, options: { event: ["push"] } }),
    handler: async () => ({ events: [] }),
  });
  const onPush = {
    name: "push",
    title: "On push",
    source: "acme.example",
    icon: "github",
    examples: [{ id: "push", name: "Push", payload: { ref: "refs/heads/main" } }],
    parsePayload: (payload) => payload,
  };

  client.defineJob({
    id: "repo-push-static",
    name: "Repo push (static)",
    version: "1.0.0",
    trigger: new sdk.ExternalSourceTrigger({
      event: onPush,
      source: repoSource,
      params: { owner: "acme", repo: "widgets" },
      options: {},
    }),
    integrations: { acme },
    run: noop,
  });

  // 2.0.x has no TriggerClient#defineDynamicTrigger/defineDynamicSchedule: the classes are
  // constructed directly (that is what the define* helpers do in later lines).
  const dynamicPush = client.defineDynamicTrigger
    ? client.defineDynamicTrigger({ id: "acme-repo-push", event: onPush, source: repoSource })
    : new sdk.DynamicTrigger(client, { id: "acme-repo-push", event: onPush, source: repoSource });
  client.defineJob({
    id: "repo-push-dynamic",
    name: "Repo push (dynamic)",
    version: "1.0.0",
    trigger: dynamicPush,
    run: noop,
  });

  const digest = client.defineDynamicSchedule
    ? client.defineDynamicSchedule({ id: "per-user-digest" })
    : new sdk.DynamicSchedule(client, { id: "per-user-digest" });
  client.defineJob({
    id: "user-digest",
    name: "User digest",
    version: "1.0.0",
    trigger: digest,
    integrations: { resend: ints.resend },
    run: noop,
  });

  const hasConcurrency = typeof client.defineConcurrencyLimit === "function";
  client.defineJob({
    id: "hourly-sync",
    name: "Hourly sync",
    version: "1.0.0",
    trigger: sdk.intervalTrigger({ seconds: 3600 }),
    integrations: { github: ints.github },
    ...(hasConcurrency ? { concurrencyLimit: 3 } : {}),
    run: noop,
  });
  if (hasConcurrency) features.push("concurrencyLimit");

  client.defineJob({
    id: "charge-customer",
    name: "Charge customer",
    version: "1.1.0",
    trigger: sdk.eventTrigger({ name: "invoice.created", source: "shop.example" }),
    integrations: { stripe: ints.stripe },
    run: noop,
  });

  if (typeof client.defineAuthResolver === "function") {
    client.defineAuthResolver(ints.stripe, async () => ({ type: "apiKey", token: "sk_test_unused" }));
    features.push("authResolver");
  }

  if (typeof sdk.invokeTrigger === "function") {
    client.defineJob({
      id: "manual-backfill",
      name: "Manual backfill",
      version: "1.0.0",
      trigger: sdk.invokeTrigger({ schema: z.object({ from: z.string(), to: z.string() }) }),
      run: noop,
    });
    features.push("invokeTrigger");
  }

  if (typeof client.defineHttpEndpoint === "function") {
    const inbound = client.defineHttpEndpoint({
      id: "inbound-http",
      source: "partner.example",
      icon: "webhook",
      verify: async () => ({ success: true }),
    });
    client.defineJob({
      id: "inbound-http",
      name: "Inbound HTTP",
      version: "1.0.0",
      trigger: inbound.onRequest({ filter: { method: ["POST"] } }),
      run: noop,
    });
    features.push("httpEndpoint");
  }

  if (typeof sdk.WebhookSource === "function") {
    const deployHooks = new sdk.WebhookSource({
      id: "acme.deploy",
      version: "0.1.0",
      integration: acme,
      schemas: { params: z.object({ project: z.string() }) },
      key: (params) => params.project,
      crud: { create: async () => {}, delete: async () => {} },
      generateEvents: async () => {},
    });
    client.defineJob({
      id: "deploy-webhook",
      name: "Deploy webhook",
      version: "1.0.0",
      trigger: new sdk.WebhookTrigger({
        event: {
          name: "deploy.finished",
          title: "Deploy finished",
          source: "acme.example",
          icon: "webhook",
          parsePayload: (p) => p,
        },
        source: deployHooks,
        params: { project: "rocket" },
        config: {},
      }),
      run: noop,
    });
    features.push("webhook");
  }

  return { client, info: { features } };
}
