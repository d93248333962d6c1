"""The mixed-integer formulations: big-M encoding, bound propagation, counting and local questions.

The public functions of :mod:`polyregions.milp.milp` are reachable here too
(``polyregions.milp.milp.count_regions_milp``), loaded on first use.
"""


def __getattr__(name):
    from . import milp as _milp_module

    if name in _milp_module.__all__:
        return getattr(_milp_module, name)
    raise AttributeError(f"module 'polyregions.milp.milp' has no attribute {name!r}")
