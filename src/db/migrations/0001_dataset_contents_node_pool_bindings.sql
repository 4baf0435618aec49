CREATE TABLE "node_pool_bindings" (
	"account_id" text NOT NULL,
	"node_pool_id" text NOT NULL,
	"principal" text NOT NULL,
	"created_by" text DEFAULT '' NOT NULL,
	"create_time" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "node_pool_bindings_account_id_node_pool_id_principal_pk" PRIMARY KEY("account_id","node_pool_id","principal")
);
--> statement-breakpoint
CREATE TABLE "dataset_contents" (
	"account_id" text NOT NULL,
	"dataset_id" text NOT NULL,
	"file_name" text NOT NULL,
	"chunk" integer NOT NULL,
	"data" "bytea" NOT NULL,
	CONSTRAINT "dataset_contents_account_id_dataset_id_file_name_chunk_pk" PRIMARY KEY("account_id","dataset_id","file_name","chunk")
);
--> statement-breakpoint
ALTER TABLE "node_pool_bindings" ADD CONSTRAINT "node_pool_bindings_account_id_accounts_account_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("account_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dataset_contents" ADD CONSTRAINT "dataset_contents_account_id_dataset_id_datasets_account_id_dataset_id_fk" FOREIGN KEY ("account_id","dataset_id") REFERENCES "public"."datasets"("account_id","dataset_id") ON DELETE cascade ON UPDATE no action;