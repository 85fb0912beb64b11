"""Pure pieces of the reconciler: counters, parity %, report shape, RCU bucket, fast Scan parse."""

from __future__ import annotations

import base64
import json
import pickle
from typing import Any

from parity.compare import Verdict
from parity.reconciler import fast_scan
from parity.reconciler.budget import RcuBudget
from parity.reconciler.runs_store import decode_typed, encode_typed
from parity.reconciler.summary import summary_text
from parity.reconciler.tally import Tally, build_report, parity_percent


def test_parity_percent_of_nothing_is_100() -> None:
    assert parity_percent(0, 0) == 100.0
    assert parity_percent(199, 200) == 99.5


def test_tallies_merge_and_round_trip_through_json() -> None:
    a, b = Tally(items=10, skipped=1, pages=1), Tally(items=5, pages=1)
    a.entity("session").add_verdict(Verdict.MATCH)
    a.entity("session").add_verdict(Verdict.MISMATCHED, ["summary", "tags"])
    b.entity("session").add_verdict(Verdict.MISMATCHED, ["summary"])
    b.entity("campaign").add_verdict(Verdict.MISSING_IN_DYNAMODB)
    b.entity("campaign").in_flight += 1
    a.merge(Tally.from_json(json.loads(json.dumps(b.to_json()))))
    assert a.items == 15 and a.skipped == 1 and a.pages == 2
    assert a.entities["session"].to_json()["columns"] == {"summary": 2, "tags": 1}
    assert a.entities["session"].compared == 3 and a.entities["session"].mismatched == 2
    report = build_report(
        a, ["session", "campaign"], [], listed_truncated=False, started_at="s", finished_at="f", seconds=5, run_id="r"
    )
    assert report["compared"] == 4 and report["matched"] == 1
    assert report["missing_in_dynamodb"] == 1 and report["mismatched"] == 2 and report["in_flight"] == 1
    assert report["parity_percent"] == 25.0 and report["items_per_second"] == 3.0
    assert report["entities"]["campaign"]["parity_percent"] == 0.0
    assert "Parity 25.00%" in summary_text(report)


def test_rcu_budget_makes_a_worker_wait_while_in_debt() -> None:
    budget = RcuBudget(1000.0)
    assert budget.acquire() == 0.0
    budget.spend(1010.0)  # 10 units of debt: about 10 ms at 1,000 RCU/s
    assert budget.acquire() > 0.0
    assert RcuBudget(None).acquire() == 0.0


def test_typed_keys_with_binary_survive_the_store() -> None:
    key = {"pk": {"B": b"\x00\xff"}, "sk": {"S": "x"}}
    assert decode_typed(json.loads(json.dumps(encode_typed(key)))) == key


def test_fast_scan_parse_matches_botocore_for_binary() -> None:
    """botocore hands bytes for B; the fast parse must too (a fake body at the pure boundary)."""
    page = {
        "Items": [{"pk": {"B": base64.b64encode(b"\x01").decode()}, "n": {"N": "1.50"}}],
        "Count": 1,
        "LastEvaluatedKey": {"pk": {"B": base64.b64encode(b"\x01").decode()}},
    }
    response: dict[str, Any] = {"status_code": 200, "body": json.dumps(page).encode()}
    custom: dict[str, Any] = {}
    fast_scan._before_parse(response_dict=response, customized_response_dict=custom)
    assert response["body"] == b"{}"
    assert custom["Items"] == [{"pk": {"B": b"\x01"}, "n": {"N": "1.50"}}]
    assert custom["LastEvaluatedKey"] == {"pk": {"B": b"\x01"}}
    error: dict[str, Any] = {"status_code": 400, "body": b'{"__type": "x"}'}
    fast_scan._before_parse(response_dict=error, customized_response_dict={})
    assert error["body"] == b'{"__type": "x"}'


def test_worker_errors_cross_the_process_boundary_as_parity_errors() -> None:
    from parity.errors import PostgresUnavailable, WorkerFailed
    from parity.reconciler.processes import _portable, _rebuild

    again = _rebuild(*pickle.loads(pickle.dumps(_portable(PostgresUnavailable("db gone", hint="retry later")))))
    assert type(again) is PostgresUnavailable and again.message == "db gone" and again.hint == "retry later"
    bug = _rebuild(*_portable(KeyError("x")))
    assert isinstance(bug, WorkerFailed) and "KeyError" in bug.message


def test_shared_rcu_budget_is_one_bucket_for_forked_workers() -> None:
    import multiprocessing

    context = multiprocessing.get_context("fork")
    budget = RcuBudget.shared(1000.0, context)
    child = context.Process(target=budget.spend, args=(1500.0,))  # a worker overspends by ~500 units
    child.start()
    child.join()
    assert child.exitcode == 0
    assert budget.acquire() > 0.2  # the parent waits for the child's debt (~0.5 s at 1,000 RCU/s)
