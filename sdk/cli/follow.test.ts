// A deployment follower asks again through connection errors (a keep-alive connection the server just
// closed, a control plane restarting) and gives up at once on an answer that is final. A real HTTP
// server on loopback that destroys its first connections unanswered, then answers as the API does.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { OutpostApiError } from "../errors.ts";
import { Outpost } from "../outpost.ts";
import { getDeployment } from "./follow.ts";

let server: Server | undefined;

/** Serves GET /v1/deploys/:id: the first `drops` requests' sockets are destroyed, then `answer`. */
async function serve(drops: number, answer: { status: number; body: unknown }) {
  let seen = 0;
  server = createServer((req, res) => {
    seen += 1;
    if (seen <= drops) return req.socket.destroy();
    res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { client: new Outpost({ url, token: "opk_test" }), requests: () => seen };
}

afterEach(async () => {
  await new Promise((r) => server?.close(r));
  server = undefined;
});

const deployment = { id: "dep_1", status: "running", hosts: [] };

describe("getDeployment", () => {
  it("asks again when the connection drops without an answer, and returns the answer", async () => {
    const s = await serve(3, { status: 200, body: { deployment } });
    expect(await getDeployment(s.client, "dep_1")).toMatchObject({ id: "dep_1", status: "running" });
    expect(s.requests()).toBe(4);
  });

  it("does not ask again after an answer that is final (404)", async () => {
    const s = await serve(0, {
      status: 404,
      body: { error: { code: "not_found", message: "deployment dep_1 not found" } },
    });
    await expect(getDeployment(s.client, "dep_1")).rejects.toBeInstanceOf(OutpostApiError);
    expect(s.requests()).toBe(1);
  });
});
