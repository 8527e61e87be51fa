// Embedded PostgreSQL (PGlite) with its wasm and data bundle embedded, so the compiled binary
// runs with no node_modules beside it. The same files serve development: one path, not two.
import { PGlite, type Transaction } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import pgliteWasm from "@electric-sql/pglite/pglite.wasm" with { type: "file" };
import initdbWasm from "@electric-sql/pglite/initdb.wasm" with { type: "file" };
import pgliteData from "@electric-sql/pglite/pglite.data" with { type: "file" };
import { DEFAULT_BREAKER, StoreBreaker, type BreakerOptions } from "./breaker";
import { databaseHandle, type Database, type Db } from "./database";
import type { DiskGuard } from "./disk";
import { schema } from "./schema";

const BYTEA = 17; // PostgreSQL's type oid for bytea

let modules: Promise<{ pgliteWasmModule: WebAssembly.Module; initdbWasmModule: WebAssembly.Module }> | undefined;

async function compile(path: string): Promise<WebAssembly.Module> {
  return WebAssembly.compile(await Bun.file(path).arrayBuffer());
}

/** Starts compiling PGlite's wasm early (e.g. while a worker runs initdb); idempotent. */
export function warmPglite(): void {
  void wasmModules();
}

/** Compiled once per process: every PGlite instance (tests open many) reuses the modules. */
function wasmModules() {
  modules ??= Promise.all([compile(pgliteWasm), compile(initdbWasm)]).then(
    ([pgliteWasmModule, initdbWasmModule]) => ({ pgliteWasmModule, initdbWasmModule }),
  );
  return modules;
}

/** Opens PGlite on `dataDir` (undefined: in memory), optionally from a dumped data dir (tests clone one). */
export async function createPglite(dataDir: string | undefined, loadDataDir?: Blob): Promise<PGlite> {
  const { pgliteWasmModule, initdbWasmModule } = await wasmModules();
  return PGlite.create(dataDir, {
    pgliteWasmModule,
    initdbWasmModule,
    fsBundle: Bun.file(pgliteData),
    loadDataDir,
    // PGlite's own bytea codec builds one string per byte: ~100x slower than Buffer's hex, and
    // bytea is how every game's ticks travel. Same text format, native speed.
    serializers: { [BYTEA]: (v: Uint8Array) => `\\x${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex")}` },
    parsers: { [BYTEA]: (v: string) => new Uint8Array(Buffer.from(v.slice(2), "hex")) },
  });
}

/** `disk` (a PGlite on a data dir): every row write first checks that the floor stays free. */
export function pgliteDatabase(client: PGlite, disk?: DiskGuard, breakerOptions: BreakerOptions = DEFAULT_BREAKER): Database {
  const breaker = new StoreBreaker(breakerOptions);
  const db = drizzle(underBreaker(disk ? guardWrites(client, disk) : client, breaker), { schema }) as unknown as Db;
  return databaseHandle("pglite", db, () => client.close(), disk, breaker);
}

/**
 * The client drizzle talks to (drizzle-orm/pglite calls `query`, and `transaction` whose body calls
 * `query`/`exec` on its tx), every call under the breaker. PGlite lives in this process and
 * rarely fails on its own; the breaker's injected faults exercise this path in tests, and a
 * PGlite stuck behind a runaway statement is refused like a slow server.
 */
function underBreaker<T extends PGlite | Transaction>(target: T, breaker: StoreBreaker, inTransaction = false): T {
  const gate = !inTransaction;
  return new Proxy(target, {
    get(t, prop) {
      if (prop === "query" || prop === "exec") {
        return (...args: unknown[]) => breaker.run(() => (t[prop] as (...a: unknown[]) => Promise<unknown>).call(t, ...args), gate);
      }
      if (prop === "transaction") {
        return (fn: (tx: Transaction) => unknown) => breaker.run((clock) => (t as PGlite).transaction(async (tx) => {
          if (clock.expired) throw new Error("transaction abandoned: its caller timed out waiting for it to start");
          clock.pause();
          try {
            return (await fn(underBreaker(tx, breaker, true))) as never;
          } finally {
            clock.resume();
          }
        }), gate);
      }
      const value = Reflect.get(t, prop, t);
      return typeof value === "function" ? value.bind(t) : value;
    },
  });
}

/**
 * Statements that add rows (and so data and WAL); reads, DDL and transaction control pass, and so
 * does the migrator's one bookkeeping row, so a daemon started on a low disk still opens and says why.
 */
const WRITE = /^\s*(insert|update|delete|merge|copy)\b(?!\s+into\s+"drizzle"\.)/i;

/**
 * The client drizzle talks to, refusing a row write (disk_full) while the data dir is below half
 * its floor: the one path every writer (imports, jobs, deletes) takes, so none drives PGlite into
 * ENOSPC, where it hangs the process. A statfs per write costs microseconds.
 */
function guardWrites(client: PGlite, disk: DiskGuard): PGlite {
  const check = (query: string) => {
    if (WRITE.test(query)) disk.checkWrite("a write to the database");
  };
  const guarded = <T extends PGlite | Transaction>(target: T): T => new Proxy(target, {
    get(t, prop) {
      if (prop === "query" || prop === "exec") {
        return (query: string, ...rest: unknown[]) => {
          check(query);
          return (t[prop] as (...a: unknown[]) => unknown).call(t, query, ...rest);
        };
      }
      if (prop === "transaction") {
        return (fn: (tx: Transaction) => unknown) => (t as PGlite).transaction((tx) => fn(guarded(tx)) as never);
      }
      const value = Reflect.get(t, prop, t);
      return typeof value === "function" ? value.bind(t) : value;
    },
  });
  return guarded(client);
}
