"""docs/rollback-procedure.md, checked and run as written.

1. Every ``parity ...`` command on the page (in code blocks and inline code) parses with the real
   argument parser, so the runbook can never name a command or flag that does not exist.
2. The blocks marked ``<!-- runbook-step: NAME -->`` are run in the page's order, through a shell,
   as an engineer would paste them, on the local stack (moto's DynamoDB with its stream, real
   PostgreSQL) after the workload of :mod:`tests.rollback.runbook_workload`. After each step the
   test checks what the page says the engineer should see. The only edits: ``--stop-when-idle 120``
   is shortened, and ``RUN_ID`` becomes the run id the apply printed.
3. The undo step runs where the page puts it; then, as the page says, the replay starts over at
   the dry run. The end: ``parity reconcile --json`` at 100 %, and every row the replay had no
   business changing - above all the rows newer than their archived DynamoDB image - byte for byte
   what it was (same text, same ``xmin``: not even rewritten with equal values).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from parity.cli import build_parser
from parity.local.embedded import LOCAL_AWS_ENV
from parity.local.example import config_toml, write_dynamodb
from parity.pg import connect
from tests.conftest import ExampleEnv
from tests.rollback.runbook_workload import Workload, phase_a, phase_b

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "rollback-procedure.md"

# The test's only edits to the page's commands (besides RUN_ID): waits shortened.
SHORTER = {"--stop-when-idle 120": "--stop-when-idle 1.5"}

CONSUMER = "grace_seconds = 1\nbatch_size = 100\npoll_interval_seconds = 0.1\n"
RECONCILE = "\n[reconcile]\nrecheck_delay_seconds = 0.2\n"

_STEP = re.compile(r"^<!-- runbook-step: ([a-z-]+) -->\n```sh\n(.*?)^```", re.M | re.S)
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
_INLINE = re.compile(r"`(parity [^`]+)`")
_SEPARATORS = {"|", "||", "&&", ";", "&"}
_REDIRECTS = {">", ">>", "<"}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


# --- reading the page ------------------------------------------------------------------------------


def shell_commands(block: str) -> list[list[str]]:
    """The simple commands of a shell block (continuations joined, comments, pipes, redirects cut)."""
    commands: list[list[str]] = []
    for line in block.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        current: list[str] = []
        skip_next = False
        for token in lexer:
            if skip_next:
                skip_next = False
            elif token in _SEPARATORS:
                commands.append(current)
                current = []
            elif token in _REDIRECTS:
                skip_next = True
            else:
                current.append(token)
        commands.append(current)
    return [c for c in commands if c]


def parity_argv(command: list[str]) -> list[str] | None:
    """The arguments after ``parity`` when the command runs parity (leading VAR=value skipped)."""
    words = list(command)
    while words and _ASSIGNMENT.match(words[0]):
        words.pop(0)
    return words[1:] if words and words[0] == "parity" else None


def every_parity_command(page: str) -> list[list[str]]:
    found = []
    for block in _FENCE.findall(page):
        found += [argv for c in shell_commands(block) if (argv := parity_argv(c)) is not None]
    prose = _FENCE.sub("", page)
    for span in _INLINE.findall(prose):  # inline code is read as a shell line too (redirects cut)
        found += [argv for c in shell_commands(span) if (argv := parity_argv(c)) is not None]
    return found


@dataclass(frozen=True)
class Step:
    name: str
    lines: list[str]  # shell lines as written (continuations joined)


def runbook_steps(page: str) -> list[Step]:
    return [
        Step(name, [ln for ln in body.replace("\\\n", " ").splitlines() if ln.strip()])
        for name, body in _STEP.findall(page)
    ]


# --- the page, statically ----------------------------------------------------------------------------


def test_every_parity_command_on_the_page_parses() -> None:
    page = RUNBOOK.read_text(encoding="utf-8")
    commands = every_parity_command(page)
    assert len(commands) >= 20, commands  # the extraction found the page's commands
    parser = build_parser()
    failures = []
    for argv in commands:
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                args = parser.parse_args(argv)
        except SystemExit as exc:
            failures.append(f"parity {shlex.join(argv)}: exit {exc.code}: {err.getvalue().strip()}")
            continue
        if getattr(args, "_run", None) is None:
            failures.append(f"parity {shlex.join(argv)}: command not available in this build")
    assert not failures, "\n".join(failures)


def test_the_parser_check_catches_a_made_up_flag() -> None:
    """The check above is not vacuous: a flag that does not exist fails it."""
    page = "run `parity replay --apply --no-such-flag` now\n```sh\nparity reconcile --json > r.json\n```\n"
    commands = every_parity_command(page)
    assert commands == [["reconcile", "--json"], ["replay", "--apply", "--no-such-flag"]]
    with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
        build_parser().parse_args(commands[1])


def test_runnable_steps_are_marked_and_hold_only_parity_commands() -> None:
    page = RUNBOOK.read_text(encoding="utf-8")
    steps = runbook_steps(page)
    names = [s.name for s in steps]
    markers = [ln for ln in page.splitlines() if ln.startswith("<!-- runbook-step:")]
    assert len(markers) == len(steps), "a marker not followed by a ```sh block"
    assert len(set(names)) == len(names), names
    assert set(names) == set(CHECKS), f"steps on the page {names} vs steps the test knows {sorted(CHECKS)}"
    for step in steps:
        for line in step.lines:
            commands = shell_commands(line)
            assert len(commands) == 1 and parity_argv(commands[0]) is not None, (step.name, line)


# --- running the page ----------------------------------------------------------------------------------


@dataclass
class Run:
    """One runbook session: the work folder with parity.toml, and what the steps left behind."""

    env: ExampleEnv
    workdir: Path
    workload: Workload
    at_start: dict[tuple[str, str], tuple[str, str]]  # rows before the runbook: text and xmin
    before_apply: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)
    outputs: dict[str, list[subprocess.CompletedProcess[str]]] = field(default_factory=dict)
    # what the next dry run must plan (None: the whole workload's plan)
    expected_plan: dict[tuple[str, str], tuple[str, tuple[str, ...]]] | None = None
    not_in_plan: int = 0  # what the last apply left out of the reviewed plan
    timings: list[tuple[str, float]] = field(default_factory=list)

    def file(self, name: str) -> Any:
        return json.loads((self.workdir / name).read_text(encoding="utf-8"))


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PARITY_POSTGRES_DSN", "AWS_ENDPOINT_URL")}
    env.update(LOCAL_AWS_ENV)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _shell(line: str, workdir: Path, run_ids: list[str]) -> subprocess.CompletedProcess[str]:
    for long, short in SHORTER.items():
        line = line.replace(long, short)
    if "RUN_ID" in line:
        assert run_ids, f"{line!r}: no replay run was applied before this step"
        line = line.replace("RUN_ID", run_ids[-1])
    done = subprocess.run(
        ["bash", "-c", line], cwd=workdir, env=_environment(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"{line!r} exited {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


def _rows(dsn: str) -> dict[tuple[str, str], tuple[str, str]]:
    """Every row of both tables: (entity, id) -> (the row's text, its xmin)."""
    with connect(dsn) as conn:
        found = {}
        for entity, table in (("session", "public.sessions"), ("campaign", "public.campaigns")):
            for r in conn.execute(f"SELECT id::text AS id, t::text AS row, xmin::text AS xmin FROM {table} AS t"):
                found[(entity, r["id"])] = (r["row"], r["xmin"])
    return found


def _stopped(stderr: str) -> dict[str, Any]:
    """The consumer's ``consumer stopped`` log line."""
    for line in stderr.splitlines():
        if line.startswith("{") and '"consumer stopped"' in line:
            return dict(json.loads(line))
    raise AssertionError(f"no 'consumer stopped' line in:\n{stderr[-3000:]}")


def _open(run: Run, name: str) -> set[tuple[str, str, str]]:
    return {(d["entity"], next(iter(d["key"].values())), d["kind"]) for d in run.file(name)}


# --- what the page says the engineer sees after each step ---------------------------------------------------


def _preflight(run: Run, out: list[subprocess.CompletedProcess[str]]) -> None:
    lines = [ln for ln in out[0].stdout.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("ok ") for ln in lines), out[0].stdout
    assert "ok   replay: connected as PostgreSQL role" in out[0].stdout  # the replay role's rights were checked
    assert "ok   replay: table public.sessions: has SELECT, INSERT, UPDATE, DELETE" in out[0].stdout


def _drain(run: Run, out: list[subprocess.CompletedProcess[str]]) -> None:
    assert _stopped(out[0].stderr)["records"] > 0  # phase B's writes were still unchecked


def _quiet(run: Run, out: list[subprocess.CompletedProcess[str]]) -> None:
    assert _stopped(out[1].stderr)["records"] == 0  # nothing writes DynamoDB any more
    assert _open(run, "open-after-drain.json") == run.workload.expected_open()
    assert run.file("open-after-quiet.json") == run.file("open-after-drain.json")  # and nothing new was found


def _measure(run: Run, out: list[subprocess.CompletedProcess[str]]) -> None:
    report = run.file("before-replay.json")
    w = run.workload
    assert report["parity_percent"] < 100.0
    counts = (report["missing_in_postgres"], report["mismatched"], report["missing_in_dynamodb"])
    assert counts == (len(w.inserted), len(w.updated) + 1, len(w.deleted)), report
    assert _rows(run.env.dsn) == run.at_start  # measuring writes nothing


def _dry_run(run: Run, out: list[subprocess.CompletedProcess[str]]) -> None:
    assert "nothing was written" in out[0].stdout
    plan = run.file("replay-plan.json")
    assert plan["dry_run"] is True and plan["applied"] == 0
    actions = {(p["entity"], p["key"]["id"]): (p["action"], tuple(p["columns"])) for p in plan["plan"]}
    assert actions == (run.expected_plan or run.workload.expected_plan())  # after an undo: the same plan again
    for entry in plan["plan"]:  # the reviewer sees old -> new for every changed column of an update
        if entry["action"] == "update":
            assert set(entry["values"]) == set(entry["columns"]), entry
    if run.expected_plan is None:  # the workload's update shows its new value in the text plan
        assert f'-> "{run.workload.updated[0].summary}"' in out[0].stdout, out[0].stdout
    rows = _rows(run.env.dsn)
    if not run.run_ids:
        assert rows == run.at_start  # a dry run writes nothing
    run.before_apply = rows


def _apply(run: Run, out: list[subprocess.CompletedProcess[str]]) -> None:
    found = re.search(r"^undo with: parity replay --undo (\S+)$", out[0].stdout, re.M)
    assert found, out[0].stdout
    run.run_ids.append(found.group(1))
    planned = run.expected_plan or run.workload.expected_plan()
    found_left = re.search(r"(\d+) change\(s\) not in it left for another review", out[0].stdout)
    assert found_left, out[0].stdout
    run.not_in_plan = int(found_left.group(1))
    assert f"{len(planned) - run.not_in_plan} row(s) written" in out[0].stdout, out[0].stdout


def _re_verify(run: Run, out: list[subprocess.CompletedProcess[str]]) -> None:
    assert "0 change(s)" in out[0].stdout, out[0].stdout
    report = run.file("after-replay.json")
    assert report["parity_percent"] == 100.0, report["discrepancies"]
    assert report["compared"] == run.workload.compared_after()
    assert "no open discrepancies" in out[2].stdout, out[2].stdout


def _restart(run: Run, out: list[subprocess.CompletedProcess[str]]) -> None:
    """After the rollback, restarting begins from PostgreSQL: nothing wrote it since, so repair plans nothing."""
    assert run.file("before-restart.json")["parity_percent"] == 100.0
    assert run.file("repair-plan.json")["planned"] == 0


def _undo(run: Run, out: list[subprocess.CompletedProcess[str]]) -> None:
    assert run.run_ids[-1] in out[0].stdout  # --runs lists the run
    restored = len(run.workload.replayed_keys())
    assert f"{restored} row(s) restored, 0 left alone" in out[1].stdout, out[1].stdout
    now = _rows(run.env.dsn)
    assert {k: v[0] for k, v in now.items()} == {k: v[0] for k, v in run.before_apply.items()}
    report = run.file("after-undo.json")
    assert report["parity_percent"] < 100.0
    assert report["missing_in_postgres"] == len(run.workload.inserted)


CHECKS: dict[str, Callable[[Run, list[subprocess.CompletedProcess[str]]], None]] = {
    "preflight": _preflight,
    "drain": _drain,
    "quiet": _quiet,
    "measure": _measure,
    "dry-run": _dry_run,
    "apply": _apply,
    "re-verify": _re_verify,
    "undo": _undo,
    "restart": _restart,
}


def _run_step(run: Run, step: Step) -> None:
    started = time.monotonic()
    out = [_shell(line, run.workdir, run.run_ids) for line in step.lines]
    run.timings.append((step.name, time.monotonic() - started))
    run.outputs[step.name] = out
    CHECKS[step.name](run, out)


def _write_after_the_review(run: Run) -> tuple[str, str]:
    """A DynamoDB write that lands between the review and the apply (a writer step 1 missed)."""
    again = run.workload.updated[0].touched(summary="written in DynamoDB after the review")
    write_dynamodb(run.env.dynamodb, run.env.table, [again])
    return ("session", again.id)


@pytest.fixture
def rollback_run(example_env: ExampleEnv, tmp_path: Path) -> Iterator[Run]:
    env = example_env
    workdir = tmp_path / "rollback"
    workdir.mkdir()
    text = config_toml(table=env.table, dsn=env.dsn, endpoint_url=env.endpoint_url)
    assert "grace_seconds = 30\n" in text
    (workdir / "parity.toml").write_text(text.replace("grace_seconds = 30\n", CONSUMER) + RECONCILE)
    phases = phase_a(env.dynamodb, env.table, env.conn)
    # the migration's stream checker, running until now, checks phase A and archives its DynamoDB-only writes
    checked = _shell("parity consume --stop-when-idle 120", workdir, [])
    assert _stopped(checked.stderr)["records"] > 0
    workload = phase_b(env.dynamodb, env.table, env.conn, phases)
    # the stale keys really have archived DynamoDB-only images, all older than their rows now
    with connect(env.dsn) as conn:
        archived = {
            r["id"]: r["older"]
            for r in conn.execute(
                "SELECT a.key->>'id' AS id,"
                " bool_and(coalesce((a.new_image->'updatedAt'->>'S')::timestamptz, '-infinity') < s.updated_at)"
                " AS older FROM parity.dynamodb_only_archive AS a"
                " JOIN public.sessions AS s ON s.id = (a.key->>'id')::uuid WHERE a.entity = 'session' GROUP BY 1"
            )
        }
    assert {s.id: True for s in workload.stale}.items() <= archived.items(), archived
    # the flip: from here on nothing writes DynamoDB, and (so that the end can be 100 %) nothing writes PostgreSQL
    yield Run(env, workdir, workload, at_start=_rows(env.dsn))


@pytest.mark.slow  # the static checks above are fast and always run
def test_the_runbook_rolls_back_the_workload(rollback_run: Run) -> None:
    run = rollback_run
    steps = runbook_steps(RUNBOOK.read_text(encoding="utf-8"))
    by_name = {s.name: s for s in steps}
    for step in steps:
        _run_step(run, step)
        if step.name != "undo":
            continue
        # "start over at 4a"; this time a DynamoDB write lands after the review: the apply leaves it
        _run_step(run, by_name["dry-run"])
        late = _write_after_the_review(run)
        _run_step(run, by_name["apply"])
        assert run.not_in_plan == 1
        assert f"id={late[1]}  written again since the review: summary, updated_at" in run.outputs["apply"][0].stdout
        # as the page says for not_in_plan: a new plan, reviewed, then applied
        run.expected_plan = {late: ("update", ("summary", "updated_at"))}
        _run_step(run, by_name["dry-run"])
        _run_step(run, by_name["apply"])
        assert run.not_in_plan == 0
        _run_step(run, by_name["re-verify"])
    assert "undo" in by_name and "restart" in by_name and len(run.run_ids) == 3
    print("\nrunbook step timings (s): " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in run.timings))

    final = subprocess.run(
        ["parity", "reconcile", "--json"],
        cwd=run.workdir,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert final.returncode == 0, final.stderr
    report = json.loads(final.stdout)
    assert report["parity_percent"] == 100.0, report["discrepancies"]
    assert report["compared"] == run.workload.compared_after()

    rows = _rows(run.env.dsn)
    w = run.workload
    for s in w.stale:  # newer in PostgreSQL than the archived image: never written by the replay
        assert rows[("session", s.id)] == run.at_start[("session", s.id)], s.id
    untouched = {k: v for k, v in run.at_start.items() if k not in w.replayed_keys()}
    assert {k: rows[k] for k in untouched} == untouched  # text and xmin: not even rewritten
    for s in w.deleted:
        assert ("session", s.id) not in rows
    for s in [*w.inserted, *w.updated[1:]]:
        assert s.summary is not None and s.summary in rows[("session", s.id)][0]
    assert "written in DynamoDB after the review" in rows[("session", w.updated[0].id)][0]  # its own new plan
    assert w.campaign.name in rows[("campaign", w.campaign.id)][0]
