"""SIGTERM during `parity replay --apply` (ECS stopping the task): the batch in hand is finished and
committed, the run is marked interrupted, the exit code says so, and a rerun finishes the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from parity.local.example import generate, write_dynamodb
from parity.pg import connect
from tests.conftest import ExampleEnv

_LOCK = 424242


def _ids(env: ExampleEnv) -> set[str]:
    with connect(env.dsn) as conn:
        return {str(r["id"]) for r in conn.execute("SELECT id FROM public.sessions")}


def test_sigterm_finishes_the_batch_marks_the_run_interrupted_and_a_rerun_finishes(example_env: ExampleEnv) -> None:
    sessions = sorted(generate(1, 6, seed=11)[0].sessions, key=lambda s: s.id)
    write_dynamodb(example_env.dynamodb, example_env.table, sessions)  # type: ignore[arg-type]
    blocker = sessions[2].id  # first row of the second batch of two: its insert waits on a lock we hold
    example_env.conn.execute(
        f"""CREATE FUNCTION hold() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF NEW.id = '{blocker}' THEN PERFORM pg_advisory_lock({_LOCK}); END IF; RETURN NEW; END $$;
            CREATE TRIGGER hold BEFORE INSERT ON public.sessions FOR EACH ROW EXECUTE FUNCTION hold();"""
    )
    example_env.conn.commit()
    holder = connect(example_env.dsn)
    holder.execute("SELECT pg_advisory_lock(%s)", (_LOCK,))
    holder.commit()
    command = [sys.executable, "-m", "parity.cli", "replay", "--config", str(example_env.config_path)]
    apply = [*command, "--from-stream", "--apply", "--batch-size", "2"]
    process = subprocess.Popen(apply, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    try:
        deadline = time.monotonic() + 60
        while True:  # until the second batch's insert waits on our lock
            waiting = holder.execute(
                "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND NOT granted",
                (_LOCK,),
            ).fetchone()
            holder.commit()
            if waiting and waiting["n"]:
                break
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "replay never reached the second batch"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # the handler has run; the batch is still blocked
        holder.execute("SELECT pg_advisory_unlock(%s)", (_LOCK,))
        holder.commit()
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        holder.close()
    assert process.returncode == 143, err
    assert "stopped by a signal after 4 of 6 change(s)" in err
    assert len(err.strip().splitlines()[-1:]) == 1
    assert _ids(example_env) == {s.id for s in sessions[:4]}  # batches 1 and 2 whole, batch 3 not begun
    runs = json.loads(subprocess.run([*command, "--runs", "--json"], capture_output=True, text=True).stdout)
    assert [r["status"] for r in runs] == ["interrupted"]
    rerun = subprocess.run([*apply, "--json"], capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["applied"] == 2
    assert _ids(example_env) == {s.id for s in sessions}
