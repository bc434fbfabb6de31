// What the agent's parts hand to the connection: an agent frame before it is numbered. The connection
// adds `seq`, signs it and sends it, in the order the frames were handed over.
import type { AgentFrame, Unsequenced } from "../schema/protocol/index.ts";

export type Outgoing = Unsequenced<AgentFrame>;

export type Send = (frame: Outgoing) => void;
