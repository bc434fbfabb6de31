// The associated data of a sealed env value. Both the value's ciphertext and every sealed copy of its
// data key are authenticated over it, so a control plane that moves a ciphertext (or a sealed key) to
// another tenant, app, variable or version makes it fail to open instead of handing a host the wrong
// secret under the right name.
//
// CBOR (RFC 8949 §4.2.1, deterministic: definite lengths, shortest forms) of
//   ["outpost env v1", tenantId, app, name, version]
// One encoding, so the sealer and the opener cannot disagree about separators or escaping.

import { encodeCbor } from "../protocol/encode.ts";
import { MAX_ENV_VERSION } from "./limits.ts";

/** What a sealed env value is bound to. */
export interface EnvBinding {
  tenantId: string;
  app: string;
  name: string;
  version: number;
}

const LABEL = "outpost env v1";

export function envAssociatedData(binding: EnvBinding): Uint8Array {
  const { tenantId, app, name, version } = binding;
  if (!Number.isInteger(version) || version < 1 || version > MAX_ENV_VERSION)
    throw new RangeError(`Cannot bind env value: version ${version} is not in 1..${MAX_ENV_VERSION}`);
  return encodeCbor([LABEL, tenantId, app, name, version]);
}
