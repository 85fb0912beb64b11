-- parity's own tables. Runs inside the store schema (search_path is set by the migrator).

CREATE TABLE discrepancies (
    entity       text        NOT NULL,
    key_id       text        NOT NULL,          -- sorted JSON of the key: one row per key
    key          jsonb       NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('missing_in_postgres', 'missing_in_dynamodb', 'mismatched')),
    columns      text[]      NOT NULL DEFAULT '{}',
    detected_by  text        NOT NULL CHECK (detected_by IN ('stream', 'reconcile', 'replay')),
    first_seen   timestamptz NOT NULL,
    last_seen    timestamptz NOT NULL,
    status       text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolved_at  timestamptz,
    resolved_by  text,
    PRIMARY KEY (entity, key_id)
);
CREATE INDEX discrepancies_open ON discrepancies (status, entity, kind);

CREATE TABLE stream_checkpoints (
    stream_id        text        NOT NULL,      -- stream ARN (DynamoDB Streams) or Kinesis stream name
    shard_id         text        NOT NULL,
    parent_shard_id  text,
    sequence_number  text,                      -- highest sequence whose verdicts are committed
    shard_closed     boolean     NOT NULL DEFAULT false,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, shard_id)
);

CREATE TABLE stream_gaps (
    id               bigserial   PRIMARY KEY,
    stream_id        text        NOT NULL,
    shard_id         text        NOT NULL,
    after_sequence   text,
    reason           text        NOT NULL,
    detected_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_id, shard_id, after_sequence, reason)
);

CREATE TABLE reconcile_runs (
    run_id          text        PRIMARY KEY,
    status          text        NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished', 'failed', 'interrupted')),
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    total_segments  integer     NOT NULL,
    options         jsonb       NOT NULL DEFAULT '{}',
    report          jsonb
);

-- Images of writes that reached DynamoDB only, kept beyond the 24 h stream retention for replay.
CREATE TABLE dynamodb_only_archive (
    entity          text        NOT NULL,
    key_id          text        NOT NULL,
    event_id        text        NOT NULL,       -- stream event id / sequence: a replayed record is one row
    key             jsonb       NOT NULL,
    event_name      text        NOT NULL CHECK (event_name IN ('INSERT', 'MODIFY', 'REMOVE')),
    approximate_created_at timestamptz,
    new_image       jsonb,                      -- typed DynamoDB JSON
    old_image       jsonb,
    user_identity   text,                       -- 'dynamodb.amazonaws.com' for TTL deletes
    archived_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entity, key_id, event_id)
);

CREATE TABLE dead_letters (
    source          text        NOT NULL,       -- 'dynamodb-streams' | 'kinesis'
    record_id       text        NOT NULL,
    reason          text        NOT NULL,
    raw             jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, record_id)
);
