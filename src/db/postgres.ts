// PostgreSQL through postgres.js, for DATABASE_URL: the same drizzle schema and queries as PGlite.
import postgres from "postgres";
import { drizzle } from "drizzle-orm/postgres-js";
import { sql } from "drizzle-orm";
import { schema } from "./schema";
import { databaseHandle, DatabaseUnavailable, type Database, type Db } from "./database";
import { DEFAULT_BREAKER, StoreBreaker, type BreakerOptions } from "./breaker";

export interface PostgresOptions {
  max?: number;
  /** Seconds to wait for the first connection before giving up. */
  connectTimeout?: number;
  breaker?: BreakerOptions;
}

type Sql = ReturnType<typeof postgres>;
type PendingQuery = ReturnType<Sql["unsafe"]>;

/**
 * The client drizzle talks to (drizzle-orm/postgres-js calls `unsafe(...)` awaited or `.values()`,
 * `begin` and, in a transaction, `savepoint`), with every one of those under the breaker.
 * `unsafe` hands back a lazy query like postgres.js's own: it runs when awaited.
 *
 * Statements are prepared (named, once per connection) when they have few parameters: postgres.js
 * runs an unprepared statement with parameters as two round trips (describe, then bind and
 * execute) and the server parses and plans it every time, which was a third of a busy live
 * ingest's statements' time. The bound keeps the set of statement texts finite: those with many
 * parameters (a drizzle `in (...)` of a long list) vary with the list and stay unprepared, as do
 * those with none (one round trip already; migrations' DDL among them, which a cached plan of a
 * changed table would trip over).
 */
const PREPARE_MAX_PARAMS = 16;

function underBreaker(client: Sql, breaker: StoreBreaker, inTransaction = false): Sql {
  const gate = !inTransaction;
  return new Proxy(client, {
    get(target, prop) {
      if (prop === "unsafe") {
        return (query: string, params?: unknown[], options?: unknown) => {
          const n = params?.length ?? 0;
          // drizzle passes `prepare: false` unless a query was given a name; a name still prepares.
          const asked = (options as { prepare?: boolean } | undefined)?.prepare === true;
          const prepare = asked || (n > 0 && n <= PREPARE_MAX_PARAMS);
          const start = (): PendingQuery => target.unsafe(query, params as never, { ...(options as object), prepare } as never);
          return {
            values: () => breaker.run(() => start().values(), gate),
            then: (ok: (v: unknown) => unknown, ko: (e: unknown) => unknown) => breaker.run(() => start(), gate).then(ok, ko),
          };
        };
      }
      if (prop === "begin" || prop === "savepoint") {
        return (...args: unknown[]) => {
          const fn = args.pop() as (tx: Sql) => unknown;
          // The clock stops while the body runs (its statements are timed one by one) and runs
          // again for BEGIN before it and COMMIT after it.
          const method = (target as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[prop]!;
          return breaker.run((clock) => method.call(target, ...args, async (tx: Sql) => {
            if (clock.expired) throw new Error("transaction abandoned: its caller timed out waiting for BEGIN");
            clock.pause();
            try {
              return await fn(underBreaker(tx, breaker, true));
            } finally {
              clock.resume();
            }
          }), gate && prop === "begin");
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Connects and proves the server answers, so a wrong URL fails at start with a clear message. */
export async function postgresDatabase(url: string, options: PostgresOptions = {}): Promise<Database> {
  const client = postgres(url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeout ?? 5,
    onnotice: () => {},
  });
  const breaker = new StoreBreaker(options.breaker ?? DEFAULT_BREAKER);
  const db = drizzle(underBreaker(client, breaker), { schema }) as unknown as Db;
  try {
    await db.execute(sql`select 1`);
  } catch (err) {
    await client.end({ timeout: 1 }).catch(() => {});
    throw new DatabaseUnavailable(`DATABASE_URL does not answer: ${(err as Error).message}`);
  }
  return databaseHandle("postgres", db, () => client.end({ timeout: 5 }), undefined, breaker);
}
