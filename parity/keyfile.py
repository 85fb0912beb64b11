"""Files of keys a user hands a command: ``{"entity": ..., "key": {...}}`` objects, as JSON lines or
one JSON list (so the entries of a dry run's ``--json`` plan can be pasted as they are).

``parity replay --exclude``, ``parity repair --keys`` and ``--exclude`` read them; a bad file is
refused whole (exit 2), naming the option, the file and the entry. :func:`key_lines` reads the JSON
lines form for ``parity discrepancies accept|reopen --file`` and ``parity recheck --keys``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from parity.config import ParityConfig
from parity.errors import DecodeError, InputError
from parity.mapping import json_key_id, key_from_json, key_to_json


def key_lines(path: Path, option: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, object) of each non-empty line of a JSON lines file of ``{"entity", "key", ...}``
    objects; ``where`` is ``[option ]path:line``. InputError naming the file and line otherwise."""
    prefix = f"{option} " if option else ""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{prefix}cannot read {path}: {exc.strerror}") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{prefix}{path}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not JSON ({exc.msg})") from exc
        if not isinstance(obj, dict) or "entity" not in obj or "key" not in obj:
            raise InputError(f'{where}: expected an object with "entity" and "key"')
        yield where, obj


def read_key_file(path: str, config: ParityConfig, option: str = "--exclude") -> frozenset[tuple[str, str]]:
    """(entity, key id) pairs named by the file at ``path``; ``option`` names the flag in errors."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{option} {path}: cannot read it: {exc.strerror}") from None
    entities = {e.name: e for e in config.entity}
    try:
        stripped = text.strip()
        entries = (
            json.loads(stripped)
            if stripped.startswith("[")
            else [json.loads(line) for line in text.splitlines() if line.strip()]
        )
    except json.JSONDecodeError as exc:
        raise InputError(f"{option} {path}: line {exc.lineno}: not JSON ({exc.msg})") from None
    if isinstance(entries, dict) and isinstance(entries.get("plan"), list):
        entries = entries["plan"]  # a whole dry-run summary: its plan entries
    found: set[tuple[str, str]] = set()
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), dict) or "entity" not in entry:
            raise InputError(f'{option} {path}: entry {number} is not an object with "entity" and "key"')
        entity = entities.get(entry["entity"])
        if entity is None:
            raise InputError(f"{option} {path}: entry {number} names entity {entry['entity']!r}, not in the config")
        try:
            key = key_from_json(entity, entry["key"])
        except (InputError, DecodeError, ValueError, TypeError) as exc:
            raise InputError(f"{option} {path}: entry {number}: unreadable key: {exc}") from None
        found.add((entity.name, json_key_id(key_to_json(entity, key))))
    return frozenset(found)
