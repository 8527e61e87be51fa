CREATE TABLE "metrics_history" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "metrics_history_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"at" timestamp with time zone NOT NULL,
	"interval_ms" integer NOT NULL,
	"connections" integer NOT NULL,
	"messages_per_second" double precision NOT NULL,
	"bytes_per_second" double precision NOT NULL,
	"drops" bigint NOT NULL,
	"drops_per_second" double precision NOT NULL,
	"publish_p99_ms" double precision,
	"data_age_p99_ms" double precision,
	"event_loop_lag_p99_ms" double precision,
	"store_latency_ms" double precision,
	"jobs" jsonb NOT NULL,
	"busy_workers" integer NOT NULL,
	"rss_bytes" bigint NOT NULL,
	"cpu_percent" double precision NOT NULL,
	"alerts" jsonb NOT NULL
);
--> statement-breakpoint
CREATE INDEX "metrics_history_at_idx" ON "metrics_history" USING btree ("at");