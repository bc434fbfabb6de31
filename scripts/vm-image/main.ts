// `npm run example:vm-image`: builds the example microVM image (build.ts) under OUTPOST_HOME/vm-image
// and prints what to run next.
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildVmImage } from "./build.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const out = join(resolve(process.env.OUTPOST_HOME ?? join(root, ".outpost")), "vm-image");
try {
  const image = buildVmImage(out);
  console.log(`example:vm-image: kernel, initramfs and rootfs written to ${out}`);
  console.log("It boots under QEMU (TCG where KVM is missing), serves HTTP on :8080 and prints");
  console.log("OUTPOST-VM-READY on its serial console. Push it to your control plane with:\n");
  console.log(
    `  npx outpost vm image push example --kernel ${image.kernel} --initrd ${image.initrd} --rootfs ${image.rootfs} --cmdline "${image.cmdline}"`,
  );
} catch (error) {
  console.error(`example:vm-image: ${(error as Error).message}`);
  process.exit(1);
}
