// Console streams (frames.ts console.open), the kind: the control plane opens one for a VM by name;
// the stream (console-stream.ts) goes through that VM's hub (console-hub.ts). A name the protocol
// let through is still checked where it becomes a path (vm-lookup.ts), and a VM this host does not
// have is refused before any hub is made for it.
import type { ConsoleOpenFrame } from "../../schema/protocol/index.ts";
import type { Send } from "../outgoing.ts";
import type { StreamKind, StreamTable } from "../stream-table.ts";
import type { ConsoleHubs } from "./console-hub.ts";
import { ConsoleStream } from "./console-stream.ts";
import { driverOf, hasVm } from "./vm-lookup.ts";

/** Drivers whose serial console is a file the hypervisor writes, not a socket to type into. */
const OUTPUT_ONLY = new Set(["firecracker", "cloud-hypervisor"]);

export interface ConsoleStreamsOptions {
  send: Send;
  table: StreamTable;
  /** The identity's console hubs; undefined on an agent that serves no VMs. */
  hubs: ConsoleHubs | undefined;
}

export class ConsoleStreams implements StreamKind<ConsoleOpenFrame> {
  readonly #o: ConsoleStreamsOptions;

  constructor(options: ConsoleStreamsOptions) {
    this.#o = options;
  }

  open(frame: ConsoleOpenFrame): void {
    const { send, table, hubs } = this.#o;
    const refuse = (code: string, message: string) => {
      send({ t: "error", sid: frame.sid, code, message });
      send({ t: "close", sid: frame.sid, reason: message });
    };
    let known = false;
    try {
      known = hubs !== undefined && hasVm(hubs.stateDir, frame.vm);
    } catch (error) {
      refuse("bad_request", error instanceof Error ? error.message : String(error));
      return;
    }
    if (!hubs || !known) {
      refuse("vm_unknown", `no VM '${frame.vm}' on this host (outpost vm ls lists them)`);
      return;
    }
    const driver = driverOf(hubs.stateDir, frame.vm);
    if (frame.mode !== "history" && OUTPUT_ONLY.has(driver)) {
      refuse(
        "vm_console_unsupported",
        `VM '${frame.vm}' runs on ${driver}, whose console is output only (written to a file): read it with outpost vm logs`,
      );
      return;
    }
    const stream: ConsoleStream = new ConsoleStream(frame, {
      hub: hubs.hub(frame.vm),
      send,
      onEnd: () => table.delete(frame.sid, stream),
    });
    table.add(frame.sid, stream);
  }
}
