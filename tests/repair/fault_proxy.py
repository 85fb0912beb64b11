"""An HTTP proxy in front of moto that answers chosen DynamoDB calls with AWS errors.

moto never throttles and does not enforce IAM, so the tests that must see what a real table
does under load or with a weak role put this proxy in between: every request is forwarded to moto
unchanged, except that a call named by its ``X-Amz-Target`` (``PutItem``, ``BatchWriteItem``, ...)
can be answered instead with ``ThrottlingException``, ``ProvisionedThroughputExceededException`` or
``AccessDeniedException``, in the JSON and status DynamoDB uses (HTTP 400).

    with FaultProxy(moto_endpoint) as proxy:
        proxy.fail("UpdateItem", "ThrottlingException", times=5)   # the next 5 UpdateItem calls
        proxy.deny("DeleteItem")                                    # every DeleteItem call
        ... endpoint_url=proxy.url ...
        proxy.injected["UpdateItem"]                                # errors answered so far
        proxy.before("UpdateItem", b"sessionid_42", app_writes)    # run once before that call goes on
        proxy.unprocess(times=2)    # the next 2 BatchGetItem calls read one key a table, the rest unprocessed
"""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

_PREFIX = "DynamoDB_20120810."


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self._lock = threading.Lock()
        self._pending: dict[str, list[str]] = {}
        self._denied: set[str] = set()
        self._hooks: list[tuple[str, bytes, Callable[[], None]]] = []
        self._unprocess = 0
        self.injected: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = (self.headers.get("X-Amz-Target") or "").removeprefix(_PREFIX)
                proxy._run_hooks(target, body)
                code = proxy._fault_for(target)
                if code is not None:
                    payload = (
                        f'{{"__type":"com.amazonaws.dynamodb.v20120810#{code}",'
                        f'"message":"injected by the test proxy: {code}"}}'
                    ).encode()
                    self.send_response(400)
                    self.send_header("Content-Type", "application/x-amz-json-1.0")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                body, left = proxy._hold_back(target, body)
                upstream = http.client.HTTPConnection(proxy.host, proxy.port, timeout=60)
                forwarded = ("host", "connection", "content-length")  # http.client sets the length of the body sent
                headers = {k: v for k, v in self.headers.items() if k.lower() not in forwarded}
                upstream.request("POST", self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                skipped = ("content-length", "connection", "transfer-encoding", "date", "server")
                if left and answer.status == 200:  # the keys held back come back as DynamoDB's UnprocessedKeys
                    data = json.dumps({**json.loads(data), "UnprocessedKeys": left}).encode()
                    skipped += ("x-amz-crc32",)  # the checksum of moto's body, not of this one
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in skipped:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)

    def fail(self, target: str, code: str, *, times: int) -> None:
        """Answer the next ``times`` calls of ``target`` with ``code``."""
        with self._lock:
            self._pending.setdefault(target, []).extend([code] * times)

    def deny(self, target: str) -> None:
        """Answer every call of ``target`` with AccessDeniedException."""
        with self._lock:
            self._denied.add(target)

    def before(self, target: str, marker: bytes, action: Callable[[], None]) -> None:
        """Run ``action`` once, before the first call of ``target`` whose body contains ``marker``
        is forwarded (a write of the app that lands between planning and writing)."""
        with self._lock:
            self._hooks.append((target, marker, action))

    def unprocess(self, *, times: int) -> None:
        """The next ``times`` BatchGetItem calls read only the first key of each table; the others come
        back in ``UnprocessedKeys``, as DynamoDB answers when it throttles part of a batch."""
        with self._lock:
            self._unprocess += times

    def _hold_back(self, target: str, body: bytes) -> tuple[bytes, dict[str, object]]:
        with self._lock:
            if target != "BatchGetItem" or not self._unprocess:
                return body, {}
            self._unprocess -= 1
            self.injected["UnprocessedKeys"] += 1
        request = json.loads(body)
        left: dict[str, object] = {}
        for table, spec in request["RequestItems"].items():
            if len(spec["Keys"]) > 1:
                left[table] = {**spec, "Keys": spec["Keys"][1:]}
                spec["Keys"] = spec["Keys"][:1]
        return json.dumps(request).encode(), left

    def _run_hooks(self, target: str, body: bytes) -> None:
        with self._lock:
            due = [h for h in self._hooks if h[0] == target and h[1] in body]
            self._hooks = [h for h in self._hooks if h not in due]
        for _, _, action in due:
            action()

    def _fault_for(self, target: str) -> str | None:
        with self._lock:
            self.calls[target] += 1
            if target in self._denied:
                self.injected[target] += 1
                return "AccessDeniedException"
            queue = self._pending.get(target)
            if queue:
                self.injected[target] += 1
                return queue.pop(0)
        return None

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
