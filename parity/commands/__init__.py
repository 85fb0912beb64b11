"""Subcommands implemented in the core (check-config, discrepancies)."""
