CREATE TABLE "action_logs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"workflow_id" uuid NOT NULL,
	"action_id" uuid NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"stream" text NOT NULL,
	"line" text NOT NULL,
	CONSTRAINT "action_logs_stream_check" CHECK ("action_logs"."stream" IN ('stdout','stderr'))
);
--> statement-breakpoint
CREATE TABLE "hardware" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"labels" jsonb,
	"annotations" jsonb,
	"spec" jsonb NOT NULL,
	"macs" text[] DEFAULT '{}'::text[] NOT NULL,
	"agent_id" text,
	"resource_version" bigint DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "hardware_namespace_name_key" UNIQUE("namespace","name")
);
--> statement-breakpoint
CREATE TABLE "templates" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"labels" jsonb,
	"annotations" jsonb,
	"data" text NOT NULL,
	"spec" jsonb NOT NULL,
	"resource_version" bigint DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "templates_namespace_name_key" UNIQUE("namespace","name")
);
--> statement-breakpoint
CREATE TABLE "workflow_actions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workflow_id" uuid NOT NULL,
	"task_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"name" text NOT NULL,
	"image" text NOT NULL,
	"timeout" integer DEFAULT 0 NOT NULL,
	"command" text[] NOT NULL,
	"environment" jsonb NOT NULL,
	"volumes" text[] NOT NULL,
	"pid" text DEFAULT '' NOT NULL,
	"namespaces" jsonb NOT NULL,
	"on_timeout" text[] NOT NULL,
	"on_failure" text[] NOT NULL,
	"retries" integer DEFAULT 0 NOT NULL,
	"state" text DEFAULT 'PENDING' NOT NULL,
	"attempt" integer DEFAULT 1 NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"message" text,
	CONSTRAINT "workflow_actions_position_key" UNIQUE("workflow_id","position"),
	CONSTRAINT "workflow_actions_state_check" CHECK (state IN ('PENDING','RUNNING','SUCCESS','FAILED','TIMEOUT'))
);
--> statement-breakpoint
CREATE TABLE "workflow_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"workflow_id" uuid NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"type" text NOT NULL,
	"from_state" text,
	"to_state" text,
	"action_id" uuid,
	"action_name" text,
	"message" text
);
--> statement-breakpoint
CREATE TABLE "workflow_tasks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workflow_id" uuid NOT NULL,
	"position" integer NOT NULL,
	"name" text NOT NULL,
	"worker" text NOT NULL,
	"volumes" text[] NOT NULL,
	"environment" jsonb NOT NULL,
	CONSTRAINT "workflow_tasks_position_key" UNIQUE("workflow_id","position")
);
--> statement-breakpoint
CREATE TABLE "workflows" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"labels" jsonb,
	"annotations" jsonb,
	"spec" jsonb NOT NULL,
	"template_ref" text NOT NULL,
	"hardware_ref" text,
	"hardware_map" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"disabled" boolean DEFAULT false NOT NULL,
	"toggle_allow_netboot" boolean DEFAULT false NOT NULL,
	"boot_mode" text,
	"state" text NOT NULL,
	"rendered" text NOT NULL,
	"global_timeout" integer DEFAULT 0 NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"current_action_index" integer DEFAULT 0 NOT NULL,
	"total_actions" integer NOT NULL,
	"resource_version" bigint DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "workflows_namespace_name_key" UNIQUE("namespace","name"),
	CONSTRAINT "workflows_state_check" CHECK (state IN ('PREPARING','PENDING','RUNNING','POST','SUCCESS','FAILED','TIMEOUT'))
);
--> statement-breakpoint
ALTER TABLE "action_logs" ADD CONSTRAINT "action_logs_workflow_id_workflows_id_fk" FOREIGN KEY ("workflow_id") REFERENCES "public"."workflows"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "action_logs" ADD CONSTRAINT "action_logs_action_id_workflow_actions_id_fk" FOREIGN KEY ("action_id") REFERENCES "public"."workflow_actions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workflow_actions" ADD CONSTRAINT "workflow_actions_workflow_id_workflows_id_fk" FOREIGN KEY ("workflow_id") REFERENCES "public"."workflows"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workflow_actions" ADD CONSTRAINT "workflow_actions_task_id_workflow_tasks_id_fk" FOREIGN KEY ("task_id") REFERENCES "public"."workflow_tasks"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workflow_events" ADD CONSTRAINT "workflow_events_workflow_id_workflows_id_fk" FOREIGN KEY ("workflow_id") REFERENCES "public"."workflows"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workflow_tasks" ADD CONSTRAINT "workflow_tasks_workflow_id_workflows_id_fk" FOREIGN KEY ("workflow_id") REFERENCES "public"."workflows"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "action_logs_action_idx" ON "action_logs" USING btree ("action_id","id");--> statement-breakpoint
CREATE INDEX "action_logs_workflow_idx" ON "action_logs" USING btree ("workflow_id","id");--> statement-breakpoint
CREATE INDEX "hardware_macs_idx" ON "hardware" USING gin ("macs");--> statement-breakpoint
CREATE INDEX "hardware_agent_id_idx" ON "hardware" USING btree ("agent_id");--> statement-breakpoint
CREATE INDEX "workflow_actions_running_idx" ON "workflow_actions" USING btree ("state");--> statement-breakpoint
CREATE INDEX "workflow_events_workflow_idx" ON "workflow_events" USING btree ("workflow_id","id");--> statement-breakpoint
CREATE INDEX "workflow_tasks_worker_idx" ON "workflow_tasks" USING btree ("worker");--> statement-breakpoint
CREATE INDEX "workflows_state_idx" ON "workflows" USING btree ("state");--> statement-breakpoint
CREATE INDEX "workflows_hardware_idx" ON "workflows" USING btree ("namespace","hardware_ref");