ALTER TABLE "signals" ADD COLUMN "seq" bigint;--> statement-breakpoint
ALTER TABLE "signals" ADD COLUMN "strategy_seq" integer;--> statement-breakpoint
UPDATE "signals" s SET "seq" = n.seq, "strategy_seq" = n.strategy_seq FROM (SELECT "id", row_number() OVER (ORDER BY "id") AS seq, row_number() OVER (PARTITION BY "strategy_id" ORDER BY "id") AS strategy_seq FROM "signals") n WHERE s."id" = n."id";--> statement-breakpoint
ALTER TABLE "signals" ALTER COLUMN "seq" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "signals" ALTER COLUMN "strategy_seq" SET NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "signals_seq_idx" ON "signals" USING btree ("seq");--> statement-breakpoint
CREATE UNIQUE INDEX "signals_strategy_seq_idx" ON "signals" USING btree ("strategy_id","strategy_seq");
