-- parity replay (rollback/): one row per replay run and a journal of every row it changed, with the
-- row's previous values, so that `parity replay --undo RUN_ID` can put them back.

CREATE TABLE replay_runs (
    run_id      text        PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status      text        NOT NULL CHECK (status IN ('applying', 'applied', 'failed', 'undone')),
    options     jsonb       NOT NULL DEFAULT '{}',
    summary     jsonb       NOT NULL DEFAULT '{}',
    undone_at   timestamptz
);

CREATE TABLE replay_journal (
    run_id      text        NOT NULL REFERENCES replay_runs (run_id),
    seq         bigint      GENERATED ALWAYS AS IDENTITY,
    entity      text        NOT NULL,
    key_id      text        NOT NULL,
    key         jsonb       NOT NULL,
    action      text        NOT NULL CHECK (action IN ('insert', 'update', 'delete')),
    previous    jsonb,                      -- to_jsonb(row) before the change; NULL for an insert
    applied     jsonb,                      -- to_jsonb(row) after the change; NULL for a delete
    columns     text[]      NOT NULL DEFAULT '{}',
    applied_at  timestamptz NOT NULL DEFAULT now(),
    undone_at   timestamptz,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX replay_journal_key ON replay_journal (entity, key_id);
