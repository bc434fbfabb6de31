// `outpost vm create|ls|show|start|stop|restart|rm|wait|pause|resume|snapshot|restore`: microVMs on
// hosts (worker/routes/vms.ts), through the SDK (sdk/vm/vms.ts). `<vm>` is a VM's name; --cluster picks
// one when the name is in several clusters.
import { readFileSync } from "node:fs";
import { parseDuration, SERVICE_NAME_PATTERN, SERVICE_NAME_RULE } from "../../../schema/names.ts";
import {
  createVm,
  listVms,
  removeVm,
  removeVmSnapshot,
  restoreVm,
  showVm,
  snapshotVm,
  type VmState,
  type VmView,
  vmAction,
  waitForVm,
  waitForVmAction,
} from "../../vm/index.ts";
import { type Context, JSON_OPTION, listing, parse } from "../command.ts";
import { json, table } from "../output.ts";
import { UsageError } from "../usage-error.ts";

export const vmLifecycleHelp = `usage: outpost vm create <host>.<cluster> <name> --image <img> [--cpus N] [--memory 256M]
                 [--disk 2G] [--port P]… [--user-data FILE] [--driver D] [--no-wait] [--json]
       outpost vm ls [--host H] [--cluster C] [--json]
       outpost vm show <vm> [--cluster C] [--json]
       outpost vm start|restart|pause|resume|rm <vm> [--cluster C] [--json]
       outpost vm stop <vm> [--timeout 30s] [--cluster C] [--json]
       outpost vm wait <vm> --state S [--timeout 2m] [--cluster C] [--json]
       outpost vm snapshot <vm> [--name S] [--cluster C] [--json]
       outpost vm snapshot ls <vm> [--cluster C] [--json]
       outpost vm snapshot rm <vm> <S> [--cluster C] [--json]
       outpost vm restore <vm> <S> [--cluster C] [--json]

A VM runs on one host, booted from a VM image (outpost vm image push), with its own copy-on-write
disk. Its states are Fly Machines': created, starting, started, stopping, stopped, failed,
destroyed (and paused). create waits until it started (--no-wait returns at once); each --port P
forwards guest port P as the host service <name>-P (outpost forward <host>.<cluster>:<name>-P).
--user-data FILE is NoCloud user-data (at most 16 KiB). --driver: qemu, firecracker or
cloud-hypervisor (default: the host's first available). stop asks the guest to power off
(Ctrl-Alt-Del / ACPI) and kills it after --timeout. Snapshots save memory and disk; restore puts
the VM back where the snapshot was. Exit 0 done, 1 refused or failed, 2 usage.`;

const CLUSTER = { cluster: { type: "string" } } as const;

/** `256M`, `2G`, `512` (MiB) → MiB. */
function _mib(text: string, flag: string): number {
  const m = /^(\d{1,7})([MG]i?B?)?$/i.exec(text.trim());
  if (!m) throw new UsageError(`--${flag} '${text}' is not a size like 256M or 2G`, vmLifecycleHelp);
  const n = Number(m[1]);
  return m[2]?.[0]?.toUpperCase() === "G" ? n * 1024 : n;
}

function _duration(text: string | undefined, fallback: number, flag: string): number {
  if (text === undefined) return fallback;
  const ms = parseDuration(text);
  if (ms === null)
    throw new UsageError(`--${flag} '${text}' is not a duration like 30s or 2m`, vmLifecycleHelp);
  return ms;
}

function _one(positionals: string[], what = "<vm>"): string {
  if (positionals.length !== 1) throw new UsageError(`expected ${what}`, vmLifecycleHelp);
  const name = positionals[0]!;
  if (!SERVICE_NAME_PATTERN.test(name))
    throw new UsageError(`VM name '${name}' must be ${SERVICE_NAME_RULE}`, vmLifecycleHelp);
  return name;
}

const _mem = (mib: number) => (mib % 1024 === 0 ? `${mib / 1024}G` : `${mib}M`);

function _row(vm: VmView): string[] {
  return [
    vm.name,
    vm.host,
    vm.image,
    vm.desired === "absent" ? "destroying" : vm.state,
    String(vm.cpus),
    _mem(vm.memory),
    vm.ports.join(",") || "-",
    vm.createdAt,
  ];
}

function _describe(ctx: Context, vm: VmView): void {
  const lines: [string, string][] = [
    ["name", vm.name],
    ["host", vm.host],
    ["image", `${vm.image} (sha256:${vm.imageSha256.slice(0, 12)})`],
    ["state", `${vm.state}${vm.desired !== "running" ? ` (desired ${vm.desired})` : ""}`],
    ["driver", vm.driver ?? "the host's first available"],
    ["cpus", String(vm.cpus)],
    ["memory", _mem(vm.memory)],
    ["disk", vm.disk ? _mem(vm.disk) : "the image's size"],
    ["ports", vm.ports.length ? vm.ports.map((p) => `${p} (service ${vm.name}-${p})`).join(", ") : "none"],
    ["address", vm.address ?? "user-mode networking (ports on the host's loopback)"],
    ["snapshots", vm.snapshots.map((s) => s.name).join(", ") || "none"],
    ["message", vm.message ?? "-"],
    ["created", `${vm.createdAt} by ${vm.by.name}`],
  ];
  for (const [k, v] of lines) ctx.io.out(`${k.padEnd(10)} ${v}`);
}

async function create(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      ...JSON_OPTION,
      image: { type: "string" },
      cpus: { type: "string" },
      memory: { type: "string" },
      disk: { type: "string" },
      port: { type: "string", multiple: true },
      "user-data": { type: "string" },
      driver: { type: "string" },
      "no-wait": { type: "boolean", default: false },
      timeout: { type: "string" },
    },
    vmLifecycleHelp,
  );
  if (positionals.length !== 2) throw new UsageError("expected <host>.<cluster> <name>", vmLifecycleHelp);
  const [host, name] = positionals as [string, string];
  if (!values.image) throw new UsageError("--image <img> is required", vmLifecycleHelp);
  const ports = (values.port ?? []).map((p) => {
    if (!/^\d{1,5}$/.test(p) || Number(p) < 1 || Number(p) > 65535)
      throw new UsageError(`--port '${p}' is not a TCP port`, vmLifecycleHelp);
    return Number(p);
  });
  let userData: string | undefined;
  if (values["user-data"]) {
    try {
      userData = readFileSync(values["user-data"]).toString("base64");
    } catch (error) {
      ctx.io.err(`outpost: cannot read --user-data ${values["user-data"]}: ${(error as Error).message}`);
      return 1;
    }
  }
  if (values.cpus !== undefined && !/^\d{1,3}$/.test(values.cpus))
    throw new UsageError(`--cpus '${values.cpus}' is not a number`, vmLifecycleHelp);
  const client = ctx.client();
  const created = await createVm(client, {
    host,
    name,
    image: values.image,
    ...(values.cpus !== undefined ? { cpus: Number(values.cpus) } : {}),
    ...(values.memory !== undefined ? { memory: _mib(values.memory, "memory") } : {}),
    ...(values.disk !== undefined ? { disk: _mib(values.disk, "disk") } : {}),
    ports,
    ...(userData !== undefined ? { userData } : {}),
    ...(values.driver !== undefined ? { driver: values.driver as "qemu" } : {}),
  });
  let vm: VmView | null = created.vm;
  if (!values["no-wait"]) {
    try {
      vm = await waitForVm(client, name, "started", {
        cluster: vm.cluster,
        timeoutMs: _duration(values.timeout, 120_000, "timeout"),
      });
    } catch (error) {
      ctx.io.err(`outpost: ${(error as Error).message}`);
      return 1;
    }
  }
  if (values.json) return json(ctx.io, { vm });
  ctx.io.out(`VM ${name} on ${host} is ${vm?.state ?? "created"}`);
  for (const p of ports) ctx.io.out(`  port ${p}: outpost forward ${host}:${name}-${p}`);
  return 0;
}

async function ls(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { ...JSON_OPTION, host: { type: "string" }, ...CLUSTER },
    vmLifecycleHelp,
  );
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, vmLifecycleHelp);
  const client = ctx.client();
  const items: VmView[] = [];
  let cursor: string | undefined;
  // Every page, bounded: 100 pages of 500 is more VMs than a tenant may have.
  for (let page = 0; page < 100; page++) {
    const res = await listVms(client, {
      ...(values.host ? { host: values.host } : {}),
      ...(values.cluster ? { cluster: values.cluster } : {}),
      ...(cursor ? { cursor } : {}),
      limit: "500",
    });
    items.push(...res.items);
    if (!res.nextCursor) break;
    cursor = res.nextCursor;
  }
  if (values.json) return json(ctx.io, listing(items));
  table(ctx.io, ["NAME", "HOST", "IMAGE", "STATE", "CPUS", "MEMORY", "PORTS", "CREATED"], items.map(_row));
  return 0;
}

async function show(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...JSON_OPTION, ...CLUSTER }, vmLifecycleHelp);
  const { vm } = await showVm(ctx.client(), _one(positionals), values.cluster);
  if (values.json) return json(ctx.io, { vm });
  _describe(ctx, vm);
  return 0;
}

/** The state each verb leads to, which it waits for. */
const GOAL: Record<string, VmState> = {
  start: "started",
  stop: "stopped",
  restart: "started",
  pause: "paused",
  resume: "started",
};

function verb(op: "start" | "stop" | "restart" | "pause" | "resume") {
  return async (ctx: Context, args: string[]): Promise<number> => {
    const { values, positionals } = parse(
      args,
      {
        ...JSON_OPTION,
        ...CLUSTER,
        timeout: { type: "string" },
        "no-wait": { type: "boolean", default: false },
      },
      vmLifecycleHelp,
    );
    const name = _one(positionals);
    if (values.timeout !== undefined && op !== "stop")
      throw new UsageError("--timeout is for stop only", vmLifecycleHelp);
    const timeoutMs = _duration(values.timeout, 30_000, "timeout");
    const client = ctx.client();
    const res = await vmAction(client, name, op, {
      ...(values.cluster ? { cluster: values.cluster } : {}),
      ...(op === "stop" ? { timeoutMs } : {}),
    });
    const cluster = res.vm.cluster;
    let result: { ok: boolean; message?: string } | undefined;
    let vm: VmView | null = res.vm;
    try {
      if (res.action) result = await waitForVmAction(client, name, res.action.id, { cluster });
      if (result?.ok !== false && !values["no-wait"])
        vm = await waitForVm(client, name, GOAL[op]!, { cluster, timeoutMs: timeoutMs + 120_000 });
    } catch (error) {
      ctx.io.err(`outpost: ${(error as Error).message}`);
      return 1;
    }
    if (values.json) return json(ctx.io, { vm, ...(result ? { result } : {}) });
    if (result?.ok === false) {
      ctx.io.err(`outpost: ${op} of ${name} failed: ${result.message ?? "no reason given"}`);
      return 1;
    }
    ctx.io.out(`VM ${name} is ${vm?.state}`);
    return 0;
  };
}

async function rm(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { ...JSON_OPTION, ...CLUSTER, "no-wait": { type: "boolean", default: false } },
    vmLifecycleHelp,
  );
  const name = _one(positionals);
  const client = ctx.client();
  const res = await removeVm(client, name, values.cluster);
  if (res.vm && !values["no-wait"]) {
    try {
      await waitForVm(client, name, "destroyed", { cluster: res.vm.cluster, timeoutMs: 120_000 });
    } catch (error) {
      ctx.io.err(`outpost: ${(error as Error).message}`);
      return 1;
    }
  }
  if (values.json) return json(ctx.io, res.removed);
  ctx.io.out(`VM ${name} on ${res.removed.host} removed (its disk is gone; the image stays)`);
  return 0;
}

async function wait(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { ...JSON_OPTION, ...CLUSTER, state: { type: "string" }, timeout: { type: "string" } },
    vmLifecycleHelp,
  );
  const name = _one(positionals);
  const states = ["created", "starting", "started", "paused", "stopping", "stopped", "failed", "destroyed"];
  if (!values.state || !states.includes(values.state))
    throw new UsageError(`--state must be one of ${states.join(", ")}`, vmLifecycleHelp);
  try {
    const vm = await waitForVm(ctx.client(), name, values.state as VmState, {
      ...(values.cluster ? { cluster: values.cluster } : {}),
      timeoutMs: _duration(values.timeout, 120_000, "timeout"),
    });
    if (values.json) return json(ctx.io, { vm });
    ctx.io.out(`VM ${name} is ${values.state}`);
    return 0;
  } catch (error) {
    ctx.io.err(`outpost: ${(error as Error).message}`);
    return 1;
  }
}

async function _applied(
  ctx: Context,
  name: string,
  cluster: string,
  action: { id: string },
  asJson: boolean,
  done: string,
): Promise<number> {
  let result: { ok: boolean; message?: string };
  try {
    result = await waitForVmAction(ctx.client(), name, action.id, { cluster });
  } catch (error) {
    ctx.io.err(`outpost: ${(error as Error).message}`);
    return 1;
  }
  if (asJson) {
    json(ctx.io, { result, vm: (await showVm(ctx.client(), name, cluster)).vm });
    return result.ok ? 0 : 1;
  }
  if (!result.ok) {
    ctx.io.err(`outpost: ${result.message ?? "the agent refused it"}`);
    return 1;
  }
  ctx.io.out(done);
  return 0;
}

async function snapshot(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { ...JSON_OPTION, ...CLUSTER, name: { type: "string" } },
    vmLifecycleHelp,
  );
  const client = ctx.client();
  if (positionals[0] === "ls") {
    const { vm } = await showVm(client, _one(positionals.slice(1)), values.cluster);
    if (values.json) return json(ctx.io, listing(vm.snapshots));
    table(
      ctx.io,
      ["NAME", "TAKEN"],
      vm.snapshots.map((s) => [s.name, s.at]),
    );
    return 0;
  }
  if (positionals[0] === "rm") {
    if (positionals.length !== 3) throw new UsageError("expected snapshot rm <vm> <S>", vmLifecycleHelp);
    const name = _one(positionals.slice(1, 2));
    const res = await removeVmSnapshot(client, name, positionals[2]!, values.cluster);
    return _applied(
      ctx,
      name,
      res.vm.cluster,
      res.action,
      values.json,
      `snapshot ${positionals[2]} of ${name} removed`,
    );
  }
  const name = _one(positionals);
  const res = await snapshotVm(client, name, {
    ...(values.name ? { snapshot: values.name } : {}),
    ...(values.cluster ? { cluster: values.cluster } : {}),
  });
  return _applied(
    ctx,
    name,
    res.vm.cluster,
    res.action,
    values.json,
    `snapshot ${res.action.arg} of ${name} taken`,
  );
}

async function restore(ctx: Context, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...JSON_OPTION, ...CLUSTER }, vmLifecycleHelp);
  if (positionals.length !== 2) throw new UsageError("expected <vm> <S>", vmLifecycleHelp);
  const name = _one(positionals.slice(0, 1));
  const res = await restoreVm(ctx.client(), name, positionals[1]!, values.cluster);
  return _applied(
    ctx,
    name,
    res.vm.cluster,
    res.action,
    values.json,
    `${name} is back at snapshot ${positionals[1]}`,
  );
}

export const vmLifecycle = {
  create,
  ls,
  show,
  start: verb("start"),
  stop: verb("stop"),
  restart: verb("restart"),
  pause: verb("pause"),
  resume: verb("resume"),
  rm,
  wait,
  snapshot,
  restore,
};
