import { spawn } from "node:child_process";
import { realpathSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Command, parse } from "../command.ts";
import { profileName } from "../config.ts";
import { UsageError } from "../usage-error.ts";

/** sdk/bin/outpost.js, from where this code runs: the sources (sdk/cli/commands) or the bundle (dist). */
const bin = fileURLToPath(
  new URL(
    import.meta.url.endsWith("/dist/cli.js") ? "../sdk/bin/outpost.js" : "../../bin/outpost.js",
    import.meta.url,
  ),
);
/** The ProxyCommand this CLI installs: the same node and the same outpost, whatever PATH says. */
const proxyCommand = (target: string, profile?: string) =>
  `${process.execPath} ${bin}${profile ? ` --profile ${profile}` : ""} proxy %h ${target}`;

const sshHelp = `usage: outpost ssh <host>.<cluster> [--target ssh] [ssh args…]

Runs the system ssh through 'outpost proxy' to the host's ssh service (--target: a service name or a
port). SSH stays end to end: the relay sees only ciphertext.`;

export const ssh: Command = {
  name: "ssh",
  summary: "run ssh to a host through the relay",
  help: sshHelp,
  async run(ctx, args) {
    const [host, ...rest] = args;
    if (!host || host.startsWith("-")) throw new UsageError("missing <host>.<cluster>", sshHelp);
    let target = "ssh";
    if (rest[0] === "--target") {
      if (!rest[1]) throw new UsageError("--target needs a service name or port", sshHelp);
      target = rest[1];
      rest.splice(0, 2);
    }
    const child = spawn("ssh", ["-o", `ProxyCommand=${proxyCommand(target, ctx.profile)}`, host, ...rest], {
      stdio: "inherit",
    });
    const code = await new Promise<number>((resolve, reject) => {
      child.on("error", (err) => reject(new UsageError(`cannot run ssh: ${err.message}`)));
      child.on("exit", (c, signal) => resolve(c ?? 128 + (signal ? 1 : 0)));
    });
    return code;
  },
};

const configHelp = `usage: outpost [--profile P] ssh-config [--cluster C] [--target ssh] [--suffix outpost] [--command CMD]

Prints blocks for ~/.ssh/config so that 'ssh <host>.<cluster>.outpost' goes through Outpost:

  outpost ssh-config >> ~/.ssh/config
  ssh web01.prod.outpost

The pattern is 'Host *.<cluster>.<suffix>' (default suffix 'outpost'), so it cannot capture real
domains ('Host *.dev' would take every .dev site); the ProxyCommand strips the suffix again. With
--suffix '' it lists your hosts by name instead ('Host web01.prod web02.prod'; run it again when
hosts change). The ProxyCommand names the profile (P, OUTPOST_PROFILE, or 'default'), so it works in
a new terminal without OUTPOST_URL / OUTPOST_TOKEN, and runs outpost by absolute path: the 'outpost'
found on PATH when that is this CLI (an installed one survives moving a clone), else this node and
this clone's sdk/bin/outpost.js. --command sets the outpost command to use instead.`;

/** An `outpost` on PATH that is this CLI, by the absolute path PATH gives (a symlink npm installed). */
function installedBin(env: NodeJS.ProcessEnv): string | undefined {
  const mine = realpathSync(bin);
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, "outpost");
    try {
      if (realpathSync(candidate) === mine) return candidate;
    } catch {}
  }
  return undefined;
}

export const sshConfig: Command = {
  name: "ssh-config",
  summary: "print ~/.ssh/config blocks for your hosts",
  help: configHelp,
  async run(ctx, args) {
    const { values, positionals } = parse(
      args,
      {
        cluster: { type: "string" },
        target: { type: "string" },
        suffix: { type: "string", default: "outpost" },
        command: { type: "string" },
      },
      configHelp,
    );
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`, configHelp);
    const suffix = (values.suffix as string).replace(/^\.+/, "");
    if (suffix && !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(suffix))
      throw new UsageError(`--suffix '${suffix}' must be DNS labels, like 'outpost'`, configHelp);
    const target = (values.target as string | undefined) ?? "ssh";
    if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(target))
      throw new UsageError(`--target '${target}' is not a service name or port`, configHelp);
    const profile = profileName(ctx.env, ctx.profile);
    const creds = ctx.credentials();
    if (creds.source === "environment")
      ctx.io.err(
        `outpost: note: these credentials come from OUTPOST_URL / OUTPOST_TOKEN; the ProxyCommand uses profile '${profile}', so save it with 'outpost${profile === "default" ? "" : ` --profile ${profile}`} login <url> --token <key>'`,
      );
    const { hosts } = await ctx
      .client()
      .hosts.list(values.cluster ? { cluster: values.cluster as string } : {});
    const outpost =
      (values.command as string | undefined) ?? installedBin(ctx.env) ?? `${process.execPath} ${bin}`;
    const strip = suffix ? ` --suffix .${suffix}` : "";
    const proxyLine = `  ProxyCommand ${outpost} --profile ${profile} proxy${strip} %h ${target}`;
    ctx.io.out(
      `# Outpost (profile ${profile}): ssh <host>.<cluster>${suffix ? `.${suffix}` : ""} through the relay; generated by 'outpost ssh-config'`,
    );
    if (!values.command && !installedBin(ctx.env))
      ctx.io.out("# runs this clone's outpost by path: moved it? run 'outpost ssh-config' again");
    if (suffix) {
      for (const c of [...new Set(hosts.map((h) => h.cluster))].sort())
        ctx.io.out(`Host *.${c}.${suffix}\n${proxyLine}\n`);
    } else if (hosts.length) {
      ctx.io.out(`Host ${hosts.map((h) => h.fqdn).join(" ")}\n${proxyLine}\n`);
    }
    return 0;
  },
};
