// basic: the same 3 jobs as the shared fixture's `basic` scenario, written only with
// APIs that exist in every 2.x line (TriggerClient#defineJob, eventTrigger, cronTrigger).
//   send-welcome-email  eventTrigger "user.created" (zod schema + filter + example)
//   daily-report        cronTrigger "0 9 * * *"
//   disabled-cleanup    eventTrigger "user.deleted", enabled: false
export const description =
  "3 jobs: eventTrigger job, cronTrigger scheduled job, disabled (enabled:false) job";

export default function setup({ sdk, z, createClient }) {
  const client = createClient();

  client.defineJob({
    id: "send-welcome-email",
    name: "Send welcome email",
    version: "1.0.0",
    trigger: sdk.eventTrigger({
      name: "user.created",
      schema: z.object({ userId: z.string(), email: z.string().email(), plan: z.string() }),
      filter: { plan: ["pro", "team"] },
      examples: [
        { id: "pro-user", name: "Pro user", payload: { userId: "u_1", email: "a@example.com", plan: "pro" } },
      ],
    }),
    run: async (payload, io) => {
      await io.logger.info("welcome", { userId: payload.userId });
    },
  });

  client.defineJob({
    id: "daily-report",
    name: "Daily report",
    version: "0.2.0",
    trigger: sdk.cronTrigger({ cron: "0 9 * * *" }),
    run: async (payload, io) => {
      await io.logger.info("report", { ts: payload.ts });
    },
  });

  client.defineJob({
    id: "disabled-cleanup",
    name: "Disabled cleanup",
    version: "1.0.0",
    enabled: false,
    trigger: sdk.eventTrigger({ name: "user.deleted" }),
    run: async () => {},
  });

  return { client, info: { features: [] } };
}
