CREATE TABLE "job_steps" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"job_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"task" jsonb NOT NULL,
	"state" text DEFAULT 'Pending' NOT NULL,
	"attempt" integer DEFAULT 0 NOT NULL,
	"retries" integer NOT NULL,
	"timeout" integer NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"message" text,
	CONSTRAINT "job_steps_position_key" UNIQUE("job_id","position"),
	CONSTRAINT "job_steps_state_check" CHECK (state IN ('Pending','Running','Completed','Failed'))
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"labels" jsonb,
	"annotations" jsonb,
	"spec" jsonb NOT NULL,
	"machine_namespace" text NOT NULL,
	"machine_name" text NOT NULL,
	"state" text DEFAULT 'Pending' NOT NULL,
	"message" text,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"workflow_id" uuid,
	"purpose" text,
	"resource_version" bigint DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "jobs_namespace_name_key" UNIQUE("namespace","name"),
	CONSTRAINT "jobs_state_check" CHECK (state IN ('Pending','Running','Completed','Failed'))
);
--> statement-breakpoint
CREATE TABLE "machines" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"labels" jsonb,
	"annotations" jsonb,
	"spec" jsonb NOT NULL,
	"power_state" text DEFAULT 'unknown' NOT NULL,
	"provider" text,
	"polled_at" timestamp with time zone,
	"last_error" text,
	"failures" integer DEFAULT 0 NOT NULL,
	"resource_version" bigint DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "machines_namespace_name_key" UNIQUE("namespace","name")
);
--> statement-breakpoint
CREATE TABLE "secrets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"labels" jsonb,
	"annotations" jsonb,
	"type" text,
	"data" jsonb NOT NULL,
	"resource_version" bigint DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "secrets_namespace_name_key" UNIQUE("namespace","name")
);
--> statement-breakpoint
ALTER TABLE "job_steps" ADD CONSTRAINT "job_steps_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "jobs" ADD CONSTRAINT "jobs_workflow_id_workflows_id_fk" FOREIGN KEY ("workflow_id") REFERENCES "public"."workflows"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "jobs_state_idx" ON "jobs" USING btree ("state");--> statement-breakpoint
CREATE INDEX "jobs_machine_idx" ON "jobs" USING btree ("machine_namespace","machine_name");