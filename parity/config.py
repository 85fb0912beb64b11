"""The config file (TOML, ``parity.toml`` by default), validated before any work is done.

The shape is documented in docs/reference.md §1 and docs/configuration.md. Every model forbids unknown keys;
:func:`load_config` turns pydantic's errors into one :class:`~parity.errors.ConfigError` line that
names the key path (``entity[0].columns.tags.type``) and suggests the nearest valid name.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from parity.errors import ConfigError

ColumnType = Literal[
    "string", "integer", "decimal", "boolean", "json", "timestamp", "uuid", "string_set", "list", "binary"
]
COLUMN_TYPES: tuple[str, ...] = get_args(ColumnType)
TimeUnit = Literal["s", "ms"]
TimePrecision = Literal["s", "ms", "us"]
Normalization = Literal["trim", "casefold"]
TimeFormat = Literal["iso", "epoch"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnSpec(_Model):
    """How one PostgreSQL column maps to one DynamoDB attribute."""

    attribute: str = Field(min_length=1)
    type: ColumnType = "string"
    unit: TimeUnit = "s"
    precision: TimePrecision = "ms"
    # Sensitive values (emails, names): stored and shown only as a short hash of the canonical value,
    # so equality stays visible and the value never leaves the stores.
    redact: bool = False
    # How the app writes a timestamp in DynamoDB, for `parity repair` (comparisons accept both):
    # "iso" (ISO-8601 UTC text) or "epoch" (a number in `unit`). Default: "epoch" when `unit` is
    # given, else "iso".
    format: TimeFormat | None = None
    # Per-column comparison rules (never silent: reports list them). compare = false keeps the column
    # mapped (replay and repair still write it) but never compares it; normalize applies to strings
    # before they are compared ("trim": surrounding whitespace, "casefold": case), in the order given.
    compare: bool = True
    normalize: tuple[Normalization, ...] = ()

    @model_validator(mode="after")
    def _normalize_strings_only(self) -> ColumnSpec:
        if self.normalize and self.type != "string":
            raise ValueError(f"'normalize' applies only to columns of type 'string', not '{self.type}'")
        if len(set(self.normalize)) != len(self.normalize):
            raise ValueError(f"'normalize' names a rule twice: {list(self.normalize)}")
        return self

    @model_validator(mode="after")
    def _timestamp_only_options(self) -> ColumnSpec:
        if self.type != "timestamp":
            fields = self.model_fields_set
            for option in ("unit", "precision", "format"):
                if option in fields:
                    raise ValueError(f"'{option}' applies only to columns of type 'timestamp'")
        return self

    @property
    def time_format(self) -> str:
        """The form a timestamp is written in: the ``format`` option, else what ``unit`` implies."""
        if self.format is not None:
            return self.format
        return "epoch" if "unit" in self.model_fields_set else "iso"


def _column(value: object) -> object:
    """A column may be written as a bare attribute name."""
    return {"attribute": value} if isinstance(value, str) else value


#: The AWS services parity calls, as ``[dynamodb].endpoint_urls`` keys (boto3's service names).
AwsService = Literal["dynamodb", "dynamodbstreams", "kinesis"]


class DynamoDBConfig(_Model):
    table: str = Field(min_length=3, max_length=255)
    region: str | None = None
    endpoint_url: str | None = None
    # Per service, over endpoint_url: a private subnet reaches DynamoDB through its gateway endpoint
    # but DynamoDB Streams and Kinesis through interface endpoints of their own, each with its own URL.
    endpoint_urls: dict[AwsService, str] = Field(default_factory=dict)


class PostgresConfig(_Model):
    dsn: str | None = None
    store_schema: str = Field(default="parity", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")


VERSION_TYPES = frozenset({"timestamp", "integer", "decimal"})
"""Column types that can order a row's versions (the rules: :mod:`parity.versions`)."""


class EntityConfig(_Model):
    """One ElectroDB entity: which items it owns and how they map to one PostgreSQL table."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")
    table: str = Field(pattern=r"^([A-Za-z_][A-Za-z0-9_$]*\.)?[A-Za-z_][A-Za-z0-9_$]*$")
    match: dict[str, str] = Field(min_length=1)
    key: dict[str, ColumnSpec] = Field(min_length=1)
    version: str | None = None
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    # Optional: how ElectroDB composes the table's key attributes from columns, e.g.
    # { pk = "$app#campaignid_{campaign_id}", sk = "$session_1#sessionid_{id}" }. Lets parity GetItem
    # the item of a row (re-checks of missing items, replay re-reads).
    item_key: dict[str, str] | None = None
    # Optional: the app's other attributes, as templates over columns, that `parity repair` writes on
    # an item it builds from a row: index keys and ElectroDB's markers, e.g.
    # { gsi1pk = "$app#campaignid_{campaign_id}", "__edb_v__" = "1" }. Never compared.
    item_attributes: dict[str, str] | None = None

    @field_validator("key", "columns", mode="before")
    @classmethod
    def _bare_attributes(cls, value: object) -> object:
        if isinstance(value, dict):
            return {name: _column(spec) for name, spec in value.items()}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EntityConfig:
        overlap = set(self.key) & set(self.columns)
        if overlap:
            raise ValueError(f"column(s) {sorted(overlap)} are both key and non-key columns")
        for name, spec in self.key.items():
            if not spec.compare or spec.normalize:
                raise ValueError(f"key column '{name}' is always compared exactly (no 'compare' or 'normalize')")
            if spec.type not in ("string", "uuid", "integer", "decimal", "timestamp"):
                raise ValueError(f"key column '{name}' has type '{spec.type}', which cannot be a key")
        for option, templates in (("item_key", self.item_key), ("item_attributes", self.item_attributes)):
            for attr, template in (templates or {}).items():
                for name in re.findall(r"{([^{}]*)}", template):
                    if name not in self.all_columns:
                        raise ValueError(
                            f"{option}.{attr} names '{{{name}}}', which is not a mapped column"
                            f"{_suggest(name, self.all_columns)}"
                        )
        mapped = {spec.attribute for spec in self.all_columns.values()}
        for attr in self.item_attributes or {}:
            clash = (
                "a match attribute"
                if attr in self.match
                else "a key attribute"
                if attr in (self.item_key or {})
                else ("a mapped column's attribute" if attr in mapped else "")
            )
            if clash:
                raise ValueError(f"item_attributes.{attr} is already {clash}; give each attribute one source")
        if self.version is not None and self.version not in self.all_columns:
            raise ValueError(
                f"version column '{self.version}' is not a mapped column{_suggest(self.version, self.all_columns)}"
            )
        if self.version is not None and self.all_columns[self.version].type not in VERSION_TYPES:
            raise ValueError(
                f"version column '{self.version}' has type '{self.all_columns[self.version].type}';"
                f" a version is one of {', '.join(sorted(VERSION_TYPES))}"
            )
        return self

    @property
    def all_columns(self) -> dict[str, ColumnSpec]:
        """Key columns first, then the other mapped columns, in config order."""
        return {**self.key, **self.columns}

    @property
    def schema_name(self) -> str:
        return self.table.split(".", 1)[0] if "." in self.table else "public"

    @property
    def table_name(self) -> str:
        return self.table.split(".", 1)[1] if "." in self.table else self.table


class ConsumerConfig(_Model):
    source: Literal["dynamodb-streams", "kinesis"] = "dynamodb-streams"
    grace_seconds: float = Field(default=30.0, ge=0)
    stream_name: str | None = None  # Kinesis mode: the Kinesis data stream the table streams to
    batch_size: int = Field(default=1000, ge=1, le=10000)
    poll_interval_seconds: float = Field(default=1.0, ge=0)
    health_file: str | None = None  # touched after every committed batch; see `parity health`
    health_max_age_seconds: float = Field(default=120.0, gt=0)
    ttl_deletes_rows: bool = False  # true when the app deletes the PostgreSQL row when DynamoDB TTL expires an item


class PartitionSpec(_Model):
    attribute: str = Field(min_length=1)
    template: str

    @field_validator("template")
    @classmethod
    def _has_campaign(cls, value: str) -> str:
        if "{campaign}" not in value:
            raise ValueError("template must contain '{campaign}'")
        return value


class SortPrefixSpec(_Model):
    attribute: str = Field(min_length=1)
    prefix: str


class SearchConfig(_Model):
    entity: str
    columns: list[str] = Field(min_length=1)
    language: Literal["english"] = "english"
    campaign_column: str
    partition: PartitionSpec
    sort_prefix: SortPrefixSpec | None = None
    index: str | None = None
    lexeme_attribute: str | None = None  # optional precomputed lexemes (a string set) on each item
    max_query_length: int = Field(default=256, ge=1, le=4096)
    # the production server's release ("18", "16.4"): its Snowball stemmer and websearch parsing (docs/search.md)
    postgres_version: str | None = None

    @field_validator("postgres_version")
    @classmethod
    def _known_release(cls, value: str | None) -> str | None:
        if value is not None:
            from parity.pg_release import PostgresRelease

            PostgresRelease.parse(value)
        return value


class ReconcileConfig(_Model):
    segments: int = Field(default=4, ge=1, le=1000)
    page_size: int = Field(default=1000, ge=1, le=10000)
    recheck_delay_seconds: float = Field(default=2.0, ge=0)
    max_listed: int = Field(default=10000, ge=0)


class ParityConfig(_Model):
    dynamodb: DynamoDBConfig
    postgres: PostgresConfig = Field(default_factory=PostgresConfig)
    entity: list[EntityConfig] = Field(min_length=1)
    consumer: ConsumerConfig = Field(default_factory=ConsumerConfig)
    search: SearchConfig | None = None
    reconcile: ReconcileConfig = Field(default_factory=ReconcileConfig)

    @model_validator(mode="after")
    def _cross_references(self) -> ParityConfig:
        names = [e.name for e in self.entity]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"entity name(s) {duplicates} appear more than once")
        if self.search is not None:
            entity = self.entity_named(self.search.entity)
            if entity is None:
                hint = _suggest(self.search.entity, names)
                raise ValueError(f"search.entity '{self.search.entity}' is not a configured entity{hint}")
            known = entity.all_columns
            for column in [*self.search.columns, self.search.campaign_column]:
                if column not in known:
                    raise ValueError(
                        f"search column '{column}' is not a column of entity '{entity.name}'{_suggest(column, known)}"
                    )
        return self

    def entity_named(self, name: str) -> EntityConfig | None:
        return next((e for e in self.entity if e.name == name), None)


def _suggest(word: str, candidates: Any) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The model that owns the last key of ``loc`` (to suggest a valid name for an unknown key)."""
    current: type[BaseModel] = ParityConfig
    parts = [p for p in loc[:-1] if not isinstance(p, int)]
    index = 0
    while index < len(parts):
        part = str(parts[index])
        if current is EntityConfig and part in ("key", "columns"):
            current, index = ColumnSpec, index + 2  # skip the column name
            continue
        field = current.model_fields.get(part)
        if field is None:
            break
        nested = [field.annotation, *get_args(field.annotation)]
        for arg in (*nested, *(x for a in nested for x in get_args(a))):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                current = arg
                break
        index += 1
    return current


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after[_consistent()]", "function-before[_column()]"):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def _describe(error: Any, source: str) -> str:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    path = _path(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        names = list(_model_at(loc).model_fields)
        return f"{source}: unknown key '{path}'{_suggest(str(loc[-1]), names)}"
    if kind == "missing":
        return f"{source}: missing required key '{path}'"
    if kind == "literal_error":
        value = error.get("input")
        expected = error.get("ctx", {}).get("expected", "")
        choices = [c.strip().strip("'") for c in expected.replace(" or ", ",").split(",") if c.strip()]
        hint = _suggest(str(value), choices) or f"; expected one of {', '.join(choices)}"
        label = "type" if loc and loc[-1] == "type" else "value"
        return f"{source}: unknown {label} {value!r} at '{path}'{hint}"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{source}: {path}: {message}" if path else f"{source}: {message}"


def parse_config(data: dict[str, Any], source: str = "config") -> ParityConfig:
    """Validate an already-parsed TOML document; raise ConfigError naming the first bad key."""
    try:
        return ParityConfig.model_validate(data)
    except ValidationError as exc:
        # An unknown key is the likely cause of the rest (``tabel`` also leaves ``table`` missing): first.
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        message = _describe(errors[0], source)
        if len(errors) == 2:
            message += f" (and 1 more problem: {_describe(errors[1], source).removeprefix(source + ': ')})"
        elif len(errors) > 2:
            message += f" (and {len(errors) - 1} more problems)"
        raise ConfigError(message) from None


def load_config(path: str | os.PathLike[str]) -> ParityConfig:
    """Read and validate the TOML config at ``path``."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"config file {str(file)!r} not found",
            hint="pass --config PATH or create parity.toml: docs/reference.md has a full example",
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(file)!r}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    return parse_config(data, str(file))
