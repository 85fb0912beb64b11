"""Keyword search on DynamoDB that answers what PostgreSQL full-text search answers (docs/search.md)."""

from __future__ import annotations

from parity.search.engine import item_lexemes, search_dynamodb, search_postgres, session_lexemes
from parity.search.lexize import json_to_tsvector, to_tsvector
from parity.search.rank import ts_rank
from parity.search.tsquery import matches, websearch_to_tsquery

__all__ = [
    "item_lexemes",
    "json_to_tsvector",
    "matches",
    "search_dynamodb",
    "search_postgres",
    "session_lexemes",
    "to_tsvector",
    "ts_rank",
    "websearch_to_tsquery",
]
