-- Every live ingest rewrites the row of each of its games and of each (strategy, game) state, none
-- of their indexed columns changing. With room left on each page the new row versions go on the
-- same page without new index entries (PostgreSQL's heap-only tuple updates): a fifth of a busy
-- ingest request's time (issue 12). Pages already full get the room as they are rewritten.
ALTER TABLE "strategy_games" SET (fillfactor = 50);--> statement-breakpoint
ALTER TABLE "live_games" SET (fillfactor = 50);
