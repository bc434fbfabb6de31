// The session recorder in real workerd with a real R2 bucket: output waits in a bounded buffer and is
// written as parts (when full or 2 s after its first line), the end joins the parts into the one
// asciicast object and deletes them, the cap stops the recording with a marker, and a recorder rebuilt
// from its saved state (an evicted object) goes on with the next part and no second header.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

const fixture = (name: string) => env.RECORDER.get(env.RECORDER.idFromName(name));
const KEY = (session: string) => `recordings/tenant_aaaaaaaaaaaaaaaa/${session}.cast`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Recorder in workerd", () => {
  it("buffers, writes a part after its flush time, and joins the parts into one recording", async () => {
    const r = fixture("parts");
    await r.start("ses_a", 1024 * 1024);
    await r.output("hello ");
    await r.resize(100, 30);
    expect(Object.keys(await r.objects("ses_a"))).toEqual([]); // nothing yet: held in the buffer
    await sleep(2300);
    await r.settled();
    const parts = await r.objects("ses_a");
    expect(Object.keys(parts)).toEqual(["uploads/recordings/tenant_aaaaaaaaaaaaaaaa/ses_a/00000000"]);
    await r.output("world\u001b[0m");
    await r.finish();
    const done = await r.objects("ses_a");
    expect(Object.keys(done)).toEqual([KEY("ses_a")]); // the parts are gone
    const [header, ...events] = done[KEY("ses_a")]!.trimEnd().split("\n");
    expect(JSON.parse(header!)).toMatchObject({ version: 2, width: 80, height: 24, env: { TERM: "xterm" } });
    expect(events.map((l) => JSON.parse(l).slice(1))).toEqual([
      ["o", "hello "],
      ["r", "100x30"],
      ["o", "world\u001b[0m"],
    ]);
  });

  it("stops at the cap with a marker, and the recording stays within it", async () => {
    const r = fixture("cap");
    await r.start("ses_b", 4096);
    for (let i = 0; i < 20; i++) await r.output("y".repeat(500));
    await r.finish();
    const cast = (await r.objects("ses_b"))[KEY("ses_b")]!;
    expect(new TextEncoder().encode(cast).length).toBeLessThanOrEqual(4096);
    const last = JSON.parse(cast.trimEnd().split("\n").at(-1)!);
    expect(last[1]).toBe("m");
    expect(last[2]).toMatch(/recording stopped/);
  });

  it("goes on from its saved state: the next part, no second header", async () => {
    const r = fixture("resume");
    await r.start("ses_c", 1024 * 1024);
    await r.output("before ");
    await sleep(2300);
    await r.settled();
    const state = await r.saved();
    expect(state).toMatchObject({ parts: 1 });
    // The object is evicted (its memory gone) and woken: a new recorder from the attachment's state.
    const woken = fixture("resume-woken");
    await woken.start("ses_c", 1024 * 1024, state);
    await woken.output("after");
    await woken.finish();
    const cast = (await woken.objects("ses_c"))[KEY("ses_c")]!;
    const lines = cast.trimEnd().split("\n");
    expect(lines.filter((l) => l.startsWith("{")).length).toBe(1);
    expect(lines.slice(1).map((l) => JSON.parse(l)[2])).toEqual(["before ", "after"]);
  });
});
