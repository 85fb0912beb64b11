-- The discrepancy workflow (triage and the cutover gate): what each store held, a note, and the
-- status 'accepted' for known, tolerated differences; every status change is kept as an event so
-- the report can draw open / accepted / resolved over time.

ALTER TABLE discrepancies
    ADD COLUMN observed     jsonb,          -- values each store held (`values`, docs/reference.md §5), redacted where set
    ADD COLUMN note         text,
    ADD COLUMN accepted_at  timestamptz,
    ADD COLUMN accepted_by  text;

ALTER TABLE discrepancies DROP CONSTRAINT discrepancies_status_check;
ALTER TABLE discrepancies ADD CONSTRAINT discrepancies_status_check
    CHECK (status IN ('open', 'accepted', 'resolved'));

CREATE TABLE discrepancy_events (
    id      bigserial   PRIMARY KEY,
    entity  text        NOT NULL,
    key_id  text        NOT NULL,
    kind    text        NOT NULL,
    status  text        NOT NULL,           -- the status the discrepancy entered
    at      timestamptz NOT NULL DEFAULT now(),
    by      text,
    note    text
);
CREATE INDEX discrepancy_events_at ON discrepancy_events (at);

-- A trigger, so that every writer (stream checker, reconciler, replay, triage) leaves the same trail.
-- SET search_path FROM CURRENT pins the store schema the migrator runs in.
-- A reopen by hand names who did it in the transaction-local setting parity.actor.
CREATE FUNCTION discrepancy_event() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    actor text := NULLIF(current_setting('parity.actor', true), '');
BEGIN
    IF NEW.status = 'open' AND TG_OP = 'UPDATE' AND OLD.status = 'accepted' AND actor IS NOT NULL THEN
        INSERT INTO discrepancy_events (entity, key_id, kind, status, at, by, note)
        VALUES (NEW.entity, NEW.key_id, NEW.kind, 'open', now(), actor, NEW.note);
        RETURN NULL;
    END IF;
    INSERT INTO discrepancy_events (entity, key_id, kind, status, at, by, note)
    VALUES (NEW.entity, NEW.key_id, NEW.kind, NEW.status,
            CASE NEW.status WHEN 'resolved' THEN COALESCE(NEW.resolved_at, now())
                            WHEN 'accepted' THEN COALESCE(NEW.accepted_at, now())
                            ELSE NEW.last_seen END,
            CASE NEW.status WHEN 'resolved' THEN NEW.resolved_by
                            WHEN 'accepted' THEN NEW.accepted_by
                            ELSE NEW.detected_by END,
            NEW.note);
    RETURN NULL;
END $$;

CREATE TRIGGER discrepancy_inserted AFTER INSERT ON discrepancies
    FOR EACH ROW EXECUTE FUNCTION discrepancy_event();
CREATE TRIGGER discrepancy_status_changed AFTER UPDATE ON discrepancies
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.note IS DISTINCT FROM NEW.note)
    EXECUTE FUNCTION discrepancy_event();
