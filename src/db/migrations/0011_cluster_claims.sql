CREATE TABLE "job_claims" (
	"job_id" text NOT NULL,
	"unit" integer NOT NULL,
	"node_id" text,
	CONSTRAINT "job_claims_job_id_unit_pk" PRIMARY KEY("job_id","unit")
);
--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "owner_node" text;--> statement-breakpoint
ALTER TABLE "job_claims" ADD CONSTRAINT "job_claims_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;