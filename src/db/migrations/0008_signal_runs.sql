CREATE TABLE "signal_runs" (
	"first_id" bigint PRIMARY KEY NOT NULL,
	"first_seq" bigint NOT NULL,
	"strategy_id" integer NOT NULL,
	"first_strategy_seq" integer NOT NULL,
	"count" integer NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"game_ids" text[] NOT NULL,
	"actions" text[] NOT NULL,
	"t" "bytea" NOT NULL,
	"price" "bytea" NOT NULL,
	"fair" "bytea" NOT NULL,
	"edge" "bytea" NOT NULL,
	"pnl" "bytea" NOT NULL
);
--> statement-breakpoint
-- Every stored signal becomes a run of one, keeping its id, seq and strategy_seq (clients page by
-- id). float8send gives big-endian bytes, reversed here into the little-endian order of packed.ts;
-- a null P&L is NaN (0x7ff8000000000000, as a Float64Array holds it).
INSERT INTO "signal_runs" ("first_id", "first_seq", "strategy_id", "first_strategy_seq", "count", "at", "game_ids", "actions", "t", "price", "fair", "edge", "pnl")
SELECT s."id", s."seq", s."strategy_id", s."strategy_seq", 1, s."at", ARRAY[s."game_id"], ARRAY[s."action"::text],
	(SELECT string_agg(substring(float8send(s."t") FROM i FOR 1), ''::bytea ORDER BY i DESC) FROM generate_series(1, 8) AS i), (SELECT string_agg(substring(float8send(s."price") FROM i FOR 1), ''::bytea ORDER BY i DESC) FROM generate_series(1, 8) AS i), (SELECT string_agg(substring(float8send(s."fair") FROM i FOR 1), ''::bytea ORDER BY i DESC) FROM generate_series(1, 8) AS i), (SELECT string_agg(substring(float8send(s."edge") FROM i FOR 1), ''::bytea ORDER BY i DESC) FROM generate_series(1, 8) AS i),
	CASE WHEN s."pnl" IS NULL THEN '\x000000000000f87f'::bytea ELSE (SELECT string_agg(substring(float8send(s."pnl") FROM i FOR 1), ''::bytea ORDER BY i DESC) FROM generate_series(1, 8) AS i) END
FROM "signals" s;--> statement-breakpoint
DROP TABLE "signals" CASCADE;--> statement-breakpoint
CREATE UNIQUE INDEX "signal_runs_seq_idx" ON "signal_runs" USING btree ("first_seq");--> statement-breakpoint
CREATE UNIQUE INDEX "signal_runs_strategy_seq_idx" ON "signal_runs" USING btree ("strategy_id","first_strategy_seq");--> statement-breakpoint
CREATE INDEX "signal_runs_games_idx" ON "signal_runs" USING gin ("game_ids");--> statement-breakpoint
DROP TYPE "public"."signal_action";