// Secret keeper keys on this machine: `<config dir>/keepers/<name>.json`, mode 0600 in a 0700 directory,
// each { name, publicKey, secretKey }. The secret key never leaves this file; the control plane learns
// only the public key (`outpost keeper init` registers it).
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type KeeperPublicKey,
  type KeeperSecretKey,
  keeperPublicKeyOf,
  newKeeperKeyPair,
} from "../../schema/secrets/index.ts";

export interface LocalKeeper {
  name: string;
  publicKey: KeeperPublicKey;
  secretKey: KeeperSecretKey;
  path: string;
}

/** Every keeper key in `dir` that parses and whose public key matches its secret. */
export function localKeepers(dir: string): LocalKeeper[] {
  let files: string[];
  try {
    files = readdirSync(join(dir, "keepers")).filter((f) => f.endsWith(".json"));
  } catch {
    return [];
  }
  const found: LocalKeeper[] = [];
  for (const file of files.sort()) {
    const path = join(dir, "keepers", file);
    try {
      const saved = JSON.parse(readFileSync(path, "utf8")) as { name: string; secretKey: KeeperSecretKey };
      found.push({
        name: saved.name,
        secretKey: saved.secretKey,
        publicKey: keeperPublicKeyOf(saved.secretKey),
        path,
      });
    } catch {
      // A damaged file is skipped, never printed: it may hold a secret.
    }
  }
  return found;
}

/** Makes a new keeper key and saves it; refuses to overwrite one of the same name. */
export function createLocalKeeper(dir: string, name: string): LocalKeeper {
  const keepers = join(dir, "keepers");
  mkdirSync(keepers, { recursive: true, mode: 0o700 });
  chmodSync(keepers, 0o700);
  const path = join(keepers, `${name}.json`);
  const pair = newKeeperKeyPair();
  writeFileSync(
    path,
    `${JSON.stringify({ name, publicKey: pair.publicKey, secretKey: pair.secretKey }, null, 2)}\n`,
    {
      mode: 0o600,
      flag: "wx",
    },
  );
  return { name, ...pair, path };
}
