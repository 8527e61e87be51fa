CREATE TYPE "public"."job_kind" AS ENUM('grid_search', 'simulation');--> statement-breakpoint
CREATE TYPE "public"."job_state" AS ENUM('queued', 'running', 'complete', 'error', 'cancelled');--> statement-breakpoint
CREATE TABLE "game_ticks" (
	"game_id" text PRIMARY KEY NOT NULL,
	"t" "bytea" NOT NULL,
	"price" "bytea" NOT NULL,
	"fair" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE TABLE "games" (
	"id" text PRIMARY KEY NOT NULL,
	"first_t" double precision NOT NULL,
	"tick_count" integer NOT NULL,
	"outcome" smallint NOT NULL,
	"synthetic" boolean DEFAULT false NOT NULL,
	"imported_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "grid_results" (
	"job_id" text NOT NULL,
	"pair" integer NOT NULL,
	"entry" double precision NOT NULL,
	"exit" double precision NOT NULL,
	"train_pnl" double precision NOT NULL,
	"train_trades" integer NOT NULL,
	"train_wins" integer NOT NULL,
	"valid_pnl" double precision NOT NULL,
	"valid_trades" integer NOT NULL,
	"valid_wins" integer NOT NULL,
	"test_pnl" double precision NOT NULL,
	"test_trades" integer NOT NULL,
	"test_wins" integer NOT NULL,
	CONSTRAINT "grid_results_job_id_pair_pk" PRIMARY KEY("job_id","pair")
);
--> statement-breakpoint
CREATE TABLE "imports" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "imports_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"source" text NOT NULL,
	"file_name" text,
	"file_size" bigint,
	"file_mtime" double precision,
	"status" text NOT NULL,
	"games" integer,
	"ticks" bigint,
	"error" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "job_units" (
	"job_id" text NOT NULL,
	"unit" integer NOT NULL,
	"payload" "bytea" NOT NULL,
	CONSTRAINT "job_units_job_id_unit_pk" PRIMARY KEY("job_id","unit")
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" "job_kind" NOT NULL,
	"state" "job_state" DEFAULT 'queued' NOT NULL,
	"params" jsonb NOT NULL,
	"game_ids" jsonb NOT NULL,
	"total" bigint DEFAULT 0 NOT NULL,
	"current" bigint DEFAULT 0 NOT NULL,
	"current_combo" text DEFAULT '' NOT NULL,
	"error" text,
	"summary" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "meta" (
	"key" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "simulation_games" (
	"job_id" text NOT NULL,
	"idx" integer NOT NULL,
	"game_id" text NOT NULL,
	"pnl" double precision NOT NULL,
	"trades" integer NOT NULL,
	"wins" integer NOT NULL,
	"equity" double precision NOT NULL,
	CONSTRAINT "simulation_games_job_id_idx_pk" PRIMARY KEY("job_id","idx")
);
--> statement-breakpoint
ALTER TABLE "game_ticks" ADD CONSTRAINT "game_ticks_game_id_games_id_fk" FOREIGN KEY ("game_id") REFERENCES "public"."games"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "grid_results" ADD CONSTRAINT "grid_results_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "job_units" ADD CONSTRAINT "job_units_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "simulation_games" ADD CONSTRAINT "simulation_games_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "games_order_idx" ON "games" USING btree ("first_t","id");--> statement-breakpoint
CREATE INDEX "jobs_state_idx" ON "jobs" USING btree ("state","created_at");