// The database as the server sees it: not yet open while PGlite starts (the server already
// listens and /health answers 503), then open, or failed. Routes ask it for the Database.
import type { Database, DatabaseKind } from "../db/database";
import type { DatabaseState } from "./health";
import { storeUnavailable } from "../errors";

export class DatabaseSlot {
  state: DatabaseState = "opening";
  error?: string;
  private database?: Database;

  constructor(public readonly kind: DatabaseKind) {}

  opened(database: Database): void {
    this.database = database;
    this.state = "open";
  }

  failed(message: string): void {
    this.state = "failed";
    this.error = message;
  }

  /** The open database, or a store_unavailable DomainError (503) a client can retry on. */
  get(): Database {
    if (this.state !== "open" || !this.database) {
      throw storeUnavailable(this.state === "opening" ? "the database is starting, retry in a moment" : `the database is ${this.state}`);
    }
    return this.database;
  }

  snapshot() {
    return {
      kind: this.kind,
      state: this.state,
      error: this.error,
      ping: () => this.get().ping(),
      disk: () => this.database?.disk?.report(),
      breaker: () => this.database?.breaker.snapshot(),
      wasmMemoryBytes: () => this.database?.wasmMemoryBytes?.() ?? 0,
    };
  }

  async close(): Promise<void> {
    const db = this.database;
    if (!db || this.state === "closed") return;
    this.state = "closing";
    try {
      await db.close();
    } finally {
      this.state = "closed";
    }
  }
}
