"""``websearch_to_tsquery('english', q)`` and ``tsvector @@ tsquery``, ported from tsquery.c,
to_tsany.c (pushval_morph), tsquery_cleanup.c (clean_stopword_intree) and tsvector_op.c
(TS_execute / TS_phrase_execute).

A query is a tree of :class:`Term`, :class:`Not` and :class:`Op` (``&``, ``|``, ``<N>``).
Stop words become placeholders while the tree is built and are then removed the way
PostgreSQL removes them, widening phrase distances; a query of stop words only is ``None``
and matches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from search.lexize import TsVector, parse_words


@dataclass(frozen=True)
class Term:
    lexeme: str


@dataclass(frozen=True)
class Stop:
    pass


@dataclass(frozen=True)
class Not:
    arg: Node


@dataclass(frozen=True)
class Op:
    op: str  # "&", "|" or "<->" (phrase, with distance)
    left: Node
    right: Node
    distance: int = 0


Node = Term | Stop | Not | Op

_PRIORITY = {"|": 1, "&": 2, "<->": 3, "!": 4}
_OPERATOR_CHARS = frozenset("!&|()<")


def _morph(value: str, operator: str) -> Node:
    """pushval_morph: one query word -> its lexemes; positions apart are joined by ``operator``."""
    words, _ = parse_words(value)
    if not words:
        return Stop()
    node: Node | None = None
    pos = 0
    i = 0
    while i < len(words):
        wpos = words[i][1]
        if node is not None and pos + 1 < wpos:
            while pos + 1 < wpos:
                node = Op(operator, node, Stop(), 1 if operator == "<->" else 0)
                pos += 1
        pos = wpos
        group: Node | None = None
        while i < len(words) and words[i][1] == pos:
            group = Term(words[i][0]) if group is None else Op("|", group, Term(words[i][0]))
            i += 1
        assert group is not None
        node = group if node is None else Op(operator, node, group, 1 if operator == "<->" else 0)
    assert node is not None
    return node


def _lex_websearch(query: str) -> list[tuple[str, str]]:
    """Tokens of a websearch query: ("val", word) | ("op", "&"/"|"/"<->"/"!") | ("(", "") | (")", "")."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(query)
    in_quotes = False
    waiting_operand = True
    while i < n:
        c = query[i]
        if waiting_operand:
            if c.isspace():
                i += 1
            elif c == "-" and not in_quotes:
                out.append(("op", "!"))
                i += 1
            elif c == '"':
                if not in_quotes:
                    out.append(("(", ""))
                    in_quotes = True
                else:
                    out.append((")", ""))
                    in_quotes = False
                    waiting_operand = False
                i += 1
            elif c in _OPERATOR_CHARS or c == ":":
                i += 1
            else:
                j = i
                while j < n and not query[j].isspace() and query[j] not in _OPERATOR_CHARS and query[j] not in ':"':
                    j += 1
                out.append(("val", query[i:j]))
                i = j
                waiting_operand = False
        else:
            if c.isspace():
                i += 1
            elif c == '"' and in_quotes:
                out.append((")", ""))
                in_quotes = False
                i += 1
            elif (
                not in_quotes
                and query[i : i + 2].lower() == "or"
                and (i + 2 == n or query[i + 2].isspace() or query[i + 2] in '-"')
            ):
                out.append(("op", "|"))
                i += 2
                waiting_operand = True
            else:
                out.append(("op", "<->" if in_quotes else "&"))
                waiting_operand = True
    if in_quotes:
        out.append((")", ""))
    return out


def _build(tokens: list[tuple[str, str]]) -> Node | None:
    """makepol: infix tokens to a tree, NOT > phrase > AND > OR, left-associative."""
    operands: list[Node] = []
    operators: list[str] = []

    def reduce() -> None:
        op = operators.pop()
        if op == "!":
            arg = operands.pop() if operands else Stop()
            operands.append(Not(arg))
            return
        right = operands.pop() if operands else Stop()
        left = operands.pop() if operands else Stop()
        operands.append(Op(op, left, right, 1 if op == "<->" else 0))

    expecting_operand = True
    for kind, text in tokens:
        if kind == "val":
            operands.append(_morph(text, "<->"))
            expecting_operand = False
        elif kind == "(":
            operators.append("(")
            expecting_operand = True
        elif kind == ")":
            while operators and operators[-1] != "(":
                reduce()
            if operators:
                operators.pop()
            if expecting_operand:
                operands.append(Stop())
            expecting_operand = False
        elif text == "!":
            operators.append("!")
            expecting_operand = True
        else:
            if expecting_operand:
                operands.append(Stop())
            while operators and operators[-1] != "(" and _PRIORITY[operators[-1]] >= _PRIORITY[text]:
                reduce()
            operators.append(text)
            expecting_operand = True
    if expecting_operand and operators:
        operands.append(Stop())
    while operators:
        if operators[-1] == "(":
            operators.pop()
            continue
        reduce()
    if not operands:
        return None
    node = operands[0]
    for extra in operands[1:]:
        node = Op("&", node, extra)
    return node


def _clean(node: Node) -> tuple[Node | None, int, int]:
    """clean_stopword_intree: drop stop placeholders, moving their width into phrase distances."""
    if isinstance(node, Term):
        return node, 0, 0
    if isinstance(node, Stop):
        return None, 0, 0
    if isinstance(node, Not):
        arg, ladd, radd = _clean(node.arg)
        return (None if arg is None else Not(arg)), ladd, radd
    left, lladd, lradd = _clean(node.left)
    right, rladd, rradd = _clean(node.right)
    isphrase = node.op == "<->"
    nd = node.distance if isphrase else 0
    if left is None and right is None:
        if isphrase:
            w = lladd + nd + rradd
            return None, w, w
        return None, 0, 0
    if left is None:
        if isphrase:
            return right, lladd + nd + rladd, rradd
        return right, rladd, rradd
    if right is None:
        if isphrase:
            return left, lladd, lradd + nd + rradd
        return left, lladd, lradd
    if isphrase:
        return Op(node.op, left, right, node.distance + lradd + rladd), lladd, rradd
    return Op(node.op, left, right), 0, 0


def websearch_to_tsquery(query: str) -> Node | None:
    """The query tree PostgreSQL builds; None when nothing but stop words (or nothing) remains."""
    tree = _build(_lex_websearch(query))
    if tree is None:
        return None
    cleaned, _, _ = _clean(tree)
    return cleaned


def format_tsquery(node: Node | None) -> str:
    """PostgreSQL's text form of a query (for diagnostics and tests)."""
    if node is None:
        return ""
    return _fmt(node, 0)


def _fmt(node: Node, parent: int) -> str:
    if isinstance(node, Term):
        return "'" + node.lexeme.replace("'", "''").replace("\\", "\\\\") + "'"
    if isinstance(node, Stop):
        return "<stop>"
    if isinstance(node, Not):
        inner = node.arg
        text = _fmt(inner, 4)
        if isinstance(inner, Op):
            return "!( " + _fmt(inner, 0) + " )"
        return "!" + text
    prio = _PRIORITY[node.op]
    sym = {"&": "&", "|": "|"}.get(node.op) or ("<->" if node.distance == 1 else f"<{node.distance}>")
    left = _fmt(node.left, prio)
    right = _fmt(node.right, prio + 1)
    text = f"{left} {sym} {right}"
    return f"( {text} )" if prio < parent else text


# -- evaluation -------------------------------------------------------------------------------


def matches(vector: TsVector, query: Node | None) -> bool:
    """``vector @@ query`` (an empty query matches nothing)."""
    if query is None:
        return False
    return _execute(vector, query)


def _execute(vector: TsVector, node: Node) -> bool:
    if isinstance(node, Term):
        return node.lexeme in vector
    if isinstance(node, Not):
        return not _execute(vector, node.arg)
    if isinstance(node, Op):
        if node.op == "&":
            return _execute(vector, node.left) and _execute(vector, node.right)
        if node.op == "|":
            return _execute(vector, node.left) or _execute(vector, node.right)
        found = _phrase(vector, node)
        return found is not None and bool(found[0]) != found[2]
    return False


_ALL = frozenset[int]()


def _phrase(vector: TsVector, node: Node) -> tuple[frozenset[int], int, bool] | None:
    """TS_phrase_execute: (positions, width, negate) or None when it cannot match at all.

    With ``negate`` the positions are those where the sub-expression does NOT match.
    """
    if isinstance(node, Term):
        found = vector.get(node.lexeme)
        if found is None:
            return None
        return frozenset(found), 0, False
    if isinstance(node, Stop):
        return None
    if isinstance(node, Not):
        inner = _phrase(vector, node.arg)
        if inner is None:
            return _ALL, 0, True
        positions, width, negate = inner
        return positions, width, not negate
    left = _phrase(vector, node.left)
    right = _phrase(vector, node.right)
    if node.op == "<->":
        if left is None or right is None:
            return None
        lpos, lw, lneg = left
        rpos, rw, rneg = right
        width = lw + rw + node.distance
        shift = node.distance + rw
        if not lneg and not rneg:
            out = frozenset(p for p in rpos if p - shift in lpos)
            return (out, width, False) if out else None
        if lneg and rneg:
            return frozenset(rpos | {p + shift for p in lpos}), width, True
        if lneg:
            out = frozenset(p for p in rpos if p - shift not in lpos)
            return (out, width, False) if out else None
        out = frozenset(p + shift for p in lpos if p + shift not in rpos)
        return (out, width, False) if out else None
    if node.op == "&":
        if left is None or right is None:
            return None
        lpos, lw, lneg = left
        rpos, rw, rneg = right
        width = max(lw, rw)
        if not lneg and not rneg:
            out = lpos & rpos
            return (out, width, False) if out else None
        if lneg and rneg:
            return lpos | rpos, width, True
        if lneg:
            out = rpos - lpos
            return (out, width, False) if out else None
        out = lpos - rpos
        return (out, width, False) if out else None
    # "|"
    if left is None:
        return right
    if right is None:
        return left
    lpos, lw, lneg = left
    rpos, rw, rneg = right
    width = max(lw, rw)
    if not lneg and not rneg:
        return lpos | rpos, width, False
    if lneg and rneg:
        return lpos & rpos, width, True
    if lneg:
        return lpos - rpos, width, True
    return rpos - lpos, width, True


def operands(node: Node | None) -> list[str]:
    """Every lexeme of the query (negated ones too), as PostgreSQL's SortAndUniqItems collects them."""
    out: list[str] = []

    def walk(n: Node) -> None:
        if isinstance(n, Term):
            out.append(n.lexeme)
        elif isinstance(n, Not):
            walk(n.arg)
        elif isinstance(n, Op):
            walk(n.left)
            walk(n.right)

    if node is not None:
        walk(node)
    return sorted(set(out), key=lambda s: s.encode())


def positive_terms(node: Node | None) -> list[str]:
    """Lexemes every match must contain (for push-down filters): terms under AND/phrase, never under NOT/OR."""
    out: list[str] = []

    def walk(n: Node) -> None:
        if isinstance(n, Term):
            out.append(n.lexeme)
        elif isinstance(n, Op) and n.op != "|":
            walk(n.left)
            walk(n.right)

    if node is not None:
        walk(node)
    return sorted(set(out))
