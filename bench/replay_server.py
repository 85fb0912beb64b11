"""A small DynamoDB replay server: real HTTP, answering Scan (with segments) from recorded items.

moto's Scan serves only about 2,000 items/s on the benchmark machine, which would hide the
reconciler's own cost. This server answers ``DescribeTable``, ``Scan`` (``Segment``/``TotalSegments``,
``Limit``, 1 MB pages, ``ExclusiveStartKey``, top-level ``ProjectionExpression`` with
``ExpressionAttributeNames``, or every attribute with ``--ignore-projection``: the conservative case
of a client whose projection saves nothing) and ``BatchGetItem``/``GetItem`` from a file of typed-JSON items
(bench/reconcile.py writes the generated items it also loads into moto and PostgreSQL; any
recording of a real table works too), after a per-request latency like AWS's (``--latency-ms``,
default 15). Responses are the DynamoDB
JSON protocol, so the real boto3 parses them. Items are pre-serialised per projection, so serving a
page costs the server little and the client's cost is what gets measured.

Run: ``python bench/replay_server.py ITEMS.jsonl DESCRIBE.json [--latency-ms 15] [--port 0]``; it
prints ``PORT <n>`` on stdout once listening. ``GET /stats`` returns request counts per operation.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import threading
import time
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_MAX_PAGE_BYTES = 1024 * 1024


def key_id(item: dict[str, Any], key_attrs: list[str]) -> str:
    return json.dumps([item[a] for a in key_attrs], sort_keys=True, separators=(",", ":"))


class ReplayTable:
    """Recorded items of one table and the pages of any segmentation, computed on demand."""

    def __init__(
        self, describe: dict[str, Any], items: list[dict[str, Any]], *, ignore_projection: bool = False
    ) -> None:
        self.describe = describe
        self.ignore_projection = ignore_projection  # answer full items, as a server that ignores it would
        self.name = describe["TableName"]
        self.key_attrs = [k["AttributeName"] for k in describe["KeySchema"]]
        self.items = items
        self.by_key = {key_id(item, self.key_attrs): i for i, item in enumerate(items)}
        self._segments: dict[int, tuple[list[list[int]], dict[str, int]]] = {}
        self._json: dict[frozenset[str] | None, list[str]] = {}
        self._lock = threading.Lock()

    def projection(self, request: dict[str, Any]) -> frozenset[str] | None:
        """The request's projection, or None (every attribute) when the server ignores projections."""
        return None if self.ignore_projection else projection_of(request)

    def segments(self, total: int) -> tuple[list[list[int]], dict[str, int]]:
        with self._lock:
            if total not in self._segments:
                parts: list[list[int]] = [[] for _ in range(total)]
                position: dict[str, int] = {}
                for i, item in enumerate(self.items):
                    kid = key_id(item, self.key_attrs)
                    seg = parts[zlib.crc32(kid.encode()) % total]
                    position[kid] = len(seg)
                    seg.append(i)
                self._segments[total] = (parts, position)
            return self._segments[total]

    def serialized(self, projection: frozenset[str] | None) -> list[str]:
        with self._lock:
            if projection not in self._json:
                self._json[projection] = [
                    json.dumps(item if projection is None else {k: v for k, v in item.items() if k in projection})
                    for item in self.items
                ]
            return self._json[projection]

    def scan(self, request: dict[str, Any]) -> str:
        total = int(request.get("TotalSegments", 1))
        segment = int(request.get("Segment", 0))
        limit = int(request.get("Limit", 10**9))
        parts, position = self.segments(total)
        indices = parts[segment]
        start = 0
        if request.get("ExclusiveStartKey"):
            start = position[key_id(request["ExclusiveStartKey"], self.key_attrs)] + 1
        texts = self.serialized(self.projection(request))
        chosen: list[str] = []
        size = 0
        end = start
        while end < len(indices) and len(chosen) < limit and size < _MAX_PAGE_BYTES:
            text = texts[indices[end]]
            chosen.append(text)
            size += len(text)
            end += 1
        body = '{"Items":[' + ",".join(chosen) + f'],"Count":{len(chosen)},"ScannedCount":{len(chosen)}'
        if request.get("ReturnConsumedCapacity") in ("TOTAL", "INDEXES"):
            units = max(0.5, size / 4096 / 2)
            body += f',"ConsumedCapacity":{{"TableName":"{self.name}","CapacityUnits":{units}}}'
        if end < len(indices):
            last = self.items[indices[end - 1]]
            body += ',"LastEvaluatedKey":' + json.dumps({a: last[a] for a in self.key_attrs})
        return body + "}"

    def batch_get(self, request: dict[str, Any]) -> str:
        responses: dict[str, list[Any]] = {}
        for table, spec in request["RequestItems"].items():
            projection = self.projection(spec)
            found = []
            for key in spec["Keys"]:
                index = self.by_key.get(key_id(key, self.key_attrs))
                if index is not None:
                    item = self.items[index]
                    found.append(item if projection is None else {k: v for k, v in item.items() if k in projection})
            responses[table] = found
        return json.dumps({"Responses": responses, "UnprocessedKeys": {}})

    def get(self, request: dict[str, Any]) -> str:
        index = self.by_key.get(key_id(request["Key"], self.key_attrs))
        if index is None:
            return "{}"
        projection = self.projection(request)
        item = self.items[index]
        return json.dumps({"Item": item if projection is None else {k: v for k, v in item.items() if k in projection}})


def projection_of(request: dict[str, Any]) -> frozenset[str] | None:
    expression = request.get("ProjectionExpression")
    if not expression:
        return None
    names = request.get("ExpressionAttributeNames") or {}
    return frozenset(names.get(part.strip(), part.strip()) for part in re.split(r",", expression))


def make_server(table: ReplayTable, latency_ms: float, port: int = 0) -> ThreadingHTTPServer:
    stats: Counter[str] = Counter()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", "replay")
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._send(200, json.dumps(dict(stats)))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            request = json.loads(self.rfile.read(length) or b"{}")
            operation = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
            stats[operation] += 1
            started = time.monotonic()
            if operation == "DescribeTable":
                body = json.dumps({"Table": table.describe}, default=str)
            elif operation == "Scan":
                body = table.scan(request)
            elif operation == "BatchGetItem":
                body = table.batch_get(request)
            elif operation == "GetItem":
                body = table.get(request)
            else:
                message = f"the replay server does not serve {operation}"
                self._send(400, json.dumps({"__type": "ValidationException", "message": message}))
                return
            pause = latency_ms / 1000.0 - (time.monotonic() - started)
            if pause > 0:
                time.sleep(pause)
            self._send(200, body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("items", help="the table's items, one typed-JSON item per line")
    parser.add_argument("describe", help="the table's DescribeTable 'Table' object (JSON)")
    parser.add_argument("--latency-ms", type=float, default=15.0, help="latency per request (default 15)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--warm", default="", help="comma-separated projection names to pre-serialise")
    parser.add_argument(
        "--ignore-projection",
        action="store_true",
        help="answer every attribute whatever ProjectionExpression asks (the conservative case)",
    )
    parser.add_argument("--warm-segments", default="", help="comma-separated TotalSegments values to precompute")
    args = parser.parse_args()
    with open(args.describe, encoding="utf-8") as fh:
        describe = json.load(fh)
    with open(args.items, encoding="utf-8") as fh:
        items = [json.loads(line) for line in fh if line.strip()]
    describe["ItemCount"] = len(items)
    table = ReplayTable(describe, items, ignore_projection=args.ignore_projection)
    table.serialized(None)
    if args.warm:
        table.serialized(frozenset(args.warm.split(",")))
    for total in filter(None, args.warm_segments.split(",")):
        table.segments(int(total))
    server = make_server(table, args.latency_ms, args.port)
    print(f"PORT {server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
