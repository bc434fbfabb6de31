// The console history file (console-history.ts) and the VM name check (vm-lookup.ts), on a real disk.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConsoleHistory, trimAppendLog } from "./console-history.ts";
import { hasVm, vmDir } from "./vm-lookup.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("ConsoleHistory", () => {
  it("rotates at its limit, so the two files never hold more than twice it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "outpost-history-"));
    const history = new ConsoleHistory(dir, 1000);
    for (let i = 0; i < 500; i++) await history.append(bytes(`line ${i}\n`));
    expect(statSync(history.path).size).toBeLessThanOrEqual(1000);
    expect(statSync(`${history.path}.1`).size).toBeLessThanOrEqual(1000);
    expect(readFileSync(history.path, "utf8").trimEnd().split("\n").at(-1)).toBe("line 499");
  });

  it("starts afresh when the VM's directory was removed and made again (vm rm, then vm create)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "outpost-history-"));
    const history = new ConsoleHistory(dir, 1000);
    await history.append(bytes("x".repeat(900)));
    rmSync(dir, { recursive: true });
    mkdirSync(dir);
    await history.append(bytes("a new VM of the same name\n".repeat(5)));
    expect(readFileSync(history.path, "utf8")).toBe("a new VM of the same name\n".repeat(5));
    expect(existsSync(`${history.path}.1`)).toBe(false);
  });

  it("keeps only the end of one write larger than the limit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "outpost-history-"));
    const history = new ConsoleHistory(dir, 100);
    await history.append(bytes(`${"x".repeat(500)}END`));
    expect(readFileSync(history.path, "utf8")).toMatch(/^x{97}END$/);
  });

  it("gives the last N lines across both files, a last line without its newline counted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "outpost-history-"));
    const history = new ConsoleHistory(dir, 30);
    for (const line of ["one\n", "two\n", "three\n", "four\n", "five\n", "six\n", "seven\n", "eig"]) {
      await history.append(bytes(line));
    }
    expect(text(await history.tail(3))).toBe("six\nseven\neig");
    expect(text(await history.tail(0))).toBe("");
    const all = await history.tail(100);
    expect(all.length).toBeLessThanOrEqual(60);
    expect(text(all).endsWith("seven\neig")).toBe(true);
    expect(text(await new ConsoleHistory(mkdtempSync(join(tmpdir(), "outpost-history-"))).tail(5))).toBe("");
  });

  it("falls back to the end of the driver's console log while there is no history", async () => {
    const dir = mkdtempSync(join(tmpdir(), "outpost-history-"));
    writeFileSync(join(dir, "console.log"), `${"old\n".repeat(100)}booted\n`);
    const history = new ConsoleHistory(dir, 40);
    expect(text(await history.tail(2))).toBe("old\nbooted\n");
    expect((await history.tail(1000)).length).toBeLessThanOrEqual(80);
    await history.append(bytes("mine\n"));
    expect(text(await history.tail(2))).toBe("mine\n");
  });

  it("trims a log another process appends to once it is past the limit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "outpost-history-"));
    const log = join(dir, "console.log");
    writeFileSync(log, "x".repeat(50));
    expect(await trimAppendLog(log, 100)).toBe(false);
    writeFileSync(log, "x".repeat(150));
    expect(await trimAppendLog(log, 100)).toBe(true);
    expect(statSync(log).size).toBe(0);
  });
});

describe("VM names on disk", () => {
  it("refuses every name that is not a DNS label, so none can leave <state>/vms/", () => {
    for (const bad of ["..", "../x", "a/b", "a.b", "", "-a", "A", "a\0b", `${"a".repeat(64)}`, "/etc"]) {
      expect(() => vmDir("/state", bad)).toThrow(RangeError);
      expect(() => hasVm("/state", bad)).toThrow(/Cannot use VM name/);
    }
    expect(vmDir("/state", "web-1")).toBe("/state/vms/web-1");
  });
});
