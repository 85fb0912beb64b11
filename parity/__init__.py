"""parity: prove, before the cutover, that DynamoDB holds what PostgreSQL holds.

The shared core: config, mapping, canonical comparison, the store, telemetry and the CLI.
"""

__version__ = "0.1.0"
