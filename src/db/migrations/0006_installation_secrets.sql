CREATE TABLE "installation_secrets" (
	"name" text PRIMARY KEY NOT NULL,
	"secret" text NOT NULL,
	"create_time" timestamp with time zone DEFAULT now() NOT NULL
);
