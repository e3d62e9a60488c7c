"""Synthetic leak generator: realistic dumps with ground truth."""
