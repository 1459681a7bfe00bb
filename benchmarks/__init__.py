"""Benchmarks: speed goals live here, reported as ratios, never as timed test assertions."""
