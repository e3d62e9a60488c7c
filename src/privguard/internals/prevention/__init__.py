"""The prevention wing: the system the vendor should have had.

One registry of privileged numbers (``registry``), one tamper-evident ``ledger`` that the
registry, the decision log and the vault's access log all append to, recording decisions
at call setup that fail closed, a vault whose every access is logged, and the ``service``
(FastAPI) that serves them, all on one database layer (``db``: SQLAlchemy 2 and Alembic,
SQLite embedded by default, PostgreSQL in production).

Nothing here imports the audit wing: an audit reaches the registry as files
(``numbers.parquet``), and a registry reaches an audit as a signed snapshot.
"""
