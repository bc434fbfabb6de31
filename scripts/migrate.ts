// `npm run db:migrate -- --url <libsql-url> [--auth-token T]`: applies the checked-in drizzle
// migrations to any libSQL server (Turso, sqld, or the local one from scripts/libsql-server).
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";

export const MIGRATIONS_DIR = fileURLToPath(new URL("../schema/migrations", import.meta.url));

export async function migrateDatabase(url: string, authToken?: string): Promise<void> {
  const client = createClient({ url, ...(authToken ? { authToken } : {}) });
  try {
    await migrate(drizzle(client), { migrationsFolder: MIGRATIONS_DIR });
  } finally {
    client.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({
    options: { url: { type: "string" }, "auth-token": { type: "string" } },
  });
  const url = values.url ?? process.env.DATABASE_URL;
  if (!url) {
    console.error("db:migrate: missing --url <libsql-url> (or DATABASE_URL)");
    process.exit(2);
  }
  migrateDatabase(url, values["auth-token"] ?? process.env.DATABASE_AUTH_TOKEN).then(
    () => console.log(`db:migrate: ${url} is up to date`),
    (err: unknown) => {
      console.error(`db:migrate: cannot migrate ${url}: ${err instanceof Error ? err.message : err}`);
      process.exit(1);
    },
  );
}
