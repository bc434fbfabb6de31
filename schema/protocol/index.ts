// The Outpost wire protocol: frames, their signed envelope, keys and limits. Runs in workerd, Bun, Deno
// and Node using only web APIs, @noble/ed25519 and @noble/hashes. Start reading at frames.ts.

export type { Ed25519Backend } from "./_ed25519.ts";
export { ed25519Backend } from "./_ed25519.ts";
export { fromBase64, fromBase64Url, toBase64, toBase64Url } from "./base64.ts";
export type { CborArray, CborKey, CborMap, CborValue } from "./cbor-value.ts";
export {
  FrameChannel,
  type FrameChannelOptions,
  type FrameReceivedBy,
  type FrameSentBy,
  type Side,
} from "./channel.ts";
export {
  CLIENT_STREAM_CAPABILITY,
  type ClientToServer,
  decodeClientFrame,
  decodeServerFrame,
  encodeStreamFrame,
  type ServerToClient,
  STREAM_FRAME_TYPES,
  type StreamFrame,
  type StreamFrameType,
} from "./client-frames.ts";
export { CloseCode, closeCodeFor, closeReasonFor } from "./close-codes.ts";
export {
  CONTROL_CHARACTERS,
  escapeControlCharacters,
  findControlCharacter,
  replaceControlCharacters,
} from "./control-characters.ts";
export {
  DATA_FRAME_TYPES,
  DataKey,
  type DataKeyBytes,
  type DataKeyContext,
  type DataKeyOptions,
  deriveDataKeys,
  type HmacSha256,
  KeyExchange,
  KX_BYTES,
} from "./data-key.ts";
export { type DecodeCborOptions, decodeCbor } from "./decode.ts";
export { encodeCbor } from "./encode.ts";
export {
  AGENT_CONNECT_PATH,
  ENROLL_MAGIC,
  ENROLL_MAX_SKEW_MS,
  type EnrollRequest,
  type EnrollResponse,
  enrollmentMessage,
} from "./enroll.ts";
export {
  COSE_MAC0_TAG,
  COSE_SIGN1_TAG,
  type FrameContext,
  type OpenContext,
  openFrame,
  sealFrame,
  type VerifierLookup,
} from "./envelope.ts";
export { ProtocolError, type ProtocolErrorCode } from "./errors.ts";
export { decodeExecSpec, type ExecSpec, encodeExecSpec } from "./exec-spec.ts";
export { decodeFrame, encodeFrame, FRAME_TYPES } from "./frame-codec.ts";
export {
  type AgentFrame,
  type ChallengeFrame,
  type CloseFrame,
  CONSOLE_MODES,
  type ConfigFrame,
  type ConsoleMode,
  type ConsoleOpenedFrame,
  type ConsoleOpenFrame,
  type ControlPlaneFrame,
  type CreditFrame,
  type DataFrame,
  DIRECTIONS,
  type Direction,
  type ErrorFrame,
  type ExecFacts,
  type ExecOpenFrame,
  type ExitFrame,
  type FinFrame,
  type Frame,
  type FrameFrom,
  type FrameOf,
  type FrameType,
  type HelloFrame,
  type HostConfig,
  type HostFacts,
  type HostReport,
  type JobCancelFrame,
  type JobFrame,
  type JobResultFrame,
  type LogsOpenFrame,
  MIN_PEER_CAPABILITY,
  type PingFrame,
  type PongFrame,
  PROTOCOL_CAPABILITY,
  PROTOCOL_MAGIC,
  type PtyOpenFrame,
  type ReadyFrame,
  type ReportedListener,
  type ReportedService,
  type ReportFrame,
  type ResizeFrame,
  type SharedFrame,
  type SignalFrame,
  type StderrFrame,
  type StdinFrame,
  type StdoutFrame,
  type TcpOpenedFrame,
  type TcpOpenFrame,
  type Unsequenced,
  WORKLOADS_CAPABILITY,
  type WorkloadStatusFrame,
  type WorkloadsFrame,
} from "./frames.ts";
export {
  type ConnectionId,
  type ControlPlanePublicKey,
  formatControlPlaneKey,
  formatHostKey,
  formatSecretKey,
  type HostId,
  type HostPublicKey,
  isConnectionId,
  isHostId,
  KEY_ID_BYTES,
  type KeyId,
  keyIdBytes,
  keyIdFromBytes,
  keyIdOf,
  newConnectionId,
  newHostId,
  PUBLIC_KEY_BYTES,
  type PublicKey,
  parseConnectionId,
  parseControlPlaneKey,
  parseHostId,
  parseHostKey,
  parseKeyId,
  parsePublicKey,
  publicKeyBytes,
  SEED_BYTES,
  type SecretKey,
  SIGNATURE_BYTES,
  secretKeyBytes,
} from "./keys.ts";
export {
  CONSOLE_BACKLOG_BYTES,
  CONSOLE_HISTORY_BYTES,
  DEFAULT_STREAM_CREDIT,
  HANDSHAKE_TIMEOUT_MS,
  HEARTBEAT_MISSES,
  MAX_CHUNK_BYTES,
  MAX_CONFIG_ENTRIES,
  MAX_CREDIT,
  MAX_EXEC_ALLOW_ENTRIES,
  MAX_EXEC_ARG_TEXT,
  MAX_EXEC_PREFIX_ITEMS,
  MAX_MESSAGE_BYTES,
  MAX_NESTING,
  MAX_REPORT_ENTRIES,
  MAX_REPORT_TEXT,
  MAX_STREAM_CREDIT,
  MAX_TARGET_TEXT,
  MIN_STREAM_CREDIT,
} from "./limits.ts";
export { ReceiveWindow, type ReceiveWindowOptions } from "./receive-window.ts";
export { SendWindow, type SendWindowOptions } from "./send-window.ts";
export { SequenceCounter, SequenceWindow } from "./sequence.ts";
export { generateKeyPair, type KeyPair, Signer, type SignerOptions } from "./sign.ts";
export { Verifier, type VerifierOptions } from "./verify.ts";
export {
  type ActionResult,
  type AppRunSpec,
  type ArtifactRef,
  type DesiredState,
  type HealthCheck,
  INSTANCE_STATES,
  type InstanceState,
  type InstanceStatus,
  MAX_ENV_ENTRIES,
  MAX_HEALTH_OUTPUT,
  MAX_WORKLOADS,
  type Workload,
  type WorkloadAction,
  type WorkloadKind,
  type WorkloadSpec,
} from "./workloads.ts";
