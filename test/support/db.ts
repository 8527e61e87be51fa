// The same suite on both databases: `forEachDatabase` runs a describe block on PGlite, and on
// PostgreSQL too when DATABASE_URL is set. Each test gets a database of its own: a PGlite clone of
// a migrated template (initdb once per run), or a PostgreSQL database created from a template.
import { afterEach, beforeEach, describe } from "bun:test";
import postgres from "postgres";
import type { Database, DatabaseKind } from "../../src/db/database";
import { migrate } from "../../src/db/migrate";
import { createPglite, pgliteDatabase } from "../../src/db/pglite";
import { postgresDatabase } from "../../src/db/postgres";

export const databaseKinds = (): DatabaseKind[] => (process.env.DATABASE_URL ? ["pglite", "postgres"] : ["pglite"]);

let pgliteTemplate: Promise<Blob> | undefined;
function pgliteDump(): Promise<Blob> {
  pgliteTemplate ??= (async () => {
    const client = await createPglite(undefined);
    await migrate(pgliteDatabase(client).db);
    const dump = await client.dumpDataDir("none");
    await client.close();
    return dump;
  })();
  return pgliteTemplate;
}

const TEMPLATE = `gridcast_tpl_${process.pid}`;
let admin: ReturnType<typeof postgres> | undefined;
let pgTemplate: Promise<void> | undefined;
let counter = 0;

function adminClient() {
  admin ??= postgres(process.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
  return admin;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

function postgresTemplate(): Promise<void> {
  pgTemplate ??= (async () => {
    const sql = adminClient();
    await sql.unsafe(`DROP DATABASE IF EXISTS ${TEMPLATE}`);
    await sql.unsafe(`CREATE DATABASE ${TEMPLATE}`);
    const db = await postgresDatabase(withDatabase(process.env.DATABASE_URL!, TEMPLATE), { max: 1 });
    await migrate(db.db);
    await db.close();
    process.once("beforeExit", () => {
      void sql.unsafe(`DROP DATABASE IF EXISTS ${TEMPLATE}`).then(() => sql.end());
    });
  })();
  return pgTemplate;
}

/** A fresh, migrated database of the given kind; close() also drops it. `url`: PostgreSQL's, for
 *  more handles on it (nodes of a cluster each have their own). */
export async function freshDatabase(kind: DatabaseKind): Promise<Database & { url?: string }> {
  if (kind === "pglite") return pgliteDatabase(await createPglite(undefined, { loadDataDir: await pgliteDump() }));
  await postgresTemplate();
  const name = `gridcast_t_${process.pid}_${++counter}`;
  await adminClient().unsafe(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`);
  const url = withDatabase(process.env.DATABASE_URL!, name);
  const db = await postgresDatabase(url, { max: 4 });
  return {
    ...db,
    url,
    close: async () => {
      await db.close();
      await adminClient().unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** Runs `body` once per database kind, handing it a getter for that test's own database. */
export function forEachDatabase(title: string, body: (db: () => Database, kind: DatabaseKind) => void): void {
  for (const kind of databaseKinds()) {
    describe(`${title} [${kind}]`, () => {
      let current: Database | undefined;
      beforeEach(async () => {
        current = await freshDatabase(kind);
      });
      afterEach(async () => {
        await current?.close();
        current = undefined;
      });
      body(() => {
        if (!current) throw new Error("no database: used outside a test");
        return current;
      }, kind);
    });
  }
}
