// Encoding and decoding of the frames frames.ts defines, by the layout table in _frame-specs.ts: the
// same strict rules on both sides, so nothing is sent that the peer must refuse. A file of its own so
// that the table can be typed by the frames without frames.ts importing the table back.
import { type _Field, _FieldError, _readFields } from "./_fields.ts";
import { _FRAME_SPECS, _SEQ, _sentBy } from "./_frame-specs.ts";
import type { CborKey, CborValue } from "./cbor-value.ts";
import { decodeCbor } from "./decode.ts";
import { encodeCbor } from "./encode.ts";
import { ProtocolError } from "./errors.ts";
import type { Direction, Frame, FrameFrom, FrameType } from "./frames.ts";

/** Every frame type, in the order of this file. */
export const FRAME_TYPES = Object.keys(_FRAME_SPECS) as FrameType[];

// ## Encoding

/**
 * The deterministic CBOR payload of `frame`, checked with the same rules the peer applies, so nothing
 * is sent that the peer must refuse. Throws TypeError for a frame that breaks them.
 */
export function encodeFrame(frame: Frame, direction: Direction): Uint8Array {
  const t: unknown = frame?.t;
  if (typeof t !== "string" || !Object.hasOwn(_FRAME_SPECS, t)) {
    throw new TypeError(`Cannot encode frame: unknown frame type ${JSON.stringify(t)}`);
  }
  const map = new Map<CborKey, CborValue>([
    ["t", frame.t],
    ["seq", frame.seq],
  ]);
  const fields = _FRAME_SPECS[frame.t].fields as Record<string, _Field<unknown>>;
  for (const name in fields) {
    const value = (frame as unknown as Record<string, unknown>)[name];
    if (value !== undefined) map.set(name, fields[name]!.write(value));
  }
  try {
    _checkFrame(map, direction, "encode");
  } catch (error) {
    if (error instanceof ProtocolError) throw new TypeError(error.message);
    throw error;
  }
  return encodeCbor(map);
}

/**
 * The frame in `payload`, which travelled in `direction`. Throws ProtocolError: "malformed" for bad
 * CBOR or a wrong shape, "unknown_frame" for a type this side does not know or that may not be sent
 * in `direction`.
 */
export function decodeFrame<D extends Direction>(payload: Uint8Array, direction: D): FrameFrom<D> {
  return _checkFrame(decodeCbor(payload), direction, "decode") as FrameFrom<D>;
}

function _checkFrame(value: CborValue, direction: Direction, verb: "decode" | "encode"): Frame {
  const fail = (code: "malformed" | "unknown_frame", why: string) =>
    new ProtocolError(code, `Cannot ${verb} frame: ${why}`);
  if (!(value instanceof Map)) throw fail("malformed", "a frame must be a map");
  const t = value.get("t");
  if (typeof t !== "string") throw fail("malformed", 'a frame must have a text field "t"');
  if (!Object.hasOwn(_FRAME_SPECS, t)) {
    throw fail("unknown_frame", `unknown frame type ${JSON.stringify(t.slice(0, 40))}`);
  }
  const spec = _FRAME_SPECS[t as FrameType];
  if (!_sentBy(spec.from, direction)) throw fail("unknown_frame", `${t} may not be sent ${direction}`);
  try {
    const seq = value.get("seq");
    if (seq === undefined) throw new _FieldError("missing field seq");
    const frame = {
      t,
      seq: _SEQ.read(seq, "seq"),
      ..._readFields(value, spec.fields as Record<string, _Field<unknown>>, "", ["t", "seq"]),
    } as Frame;
    const sid = (frame as { sid?: number }).sid;
    if (spec.opens && sid !== undefined && sid % 2 !== (direction === "cp>agent" ? 1 : 0)) {
      const opener =
        direction === "cp>agent" ? "odd (opened by the control plane)" : "even (opened by the agent)";
      throw new _FieldError(`field sid must be ${opener}, got ${sid}`);
    }
    return frame;
  } catch (error) {
    if (error instanceof _FieldError) throw fail("malformed", `${t} ${error.message}`);
    throw error;
  }
}
