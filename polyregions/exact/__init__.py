"""Exact arithmetic: integer networks, the rational simplex, certified counts and the checker."""
