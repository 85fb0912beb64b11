"""rollback: replay DynamoDB-only writes into PostgreSQL when a migration is aborted."""
