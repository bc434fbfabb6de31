// Runs before `npm start` and `npm test`: installs dependencies on demand, so either command works as
// the very first one typed on a fresh clone. Plain JS because nothing else is installed yet.
import { execSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const marker = "node_modules/.package-lock.json";
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync("package-lock.json").mtimeMs;
if (stale) {
  console.error("outpost: installing dependencies (npm ci)…");
  try {
    execSync("npm ci --no-audit --no-fund", { stdio: "inherit" });
  } catch {
    // A lock file without every platform's optional packages (see .ci/run): npm install keeps the
    // locked versions and skips only what this platform cannot use.
    execSync("npm install --no-audit --no-fund", { stdio: "inherit" });
  }
}
