// FAKE Firecracker and Cloud Hypervisor API servers, for the drivers' tests: neither monitor runs
// without KVM, which this machine lacks. Each fake checks EVERY request against the project's own
// published API spec (test/specs/firecracker.yaml, Swagger 2.0, firecracker-microvm/firecracker
// src/firecracker/swagger/firecracker.yaml; test/specs/cloud-hypervisor.yaml, OpenAPI 3,
// cloud-hypervisor/cloud-hypervisor vmm/src/api/openapi/cloud-hypervisor.yaml; both Apache-2.0):
// the path and method must exist, the JSON body must validate against the operation's schema (ajv),
// path ids must match the body's. A request that fails is answered 400 as the monitor would and is
// logged as invalid; answers are checked against the spec's response schemas too. On top, each fake
// keeps the lifecycle rules the specs describe (pre-boot-only resources, snapshot only when paused,
// load only before boot) and plays a guest: it writes the marker to the serial file at boot and
// exits a moment after Ctrl-Alt-Del / the power button.
//
//   fake-vmm.ts firecracker --api-sock <path> [--id X] | fake-vmm.ts cloud-hypervisor --api-socket path=<path>
//   fake-vmm.ts <kind> --version
//
// Every request is appended to `<socket>.requests.jsonl`: { method, path, valid, errors?, status, body }.
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import { Ajv, type ValidateFunction } from "ajv";
import { parse } from "yaml";

type Kind = "firecracker" | "cloud-hypervisor";
const kind = process.argv[2] as Kind;
const args = process.argv.slice(3);
const SPEC_FILES: Record<Kind, string> = {
  firecracker: "../specs/firecracker.yaml",
  "cloud-hypervisor": "../specs/cloud-hypervisor.yaml",
};

if (args.includes("--version")) {
  console.log(kind === "firecracker" ? "Firecracker v1.17.0-fake" : "cloud-hypervisor v48.0.0-fake");
  process.exit(0);
}

// ## The spec

// biome-ignore lint/suspicious/noExplicitAny: a parsed YAML document, walked by its published shape
const spec: any = parse(readFileSync(fileURLToPath(new URL(SPEC_FILES[kind], import.meta.url)), "utf8"));
const swagger = kind === "firecracker";
const base = swagger ? "" : new URL(spec.servers[0].url).pathname; // "/api/v1"
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
ajv.addSchema({ ...spec, $id: "spec" });
const validators = new Map<string, ValidateFunction>();

function validator(schema: { $ref?: string } | undefined): ValidateFunction | undefined {
  if (!schema) return undefined;
  const ref = schema.$ref ? `spec${schema.$ref}` : undefined;
  const key = ref ?? JSON.stringify(schema);
  if (!validators.has(key)) validators.set(key, ajv.compile(ref ? { $ref: ref } : schema));
  return validators.get(key);
}

interface Operation {
  params: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: the spec's operation object
  op: any;
}

function findOperation(method: string, path: string): Operation | undefined {
  for (const [template, item] of Object.entries(spec.paths as Record<string, Record<string, unknown>>)) {
    const names: string[] = [];
    const pattern = new RegExp(
      `^${base}${template.replace(/[.]/g, "\\.").replace(/\{([^}]+)\}/g, (_, n) => {
        names.push(n);
        return "([^/]+)";
      })}$`,
    );
    const m = pattern.exec(path);
    if (m && item[method.toLowerCase()]) {
      return {
        params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)])),
        op: item[method.toLowerCase()],
      };
    }
  }
  return undefined;
}

function bodySchema(op: Operation["op"]): { schema?: { $ref?: string }; required: boolean } {
  if (swagger) {
    const p = (op.parameters ?? []).find((x: { in: string }) => x.in === "body");
    return { schema: p?.schema, required: Boolean(p?.required) };
  }
  return {
    schema: op.requestBody?.content?.["application/json"]?.schema,
    required: Boolean(op.requestBody?.required),
  };
}

function responseSchema(op: Operation["op"], status: number): { $ref?: string } | undefined {
  const r = op.responses?.[status] ?? op.responses?.[String(status)];
  return swagger ? r?.schema : r?.content?.["application/json"]?.schema;
}

// ## The monitor's state, and its guest

const socketPath = swagger
  ? args[args.indexOf("--api-sock") + 1]!
  : (args[args.indexOf("--api-socket") + 1] ?? "").replace(/^path=/, "");
const log = `${socketPath}.requests.jsonl`;
// biome-ignore lint/suspicious/noExplicitAny: request bodies, already validated against the spec
const config: Record<string, any> = {};
let state = swagger ? "Not started" : "None";
let serialFile: string | undefined;

function guestBoots(cmdline: string): void {
  const name = /outpost\.name=([a-z0-9-]+)/.exec(cmdline)?.[1] ?? "vm";
  if (serialFile) appendFileSync(serialFile, `fake guest booting\nOUTPOST-VM-READY ${name}\n`);
}

function guestPowersOff(): void {
  if (serialFile) appendFileSync(serialFile, "OUTPOST-VM-POWEROFF\n");
  setTimeout(() => process.exit(0), 200);
}

type Answer = [number, unknown?];
const refuse = (why: string): Answer => [400, { fault_message: why }];

// biome-ignore lint/suspicious/noExplicitAny: validated bodies
function firecracker(method: string, path: string, body: any): Answer {
  const preBoot =
    ["/boot-source", "/machine-config", "/logger", "/serial"].includes(path) ||
    path.startsWith("/drives/") ||
    path.startsWith("/network-interfaces/");
  if (method === "PUT" && preBoot) {
    if (state !== "Not started")
      return refuse("The requested operation is not supported after starting the microVM.");
    config[path] = body;
    if (path === "/serial") serialFile = body.serial_out_path;
    return [204];
  }
  if (method === "GET" && path === "/")
    return [200, { app_name: "Firecracker", id: "vm", state, vmm_version: "1.17.0" }];
  if (method === "PUT" && path === "/actions") {
    if (body.action_type === "InstanceStart") {
      if (state !== "Not started") return refuse("The microVM is already running.");
      if (!config["/boot-source"]) return refuse("Cannot start microvm without kernel configuration.");
      state = "Running";
      guestBoots(config["/boot-source"].boot_args ?? "");
      return [204];
    }
    if (body.action_type === "SendCtrlAltDel") {
      if (state !== "Running") return refuse("The microVM is not running.");
      guestPowersOff();
      return [204];
    }
    return [204];
  }
  if (method === "PATCH" && path === "/vm") {
    if (state === "Not started") return refuse("The microVM is not running.");
    state = body.state === "Paused" ? "Paused" : "Running";
    return [204];
  }
  if (method === "PUT" && path === "/snapshot/create") {
    if (state !== "Paused") return refuse("Cannot create a snapshot of a microVM that is not paused.");
    writeFileSync(body.snapshot_path, JSON.stringify({ config, fake: "firecracker snapshot" }));
    writeFileSync(body.mem_file_path, "fake guest memory");
    return [204];
  }
  if (method === "PUT" && path === "/snapshot/load") {
    if (state !== "Not started" || config["/boot-source"])
      return refuse("Loading a snapshot is not allowed after configuring boot-specific resources.");
    const saved = JSON.parse(readFileSync(body.snapshot_path, "utf8"));
    readFileSync(body.mem_backend.backend_path);
    Object.assign(config, saved.config);
    serialFile = config["/serial"]?.serial_out_path;
    state = body.resume_vm ? "Running" : "Paused";
    if (serialFile) appendFileSync(serialFile, "fake guest restored\n");
    return [204];
  }
  return refuse(`The fake has no behaviour for ${method} ${path}, which the spec allows`);
}

// biome-ignore lint/suspicious/noExplicitAny: validated bodies
function cloudHypervisor(method: string, action: string, body: any): Answer {
  switch (`${method} ${action}`) {
    case "GET vmm.ping":
      return [200, { version: "48.0.0" }];
    case "GET vm.info":
      if (state === "None") return [404];
      return [200, { config: config.vm, state }];
    case "PUT vm.create":
      if (state !== "None") return [400];
      config.vm = body;
      serialFile = body.serial?.mode === "File" ? body.serial.file : undefined;
      state = "Created";
      return [204];
    case "PUT vm.boot":
      if (state !== "Created") return [404];
      state = "Running";
      guestBoots(config.vm.payload.cmdline ?? "");
      return [204];
    case "PUT vm.pause":
      if (state !== "Running") return [405];
      state = "Paused";
      return [204];
    case "PUT vm.resume":
      if (state !== "Paused") return [405];
      state = "Running";
      return [204];
    case "PUT vm.power-button":
      if (state !== "Running") return [500];
      guestPowersOff();
      return [204];
    case "PUT vm.snapshot": {
      if (state !== "Paused") return [405];
      const dir = new URL(body.destination_url).pathname;
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/config.json`, JSON.stringify(config.vm));
      writeFileSync(`${dir}/state.json`, '{"fake":"cloud-hypervisor snapshot"}');
      return [204];
    }
    case "PUT vm.delete":
      state = "None";
      delete config.vm;
      return [204];
    case "PUT vm.restore": {
      if (state !== "None") return [404];
      const dir = new URL(body.source_url).pathname;
      config.vm = JSON.parse(readFileSync(`${dir}/config.json`, "utf8"));
      serialFile = config.vm.serial?.file;
      state = body.resume ? "Running" : "Paused";
      return [204];
    }
    case "PUT vmm.shutdown":
      setTimeout(() => process.exit(0), 50);
      return [204];
    default:
      return [400, `The fake has no behaviour for ${method} ${action}, which the spec allows`];
  }
}

// ## The server

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? "GET";
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  const errors: string[] = [];
  let body: unknown;
  const found = findOperation(method, path);
  if (!found) errors.push(`${method} ${path} is not in the spec`);
  else {
    const { schema, required } = bodySchema(found.op);
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        errors.push("the body is not JSON");
      }
      const check = validator(schema);
      if (!schema) errors.push("the spec gives this operation no body");
      else if (check && !check(body))
        errors.push(...(check.errors ?? []).map((e) => `body${e.instancePath} ${e.message}`));
    } else if (required) errors.push("the spec requires a body");
    for (const [name, value] of Object.entries(found.params)) {
      const field = (body as Record<string, unknown> | undefined)?.[name.replace(/^id$/, "id")];
      if (field !== undefined && field !== value)
        errors.push(`path ${name} ${value} differs from the body's ${String(field)}`);
    }
  }
  let answer: Answer;
  if (errors.length) answer = refuse(`Invalid request: ${errors.join("; ")}`);
  else if (swagger) answer = firecracker(method, path, body);
  else answer = cloudHypervisor(method, path.slice(base.length + 1), body);
  const [status, out] = answer;
  const check = found && status < 300 ? validator(responseSchema(found.op, status)) : undefined;
  if (check && !check(out))
    errors.push(`the fake's own answer breaks the spec: ${ajv.errorsText(check.errors)}`);
  appendFileSync(
    log,
    `${JSON.stringify({ method, path, valid: errors.length === 0, ...(errors.length ? { errors } : {}), status, body })}\n`,
  );
  const payload = out === undefined ? "" : typeof out === "string" ? out : JSON.stringify(out);
  res.writeHead(
    status,
    payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {},
  );
  res.end(payload);
}

rmSync(socketPath, { force: true });
createServer((req, res) => {
  handle(req, res).catch((error) => {
    res.writeHead(500);
    res.end(String(error));
  });
}).listen(socketPath);
process.on("SIGTERM", () => process.exit(0));
