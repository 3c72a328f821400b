// Minimal integration objects, accepted by every 2.x SDK line without credentials.
//
// At index time the SDK only serialises { id, metadata, authSource }:
//   * SDK >= 2.1 reads `integration.authSource` ("HOSTED" | "LOCAL"; the SDK itself reports
//     "RESOLVER" when an auth resolver was registered for the integration id),
//   * SDK 2.0.x reads `integration.client.usesLocalAuth` (true -> "LOCAL", else "HOSTED").
// So each object carries both shapes. `cloneForRun` is the >= 2.1 TriggerIntegration hook
// (only used while running a job, never during PING/VALIDATE/INDEX_ENDPOINT).

export function makeIntegration({ id, provider, name, authSource = "HOSTED", instructions }) {
  const metadata = { id: provider ?? id, name: name ?? provider ?? id };
  if (instructions) metadata.instructions = instructions;
  const integration = {
    id,
    metadata,
    authSource,
    client: { usesLocalAuth: authSource === "LOCAL" },
    cloneForRun(io, connectionKey, auth) {
      return { ...integration, io, connectionKey, auth };
    },
  };
  return integration;
}

export const catalogue = [
  { id: "github", provider: "github", name: "GitHub", authSource: "HOSTED" },
  { id: "stripe", provider: "stripe", name: "Stripe", authSource: "LOCAL" },
  { id: "resend", provider: "resend", name: "Resend", authSource: "LOCAL" },
  {
    id: "acme-prod",
    provider: "acme",
    name: "Acme Webhooks",
    authSource: "LOCAL",
    instructions: "Use an Acme API token",
  },
];

export function integrationsById() {
  return Object.fromEntries(catalogue.map((c) => [c.id, makeIntegration(c)]));
}
