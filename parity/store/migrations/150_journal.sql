-- Journalled runs: one row per run of a command that writes to a store (`parity replay` into
-- PostgreSQL, `parity repair` into DynamoDB) and a journal of every write it made, with what was
-- written to before and after, so that `--undo RUN_ID` can put back exactly what the run changed.
-- `kind` names the command; the images are that command's JSON (replay: to_jsonb of the whole row;
-- repair: the whole typed item, binary as base64) and `target` says where the write went when the
-- key alone does not (repair: the item's table key).
--
-- Replay (migrations 050, 125) and repair (080, 081) each kept an identical pair of tables; their
-- rows are carried over here, seq numbers and times unchanged, and the old tables dropped.

CREATE TABLE journal_runs (
    run_id      text        PRIMARY KEY,
    kind        text        NOT NULL,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status      text        NOT NULL CHECK (status IN ('applying', 'applied', 'failed', 'interrupted', 'undone')),
    options     jsonb       NOT NULL DEFAULT '{}',
    summary     jsonb       NOT NULL DEFAULT '{}',
    undone_at   timestamptz
);
CREATE INDEX journal_runs_kind ON journal_runs (kind, started_at);

CREATE TABLE journal_entries (
    run_id      text        NOT NULL REFERENCES journal_runs (run_id),
    seq         bigint      GENERATED ALWAYS AS IDENTITY,
    entity      text        NOT NULL,
    key_id      text        NOT NULL,
    key         jsonb       NOT NULL,
    action      text        NOT NULL CHECK (action IN ('insert', 'put', 'update', 'delete')),
    target      jsonb,                      -- where the write went, when the key alone does not say
    before      jsonb,                      -- what was there before the write; NULL when nothing was
    after       jsonb,                      -- what the write left; NULL after a delete
    columns     text[]      NOT NULL DEFAULT '{}',
    applied_at  timestamptz NOT NULL DEFAULT now(),
    undone_at   timestamptz,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX journal_entries_key ON journal_entries (entity, key_id);

DO $$
BEGIN
    IF to_regclass(format('%I.replay_runs', current_schema())) IS NOT NULL THEN
        INSERT INTO journal_runs (run_id, kind, started_at, finished_at, status, options, summary, undone_at)
            SELECT run_id, 'replay', started_at, finished_at, status, options, summary, undone_at FROM replay_runs;
        INSERT INTO journal_entries
                (run_id, seq, entity, key_id, key, action, before, after, columns, applied_at, undone_at)
            OVERRIDING SYSTEM VALUE
            SELECT run_id, seq, entity, key_id, key, action, previous, applied, columns, applied_at, undone_at
            FROM replay_journal;
        DROP TABLE replay_journal, replay_runs;
    END IF;
    IF to_regclass(format('%I.repair_runs', current_schema())) IS NOT NULL THEN
        INSERT INTO journal_runs (run_id, kind, started_at, finished_at, status, options, summary, undone_at)
            SELECT run_id, 'repair', started_at, finished_at, status, options, summary, undone_at FROM repair_runs;
        INSERT INTO journal_entries
                (run_id, seq, entity, key_id, key, action, target, before, after, columns, applied_at, undone_at)
            OVERRIDING SYSTEM VALUE
            SELECT run_id, seq, entity, key_id, key, action, item_key, before, after, columns, applied_at, undone_at
            FROM repair_journal;
        DROP TABLE repair_journal, repair_runs;
    END IF;
    -- new entries number on after every carried-over one
    PERFORM setval(pg_get_serial_sequence('journal_entries', 'seq'), max(seq)) FROM journal_entries;
END
$$;
