"""Benchmarks and experiments on top of the library (kept out of the core packages).

``discovery``: the open-set and injection benchmarks of ``skyfm discover evaluate``;
``feedback``: simulated labelling sessions and the digital-twin feedback experiment.
"""
