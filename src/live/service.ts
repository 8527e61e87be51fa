// The live side of the daemon as its doors see it (live.md): the HTTP routes, the page forms and
// replays all ingest, settle, deploy and stop through here, so every commit reaches the feed (and
// so the hub) the same way, and every read applies the tier's cut-off the same way.
import type { Identity } from "../access/roles";
import type { Database } from "../db/database";
import type { Logger } from "../log/logger";
import type { CommittedTick, LiveFeed } from "./feed";
import { ingestTicks, type CommitHooks, type IngestResult, type TickInput } from "./ingest";
import { Replays, type ReplayDeps } from "./replay";
import { listLiveGames, type LiveGameSummary } from "./repository";
import { settleGame, type SettleResult } from "./settle";
import { listSignals, type Signal, type SignalJson, type SignalQuery, type TopicSeq } from "./signals";
import { createStrategy, stopStrategy, strategyJson, type StrategyJson } from "./strategies";

/** Where the commits go after the store took them: the feed, or a bridge that also tells the other nodes (cluster-bridge.ts). */
export interface LivePublisher {
  ticks(ticks: CommittedTick[], at: Date): unknown;
  signals(signals: Signal[], seqs: TopicSeq[]): unknown;
  settled(gameId: string, outcome: 0 | 1): unknown;
  strategy(strategy: StrategyJson): unknown;
}

/** This node's feed alone. */
export const feedPublisher = (feed: LiveFeed): LivePublisher => ({
  ticks: (ticks, at) => feed.ticksCommitted(ticks, at),
  signals: (signals, seqs) => feed.signalsCommitted(signals, seqs),
  settled: (gameId, outcome) => feed.settled(gameId, outcome),
  strategy: (strategy) => feed.strategyChanged(strategy),
});

export interface LiveServiceDeps {
  database: () => Database;
  feed: LiveFeed;
  /** Default: the feed alone (feedPublisher). */
  publisher?: LivePublisher;
  /** --starter-delay-ms: what a starter identity reads is at least this old (live.md "Tiers"). */
  starterDelayMs: number;
  /** Wall-clock ms (the store's times): the tier cut-off and the time stamped on ticks and signals. */
  now?: () => number;
  log?: Logger;
  /** Replaces parts of what a replay uses (tests: its clock and sleep). */
  replay?: Partial<Omit<ReplayDeps, "database" | "ingest" | "settle">>;
}

export class LiveService {
  readonly feed: LiveFeed;
  readonly replays: Replays;
  private readonly hooks: CommitHooks & { log?: Logger };
  private readonly now: () => number;
  private readonly publisher: LivePublisher;

  constructor(private readonly deps: LiveServiceDeps) {
    this.feed = deps.feed;
    this.now = deps.now ?? Date.now;
    const publisher = (this.publisher = deps.publisher ?? feedPublisher(deps.feed));
    this.hooks = {
      onTicks: (ticks, at) => publisher.ticks(ticks, at),
      onSignals: (signals, seqs) => publisher.signals(signals, seqs),
      onSettled: (gameId, outcome) => publisher.settled(gameId, outcome),
      log: deps.log,
    };
    this.replays = new Replays({
      database: deps.database,
      ingest: (db, ticks, at) => ingestTicks(db, ticks, at, this.hooks),
      settle: (db, id, outcome, at) => settleGame(db, id, outcome, at, this.hooks),
      logger: deps.log,
      ...deps.replay,
    });
  }

  ingest(ticks: readonly TickInput[], lines?: ArrayLike<number>): Promise<IngestResult> {
    return ingestTicks(this.deps.database(), ticks, new Date(this.now()), { ...this.hooks, lines });
  }

  settle(gameId: string, outcome: unknown): Promise<SettleResult> {
    return settleGame(this.deps.database(), gameId, outcome, new Date(this.now()), this.hooks);
  }

  async deploy(input: Record<string, unknown>, identity: Identity | null): Promise<StrategyJson> {
    const json = strategyJson(await createStrategy(this.deps.database(), input, identity, new Date(this.now())));
    this.publisher.strategy(json);
    return json;
  }

  async stop(id: number, identity: Identity | null): Promise<StrategyJson> {
    const json = strategyJson(await stopStrategy(this.deps.database(), id, identity, new Date(this.now())));
    this.publisher.strategy(json);
    return json;
  }

  /** The tier's cut-off: a starter identity sees only what is at least --starter-delay-ms old. */
  cutOff(identity: Identity | null): Date | undefined {
    const delay = this.deps.starterDelayMs;
    return identity?.tier === "starter" && delay > 0 ? new Date(this.now() - delay) : undefined;
  }

  liveGames(identity: Identity | null): Promise<LiveGameSummary[]> {
    return listLiveGames(this.deps.database(), this.cutOff(identity));
  }

  async signals(query: Omit<SignalQuery, "notAfter">, identity: Identity | null): Promise<SignalJson[]> {
    return listSignals(this.deps.database(), { ...query, notAfter: this.cutOff(identity) });
  }

  /** Shutdown: running replays stop after the batch in flight (their games stay live where they stopped). */
  close(): Promise<void> {
    return this.replays.stop();
  }
}
