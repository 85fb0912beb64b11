"""The search HTTP API (``parity serve``): FastAPI routes over the same engine as ``parity search``.

FastAPI earns its place over bare Starlette by what it derives from the pydantic models: request
validation and the OpenAPI document (``GET /openapi.json``), never written by hand. The body of
``POST /v1/lexemes`` is a model built from the config's searched columns, so the document names them.

Every answer is JSON. Bad input is a 400 ``{"error": "one line"}`` (malformed JSON, an empty or
over-long query, a campaign id of the wrong format, a query PostgreSQL itself rejects); DynamoDB
unreachable or refusing is a 503; a request over ``request_timeout`` is a 504; anything unexpected is
a 500 whose body says nothing but that (the traceback goes to the log, never into a response).

Blocking work (boto3, parsing) runs on worker threads, at most ``concurrency`` at a time, sharing one
boto3 client and one document cache; waiting for a slot counts against the request's timeout.
"""

from __future__ import annotations

import functools
import gc
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from fastapi import FastAPI, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry.metrics import CallbackOptions, Observation
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.exceptions import HTTPException
from starlette.requests import Request

from parity import __version__
from parity.config import ParityConfig
from parity.dynamo import dynamodb_errors
from parity.errors import DynamoDBError, InputError
from parity.search.engine import (
    DocumentCache,
    check_campaign,
    probe_request,
    rank_text,
    search_config,
    search_dynamodb,
    session_lexemes,
)
from parity.telemetry import get_logger, meter, shutdown_metrics

T = TypeVar("T")
_log = get_logger("serve")
_meter = meter("search.serve")
_duration = _meter.create_histogram(
    "parity.serve.request.duration", unit="s", description="time from request to the last byte of the answer"
)


class Result(BaseModel):
    key: dict[str, Any] = Field(description="the session's primary-key columns, e.g. {'id': '4f1c…'}")
    rank: float = Field(description="ts_rank(document, query) as PostgreSQL prints the float4")


class SearchResponse(BaseModel):
    """What ``parity search --json`` prints: the sessions PostgreSQL FTS returns, best first."""

    campaign: str
    query: str
    results: list[Result]


class LexemesResponse(BaseModel):
    """The document's lexemes: store them as a string set in ``search.lexeme_attribute`` (omit it when empty)."""

    lexemes: list[str]


class HealthResponse(BaseModel):
    status: str


class ErrorResponse(BaseModel):
    error: str = Field(description="one line saying what was wrong and where")


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "bad input"},
    503: {"model": ErrorResponse, "description": "DynamoDB unreachable or refusing"},
    504: {"model": ErrorResponse, "description": "the request took longer than the server's timeout"},
}


@dataclass(frozen=True)
class ServeSettings:
    concurrency: int = 16  # searches on worker threads at the same time
    request_timeout: float = 10.0  # seconds, waiting for a slot included


def _columns_model(config: ParityConfig) -> type[BaseModel]:
    """The request body of /v1/lexemes: one optional field per searched column, nothing else."""
    search, entity = search_config(config)
    fields: dict[str, Any] = {}
    for column in search.columns:
        kind = entity.all_columns[column].type
        annotation: Any = Any if kind == "json" else (str | None)
        fields[column] = (annotation, Field(default=None, description=f"column {column} ({kind})"))
    return create_model("SessionColumns", __config__=ConfigDict(extra="forbid"), **fields)


def _one_line(errors: Iterable[Any]) -> str:
    """A pydantic/FastAPI validation error list as one line naming where."""
    found = list(errors)
    if not found:
        return "invalid request"
    first = found[0]
    loc = [str(p) for p in first.get("loc", ())]
    if first.get("type") == "json_invalid":
        where = "request body"
        message = "malformed JSON"
    else:
        kinds = {"query": "query parameter", "path": "path parameter", "body": "request body"}
        where = kinds.get(loc[0], loc[0]) if loc else "request"
        rest = ".".join(loc[1:])
        if rest:
            where = f"{where} {rest}"
        message = str(first.get("msg", "invalid")).splitlines()[0]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return f"{where}: {message}{more}"


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message.splitlines()[0] if message else "error"}, status_code=status)


def create_app(
    config: ParityConfig,
    client_factory: Callable[[], Any],
    settings: ServeSettings = ServeSettings(),
    cache: DocumentCache | None = None,
) -> FastAPI:
    """The ASGI application. ``client_factory`` makes the process's one boto3 client at start-up."""
    search, _entity = search_config(config)
    documents = cache if cache is not None else DocumentCache()
    limiter = anyio.CapacityLimiter(settings.concurrency)
    state: dict[str, Any] = {}

    def lookups(_options: CallbackOptions) -> Iterable[Observation]:
        yield Observation(documents.hits, {"result": "hit"})
        yield Observation(documents.misses, {"result": "miss"})

    def hit_ratio(_options: CallbackOptions) -> Iterable[Observation]:
        total = documents.hits + documents.misses
        if total:
            yield Observation(documents.hits / total)

    _meter.create_observable_counter(
        "parity.search.document_cache.lookups", [lookups], description="document cache lookups by result"
    )
    _meter.create_observable_gauge(
        "parity.search.document_cache.hit_ratio", [hit_ratio], description="document cache hits / lookups"
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        state["client"] = client_factory()  # one per worker process, shared by its threads
        # What start-up made (modules, botocore's service model, the app) lives as long as the process:
        # out of the collector's sight, a full collection walks only what requests made since (it walked
        # ~75,000 objects, 170 ms on the loop at a load of 15 on 2 cores, whenever the long-lived objects
        # such as the cached documents had grown by a quarter).
        gc.freeze()
        _log.info("serving", table=config.dynamodb.table, index=search.index, concurrency=settings.concurrency)
        yield
        _log.info("stopped", document_cache_hits=documents.hits, document_cache_misses=documents.misses)
        # flushed here, not at exit: a --workers process ends on the SIGTERM uvicorn re-raises after draining
        shutdown_metrics()

    app = FastAPI(
        title="parity search",
        version=__version__,
        description="Keyword search on DynamoDB that answers what PostgreSQL full-text search answers.",
        lifespan=lifespan,
    )

    async def blocking(fn: Callable[[], T]) -> T:
        with anyio.fail_after(settings.request_timeout):
            return await anyio.to_thread.run_sync(fn, limiter=limiter, abandon_on_cancel=True)

    @app.exception_handler(InputError)
    async def _bad_input(_request: Request, exc: InputError) -> JSONResponse:
        return _error(400, str(exc))

    @app.exception_handler(DynamoDBError)
    async def _dynamodb_down(_request: Request, exc: DynamoDBError) -> JSONResponse:
        _log.warning("dynamodb_error", error=str(exc))
        return _error(503, str(exc))

    @app.exception_handler(TimeoutError)
    async def _timeout(_request: Request, _exc: TimeoutError) -> JSONResponse:
        return _error(504, f"the request took longer than {settings.request_timeout:g} s")

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, _one_line(exc.errors()))

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        _log.error("internal_error", path=request.url.path, error=repr(exc), exc_info=exc)
        return _error(500, "internal error (logged by the server)")

    @app.get("/v1/campaigns/{campaign}/search", response_model=SearchResponse, responses=_ERRORS)
    async def search_campaign(
        campaign: str,
        q: str = Query(description='websearch_to_tsquery syntax: words, "quoted phrases", or, -negation'),
        limit: int | None = Query(default=None, ge=1, le=100_000, description="at most this many results"),
    ) -> SearchResponse:
        """Sessions of the campaign matching the query, ranked as PostgreSQL's ts_rank, best first."""
        check_campaign(config, campaign)
        if not q.strip():
            raise InputError("query parameter q is empty")
        client = state["client"]

        def run() -> list[Any]:
            return search_dynamodb(config, client, campaign, q, documents)

        hits = await blocking(run)
        if limit is not None:
            hits = hits[:limit]
        return SearchResponse(
            campaign=campaign, query=q, results=[Result(key=h.key, rank=rank_text(h.rank)) for h in hits]
        )

    columns_model = _columns_model(config)

    async def lexemes(body: BaseModel) -> LexemesResponse:
        """The lexemes of a session's document (to_tsvector of the searched columns), for lexeme_attribute."""
        found = await blocking(functools.partial(session_lexemes, config, body.model_dump()))
        return LexemesResponse(lexemes=found)

    # the body's model is built from the config at run time: give FastAPI the class, not a string annotation
    lexemes.__annotations__["body"] = columns_model
    app.post("/v1/lexemes", response_model=LexemesResponse, responses=_ERRORS)(lexemes)

    @app.get("/healthz", response_model=HealthResponse, responses=_ERRORS)
    async def healthz() -> HealthResponse:
        """200 when DynamoDB answers a Query on the searched table (or index), else 503."""
        client = state["client"]
        request = probe_request(config)

        def probe() -> None:
            with dynamodb_errors("health check Query", config.dynamodb):
                client.query(**request)

        await blocking(probe)
        return HealthResponse(status="ok")

    return app


class AccessLog:
    """ASGI middleware: one structured log line and one latency sample per HTTP request.

    The route template (not the path, which holds campaign ids) labels the metric; the query
    string, which holds what users search for, is never logged.
    """

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_note(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            _duration.record(
                elapsed,
                {"http.route": route, "http.request.method": scope["method"], "http.response.status_code": status},
            )
            _log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 3),
                client=(scope.get("client") or ("", 0))[0],
            )
