// Embedded PostgreSQL (PGlite) with its wasm and data bundle embedded, so the compiled binary
// runs with no node_modules beside it. The same files serve development: one path, not two.
import { existsSync } from "node:fs";
import { join } from "node:path";
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

/**
 * PostgreSQL's shared buffers inside PGlite's WASM memory (--pglite-shared-buffers). PGlite's own
 * default is PostgreSQL's 128 MB, and it is resident from the start: nearly half of what an idle
 * daemon held. The data files are read through the OS page cache anyway (not counted in the
 * process and shared), so a small pool costs no measurable import, job or live-ingest time
 * (README "Memory footprint").
 */
export const DEFAULT_PGLITE_SHARED_BUFFERS = 8 * 1024 ** 2;
/** PostgreSQL's least: 16 pages of 8 kB. */
export const MIN_PGLITE_SHARED_BUFFERS = 128 * 1024;

export interface PgliteOptions {
  /** A dumped data dir to start from (tests clone one). */
  loadDataDir?: Blob;
  /** Bytes of shared buffers (DEFAULT_PGLITE_SHARED_BUFFERS when omitted). */
  sharedBuffers?: number;
}

let pgliteModule: Promise<WebAssembly.Module> | undefined;

async function compile(path: string): Promise<WebAssembly.Module> {
  return WebAssembly.compile(await Bun.file(path).arrayBuffer());
}

/** Starts compiling PGlite's wasm early (e.g. while a worker runs initdb); idempotent. */
export function warmPglite(): void {
  void compiledPglite();
}

/** Compiled once per process: every PGlite instance (tests open many) reuses the module. */
function compiledPglite(): Promise<WebAssembly.Module> {
  pgliteModule ??= compile(pgliteWasm);
  return pgliteModule;
}

/** Whether opening `dataDir` runs initdb: in memory or a new dir, unless a dump is loaded. */
export function needsInitdb(dataDir: string | undefined, loadDataDir?: Blob): boolean {
  return !loadDataDir && (dataDir === undefined || !existsSync(join(dataDir, "PG_VERSION")));
}

/** Opens PGlite on `dataDir` (undefined: in memory). */
export async function createPglite(dataDir: string | undefined, options: PgliteOptions = {}): Promise<PGlite> {
  const { loadDataDir, sharedBuffers = DEFAULT_PGLITE_SHARED_BUFFERS } = options;
  // initdb's module only when initdb runs, and not kept: an existing data dir never needs it.
  const initdbWasmModule = needsInitdb(dataDir, loadDataDir) ? await compile(initdbWasm) : undefined;
  return PGlite.create(dataDir, {
    pgliteWasmModule: await compiledPglite(),
    initdbWasmModule,
    fsBundle: Bun.file(pgliteData),
    loadDataDir,
    // On the command line of every start, so it wins over the data dir's postgresql.conf (where
    // initdb wrote 128MB); in kB, PostgreSQL's unit for it.
    startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${Math.floor(Math.max(sharedBuffers, MIN_PGLITE_SHARED_BUFFERS) / 1024)}kB`],
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
  // PGlite keeps its Emscripten module private; the memory's size is only a figure for /metrics.
  // Read through the client each time: close() lets go of the module, and so must this handle.
  const wasmMemoryBytes = () => (client as unknown as { mod?: { HEAPU8?: Uint8Array } }).mod?.HEAPU8?.buffer.byteLength ?? 0;
  return { ...databaseHandle("pglite", db, () => client.close(), disk, breaker), wasmMemoryBytes };
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
