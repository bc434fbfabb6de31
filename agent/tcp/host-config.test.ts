import { describe, expect, it } from "vitest";
import type { CborMap, CborValue } from "../../schema/protocol/index.ts";
import { parseHostConfig } from "./host-config.ts";

const map = (o: Record<string, CborValue>): CborMap => new Map(Object.entries(o));

function parse(config: CborMap) {
  const lines: string[] = [];
  return { ...parseHostConfig(config, (l) => lines.push(l)), lines };
}

describe("parseHostConfig", () => {
  it("reads services and loopback listeners", () => {
    const r = parse(
      map({
        services: [
          map({ name: "postgres", target: "127.0.0.1:5432" }),
          map({ name: "web", target: "web:80" }),
        ],
        listeners: [
          map({ route: "mesh_a", listen: "127.0.0.1:15432", to: "db01.prod:postgres" }),
          map({ route: "mesh_b", listen: "[::1]:15433", to: "db01.prod:web" }),
          map({ route: "mesh_c", listen: "127.1.2.3:15434", to: "x:y" }),
        ],
        future: "ignored",
      }),
    );
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

  it("takes an empty or missing config as nothing", () => {
    expect(parse(new Map())).toEqual({ services: [], listeners: [], lines: [] });
    expect(parse(map({ services: [], listeners: [] }))).toEqual({ services: [], listeners: [], lines: [] });
  });

  it("skips every bad entry with a line, and keeps the good ones", () => {
    const r = parse(
      map({
        services: [
          "not a map",
          map({ name: "UPPER", target: "127.0.0.1:1" }),
          map({ name: "ok", target: 22 }),
          map({ name: "ok", target: "127.0.0.1:22" }),
          map({ name: "ok", target: "127.0.0.1:23" }),
          map({ name: "long", target: "a".repeat(300) }),
        ],
        listeners: [
          map({ route: "Bad Route", listen: "127.0.0.1:1", to: "x" }),
          map({ route: "mesh_pub", listen: "0.0.0.0:2000", to: "x" }),
          map({ route: "mesh_lan", listen: "192.168.1.1:2000", to: "x" }),
          map({ route: "mesh_mapped", listen: "[::ffff:127.0.0.1]:2000", to: "x" }),
          map({ route: "mesh_name", listen: "localhost:2000", to: "x" }),
          map({ route: "mesh_noport", listen: "127.0.0.1", to: "x" }),
          map({ route: "mesh_num", listen: 2000, to: "x" }),
          map({ route: "mesh_ok", listen: "127.0.0.1:2000", to: "x\ny" }),
          map({ route: "mesh_ok", listen: "127.0.0.1:2001", to: "x" }),
          map({ route: "mesh_same", listen: "127.0.0.1:2000", to: "x" }),
        ],
      }),
    );
    expect(r.services).toEqual([{ name: "ok", target: "127.0.0.1:22", source: "api" }]);
    expect(r.listeners).toEqual([
      { route: "mesh_ok", host: "127.0.0.1", port: 2000, listen: "127.0.0.1:2000", to: "x?y" },
    ]);
    expect(r.lines).toEqual([
      "config from the control plane: ignored services[0]: expected a map, got 'not a map'",
      "config from the control plane: ignored services[1]: name 'UPPER' is not a service name",
      "config from the control plane: ignored services[2]: service 'ok' has target number, not host:port text",
      "config from the control plane: ignored services[4]: service 'ok' is listed twice",
      `config from the control plane: ignored services[5]: service 'long' has target '${"a".repeat(80)}...', not host:port text`,
      "config from the control plane: ignored listeners[0]: route 'Bad Route' is not a route id",
      "mesh route mesh_pub: refused to listen on '0.0.0.0:2000': not a loopback address (mesh listeners bind 127.0.0.0/8 or [::1] only)",
      "mesh route mesh_lan: refused to listen on '192.168.1.1:2000': not a loopback address (mesh listeners bind 127.0.0.0/8 or [::1] only)",
      "mesh route mesh_mapped: refused to listen on '[::ffff:127.0.0.1]:2000': not a loopback address (mesh listeners bind 127.0.0.0/8 or [::1] only)",
      "mesh route mesh_name: refused to listen on 'localhost:2000': not a loopback address (mesh listeners bind 127.0.0.0/8 or [::1] only)",
      "mesh route mesh_noport: refused to listen on '127.0.0.1': '127.0.0.1' has no port (expected host:port)",
      "config from the control plane: ignored listeners[6]: mesh route mesh_num: listen number is not address:port text",
      "config from the control plane: ignored listeners[8]: mesh route mesh_ok is listed twice",
      "config from the control plane: ignored listeners[9]: mesh route mesh_same: another route already listens on 127.0.0.1:2000",
    ]);
  });

  it("never throws on hostile shapes", () => {
    for (const value of [null, 1, "x", new Uint8Array(3), [1, [2]], map({ a: 1 })] as CborValue[]) {
      expect(() => parse(map({ services: value, listeners: value }))).not.toThrow();
      expect(() => parse(map({ services: [map({ name: value, target: value })] }))).not.toThrow();
    }
    const many = parse(
      map({
        services: Array.from({ length: 2000 }, (_, i) => map({ name: `s${i}`, target: "127.0.0.1:1" })),
      }),
    );
    expect(many.services).toHaveLength(1024);
    expect(many.lines).toEqual([
      "config from the control plane: services has 2000 entries; only the first 1024 are used",
    ]);
  });
});
