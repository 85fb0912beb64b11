"""The ``parity`` command line: a thin layer that parses arguments and calls plain functions.

Each subcommand lives in a module exposing ``add_arguments(parser)`` and ``run(args) -> int``; the
module is imported only when its command runs, so ``parity search`` never loads the KCL code.
Errors derived from :class:`~parity.errors.ParityError` end the command with one line on stderr
and the contract's exit code (2); nothing else is printed for them.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from parity import __version__
from parity.errors import ParityError, exit_code_for

#: command -> (module, one-line help). Order is the order of ``parity --help``.
COMMANDS: dict[str, tuple[str, str]] = {
    "check-config": ("parity.commands.check_config", "validate the config against both live databases"),
    "reconcile": ("parity.reconciler.command", "full compare of both stores; prints parity %% and discrepancies"),
    "consume": ("parity.consumer.command", "check every write on the DynamoDB stream against PostgreSQL"),
    "kcl-processor": ("parity.consumer.kcl_command", "record processor run by the KCL MultiLangDaemon (Kinesis mode)"),
    "kcl-properties": ("parity.consumer.kcl_properties", "render the KCL MultiLangDaemon properties file"),
    "health": ("parity.consumer.health", "exit 0 when the consumer made progress recently (ECS health check)"),
    "discrepancies": ("parity.commands.discrepancies", "list what the checkers found"),
    "gate": ("parity.commands.gate", "is it safe to cut over now? exit 0 ready, 1 not (every check named)"),
    "search": ("parity.search.command", "keyword search over a campaign's sessions, served by DynamoDB"),
    "serve": ("parity.search.serve", "serve search over HTTP: the API the app calls (needs the 'serve' extra)"),
    "replay": ("parity.rollback.command", "copy DynamoDB-only writes to PostgreSQL (dry run without --apply)"),
    "repair": ("parity.repair.command", "rewrite DynamoDB items from PostgreSQL rows (dry run without --apply)"),
    "report": ("parity.report.command", "write the HTML parity report from the store"),
    "demo": ("parity.local.demo.command", "run everything on an embedded local stack, no setup"),
}


def _load(module_name: str) -> Any:
    return importlib.import_module(module_name)


def build_parser(commands: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; only the chosen command's module is imported for its arguments."""
    parser = argparse.ArgumentParser(
        prog="parity",
        description="Prove, before the cutover, that DynamoDB holds what PostgreSQL holds.",
    )
    parser.add_argument("--version", action="version", version=f"parity {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default="parity.toml", metavar="PATH", help="config file (default parity.toml)")
    common.add_argument("--log-level", default=None, metavar="LEVEL", help="debug, info, warning or error")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, parents=[common], description=help_text.replace("%%", "%"))
        if commands is None or name in commands:
            try:
                module = _load(module_name)
            except ModuleNotFoundError as exc:
                if exc.name and module_name.startswith(exc.name):
                    command.set_defaults(_unavailable=module_name)
                    continue
                raise
            module.add_arguments(command)
            command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    chosen = [a for a in args_list if a in COMMANDS][:1]
    parser = build_parser(chosen)
    args = parser.parse_args(args_list)
    from parity.telemetry import configure_logging, configure_metrics, shutdown_metrics

    # the demo narrates on stdout (including what its parts warn about); their logs would drown it unless asked for
    configure_logging(level=args.log_level or ("error" if args.command == "demo" else None))
    runner = getattr(args, "_run", None)
    if runner is None:
        print(f"parity: error: '{args.command}' is not available in this build", file=sys.stderr)
        return 2
    configure_metrics()
    try:
        return int(runner(args))
    except ParityError as exc:
        print(f"parity: error: {exc}", file=sys.stderr)
        return exit_code_for(exc)
    except KeyboardInterrupt:
        print("parity: interrupted", file=sys.stderr)
        return 130
    finally:
        shutdown_metrics()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
