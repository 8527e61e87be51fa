// The data update: one import at a time (from an upload or the inbox folder), its live status
// (protocol.md "Update status") pushed through `publish` on every change, and a record per file.
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { and, eq } from "drizzle-orm";
import type { Database } from "../db/database";
import { imports } from "../db/schema";
import { DomainError } from "../errors";
import type { Logger } from "../log/logger";
import { importGames, type ImportLimits, type ImportResult } from "./import";
import { detectFormat, type GameFormat } from "./parse";

export type UpdatePhase = "reading" | "waiting" | "storing";

export interface UpdateStatus {
  /** An update is underway: being read, waiting for the store, or storing. */
  is_running: boolean;
  message: string;
  progress?: { current: number; total: number };
  /** What the update storing now (else the oldest underway) is reading: a file name or "upload". */
  source?: string;
  /** Every update underway, oldest first (see UpdateService for the phases). */
  updates?: { source: string; phase: UpdatePhase; progress: { current: number; total: number } }[];
  /** The outcome of the last finished update, so a client that connects later still sees it. */
  last?: { ok: boolean; source: string; games?: number; ticks?: number; error?: string; finished_at: string };
}

export interface UpdateDeps {
  database: () => Database;
  inboxDir: string;
  limits: ImportLimits;
  logger: Logger;
  publish: (status: UpdateStatus) => void;
}

export interface UploadMeta {
  source: string;
  fileName?: string;
  format: GameFormat;
  totalBytes?: number;
  synthetic?: boolean;
}

const IDLE = "No update running";
const RUNNING = "Update in progress";
/**
 * Updates read at once. Each holds up to its parser's memory budget while it reads, so the count
 * is bounded; past it a new one is refused (409) until one finishes reading.
 */
export const MAX_READING = 4;

interface Underway {
  source: string;
  phase: UpdatePhase;
  progress: { current: number; total: number };
}

/** One holder at a time, served in the order they asked. */
class StoreLock {
  private tail: Promise<void> = Promise.resolve();

  async acquire(): Promise<() => void> {
    let release!: () => void;
    const previous = this.tail;
    this.tail = new Promise<void>((r) => (release = r));
    await previous;
    return release;
  }
}

/**
 * An update has two phases. Reading (the bytes arrive and are parsed) runs for several updates
 * side by side and holds no lock, so a slow client delays only its own upload. Storing (the one
 * transaction) takes the store lock: one at a time, in the order the updates finished reading; an
 * update that finishes reading while another stores waits for it. The inbox reads local files, so
 * its run holds the lock throughout.
 */
export class UpdateService {
  private current: UpdateStatus = { is_running: false, message: IDLE };
  private readonly underway: Underway[] = [];
  private readonly store = new StoreLock();
  private last?: UpdateStatus["last"];
  private inboxRunning = false;

  constructor(private readonly deps: UpdateDeps) {}

  status(): UpdateStatus {
    return this.current;
  }

  /**
   * Reads and parses one stream, then stores it once the store lock is free. Resolves when stored,
   * rejects on a bad file (or a stream that fails); 409 while MAX_READING updates are being read.
   */
  async importStream(stream: AsyncIterable<Uint8Array>, meta: UploadMeta): Promise<ImportResult> {
    if (this.underway.filter((u) => u.phase === "reading").length >= MAX_READING) {
      throw new DomainError("update_busy", `${MAX_READING} updates are being read already; try again when one finishes`, { is_running: true });
    }
    const entry = this.track(meta.fileName ?? meta.source, meta.totalBytes, "reading");
    const held: { release?: () => void } = {};
    try {
      return await this.importOne(this.storeAtEnd(stream, entry, held), meta, entry);
    } finally {
      held.release?.();
      this.untrack(entry);
    }
  }

  /**
   * The stream as is, then the store lock taken as it runs out: importGames reads its input to the
   * end before its transaction opens (README "Games"), so the lock covers the store and never a
   * wait on a client.
   */
  private async *storeAtEnd(stream: AsyncIterable<Uint8Array>, entry: Underway, held: { release?: () => void }): AsyncGenerator<Uint8Array> {
    yield* stream;
    this.move(entry, "waiting");
    held.release = await this.store.acquire();
    this.move(entry, "storing");
  }

  /**
   * Scans the inbox for files not imported before (same name, size and mtime) and imports them in
   * name order in the background. Returns the files it will read; 409 while another inbox run is
   * underway (it waits its turn behind a store in progress).
   */
  async startInbox(): Promise<string[]> {
    if (this.inboxRunning) throw new DomainError("update_busy", "the inbox is already being imported; try again when it finishes", { is_running: true });
    this.inboxRunning = true;
    let files: Awaited<ReturnType<UpdateService["newInboxFiles"]>>;
    try {
      files = await this.newInboxFiles();
    } catch (err) {
      this.inboxRunning = false;
      throw err;
    }
    if (files.length === 0) {
      this.inboxRunning = false;
      return [];
    }
    const entry = this.track(files[0].name, files[0].size, "waiting");
    void (async () => {
      const release = await this.store.acquire();
      try {
        for (const f of files) {
          entry.source = f.name;
          entry.progress = { current: 0, total: f.size };
          this.move(entry, "storing");
          const format = detectFormat(f.name) ?? "csv";
          await this.importOne(Bun.file(f.path).stream(), { source: "inbox", fileName: f.name, format, totalBytes: f.size }, entry, f).catch(() => {});
        }
      } finally {
        release();
        this.untrack(entry);
        this.inboxRunning = false;
      }
    })();
    return files.map((f) => f.name);
  }

  private track(source: string, totalBytes: number | undefined, phase: UpdatePhase): Underway {
    const entry: Underway = { source, phase, progress: { current: 0, total: totalBytes ?? 0 } };
    this.underway.push(entry);
    this.publish();
    return entry;
  }

  private move(entry: Underway, phase: UpdatePhase) {
    entry.phase = phase;
    this.publish();
  }

  private untrack(entry: Underway) {
    const i = this.underway.indexOf(entry);
    if (i >= 0) this.underway.splice(i, 1);
    this.publish();
  }

  /** The status is rebuilt from what is underway on every change, so it never outlives it. */
  private publish() {
    const head = this.underway.find((u) => u.phase === "storing") ?? this.underway[0];
    this.current = head
      ? {
        is_running: true, message: RUNNING, source: head.source, progress: { ...head.progress },
        updates: this.underway.map((u) => ({ source: u.source, phase: u.phase, progress: { ...u.progress } })), last: this.last,
      }
      : { is_running: false, message: IDLE, last: this.last };
    this.deps.publish(this.current);
  }

  private async importOne(stream: AsyncIterable<Uint8Array>, meta: UploadMeta, entry: Underway, file?: { size: number; mtime: number }): Promise<ImportResult> {
    const database = this.deps.database();
    const source = meta.fileName ?? meta.source;
    try {
      const result = await importGames(database, stream, {
        format: meta.format,
        limits: this.deps.limits,
        synthetic: meta.synthetic,
        totalBytes: meta.totalBytes,
        onProgress: (progress) => {
          entry.progress = progress;
          this.publish();
        },
      });
      await this.record(database, meta, file, { status: "complete", games: result.games, ticks: result.ticks });
      this.deps.logger.info("import complete", { source, games: result.games, ticks: result.ticks });
      this.last = { ok: true, source, ...result, finished_at: new Date().toISOString() };
      return result;
    } catch (err) {
      const message = (err as Error).message;
      await this.record(database, meta, file, { status: "failed", error: message }).catch(() => {});
      // A bad file, a body too slow, too large or cut off: the client's doing, not the server's.
      if (err instanceof DomainError) this.deps.logger.warn("import rejected", { source, error: message });
      else this.deps.logger.error("import failed", { source, error: err as Error });
      this.last = { ok: false, source, error: message, finished_at: new Date().toISOString() };
      throw err;
    }
  }

  private async record(database: Database, meta: UploadMeta, file: { size: number; mtime: number } | undefined, outcome: { status: string; games?: number; ticks?: number; error?: string }) {
    await database.db.insert(imports).values({
      source: meta.source, fileName: meta.fileName ?? null, fileSize: file?.size ?? meta.totalBytes ?? null, fileMtime: file?.mtime ?? null,
      status: outcome.status, games: outcome.games ?? null, ticks: outcome.ticks ?? null, error: outcome.error ?? null, finishedAt: new Date(),
    });
  }

  /** Regular files directly in the inbox (names only: nothing from a request names a path). */
  private async newInboxFiles() {
    const dir = this.deps.inboxDir;
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    const database = this.deps.database();
    const out: { name: string; path: string; size: number; mtime: number }[] = [];
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith(".")) continue;
      const path = join(dir, name);
      const st = statSync(path);
      if (!st.isFile()) continue;
      const seen = await database.db.select({ id: imports.id }).from(imports).where(and(
        eq(imports.source, "inbox"), eq(imports.fileName, name), eq(imports.fileSize, st.size), eq(imports.fileMtime, st.mtimeMs), eq(imports.status, "complete"),
      )).limit(1);
      if (seen.length === 0) out.push({ name, path, size: st.size, mtime: st.mtimeMs });
    }
    return out;
  }
}
