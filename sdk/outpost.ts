// `Outpost`: the SDK's front door — one method per operation, typed end to end from the Worker routes.
import type { ClientResponse, InferRequestType } from "hono/client";
import { type ExecSpec, encodeExecSpec } from "../schema/protocol/exec-spec.ts";
import { DEFAULT_STREAM_CREDIT } from "../schema/protocol/limits.ts";
import type { PtySpec } from "../schema/protocol/pty-spec.ts";
import { type Api, type Body, type ClientOptions, createApi, unwrap } from "./client.ts";
import { openConsole } from "./streams/console.ts";
import { type ExecResult, type ExecStream, openExec } from "./streams/exec.ts";
import { type FanoutStream, openFanout } from "./streams/fanout.ts";
import { type LogsOptions, type LogsStream, openLogs } from "./streams/logs.ts";
import { openPty, type PtyStream } from "./streams/pty.ts";
import { collect } from "./streams/socket.ts";
import { openTcp, type TcpStream } from "./streams/tcp.ts";

type SessionKind = NonNullable<InferRequestType<Api["v1"]["sessions"]["$get"]>["query"]["kind"]>;
type HostFilters = InferRequestType<Api["v1"]["hosts"]["$get"]>["query"];
type KeyCreate = InferRequestType<Api["v1"]["keys"]["$post"]>["json"];
type TokenCreate = InferRequestType<Api["v1"]["tokens"]["$post"]>["json"];
type JobCreate = InferRequestType<Api["v1"]["jobs"]["$post"]>["json"];

export class Outpost {
  readonly url: string;
  readonly api: Api;
  readonly #token: string;

  constructor(opts: ClientOptions) {
    this.url = opts.url.replace(/\/+$/, "");
    this.api = createApi(opts);
    this.#token = opts.token;
  }

  /**
   * Runs argv on a host (`web01.prod` or a host id) and streams: stdout/stderr to read, stdin to write,
   * `exited` for the exit code. No shell is involved unless argv runs one.
   */
  execStream(host: string, argv: string[], opts: Omit<ExecSpec, "argv"> = {}): ExecStream {
    const wsUrl = this.api.v1.hosts[":host"].exec.$url({ param: { host } }).toString().replace(/^http/, "ws");
    return openExec({ wsUrl, token: this.#token, spec: { ...opts, argv } });
  }

  /**
   * An app's captured stdout and stderr, streamed from the agent of the host it runs on: the last
   * `lines` lines, then (with `follow`) new output until closed. Needs the operator role.
   */
  logs(app: string, opts: LogsOptions = {}): LogsStream {
    const { host, lines, follow, since, credit } = opts;
    const query = {
      ...(host ? { host } : {}),
      ...(lines !== undefined ? { lines: String(lines) } : {}),
      ...(follow ? { follow: "true" as const } : {}),
      ...(since !== undefined ? { since: since instanceof Date ? since.toISOString() : since } : {}),
    };
    const wsUrl = this.api.v1.apps[":app"].logs
      .$url({ param: { app }, query })
      .toString()
      .replace(/^http/, "ws");
    return openLogs({ wsUrl, token: this.#token, ...(credit ? { credit } : {}) });
  }

  /**
   * A terminal on a host: its login shell, or `spec.argv`, on a pseudo-terminal of `cols` × `rows`.
   * Needs the operator role; the host's exec policy applies to what it runs.
   */
  ptyStream(host: string, spec: PtySpec): PtyStream {
    const wsUrl = this.api.v1.hosts[":host"].pty.$url({ param: { host } }).toString().replace(/^http/, "ws");
    return openPty({ wsUrl, token: this.#token, spec });
  }

  /**
   * VM `vm`'s serial console on `host` (`<host>.<cluster>`): live output, and input when this stream
   * gets the writer's seat (`mode: "read"` never asks for it; `attached` says what it got). Needs the
   * operator role.
   */
  vmConsole(
    host: string,
    vm: string,
    opts: { mode?: "write" | "read"; lines?: number; credit?: number } = {},
  ) {
    const query = {
      ...(opts.mode ? { mode: opts.mode } : {}),
      ...(opts.lines !== undefined ? { lines: String(opts.lines) } : {}),
    };
    const wsUrl = this.api.v1.hosts[":host"].vms[":vm"].console
      .$url({ param: { host, vm }, query })
      .toString()
      .replace(/^http/, "ws");
    return openConsole({ wsUrl, token: this.#token, ...(opts.credit ? { credit: opts.credit } : {}) });
  }

  /**
   * What VM `vm`'s console printed (the history its host keeps, size-bounded): the last `lines` lines
   * (100 by default), then, with `follow`, what it prints next. The viewer role may read it.
   */
  vmLogs(host: string, vm: string, opts: { lines?: number; follow?: boolean; credit?: number } = {}) {
    const query = {
      ...(opts.lines !== undefined ? { lines: String(opts.lines) } : {}),
      ...(opts.follow ? { follow: "true" as const } : {}),
    };
    const wsUrl = this.api.v1.hosts[":host"].vms[":vm"].logs
      .$url({ param: { host, vm }, query })
      .toString()
      .replace(/^http/, "ws");
    return openConsole({ wsUrl, token: this.#token, ...(opts.credit ? { credit: opts.credit } : {}) });
  }

  /** A pty session's recording, asciicast v2 text (operator role); ApiError 404 when there is none. */
  async recording(session: string): Promise<string> {
    const res = await this.api.v1.sessions[":id"].recording.$get({ param: { id: session } });
    if (!res.ok) await unwrap(this.url, Promise.resolve(res));
    return res.text();
  }

  readonly settings = {
    recording: () => this.#call(this.api.v1.settings.recording.$get()),
    /** Turns the tenant's session recording on or off (admin role). */
    setRecording: (enabled: boolean) =>
      this.#call(this.api.v1.settings.recording.$put({ json: { enabled } })),
  };

  /**
   * Runs argv on every host of `cluster` that `selector` (schema/selectors.ts) chooses, server-side in
   * the ClusterDO over one connection: events per host (started, stdout, stderr, exit, failed) then
   * `done`. A selector matching no host throws OutpostApiError 404 `no_hosts` from `events`.
   */
  fanout(
    cluster: string,
    argv: string[],
    opts: Omit<ExecSpec, "argv" | "credit"> & { selector?: string; site?: string; maxParallel?: number } = {},
  ): FanoutStream {
    const { selector, site, maxParallel, ...spec } = opts;
    const query = {
      spec: encodeExecSpec({ ...spec, argv }),
      ...(selector ? { selector } : {}),
      ...(site ? { site } : {}),
      ...(maxParallel ? { maxParallel: String(maxParallel) } : {}),
    };
    const url = this.api.v1.clusters[":cluster"].exec.$url({ param: { cluster }, query });
    return openFanout(new URL(url.toString().replace(/^http/, "ws")), this.#token);
  }

  /**
   * A TCP stream to `target` on a host: a service name the host knows, or a port on its loopback when
   * the host allows that. The host's own policy decides; a refusal rejects `opened` with the reason.
   */
  tcpStream(host: string, target: string | number, opts: { credit?: number } = {}): TcpStream {
    const query = { target: String(target), credit: String(opts.credit ?? DEFAULT_STREAM_CREDIT) };
    const url = this.api.v1.hosts[":host"].tcp.$url({ param: { host }, query });
    return openTcp(new URL(url.toString().replace(/^http/, "ws")), this.#token);
  }

  /** Runs argv on a host and collects its output (at most `maxBuffer` bytes each, default 64 MiB). */
  async exec(
    host: string,
    argv: string[],
    opts: Omit<ExecSpec, "argv"> & { stdin?: Uint8Array | string; maxBuffer?: number } = {},
  ): Promise<ExecResult & { stdout: Uint8Array; stderr: Uint8Array }> {
    const { stdin, maxBuffer = 64 * 1024 * 1024, ...spec } = opts;
    const stream = this.execStream(host, argv, spec);
    const writer = stream.stdin.getWriter();
    const input = (async () => {
      if (stdin !== undefined)
        await writer.write(typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin);
      await writer.close();
    })();
    const [stdout, stderr, result] = await Promise.all([
      collect(stream.stdout, maxBuffer),
      collect(stream.stderr, maxBuffer),
      stream.exited,
      input.catch(() => {}),
    ]);
    return { ...result, stdout, stderr };
  }

  /**
   * Sessions, newest first, with `host` as `<host>.<cluster>` and `by` naming who opened it. `since`:
   * an ISO 8601 time or a duration back from now (`10m`); `cursor`: a page's `nextCursor`.
   */
  sessions(
    query: { host?: string; kind?: SessionKind; since?: string; limit?: number; cursor?: string } = {},
  ) {
    return this.#call(
      this.api.v1.sessions.$get({
        query: {
          ...(query.host ? { host: query.host } : {}),
          ...(query.kind ? { kind: query.kind } : {}),
          ...(query.since ? { since: query.since } : {}),
          ...(query.limit ? { limit: String(query.limit) } : {}),
          ...(query.cursor ? { cursor: String(query.cursor) } : {}),
        },
      }),
    );
  }

  // biome-ignore lint/suspicious/noExplicitAny: any typed response; unwrap narrows it to its body
  #call<R extends ClientResponse<any, any, any>>(pending: Promise<R>): Promise<Body<R>> {
    return unwrap(this.url, pending);
  }

  /** The presented key: its tenant, name, role and expiry. */
  whoami() {
    return this.#call(this.api.v1.whoami.$get());
  }

  health() {
    return this.#call(this.api.healthz.$get());
  }

  readonly tenants = {
    create: (name: string) => this.#call(this.api.v1.tenants.$post({ json: { name } })),
    list: () => this.#call(this.api.v1.tenants.$get()),
  };

  /** Platform admin: domains granted to tenants, within which their exposures may take hostnames. */
  readonly tenantDomains = {
    add: (tenant: string, domain: string) =>
      this.#call(this.api.v1["tenant-domains"].$post({ json: { tenant, domain } })),
    list: (tenant?: string) =>
      this.#call(this.api.v1["tenant-domains"].$get({ query: tenant ? { tenant } : {} })),
    /** Refused while exposures use the domain, unless `force`, which takes their hostnames off them. */
    remove: (tenant: string, domain: string, opts: { force?: boolean } = {}) =>
      this.#call(
        this.api.v1["tenant-domains"][":domain"].$delete({
          param: { domain },
          query: { tenant, ...(opts.force ? { force: "true" as const } : {}) },
        }),
      ),
  };

  readonly keys = {
    create: (json: KeyCreate) => this.#call(this.api.v1.keys.$post({ json })),
    list: () => this.#call(this.api.v1.keys.$get()),
    revoke: (id: string) => this.#call(this.api.v1.keys[":id"].$delete({ param: { id } })),
  };

  readonly clusters = {
    create: (name: string) => this.#call(this.api.v1.clusters.$post({ json: { name } })),
    list: () => this.#call(this.api.v1.clusters.$get()),
    get: (cluster: string) => this.#call(this.api.v1.clusters[":cluster"].$get({ param: { cluster } })),
    delete: (cluster: string) => this.#call(this.api.v1.clusters[":cluster"].$delete({ param: { cluster } })),
  };

  readonly sites = {
    create: (cluster: string, name: string) =>
      this.#call(this.api.v1.clusters[":cluster"].sites.$post({ param: { cluster }, json: { name } })),
    list: (cluster?: string) =>
      cluster
        ? this.#call(this.api.v1.clusters[":cluster"].sites.$get({ param: { cluster } }))
        : this.#call(this.api.v1.sites.$get()),
    get: (cluster: string, site: string) =>
      this.#call(this.api.v1.clusters[":cluster"].sites[":site"].$get({ param: { cluster, site } })),
    delete: (cluster: string, site: string) =>
      this.#call(this.api.v1.clusters[":cluster"].sites[":site"].$delete({ param: { cluster, site } })),
  };

  readonly tokens = {
    create: (json: TokenCreate) => this.#call(this.api.v1.tokens.$post({ json })),
    list: () => this.#call(this.api.v1.tokens.$get()),
    revoke: (id: string) => this.#call(this.api.v1.tokens[":id"].$delete({ param: { id } })),
  };

  readonly hosts = {
    /** `selector` is a label selector (schema/selectors.ts), e.g. `role=web,zone in (a,b)`. */
    list: (query: HostFilters = {}) => this.#call(this.api.v1.hosts.$get({ query })),
    get: (host: string) => this.#call(this.api.v1.hosts[":host"].$get({ param: { host } })),
    /** Sets and removes labels on a host (admin); its labels after the change. */
    label: (host: string, edit: { set?: Record<string, string>; remove?: string[] }) =>
      this.#call(this.api.v1.hosts[":host"].labels.$post({ param: { host }, json: edit })),
    revoke: (host: string) => this.#call(this.api.v1.hosts[":host"].revoke.$post({ param: { host } })),
    delete: (host: string) => this.#call(this.api.v1.hosts[":host"].$delete({ param: { host } })),
  };

  readonly services = {
    add: (host: string, name: string, target: string) =>
      this.#call(this.api.v1.hosts[":host"].services.$post({ param: { host }, json: { name, target } })),
    list: (host: string) => this.#call(this.api.v1.hosts[":host"].services.$get({ param: { host } })),
    remove: (host: string, name: string) =>
      this.#call(this.api.v1.hosts[":host"].services[":name"].$delete({ param: { host, name } })),
  };

  readonly mesh = {
    /** The agent on `from` listens on `listen` and carries connections to `to` (`<host>.<cluster>:<service>`). */
    add: (from: string, listen: string, to: string) =>
      this.#call(this.api.v1.mesh.$post({ json: { from, listen, to } })),
    list: (cluster?: string) => this.#call(this.api.v1.mesh.$get({ query: cluster ? { cluster } : {} })),
    remove: (id: string) => this.#call(this.api.v1.mesh[":id"].$delete({ param: { id } })),
  };

  readonly exposures = {
    /**
     * Serves `service` (a service name or loopback port) of `host` on an origin of its own (the
     * response's `url`: `https://<name>.<exposure domain>/`), and at `hostname` when given (it must lie
     * within a domain granted to the tenant). Callers need an API key of this tenant or a signed link,
     * unless `public`.
     */
    create: (
      host: string,
      service: string,
      name: string,
      opts: { hostname?: string; public?: boolean } = {},
    ) => this.#call(this.api.v1.exposures.$post({ json: { host, service, name, ...opts } })),
    list: () => this.#call(this.api.v1.exposures.$get()),
    remove: (name: string) => this.#call(this.api.v1.exposures[":name"].$delete({ param: { name } })),
    /** A URL that opens the exposure without a key until it expires (`ttl` like 30m, 1h, 7d; at most 30d). */
    link: (name: string, ttl = "1h") =>
      this.#call(this.api.v1.exposures[":name"].links.$post({ param: { name }, json: { ttl } })),
    /** Every link given out for the exposure stops working. */
    revokeLinks: (name: string) =>
      this.#call(this.api.v1.exposures[":name"].links.$delete({ param: { name } })),
  };

  readonly apps = {
    /** Every app instance of the tenant (one row per app and host), optionally of one cluster. */
    list: (cluster?: string) => this.#call(this.api.v1.apps.$get({ query: cluster ? { cluster } : {} })),
    /**
     * A new release of `app` from an uploaded artifact, deployed to `to` (`<host>.<cluster>`), or rolled
     * out over a `cluster` (and `site`, `selector`): `canary` hosts first, then `maxParallel` at a time,
     * driven by the control plane (follow it with `deploys.get`).
     */
    deploy: (
      app: string,
      json: { spec: string; sha256: string; size: number } & (
        | { to: string }
        | {
            cluster: string;
            site?: string;
            selector?: string;
            canary?: number;
            maxParallel?: number;
            hostTimeoutMs?: number;
          }
      ),
    ) => this.#call(this.api.v1.apps[":app"].deploys.$post({ param: { app }, json })),
    /** Back to release `to` (default: the last healthy one before the live one), no upload. */
    rollback: (app: string, to?: number) =>
      this.#call(this.api.v1.apps[":app"].rollback.$post({ param: { app }, json: to ? { to } : {} })),
    action: (app: string, op: "start" | "stop" | "restart" | "rm", host?: string) =>
      this.#call(
        this.api.v1.apps[":app"].actions.$post({ param: { app }, json: { op, ...(host ? { host } : {}) } }),
      ),
    releases: (app: string) => this.#call(this.api.v1.apps[":app"].releases.$get({ param: { app } })),
    deploys: (app: string) => this.#call(this.api.v1.apps[":app"].deploys.$get({ param: { app } })),
  };

  readonly deploys = {
    list: () => this.#call(this.api.v1.deploys.$get()),
    get: (id: string) => this.#call(this.api.v1.deploys[":id"].$get({ param: { id } })),
  };

  /**
   * Queued jobs: steps run in order on every host of a cluster the selector chooses, each host once,
   * now or when it next connects within `ttl` (default 24h, at most 7d).
   */
  readonly jobs = {
    run: (json: JobCreate) => this.#call(this.api.v1.jobs.$post({ json })),
    list: (query: { limit?: number; cursor?: string } = {}) =>
      this.#call(
        this.api.v1.jobs.$get({
          query: {
            ...(query.limit ? { limit: String(query.limit) } : {}),
            ...(query.cursor ? { cursor: query.cursor } : {}),
          },
        }),
      ),
    get: (id: string) => this.#call(this.api.v1.jobs[":id"].$get({ param: { id } })),
    /** Each host's last 64 KiB of stdout and stderr, base64. */
    logs: (id: string, host?: string) =>
      this.#call(this.api.v1.jobs[":id"].logs.$get({ param: { id }, query: host ? { host } : {} })),
    cancel: (id: string) => this.#call(this.api.v1.jobs[":id"].cancel.$post({ param: { id } })),
  };

  audit(query: { limit?: number; cursor?: number } = {}) {
    return this.#call(
      this.api.v1.audit.$get({
        query: {
          ...(query.limit ? { limit: String(query.limit) } : {}),
          ...(query.cursor ? { cursor: String(query.cursor) } : {}),
        },
      }),
    );
  }
}
