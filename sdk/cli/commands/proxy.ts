import { bridge } from "../bridge.ts";
import { type Command, parse } from "../command.ts";
import { UsageError } from "../usage-error.ts";

const help = `usage: outpost proxy [--suffix .outpost] <host>.<cluster> <service|port>

Joins stdin and stdout to a TCP stream to a service on the host (or a port on its loopback, where the
host was started with --allow-loopback). Made for OpenSSH:

  ssh -o ProxyCommand='npx outpost proxy %h ssh' web01.prod

SSH stays end to end between ssh and sshd: the relay only ever carries ciphertext. --suffix strips
that ending off the host first ('web01.prod.outpost' is web01.prod), for 'outpost ssh-config'.`;

export const proxy: Command = {
  name: "proxy",
  summary: "join stdin/stdout to a TCP stream on a host (ssh ProxyCommand)",
  help,
  async run(ctx, args) {
    const { values, positionals } = parse(args, { suffix: { type: "string" } }, help);
    if (positionals.length !== 2) throw new UsageError("expected <host>.<cluster> <service|port>", help);
    let host = positionals[0]!;
    const suffix = values.suffix as string | undefined;
    if (suffix && host.endsWith(suffix)) host = host.slice(0, -suffix.length);
    const stream = ctx.client().tcpStream(host, positionals[1]!);
    await stream.opened;
    await bridge(process.stdin, process.stdout, stream);
    return 0;
  },
};
