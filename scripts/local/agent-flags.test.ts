import { expect, it } from "vitest";
import { parseAgentFlags } from "./agent-flags.ts";

it("splits OUTPOST_AGENT_FLAGS into argv words, quotes as a shell reads them", () => {
  expect(parseAgentFlags(undefined)).toEqual([]);
  expect(parseAgentFlags("  ")).toEqual([]);
  expect(parseAgentFlags("--service ssh=127.0.0.1:22 --allow-net 10.0.0.0/8")).toEqual([
    "--service",
    "ssh=127.0.0.1:22",
    "--allow-net",
    "10.0.0.0/8",
  ]);
  expect(parseAgentFlags(`--exec-allow 'systemctl status' --exec-allow "uname"`)).toEqual([
    "--exec-allow",
    "systemctl status",
    "--exec-allow",
    "uname",
  ]);
});

it("refuses what only a shell would do, naming it", () => {
  expect(() => parseAgentFlags("--service a=1; rm -rf /")).toThrow(/';' is not allowed/);
  expect(() => parseAgentFlags("--service a=1 | cat")).toThrow(/'\|' is not allowed/);
  expect(() => parseAgentFlags("--service a=1 > /tmp/x")).toThrow(/'>' is not allowed/);
  expect(() => parseAgentFlags("--service $HOME")).toThrow(/not expanded/);
  expect(() => parseAgentFlags("--service *")).toThrow(/pattern/);
  expect(() => parseAgentFlags("run --service a=1")).toThrow(/'run' is not a flag/);
});
