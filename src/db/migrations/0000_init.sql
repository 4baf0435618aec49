CREATE TABLE "accounts" (
	"account_id" text PRIMARY KEY NOT NULL,
	"display_name" text DEFAULT '' NOT NULL,
	"email" text NOT NULL,
	"account_type" text DEFAULT 'ACCOUNT_TYPE_UNSPECIFIED' NOT NULL,
	"state" text DEFAULT 'READY' NOT NULL,
	"suspend_state" text DEFAULT 'UNSUSPENDED' NOT NULL,
	"create_time" timestamp with time zone DEFAULT now() NOT NULL,
	"update_time" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "accounts_state_check" CHECK ("state" in ('CREATING', 'READY', 'UPDATING', 'DELETING')),
	CONSTRAINT "accounts_suspend_state_check" CHECK ("suspend_state" in ('UNSUSPENDED', 'FAILED_PAYMENTS', 'CREDIT_DEPLETED', 'MONTHLY_SPEND_LIMIT_EXCEEDED', 'BLOCKED_BY_ABUSE_RULE'))
);
--> statement-breakpoint
CREATE TABLE "users" (
	"account_id" text NOT NULL,
	"user_id" text NOT NULL,
	"email" text NOT NULL,
	"display_name" text DEFAULT '' NOT NULL,
	"role" text NOT NULL,
	"service_account" boolean DEFAULT false NOT NULL,
	"state" text DEFAULT 'READY' NOT NULL,
	"create_time" timestamp with time zone DEFAULT now() NOT NULL,
	"update_time" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "users_account_id_user_id_pk" PRIMARY KEY("account_id","user_id"),
	CONSTRAINT "users_role_check" CHECK ("role" in ('admin', 'user'))
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"key_id" text PRIMARY KEY NOT NULL,
	"account_id" text NOT NULL,
	"user_id" text NOT NULL,
	"display_name" text DEFAULT 'default' NOT NULL,
	"prefix" text NOT NULL,
	"key_hash" "bytea" NOT NULL,
	"annotations" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"create_time" timestamp with time zone DEFAULT now() NOT NULL,
	"expire_time" timestamp with time zone,
	"last_used" timestamp with time zone,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "capacity_reservations" (
	"account_id" text NOT NULL,
	"reservation_id" text NOT NULL,
	"display_name" text DEFAULT '' NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"region" text,
	"multi_region" text,
	"accelerator_type" text NOT NULL,
	"reserved_count" integer NOT NULL,
	"start_time" timestamp with time zone NOT NULL,
	"end_time" timestamp with time zone NOT NULL,
	"created_by" text DEFAULT '' NOT NULL,
	"create_time" timestamp with time zone DEFAULT now() NOT NULL,
	"update_time" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "capacity_reservations_account_id_reservation_id_pk" PRIMARY KEY("account_id","reservation_id"),
	CONSTRAINT "capacity_reservations_location_check" CHECK (("capacity_reservations"."region" is null) <> ("capacity_reservations"."multi_region" is null)),
	CONSTRAINT "capacity_reservations_count_check" CHECK ("capacity_reservations"."reserved_count" > 0),
	CONSTRAINT "capacity_reservations_window_check" CHECK ("capacity_reservations"."start_time" < "capacity_reservations"."end_time")
);
--> statement-breakpoint
CREATE TABLE "quota_holds" (
	"account_id" text NOT NULL,
	"quota_name" text NOT NULL,
	"holder" text NOT NULL,
	"amount" double precision NOT NULL,
	"create_time" timestamp with time zone DEFAULT now() NOT NULL,
	"update_time" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "quota_holds_account_id_quota_name_holder_pk" PRIMARY KEY("account_id","quota_name","holder"),
	CONSTRAINT "quota_holds_amount_check" CHECK ("quota_holds"."amount" > 0)
);
--> statement-breakpoint
CREATE TABLE "quotas" (
	"account_id" text NOT NULL,
	"name" text NOT NULL,
	"value" bigint NOT NULL,
	"max_value" bigint NOT NULL,
	"usage" double precision DEFAULT 0 NOT NULL,
	"update_time" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "quotas_account_id_name_pk" PRIMARY KEY("account_id","name"),
	CONSTRAINT "quotas_value_check" CHECK ("quotas"."value" >= 0 and "quotas"."value" <= "quotas"."max_value"),
	CONSTRAINT "quotas_usage_check" CHECK ("quotas"."usage" >= 0)
);
--> statement-breakpoint
CREATE TABLE "usage_ledger" (
	"account_id" text NOT NULL,
	"replica" text NOT NULL,
	"interval_start" timestamp with time zone NOT NULL,
	"interval_end" timestamp with time zone NOT NULL,
	"deployment" text NOT NULL,
	"region" text NOT NULL,
	"accelerator_type" text NOT NULL,
	"accelerator_count" integer NOT NULL,
	"gpu_seconds" double precision NOT NULL,
	"record_time" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "usage_ledger_account_id_replica_interval_start_pk" PRIMARY KEY("account_id","replica","interval_start"),
	CONSTRAINT "usage_ledger_interval_check" CHECK ("usage_ledger"."interval_start" < "usage_ledger"."interval_end"),
	CONSTRAINT "usage_ledger_gpu_seconds_check" CHECK ("usage_ledger"."gpu_seconds" >= 0),
	CONSTRAINT "usage_ledger_accelerator_count_check" CHECK ("usage_ledger"."accelerator_count" >= 0)
);
--> statement-breakpoint
CREATE TABLE "datasets" (
	"account_id" text NOT NULL,
	"dataset_id" text NOT NULL,
	"display_name" text DEFAULT '' NOT NULL,
	"state" text DEFAULT 'UPLOADING' NOT NULL,
	"status" jsonb DEFAULT '{"code":"OK"}'::jsonb NOT NULL,
	"format" text DEFAULT 'FORMAT_UNSPECIFIED' NOT NULL,
	"example_count" bigint,
	"estimated_token_count" bigint,
	"spec" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"storage_uri" text,
	"created_by" text DEFAULT '' NOT NULL,
	"create_time" timestamp with time zone DEFAULT now() NOT NULL,
	"update_time" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "datasets_account_id_dataset_id_pk" PRIMARY KEY("account_id","dataset_id")
);
--> statement-breakpoint
CREATE TABLE "models" (
	"account_id" text NOT NULL,
	"model_id" text NOT NULL,
	"display_name" text DEFAULT '' NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"kind" text DEFAULT 'HF_PEFT_ADDON' NOT NULL,
	"state" text DEFAULT 'UPLOADING' NOT NULL,
	"status" jsonb DEFAULT '{"code":"OK"}'::jsonb NOT NULL,
	"spec" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"fine_tuning_job" text,
	"created_by" text DEFAULT '' NOT NULL,
	"create_time" timestamp with time zone DEFAULT now() NOT NULL,
	"update_time" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "models_account_id_model_id_pk" PRIMARY KEY("account_id","model_id")
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"time" timestamp with time zone DEFAULT now() NOT NULL,
	"account_id" text NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"resource" text NOT NULL,
	"outcome" text DEFAULT 'OK' NOT NULL,
	"request_id" text,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_account_id_accounts_account_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("account_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_account_id_user_id_users_account_id_user_id_fk" FOREIGN KEY ("account_id","user_id") REFERENCES "public"."users"("account_id","user_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "capacity_reservations" ADD CONSTRAINT "capacity_reservations_account_id_accounts_account_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("account_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "quota_holds" ADD CONSTRAINT "quota_holds_account_id_quota_name_quotas_account_id_name_fk" FOREIGN KEY ("account_id","quota_name") REFERENCES "public"."quotas"("account_id","name") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "quotas" ADD CONSTRAINT "quotas_account_id_accounts_account_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("account_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "usage_ledger" ADD CONSTRAINT "usage_ledger_account_id_accounts_account_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("account_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "datasets" ADD CONSTRAINT "datasets_account_id_accounts_account_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("account_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "models" ADD CONSTRAINT "models_account_id_accounts_account_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("account_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "users_account_email_idx" ON "users" USING btree ("account_id","email");--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_prefix_idx" ON "api_keys" USING btree ("prefix");--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_key_hash_idx" ON "api_keys" USING btree ("key_hash");--> statement-breakpoint
CREATE INDEX "api_keys_account_user_idx" ON "api_keys" USING btree ("account_id","user_id") WHERE "api_keys"."revoked_at" is null;--> statement-breakpoint
CREATE INDEX "usage_ledger_account_time_idx" ON "usage_ledger" USING btree ("account_id","interval_start");--> statement-breakpoint
CREATE INDEX "usage_ledger_deployment_idx" ON "usage_ledger" USING btree ("account_id","deployment","interval_start");--> statement-breakpoint
CREATE INDEX "datasets_account_create_idx" ON "datasets" USING btree ("account_id","create_time");--> statement-breakpoint
CREATE INDEX "models_account_create_idx" ON "models" USING btree ("account_id","create_time");--> statement-breakpoint
CREATE INDEX "audit_log_account_time_idx" ON "audit_log" USING btree ("account_id","time");