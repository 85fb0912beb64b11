"""Local tooling: the embedded stack (moto's DynamoDB server, an embedded PostgreSQL), the example app
and ``parity demo``. Needs the ``local`` extra (``pip install 'parity[local]'``); never used in production.
"""
