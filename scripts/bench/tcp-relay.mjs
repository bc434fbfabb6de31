// The least a relay of this shape can cost: plain TCP, piped, with no WebSocket, framing, MAC or flow
// control of its own. The scp benchmark runs ssh through three of these (the same three hops as
// through Outpost: the ProxyCommand, the edge, the host) to show what any three-process relay leaves
// of scp's speed on this machine.
//
//   node tcp-relay.mjs listen <port> <to-port>   accept on 127.0.0.1:<port>, pipe each connection to <to-port>
//   node tcp-relay.mjs stdio <to-port>           pipe stdin/stdout to 127.0.0.1:<to-port> (a ProxyCommand)
import { connect, createServer } from "node:net";

const [mode, ...ports] = process.argv.slice(2);
const join = (a, b) => {
  a.pipe(b);
  b.pipe(a);
  a.on("error", () => b.destroy());
  b.on("error", () => a.destroy());
};
if (mode === "listen") {
  const [port, to] = ports.map(Number);
  createServer((socket) => join(socket, connect(to, "127.0.0.1"))).listen(port, "127.0.0.1", () =>
    console.log(`listening on 127.0.0.1:${port}`),
  );
} else if (mode === "stdio") {
  const socket = connect(Number(ports[0]), "127.0.0.1");
  process.stdin.pipe(socket);
  socket.pipe(process.stdout);
  socket.on("error", () => process.exit(1));
} else {
  console.error("usage: tcp-relay.mjs listen <port> <to-port> | stdio <to-port>");
  process.exit(2);
}
