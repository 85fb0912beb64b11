"""Benchmark of ``parity serve``: the HTTP API beside the in-process library call and PostgreSQL FTS.

One 50-session campaign of the example app is written to both stores of the embedded local stack;
every session carries its precomputed lexemes. Every query's answer from ``parity serve`` is first
checked against PostgreSQL's (keys, order, float4 ranks). Then, with ``--clients`` (32) concurrent
clients each sending the queries in turn, side by side in one run:

(a) ``parity serve`` over real HTTP, a separate process with its defaults as deployed: one worker
    process per CPU (the output says how many), 16 searches at once per worker; the clients are keep-alive HTTP/1.1
    connections from one asyncio loop in this process that decode each JSON answer (a lean client:
    urllib in 32 threads, a connection per request, cost more CPU than the server's own work);
(b) the library call ``search_dynamodb`` in this process from 32 threads (one shared boto3 client and
    document cache: what an app embedding the Python package would do; one process, so the GIL holds
    its CPU-bound evaluation to one core);
(a') ``parity serve --workers 1``: the server on the same one process (one GIL) as (b);
(c) PostgreSQL FTS: the baseline SQL, one connection per client;
each of (a), (a') and (b) with the ``lexeme_attribute`` push-down on and off. Beside each line: the CPU
each process spent per request meanwhile (server, this process, the stand-in), from /proc: on a shared
machine the latencies queue behind other jobs, the CPU per request much less so.
The target (the server's overhead over the library call at p50, at most 2 ms) is printed last as
(a) - (b): the server as deployed against the library call at the same 32-way concurrency.

DynamoDB: moto's Query of a 50-item partition costs ~200 ms on this machine and serialises
concurrent requests, which would bury what is measured here. So (a) and (b) query a small DynamoDB
stand-in in its own process (real HTTP, the DynamoDB JSON protocol, the real boto3 on the other end)
holding the campaign's items as moto returned them. It evaluates the key condition and the filter
that ``query_request`` writes (entity match, ``attribute_not_exists(#lx) OR contains(#lx, ...)``),
so the push-down changes what is sent, and it waits ``--latency-ms`` (default 5, a same-region
DynamoDB Query) per request. ``--moto`` queries moto instead.

The overhead of the server over the library call is also measured with one client (the cost one
request adds, no queue) and
(d) without sockets or DynamoDB latency: the library call against an in-memory DynamoDB client beside
the same search sent through the ASGI app, with the search on a worker thread as served and inline
(the difference is the thread hand-off, i.e. how quickly this machine schedules a woken thread).

    .venv/bin/python bench/serve.py                # default: 32 clients, 8 passes over the queries each
    .venv/bin/python bench/serve.py --rounds 2     # a quick look
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from _common import ROOT, local_stack, percentile
from latency_proxy import cpu_seconds

QUERIES = [
    "launch", "budget review", '"customer onboarding"', "pricing or roadmap", "marketing -forecast",
    "planning the launch", "reviews", '"launch review" or email', "growth", "partner web", "migration",
    "postgres dynamodb", "search -cutover", '"quarterly planning" retention', "webinar",
    "funnel or churn or design", "sprint -release -page", "database", "conversion growth",
]  # fmt: skip


# -- the DynamoDB stand-in (runs in its own process: python bench/serve.py --stand-in ITEMS PORTFILE) ------


def _matches(request: dict[str, Any], item: dict[str, Any]) -> bool:
    """The key condition and filter of ``parity.search.engine.query_request``, evaluated on one item."""
    names, values = request["ExpressionAttributeNames"], request["ExpressionAttributeValues"]
    if item.get(names["#pk"]) != values[":pk"]:
        return False
    if "#sk" in names and not item.get(names["#sk"], {}).get("S", "").startswith(values[":skp"]["S"]):
        return False
    text = request.get("FilterExpression", "")
    for number in re.findall(r"#m(\d+) = :m\1", text):
        if item.get(names[f"#m{number}"]) != values[f":m{number}"]:
            return False
    if "#lx" in names and names["#lx"] in item:
        have = set(item[names["#lx"]].get("SS", []))
        if any(values[v]["S"] not in have for v in re.findall(r"contains\(#lx, (:v\d+)\)", text)):
            return False
    return True


def stand_in(items_path: str, port_file: str, latency_ms: float) -> None:
    items = [json.loads(line) for line in Path(items_path).read_text().splitlines() if line]
    encoded = [json.dumps(i, separators=(",", ":")) for i in items]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            chosen = [encoded[i] for i, item in enumerate(items) if _matches(request, item)]
            body = ('{"Items":[' + ",".join(chosen) + f'],"Count":{len(chosen)},"ScannedCount":{len(items)}}}').encode()
            time.sleep(latency_ms / 1000)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    Path(port_file).write_text(str(server.server_address[1]))
    server.serve_forever()


# -- measurement --------------------------------------------------------------------------------------------


def concurrent(fn: Callable[[str], Any], clients: int, rounds: int) -> tuple[list[float], float]:
    """Every client sends every query ``rounds`` times, starting at a different query: (latencies ms, req/s)."""
    samples: list[float] = []
    lock = threading.Lock()

    def client(offset: int) -> None:
        mine = []
        for n in range(rounds * len(QUERIES)):
            query = QUERIES[(offset + n) % len(QUERIES)]
            start = time.perf_counter()
            fn(query)
            mine.append((time.perf_counter() - start) * 1000)
        with lock:
            samples.extend(mine)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return samples, len(samples) / (time.perf_counter() - started)


def http_load(port: int, paths: list[str], clients: int, rounds: int) -> tuple[list[float], float]:
    """The HTTP side of ``concurrent``: ``clients`` keep-alive HTTP/1.1 connections from one asyncio loop,
    each sending every path ``rounds`` times in turn (starting at a different one) and decoding the JSON
    answer, as an app's HTTP client does. A lean client: urllib in threads (a connection per request)
    costs more CPU than the server's own work, on the cores the server uses."""
    import asyncio

    requests = [f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode() for path in paths]
    samples: list[float] = []

    async def client(offset: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for n in range(rounds * len(requests)):
                start = time.perf_counter()
                writer.write(requests[(offset + n) % len(requests)])
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200 "):
                    raise SystemExit(f"parity serve answered {head.splitlines()[0]!r}")
                length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
                json.loads(await reader.readexactly(length))
                samples.append((time.perf_counter() - start) * 1000)
        finally:
            writer.close()

    async def run() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(client(k) for k in range(clients)))
        return time.perf_counter() - started

    elapsed = asyncio.run(run())
    return samples, len(samples) / elapsed


class Phase:
    """One measured line: latencies, requests/s and the CPU each process spent per request meanwhile."""

    def __init__(self, label: str, processes: dict[str, int]) -> None:
        self.label, self.processes = label, processes

    def run(self, load: Callable[[], tuple[list[float], float]]) -> tuple[list[float], float]:
        before = {name: cpu_seconds(pid) for name, pid in self.processes.items()}
        self.samples, self.rate = load()
        self.cpu = {name: (cpu_seconds(pid) - before[name]) * 1000 / len(self.samples)
                    for name, pid in self.processes.items()}  # fmt: skip
        return self.samples, self.rate

    def lines(self) -> list[str]:
        cpu = ", ".join(f"{name} {ms:.2f}" for name, ms in self.cpu.items())
        return [line(self.label, self.samples, self.rate), f"    CPU ms per request: {cpu}"]


def line(label: str, samples: list[float], rate: float = 0.0) -> str:
    throughput = f"{rate:7.1f} req/s" if rate else " " * 13
    return (
        f"{label:<50} p50 {percentile(samples, 50):8.2f} ms  p99 {percentile(samples, 99):8.2f} ms"
        f"  mean {statistics.fmean(samples):8.2f} ms  {throughput}  n={len(samples)}"
    )


def load_text() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min) {five:.2f} (5 min)"


def start_serve(config_path: Path, log: Path, *options: str) -> tuple[subprocess.Popen[bytes], str]:
    """``parity serve`` with its defaults (workers: one per CPU; 16 searches at once per worker) and ``options``."""
    from parity.local.embedded import free_port

    port = free_port()
    command = [sys.executable, "-m", "parity.cli", "serve", "--config", str(config_path), "--port", str(port),
               "--request-timeout", "120", *options]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=5):
                return process, url
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"parity serve did not start: {log.read_text()[-2000:]}")


def asgi_overhead(config: Any, campaign: str, items: list[dict[str, Any]], rounds: int) -> list[str]:
    """(d) One client, no sockets, no DynamoDB latency: the library call vs the same search through the
    ASGI app (routing, validation, the response model, the access log and the latency metric), with the
    search on a worker thread as served, and inline (what the thread hand-off itself costs here)."""
    import asyncio
    import io

    import anyio.to_thread

    from parity.search.api import AccessLog, ServeSettings, create_app
    from parity.search.engine import DocumentCache, rank_text, search_dynamodb

    class InMemory:
        def query(self, **_: Any) -> dict[str, Any]:
            return {"Items": items}

    client, cache = InMemory(), DocumentCache()

    def library(q: str) -> Any:
        return [(h.key, rank_text(h.rank)) for h in search_dynamodb(config, client, campaign, q, cache)]

    app = AccessLog(create_app(config, lambda: client, ServeSettings(concurrency=4), DocumentCache()))

    async def request(q: str) -> None:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": f"/v1/campaigns/{campaign}/search", "root_path": "",
                 "raw_path": f"/v1/campaigns/{campaign}/search".encode(), "state": {},
                 "query_string": urllib.parse.urlencode({"q": q}).encode(), "headers": [(b"host", b"bench")],
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8080)}  # fmt: skip

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            if message["type"] == "http.response.start" and message["status"] != 200:
                raise SystemExit(f"the ASGI app answered {message['status']}")

        await app(scope, receive, send)

    async def run() -> list[str]:
        events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        await events.put({"type": "lifespan.startup"})
        started: list[Any] = []

        async def send(message: Any) -> None:
            started.append(message)

        lifespan = asyncio.create_task(app.app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                               events.get, send))  # fmt: skip
        while not started:
            await asyncio.sleep(0.01)
        threaded = anyio.to_thread.run_sync

        async def inline(fn: Any, *args: Any, **_: Any) -> Any:
            return fn(*args)

        samples: dict[str, list[float]] = {"library": [], "threaded": [], "inline": []}
        for q in QUERIES:
            library(q)
            await request(q)
        for _ in range(rounds):
            for q in QUERIES:
                start = time.perf_counter()
                library(q)
                samples["library"].append((time.perf_counter() - start) * 1000)
                anyio.to_thread.run_sync = threaded
                start = time.perf_counter()
                await request(q)
                samples["threaded"].append((time.perf_counter() - start) * 1000)
                anyio.to_thread.run_sync = inline  # type: ignore[assignment]
                start = time.perf_counter()
                await request(q)
                samples["inline"].append((time.perf_counter() - start) * 1000)
        anyio.to_thread.run_sync = threaded
        await events.put({"type": "lifespan.shutdown"})
        await lifespan
        lib = percentile(samples["library"], 50)
        return [
            line("(d) library call, in-memory DynamoDB, 1 client", samples["library"]),
            line("(d) ASGI app, search on a worker thread", samples["threaded"]),
            line("(d) ASGI app, search inline (no thread hand-off)", samples["inline"]),
            f"  the server's own cost per request at p50: {percentile(samples['inline'], 50) - lib:+.2f} ms;"
            f" with the hand-off to a worker thread: {percentile(samples['threaded'], 50) - lib:+.2f} ms",
        ]

    with contextlib.redirect_stderr(io.StringIO()):  # the access log lines
        return asyncio.run(run())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--rounds", type=int, default=8, help="passes over the queries per client (default 8)")
    parser.add_argument("--sessions", type=int, default=50, help="sessions in the campaign (default 50)")
    parser.add_argument("--latency-ms", type=float, default=5.0, help="the DynamoDB stand-in's latency (default 5)")
    parser.add_argument("--moto", action="store_true", help="query moto instead of the stand-in (slow)")
    parser.add_argument("--stand-in", nargs=2, metavar=("ITEMS", "PORTFILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stand_in:
        stand_in(args.stand_in[0], args.stand_in[1], args.latency_ms)
        return 0

    import boto3
    import botocore.config
    import psycopg

    from parity.config import load_config
    from parity.local.example import config_toml, generate, put_items, write_postgres
    from parity.local.example_stores import example_stores
    from parity.search.engine import DocumentCache, rank_text, search_dynamodb, search_postgres, session_lexemes
    from parity.search.rank import f4
    from parity.search.serve import default_workers

    load_before = load_text()
    helpers: list[subprocess.Popen[bytes]] = []
    # (d) serves in this process: its access log lines are not figures
    with local_stack(log_level="warning") as stack:
        workdir = stack.root
        stores = example_stores(stack.dsn, stack.endpoint_url, workdir / "plain.toml", stream=False, autocommit=True)
        dynamodb, conn, plain = stores.dynamodb, stores.conn, stores.config
        campaign = generate(1, args.sessions, seed=5)[0]
        write_postgres(conn, [campaign, *campaign.sessions])
        items = [campaign.item()]
        for s in campaign.sessions:
            item = s.item()
            lexemes = session_lexemes(plain, {"name": s.name, "summary": s.summary, "metadata": s.metadata})
            if lexemes:
                item["lexemes"] = {"SS": lexemes}
            items.append(item)
        put_items(dynamodb, "app", items)
        endpoint = stack.endpoint_url
        if not args.moto:  # the stand-in holds what moto holds, as moto returns it
            stored = dynamodb.scan(TableName="app")["Items"]
            (workdir / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in stored))
            port_file = workdir / "port"
            helpers.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        __file__,
                        "--stand-in",
                        str(workdir / "items.jsonl"),
                        str(port_file),
                        "--latency-ms",
                        str(args.latency_ms),
                    ]
                )
            )
            while not port_file.exists() or not port_file.read_text():
                time.sleep(0.05)
            endpoint = f"http://127.0.0.1:{port_file.read_text()}"
        configs = {}
        for name, extra in (("push-down off", ""), ("push-down on", 'lexeme_attribute = "lexemes"\n')):
            path = workdir / f"{name.replace(' ', '-')}.toml"
            path.write_text(config_toml(table="app", dsn=stack.dsn, endpoint_url=endpoint) + extra)
            configs[name] = path

        cid = campaign.id
        paths = [f"/v1/campaigns/{cid}/search?" + urllib.parse.urlencode({"q": q}) for q in QUERIES]
        results: list[str] = []
        targets: list[str] = []
        workers = default_workers()
        stand_in_pid = {} if args.moto else {"stand-in": helpers[0].pid}
        try:
            for name, path in configs.items():
                config = load_config(path)
                process, url = start_serve(path, workdir / f"serve-{name}.log")
                helpers.append(process)

                def ask(q: str, url: str = url) -> Any:
                    query = urllib.parse.urlencode({"q": q})
                    with urllib.request.urlopen(f"{url}/v1/campaigns/{cid}/search?{query}", timeout=120) as r:
                        return json.loads(r.read())

                for q in QUERIES:  # equal answers first (and the server's cache warm)
                    served = [(h["key"], f4(h["rank"])) for h in ask(q)["results"]]
                    expected = [(h.key, h.rank) for h in search_postgres(config, conn, cid, q)]
                    if served != expected:
                        print(f"NOT EQUIVALENT ({name}) for {q!r}: {served} vs {expected}", file=sys.stderr)
                        return 1
                port = int(url.rsplit(":", 1)[1])
                http_load(port, paths, args.clients, 1)  # every worker's cache warm (connections land on any)
                client = boto3.client(
                    "dynamodb",
                    endpoint_url=endpoint,
                    region_name="us-east-1",
                    config=botocore.config.Config(max_pool_connections=args.clients),
                )
                cache = DocumentCache()

                def library(q: str, config: Any = config, client: Any = client, cache: Any = cache) -> Any:
                    return [(h.key, rank_text(h.rank)) for h in search_dynamodb(config, client, cid, q, cache)]

                for q in QUERIES:
                    library(q)
                watched = {"server": process.pid, "bench (client)": os.getpid(), **stand_in_pid}
                serve_32 = Phase(f"parity serve, HTTP, {workers} workers, {name}", watched)
                serve_32.run(lambda port=port: http_load(port, paths, args.clients, args.rounds))
                library_32 = Phase(f"library call in-process, {args.clients} threads, {name}",
                                   {"bench (library)": os.getpid(), **stand_in_pid})  # fmt: skip
                library_32.run(lambda library=library: concurrent(library, args.clients, args.rounds))
                serve_1 = http_load(port, paths, 1, args.rounds)
                library_1 = concurrent(library, 1, args.rounds)
                process.terminate()
                process.wait(timeout=60)
                # the same CPU for both: one server process (one GIL) against the library's one process
                process, url = start_serve(path, workdir / f"serve-{name}-1.log", "--workers", "1")
                helpers.append(process)
                port = int(url.rsplit(":", 1)[1])
                http_load(port, paths, args.clients, 1)
                one_worker = Phase(f"parity serve, HTTP, 1 worker, {name}", {**watched, "server": process.pid})
                one_worker.run(lambda port=port: http_load(port, paths, args.clients, args.rounds))
                process.terminate()
                process.wait(timeout=60)
                overhead = percentile(serve_32.samples, 50) - percentile(library_32.samples, 50)
                one_overhead = percentile(one_worker.samples, 50) - percentile(library_32.samples, 50)
                results += [
                    *serve_32.lines(),
                    *library_32.lines(),
                    *one_worker.lines(),
                    f"  overhead of the server over the library call at p50, {args.clients} clients:"
                    f" {overhead:+.2f} ms with {workers} workers;"
                    f" {one_overhead:+.2f} ms with 1 worker"
                    f" (the same one process as the library call)",
                    f"  with 1 client: {percentile(serve_1[0], 50) - percentile(library_1[0], 50):+.2f} ms"
                    f" (serve p50 {percentile(serve_1[0], 50):.2f} ms, library {percentile(library_1[0], 50):.2f} ms)",
                    "",
                ]
                verdict = "met" if overhead <= 2.0 else "NOT met"
                served_p50, library_p50 = percentile(serve_32.samples, 50), percentile(library_32.samples, 50)
                targets.append(
                    f"TARGET {name}: parity serve ({workers} workers) p50 {served_p50:.2f} ms - library call"
                    f" (one process, {args.clients} threads) p50 {library_p50:.2f} ms = {overhead:+.2f} ms"
                    f" at {args.clients} clients; target <= +2 ms: {verdict}"
                    f" (with 1 worker, the library call's one core: {one_overhead:+.2f} ms)"
                )

            local = threading.local()
            baseline = load_config(configs["push-down off"])

            def postgres(q: str) -> Any:
                if not hasattr(local, "conn"):
                    local.conn = psycopg.connect(stack.dsn, autocommit=True, row_factory=psycopg.rows.dict_row)
                return search_postgres(baseline, local.conn, cid, q)

            results.append(line("PostgreSQL FTS (baseline SQL)", *concurrent(postgres, args.clients, args.rounds)))
            results += asgi_overhead(baseline, cid, items[1:], args.rounds * 10)
        finally:
            for helper in helpers:
                if helper.poll() is None:
                    helper.terminate()
                    helper.wait(timeout=30)
            conn.close()

    print(f"campaign of {args.sessions} sessions, {len(QUERIES)} queries, {args.clients} concurrent clients,"
          f" {args.rounds} passes each; DynamoDB: {'moto' if args.moto else f'stand-in, {args.latency_ms:g} ms'};"
          f" {os.cpu_count()} CPUs; load average before {load_before}, after {load_text()}")  # fmt: skip
    print("every served answer equals PostgreSQL's (keys, order, float4 ranks)\n")
    print("\n".join(results))
    print()
    print("\n".join(targets))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
