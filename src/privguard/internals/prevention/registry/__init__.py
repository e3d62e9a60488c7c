"""One registry of privileged numbers that cannot silently lose an entry.

* ``models``: the tables (attorneys, numbers, requests, events, invitations, snapshots);
* ``journal``: every row change is a ``registry`` ledger entry carrying the row's state;
* ``workflow``: submit, verify (directory or registrar), reject, end, history, receipts;
* ``feeds``: bar and public-defender lists imported idempotently;
* ``snapshots`` (pure format and verifier) and ``exports`` (issue and import them);
* ``diff``: two lists, every number missing, extra or changed named;
* ``replay``: ``verify``, the tables equal the state replayed from the ledger;
* ``invitations``: an audit's unprotected attorney numbers, queued for a registrar;
* ``receipts``: an attorney's receipts checked offline;
* ``api``: :class:`~.api.Registry` and one function per registrar command.
"""
