// Secrets of a local control plane, generated on first start and kept in OUTPOST_HOME/secrets.json
// (mode 0600): the platform admin token, the control plane's signing seed, the libSQL server's bearer
// token, and the local tenant's key.
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface LocalSecrets {
  adminToken: string;
  signingKey: string;
  /** What the local libSQL server requires of every pipeline: the Worker and the migrations send it. */
  dbAuthToken: string;
  tenantKey?: string;
}

function random(bytes: number): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("base64url");
}

/** The saved secrets, with any that an older secrets.json lacks generated and saved now. */
export function loadSecrets(home: string): LocalSecrets {
  const path = join(home, "secrets.json");
  const saved = existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as Partial<LocalSecrets>) : {};
  const secrets: LocalSecrets = {
    ...saved,
    adminToken: saved.adminToken ?? `opa_${random(32)}`,
    signingKey: saved.signingKey ?? random(32),
    // Secrets from before the database needed a token gain one: the server then refuses anyone without it.
    dbAuthToken: saved.dbAuthToken ?? random(32),
  };
  if (Object.keys(secrets).some((key) => !Object.hasOwn(saved, key))) saveSecrets(home, secrets);
  return secrets;
}

export function saveSecrets(home: string, secrets: LocalSecrets): void {
  const path = join(home, "secrets.json");
  writeFileSync(path, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}
