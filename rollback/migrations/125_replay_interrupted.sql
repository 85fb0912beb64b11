-- A replay stopped by SIGTERM (ECS stopping the task) finishes its batch and is marked 'interrupted',
-- apart from 'failed' (an error): rerunning the same apply finishes it.
ALTER TABLE replay_runs DROP CONSTRAINT IF EXISTS replay_runs_status_check;
ALTER TABLE replay_runs ADD CONSTRAINT replay_runs_status_check
    CHECK (status IN ('applying', 'applied', 'failed', 'interrupted', 'undone'));
