-- Tells every listening wispd that Hardware changed, so the in-memory DHCP index stays fresh
-- (daemon/core/hardware-index.ts). The payload names the row; TRUNCATE names none (reload all).
CREATE OR REPLACE FUNCTION "wisp_hardware_notify"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'TRUNCATE' THEN
		PERFORM pg_notify('wisp_hardware', json_build_object('op', TG_OP)::text);
	ELSIF TG_OP = 'DELETE' THEN
		PERFORM pg_notify('wisp_hardware', json_build_object('op', TG_OP, 'id', OLD.id, 'namespace', OLD.namespace, 'name', OLD.name)::text);
	ELSE
		PERFORM pg_notify('wisp_hardware', json_build_object('op', TG_OP, 'id', NEW.id, 'namespace', NEW.namespace, 'name', NEW.name)::text);
	END IF;
	RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "hardware_notify" AFTER INSERT OR UPDATE OR DELETE ON "hardware"
	FOR EACH ROW EXECUTE FUNCTION "wisp_hardware_notify"();
--> statement-breakpoint
CREATE TRIGGER "hardware_notify_truncate" AFTER TRUNCATE ON "hardware"
	FOR EACH STATEMENT EXECUTE FUNCTION "wisp_hardware_notify"();
