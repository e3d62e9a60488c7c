"""Scores against a synthetic leak's ground truth (``privguard evaluate``, the benchmarks).

Beside ``synth`` and outside both wings: it reads what the audit wrote and what synth knew.
"""
