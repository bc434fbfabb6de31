// Scratch: where a keystroke's echo spends its time, hop by hop (not a bench row).
import { createServer } from "node:net";
import { startAgent } from "../../test/harness/agent.ts";
import { CLI_BIN } from "../../test/harness/cli.ts";
import { startSshd } from "../../test/harness/sshd.ts";
import { startStack } from "../../test/harness/stack.ts";
import { echoTimes } from "./pty-bench.ts";

const N = 200;
const p = (xs: number[], q = 50) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length * q) / 100)]!.toFixed(3);

const echo = createServer((s) => s.on("error", () => {}).on("data", (d) => s.write(d)));
await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
const echoPort = (echo.address() as { port: number }).port;
const stack = await startStack();
const sshd = await startSshd();
const { client, token } = await stack.tenant("hops");
await client.clusters.create("b");
await client.sites.create("b", "l");
const agent = await startAgent(client, {
  runtime: (process.env.RT as "bun") ?? "bun",
  name: "a",
  cluster: "b",
  site: "l",
  url: stack.url,
  runArgs: ["--service", `ssh=127.0.0.1:${sshd.port}`, "--service", `echo=127.0.0.1:${echoPort}`],
});
try {
  for (let round = 0; round < 2; round++) {
    // 1. SDK pty in process
    const pty = client.ptyStream(agent.ref, { cols: 80, rows: 24, argv: ["cat"] });
    await pty.session;
    const w = pty.input.getWriter();
    const r = pty.output.getReader();
    const t1: number[] = [];
    await w.write(new TextEncoder().encode("warm\n"));
    await new Promise((res) => setTimeout(res, 500));
    let buf = "";
    // drain
    const drain = async (want: string) => {
      while (!buf.includes(want)) buf += new TextDecoder().decode((await r.read()).value);
    };
    await drain("warm");
    for (let i = 0; i < N; i++) {
      buf = "";
      const s = performance.now();
      await w.write(new Uint8Array([0x61 + (i % 26)]));
      await drain(String.fromCharCode(0x61 + (i % 26)));
      t1.push(performance.now() - s);
    }
    pty.close();
    // 2. SDK tcp to echo
    const tcp = client.tcpStream(agent.ref, "echo");
    await tcp.opened;
    const tw = tcp.writable.getWriter();
    const tr = tcp.readable.getReader();
    const t2: number[] = [];
    for (let i = 0; i < N; i++) {
      const s = performance.now();
      await tw.write(new Uint8Array([0x61]));
      await tr.read();
      t2.push(performance.now() - s);
    }
    tcp.close?.();
    // 3. CLI shell, 4. ssh via proxy
    const env = { ...process.env, OUTPOST_URL: stack.url, OUTPOST_TOKEN: token };
    const t3 = await echoTimes([process.execPath, CLI_BIN, "shell", agent.ref], env);
    const t4 = await echoTimes(
      ["ssh", "-tt", ...sshd.clientOptions, "-o", `ProxyCommand=${process.execPath} ${CLI_BIN} proxy %h ssh`, "-o", `HostKeyAlias=${agent.ref}`, `${sshd.user}@${agent.ref}`],
      env,
    );
    console.log(`round ${round}: sdk pty(cat) p50 ${p(t1)} | sdk tcp echo p50 ${p(t2)} | cli shell p50 ${p(t3)} | ssh via proxy p50 ${p(t4)}`);
  }
} finally {
  await agent.stop();
  await sshd.stop();
  await stack.close();
  echo.close();
}
