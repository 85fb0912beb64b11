"""``parity demo``: the whole product on an embedded local stack, with no setup.

Starts moto's DynamoDB (with a stream) and an embedded PostgreSQL, creates the example app
(campaigns and sessions in ElectroDB's item shape), seeds it with consistent dual writes, then runs
a workload with faults injected at a visible rate (PostgreSQL writes that fail, arrive late, or write
a wrong column). The stream checker and the reconciler find them; the commands are the ones users
run (``parity.cli.main`` in-process). Nothing is left running unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Any

from parity.dynamo import client
from parity.local.demo.watch import Watcher
from parity.local.demo.workload import LATE_SECONDS, Faults, describe, workload
from parity.local.embedded import EmbeddedStack, require_local_stack
from parity.local.example import Campaign, generate, records
from parity.local.example_stores import ExampleStores, example_stores
from parity.pg import connect
from parity.store import Store

TABLE = "app"
#: the demo writes its own config into --workdir; a --config would mean nothing here
TAKES_CONFIG = False
#: the search the demo runs (step 6), kept for the commands it suggests with --keep
_DEMO_SEARCH: dict[str, str] = {"campaign": "CAMPAIGN_ID", "query": "launch review"}


EXAMPLES = """\
examples:
  parity demo
  parity demo --keep --workdir /tmp/demo   # keep the stack up to try the other commands on it
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--campaigns", type=int, default=300, metavar="N", help="campaigns to seed")
    parser.add_argument("--sessions", type=int, default=5, metavar="N", help="sessions per campaign")
    parser.add_argument("--updates", type=int, default=400, metavar="N", help="dual writes in the workload")
    parser.add_argument("--fault-rate", type=float, default=0.03, metavar="P", help="share of faulty writes")
    parser.add_argument("--keep", action="store_true", help="keep the stack running and print how to use it")
    parser.add_argument(
        "--workdir",
        default=None,
        metavar="DIR",
        help="where to write the config, reconcile.json and the report (default: ./.parity-demo)",
    )


def _say(text: str = "") -> None:
    print(text, flush=True)


def _step(number: int, title: str) -> None:
    _say()
    _say(f"── {number}. {title} " + "─" * max(0, 60 - len(title)))


def _parity(*args: str) -> int:
    from parity.cli import main

    return main(list(args))


def _captured(*args: str) -> tuple[int, str]:
    """Run a parity command in-process; (its exit code, what it printed on stdout)."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = _parity(*args)
    return code, out.getvalue()


def _entries(listing: str) -> list[list[str]]:
    """A plan listing in blocks: an entry (a line indented two spaces) with its detail lines
    (indented further); every other line is a block of its own."""
    blocks: list[list[str]] = []
    for line in listing.splitlines():
        if line.startswith("   ") and blocks and blocks[-1][0].startswith("  "):
            blocks[-1].append(line)
        else:
            blocks.append([line])
    return blocks


def not_listed_before(dry_run: str, applied: str) -> str:
    """What ``replay --apply`` printed, without the entries the dry run above listed already, word
    for word (one line says how many): the plan is shown once, the apply adds what changed."""
    shown = {tuple(block) for block in _entries(dry_run) if block[0].startswith("  ")}
    lines: list[str] = []
    repeated, at = 0, 0
    for block in _entries(applied):
        if block[0].startswith("  ") and tuple(block) in shown:
            repeated, at = repeated + 1, at if repeated else len(lines)  # the note goes where the first was
            continue
        lines.extend(block)
    if repeated:
        lines.insert(
            at, f"  ({repeated} change(s) written as the dry run above listed them; only the others are shown here)"
        )
    return "\n".join(lines)


def _served_search(cfg: list[str], campaign: str, query: str) -> str:
    """Start ``parity serve`` on a free port, ask it the demo's search, stop it (SIGTERM): the JSON it answered."""
    import socket
    import subprocess
    import sys
    import urllib.parse
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "parity.cli", "serve", *cfg, "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1/campaigns/{campaign}/search?" + urllib.parse.urlencode({"q": query})
    try:
        deadline = time.monotonic() + 90  # a loaded machine takes a while to import and start the server
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=60) as answer:
                    return str(answer.read().decode())
            except OSError:
                if server.poll() is not None:
                    return f"(parity serve exited with {server.returncode})"
                time.sleep(0.1)
        return "(parity serve did not answer)"
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _wait_for_stop() -> None:
    """Block until Ctrl-C or SIGTERM (also when the shell started us with SIGINT ignored)."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with suppress(KeyboardInterrupt):
        while not stop.wait(0.5):
            pass
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run(args: argparse.Namespace) -> int:
    require_local_stack("parity demo")
    started = time.monotonic()
    workdir = Path(args.workdir or Path.cwd() / ".parity-demo").resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    stack = EmbeddedStack()
    failed = False
    # SIGTERM (a closed terminal, `kill`) unwinds like Ctrl-C, so the finally below stops the servers
    previous_term = signal.signal(signal.SIGTERM, _interrupt)
    _say("parity demo: proving DynamoDB holds what PostgreSQL holds, on an embedded local stack")
    _step(1, "start the local stack")
    try:
        stack.start()
        _say(f"DynamoDB (moto)      {stack.endpoint_url}")
        _say(f"PostgreSQL (embedded) {stack.postgres.data_dir if stack.postgres else ''}")
        with _environment(stack.environment()):
            return _demo(args, stack, workdir, started)
    except KeyboardInterrupt:
        raise
    except BaseException:
        failed = True
        raise
    finally:
        if args.keep and stack.moto is not None and stack.postgres is not None:
            _say()
            config_path = workdir / "parity.toml"
            _say(f"The stack keeps running (--keep). {config_path} names both of its servers, so these work as")
            _say("printed, with nothing to set first:")
            for line in next_commands(config_path, _DEMO_SEARCH["campaign"], _DEMO_SEARCH["query"]):
                _say(f"  {line}")
            _say(f"  {stack.postgres.psql_command()}   # its PostgreSQL: change a row, then reconcile")
            _say("Stop it with Ctrl-C (the stack stops and its folder is removed).")
            _wait_for_stop()
        _close(stack, keep_files=failed)
        signal.signal(signal.SIGTERM, previous_term)


def _close(stack: EmbeddedStack, *, keep_files: bool) -> None:
    """Stop both servers and say what became of the stack's folder (PostgreSQL's data, moto's log).

    It is removed, unless the demo failed: then it is kept for moto.log and PostgreSQL's log, and
    the user is told where it is and how to remove it.
    """
    size = sum(f.stat().st_size for f in stack.root.rglob("*") if f.is_file()) / 1e6 if stack.root.exists() else 0.0
    stack.keep_files = keep_files
    stack.close()
    if keep_files:
        _say(f"the local stack is stopped; its folder is kept to see what failed: {stack.root} ({size:.0f} MB,")
        _say(f"  moto.log and PostgreSQL's data and log). Remove it with: rm -rf {stack.root}")
    else:
        _say(f"the local stack is stopped and its folder removed ({stack.root}, {size:.0f} MB)")


def _workload_with_consumer(
    args: argparse.Namespace, cfg: list[str], config: Any, stack: EmbeddedStack, campaigns: list[Campaign]
) -> Faults:
    """The workload in a thread while ``parity consume`` runs here (it owns the signal handlers, so it
    needs the main thread), and a watcher prints the checker's verdicts as they are committed."""
    outcome: dict[str, Any] = {}
    stop = threading.Event()

    def produce() -> None:
        try:
            time.sleep(0.5)  # let the consumer reach the stream first
            writer = connect(stack.dsn)
            try:
                outcome["faults"] = workload(
                    writer, client(config.dynamodb), campaigns, args.updates, args.fault_rate, stop, table=TABLE
                )
            finally:
                writer.close()
        except BaseException as exc:  # reported by the main thread
            outcome["error"] = exc
        finally:
            outcome["done_at"] = time.monotonic()

    producer = threading.Thread(target=produce, name="demo-workload", daemon=True)
    with Watcher(stack.dsn, config.postgres.store_schema, say=_say):
        producer.start()
        try:
            _parity("consume", *cfg, "--stop-when-idle", "3")
            consumer_done = time.monotonic()
            producer.join()
            if outcome.get("done_at", 0.0) > consumer_done:  # the consumer went idle early: catch up
                _parity("consume", *cfg, "--stop-when-idle", "3")
        finally:
            stop.set()
            producer.join(timeout=30)
    if "error" in outcome:
        raise outcome["error"]
    faults: Faults = outcome["faults"]
    _say(describe(faults))
    return faults


def _demo(args: argparse.Namespace, stack: EmbeddedStack, workdir: Path, started: float) -> int:
    _step(2, "create the example app and seed it with dual writes")
    with example_stores(
        stack.dsn, stack.endpoint_url, workdir / "parity.toml", table=TABLE, consumer="grace_seconds = 2"
    ) as stores:
        campaigns = generate(args.campaigns, args.sessions)
        written = records(campaigns)
        stores.write(written)
        _say(f"{len(campaigns)} campaigns and {len(written) - len(campaigns)} sessions written to both stores")
        return _steps(args, stores, stack, campaigns, workdir, started)


def _steps(
    args: argparse.Namespace,
    stores: ExampleStores,
    stack: EmbeddedStack,
    campaigns: list[Campaign],
    workdir: Path,
    started: float,
) -> int:
    """Steps 3 to 11: the commands a user runs, on the seeded stores."""
    config_path, config, conn = stores.config_path, stores.config, stores.conn
    cfg = ["--config", str(config_path)]
    _step(3, "check the config against both stores")
    code = _parity("check-config", *cfg)
    if code != 0:
        return code
    _learn(
        "every mapped column exists in PostgreSQL with a type that fits, and the table's stream carries old",
        "and new images (deletes need the old one). Run it first against your own stores.",
    )
    _step(4, f"dual-writing workload, {args.fault_rate:.0%} of writes faulty per kind, checked live (parity consume)")
    faults = _workload_with_consumer(args, cfg, config, stack, campaigns)
    found = Store(config.postgres.store_schema).list_discrepancies(conn, "all")
    found_ids = {str(d["key"].get("id")) for d in found}
    late_reported = sum(1 for s in faults.late if s.id in found_ids)
    injected = sum(
        len(x)
        for x in (faults.dynamodb_only, faults.new_dynamodb_only, faults.deleted_dynamodb_only, faults.wrong_column)
    )
    _learn(
        f"{len(faults.late)} PostgreSQL writes landed {LATE_SECONDS:g} s after their DynamoDB half (the late ones).",
        f"The checker saw each differ, waited the grace period (grace_seconds = {config.consumer.grace_seconds:g}"
        " here), read it again",
        f"and found it equal: {late_reported} of them reported. A dual write is not a discrepancy before its other",
        f"half had time to land. Recorded: {len(found)} discrepancies for the {injected} injected faults.",
    )
    _say()
    _say("open discrepancies the stream checker recorded (parity discrepancies), with what each store holds:")
    _parity("discrepancies", *cfg, "--status", "open")
    _step(5, "full compare of both stores (parity reconcile)")
    _parity("reconcile", *cfg, "--segments", "4", "--report", str(workdir / "reconcile.json"))
    _learn(
        "the full compare finds what the stream checker found, without the stream: it scans DynamoDB and reads",
        "PostgreSQL in batches. 're-checked' counts keys that differed on the first read and were read again",
        "after a short delay; 'cleared' those that then agreed (a late write landed: not a discrepancy); 'in flight'",
        "those the app was still writing (left out of 'compared'; the next run judges them).",
        f"The whole report, every discrepancy listed, is in {workdir / 'reconcile.json'}.",
    )
    _step(6, "decide: accept a known difference, fix the rest; is it safe to cut over yet? (parity gate)")
    if faults.wrong_column:
        tolerated = faults.wrong_column[0]
        key = json.dumps({"id": tolerated.id})
        _say(f"parity discrepancies accept --entity session --key '{key}' --note '…'")
        note = "known typo in PostgreSQL's copy; DynamoDB's name is the right one"
        _parity("discrepancies", "accept", *cfg, "--entity", "session", "--key", key, "--by", "demo", "--note", note)
    _say("parity gate")
    _parity("gate", *cfg)
    _learn(
        "each discrepancy shows what each store holds, so deciding needs no digging: fix it (next: replay) or",
        "accept it as a known difference with a note (kept apart from open ones everywhere; reopened by the",
        "checker that sees its values change). The gate names every check that stands between you and cutover.",
    )
    _step(7, "keyword search served by DynamoDB, beside PostgreSQL full-text search")
    _DEMO_SEARCH["campaign"] = campaigns[0].id
    query = _DEMO_SEARCH["query"]
    _say(f"parity search --campaign {campaigns[0].id} --compare-postgres '{query}'")
    _parity("search", *cfg, "--campaign", campaigns[0].id, "--compare-postgres", query)
    _say(f"the app's way: parity serve, then GET /v1/campaigns/{campaigns[0].id}/search?q=…")
    _say(_served_search(cfg, campaigns[0].id, query))
    _learn(
        "the ranked keys come from DynamoDB alone (the campaign's sessions, ranked as PostgreSQL ranks them);",
        "'equivalent: true' says PostgreSQL full-text search returned the same keys with the same ranks;",
        "parity serve gives the app (any language) that answer over HTTP (docs/search.md).",
    )
    _step(8, "fix: replay DynamoDB-only writes into PostgreSQL (also the rollback rehearsal)")
    _say("dry run (parity replay): what would be written, nothing is")
    _, dry_run = _captured("replay", *cfg)
    _say(dry_run.rstrip("\n"))
    _say()
    _say("The wrong-name writes reached PostgreSQL with the same version as DynamoDB's: a conflict, which replay")
    _say("leaves to a human by default. This rehearsal takes DynamoDB's value (--include-conflicts) and carries")
    _say("the DynamoDB-only deletes over too (--include-deletes); rows newer in PostgreSQL are never touched,")
    _say("and neither is the accepted discrepancy.")
    _say("apply (parity replay --apply --include-deletes --include-conflicts):")
    _, applied = _captured("replay", *cfg, "--apply", "--include-deletes", "--include-conflicts")
    _say(not_listed_before(dry_run, applied))
    _step(9, "final compare (parity reconcile): all fixed but the accepted one")
    _parity("reconcile", *cfg, "--segments", "4")
    _step(10, "the cutover gate (parity gate): accepted differences count as matched")
    _parity("gate", *cfg)
    _step(11, "the HTML report (parity report)")
    report = workdir / "parity-report.html"
    _parity("report", *cfg, "--html", str(report))
    _say(f"HTML report: {report}")
    _say(f"\ndemo finished in {time.monotonic() - started:.0f} s; config kept at {config_path}")
    if not args.keep:
        _say("(it points at this run's local stack, stopped now: `parity demo --keep` keeps the stack up to try")
        _say(" the commands yourself)")
    return 0


def _learn(*lines: str) -> None:
    """What the step just shown means, for someone seeing parity for the first time."""
    import textwrap

    text = " ".join(lines)
    _say(
        textwrap.fill(
            text,
            width=104,
            initial_indent="  what this shows: ",
            subsequent_indent="  ",
            break_long_words=False,  # paths and ids stay whole, to be copied
            break_on_hyphens=False,
        )
    )


def next_commands(config_path: Path, campaign: str, query: str) -> list[str]:
    """Commands worth running against the kept stack, each with what it shows."""
    cfg = f"parity --config {config_path}"
    return [
        f"{cfg} discrepancies --status all          # every finding: resolved, or accepted with its note",
        f"{cfg} gate                                # is it safe to cut over? every check named",
        f"{cfg} search --list-campaigns             # campaign ids to search in",
        f"{cfg} search --campaign {campaign} --compare-postgres '{query}'",
        f"{cfg} reconcile                           # compare again (change a row with psql first: below)",
        f"{cfg} report                              # ./parity-report.html",
        f"{cfg} --help                              # every command, with examples",
    ]
