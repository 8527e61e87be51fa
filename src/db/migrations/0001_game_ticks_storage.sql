-- Packed float64 arrays barely compress: store them out of line without trying (pglz on every
-- game's ticks cost a third of an import's time on PostgreSQL).
ALTER TABLE "game_ticks" ALTER COLUMN "t" SET STORAGE EXTERNAL;--> statement-breakpoint
ALTER TABLE "game_ticks" ALTER COLUMN "price" SET STORAGE EXTERNAL;--> statement-breakpoint
ALTER TABLE "game_ticks" ALTER COLUMN "fair" SET STORAGE EXTERNAL;
