// A cpio archive in the "newc" format (what the Linux kernel unpacks as an initramfs: Documentation/
// driver-api/early-userspace/buffer-format.rst). Written here because the format is 30 lines and the
// npm packages for it are unmaintained stream wrappers; this keeps the image builder free of a host
// `cpio` binary, with every entry's owner, mode and time fixed so the same inputs give the same bytes.

export interface CpioEntry {
  /** Path inside the archive, without a leading slash. */
  path: string;
  /** "file", "dir" or "symlink" (target in `data`). */
  type: "file" | "dir" | "symlink";
  /** Permission bits, e.g. 0o755. */
  mode: number;
  data?: Uint8Array | string;
}

const TYPE_BITS = { file: 0o100000, dir: 0o040000, symlink: 0o120000 } as const;
const encoder = new TextEncoder();

function _hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

function _pad4(length: number): Uint8Array {
  return new Uint8Array((4 - (length % 4)) % 4);
}

/** The archive's bytes: each entry's header, name and data (each padded to 4 bytes), then the trailer. */
export function cpioArchive(entries: readonly CpioEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let ino = 1;
  const add = (path: string, mode: number, data: Uint8Array) => {
    const name = encoder.encode(`${path}\0`);
    const header = [
      "070701",
      _hex8(ino++),
      _hex8(mode),
      _hex8(0), // uid
      _hex8(0), // gid
      _hex8(1), // nlink
      _hex8(0), // mtime: fixed, for reproducible images
      _hex8(data.length),
      _hex8(0), // devmajor
      _hex8(0), // devminor
      _hex8(0), // rdevmajor
      _hex8(0), // rdevminor
      _hex8(name.length),
      _hex8(0), // check
    ].join("");
    const head = encoder.encode(header);
    parts.push(head, name, _pad4(head.length + name.length), data, _pad4(data.length));
  };
  for (const e of entries) {
    if (e.path.startsWith("/") || e.path.split("/").includes("..")) {
      throw new RangeError(`Cannot archive ${e.path}: paths are relative and stay inside the archive`);
    }
    const data = typeof e.data === "string" ? encoder.encode(e.data) : (e.data ?? new Uint8Array());
    add(e.path, TYPE_BITS[e.type] | (e.mode & 0o7777), data);
  }
  add("TRAILER!!!", 0, new Uint8Array());
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
