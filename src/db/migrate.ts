// Applies the embedded drizzle-kit migrations at start; idempotent on both drivers.
// Uses drizzle's own migrator with the objects its folder reader would build (pinned drizzle-orm
// 0.45: recheck `dialect.migrate` on upgrade), so no migrations folder is needed on disk.
// A database a newer gridcast migrated is refused first: drizzle would skip what it does not know
// and this binary would then run its queries on a schema it was not written for.
import { createHash } from "node:crypto";
import { sql } from "drizzle-orm";
import pkg from "../../package.json" with { type: "json" };
import { embeddedMigrations } from "./migrations/index";
import { DatabaseUnavailable, rowsOf, type Db } from "./database";

/** Where drizzle's migrator records what it applied (its defaults, which migrate() keeps). */
const MIGRATIONS_TABLE = "drizzle.__drizzle_migrations";

/** The database holds migrations this binary does not know: a newer gridcast migrated it. */
export class DatabaseTooNew extends DatabaseUnavailable {
  constructor(message: string) {
    super(message);
    this.name = "DatabaseTooNew";
  }
}

/** What drizzle's migrator calls on the session it is given. */
interface Session {
  execute(q: unknown): Promise<unknown>;
  all(q: unknown): Promise<unknown[]>;
  transaction(body: (tx: unknown) => Promise<unknown>): Promise<unknown>;
}

/** Held while migrating: daemons that start together on one PostgreSQL migrate one at a time. */
const MIGRATION_LOCK = 0x67726463; // "grdc"

/**
 * Daemons starting together on one PostgreSQL (cluster.md) would each apply the migrations, and
 * all but one fail on what the first created: drizzle's migrator takes no lock. So it runs in a
 * transaction holding an advisory lock: the first migrates, the others wait for its commit and
 * then find nothing to apply (drizzle's own transaction becomes a savepoint inside this one).
 */
export async function migrate(db: Db): Promise<void> {
  const migrations = embeddedMigrations.map((m) => ({
    sql: m.sql.split("--> statement-breakpoint"),
    bps: m.breakpoints,
    folderMillis: m.when,
    hash: createHash("sha256").update(m.sql).digest("hex"),
  }));
  await db.transaction(async (txn) => {
    const tx = txn as unknown as Db;
    await tx.execute(sql`select pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await refuseNewerDatabase(tx);
    // biome-ignore lint: the dialect and session are drizzle internals with no public type.
    const internal = tx as unknown as { dialect: { migrate(m: unknown, s: unknown, c: unknown): Promise<void> }; session: Session };
    // The migrator's own transaction is this one (a transaction's session cannot begin another).
    const session: Session = {
      execute: (q) => internal.session.execute(q), all: (q) => internal.session.all(q), transaction: (body) => body(tx),
    };
    await internal.dialect.migrate(migrations, session, { migrationsFolder: "(embedded)" });
  });
}

/** Throws DatabaseTooNew when the migrations table records one dated after this binary's last
 *  (drizzle orders migrations by that date), naming this binary's version and last migration, and
 *  what is known of the newer one: its date, its hash, and the version a newer daemon left in the
 *  node registry if one ran there. */
async function refuseNewerDatabase(db: Db): Promise<void> {
  const last = embeddedMigrations[embeddedMigrations.length - 1]!;
  const [table] = rowsOf<{ t: string | null }>(await db.execute(sql`select to_regclass(${MIGRATIONS_TABLE})::text as t`));
  if (!table?.t) return; // a new database: nothing applied yet
  const unknown = rowsOf<{ hash: string; created_at: string | number }>(await db.execute(
    sql`select hash, created_at from drizzle.__drizzle_migrations where created_at > ${last.when} order by created_at`,
  ));
  if (unknown.length === 0) return;
  const newest = unknown[unknown.length - 1]!;
  const newer = await newerVersionSeen(db);
  const names = `${unknown.length} migration${unknown.length === 1 ? "" : "s"}`;
  throw new DatabaseTooNew(
    `the database was migrated by a newer gridcast${newer ? ` (${newer} has run on it)` : ""}: it holds ${names} this gridcast ${pkg.version} does not know ` +
    `(the newest applied for ${new Date(Number(newest.created_at)).toISOString()}, hash ${newest.hash.slice(0, 12)}), ` +
    `after this one's last, ${last.tag}; run that newer gridcast against it, or point this one at another database`,
  );
}

/** The newest other version a daemon left in the node registry (src/cluster/registry.ts), if any. */
async function newerVersionSeen(db: Db): Promise<string | undefined> {
  const [table] = rowsOf<{ t: string | null }>(await db.execute(sql`select to_regclass('public.nodes')::text as t`));
  if (!table?.t) return undefined;
  const [row] = rowsOf<{ version: string }>(await db.execute(
    sql`select version from nodes where version <> ${pkg.version} order by last_heartbeat desc limit 1`,
  ));
  return row ? `gridcast ${row.version}` : undefined;
}
