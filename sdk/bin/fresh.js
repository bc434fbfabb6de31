// Whether a bundle may stand in for its sources: it exists, and none of the files it was built from (the
// list esbuild's metafile gave, scripts/build.ts) is newer or gone. Plain JavaScript: it runs before tsx.
import { readFileSync, statSync } from "node:fs";

/** `bundle`: file URL of the bundle; `inputs`: file URL of its JSON list of sources, relative to it. */
export function bundleIsFresh(bundle, inputs) {
  try {
    const built = statSync(bundle).mtimeMs;
    const sources = JSON.parse(readFileSync(inputs, "utf8"));
    return (
      Array.isArray(sources) && sources.every((source) => statSync(new URL(source, bundle)).mtimeMs <= built)
    );
  } catch {
    return false; // not built, unreadable, or a source is gone
  }
}
