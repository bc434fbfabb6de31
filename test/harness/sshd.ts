// A real OpenSSH server for tests: its own host key, config and authorized key in a temp directory,
// listening only on 127.0.0.1 at a free port, as the user running the tests.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { freePort, type Running, start } from "./process.ts";

export interface Sshd {
  port: number;
  /** Private key that sshd accepts for the current user. */
  identity: string;
  /** ssh options that trust this throwaway server and use `identity`. */
  clientOptions: string[];
  user: string;
  process: Running;
  stop(): Promise<void>;
}

const SSHD = "/usr/sbin/sshd";

export async function startSshd(): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), "outpost-sshd-"));
  chmodSync(dir, 0o700);
  const hostKey = join(dir, "host_ed25519");
  const identity = join(dir, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", hostKey]);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", identity]);
  const authorized = join(dir, "authorized_keys");
  execFileSync("cp", [`${identity}.pub`, authorized]);
  chmodSync(authorized, 0o600);
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 }); // privilege separation directory
  const port = await freePort();
  const config = join(dir, "sshd_config");
  writeFileSync(
    config,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorized}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "PermitRootLogin prohibit-password",
      "AllowTcpForwarding yes",
      "Subsystem sftp internal-sftp",
      "LogLevel ERROR",
      "",
    ].join("\n"),
  );
  const proc = start(SSHD, ["-D", "-e", "-f", config]);
  // sshd -D prints nothing when it is ready; wait until the port accepts connections.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`sshd did not start: ${proc.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    identity,
    user: userInfo().username,
    clientOptions: [
      "-i",
      identity,
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "LogLevel=ERROR",
      "-o",
      "BatchMode=yes",
    ],
    process: proc,
    stop: async () => {
      await proc.stop();
    },
  };
}
