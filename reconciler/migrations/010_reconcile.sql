-- The reconciler's working tables (owner: reconciler). A run's segments, the keys it scanned (for the
-- missing_in_dynamodb anti-join), its findings and its pending re-checks. A page's keys, findings,
-- pending re-checks and its segment's LastEvaluatedKey and counters are written in ONE transaction,
-- so a resumed run never counts a page twice.

CREATE TABLE reconcile_segments (
    run_id              text        NOT NULL REFERENCES reconcile_runs (run_id) ON DELETE CASCADE,
    segment             integer     NOT NULL,          -- -1 holds the final anti-join phase's counters
    status              text        NOT NULL DEFAULT 'pending'
                                    CHECK (status IN ('pending', 'running', 'done', 'interrupted')),
    last_evaluated_key  jsonb,                          -- typed DynamoDB JSON (B as base64)
    pages               integer     NOT NULL DEFAULT 0,
    counters            jsonb       NOT NULL DEFAULT '{}',
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, segment)
);

CREATE TABLE reconcile_keys (
    run_id  text  NOT NULL,
    entity  text  NOT NULL,
    key     jsonb NOT NULL,                              -- the JSON output's key object
    PRIMARY KEY (run_id, entity, key)
);

CREATE TABLE reconcile_findings (
    run_id   text   NOT NULL,
    entity   text   NOT NULL,
    key_id   text   NOT NULL,
    key      jsonb  NOT NULL,
    kind     text   NOT NULL,
    columns  text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, entity, key_id)
);

CREATE TABLE reconcile_pending (
    run_id        text        NOT NULL,
    segment       integer     NOT NULL,
    entity        text        NOT NULL,
    key_id        text        NOT NULL,
    key           jsonb       NOT NULL,
    kind          text        NOT NULL,
    columns       text[]      NOT NULL DEFAULT '{}',
    table_key     jsonb       NOT NULL,                 -- the item's table key (typed JSON) for GetItem
    item_version  text,
    row_version   text,
    due_at        timestamptz NOT NULL,
    PRIMARY KEY (run_id, entity, key_id)
);
CREATE INDEX reconcile_pending_segment ON reconcile_pending (run_id, segment, due_at);
