-- The live write path in fewer rows and bytes (issue 12: what a busy ingest sent, and the rows the
-- server wrote, were most of its time).
-- Signal runs: an action is a byte (its index in schema.ts SIGNAL_ACTIONS), the four numbers one
-- packed value (t, then price, fair and P&L, count float64 each, as the columns were), and the
-- edge, always fair - price (evaluator.ts), is no longer stored. A stored run keeps one game id per
-- signal in game_ids (game_index null); a new run lists its games once, with a per-signal index.
ALTER TABLE "signal_runs" ADD COLUMN "game_index" "bytea";--> statement-breakpoint
ALTER TABLE "signal_runs" ADD COLUMN "action_codes" "bytea";--> statement-breakpoint
ALTER TABLE "signal_runs" ADD COLUMN "numbers" "bytea";--> statement-breakpoint
UPDATE "signal_runs" SET "numbers" = "t" || "price" || "fair" || "pnl",
	"action_codes" = (SELECT string_agg(decode(lpad(to_hex(array_position(ARRAY['open_long', 'open_short', 'close', 'settle']::text[], a) - 1), 2, '0'), 'hex'), ''::bytea ORDER BY i)
		FROM unnest("actions") WITH ORDINALITY AS x(a, i));--> statement-breakpoint
ALTER TABLE "signal_runs" ALTER COLUMN "action_codes" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "signal_runs" ALTER COLUMN "numbers" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "signal_runs" DROP COLUMN "actions";--> statement-breakpoint
ALTER TABLE "signal_runs" DROP COLUMN "t";--> statement-breakpoint
ALTER TABLE "signal_runs" DROP COLUMN "price";--> statement-breakpoint
ALTER TABLE "signal_runs" DROP COLUMN "fair";--> statement-breakpoint
ALTER TABLE "signal_runs" DROP COLUMN "edge";--> statement-breakpoint
ALTER TABLE "signal_runs" DROP COLUMN "pnl";--> statement-breakpoint
-- Strategy states: a row per game (every strategy's state on it, packed), not per (strategy, game),
-- and each strategy's totals kept on its row. float8send gives big-endian bytes, reversed here into
-- the little-endian order of packed.ts (as 0008 did).
CREATE TABLE "game_states" (
	"game_id" text PRIMARY KEY NOT NULL,
	"states" "bytea" NOT NULL
);--> statement-breakpoint
ALTER TABLE "game_states" SET (fillfactor = 50);--> statement-breakpoint
INSERT INTO "game_states" ("game_id", "states")
SELECT g."game_id", string_agg(
	(SELECT string_agg((SELECT string_agg(substring(float8send(v) FROM i FOR 1), ''::bytea ORDER BY i DESC) FROM generate_series(1, 8) AS i), ''::bytea ORDER BY k)
		FROM unnest(ARRAY[g."strategy_id", g."pos", g."ep", g."pnl", g."trades", g."wins", g."last_seq"]::float8[]) WITH ORDINALITY AS f(v, k)),
	''::bytea ORDER BY g."strategy_id")
FROM "strategy_games" g GROUP BY g."game_id";--> statement-breakpoint
ALTER TABLE "strategies" ADD COLUMN "pnl" double precision DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "strategies" ADD COLUMN "trades" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "strategies" ADD COLUMN "wins" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "strategies" ADD COLUMN "games" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "strategies" ADD COLUMN "open_positions" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
UPDATE "strategies" s SET "pnl" = t."pnl", "trades" = t."trades", "wins" = t."wins", "games" = t."games", "open_positions" = t."open"
FROM (SELECT "strategy_id", sum("pnl") AS "pnl", sum("trades")::int AS "trades", sum("wins")::int AS "wins", count(*)::int AS "games",
	(count(*) FILTER (WHERE "pos" <> 0))::int AS "open" FROM "strategy_games" GROUP BY "strategy_id") t
WHERE t."strategy_id" = s."id";--> statement-breakpoint
DROP TABLE "strategy_games" CASCADE;
