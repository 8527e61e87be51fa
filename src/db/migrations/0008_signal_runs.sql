CREATE TABLE "signal_runs" (
	"first_id" bigint PRIMARY KEY NOT NULL,
	"first_seq" bigint NOT NULL,
	"strategy_id" integer NOT NULL,
	"first_strategy_seq" integer NOT NULL,
	"count" integer NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"game_ids" text[] NOT NULL,
	"actions" text[] NOT NULL,
	"t" double precision[] NOT NULL,
	"price" double precision[] NOT NULL,
	"fair" double precision[] NOT NULL,
	"edge" double precision[] NOT NULL,
	"pnl" double precision[] NOT NULL
);
--> statement-breakpoint
-- Every stored signal becomes a run of one, keeping its id, seq and strategy_seq (clients page by id).
INSERT INTO "signal_runs" ("first_id", "first_seq", "strategy_id", "first_strategy_seq", "count", "at", "game_ids", "actions", "t", "price", "fair", "edge", "pnl")
SELECT "id", "seq", "strategy_id", "strategy_seq", 1, "at", ARRAY["game_id"], ARRAY["action"::text], ARRAY["t"], ARRAY["price"], ARRAY["fair"], ARRAY["edge"], ARRAY["pnl"]
FROM "signals";--> statement-breakpoint
DROP TABLE "signals" CASCADE;--> statement-breakpoint
CREATE UNIQUE INDEX "signal_runs_seq_idx" ON "signal_runs" USING btree ("first_seq");--> statement-breakpoint
CREATE UNIQUE INDEX "signal_runs_strategy_seq_idx" ON "signal_runs" USING btree ("strategy_id","first_strategy_seq");--> statement-breakpoint
CREATE INDEX "signal_runs_games_idx" ON "signal_runs" USING gin ("game_ids");--> statement-breakpoint
DROP TYPE "public"."signal_action";