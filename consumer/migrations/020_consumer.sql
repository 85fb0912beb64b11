-- The stream checker's own tables (consumer/checker.py, consumer/health.py).

-- First mismatches waiting for grace_seconds before they become discrepancies: one row per key (the
-- newest record of the key), persisted so that a consumer may checkpoint past them and a restart
-- still decides them.
CREATE TABLE consumer_pending (
    entity              text        NOT NULL,
    key_id              text        NOT NULL,
    key                 jsonb       NOT NULL,
    source              text        NOT NULL,
    event_id            text        NOT NULL,
    event_name          text        NOT NULL CHECK (event_name IN ('INSERT', 'MODIFY', 'REMOVE')),
    sequence_number     text,
    approximate_created timestamptz NOT NULL,
    new_image           jsonb,
    old_image           jsonb,
    user_identity       text,
    received_at         timestamptz NOT NULL,
    due_at              timestamptz NOT NULL,
    PRIMARY KEY (entity, key_id)
);
CREATE INDEX consumer_pending_due ON consumer_pending (due_at);

-- One heartbeat per consumer (stream id): when it last committed progress; `parity health` reads it.
CREATE TABLE consumer_heartbeats (
    consumer_id   text        PRIMARY KEY,
    committed_at  timestamptz NOT NULL,
    records       bigint      NOT NULL DEFAULT 0,
    detail        jsonb       NOT NULL DEFAULT '{}'
);
