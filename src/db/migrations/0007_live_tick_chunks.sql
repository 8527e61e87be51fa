-- Live ticks are stored a chunk per (game, ingest request), as packed little-endian float64
-- arrays like game_ticks (issue 12: a row per tick was most of an ingest's database time).
-- No foreign key from the chunks to live_games, nor from signals to strategies and live_games:
-- those checks were about half of a busy request's signal insert; live games and strategies are
-- never deleted, every write runs under the live lock, and ingest writes or reads the rows those
-- ids name in the same transaction (it validates the game ids, the strategy ids are read there).
CREATE TABLE "live_tick_chunks" (
	"game_id" text NOT NULL,
	"first_seq" integer NOT NULL,
	"count" integer NOT NULL,
	"t" "bytea" NOT NULL,
	"price" "bytea" NOT NULL,
	"fair" "bytea" NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "live_tick_chunks_game_id_first_seq_pk" PRIMARY KEY("game_id","first_seq")
);
--> statement-breakpoint
-- The ticks already stored become one chunk per game (their seqs run 0..n-1: settlement deletes
-- a game's ticks), received when its last tick was. float8send gives big-endian bytes, reversed
-- here into the little-endian order of packed.ts.
INSERT INTO "live_tick_chunks" ("game_id", "first_seq", "count", "t", "price", "fair", "received_at")
SELECT "game_id", min("seq"), count(*)::int, string_agg("bt", ''::bytea ORDER BY "seq"), string_agg("bp", ''::bytea ORDER BY "seq"),
	string_agg("bf", ''::bytea ORDER BY "seq"), max("received_at")
FROM (
	SELECT lt."game_id", lt."seq", lt."received_at",
		(SELECT string_agg(substring(float8send(lt."t") FROM i FOR 1), ''::bytea ORDER BY i DESC) FROM generate_series(1, 8) AS i) AS "bt",
		(SELECT string_agg(substring(float8send(lt."price") FROM i FOR 1), ''::bytea ORDER BY i DESC) FROM generate_series(1, 8) AS i) AS "bp",
		(SELECT string_agg(substring(float8send(lt."fair") FROM i FOR 1), ''::bytea ORDER BY i DESC) FROM generate_series(1, 8) AS i) AS "bf"
	FROM "live_ticks" lt
) le
GROUP BY "game_id";--> statement-breakpoint
DROP TABLE "live_ticks" CASCADE;--> statement-breakpoint
ALTER TABLE "signals" DROP CONSTRAINT "signals_strategy_id_strategies_id_fk";--> statement-breakpoint
ALTER TABLE "signals" DROP CONSTRAINT "signals_game_id_live_games_id_fk";
