// Runs before `npm start` and `npm test`: installs dependencies on demand, so either command works as
// the very first one typed on a fresh clone. Plain JS because nothing else is installed yet.
import { execSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const marker = "node_modules/.package-lock.json";
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync("package-lock.json").mtimeMs;
if (stale) {
  console.error("outpost: installing dependencies (npm ci)…");
  // npm ci, never npm install: it installs what the lock says and never rewrites it, so a fresh
  // clone stays clean; a lock out of step with package.json fails here, loudly, instead.
  try {
    execSync("npm ci --no-audit --no-fund", { stdio: "inherit" });
  } catch {
    console.error(
      "outpost: npm ci failed (see above); if package.json changed, run npm install and commit the lock",
    );
    process.exit(1);
  }
}
