"""parity demo: the whole product on an embedded local stack."""
