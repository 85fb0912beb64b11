"""``ts_rank(vector, query)`` with the default weights and normalization 0, in float4 (tsrank.c).

C's float arithmetic is mimicked by rounding every float-typed intermediate to IEEE single
precision (:func:`f4`); expressions that C evaluates in double stay in Python floats until they
are stored in a ``float`` variable. All lexemes of a to_tsvector carry weight D (0.1).
"""

from __future__ import annotations

import math
import struct

from parity.search.lexize import MAXENTRYPOS, TsVector
from parity.search.tsquery import Node, Op, operands

_PACK = struct.Struct("f")


def f4(value: float) -> float:
    """Round to float4 like a C ``float`` store."""
    return float(_PACK.unpack(_PACK.pack(value))[0])


WEIGHT_D = f4(0.1)


def _word_distance(w: int) -> float:
    if w > 100:
        return f4(1e-30)
    return f4(1.0 / (1.005 + 0.05 * math.exp(f4(float(w)) / 1.5 - 2)))


def _rank_or(vector: TsVector, items: list[str]) -> float:
    res = 0.0
    for lexeme in items:
        positions = vector.get(lexeme)
        if positions is None:
            continue
        resj = 0.0
        wjm = -1.0
        jm = 0
        for j in range(len(positions)):
            resj = f4(resj + f4(WEIGHT_D / ((j + 1) * (j + 1))))
            if wjm < WEIGHT_D:
                wjm = WEIGHT_D
                jm = j
        inner = f4(f4(wjm + resj) - f4(wjm / ((jm + 1) * (jm + 1))))
        res = f4(res + inner / 1.64493406685)
    if items:
        res = f4(res / len(items))
    return res


def _rank_and(vector: TsVector, items: list[str]) -> float:
    if len(items) < 2:
        return _rank_or(vector, items)
    res = -1.0
    found: list[list[int] | None] = [None] * len(items)
    for i, lexeme in enumerate(items):
        positions = vector.get(lexeme)
        if positions is None:
            continue
        found[i] = positions
        for k in range(i):
            other = found[k]
            if other is None:
                continue
            for pl in positions:
                for pk in other:
                    dist = abs(pl - pk)
                    if dist:
                        curw = f4(math.sqrt(f4(f4(WEIGHT_D * WEIGHT_D) * _word_distance(dist))))
                        res = curw if res < 0 else f4(1.0 - (1.0 - res) * (1.0 - curw))
    return res


def ts_rank(vector: TsVector, query: Node | None) -> float:
    """``ts_rank(vector, query)`` as a float4 value (returned as a Python float)."""
    if not vector or query is None:
        return 0.0
    items = operands(query)
    res = _rank_and(vector, items) if isinstance(query, Op) and query.op in ("&", "<->") else _rank_or(vector, items)
    if res < 0:
        res = f4(1e-20)
    return res


__all__ = ["MAXENTRYPOS", "f4", "ts_rank"]
