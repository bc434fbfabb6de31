import { Outpost, OutpostApiError } from "@outpost/sdk";

const op = new Outpost({ url: process.env.OUTPOST_URL!, token: process.env.OUTPOST_TOKEN! });
const host = process.argv[2] ?? "web01.prod";

// A fresh control plane has no clusters: make prod and its site fra1 (409: it exists already).
for (const make of [() => op.clusters.create("prod"), () => op.sites.create("prod", "fra1")]) {
  await make().catch((err: unknown) => {
    if (!(err instanceof OutpostApiError && err.status === 409)) throw err;
  });
}
const { install } = await op.tokens.create({ cluster: "prod", site: "fra1", ttl: "30m" });
console.log(`to enroll a host, run on it: ${install}`);

const { hosts } = await op.hosts.list({ cluster: "prod", status: "online" });
console.log(`online in prod: ${hosts.map((h) => h.fqdn).join(", ") || "none yet"}`);
if (!hosts.some((h) => h.fqdn === host)) process.exit(0);

const { code, stdout } = await op.exec(host, ["uname", "-a"]); // collected output
console.log(`uname -a on ${host} (exit ${code}): ${new TextDecoder().decode(stdout).trim()}`);

const run = op.execStream(host, ["ls", "/"]); // streams: stdout, stderr, stdin
await run.stdin.close();
const out = run.stdout.getReader();
for (let read = await out.read(); !read.done; read = await out.read()) process.stdout.write(read.value);
console.log(`ls exited with ${(await run.exited).code}`);
