-- Tells every listening wispd which agents' next action may have changed, so the in-memory
-- answer to GetAction stays true (daemon/core/action-index.ts). The payload names the workers
-- (normalised MACs or agent ids) of the changed rows; TRUNCATE names none (forget everything).
CREATE OR REPLACE FUNCTION "wisp_workflow_notify"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	workers text[];
BEGIN
	IF TG_OP = 'TRUNCATE' THEN
		PERFORM pg_notify('wisp_workflow', json_build_object('op', TG_OP)::text);
		RETURN NULL;
	END IF;
	IF TG_TABLE_NAME = 'workflow_tasks' THEN
		IF TG_OP = 'INSERT' THEN
			workers := ARRAY[NEW.worker];
		ELSIF TG_OP = 'DELETE' THEN
			workers := ARRAY[OLD.worker];
		ELSE
			workers := ARRAY[OLD.worker, NEW.worker];
		END IF;
	ELSIF TG_TABLE_NAME = 'workflow_actions' THEN
		IF TG_OP = 'DELETE' THEN
			workers := ARRAY(SELECT "worker" FROM "workflow_tasks" WHERE "id" = OLD.task_id);
		ELSE
			workers := ARRAY(SELECT "worker" FROM "workflow_tasks" WHERE "id" = NEW.task_id);
		END IF;
	ELSIF TG_OP = 'DELETE' THEN
		workers := ARRAY(SELECT DISTINCT "worker" FROM "workflow_tasks" WHERE "workflow_id" = OLD.id);
	ELSE
		workers := ARRAY(SELECT DISTINCT "worker" FROM "workflow_tasks" WHERE "workflow_id" = NEW.id);
	END IF;
	-- A cascade deletes the tasks first; their own notifications name the workers.
	IF cardinality(workers) > 0 THEN
		PERFORM pg_notify('wisp_workflow', json_build_object('op', TG_OP, 'workers', workers)::text);
	END IF;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "workflows_notify" AFTER INSERT OR UPDATE OR DELETE ON "workflows"
	FOR EACH ROW EXECUTE FUNCTION "wisp_workflow_notify"();
--> statement-breakpoint
CREATE TRIGGER "workflows_notify_truncate" AFTER TRUNCATE ON "workflows"
	FOR EACH STATEMENT EXECUTE FUNCTION "wisp_workflow_notify"();
--> statement-breakpoint
CREATE TRIGGER "workflow_tasks_notify" AFTER INSERT OR UPDATE OR DELETE ON "workflow_tasks"
	FOR EACH ROW EXECUTE FUNCTION "wisp_workflow_notify"();
--> statement-breakpoint
CREATE TRIGGER "workflow_actions_notify" AFTER INSERT OR UPDATE OR DELETE ON "workflow_actions"
	FOR EACH ROW EXECUTE FUNCTION "wisp_workflow_notify"();
