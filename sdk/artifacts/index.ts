// Artifacts from the SDK: pack a directory (or take a .tar.gz), upload it once in parts, list them.
export { listArtifacts } from "./list.ts";
export { type PackedArtifact, type PackOptions, packArtifact } from "./pack.ts";
export { type UploadOptions, type UploadResult, uploadArtifact } from "./upload.ts";
