// Applies the embedded drizzle-kit migrations at start; idempotent on both drivers.
// Uses drizzle's own migrator with the objects its folder reader would build (pinned drizzle-orm
// 0.45: recheck `dialect.migrate` on upgrade), so no migrations folder is needed on disk.
import { createHash } from "node:crypto";
import { embeddedMigrations } from "./migrations/index";
import type { Db } from "./database";

export async function migrate(db: Db): Promise<void> {
  const migrations = embeddedMigrations.map((m) => ({
    sql: m.sql.split("--> statement-breakpoint"),
    bps: m.breakpoints,
    folderMillis: m.when,
    hash: createHash("sha256").update(m.sql).digest("hex"),
  }));
  // biome-ignore lint: the dialect and session are drizzle internals with no public type.
  const internal = db as unknown as { dialect: { migrate(m: unknown, s: unknown, c: unknown): Promise<void> }; session: unknown };
  await internal.dialect.migrate(migrations, internal.session, { migrationsFolder: "(embedded)" });
}
