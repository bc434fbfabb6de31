// Failed authentication is throttled and audited per window (worker/auth/throttle.ts): wrong API keys,
// platform admin tokens, enrollment tokens and exposure links, each from one address and against one
// key, token or exposure from many, against the real Worker in workerd and a real libSQL file. Miniflare
// passes a client's CF-Connecting-IP through, which is how these requests come from many addresses.
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Outpost } from "../sdk/index.ts";
import { ALLOWANCE } from "../worker/auth/throttle.ts";
import { eventually } from "./harness/agent.ts";
import { signedEnrollment } from "./harness/enrollment.ts";
import { exposureAddress, exposureRequest } from "./harness/exposure.ts";
import { insertHost } from "./harness/fixtures.ts";
import { type Stack, startStack } from "./harness/stack.ts";

/** Long enough for every burst below to fall in one window, short enough to wait one out. */
const WINDOW_MS = 8_000;
const { address: PER_ADDRESS, apiKey: PER_KEY, enrollment: PER_TOKEN, link: PER_EXPOSURE } = ALLOWANCE;

let stack: Stack;
let client: Outpost;
let token: string;
let tenantId: string;

beforeAll(async () => {
  stack = await startStack({ authThrottleWindowMs: WINDOW_MS });
  ({ client, token, id: tenantId } = await stack.tenantInProd("throttle"));
});
afterAll(() => stack?.close());

interface Answer {
  status: number;
  retryAfter: string | null;
  code: string | undefined;
  message: string | undefined;
}

async function ask(
  address: string,
  path: string,
  opts: { bearer?: string; body?: object } = {},
): Promise<Answer> {
  const res = await fetch(`${stack.url}${path}`, {
    method: opts.body ? "POST" : "GET",
    headers: {
      "cf-connecting-ip": address,
      ...(opts.bearer ? { authorization: `Bearer ${opts.bearer}` } : {}),
      ...(opts.body ? { "content-type": "application/json" } : {}),
    },
    ...(opts.body ? { body: JSON.stringify(opts.body) } : {}),
  });
  const body = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  return {
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    code: body.error?.code,
    message: body.error?.message,
  };
}

/** `count` attempts, ten at a time, each from the address `from(i)` gives; their statuses. */
async function burst(
  count: number,
  from: (i: number) => string,
  attempt: (address: string, i: number) => Promise<Answer>,
) {
  const statuses: number[] = [];
  for (let i = 0; i < count; i += 10) {
    const batch = Array.from({ length: Math.min(10, count - i) }, (_, j) => attempt(from(i + j), i + j));
    statuses.push(...(await Promise.all(batch)).map((a) => a.status));
  }
  return statuses;
}

/** A key of the tenant's with its secret changed: its prefix is known, its secret wrong. */
const wrongSecret = (key: string) => `${key.slice(0, -4)}${key.endsWith("aaaa") ? "bbbb" : "aaaa"}`;

function expectTooMany(answer: Answer, words: RegExp) {
  expect(answer.status).toBe(429);
  expect(answer.code).toBe("too_many_requests");
  expect(answer.message).toMatch(words);
  expect(answer.message).toMatch(/wait \d+ s \(Retry-After\)/);
  const seconds = Number(answer.retryAfter);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(WINDOW_MS / 1000);
}

async function auditRows(where: string, args: string[]) {
  const db = createClient({ url: stack.dbUrl });
  try {
    const rs = await db.execute({ sql: `select * from audit_events where ${where}`, args });
    return rs.rows.map((r) => ({
      actor: String(r.actor),
      target: r.target === null ? null : String(r.target),
      details: JSON.parse(String(r.details)),
    }));
  } finally {
    db.close();
  }
}

describe("API keys", () => {
  it(`answers 429 with Retry-After to an address after ${PER_ADDRESS} wrong keys, right key included; other addresses still get in`, async () => {
    const guesser = "198.51.100.7";
    const statuses = await burst(
      PER_ADDRESS,
      () => guesser,
      (a) => ask(a, "/v1/clusters", { bearer: wrongSecret(token) }),
    );
    expect(statuses).toEqual(Array(PER_ADDRESS).fill(401));
    expectTooMany(await ask(guesser, "/v1/clusters", { bearer: wrongSecret(token) }), /from 198\.51\.100\.7/);
    // Over its allowance, the address is not told whether its key is right: no oracle.
    expectTooMany(await ask(guesser, "/v1/clusters", { bearer: token }), /from 198\.51\.100\.7/);
    // The same key from another address, and streams (their own authentication path) from the guesser.
    expect((await ask("198.51.100.8", "/v1/clusters", { bearer: token })).status).toBe(200);
    expect((await ask(guesser, "/v1/hosts/x.prod/exec", { bearer: token })).status).toBe(429);
  });

  it(`refuses wrong secrets for a key hammered from many addresses after ${PER_KEY}, yet lets its right secret in`, async () => {
    const { token: victim, key } = await client.keys.create({ role: "viewer", name: "hammered" });
    // 19 tries per address: none of them reaches its own allowance.
    const from = (i: number) => `203.0.113.${Math.floor(i / (PER_ADDRESS - 1)) + 1}`;
    const statuses = await burst(PER_KEY, from, (a) =>
      ask(a, "/v1/clusters", { bearer: wrongSecret(victim) }),
    );
    expect(statuses).toEqual(Array(PER_KEY).fill(401));
    const over = await ask("203.0.113.100", "/v1/clusters", { bearer: wrongSecret(victim) });
    expectTooMany(over, new RegExp(`API key opk_${victim.split("_")[1]}_…`));
    expect(over.message).toMatch(/right secret is not locked out/);
    expect((await ask("203.0.113.101", "/v1/clusters", { bearer: victim })).status).toBe(200);
    expect(key.id).toMatch(/^key_/);
  });
});

describe("the platform admin token", () => {
  it(`answers 429 after ${PER_ADDRESS} wrong admin tokens from one address`, async () => {
    const statuses = await burst(
      PER_ADDRESS,
      () => "192.0.2.9",
      (a) => ask(a, "/v1/tenants", { bearer: `wrong-${a}` }),
    );
    expect(statuses).toEqual(Array(PER_ADDRESS).fill(401));
    expectTooMany(await ask("192.0.2.9", "/v1/tenants", { bearer: stack.adminToken }), /from 192\.0\.2\.9/);
    expect((await ask("192.0.2.10", "/v1/tenants", { bearer: stack.adminToken })).status).toBe(200);
  });
});

describe("enrollment tokens", () => {
  const enroll = async (address: string, secret: string, name: string) =>
    ask(address, "/v1/enroll", { body: await signedEnrollment(secret, name) });
  const madeUp = (i: number) => `oet_${String(i).padStart(12, "0")}_${"0".repeat(40)}`;

  it(`answers 429 after ${PER_ADDRESS} unknown tokens from one address`, async () => {
    const statuses = await burst(
      PER_ADDRESS,
      () => "192.0.2.20",
      (a, i) => enroll(a, madeUp(i), `guess-${i}`),
    );
    expect(statuses).toEqual(Array(PER_ADDRESS).fill(401));
    expectTooMany(await enroll("192.0.2.20", madeUp(99), "guess-99"), /from 192\.0\.2\.20/);
  });

  it(`refuses wrong secrets for a token hammered from many addresses after ${PER_TOKEN}, yet redeems the token`, async () => {
    const { token: secret } = await client.tokens.create({ cluster: "prod", site: "fra1" });
    const wrong = wrongSecret(secret);
    const from = (i: number) => `192.0.2.${30 + Math.floor(i / (PER_ADDRESS - 1))}`;
    const statuses = await burst(PER_TOKEN, from, (a, i) => enroll(a, wrong, `hammer-${i}`));
    expect(statuses).toEqual(Array(PER_TOKEN).fill(401));
    expectTooMany(await enroll("192.0.2.60", wrong, "hammer-x"), /enrollment token oet_/);
    expect((await enroll("192.0.2.61", secret, "genuine")).status).toBe(201);
  });
});

describe("exposure links", () => {
  /** The link value (`<expiry>.<mac>`) of each exposure. */
  const links: Record<string, string> = {};
  beforeAll(async () => {
    const [cluster] = (await client.clusters.list()).clusters;
    const [site] = (await client.sites.list("prod")).sites;
    const host = {
      tenantId,
      clusterId: cluster!.id,
      siteId: site!.id,
      name: "web",
      status: "offline",
    } as const;
    await insertHost(stack.dbUrl, host);
    for (const name of ["shop", "shop2"]) {
      await client.exposures.create("web.prod", "8080", name);
      links[name] = new URL((await client.exposures.link(name)).url).searchParams.get("outpost_link")!;
    }
  });
  const visit = async (name: string, address: string, value: string): Promise<Answer> => {
    const res = await exposureRequest(exposureAddress(stack, name), `/?outpost_link=${value}`, {
      headers: [["cf-connecting-ip", address]],
    });
    const body = JSON.parse(res.body.toString() || "{}") as { error?: { code: string; message: string } };
    const retryAfter = res.headers["retry-after"];
    return {
      status: res.status,
      retryAfter: typeof retryAfter === "string" ? retryAfter : null,
      code: body.error?.code,
      message: body.error?.message,
    };
  };
  /** The exposure's link with the end of its signature changed. */
  const forged = (name: string, i: number) => `${links[name]!.slice(0, -6)}${String(i).padStart(6, "0")}`;

  it(`answers 429 after ${PER_ADDRESS} forged links from one address, the genuine one included`, async () => {
    const statuses = await burst(
      PER_ADDRESS,
      () => "192.0.2.100",
      (a, i) => visit("shop", a, forged("shop", i)),
    );
    expect(statuses).toEqual(Array(PER_ADDRESS).fill(401));
    expectTooMany(await visit("shop", "192.0.2.100", forged("shop", 99)), /from 192\.0\.2\.100/);
    expectTooMany(await visit("shop", "192.0.2.100", links.shop!), /from 192\.0\.2\.100/);
    // Past the link check, the host is what is missing.
    expect((await visit("shop", "192.0.2.101", links.shop!)).code).toBe("host_offline");
  });

  it(`refuses forged links to an exposure hammered from many addresses after ${PER_EXPOSURE}, not the genuine one`, async () => {
    const from = (i: number) => `192.0.2.${110 + Math.floor(i / (PER_ADDRESS - 1))}`;
    const statuses = await burst(PER_EXPOSURE, from, (a, i) => visit("shop2", a, forged("shop2", i)));
    expect(statuses).toEqual(Array(PER_EXPOSURE).fill(401));
    expectTooMany(await visit("shop2", "192.0.2.200", forged("shop2", 999)), /links to exposure 'shop2'/);
    expect((await visit("shop2", "192.0.2.201", links.shop2!)).code).toBe("host_offline");
  });
});

describe("audit", () => {
  it("writes one event per address or key and window, with the count it stands for, not one per try", async () => {
    // Every window above has ended and its alarm has written its event.
    const events = await eventually(async () => {
      const rows = await auditRows("action = 'auth.failures'", []);
      // The last window opened, by the last forged link above.
      if (!rows.some((r) => r.actor === "address:192.0.2.200")) throw new Error("windows still open");
      return rows;
    }, 3 * WINDOW_MS);
    const total = events.reduce((n, e) => n + e.details.count, 0);
    // About 500 refused attempts above, in a few dozen events.
    expect(total).toBeGreaterThan(450);
    expect(events.length).toBeLessThan(40);

    const guesser = events.filter((e) => e.actor === "address:198.51.100.7");
    expect(guesser).toHaveLength(1);
    expect(guesser[0]!.details).toMatchObject({
      count: PER_ADDRESS + 3,
      failures: PER_ADDRESS,
      refused: 3,
      reasons: { "wrong API key": PER_ADDRESS },
    });
    const admin = events.filter((e) => e.actor === "address:192.0.2.9");
    expect(admin).toHaveLength(1);
    expect(admin[0]!.details).toMatchObject({ failures: PER_ADDRESS, refused: 1 });
    expect(admin[0]!.details.reasons).toEqual({ "wrong platform admin token": PER_ADDRESS });
    // No event per attempt any more, for the admin token or anything else.
    expect(await auditRows("details like '%wrong platform admin token%'", [])).toHaveLength(1);

    // The tenant sees the attack on its own key, token and exposure, each in one event.
    const seen = (await client.audit({ limit: 200 })).events.filter((e) => e.action === "auth.failures");
    const failures = (prefix: string) =>
      seen
        .filter((e) => e.target?.startsWith(prefix))
        .map((e) => e.details.failures as number)
        .sort((a, b) => a - b);
    expect(failures("key:")).toEqual([PER_ADDRESS, PER_KEY + 1]);
    expect(failures("token:")).toEqual([PER_TOKEN + 1]);
    expect(failures("exposure:")).toEqual([PER_ADDRESS, PER_EXPOSURE + 1]);
  });
});
