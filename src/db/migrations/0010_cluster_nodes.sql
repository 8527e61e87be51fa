CREATE TABLE "nodes" (
	"id" text PRIMARY KEY NOT NULL,
	"instance" text NOT NULL,
	"host" text NOT NULL,
	"port" integer NOT NULL,
	"started_at" bigint NOT NULL,
	"last_heartbeat" bigint NOT NULL,
	"workers" integer NOT NULL,
	"busy" integer NOT NULL,
	"version" text NOT NULL
);
