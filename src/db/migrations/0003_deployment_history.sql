CREATE TABLE "deployment_events" (
	"account_id" text NOT NULL,
	"deployment" text NOT NULL,
	"time" timestamp with time zone NOT NULL,
	"from_replicas" integer NOT NULL,
	"to_replicas" integer NOT NULL,
	"reason" text NOT NULL,
	"message" text DEFAULT '' NOT NULL,
	CONSTRAINT "deployment_events_account_id_deployment_time_reason_pk" PRIMARY KEY("account_id","deployment","time","reason")
);
--> statement-breakpoint
CREATE TABLE "deployment_samples" (
	"account_id" text NOT NULL,
	"deployment" text NOT NULL,
	"resolution_seconds" integer NOT NULL,
	"time" timestamp with time zone NOT NULL,
	"desired_replicas" double precision NOT NULL,
	"ready_replicas" double precision NOT NULL,
	"in_flight" double precision NOT NULL,
	"requests_per_second" double precision NOT NULL,
	"tokens_per_second" double precision NOT NULL,
	CONSTRAINT "deployment_samples_account_id_deployment_resolution_seconds_time_pk" PRIMARY KEY("account_id","deployment","resolution_seconds","time")
);
--> statement-breakpoint
CREATE INDEX "deployment_events_time_idx" ON "deployment_events" USING btree ("time");--> statement-breakpoint
CREATE INDEX "deployment_samples_time_idx" ON "deployment_samples" USING btree ("resolution_seconds","time");