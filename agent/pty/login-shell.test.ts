import { describe, expect, it } from "vitest";
import { loginShell } from "./login-shell.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

describe("loginShell", () => {
  it("takes the password database's shell when it is an executable path", () => {
    expect(loginShell(env({ SHELL: "/bin/sh" }), () => "/bin/bash")).toEqual(["/bin/bash", "-l"]);
  });

  it("skips Bun's 'unknown' for a uid the password database lacks, and takes $SHELL", () => {
    expect(loginShell(env({ SHELL: "/bin/bash" }), () => "unknown")).toEqual(["/bin/bash", "-l"]);
  });

  it("skips a database that throws, a relative or missing $SHELL, and ends at /bin/sh", () => {
    const throws = () => {
      throw new Error("no passwd entry");
    };
    expect(loginShell(env({ SHELL: "bash" }), throws)).toEqual(["/bin/sh", "-l"]);
    expect(loginShell(env({ SHELL: "/nonexistent/shell" }), () => "")).toEqual(["/bin/sh", "-l"]);
    expect(loginShell(env({ SHELL: "/etc" }), () => null)).toEqual(["/bin/sh", "-l"]);
  });
});
