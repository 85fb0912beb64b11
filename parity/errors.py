"""The one error tree of parity.

Every error parity raises on purpose derives from :class:`ParityError`. Driver exceptions
(botocore, psycopg, pydantic) are caught at the adapter boundary and re-raised as one of these
with ``raise ... from exc`` so that callers never need to know which driver sits underneath::

    ParityError                     anything parity raises on purpose
    ├── ConfigError                 the config file is missing, malformed or names unknown things  (exit 2)
    ├── InputError                  a command-line argument or an input file is bad                (exit 2)
    ├── DependencyError             a store parity needs cannot be used                            (exit 2)
    │   ├── DynamoDBError           DynamoDB / DynamoDB Streams / Kinesis unreachable or refusing
    │   │   └── Denied              the credentials may not call a write action (repair)
    │   └── PostgresError           PostgreSQL unreachable, refusing, or a statement failed
    │       ├── PostgresUnavailable the server cannot be reached right now (retryable)
    │       └── PostgresRefusedValue a value was refused (SQLSTATE class 22 or 54): one record's problem
    ├── StoreError                  parity's own tables are inconsistent (a bug or a manual edit)
    ├── Interrupted                 SIGTERM/SIGINT stopped a command between two safe points       (exit 143)
    │   ├── ReconcileInterrupted    a reconcile run stopped, its progress saved (docs/reconcile.md)  (exit 2)
    │   └── Stopped                 a stop was asked for while waiting to retry a dependency
    ├── InternalError               a bug met where it cannot be raised as itself (a worker process) (exit 70)
    │   └── WorkerFailed            a reconcile worker process died or failed unexpectedly
    ├── Unbuildable                 a row whose DynamoDB item cannot be built (repair: that row's problem)
    ├── ConditionFailed             an item changed since it was judged (repair judges it again)
    └── DecodeError                 a stream record or attribute value cannot be decoded

Messages are one line, name what and where, never contain a password, and suggest a fix when
one is known. :func:`exit_code_for` maps an error to its exit code (docs/reference.md §4).
"""

from __future__ import annotations


class ParityError(Exception):
    """Base of every error parity raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message} ({hint})")


class ConfigError(ParityError):
    """The config file is missing, malformed, or names an unknown key, type or column."""


class InputError(ParityError):
    """A command-line argument or an input file is invalid."""


class DependencyError(ParityError):
    """A store parity depends on cannot be used (unreachable, refusing, missing object)."""


class DynamoDBError(DependencyError):
    """DynamoDB, DynamoDB Streams or Kinesis refused or could not be reached."""


class Denied(DynamoDBError):
    """The credentials may not call this write action."""

    def __init__(self, table: str, action: str, code: str) -> None:
        super().__init__(
            f"writing to {table!r}: the credentials may not call dynamodb:{action} ({code})",
            hint="run repair with the repair task role (docs/repair.md, Permissions)",
        )
        self.action = action


class PostgresError(DependencyError):
    """PostgreSQL refused a connection or a statement."""


class PostgresUnavailable(PostgresError):
    """PostgreSQL cannot be reached right now; the caller may retry."""


class PostgresRefusedValue(PostgresError):
    """PostgreSQL refused a value of the statement (bad input syntax, out of range, U+0000, too large).

    The server is fine; a record carried a value it cannot take, so a checker isolates that record
    (dead letter) instead of retrying the whole batch for ever.
    """


class StoreError(ParityError):
    """parity's own tables are in a state parity did not put them in."""


class Interrupted(ParityError):
    """A stop signal ended a command at a safe point (after a committed batch); what it did is kept."""

    exit_code = 143  # 128 + SIGTERM, what a shell reports for a process SIGTERM stopped


class InternalError(ParityError):
    """An unexpected error (a bug) met where it cannot propagate as itself, e.g. in a worker
    process: its message is one line, ``traceback`` is for the log. Exit 70, as any bug."""

    exit_code = 70

    def __init__(self, message: str, *, hint: str | None = None, traceback: str = "") -> None:
        super().__init__(message, hint=hint)
        self.traceback = traceback


class ReconcileInterrupted(Interrupted):
    """A reconcile run stopped on SIGTERM/SIGINT with its progress saved; ``--resume`` continues it."""

    exit_code = 2  # documented for reconcile before Interrupted had its own code (docs/reconcile.md)


class Stopped(Interrupted):
    """A stop was asked for while a dependency was being retried (the consumer's backoff)."""


class WorkerFailed(InternalError):
    """A worker process ended without reporting (killed, out of memory) or with an unexpected error:
    exit 70 like the same bug met without worker processes."""


class Unbuildable(ParityError):
    """A row whose item DynamoDB cannot hold; the message says which column and why."""


class ConditionFailed(ParityError):
    """The item changed since it was judged: judge it again."""


class DecodeError(ParityError):
    """A stream record or an attribute value cannot be decoded."""


def exit_code_for(error: BaseException) -> int:
    """The exit code (docs/reference.md §4) of an error that ended a command."""
    if isinstance(error, ParityError):
        return error.exit_code
    return 70  # an internal error: a bug, not bad input
