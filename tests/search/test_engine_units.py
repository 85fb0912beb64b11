"""Pure logic of the DynamoDB side: the Query request (bound values, names, push-down), paging,
ordering and the length cap. Paging is checked with canned boto3 *responses* because moto answers
a 50-session campaign in one page; the real Query runs in test_command.py."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from parity.config import ParityConfig, load_config
from parity.errors import InputError
from parity.local.example import config_toml
from parity.search import lexize
from parity.search.engine import parse_query, query_items, query_request, rank_items, rank_text, search_config
from parity.search.rank import f4
from parity.search.tsquery import positive_terms, websearch_to_tsquery


@pytest.fixture
def config(tmp_path: Any) -> ParityConfig:
    path = tmp_path / "parity.toml"
    path.write_text(config_toml(table="app") + 'lexeme_attribute = "lexemes"\nindex = "gsi1"\n')
    return load_config(path)


def test_query_request_binds_every_value_and_name(config: ParityConfig) -> None:
    search, entity = search_config(config)
    hostile = "x) AND begins_with(#pk, :pk"  # not "OR": after ")" that is websearch's OR (PostgreSQL >= 16.4)
    query = websearch_to_tsquery('"quick brown" fox -lazy ' + hostile)
    request = query_request(search, entity, "app", "c-1", query)
    assert request["KeyConditionExpression"] == "#pk = :pk AND begins_with(#sk, :skp)"
    assert request["ExpressionAttributeNames"]["#pk"] == "pk"
    assert request["ExpressionAttributeValues"][":pk"] == {"S": "$campaignapp#campaignid_c-1"}
    assert request["ExpressionAttributeValues"][":skp"] == {"S": "$session_1#"}
    assert request["IndexName"] == "gsi1"
    expression = request["FilterExpression"]
    assert "#m0 = :m0" in expression and request["ExpressionAttributeNames"]["#m0"] == "__edb_e__"
    bound_terms = {v["S"] for k, v in request["ExpressionAttributeValues"].items() if k.startswith(":v")}
    assert bound_terms == {"quick", "brown", "fox", "x", "begin", "pk"}  # never "lazy" (negated)
    words = set(expression.replace("(", " ").replace(")", " ").replace(",", " ").split())
    assert not (bound_terms - {"x"}) & words  # values are never spliced into the expression
    assert words <= {"#m0", "=", ":m0", "AND", "OR", "attribute_not_exists", "#lx", "contains"} | {
        f":v{i}" for i in range(len(bound_terms))
    }
    assert expression.count("contains(#lx, :v") == len(bound_terms)
    assert "attribute_not_exists(#lx) OR (" in expression


def test_no_push_down_without_required_terms(config: ParityConfig) -> None:
    search, entity = search_config(config)
    for text in ("launch or review", "-launch", "the"):
        request = query_request(search, entity, "app", "c", websearch_to_tsquery(text))
        assert "#lx" not in request["ExpressionAttributeNames"], text
        assert "contains" not in request["FilterExpression"]


def test_positive_terms_skip_or_and_not() -> None:
    assert positive_terms(websearch_to_tsquery("a1 b2 or c3")) == []
    assert positive_terms(websearch_to_tsquery('"fox jumps" -dog cat')) == ["cat", "fox", "jump"]
    assert positive_terms(websearch_to_tsquery("well-known")) == ["known", "well", "well-known"]


class _Pages:
    """Canned Query responses, recording the requests it was given."""

    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages
        self.requests: list[dict[str, Any]] = []

    def query(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(kwargs)
        return self.pages[len(self.requests) - 1]


def test_query_items_reads_every_page() -> None:
    client = _Pages(
        [
            {"Items": [{"n": {"S": "1"}}], "LastEvaluatedKey": {"pk": {"S": "a"}, "sk": {"S": "1"}}},
            {"Items": [], "LastEvaluatedKey": {"pk": {"S": "a"}, "sk": {"S": "2"}}},
            {"Items": [{"n": {"S": "3"}}]},
        ]
    )
    items = query_items(client, {"TableName": "t"})
    assert items == [{"n": {"S": "1"}}, {"n": {"S": "3"}}]
    assert [r.get("ExclusiveStartKey") for r in client.requests] == [
        None,
        {"pk": {"S": "a"}, "sk": {"S": "1"}},
        {"pk": {"S": "a"}, "sk": {"S": "2"}},
    ]


def _item(sid: str, name: str, summary: str | None = None) -> dict[str, Any]:
    item = {"sessionId": {"S": sid}, "name": {"S": name}, "__edb_e__": {"S": "session"}}
    if summary is not None:
        item["summary"] = {"S": summary}
    return item


def test_rank_desc_then_key_asc(config: ParityConfig) -> None:
    search, entity = search_config(config)
    ids = ["00000000-0000-4000-8000-00000000000" + c for c in "3142"]
    items = [
        _item(ids[0], "launch"),
        _item(ids[1], "launch launch plan"),
        _item(ids[2], "launch"),
        _item(ids[3], "nothing here", "really nothing"),
    ]
    hits = rank_items(search, entity, items, websearch_to_tsquery("launch"))
    assert [h.key["id"] for h in hits] == [ids[1], ids[0], ids[2]]
    assert hits[0].rank > hits[1].rank == hits[2].rank
    assert rank_items(search, entity, items, websearch_to_tsquery("the")) == []


def test_query_length_is_capped(config: ParityConfig) -> None:
    search, _ = search_config(config)
    assert parse_query(search, "x" * 256) is not None
    with pytest.raises(InputError, match=r"257 characters long; the limit is search\.max_query_length = 256"):
        parse_query(search, "x" * 257)


def test_rank_text_is_the_shortest_float4_spelling() -> None:
    assert rank_text(f4(0.0607927)) == 0.0607927
    assert rank_text(f4(0.1)) == 0.1
    assert rank_text(0.0) == 0.0
    for value in (f4(0.0303964), f4(1e-20), f4(0.09910322)):
        assert f4(rank_text(value)) == value


def _plain_texts() -> list[str]:
    import random
    from pydoc_data.topics import topics

    from parity.search.parser import plain_runs
    from tests.search.oracle import fuzz_string, generate_text

    rng = random.Random(2)
    texts = [p for v in topics.values() for p in v.split("\n\n")]
    texts += [generate_text(rng) for _ in range(3000)] + [fuzz_string(rng, 30, 0.8) for _ in range(3000)]
    texts += ['Hello, world: it\'s (quite) "fine"! 3rd 2020s 1e 42 café naïve Zürich', "x. y.", "end.", "1. 2:3"]
    texts += ["The " + "x" * 101 + " and " + "Ab1" * 40 + " of it, " + "é" * 300 + " 00123"]  # runs the memo skips
    plain = [t for t in texts if plain_runs(t) is not None]
    assert len(plain) > 500
    return plain


def test_plain_prose_shortcut_equals_the_state_machine() -> None:
    """The tokenizer's shortcut for plain prose must give exactly what the ported state machine gives."""
    from parity.search.parser import tokenize

    for text in _plain_texts():
        assert list(tokenize(text)) == list(tokenize(text, shortcut=False)), text


def test_plain_prose_lexemes_from_the_memo_equal_the_dictionaries() -> None:
    """parse_words takes plain prose's lexemes from a memo of runs: with the memo empty and full, its
    (lexeme, position) pairs are the state machine's tokens through the dictionaries, one by one."""
    from parity.search.parser import tokenize

    def machine(text: str) -> tuple[list[tuple[str, int]], int]:
        pos, words = 3, []
        for alias, token in tokenize(text, shortcut=False):
            lexemes = lexize.lexize(alias, token)
            if lexemes is not None:
                pos += 1
                words += [(lexeme, pos) for lexeme in lexemes]
        return words, pos

    texts = _plain_texts()
    expected = [machine(text) for text in texts]
    lexize._RUN_LEXEMES.clear()
    for _ in ("empty", "full"):
        assert [lexize.parse_words(text, 3) for text in texts] == expected
    assert "the" in {w.lower() for t in texts for w in t.split()} and lexize._RUN_LEXEMES["The"] == ""


def test_lexemes_of_a_session_and_of_its_item_agree(config: ParityConfig) -> None:
    from parity.local.example import generate
    from parity.search import item_lexemes, session_lexemes

    for session in generate(1, 5, seed=4)[0].sessions:
        values = {"name": session.name, "summary": session.summary, "metadata": session.metadata}
        lexemes = session_lexemes(config, values)
        assert lexemes == item_lexemes(config, session.item())
        assert lexemes and lexemes == sorted(set(lexemes))


def test_threads_stemming_at_once_get_the_stems_one_thread_gets() -> None:
    """parity serve parses documents and queries on worker threads, and a Snowball stemmer keeps its word
    on itself: unguarded, words stemmed at once came back as each other's stems or raised IndexError."""
    from tests.search.test_oracle import _prose

    words = sorted({w.lower() for p in _prose() for w in p.split() if w.isalpha()})
    assert len(words) > 2000
    alone = {w: lexize._STEMMER.stemWord(w) for w in words}
    lexize.stem.cache_clear()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: the race shows within one pass
    try:
        with ThreadPoolExecutor(8) as pool:
            together = dict(zip(words, pool.map(lexize.stem, words), strict=True))
    finally:
        sys.setswitchinterval(interval)
        lexize.stem.cache_clear()
    assert together == alone
