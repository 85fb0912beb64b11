-- parity repair (repair/): one row per repair run and a journal of every DynamoDB item it wrote,
-- with the item's whole image before and after (typed DynamoDB JSON, binary as base64), so that
-- `parity repair --undo RUN_ID` can put back exactly what it changed.

CREATE TABLE repair_runs (
    run_id      text        PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status      text        NOT NULL CHECK (status IN ('applying', 'applied', 'failed', 'undone')),
    options     jsonb       NOT NULL DEFAULT '{}',
    summary     jsonb       NOT NULL DEFAULT '{}',
    undone_at   timestamptz
);

CREATE TABLE repair_journal (
    run_id      text        NOT NULL REFERENCES repair_runs (run_id),
    seq         bigint      GENERATED ALWAYS AS IDENTITY,
    entity      text        NOT NULL,
    key_id      text        NOT NULL,
    key         jsonb       NOT NULL,
    action      text        NOT NULL CHECK (action IN ('put', 'update', 'delete')),
    item_key    jsonb       NOT NULL,       -- the item's table key (typed)
    before      jsonb,                      -- the whole item before the write; NULL when there was none
    after       jsonb,                      -- the whole item after the write; NULL after a delete
    columns     text[]      NOT NULL DEFAULT '{}',
    applied_at  timestamptz NOT NULL DEFAULT now(),
    undone_at   timestamptz,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX repair_journal_key ON repair_journal (entity, key_id);
