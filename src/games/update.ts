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
import { detectFormat, ImportError, type GameFormat } from "./parse";

export interface UpdateStatus {
  is_running: boolean;
  message: string;
  progress?: { current: number; total: number };
  /** What the update is reading now (a file name or "upload"). */
  source?: string;
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

export class UpdateService {
  private current: UpdateStatus = { is_running: false, message: IDLE };

  constructor(private readonly deps: UpdateDeps) {}

  status(): UpdateStatus {
    return this.current;
  }

  /** Imports one stream now; 409 while another update runs. Resolves when stored, rejects on a bad file. */
  async importStream(stream: AsyncIterable<Uint8Array>, meta: UploadMeta): Promise<ImportResult> {
    this.begin(meta.fileName ?? meta.source);
    return this.importOne(stream, meta).finally(() => this.end());
  }

  /**
   * Scans the inbox for files not imported before (same name, size and mtime) and imports them in
   * name order in the background. Returns the files it will read; 409 while another update runs.
   */
  async startInbox(): Promise<string[]> {
    if (this.current.is_running) throw this.busy();
    const files = await this.newInboxFiles();
    if (files.length === 0) return [];
    this.begin(files[0].name);
    void (async () => {
      try {
        for (const f of files) {
          this.set({ ...this.current, source: f.name, progress: { current: 0, total: f.size } });
          const format = detectFormat(f.name) ?? "csv";
          await this.importOne(Bun.file(f.path).stream(), { source: "inbox", fileName: f.name, format, totalBytes: f.size }, f).catch(() => {});
        }
      } finally {
        this.end();
      }
    })();
    return files.map((f) => f.name);
  }

  private busy() {
    return new DomainError("update_busy", `an update is already running (${this.current.source ?? "import"}); try again when it finishes`, { is_running: true });
  }

  private begin(source: string) {
    if (this.current.is_running) throw this.busy();
    this.set({ is_running: true, message: RUNNING, source, progress: { current: 0, total: 0 }, last: this.current.last });
  }

  private end() {
    this.set({ is_running: false, message: IDLE, last: this.current.last });
  }

  private set(status: UpdateStatus) {
    this.current = status;
    this.deps.publish(status);
  }

  private async importOne(stream: AsyncIterable<Uint8Array>, meta: UploadMeta, file?: { size: number; mtime: number }): Promise<ImportResult> {
    const database = this.deps.database();
    const source = meta.fileName ?? meta.source;
    try {
      const result = await importGames(database, stream, {
        format: meta.format,
        limits: this.deps.limits,
        synthetic: meta.synthetic,
        totalBytes: meta.totalBytes,
        onProgress: (progress) => this.set({ ...this.current, progress }),
      });
      await this.record(database, meta, file, { status: "complete", games: result.games, ticks: result.ticks });
      this.deps.logger.info("import complete", { source, games: result.games, ticks: result.ticks });
      this.current.last = { ok: true, source, ...result, finished_at: new Date().toISOString() };
      return result;
    } catch (err) {
      const message = (err as Error).message;
      await this.record(database, meta, file, { status: "failed", error: message }).catch(() => {});
      if (err instanceof ImportError) this.deps.logger.warn("import rejected", { source, error: message });
      else this.deps.logger.error("import failed", { source, error: err as Error });
      this.current.last = { ok: false, source, error: message, finished_at: new Date().toISOString() };
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
