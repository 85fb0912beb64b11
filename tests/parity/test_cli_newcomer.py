"""A newcomer's first hour, driven through the CLI: each friction point of the first-hour issue, output asserted.

Parser-only cases need no stores; the rest run against the example app on the real local stack.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parity.cli import main
from parity.local.example import generate, write_dynamodb, write_postgres
from tests.conftest import ExampleEnv


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


# --- help and argument errors (no stores) ------------------------------------------------------------


def test_top_level_help_lists_config_and_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "--config PATH" in out and "(default: parity.toml)" in " ".join(out.split())
    assert "examples:" in out and "parity --config prod.toml reconcile" in out


def test_command_help_shows_defaults_and_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "reconcile", "--help")
    flat = " ".join(out.split())
    assert code == 0
    assert "(default: [reconcile].segments, 4)" in flat and "(default: no limit)" in flat
    assert "examples:\n  parity reconcile --segments 8 --report reconcile.json" in out


def test_demo_help_has_no_config_and_says_where_it_writes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "demo", "--help")
    assert code == 0
    assert "--config" not in out
    assert "default: ./.parity-demo" in " ".join(out.split())


def test_mistyped_command_suggests_the_nearest(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "reconcle", "--segments", "4")
    assert code == 2 and out == ""
    assert "parity: error: unknown command 'reconcle'; did you mean 'reconcile'?" in err


def test_mistyped_command_after_global_options(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--config", "x.toml", "discrepancy")
    assert code == 2 and "did you mean 'discrepancies'?" in err


def test_mistyped_option_shows_the_commands_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "reconcile", "--segmnts", "4")
    assert code == 2
    assert err.startswith("usage: parity reconcile ")
    assert "parity reconcile: error: unrecognized arguments: --segmnts 4; did you mean '--segments'?" in err


def test_bad_log_level_is_refused_and_case_does_not_matter(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--log-level", "verbose", "check-config")
    assert code == 2 and "argument --log-level: invalid choice: 'verbose'" in err
    code, _, err = run(capsys, "--log-level", "WARNING", "--config", "/nonexistent/p.toml", "check-config")
    assert code == 2 and "config file '/nonexistent/p.toml' not found" in err and "docs/reference.md" in err


def test_config_key_typo_reports_the_cause_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "parity.toml"
    path.write_text(
        '[dynamodb]\ntabel = "app"\n\n[[entity]]\nname = "s"\ntable = "public.s"\n'
        'match = { "__edb_e__" = "s" }\nkey = { id = "id" }\n'
    )
    code, out, err = run(capsys, "--config", str(path), "check-config")
    assert code == 2 and out == ""
    assert err == (
        f"parity: error: {path}: unknown key 'dynamodb.tabel'; did you mean 'table'?"
        " (and 1 more problem: missing required key 'dynamodb.table')\n"
    )


# --- against the example app ------------------------------------------------------------------------


def _seed(env: ExampleEnv) -> list[str]:
    campaigns = generate(2, 3, seed=5)
    records = [r for c in campaigns for r in (c, *c.sessions)]
    write_postgres(env.conn, records)
    write_dynamodb(env.dynamodb, env.table, records)
    return [c.id for c in campaigns]


def test_global_config_before_the_command(example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]) -> None:
    """What `parity demo --keep` prints for the user to run works as printed."""
    code, out, err = run(capsys, "--config", str(example_env.config_path), "discrepancies")
    assert code == 0, err
    assert out == "no open discrepancies\n"
    # after the command too, and the later one wins
    code, out, _ = run(capsys, "--config", "nope.toml", "discrepancies", "--config", str(example_env.config_path))
    assert code == 0 and out == "no open discrepancies\n"


def test_wrong_postgres_table_is_one_line_naming_entity_table_and_key(
    example_env: ExampleEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "parity.toml"
    path.write_text(example_env.config_path.read_text().replace('"public.sessions"', '"public.sesions"'))
    code, out, err = run(capsys, "check-config", "--config", str(path))
    assert code == 2
    assert (
        "BAD  entity session: postgres public.sesions: table public.sesions does not exist"
        " (config key entity[0].table); did you mean 'public.sessions'?" in out
    )
    assert err.count("\n") == 1 and "entity[0].table" in err
    one_line = (
        f"parity: error: {path}: entity 'session': PostgreSQL table public.sesions does not exist"
        " (config key entity[0].table); did you mean 'public.sessions'?\n"
    )
    code, out, err = run(capsys, "reconcile", "--config", str(path))
    assert code == 2 and out == "" and err == one_line
    code, out, err = run(capsys, "--log-level", "error", "consume", "--config", str(path), "--stop-when-idle", "1")
    assert code == 2 and out == "" and err == one_line


def test_wrong_postgres_column_is_one_line_too(
    example_env: ExampleEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "parity.toml"
    path.write_text(example_env.config_path.read_text().replace("session_number = {", "session_numbr = {"))
    code, _, err = run(capsys, "reconcile", "--config", str(path))
    assert code == 2
    assert err == (
        f"parity: error: {path}: entity 'session': column session_numbr does not exist in public.sessions"
        " (config key entity[0].columns.session_numbr); did you mean 'session_number'?\n"
    )


def test_reconcile_discrepancies_replay_and_report_speak_plainly(
    example_env: ExampleEnv, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(example_env)
    row = example_env.conn.execute("SELECT id::text AS id FROM public.sessions ORDER BY id LIMIT 1").fetchone()
    assert row is not None
    example_env.conn.execute("UPDATE public.sessions SET name = 'changed' WHERE id = %s", (row["id"],))
    example_env.conn.commit()
    cfg = ("--config", str(example_env.config_path))

    code, out, err = run(capsys, "reconcile", *cfg, "--recheck-delay", "0", "--max-listed", "0")
    assert code == 0, err
    assert "mismatched 1" in out
    assert "JSON report" not in out  # no --report was given
    assert "... more: see `parity discrepancies`" in out

    code, out, _ = run(capsys, "reconcile", *cfg, "--recheck-delay", "0", "--report", str(tmp_path / "r.json"))
    assert f"  - session id={row['id']} mismatched [name]" in out  # the key as everywhere else
    assert json.loads((tmp_path / "r.json").read_text())["discrepancies"][0]["key"] == {"id": row["id"]}

    code, out, _ = run(capsys, "discrepancies", *cfg)
    lines = out.splitlines()
    assert lines[0].split() == ["entity", "kind", "status", "found", "by", "last", "seen", "(UTC)", "key", "[columns]"]
    assert lines[1].endswith(f"id={row['id']}  [name]") and "{'id'" not in out
    assert len(lines[1]) < 140  # the last-seen column fits (seconds, UTC)
    assert lines[0].index("key") == lines[1].index("id=")  # columns line up
    assert lines[-1] == "1 discrepancy (1 open)"

    code, out, _ = run(capsys, "replay", *cfg)
    assert code == 0
    assert "already equal in both stores (nothing to write)" in out

    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "report", *cfg)
    assert code == 0 and out.startswith("wrote parity-report.html:")
    assert (tmp_path / "parity-report.html").stat().st_size > 1000


def test_search_says_when_nothing_matched_and_lists_campaigns(
    example_env: ExampleEnv, capsys: pytest.CaptureFixture[str]
) -> None:
    campaigns = _seed(example_env)
    cfg = ("--config", str(example_env.config_path))
    code, out, err = run(capsys, "search", *cfg, "--campaign", campaigns[0], "zzyzxnotaword")
    assert code == 0, err
    assert out == "0 results\n"  # (the search change that landed first says it so)

    code, out, _ = run(capsys, "search", *cfg, "--list-campaigns")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["sessions", "campaign"]
    assert {ln.split()[1] for ln in lines[1:3]} == set(campaigns) and all(ln.split()[0] == "3" for ln in lines[1:3])
    assert lines[-1].startswith("all campaigns; search one with: parity search --campaign ")

    code, out, _ = run(capsys, "search", *cfg, "--list-campaigns", "1", "--json")
    listed = json.loads(out)
    assert listed["total"] == 2 and len(listed["campaigns"]) == 1 and listed["campaigns"][0]["sessions"] == 3


def test_plain_parity_shows_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert code == 2 and out == ""
    assert "check-config" in err and "reconcile" in err and "examples:" in err


def test_report_to_a_missing_folder_fails_before_reading_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "parity.toml"
    path.write_text(
        '[dynamodb]\ntable = "app"\n[postgres]\ndsn = "postgresql://nobody@127.0.0.1:1/none"\n'
        '[[entity]]\nname = "s"\ntable = "public.s"\nmatch = { "__edb_e__" = "s" }\nkey = { id = "id" }\n'
    )
    code, _, err = run(capsys, "--config", str(path), "report", "--html", str(tmp_path / "no" / "r.html"))
    assert code == 2
    assert err == (
        f"parity: error: --html {tmp_path / 'no' / 'r.html'}: folder {tmp_path / 'no'} does not exist;"
        " create it or choose another path\n"
    )
