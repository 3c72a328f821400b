// many: --jobs N real SDK jobs (event, cron and interval triggers, each with an integration and an
// example), for query-count tests and benchmarks. --job-version V sets every job's version.
export const description = "N generated jobs (--jobs, default 500)";

export default function setup({ sdk, z, createClient, intOpt, opt, integrations }) {
  const client = createClient();
  const count = intOpt("jobs", 500);
  const version = String(opt("job-version", "1.0.0"));
  const ints = integrations.integrationsById();
  for (let i = 0; i < count; i++) {
    let trigger;
    if (i % 3 === 0) trigger = sdk.cronTrigger({ cron: `${i % 60} * * * *` });
    else if (i % 3 === 1) trigger = sdk.intervalTrigger({ seconds: 60 + i });
    else
      trigger = sdk.eventTrigger({
        name: `event.${i}`,
        schema: z.object({ id: z.string() }),
        examples: [{ id: `example-${i}`, name: `Example ${i}`, payload: { id: String(i) } }],
      });
    client.defineJob({
      id: `job-${i}`,
      name: `Job ${i}`,
      version,
      trigger,
      integrations: { stripe: ints.stripe },
      run: async () => {},
    });
  }
  return { client };
}
