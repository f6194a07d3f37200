"""Benchmarks: the figures users choose a dev harness by, measured side by side in one run.

``invoke bench`` runs them (``bench.runner``); ``bench/gate_latency.py`` also runs alone.
"""
