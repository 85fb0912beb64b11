"""``parity repair``: rewrite DynamoDB items from their PostgreSQL rows (PostgreSQL is the source of truth)."""
