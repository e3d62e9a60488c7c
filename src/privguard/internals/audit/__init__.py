"""The audit wing: any dump in, one canonical call table and its findings out.

Stages run in one direction, ingest -> normalize -> dedupe -> identify -> findings ->
report (``pipeline.py`` runs them in order); each builds its SQL with pure functions and
runs it through one executor of ``engines/``. Nothing here imports the prevention wing:
the two meet only through files (``numbers.parquet``, registry snapshots, manifests).
"""
