"""Campaign search: DynamoDB Query (all pages) + exact evaluation and ranking on the client,
and the PostgreSQL baseline it must equal.

The document of a session is ``to_tsvector(col1) || to_tsvector(col2) || ...`` over the
configured columns in order; a json column contributes its string values only and a missing
one nothing. Results are ordered by ts_rank descending, then key ascending.
"""

from __future__ import annotations

import argparse
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from parity.config import EntityConfig, ParityConfig, SearchConfig
from parity.dynamo import dynamodb_errors
from parity.dynamo_json import Item, deserialize
from parity.errors import ConfigError, InputError
from parity.jsontext import loads_exact
from parity.mapping import item_key, key_to_json, match_entity, row_key
from parity.pg import postgres_errors, table_identifier
from parity.pg_release import DEFAULT as DEFAULT_RELEASE
from parity.pg_release import PostgresRelease
from parity.search.lexize import TsVector, json_words, parse_words, use_snowball, vector_of
from parity.search.rank import f4, ts_rank
from parity.search.tsquery import Node, matches, positive_terms, websearch_to_tsquery


@dataclass(frozen=True)
class Hit:
    key: dict[str, Any]
    rank: float


def search_config(config: ParityConfig) -> tuple[SearchConfig, EntityConfig]:
    """The search section and its entity; stems from now on as ``search.postgres_version``'s Snowball does."""
    if config.search is None:
        raise ConfigError("the config has no [search] section; add one (see docs/search.md)")
    entity = config.entity_named(config.search.entity)
    assert entity is not None  # the config model checks the reference
    if use_snowball(release_of(config.search).snowball):
        DOCUMENTS.clear()  # documents stemmed by another release
    return config.search, entity


def release_of(search: SearchConfig) -> PostgresRelease:
    """The PostgreSQL release search answers like (``search.postgres_version``, else the port's default)."""
    return PostgresRelease.parse(search.postgres_version or DEFAULT_RELEASE)


def add_release_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--postgres-version",
        metavar="MAJOR[.MINOR]",
        help="answer like this PostgreSQL release (default: search.postgres_version, else "
        f"{DEFAULT_RELEASE}; parity check-config reads the server's)",
    )


def with_release(config: ParityConfig, text: str | None) -> ParityConfig:
    """The config with ``--postgres-version`` in place of ``search.postgres_version`` (InputError if unknown)."""
    if text is None or config.search is None:
        return config
    try:
        PostgresRelease.parse(text)
    except ValueError as exc:
        raise InputError(f"--postgres-version: {exc}") from None
    return config.model_copy(update={"search": config.search.model_copy(update={"postgres_version": text})})


def parse_query(search: SearchConfig, query: str) -> Node | None:
    if len(query) > search.max_query_length:
        raise InputError(
            f"query is {len(query)} characters long; the limit is search.max_query_length = {search.max_query_length}"
        )
    release = release_of(search)
    return websearch_to_tsquery(query, before_or_fix=not release.has_or_fix, ascii_spaces=release.ascii_query_spaces)


MAX_CAMPAIGN_LENGTH = 512


def check_campaign(config: ParityConfig, campaign: str) -> str:
    """The campaign id if it has the format of ``search.campaign_column`` (uuid, integer or text), else InputError."""
    search, entity = search_config(config)
    kind = entity.all_columns[search.campaign_column].type
    if not campaign or len(campaign) > MAX_CAMPAIGN_LENGTH or not campaign.isprintable():
        raise InputError(f"campaign id must be 1 to {MAX_CAMPAIGN_LENGTH} printable characters")
    if kind == "uuid":
        try:
            uuid.UUID(campaign)
        except ValueError:
            column = search.campaign_column
            raise InputError(f"campaign id {campaign!r} is not a uuid ({column} is a uuid column)") from None
    elif kind == "integer" and not campaign.lstrip("-").isdigit():
        column = search.campaign_column
        raise InputError(f"campaign id {campaign!r} is not an integer ({column} is an integer column)")
    return campaign


def document_from_values(search: SearchConfig, entity: EntityConfig, values: Mapping[str, Any]) -> TsVector:
    """The session's document from plain column values (strings, JSON values or None)."""
    columns = entity.all_columns
    words: list[list[tuple[str, int]]] = []
    for column in search.columns:
        value = values.get(column)
        if value is None:
            continue  # to_tsvector('') and a NULL jsonb's coalesce(..., '') add nothing
        if columns[column].type == "json":
            words.append(json_words(value))
        else:
            words.append(parse_words(str(value))[0])
    return vector_of(*words)


def document_from_item(search: SearchConfig, entity: EntityConfig, item: Item) -> TsVector:
    columns = entity.all_columns
    values: dict[str, Any] = {}
    for column in search.columns:
        spec = columns[column]
        attr = item.get(spec.attribute)
        if attr is None or "NULL" in attr:
            values[column] = None
        elif spec.type == "json" and "S" in attr:
            values[column] = _json_text(str(attr["S"]))
        else:
            values[column] = deserialize(attr)
    return document_from_values(search, entity, values)


def _json_text(text: str) -> Any:
    """A json column stored as JSON text in an S attribute (as the comparison rules allow)."""
    try:
        return loads_exact(text)
    except ValueError:
        return text


def session_lexemes(config: ParityConfig, values: Mapping[str, Any]) -> list[str]:
    """The lexemes of a session's document (column -> value), for the app's precomputed lexeme set.

    Store them as a string set (SS) in ``search.lexeme_attribute``; an empty list means: omit the
    attribute (DynamoDB has no empty sets).
    """
    search, entity = search_config(config)
    return sorted(document_from_values(search, entity, values))


def item_lexemes(config: ParityConfig, item: Item) -> list[str]:
    """:func:`session_lexemes` for an item in DynamoDB JSON (e.g. in a backfill or a stream handler)."""
    search, entity = search_config(config)
    return sorted(document_from_item(search, entity, item))


class DocumentCache:
    """Documents by the raw values of their searched attributes (bounded, least recently used out).

    A campaign's sessions change rarely and are searched often: a process that serves several
    queries (``--batch``, ``parity serve``) parses each session's text once. Vectors are never
    mutated. Safe to share between threads (``parity serve`` runs searches on a thread pool): the
    bookkeeping is under a lock, the parsing is not, so two threads may parse the same new session
    once each. ``hits`` and ``misses`` count lookups (the served cache hit ratio).
    """

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple[str, ...], TsVector] = OrderedDict()
        self._lock = threading.Lock()

    def document(self, search: SearchConfig, entity: EntityConfig, item: Item) -> TsVector:
        key = tuple(repr(item.get(entity.all_columns[c].attribute)) for c in search.columns)
        with self._lock:
            vector = self._entries.get(key)
            if vector is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return vector
            self.misses += 1
        vector = document_from_item(search, entity, item)
        with self._lock:
            self._entries[key] = vector
            if len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return vector

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


DOCUMENTS = DocumentCache()


def _uncached(search: SearchConfig, entity: EntityConfig, item: Item) -> TsVector:
    return document_from_item(search, entity, item)


def rank_items(
    search: SearchConfig,
    entity: EntityConfig,
    items: Iterable[Item],
    query: Node | None,
    cache: DocumentCache | None = DOCUMENTS,
) -> list[Hit]:
    """The exact evaluation: matching items ranked by ts_rank desc, then key asc."""
    if query is None:
        return []
    scored: list[tuple[float, tuple[Any, ...], dict[str, Any]]] = []
    for item in items:
        document = cache.document if cache is not None else _uncached
        vector = document(search, entity, item)
        if matches(vector, query):
            key = key_to_json(entity, item_key(entity, item))
            scored.append((ts_rank(vector, query), tuple(key.values()), key))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [Hit(key, rank) for rank, _, key in scored]


def query_request(
    search: SearchConfig, entity: EntityConfig, table: str, campaign: str, query: Node | None
) -> dict[str, Any]:
    """The Query parameters: values always bound, names always through ExpressionAttributeNames."""
    names: dict[str, str] = {"#pk": search.partition.attribute}
    values: dict[str, Any] = {":pk": {"S": search.partition.template.format(campaign=campaign)}}
    key_condition = "#pk = :pk"
    if search.sort_prefix is not None:
        names["#sk"] = search.sort_prefix.attribute
        values[":skp"] = {"S": search.sort_prefix.prefix}
        key_condition += " AND begins_with(#sk, :skp)"
    filters: list[str] = []
    for i, (attr, want) in enumerate(sorted(entity.match.items())):
        names[f"#m{i}"] = attr
        values[f":m{i}"] = {"S": want}
        filters.append(f"#m{i} = :m{i}")
    terms = positive_terms(query) if search.lexeme_attribute is not None else []
    if terms:
        # Items written before the app precomputed lexemes lack the attribute: they still reach
        # the client, which evaluates them exactly; the push-down only drops items that cannot match.
        names["#lx"] = str(search.lexeme_attribute)
        wanted = []
        for i, term in enumerate(terms):
            values[f":v{i}"] = {"S": term}
            wanted.append(f"contains(#lx, :v{i})")
        filters.append(f"(attribute_not_exists(#lx) OR ({' AND '.join(wanted)}))")
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": key_condition,
        "FilterExpression": " AND ".join(filters),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    if search.index is not None:
        request["IndexName"] = search.index
    return request


def query_items(client: Any, request: Mapping[str, Any]) -> list[Item]:
    """Every page of the Query (never just the first)."""
    items: list[Item] = []
    params = dict(request)
    while True:
        page = client.query(**params)
        items.extend(page.get("Items", []))
        last = page.get("LastEvaluatedKey")
        if not last:
            return items
        params["ExclusiveStartKey"] = last


def search_dynamodb(
    config: ParityConfig, client: Any, campaign: str, text: str, cache: DocumentCache | None = DOCUMENTS
) -> list[Hit]:
    """Sessions of ``campaign`` matching ``text``, ranked as PostgreSQL ranks them; raises only
    parity's errors (DynamoDBError for what the client refused or could not reach)."""
    search, entity = search_config(config)
    query = parse_query(search, text)
    if query is None:
        return []
    request = query_request(search, entity, config.dynamodb.table, campaign, query)
    with dynamodb_errors("querying the campaign's sessions", config.dynamodb):
        items = query_items(client, request)
    items = [i for i in items if match_entity([entity], i) is entity]
    return rank_items(search, entity, items, query, cache)


def probe_request(config: ParityConfig) -> dict[str, Any]:
    """A one-item Query on the searched table or index (a partition that holds nothing): what a health
    check sends, so it needs no permission beyond the searches' own ``dynamodb:Query``."""
    search, _ = search_config(config)
    request: dict[str, Any] = {
        "TableName": config.dynamodb.table,
        "KeyConditionExpression": "#pk = :pk",
        "ExpressionAttributeNames": {"#pk": search.partition.attribute},
        "ExpressionAttributeValues": {":pk": {"S": "parity#healthz"}},
        "Limit": 1,
    }
    if search.index is not None:
        request["IndexName"] = search.index
    return request


def postgres_sql(config: ParityConfig) -> sql.Composed:
    """The fixed PostgreSQL baseline: document @@ websearch_to_tsquery, ts_rank desc, key asc."""
    search, entity = search_config(config)
    lang = sql.Literal(search.language)
    parts = []
    for column in search.columns:
        ident = sql.Identifier(column)
        if entity.all_columns[column].type == "json":
            parts.append(sql.SQL("coalesce(to_tsvector({}::regconfig, {}::jsonb), ''::tsvector)").format(lang, ident))
        else:
            parts.append(sql.SQL("to_tsvector({}::regconfig, coalesce({}::text, ''))").format(lang, ident))
    document = sql.SQL(" || ").join(parts)
    keys = [sql.Identifier(c) for c in entity.key]
    return sql.SQL(
        "SELECT {keys}, ts_rank(d, q)::float8 AS rank FROM (SELECT {keys}, {doc} AS d FROM {table} "
        "WHERE {campaign} = %(campaign)s) s, websearch_to_tsquery({lang}::regconfig, %(query)s) q "
        "WHERE d @@ q ORDER BY rank DESC, {keys}"
    ).format(
        keys=sql.SQL(", ").join(keys),
        doc=document,
        table=table_identifier(entity),
        campaign=sql.Identifier(search.campaign_column),
        lang=lang,
    )


def search_postgres(config: ParityConfig, conn: Any, campaign: str, text: str) -> list[Hit]:
    """PostgreSQL's own answer (the baseline search_dynamodb equals); raises only parity's errors."""
    search, entity = search_config(config)
    parse_query(search, text)
    with postgres_errors("running the PostgreSQL full-text baseline"):
        rows = conn.execute(postgres_sql(config), {"campaign": campaign, "query": text}).fetchall()
    return [Hit(key_to_json(entity, row_key(entity, row)), f4(row["rank"])) for row in rows]


def rank_text(rank: float) -> float:
    """The shortest decimal that reads back as the same float4 (what PostgreSQL prints for real)."""
    for digits in range(1, 10):
        candidate = float(f"{rank:.{digits}g}")
        if f4(candidate) == rank:
            return candidate
    return rank
