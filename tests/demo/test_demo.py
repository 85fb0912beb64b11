"""`parity demo` end to end as a user runs it: a subprocess, nothing configured, nothing left running."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.demo.leftovers import processes_using


@pytest.mark.slow
def test_demo_runs_to_the_end_and_leaves_nothing_running(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PARITY_", "PG"))}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "parity.cli",
            "demo",
            "--campaigns",
            "60",
            "--updates",
            "150",
            "--fault-rate",
            "0.05",
            "--workdir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    for step in (
        "start the local stack",
        "check the config",
        "dual-writing workload",
        "parity consume",
        "parity reconcile",
        "demo finished",
    ):
        assert step in out
    assert "ok   postgres: connected" in out
    # the stream checker and the reconciler found the injected faults
    assert "discrepanc" in out
    assert "missing in PostgreSQL" in out and "mismatched" in out
    # faults are announced as injected and the stream checker's findings printed as they are committed
    assert "  fault  update: PostgreSQL write failed" in out
    assert "  found  mismatched" in out and "stream records checked so far" in out
    assert "keyword search" in out
    # the demo as a story: what each step shows, the late writes that are not discrepancies, the re-check
    # words, the search to repeat, where the JSON report is, and how to try the commands
    assert out.count("what this shows:") >= 4
    flat = " ".join(out.split())
    assert "PostgreSQL writes landed 0.5 s after their DynamoDB half (the late ones)" in flat
    assert "and found it equal: 0 of them reported." in flat
    assert "'re-checked' counts keys" in flat and "'cleared' those" in flat and "'in flight'" in flat
    assert f"is in {tmp_path / 'reconcile.json'}" in flat and (tmp_path / "reconcile.json").exists()
    assert re.search(r"^parity search --campaign [0-9a-f-]{36} --compare-postgres 'launch review'$", out, re.M)
    assert "`parity demo --keep` keeps the stack up" in out
    assert "the local stack is stopped and its folder removed (" in out
    # search answers beside PostgreSQL, and the same search served over HTTP by parity serve
    assert "equivalent:" in out
    assert re.search(r'^\{"campaign":"[0-9a-f-]{36}","query":"launch review","results":\[\{"key":', out, re.M)
    # the rollback rehearsal: a dry run that writes nothing, an apply, and a final compare at 100 %
    dry_run, _, after = out.partition("apply (parity replay --apply")
    assert "replay plan (dry run):" in dry_run and "run again with --apply" in dry_run
    applied, _, final = after.partition("final compare")
    assert "row(s) written" in applied and "undo with: parity replay --undo r" in applied
    # the plan is printed once: the apply lists only what the dry run did not (the deletes and conflicts)
    planned = dry_run.partition("dry run (parity replay)")[2]
    entries = re.compile(r"^  (?:insert|update|delete|skip) .*$", re.M)
    assert entries.findall(planned) and entries.findall(applied)
    assert not set(entries.findall(planned)) & set(entries.findall(applied)), applied
    assert "change(s) written as the dry run above listed them" in applied and "  delete  session" in applied
    # the workflow: values under each finding, one known difference accepted, the gate before and after
    assert 'name: dynamodb="' in out and "accepted 1 discrepancy (by demo)" in out
    before_fix, _, _ = out.partition("fix: replay")
    assert "NOT READY: reconcile_parity, open_discrepancies" in before_fix
    assert "Parity " in final and "READY: safe to cut over" in final
    report = tmp_path / "parity-report.html"
    assert f"HTML report: {report}" in out
    page = report.read_text()
    # after the rehearsal every discrepancy is resolved or accepted: the chart shows both runs, nothing is open
    assert "Parity % over reconcile runs" in page and page.count('class="point"') == 2
    assert "No open discrepancies." in page and 'id="accepted-discrepancies"' in page
    # the accepted one was found by the stream checker; the two reconcile runs that saw it again did not find it
    accepted = page.split('id="accepted-discrepancies"', 1)[1].split("</section>", 1)[0]
    assert "<td>stream</td>" in accepted and "<td>reconcile</td>" not in accepted
    story = page.split('id="story"', 1)[1].split("</section>", 1)[0]
    assert "still open" in story and "Parity went from" in story and "1 accepted" in story
    assert (tmp_path / "parity.toml").exists()
    # the servers this demo started are gone (those of other checkouts on the machine do not count)
    stack = re.search(r"^PostgreSQL \(embedded\) (\S+)/pgdata$", out, re.M)
    assert stack is not None
    assert processes_using(Path(stack.group(1)), tmp_path) == {}
