"""Change-stream records and readers shared by the consumer and rollback."""
