"""The ``parity`` command line: a thin layer that parses arguments and calls plain functions.

Each subcommand lives in a module exposing ``add_arguments(parser)`` and ``run(args) -> int``; the
module is imported only when its command runs, so ``parity search`` never loads the KCL code.
Errors derived from :class:`~parity.errors.ParityError` end the command with one line on stderr
and exit code 2 (docs/reference.md §4); nothing else is printed for them. Any other exception is a bug:
one line on stderr, its traceback as one structured log event, exit 70 (exit 1 keeps meaning
"below a threshold you set"). A reader that closes the pipe early (``| head``) ends it quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import importlib
import io
import os
import select
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from parity import __version__
from parity.errors import InternalError, ParityError, exit_code_for

#: command -> (module, one-line help). Order is the order of ``parity --help``.
COMMANDS: dict[str, tuple[str, str]] = {
    "check-config": ("parity.commands.check_config", "validate the config against both live databases"),
    "reconcile": ("parity.reconciler.command", "full compare of both stores; prints parity %% and discrepancies"),
    "consume": ("parity.consumer.command", "check every write on the DynamoDB stream against PostgreSQL"),
    "kcl-processor": ("parity.consumer.kcl_command", "record processor run by the KCL MultiLangDaemon (Kinesis mode)"),
    "kcl-properties": ("parity.consumer.kcl_properties", "render the KCL MultiLangDaemon properties file"),
    "health": ("parity.consumer.health", "exit 0 when the consumer made progress recently (ECS health check)"),
    "discrepancies": ("parity.commands.discrepancies", "list what the checkers found"),
    "dead-letters": (
        "parity.consumer.dead_letters",
        "records that could not be checked; --retry checks them again",
    ),
    "gate": ("parity.commands.gate", "is it safe to cut over now? exit 0 ready, 1 not (every check named)"),
    "search": ("parity.search.command", "keyword search over a campaign's sessions, served by DynamoDB"),
    "serve": ("parity.search.serve", "serve search over HTTP: the API the app calls (needs the 'serve' extra)"),
    "replay": ("parity.rollback.command", "copy DynamoDB-only writes to PostgreSQL (dry run without --apply)"),
    "repair": ("parity.repair.command", "rewrite DynamoDB items from PostgreSQL rows (dry run without --apply)"),
    "report": ("parity.report.command", "write the HTML parity report from the store"),
    "demo": ("parity.local.demo.command", "run everything on an embedded local stack, no setup"),
}


#: the options every command that reads the config takes, before or after the command name
GLOBAL_OPTIONS = ("--config", "--log-level")
CONFIG_DEFAULT = "parity.toml"
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_LEVEL_HELP = "debug, info, warning or error (default: info, or PARITY_LOG_LEVEL)"

# The apps that keep tables of their own in the store, each with a ``migrations`` folder. Every command
# applies all of them (the core knows none): whichever command runs first, the store is complete.
APP_MIGRATIONS = ("parity.consumer", "parity.reconciler")


#: third-party module -> the extra that installs it: a command whose module needs one that is missing
#: says which extra to install, in one line, instead of a traceback
OPTIONAL_MODULES: dict[str, str] = {
    "amazon_kclpy": "kcl",
    "fastapi": "serve",
    "uvicorn": "serve",
    "starlette": "serve",
    "moto": "local",
    "pgserver": "local",
}


def _load(module_name: str) -> Any:
    return importlib.import_module(module_name)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Every option shows its default (unless its help already says it); examples keep their lines."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or "%(default)" in text
            or not action.option_strings
            or default is None
            or default is argparse.SUPPRESS
            or isinstance(default, bool)
            or default == []
        ):
            return text
        return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """argparse with the nearest valid name for a mistyped command or option.

    An unknown option is reported by the chosen command's parser (its usage, not the top level's).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.commands: dict[str, argparse.ArgumentParser] = {}

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        argv = list(sys.argv[1:] if args is None else args)
        if not argv:  # plain `parity`: the commands and examples, not just "COMMAND is required"
            self.print_help(sys.stderr)
            self.exit(2)
        self._check_command(argv)
        parsed, extras = self.parse_known_args(argv, namespace)
        if extras and getattr(parsed, "_unavailable", None) is None:  # an unavailable command cannot know its options
            target = self.commands.get(getattr(parsed, "command", None) or "", self)
            unknown = [a for a in extras if a.startswith("-")] or extras
            hint = _suggest_option(unknown[0], target)
            target.error(f"unrecognized arguments: {' '.join(extras)}{hint}")
        return parsed

    def _check_command(self, argv: list[str]) -> None:
        """Answer ``parity reconcle`` with the nearest command instead of argparse's list of choices."""
        skip = False
        for arg in argv:
            if skip:
                skip = False
                continue
            if arg in GLOBAL_OPTIONS:
                skip = True
                continue
            if arg.startswith("-"):
                continue
            if arg not in COMMANDS:
                close = difflib.get_close_matches(arg, list(COMMANDS), n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else f" (commands: {', '.join(COMMANDS)})"
                self.error(f"unknown command '{arg}'{hint}")
            return


def _suggest_option(word: str, parser: argparse.ArgumentParser) -> str:
    options = [o for action in parser._actions for o in action.option_strings if o.startswith("--")]
    close = difflib.get_close_matches(word.split("=", 1)[0], options, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _add_global_options(parser: argparse.ArgumentParser, *, config: bool, top: bool) -> None:
    """``--config``/``--log-level`` on the top-level parser (with defaults) and on each command.

    On a command they default to SUPPRESS, so a value given before the command name is kept unless
    it is given again after it.
    """
    default_config = CONFIG_DEFAULT if top else argparse.SUPPRESS
    default_level = None if top else argparse.SUPPRESS
    if config:
        parser.add_argument(
            "--config", default=default_config, metavar="PATH", help=f"config file (default: {CONFIG_DEFAULT})"
        )
    parser.add_argument(
        "--log-level",
        default=default_level,
        type=str.lower,
        choices=LOG_LEVELS,
        metavar="LEVEL",
        help=LOG_LEVEL_HELP,
    )


def build_parser(commands: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; only the chosen command's module is imported for its arguments.

    Each command module provides ``add_arguments(parser)``, ``run(args)`` and ``EXAMPLES`` (shown
    under the command's help); ``TAKES_CONFIG = False`` when the command has no use for ``--config``.
    """
    parser = _Parser(
        prog="parity",
        description="Prove, before the cutover, that DynamoDB holds what PostgreSQL holds.",
        epilog=(
            "examples:\n"
            "  parity check-config                      # reads ./parity.toml\n"
            "  parity --config prod.toml reconcile --json\n"
            "  parity demo                              # everything on a local stack, no setup\n\n"
            "parity COMMAND --help shows each command's options and examples; docs/reference.md has them all."
        ),
    )
    parser.add_argument("--version", action="version", version=f"parity {__version__}")
    _add_global_options(parser, config=True, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(
            name, help=help_text, description=help_text.replace("%%", "%"), formatter_class=HelpFormatter
        )
        parser.commands[name] = command
        if commands is None or name in commands:
            try:
                module = _load(module_name)
            except ModuleNotFoundError as exc:
                missing = exc.name or ""
                extra = OPTIONAL_MODULES.get(missing.split(".", 1)[0])
                if extra is not None or (missing and module_name.startswith(missing)):
                    _add_global_options(command, config=True, top=False)
                    command.set_defaults(_unavailable=(missing, extra))
                    continue
                raise
            _add_global_options(command, config=getattr(module, "TAKES_CONFIG", True), top=False)
            command.epilog = getattr(module, "EXAMPLES", None)
            module.add_arguments(command)
            command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code.

    Every way out is decided here: a ParityError is one line and its exit code; a bug anywhere
    (a command, its import, the parser) is one line, a logged traceback and 70; a reader that closed
    the pipe (``| head``) ends it quietly. argparse's own exits (``--help``, usage errors) pass.
    """
    from parity.telemetry import shutdown_metrics

    try:
        code = _run(argv)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except InternalError as exc:
        return _internal_error(exc.message, exc.traceback)
    except ParityError as exc:
        print(f"parity: error: {exc}", file=sys.stderr)
        return exit_code_for(exc)
    except KeyboardInterrupt:
        print("parity: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:
        extra = OPTIONAL_MODULES.get((exc.name or "").split(".", 1)[0])
        if extra is None:  # a module parity itself needs: a broken install, i.e. a bug
            return _internal_error(f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc)))
        print(f"parity: error: this needs the '{extra}' extra (pip install 'parity[{extra}]'): {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError as exc:
        if not _stdout_closed():
            return _internal_error(f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc)))
        _discard_stdout()  # `parity discrepancies | head -1`: the reader has what it wanted
        return 0
    except Exception as exc:  # a bug: one line here, the traceback in the log, exit 70 (never 1)
        return _internal_error(f"{type(exc).__name__}: {exc}", "".join(traceback.format_exception(exc)))
    finally:
        shutdown_metrics()


def _run(argv: Sequence[str] | None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    chosen = [a for a in args_list if a in COMMANDS][:1]
    parser = build_parser(chosen)
    args = parser.parse_args(args_list)
    from parity.telemetry import configure_logging, configure_metrics

    # the demo narrates on stdout (including what its parts warn about); their logs would drown it unless asked for
    configure_logging(level=args.log_level or ("error" if args.command == "demo" else None))
    runner = getattr(args, "_run", None)
    if runner is None:
        missing, extra = getattr(args, "_unavailable", ("", None))
        needs = f": it needs the '{extra}' extra (pip install 'parity[{extra}]')" if extra else ""
        lacking = f"; module {missing} is not installed" if missing and not extra else ""
        print(f"parity: error: '{args.command}' is not available in this build{needs}{lacking}", file=sys.stderr)
        return 2
    configure_metrics()
    from parity.store import register

    register(*APP_MIGRATIONS)
    return int(runner(args))


def _internal_error(message: str, trace: str) -> int:
    """Log the traceback (one structured event) and print one line; the exit code of a bug."""
    from parity.pg import scrub_dsn
    from parity.telemetry import configure_logging, get_logger

    configure_logging()  # idempotent; a bug before the command configured it must not log to stdout

    line = scrub_dsn(" ".join(message.split()))
    if len(line) > 300:
        line = line[:297] + "..."
    get_logger("cli").error("internal error", error=line, traceback=[scrub_dsn(t) for t in trace.splitlines()])
    print(f"parity: internal error (a bug; the traceback is in the log): {line}", file=sys.stderr)
    return 70


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (poll reports an error on its write end)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False


def _discard_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush finds nothing to complain about."""
    with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
