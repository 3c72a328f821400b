// evolving: the same endpoint at successive deploys, chosen with --variant 1|2|3.
//   1: three event jobs (a, b, c) and a cron job.
//   2: a removed, b bumped to 1.1.0 with a new filter, c enabled:false, d added.
//   3: only d left (a suspicious shrink: 3 of 4 active jobs would vanish).
export const description = "a changing document across deploys (--variant 1|2|3)";

export default function setup({ sdk, createClient, opt }) {
  const client = createClient();
  const variant = String(opt("variant", "1"));
  const job = (id, version, trigger, extra = {}) =>
    client.defineJob({ id, name: id.toUpperCase(), version, trigger, run: async () => {}, ...extra });

  if (variant === "1") {
    job("job-a", "1.0.0", sdk.eventTrigger({ name: "a.happened" }));
    job("job-b", "1.0.0", sdk.eventTrigger({ name: "b.happened", filter: { plan: ["pro"] } }));
    job("job-c", "1.0.0", sdk.eventTrigger({ name: "c.happened" }));
    job("job-cron", "1.0.0", sdk.cronTrigger({ cron: "0 * * * *" }));
  } else if (variant === "2") {
    job("job-b", "1.1.0", sdk.eventTrigger({ name: "b.happened", filter: { plan: ["pro", "team"] } }));
    job("job-c", "1.0.0", sdk.eventTrigger({ name: "c.happened" }), { enabled: false });
    job("job-cron", "1.0.0", sdk.cronTrigger({ cron: "0 * * * *" }));
    job("job-d", "1.0.0", sdk.eventTrigger({ name: "d.happened" }));
  } else {
    job("job-d", "1.0.0", sdk.eventTrigger({ name: "d.happened" }));
  }
  return { client };
}
