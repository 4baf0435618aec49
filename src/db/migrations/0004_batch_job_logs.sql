CREATE TABLE "batch_job_log_lines" (
	"job_uid" text NOT NULL,
	"rank" integer NOT NULL,
	"seq" integer NOT NULL,
	"log_time_micros" bigint NOT NULL,
	"message" text NOT NULL,
	CONSTRAINT "batch_job_log_lines_job_uid_rank_seq_pk" PRIMARY KEY("job_uid","rank","seq")
);
--> statement-breakpoint
CREATE TABLE "batch_job_log_ranks" (
	"job_uid" text NOT NULL,
	"rank" integer NOT NULL,
	"account_id" text NOT NULL,
	"job_key" text NOT NULL,
	"lines" integer NOT NULL,
	"archived_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "batch_job_log_ranks_job_uid_rank_pk" PRIMARY KEY("job_uid","rank")
);
--> statement-breakpoint
CREATE INDEX "batch_job_log_lines_time_idx" ON "batch_job_log_lines" USING btree ("job_uid","log_time_micros","rank","seq");--> statement-breakpoint
CREATE INDEX "batch_job_log_ranks_archived_idx" ON "batch_job_log_ranks" USING btree ("archived_at");--> statement-breakpoint
CREATE INDEX "batch_job_log_ranks_job_key_idx" ON "batch_job_log_ranks" USING btree ("job_key");