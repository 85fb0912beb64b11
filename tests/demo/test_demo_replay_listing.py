"""The demo's replay step shows the plan once: the apply adds only the entries the dry run did not list."""

from __future__ import annotations

from parity.local.demo.command import not_listed_before

DRY_RUN = """\
  update  session      id=a  [name]
          name: "x" -> "y"
  insert  session      id=b
  skip    session      id=c  deleted in DynamoDB only: not replayed without --include-deletes
  update  session      id=d  [name]
          name: "p" -> "q"
replay plan (dry run): 3 change(s)
nothing was written; run again with --apply to write these changes
"""

APPLIED = """\
  update  session      id=a  [name]
          name: "x" -> "y"
  insert  session      id=b
  delete  session      id=c
  update  session      id=d  [name]
          name: "p" -> "r"
replay run r1: 4 row(s) written
undo with: parity replay --undo r1
"""


def test_the_apply_shows_only_what_the_dry_run_did_not_list() -> None:
    shown = not_listed_before(DRY_RUN, APPLIED).splitlines()
    assert shown == [
        "  (2 change(s) written as the dry run above listed them; only the others are shown here)",
        "  delete  session      id=c",
        # the same key with another value since the dry run: shown, with its detail
        "  update  session      id=d  [name]",
        '          name: "p" -> "r"',
        "replay run r1: 4 row(s) written",
        "undo with: parity replay --undo r1",
    ]


def test_nothing_repeated_means_nothing_left_out() -> None:
    assert not_listed_before("", APPLIED) == APPLIED.rstrip("\n")
