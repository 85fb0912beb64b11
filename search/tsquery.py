"""``websearch_to_tsquery('english', q)`` and ``tsvector @@ tsquery``, ported from tsquery.c,
to_tsany.c (pushval_morph), tsquery_cleanup.c (clean_stopword_intree) and tsvector_op.c
(TS_execute / TS_phrase_execute).

A query is a tree of :class:`Term`, :class:`Not` and :class:`Op` (``&``, ``|``, ``<N>``).
Stop words become placeholders while the tree is built and are then removed the way
PostgreSQL removes them, widening phrase distances; a query of stop words only is ``None``
and matches nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from parity.errors import InputError
from parity.search.lexize import TsVector, parse_words
from parity.search.parser import WIDE_SPACE


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

#: tsquery.c's operator stack: PostgreSQL raises "tsquery stack too small" past it
STACKDEPTH = 32
_PRIORITY = {"|": 1, "&": 2, "<->": 3, "!": 4}
_OPERATOR_CHARS = frozenset("!&|()<")  # ISOPERATOR: skipped by websearch, ends a word
_C_SPACE = frozenset(" \t\n\v\f\r")


def _wspace(c: str) -> bool:
    """t_isspace: iswspace in the database's UTF-8 locale (no-break spaces are not spaces)."""
    return c in _C_SPACE or c in WIDE_SPACE


def _walnum(c: str) -> bool:
    if c < "\x80":
        return c.isalnum()
    return c.isalpha() or c.isdigit()


def _morph(value: str) -> list[Node | str]:
    """pushval_morph with OP_PHRASE: one query value -> polish items (operands and operators).

    Lexemes at distinct positions are joined by ``<->``; stop words between them become
    placeholders; a value without lexemes is a single placeholder.
    """
    words, _ = parse_words(value)
    if not words:
        return [Stop()]
    out: list[Node | str] = []
    pos = 0
    cntpos = 0
    i = 0
    while i < len(words):
        wpos = words[i][1]
        if pos > 0 and pos + 1 < wpos:
            while pos + 1 < wpos:
                out.append(Stop())
                if cntpos:
                    out.append("<->")
                cntpos += 1
                pos += 1
        pos = wpos
        cntvar = 0
        while i < len(words) and words[i][1] == pos:
            out.append(Term(words[i][0]))
            if cntvar:
                out.append("|")
            cntvar += 1
            i += 1
        if cntpos:
            out.append("<->")
        cntpos += 1
    return out


def _ascii_space(c: str) -> bool:
    """t_isspace on PostgreSQL 18 with a libc C.UTF-8 database: only C's white space (U+2003 is not)."""
    return c in _C_SPACE


def _is_or_operator(query: str, i: int, space: Callable[[str], bool] = _wspace) -> bool:
    """parse_or_operator: "or" not part of a word, with some operand somewhere after it."""
    if query[i : i + 2].lower() != "or":
        return False
    j = i + 2
    if j >= len(query):
        return False
    c = query[j]
    if c in "-_" or _walnum(c):
        return False
    while True:
        j += 1
        if j >= len(query):
            return False
        if not space(query[j]):
            return True


def _read_word(query: str, i: int, space: Callable[[str], bool] = _wspace) -> tuple[str | None, int]:
    """gettoken_tsvector in websearch mode: the next word and where scanning resumes."""
    n = len(query)
    while i < n and space(query[i]):
        i += 1
    if i >= n:
        return None, i
    j = i + 1  # the first character is taken as is
    while j < n:
        c = query[j]
        if space(c) or c in _OPERATOR_CHARS or c == '"' or c == ":":
            break
        j += 1
    return query[i:j], j


def _polish(query: str, skip_operators_after_operand: bool, space: Callable[[str], bool] = _wspace) -> list[Node | str]:
    """makepol over gettoken_query_websearch: the query in reverse polish notation."""
    out: list[Node | str] = []
    stack: list[str] = []
    i, n = 0, len(query)
    waiting_operand = True
    first = True

    def clean(op: str) -> None:
        prio = _PRIORITY[op]
        while stack:
            top = _PRIORITY[stack[-1]]
            if (op != "!" and prio > top) or (op == "!" and prio >= top):
                break
            out.append(stack.pop())

    def operator(op: str) -> None:
        clean(op)
        if len(stack) == STACKDEPTH:  # pushOpStack's limit: 33 pending operators, e.g. "-" 33 times
            raise InputError("query is not valid: tsquery stack too small (too many operators in a row)")
        stack.append(op)

    while True:
        if waiting_operand:
            if i >= n:
                if not first:
                    out.append(Stop())
                break
            c = query[i]
            if c == "-":
                i += 1
                operator("!")
                first = False
                continue
            if c == '"':
                j = query.find('"', i + 1)
                end = n if j < 0 else j
                out.extend(_morph(query[i + 1 : end]))
                i = end + 1 if j >= 0 else n
                waiting_operand = False
                first = False
                continue
            if c in _OPERATOR_CHARS:
                i += 1
                first = False
                continue
            if space(c):
                i += 1
                continue
            word, i = _read_word(query, i, space)
            if word is None:
                if not first:
                    out.append(Stop())
                break
            out.extend(_morph(word))
            waiting_operand = False
            first = False
        else:
            if i >= n:
                break
            c = query[i]
            if _is_or_operator(query, i, space):
                i += 2
                operator("|")
                waiting_operand = True
            elif c in _OPERATOR_CHARS and skip_operators_after_operand:
                i += 1  # "ignore other operators in this state too": an "or" after them stays an operator
            elif space(c):
                i += 1
            else:  # any other character (before the 2024-08 fix, an operator one too) is an implicit AND
                operator("&")
                waiting_operand = True
    clean("|")
    return out


def _tree(items: list[Node | str]) -> Node | None:
    stack: list[Node] = []
    for item in items:
        if isinstance(item, str):
            if item == "!":
                stack.append(Not(stack.pop()))
            else:
                right = stack.pop()
                left = stack.pop()
                stack.append(Op(item, left, right, 1 if item == "<->" else 0))
        else:
            stack.append(item)
    if not stack:
        return None
    assert len(stack) == 1, stack
    return stack[0]


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


def websearch_to_tsquery(query: str, *, before_or_fix: bool = False, ascii_spaces: bool = False) -> Node | None:
    """The query tree PostgreSQL builds; None when nothing but stop words (or nothing) remains.

    This is the behaviour of current releases (see :func:`server_has_or_fix`). ``before_or_fix``
    reproduces the minors released before 2024-08-08 (e.g. 16.0-16.3, 15.0-15.7), where an operator
    character right after a word (``"x) or y"``, ``"x | or y"``) was an implicit AND, so the ``or``
    that followed became a (stop) word instead of OR; only the oracle tests of old servers use it.
    """
    space = _ascii_space if ascii_spaces else _wspace
    tree = _tree(_polish(query, skip_operators_after_operand=not before_or_fix, space=space))
    if tree is None:
        return None
    cleaned, _, _ = _clean(tree)
    return cleaned


# First minor of each branch with "Fix parsing of ignored operators in websearch_to_tsquery()" (Tom
# Lane; release notes of 15.8, commit df95c1ec0 on REL_15_STABLE), all released on 2024-08-08. 17.0
# and later have it from the start; 11 and older never got it.
_OR_FIX_MINOR = {12: 20, 13: 16, 14: 13, 15: 8, 16: 4}


def server_has_or_fix(server_version_num: int) -> bool:
    """Whether a server (``SHOW server_version_num``, e.g. 150020) parses websearch queries as this port does
    by default; False means it needs ``websearch_to_tsquery(..., before_or_fix=True)``."""
    major, minor = divmod(server_version_num, 10000)
    if major >= 17:
        return True
    return minor >= _OR_FIX_MINOR.get(major, 10**6)


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
        # TS_execute hands a phrase to TS_phrase_execute without output data: TS_YES is a match, negated
        # or not (``!x <-> !y`` is TS_YES whatever the document holds)
        return _phrase(vector, node)[0]
    return False


_NONE = frozenset[int]()
#: TS_phrase_execute's answer: (TS_YES?, positions, width, negate). With ``negate`` the sub-expression
#: matches everywhere except at the positions; a TS_NO keeps the width it was given (a NOT above reads it).
_Phrase = tuple[bool, frozenset[int], int, bool]


def _phrase(vector: TsVector, node: Node) -> _Phrase:
    """TS_phrase_execute (tsvector_op.c) case by case, TS_phrase_output as set operations on positions.

    Operands are aligned by their right ends: ``<N>`` shifts the left operand by N plus the right
    operand's width; ``&`` and ``|`` shift the narrower operand to the wider one's width.
    """
    if isinstance(node, Term):
        found = vector.get(node.lexeme)
        return (True, frozenset(found), 0, False) if found else (False, _NONE, 0, False)
    if isinstance(node, Stop):
        return False, _NONE, 0, False
    if isinstance(node, Not):
        ok, positions, width, negate = _phrase(vector, node.arg)
        if not ok:
            return True, _NONE, width, True  # "match nowhere" becomes "match everywhere"
        if positions:
            return True, positions, width, not negate
        return False, _NONE, width, False  # "match everywhere" becomes "match nowhere"
    left = _phrase(vector, node.left)
    if node.op != "|":
        if not left[0]:
            return False, _NONE, 0, False
        right = _phrase(vector, node.right)
        if not right[0]:
            return False, _NONE, 0, False
        _, lpos, lw, lneg = left
        _, rpos, rw, rneg = right
        if node.op == "<->":
            loffset, roffset, width = node.distance + rw, 0, node.distance + lw + rw
        else:
            width = max(lw, rw)
            loffset, roffset = width - lw, width - rw
        lset = {p + loffset for p in lpos}
        rset = {p + roffset for p in rpos}
        if lneg and rneg:  # !L <-> !R is !(L | R)
            return True, frozenset(lset | rset), width, True
        if lneg:
            out = frozenset(rset - lset)
        elif rneg:
            out = frozenset(lset - rset)
        else:
            out = frozenset(lset & rset)
        return bool(out), out, width, False
    right = _phrase(vector, node.right)
    if not left[0] and not right[0]:
        return False, _NONE, 0, False
    _, lpos, lw, lneg = left if left[0] else (False, _NONE, right[2], False)
    _, rpos, rw, rneg = right if right[0] else (False, _NONE, lw, False)
    width = max(lw, rw)
    lset = {p + width - lw for p in lpos}
    rset = {p + width - rw for p in rpos}
    if lneg and rneg:  # !L | !R is !(L & R)
        return True, frozenset(lset & rset), width, True
    if lneg:  # !L | R is !(L & !R)
        return True, frozenset(lset - rset), width, True
    if rneg:  # L | !R is !(!L & R)
        return True, frozenset(rset - lset), width, True
    out = frozenset(lset | rset)
    return bool(out), out, width, False


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
