"""websearch_to_tsquery after an operator character: "or" is OR in current PostgreSQL releases.

PostgreSQL's 2024-08-08 minor releases (12.20, 13.16, 14.13, 15.8, 16.4; 17.0 and later from the
start) skip ``! & | ( ) <`` after a word instead of reading them as an implicit AND, so an ``or``
after them is the OR operator. Expected texts are what PostgreSQL 15.20 returned (fixed) and 16.2
(before the fix); the oracle tests check the same cases against whichever server they run on.
"""

from __future__ import annotations

import pytest

from parity.search.lexize import to_tsvector
from parity.search.tsquery import format_tsquery, matches, server_has_or_fix, websearch_to_tsquery
from tests.search.oracle import OR_FIX_CASES


@pytest.mark.parametrize(("query", "fixed", "before"), OR_FIX_CASES)
def test_or_after_operator_characters_is_or(query: str, fixed: str, before: str) -> None:
    assert format_tsquery(websearch_to_tsquery(query)) == fixed
    assert format_tsquery(websearch_to_tsquery(query, before_or_fix=True)) == before


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("cat) or", "'cat'"),  # no operand after "or": a stop word either way
        ("cat & -dog", "'cat' & !'dog'"),
        ('cat ) "dog food"', "'cat' & 'dog' <-> 'food'"),
        ("cat or& dog", "'cat' | 'dog'"),
        ("cat) dog", "'cat' & 'dog'"),
        ("cat!", "'cat'"),
        ("abc (pg or class)", "'abc' & 'pg' | 'class'"),
    ],
)
def test_cases_the_fix_left_alone(query: str, expected: str) -> None:
    """Both servers gave these answers: skipping the operator character still ends in an implicit AND."""
    assert format_tsquery(websearch_to_tsquery(query)) == expected
    assert format_tsquery(websearch_to_tsquery(query, before_or_fix=True)) == expected


def test_the_fix_changes_which_sessions_match() -> None:
    document = to_tsvector("only data here")
    assert matches(document, websearch_to_tsquery("relational! or data"))
    assert not matches(document, websearch_to_tsquery("relational! or data", before_or_fix=True))


@pytest.mark.parametrize(
    ("server_version_num", "fixed"),
    [
        (160002, False), (160003, False), (160004, True), (160010, True),
        (150007, False), (150008, True), (150020, True),
        (140012, False), (140013, True), (130015, False), (130016, True), (120019, False), (120020, True),
        (110022, False), (170000, True), (180004, True),
    ],
)  # fmt: skip
def test_server_versions_with_the_fix(server_version_num: int, fixed: bool) -> None:
    assert server_has_or_fix(server_version_num) is fixed
