ALTER TABLE "action_logs" ADD COLUMN "attempt" integer;--> statement-breakpoint
ALTER TABLE "action_logs" ADD COLUMN "seq" bigint;--> statement-breakpoint
ALTER TABLE "action_logs" ADD CONSTRAINT "action_logs_seq_key" UNIQUE("action_id","attempt","seq");