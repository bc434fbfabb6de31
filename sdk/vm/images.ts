// VM images from the SDK: push (stage, upload as an artifact, name it), list, show, remove.
import { type UploadOptions, type UploadResult, uploadArtifact } from "../artifacts/upload.ts";
import { unwrap } from "../client.ts";
import type { Outpost } from "../outpost.ts";
import { stageVmImage, type VmImageFiles } from "./pack-image.ts";

/** Uploads the image's files (once: an unchanged image sends nothing) and points `name` at them. */
export async function pushVmImage(
  client: Outpost,
  name: string,
  files: VmImageFiles,
  opts: Omit<UploadOptions, "ignoreFile"> = {},
): Promise<{ upload: UploadResult } & Awaited<ReturnType<typeof _put>>> {
  const staged = await stageVmImage(files);
  let upload: UploadResult;
  try {
    upload = await uploadArtifact(client, staged.dir, opts);
  } finally {
    await staged.cleanup();
  }
  return { upload, ...(await _put(client, name, upload.sha256, files.cmdline ?? "")) };
}

function _put(client: Outpost, name: string, sha256: string, cmdline: string) {
  const api = client.api.v1["vm-images"][":name"];
  return unwrap(client.url, api.$put({ param: { name }, json: { sha256, cmdline } }));
}

export function listVmImages(client: Outpost) {
  return unwrap(client.url, client.api.v1["vm-images"].$get());
}

export function showVmImage(client: Outpost, name: string) {
  return unwrap(client.url, client.api.v1["vm-images"][":name"].$get({ param: { name } }));
}

export function removeVmImage(client: Outpost, name: string) {
  return unwrap(client.url, client.api.v1["vm-images"][":name"].$delete({ param: { name } }));
}
