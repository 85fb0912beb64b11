"""Every command's --help shows each option's default and one or two examples (over all of COMMANDS).

A command added later gets the same help for free (the formatter) and must bring its own examples
(``EXAMPLES`` in its module, shown as the epilog); this test fails until it does.
"""

from __future__ import annotations

import argparse
import importlib
import re

import pytest

from parity.cli import COMMANDS, build_parser

#: options whose default the issue reported missing, and what their help must now say
NAMED_DEFAULTS = {
    ("reconcile", "--segments"): "default: [reconcile].segments, 4",
    ("reconcile", "--max-rcu"): "default: no limit",
    ("reconcile", "--recheck-delay"): "default: [reconcile].recheck_delay_seconds, 2",
    ("reconcile", "--log-level"): "default: info",
    ("discrepancies", "--status"): "default: open",
    ("demo", "--workdir"): "default: ./.parity-demo",
    ("report", "--html"): "default: parity-report.html",
}


def _command_parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: sub.choices[name] for name in COMMANDS}


def _available() -> list[str]:
    names = []
    for name, (module, _) in COMMANDS.items():
        try:
            importlib.import_module(module)
        except ModuleNotFoundError:  # an optional extra (kcl) not installed
            continue
        names.append(name)
    return names


@pytest.mark.parametrize("name", _available())
def test_every_command_has_examples_naming_itself(name: str) -> None:
    module = importlib.import_module(COMMANDS[name][0])
    examples = getattr(module, "EXAMPLES", "")
    assert examples.startswith("examples:\n"), f"{COMMANDS[name][0]} needs EXAMPLES = 'examples:\\n  parity {name} ...'"
    lines = [ln for ln in examples.splitlines()[1:] if ln.strip()]
    assert 1 <= len(lines) <= 4, examples
    assert all(ln.strip().startswith("parity ") and f" {name}" in ln for ln in lines), examples
    assert examples in _command_parsers()[name].format_help()


@pytest.mark.parametrize("name", _available())
def test_every_option_with_a_default_shows_it(name: str) -> None:
    command = _command_parsers()[name]
    text = command.format_help()
    formatter = command._get_formatter()
    for action in command._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        if action.default in (None, False, argparse.SUPPRESS, []) and action.option_strings[0] not in (
            "--config",
            "--log-level",
        ):
            continue
        rendered = formatter._expand_help(action)
        assert "default" in rendered, f"parity {name} {action.option_strings[0]}: help does not show its default"
    assert "usage: parity " + name in text


def test_the_defaults_the_issue_named() -> None:
    parsers = _command_parsers()
    for (name, option), wanted in NAMED_DEFAULTS.items():
        action = next(a for a in parsers[name]._actions if option in a.option_strings)
        help_text = parsers[name]._get_formatter()._expand_help(action)
        assert wanted in help_text, f"parity {name} {option}: {help_text!r}"


def test_demo_takes_no_config() -> None:
    demo = _command_parsers()["demo"].format_help()
    assert "--config" not in demo and "--workdir" in demo


def test_docs_reference_has_a_section_per_command_and_none_other() -> None:
    """docs/reference.md documents every command there is, and no command that is not."""
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "reference.md").read_text(encoding="utf-8")
    documented = set()
    for heading in (ln for ln in page.splitlines() if ln.startswith("### `parity ")):
        documented.update(re.findall(r"`parity ([a-z-]+)", heading))
    assert documented == set(COMMANDS), (
        f"undocumented: {sorted(set(COMMANDS) - documented)}; not a command: {sorted(documented - set(COMMANDS))}"
    )
