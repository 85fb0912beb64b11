"""`reconcile --open` / `--keys`: only the listed keys are read (requests counted on the wire), no Scan."""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from parity.cli import main
from parity.compare import Discrepancy, Verdict
from parity.local.example import Session, generate, write_dynamodb, write_postgres
from parity.store import Store
from tests.conftest import ExampleEnv


class CountingProxy:
    """An HTTP proxy in front of moto that counts DynamoDB operations and the keys BatchGetItem asks for."""

    def __init__(self, target: str) -> None:
        self.operations: Counter[str] = Counter()
        self.keys_requested: list[dict[str, Any]] = []
        parsed = urlparse(target)
        host, port, proxy = parsed.hostname, parsed.port, self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                operation = (self.headers.get("X-Amz-Target") or "?").rsplit(".", 1)[-1]
                proxy.operations[operation] += 1
                if operation == "BatchGetItem":
                    for request in json.loads(body)["RequestItems"].values():
                        proxy.keys_requested.extend(request["Keys"])
                upstream = http.client.HTTPConnection(host, port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream.request("POST", self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[CountingProxy]:
    p = CountingProxy(moto_endpoint)
    yield p
    p.close()


def _through(env: ExampleEnv, proxy: CountingProxy) -> Path:
    path = env.config_path.with_name("via-proxy.toml")
    path.write_text(env.config_path.read_text().replace(env.endpoint_url, proxy.url))
    return path


@pytest.mark.slow
def test_open_reads_only_the_50_open_keys_of_10000_and_resolves_the_fixed(
    example_env: ExampleEnv, proxy: CountingProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    data = generate(100, 99, seed=3)  # 100 campaigns + 9,900 sessions = 10,000 items
    sessions: list[Session] = [s for c in data for s in c.sessions]
    records: list[Any] = [*data, *sessions]
    assert len(records) == 10_000
    write_postgres(example_env.conn, records)
    broken = sessions[::198][:50]  # 50 sessions spread over the table
    assert len(broken) == 50
    differing = {s.id for s in broken[:20]}  # 20 stay different, 30 were fixed since they were found
    by_id = {s.id: s for s in broken}
    write_dynamodb(
        example_env.dynamodb,
        example_env.table,
        [
            r.touched(summary="drifted", updated_at=r.updated_at) if getattr(r, "id", None) in differing else r
            for r in records
        ],
    )
    store = Store("parity")
    store.migrate(example_env.conn)
    found = [Discrepancy("session", {"id": s.id}, Verdict.MISMATCHED, ("summary",)) for s in broken]
    store.record_discrepancies(example_env.conn, found, "reconcile", datetime.now(UTC))
    example_env.conn.commit()

    config = _through(example_env, proxy)
    assert main(["reconcile", "--config", str(config), "--open", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert report["rechecked"] == 50 and report["resolved"] == 30 and report["still_different"] == 20
    assert "Scan" not in proxy.operations and "Query" not in proxy.operations
    assert set(proxy.operations) <= {"BatchGetItem", "DescribeTable"}
    assert proxy.operations["BatchGetItem"] == 1  # 50 keys: one request
    requested = {k["sk"]["S"].rsplit("_", 1)[-1] for k in proxy.keys_requested}
    assert requested == set(by_id) and len(proxy.keys_requested) == 50
    still = {d["key"]["id"]: d for d in store.list_discrepancies(example_env.conn, "open")}
    assert set(still) == differing
    some = next(iter(differing))
    assert still[some]["values"] == {"summary": {"dynamodb": "drifted", "postgres": by_id[some].summary}}


def test_keys_file_and_an_entity_without_item_key(
    example_env: ExampleEnv, proxy: CountingProxy, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    [campaign] = generate(1, 3, seed=4)
    write_postgres(example_env.conn, [campaign, *campaign.sessions])
    write_dynamodb(example_env.dynamodb, example_env.table, [campaign, *campaign.sessions[:2]])
    keys = tmp_path / "keys.jsonl"
    keys.write_text(
        "\n".join(json.dumps({"entity": "session", "key": {"id": s.id.upper()}}) for s in campaign.sessions) + "\n"
    )
    config = _through(example_env, proxy)
    assert main(["reconcile", "--config", str(config), "--keys", str(keys), "--json", "--max-rcu", "5"]) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert report["consumed_rcu"] > 0  # the read units the budget (--max-rcu) is charged with
    assert (report["rechecked"], report["resolved"], report["kinds"]) == (3, 0, {"missing_in_dynamodb": 1})
    assert len(proxy.keys_requested) == 3 and "Scan" not in proxy.operations
    [missing] = Store("parity").list_discrepancies(example_env.conn, "open")
    assert missing["key"] == {"id": campaign.sessions[2].id} and missing["values"]["postgres"]["name"] == (
        campaign.sessions[2].name
    )

    no_templates = config.read_text().replace(
        'item_key = { pk = "$campaignapp#campaignid_{id}", sk = "$campaign_1" }\n', ""
    )
    config.write_text(no_templates)
    keys.write_text(json.dumps({"entity": "campaign", "key": {"id": campaign.id}}) + "\n")
    assert main(["reconcile", "--config", str(config), "--keys", str(keys)]) == 2
    err = capsys.readouterr().err
    assert "entity 'campaign' has no item_key templates" in err and "re-checks never Scan" in err
