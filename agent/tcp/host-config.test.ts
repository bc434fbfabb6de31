import { describe, expect, it } from "vitest";
import type { HostConfig } from "../../schema/protocol/index.ts";
import { parseHostConfig } from "./host-config.ts";

function parse(config: HostConfig) {
  const lines: string[] = [];
  return { ...parseHostConfig(config, (l) => lines.push(l)), lines };
}

describe("parseHostConfig", () => {
  it("reads services and loopback listeners", () => {
    const r = parse({
      services: [
        { name: "postgres", target: "127.0.0.1:5432" },
        { name: "web", target: "web:80" },
      ],
      listeners: [
        { route: "mesh_a", listen: "127.0.0.1:15432", to: "db01.prod:postgres" },
        { route: "mesh_b", listen: "[::1]:15433", to: "db01.prod:web" },
        { route: "mesh_c", listen: "127.1.2.3:15434", to: "x:y" },
      ],
    });
    expect(r.services).toEqual([
      { name: "postgres", target: "127.0.0.1:5432", source: "api" },
      { name: "web", target: "web:80", source: "api" },
    ]);
    expect(r.listeners).toEqual([
      {
        route: "mesh_a",
        host: "127.0.0.1",
        port: 15432,
        listen: "127.0.0.1:15432",
        to: "db01.prod:postgres",
      },
      { route: "mesh_b", host: "::1", port: 15433, listen: "[::1]:15433", to: "db01.prod:web" },
      { route: "mesh_c", host: "127.1.2.3", port: 15434, listen: "127.1.2.3:15434", to: "x:y" },
    ]);
    expect(r.lines).toEqual([]);
  });

  it("takes an empty config as nothing", () => {
    expect(parse({ services: [], listeners: [] })).toEqual({
      services: [],
      listeners: [],
      refused: [],
      lines: [],
    });
  });

  it("leaves out, with a line each, the listeners this host's policy refuses; the rest apply", () => {
    // Loopback-shaped, as the frame requires, but not an address and port as the policy reads them.
    const r = parse({
      services: [],
      listeners: [
        { route: "mesh_octet", listen: "127.0.0.256:2000", to: "x" },
        { route: "mesh_zero", listen: "127.0.0.01:2000", to: "x" },
        { route: "mesh_port", listen: "127.0.0.1:70000", to: "x" },
        { route: "mesh_ok", listen: "127.0.0.1:2000", to: "x" },
      ],
    });
    expect(r.listeners.map((l) => l.route)).toEqual(["mesh_ok"]);
    // …and keeps why, for the agent's report (the route's state in `mesh ls`).
    expect(r.refused.map((x) => `${x.route} ${x.listen}`)).toEqual([
      "mesh_octet 127.0.0.256:2000",
      "mesh_zero 127.0.0.01:2000",
      "mesh_port 127.0.0.1:70000",
    ]);
    expect(r.lines).toEqual([
      "mesh route mesh_octet: refused to listen on '127.0.0.256:2000': '127.0.0.256' is not a valid address (only dotted-quad IPv4 and standard IPv6 are accepted)",
      "mesh route mesh_zero: refused to listen on '127.0.0.01:2000': '127.0.0.01' is not a valid address (only dotted-quad IPv4 and standard IPv6 are accepted)",
      "mesh route mesh_port: refused to listen on '127.0.0.1:70000': port '70000' is out of range (1..65535)",
    ]);
  });
});
