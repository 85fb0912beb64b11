-- A repair stopped by SIGTERM between two chunks (its written items journalled) is 'interrupted'.
ALTER TABLE repair_runs DROP CONSTRAINT repair_runs_status_check;
ALTER TABLE repair_runs ADD CONSTRAINT repair_runs_status_check
    CHECK (status IN ('applying', 'applied', 'failed', 'interrupted', 'undone'));
