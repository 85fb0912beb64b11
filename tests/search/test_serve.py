"""``parity serve`` as a process on the local stack (moto's DynamoDB server, a real PostgreSQL), spoken
to over real HTTP: the answers must be PostgreSQL's (sessions, order, float4 ranks, to_tsvector lexemes),
bad input a 400 with one line, DynamoDB down a 503, and SIGTERM must let an in-flight request finish."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from parity.config import load_config
from parity.local.embedded import free_port
from parity.local.example import Session, generate, write_dynamodb, write_postgres
from parity.search.engine import search_postgres
from parity.search.rank import f4
from tests.conftest import ExampleEnv
from tests.search.test_command import QUERIES, follow_server
from tests.search.test_oracle import campaign_corpus
from tests.threads import Worker


@dataclass
class Served:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def get(self, path: str, **params: Any) -> tuple[int, Any]:
        query = "?" + urllib.parse.urlencode(params) if params else ""
        return self._send(urllib.request.Request(self.url + path + query))

    def post(self, path: str, body: bytes | Any) -> tuple[int, Any]:
        data = body if isinstance(body, bytes) else json.dumps(body, default=float).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method="POST", headers={"Content-Type": "application/json"}
        )
        return self._send(request)

    def _send(self, request: urllib.request.Request) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


@contextmanager
def serve(config_path: Path, log: Path, *extra: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    port = free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "parity.cli", "serve", "--config", str(config_path), "--port", str(port), *extra],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    served = Served(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def _seed(env: ExampleEnv) -> tuple[str, list[Session]]:
    """One 50-session campaign whose summaries are the oracle's campaign-sized corpus (Python's
    documentation: text nobody here wrote)."""
    follow_server(env)
    documents, _queries = campaign_corpus()
    campaign = generate(1, 50, seed=13)[0]
    sessions = [replace(s, summary=d) for s, d in zip(campaign.sessions, documents, strict=True)]
    sessions[3] = replace(sessions[3], metadata=None)
    sessions[4] = replace(sessions[4], summary=None)
    write_postgres(env.conn, [campaign, *sessions])
    write_dynamodb(env.dynamodb, env.table, [campaign, *sessions])
    return campaign.id, sessions


@pytest.fixture
def served_env(example_env: ExampleEnv, tmp_path: Path) -> Iterator[tuple[ExampleEnv, Served, str, list[Session]]]:
    campaign, sessions = _seed(example_env)
    # a generous timeout: moto answers slowly on a loaded machine, and this test checks answers, not speed
    with serve(example_env.config_path, tmp_path / "serve.log", "--request-timeout", "60") as served:
        yield example_env, served, campaign, sessions


@pytest.mark.slow
def test_every_oracle_query_answers_what_postgresql_answers(
    served_env: tuple[ExampleEnv, Served, str, list[Session]],
) -> None:
    env, served, campaign, _sessions = served_env
    _documents, queries = campaign_corpus()  # every query the oracle asks of these documents
    queries += QUERIES
    config = load_config(env.config_path)
    expected = {q: search_postgres(config, env.conn, campaign, q) for q in queries}

    def ask(query: str) -> tuple[str, int, Any]:
        return (query, *served.get(f"/v1/campaigns/{campaign}/search", q=query))

    with ThreadPoolExecutor(16) as pool:  # concurrent requests: the cache and the client are shared
        answers = list(pool.map(ask, queries))
    assert len(answers) == len(queries) > 400
    found = with_results = 0
    for query, status, body in answers:
        if not query.strip():
            assert status == 400
            continue
        assert status == 200, (query, body)
        assert body["campaign"] == campaign and body["query"] == query
        got = [(r["key"], f4(r["rank"])) for r in body["results"]]
        assert got == [(h.key, h.rank) for h in expected[query]], query
        found += len(got)
        with_results += bool(got)
    # the queries find sessions (199 of them, 1,105 results): equal answers are not mostly two empty lists
    assert with_results > 150 and found > 800, (with_results, found)

    status, body = served.get(f"/v1/campaigns/{campaign}/search", q="launch review", limit=2)
    assert status == 200 and len(body["results"]) <= 2


@pytest.mark.slow
def test_lexemes_are_postgresqls_to_tsvector_lexemes(
    served_env: tuple[ExampleEnv, Served, str, list[Session]],
) -> None:
    env, served, _campaign, sessions = served_env
    rows = env.conn.execute(
        "SELECT id::text AS id, tsvector_to_array(to_tsvector('english', coalesce(name::text, ''))"
        " || to_tsvector('english', coalesce(summary::text, ''))"
        " || coalesce(to_tsvector('english'::regconfig, metadata::jsonb), ''::tsvector)) AS lexemes FROM sessions"
    ).fetchall()
    postgres = {row["id"]: sorted(row["lexemes"]) for row in rows}
    assert len(postgres) == len(sessions)
    for session in sessions:
        body = {"name": session.name, "summary": session.summary, "metadata": session.metadata}
        status, answer = served.post("/v1/lexemes", body)
        assert status == 200, answer
        assert sorted(answer["lexemes"]) == postgres[session.id], session.id
    status, answer = served.post("/v1/lexemes", {})
    assert (status, answer) == (200, {"lexemes": []})


@pytest.mark.slow
def test_bad_input_is_a_400_with_one_line_and_the_api_is_described(
    served_env: tuple[ExampleEnv, Served, str, list[Session]],
) -> None:
    _env, served, campaign, _sessions = served_env
    path = f"/v1/campaigns/{campaign}/search"
    cases = [
        (served.get(path, q=""), "empty"),
        (served.get(path, q="   "), "empty"),
        (served.get(path), "q"),
        (served.get(path, q="x" * 300), "max_query_length = 256"),
        (served.get(path, q="-" * 33 + "cat"), "tsquery stack too small"),
        (served.get(path, q="cat", limit=0), "limit"),
        (served.get("/v1/campaigns/not-a-uuid/search", q="cat"), "not a uuid"),
        (served.post("/v1/lexemes", b"{not json"), "malformed JSON"),
        (served.post("/v1/lexemes", [1, 2]), "request body"),
        (served.post("/v1/lexemes", {"title": "x"}), "title"),
        (served.post("/v1/lexemes", {"name": 42}), "name"),
    ]
    for (status, body), needle in cases:
        assert status == 400, body
        assert set(body) == {"error"} and "\n" not in body["error"] and "Traceback" not in body["error"]
        assert needle in body["error"], body
    status, body = served.get("/nowhere")
    assert status == 404 and set(body) == {"error"}

    assert served.get("/healthz") == (200, {"status": "ok"})
    status, api = served.get("/openapi.json")
    assert status == 200
    assert {"/v1/campaigns/{campaign}/search", "/v1/lexemes", "/healthz"} <= set(api["paths"])
    assert set(api["components"]["schemas"]["SessionColumns"]["properties"]) == {"name", "summary", "metadata"}
    assert "400" in api["paths"]["/v1/campaigns/{campaign}/search"]["get"]["responses"]


@pytest.mark.slow
def test_dynamodb_unreachable_is_a_503(example_env: ExampleEnv, tmp_path: Path) -> None:
    closed = free_port()
    text = example_env.config_path.read_text().replace(example_env.endpoint_url, f"http://127.0.0.1:{closed}")
    path = tmp_path / "down.toml"
    path.write_text(text)
    with serve(path, tmp_path / "serve.log", "--request-timeout", "5") as served:
        status, body = served.get("/healthz")
        assert status == 503 and "cannot reach DynamoDB" in body["error"], body
        status, body = served.get("/v1/campaigns/2f1c0000-0000-4000-8000-000000000000/search", q="cat")
        assert status == 503 and set(body) == {"error"}, body


class SlowProxy:
    """TCP forwarder to moto that holds each new connection's first bytes for ``delay`` seconds."""

    def __init__(self, upstream: str, delay: float) -> None:
        host, port = upstream.rsplit("//", 1)[1].split(":")
        self.upstream = (host, int(port))
        self.delay = delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        time.sleep(self.delay)
        try:
            upstream = socket.create_connection(self.upstream)
        except OSError:  # moto gone (the test is over)
            conn.close()
            return

        def pump(a: socket.socket, b: socket.socket) -> None:
            try:
                while data := a.recv(65536):
                    b.sendall(data)
            except OSError:  # the other side gave up (a client past its timeout)
                pass
            finally:
                with contextlib.suppress(OSError):
                    b.close()

        threading.Thread(target=pump, args=(upstream, conn), daemon=True).start()
        pump(conn, upstream)


@pytest.mark.slow
def test_sigterm_lets_an_in_flight_request_finish(example_env: ExampleEnv, tmp_path: Path) -> None:
    campaign, _sessions = _seed(example_env)
    proxy = SlowProxy(example_env.endpoint_url, delay=2.0)
    text = example_env.config_path.read_text().replace(example_env.endpoint_url, f"http://127.0.0.1:{proxy.port}")
    path = tmp_path / "slow.toml"
    path.write_text(text)
    with serve(path, tmp_path / "serve.log") as served:
        request = Worker(lambda: served.get(f"/v1/campaigns/{campaign}/search", q="python"), name="request")
        request.start()
        time.sleep(0.8)  # the request is waiting on the (slow) DynamoDB connection
        served.process.send_signal(signal.SIGTERM)
        answer = request.result(30)
        assert served.process.wait(timeout=30) == 0, served.log.read_text()
        assert answer[0] == 200, (answer, served.log.read_text())
        assert answer[1]["results"], answer
        with pytest.raises(OSError):  # no longer listening
            socket.create_connection(("127.0.0.1", int(served.url.rsplit(":", 1)[1])), timeout=1)
        log = served.log.read_text()
        assert '"event": "request"' in log and '"status": 200' in log


@pytest.mark.slow
def test_metrics_reach_the_otlp_endpoint(example_env: ExampleEnv, tmp_path: Path) -> None:
    """Request latency and the document cache's hit ratio, exported over OTLP/HTTP (flushed at SIGTERM)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    campaign, _sessions = _seed(example_env)
    received: list[bytes] = []

    class Sink(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    environment = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink.server_address[1]}"}
    try:
        with serve(example_env.config_path, tmp_path / "serve.log", env=environment) as served:
            for query in ("python", "python", "function"):
                assert served.get(f"/v1/campaigns/{campaign}/search", q=query)[0] == 200
            served.process.send_signal(signal.SIGTERM)
            assert served.process.wait(timeout=60) == 0
    finally:
        sink.shutdown()
    exported = b"".join(received)
    assert b"parity.serve.request.duration" in exported
    assert b"parity.search.document_cache.hit_ratio" in exported
    assert b"/v1/campaigns/{campaign}/search" in exported  # the route template labels the latency


@pytest.mark.slow
def test_a_request_over_the_timeout_is_a_504_and_the_server_keeps_serving(
    example_env: ExampleEnv, tmp_path: Path
) -> None:
    campaign, _sessions = _seed(example_env)
    proxy = SlowProxy(example_env.endpoint_url, delay=4.0)
    text = example_env.config_path.read_text().replace(example_env.endpoint_url, f"http://127.0.0.1:{proxy.port}")
    path = tmp_path / "slow.toml"
    path.write_text(text)
    with serve(path, tmp_path / "serve.log", "--request-timeout", "1") as served:
        status, body = served.get(f"/v1/campaigns/{campaign}/search", q="python")
        assert status == 504 and body == {"error": "the request took longer than 1 s"}, body
        status, body = served.post("/v1/lexemes", {"name": "Running budgets"})
        assert (status, body) == (200, {"lexemes": ["budget", "run"]})
