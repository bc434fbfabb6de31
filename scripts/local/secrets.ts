// Secrets of a local control plane, generated on first start and kept in OUTPOST_HOME/secrets.json
// (mode 0600): the platform admin token, the control plane's signing seed, and the local tenant's key.
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface LocalSecrets {
  adminToken: string;
  signingKey: string;
  tenantKey?: string;
}

function random(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
}

export function loadSecrets(home: string): LocalSecrets {
  const path = join(home, "secrets.json");
  if (existsSync(path)) return JSON.parse(readFileSync(path, "utf8")) as LocalSecrets;
  const secrets = { adminToken: `opa_${random(32)}`, signingKey: random(32) };
  saveSecrets(home, secrets);
  return secrets;
}

export function saveSecrets(home: string, secrets: LocalSecrets): void {
  const path = join(home, "secrets.json");
  writeFileSync(path, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}
