// slow: the basic jobs, but INDEX_ENDPOINT answers only after --index-delay-ms (default 3000).
// Lets a test kill a worker while it is waiting on the endpoint.
export const description = "2 jobs; INDEX_ENDPOINT is delayed by --index-delay-ms";

export default function setup({ sdk, createClient, intOpt }) {
  const client = createClient();
  const delay = intOpt("index-delay-ms", 3000);
  client.defineJob({
    id: "slow-job",
    name: "Slow job",
    version: "1.0.0",
    trigger: sdk.eventTrigger({ name: "slow.event" }),
    run: async () => {},
  });
  client.defineJob({
    id: "slow-cron",
    name: "Slow cron",
    version: "1.0.0",
    trigger: sdk.cronTrigger({ cron: "*/5 * * * *" }),
    run: async () => {},
  });
  const delayIndex = (req, res, next) => {
    if (req.headers["x-trigger-action"] === "INDEX_ENDPOINT") setTimeout(next, delay);
    else next();
  };
  return { client, before: [delayIndex] };
}
