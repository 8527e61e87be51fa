CREATE TYPE "public"."signal_action" AS ENUM('open_long', 'open_short', 'close', 'settle');--> statement-breakpoint
CREATE TYPE "public"."strategy_status" AS ENUM('active', 'stopped');--> statement-breakpoint
CREATE TABLE "live_games" (
	"id" text PRIMARY KEY NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"tick_count" integer NOT NULL,
	"last_t" double precision NOT NULL,
	"last_price" double precision NOT NULL,
	"last_fair" double precision NOT NULL,
	"settled_at" timestamp with time zone,
	"outcome" smallint
);
--> statement-breakpoint
CREATE TABLE "live_ticks" (
	"game_id" text NOT NULL,
	"seq" integer NOT NULL,
	"t" double precision NOT NULL,
	"price" double precision NOT NULL,
	"fair" double precision NOT NULL,
	CONSTRAINT "live_ticks_game_id_seq_pk" PRIMARY KEY("game_id","seq")
);
--> statement-breakpoint
CREATE TABLE "signals" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "signals_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"strategy_id" integer NOT NULL,
	"game_id" text NOT NULL,
	"action" "signal_action" NOT NULL,
	"t" double precision NOT NULL,
	"price" double precision NOT NULL,
	"fair" double precision NOT NULL,
	"edge" double precision NOT NULL,
	"pnl" double precision,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "strategies" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "strategies_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"entry" double precision NOT NULL,
	"exit" double precision NOT NULL,
	"fee" double precision NOT NULL,
	"status" "strategy_status" DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" text,
	"created_by_token" text,
	"stopped_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "strategy_games" (
	"strategy_id" integer NOT NULL,
	"game_id" text NOT NULL,
	"pos" smallint NOT NULL,
	"ep" double precision NOT NULL,
	"pnl" double precision NOT NULL,
	"trades" integer NOT NULL,
	"wins" integer NOT NULL,
	"last_seq" integer NOT NULL,
	CONSTRAINT "strategy_games_strategy_id_game_id_pk" PRIMARY KEY("strategy_id","game_id")
);
--> statement-breakpoint
ALTER TABLE "live_ticks" ADD CONSTRAINT "live_ticks_game_id_live_games_id_fk" FOREIGN KEY ("game_id") REFERENCES "public"."live_games"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "signals" ADD CONSTRAINT "signals_strategy_id_strategies_id_fk" FOREIGN KEY ("strategy_id") REFERENCES "public"."strategies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "signals" ADD CONSTRAINT "signals_game_id_live_games_id_fk" FOREIGN KEY ("game_id") REFERENCES "public"."live_games"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "strategy_games" ADD CONSTRAINT "strategy_games_strategy_id_strategies_id_fk" FOREIGN KEY ("strategy_id") REFERENCES "public"."strategies"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "strategy_games" ADD CONSTRAINT "strategy_games_game_id_live_games_id_fk" FOREIGN KEY ("game_id") REFERENCES "public"."live_games"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "live_games_settled_idx" ON "live_games" USING btree ("settled_at","started_at");--> statement-breakpoint
CREATE INDEX "signals_strategy_idx" ON "signals" USING btree ("strategy_id","id");--> statement-breakpoint
CREATE INDEX "signals_game_idx" ON "signals" USING btree ("game_id","id");--> statement-breakpoint
CREATE INDEX "strategy_games_game_idx" ON "strategy_games" USING btree ("game_id");