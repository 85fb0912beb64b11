"""rollback: replay DynamoDB-only writes into PostgreSQL when a migration is aborted."""

MIGRATIONS = __name__  # the package whose migrations folder holds this app's tables (replay runs, journal)
