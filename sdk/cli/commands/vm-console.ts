// `outpost vm console <vm>` and `outpost vm logs <vm>`: a VM's serial console, live through the relay,
// and what it printed (the history its host keeps).
import { once } from "node:events";
import { NAME_PATTERN, NAME_RULE } from "../../../schema/names.ts";
import { OutpostStreamError } from "../../errors.ts";
import type { ConsoleStream } from "../../streams/console.ts";
import { showVm } from "../../vm/index.ts";
import { type Context, parse } from "../command.ts";
import { json, jsonLine } from "../output.ts";
import { UsageError } from "../usage-error.ts";

export const vmConsoleHelp = `usage: outpost vm console <vm> [--cluster C] [--host <host>.<cluster>] [--read-only]
       outpost vm logs <vm> [--cluster C] [--host <host>.<cluster>] [-f] [-n N] [--json]

console attaches your terminal to the VM's serial console (raw mode: every key goes to the guest;
Ctrl-] detaches). One session at a time writes; others, and --read-only, only watch, and the
command says which you got. It ends when you detach (exit 0) or the VM stops (exit 1). A console on
a VM that is not running is refused (exit 1): 'vm logs' shows what it printed. Operators only.
logs prints the console's last N lines (-n, default 100) from the history the host keeps (bounded:
about 2 MiB per VM, the oldest dropped first); -f goes on with what it prints next, until Ctrl-C.
--json prints {"items": [{"vm", "host", "line"}], "nextCursor": null} (with -f, one object per line).
Viewers may read logs. The VM's host is found through the control plane (outpost vm ls); --cluster C
picks the VM when its name is in several clusters; --host H goes to host H without asking.`;

/**
 * The host that runs `vm`: --host when given, else the control plane's record of the VM (GET
 * /v1/vms/:name, --cluster C when its name is in several clusters: the API refuses with 409 then).
 */
async function vmHost(
  ctx: Context,
  vm: string,
  opts: { host?: string | undefined; cluster?: string | undefined },
): Promise<string> {
  if (!NAME_PATTERN.test(vm)) throw new UsageError(`VM name '${vm}' must be ${NAME_RULE}`, vmConsoleHelp);
  if (opts.host) return opts.host;
  return (await showVm(ctx.client(), vm, opts.cluster)).vm.host;
}

/** Ctrl-], as telnet and virsh console have it. */
const DETACH = 0x1d;

export async function vmConsole(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      host: { type: "string" },
      cluster: { type: "string" },
      "read-only": { type: "boolean", default: false },
    },
    vmConsoleHelp,
  );
  if (positionals.length !== 1) throw new UsageError("expected <vm>", vmConsoleHelp);
  const vm = positionals[0]!;
  const host = await vmHost(ctx, vm, values);
  const stream = ctx.client().vmConsole(host, vm, { mode: values["read-only"] ? "read" : "write" });
  ended(stream); // a refusal surfaces through session or attached below
  await stream.session;
  const attached = await stream.attached;
  const said =
    attached.mode === "write"
      ? `outpost: attached to ${vm}'s console on ${host} (Ctrl-] detaches)`
      : `outpost: attached to ${vm}'s console on ${host} read-only: ${attached.reason ?? "as asked"} (Ctrl-] detaches)`;
  return attach(
    stream,
    attached.mode === "write",
    () => ctx.io.err(said),
    (why) => ctx.io.err(`\r\noutpost: ${why} (Ctrl-] detaches)\r`),
  );
}

function ended(stream: ConsoleStream): void {
  stream.ended.catch(() => {});
}

/** Runs the attached console on this terminal; `ready` is told once the terminal is raw. */
async function attach(
  stream: ConsoleStream,
  writes: boolean,
  ready: () => void,
  promoted: (why: string) => void,
): Promise<number> {
  let writer = writes;
  // The writer detached and this read-only session took the seat: keys go through from now on.
  stream.promoted.then(
    (p) => {
      writer = true;
      promoted(p.reason ?? "this session writes to the console now");
    },
    () => {},
  );
  const { stdin, stdout } = process;
  const raw = stdin.isTTY === true;
  const writer_ = stream.input.getWriter();
  let detached = false;
  let detach: () => void = () => {};
  const detachedNow = new Promise<void>((resolve) => {
    detach = () => {
      detached = true;
      resolve();
    };
  });
  const onData = (chunk: Buffer) => {
    const at = chunk.indexOf(DETACH);
    const keys = at === -1 ? chunk : chunk.subarray(0, at);
    if (writer && keys.length > 0) {
      stdin.pause();
      writer_.write(new Uint8Array(keys)).then(
        () => stdin.resume(),
        () => {},
      );
    }
    if (at !== -1) detach();
  };
  const restore = () => {
    if (raw && stdin.isTTY) stdin.setRawMode(false);
  };
  process.on("exit", restore);
  try {
    if (raw) stdin.setRawMode(true);
    ready();
    stdin.on("data", onData);
    stdin.resume();
    const pump = (async () => {
      for await (const chunk of stream.output as unknown as AsyncIterable<Uint8Array>) {
        if (!stdout.write(chunk)) await once(stdout, "drain");
      }
    })().catch(() => {});
    try {
      await Promise.race([stream.ended, detachedNow]);
    } catch (error) {
      if (!detached) {
        restore();
        if (error instanceof OutpostStreamError) process.stderr.write("\r\n");
        throw error;
      }
    }
    stream.close();
    await Promise.race([pump, new Promise((r) => setTimeout(r, 200))]);
    if (detached) process.stderr.write("\r\noutpost: detached\r\n");
    return 0;
  } finally {
    restore();
    process.off("exit", restore);
    stdin.off("data", onData);
    stdin.pause();
    stdin.destroy();
  }
}

export async function vmLogs(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      host: { type: "string" },
      cluster: { type: "string" },
      follow: { type: "boolean", short: "f", default: false },
      lines: { type: "string", short: "n" },
      json: { type: "boolean", default: false },
    },
    vmConsoleHelp,
  );
  if (positionals.length !== 1) throw new UsageError("expected <vm>", vmConsoleHelp);
  const vm = positionals[0]!;
  const host = await vmHost(ctx, vm, values);
  let lines: number | undefined;
  if (values.lines !== undefined) {
    lines = Number(values.lines);
    if (!/^\d+$/.test(values.lines) || lines > 100_000)
      throw new UsageError(`-n '${values.lines}' is not a number of lines 0-100000`, vmConsoleHelp);
  }
  const stream = ctx.client().vmLogs(host, vm, {
    ...(lines !== undefined ? { lines } : {}),
    ...(values.follow ? { follow: true } : {}),
  });
  let interrupted = false;
  const stop = () => {
    interrupted = true;
    stream.close();
  };
  process.on("SIGINT", stop);
  try {
    await stream.session;
    if (values.json) {
      const items: Array<{ vm: string; host: string; line: string }> = [];
      const decoder = new TextDecoder();
      let rest = "";
      const take = (line: string) => {
        const item = { vm, host, line: line.replace(/\r$/, "") };
        if (values.follow) ctx.io.out(jsonLine(item));
        else items.push(item);
      };
      const reading = (async () => {
        for await (const chunk of stream.output as unknown as AsyncIterable<Uint8Array>) {
          rest += decoder.decode(chunk, { stream: true });
          const parts = rest.split("\n");
          rest = parts.pop() ?? "";
          for (const line of parts) take(line);
        }
        if (rest) take(rest);
      })();
      await Promise.all([reading, stream.ended]);
      if (!values.follow) json(ctx.io, { items, nextCursor: null });
      return 0;
    }
    const pump = (async () => {
      for await (const chunk of stream.output as unknown as AsyncIterable<Uint8Array>) {
        if (!process.stdout.write(chunk)) await once(process.stdout, "drain");
      }
    })();
    await Promise.all([pump, stream.ended]);
    return 0;
  } catch (error) {
    if (interrupted) return 0; // Ctrl-C is how -f ends
    throw error;
  } finally {
    process.off("SIGINT", stop);
  }
}
