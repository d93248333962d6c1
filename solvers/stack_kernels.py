"""Push, pop and test on a compiled backend's stack from compiled code (a compiled search).

The dense dual simplex (:mod:`polyregions.solvers.numba_lp`) and the fixed-margin test
(:mod:`polyregions.solvers.bounded_lp`) keep their rows, bases and inverses in arrays. A
backend's ``compiled_stack()`` hands them over as a :class:`DenseStack` or a
:class:`BoundedStack` (the arrays themselves, plus its level, row ids and counters in small
arrays), and ``adopt_compiled(stack)`` takes the level, ids and counters back. The functions
here do what the backend's ``push``, ``pop`` and ``test`` do, in the same order and with the
same tolerances, so a compiled search takes the decisions the Python search takes:

* :func:`stack_push` adds the row ``sign * a . x <= b`` (``a = A[start:start + n]``, of unit norm;
  ``kappa``: its norm as :func:`~polyregions.solvers.bounded_kernels.row_norm` sums it, or
  negative when the caller does not know it) and returns that norm (-1 when the stack keeps none);
* :func:`stack_pop` removes the last row (the parent's solver state is untouched);
* :func:`stack_test` decides whether the node holds a ball of radius ``eps`` and returns
  ``(code, keep, radius, depth)`` with the witness in ``point``: ``code`` is :data:`DECIDED`,
  or why the compiled solve is unsure (:func:`reason_name`): the caller then hands the test
  to HiGHS (``backend.referee(reason)``) and never reads the non-answer as "empty".

The kernel modules of the two backends are imported only when a search over that backend
compiles (a count compiles what it uses).
"""

from __future__ import annotations

from collections import namedtuple

from .jit import kernel, kernel_overload

__all__ = ["BoundedStack", "DECIDED", "DenseStack", "PYTHON_TEST", "S_CAP", "S_LEVEL", "S_NEXT_ID", "S_PIVOTS",
           "S_SOLVES", "reason_name", "stack_pop", "stack_push", "stack_test"]

#: The dense dual simplex's arrays (``numba_lp.NumbaBackend``); ``ints`` and ``floats``
#: hold the scalars listed below.
DenseStack = namedtuple("DenseStack", ["R", "bv", "bases", "binvs", "meta", "y", "basis0", "binv0", "ids", "ints",
                                       "floats"])
#: The fixed-margin test's arrays (``bounded_lp.BoundedDualBackend``).
BoundedStack = namedtuple("BoundedStack", ["R", "bv", "kappa", "lo", "hi", "blo", "bhi", "bases", "pool", "offsets",
                                           "atups", "ready", "za", "z", "zout", "y", "fpar", "ipar", "counters",
                                           "center", "ids", "ints"])

# ``ints`` of both: level, capacity (levels), next row id, solver runs and pivots since handed over
S_LEVEL, S_CAP, S_NEXT_ID, S_SOLVES, S_PIVOTS = range(5)
# ``ints`` of the dense stack, continued
D_MD, D_ART_LO, D_ART_HI, D_MAX_PIVOTS, D_REFACTOR_EVERY, D_BLAND_AFTER = range(5, 11)
# ``floats`` of the dense stack
D_SCALE, D_EPS, D_BAND0, D_BAND_EPS = range(4)
# ``ints`` of the bounded stack, continued: domain rows, columns (lifted), 1 for an L1 ball
B_M0, B_NZ, B_L1 = range(5, 8)

#: The test was decided by the compiled solve.
DECIDED = 0
#: The backend's own Python test decides (the domain alone, in closed form).
PYTHON_TEST = 99
_BOUNDED_BASE = 100  # bounded reason codes are offset by this


def reason_name(code: int) -> str:
    """Why a compiled test went to HiGHS, from its code."""
    if code >= _BOUNDED_BASE:
        from .bounded_decide import REASONS

        return REASONS[code - _BOUNDED_BASE]
    from .dense_kernels import STATUS_NAMES

    return STATUS_NAMES[code]


def stack_push(lp, A, start, n, sign, b, kappa):  # pragma: no cover - compiled through the overload below
    """Push the row ``sign * a . x <= b``, ``a = A[start:start + n]`` (``kappa``: ``row_norm(a)``, or < 0);
    returns ``row_norm(a)`` (-1 when the stack keeps no norms)."""


def stack_pop(lp):  # pragma: no cover - compiled through the overload below
    """Pop the last row."""


def stack_test(lp, anchor, point):  # pragma: no cover - compiled through the overload below
    """Test the node: ``(code, keep, radius, depth)``, the witness in ``point``."""


@kernel(internal=True)
def _enter_level(lp, lvl):
    lp.ids[lvl - 1] = lp.ints[S_NEXT_ID]
    lp.ints[S_NEXT_ID] += 1
    lp.ints[S_LEVEL] = lvl


@kernel_overload(stack_push)
def _push(lp, A, start, n, sign, b, kappa):
    if lp.instance_class is DenseStack:
        def dense_push(lp, A, start, n, sign, b, kappa):
            lvl = lp.ints[S_LEVEL] + 1
            r = lp.ints[D_MD] + lvl - 1
            R = lp.R
            for k in range(n):
                R[r, k] = sign * A[start + k]
            lp.bv[r] = b
            lp.meta[lvl, 1] = 0
            _enter_level(lp, lvl)
            return -1.0

        return dense_push
    if lp.instance_class is BoundedStack:
        from .bounded_kernels import row_norm

        def bounded_push(lp, A, start, n, sign, b, kappa):
            lvl = lp.ints[S_LEVEL] + 1
            r = lp.ints[B_M0] + lvl - 1
            l1 = lp.ints[B_L1] != 0
            a = A[start:start + n]  # (a view, indexed from 0: its loops vectorise)
            row = lp.R[r]
            rhs = b
            if l1:
                ac = 0.0
                for k in range(n):
                    ac += (sign * a[k]) * lp.center[k]
                rhs = b - ac
            same = lp.ready[lvl] and lp.bv[r] == rhs
            if same:
                for k in range(n):
                    v = sign * a[k]
                    if row[k] != v or (l1 and row[n + k] != -v):
                        same = False
                        break
            if not same:
                for k in range(n):
                    row[k] = sign * a[k]
                if l1:
                    for k in range(n):
                        row[n + k] = -(sign * a[k])
                lp.bv[r] = rhs
                # the norm the caller knows is row_norm's of the same row (its sign squares away)
                lp.kappa[r] = kappa if kappa >= 0.0 else row_norm(a)
                lp.ready[lvl:] = False
            _enter_level(lp, lvl)
            return lp.kappa[r]

        return bounded_push
    return None


@kernel_overload(stack_pop)
def _pop(lp):
    def pop(lp):
        lp.ints[S_LEVEL] -= 1

    return pop


@kernel_overload(stack_test)
def _test(lp, anchor, point):
    if lp.instance_class is DenseStack:
        from .dense_kernels import DECIDED_DROP, DECIDED_KEEP, OK, chebyshev_decision, chebyshev_test

        def dense_test(lp, anchor, point):
            ints, fl = lp.ints, lp.floats
            status, t, radius, piv = chebyshev_test(lp.R, lp.bv, ints[D_MD], ints[D_ART_LO], ints[D_ART_HI],
                                                    ints[S_LEVEL], lp.bases, lp.binvs, lp.meta, lp.y,
                                                    ints[D_MAX_PIVOTS], ints[D_REFACTOR_EVERY], ints[D_BLAND_AFTER],
                                                    fl[D_SCALE])
            ints[S_SOLVES] += 1
            ints[S_PIVOTS] += piv
            if status != OK and lp.meta[0, 1] == 0:  # the root's slot failed: back to the first basis
                lp.bases[0, :] = lp.basis0
                lp.binvs[0, :, :] = lp.binv0
                lp.meta[0, 0] = 0
                lp.meta[0, 1] = 1
            code = chebyshev_decision(status, t, radius, fl[D_EPS], fl[D_BAND0], fl[D_BAND_EPS])
            if code == DECIDED_DROP:
                return DECIDED, False, t, t
            if code == DECIDED_KEEP:
                for k in range(point.shape[0]):
                    point[k] = lp.y[k]
                return DECIDED, True, min(radius, t), t
            return code, False, 0.0, 0.0

        return dense_test
    if lp.instance_class is BoundedStack:
        from .bounded_decide import DROP, I_HAS_ANCHOR, KEEP, region_test

        def bounded_test(lp, anchor, point):
            ints = lp.ints
            lvl = ints[S_LEVEL]
            m0 = ints[B_M0]
            l1 = ints[B_L1] != 0
            n = anchor.shape[0]
            if m0 + lvl == 0 or (l1 and lvl == 0):
                return PYTHON_TEST, False, 0.0, 0.0
            for k in range(n):
                if l1:
                    d = anchor[k] - lp.center[k]
                    lp.za[k] = max(d, 0.0)
                    lp.za[n + k] = max(-d, 0.0)
                else:
                    lp.za[k] = anchor[k]
            lp.ipar[I_HAS_ANCHOR] = 1
            before = lp.counters[0]
            code, radius, depth = region_test(lp.R, lp.bv, lp.kappa, lp.lo, lp.hi, lp.blo, lp.bhi, m0, lvl, lp.bases,
                                              lp.pool, lp.offsets, lp.atups, lp.ready, lp.za, lp.z, lp.zout, lp.y,
                                              lp.fpar, lp.ipar, lp.counters)
            ints[S_SOLVES] += lp.counters[0] - before
            if not lp.ready[0]:  # back to the first basis
                nz = ints[B_NZ]
                for i in range(m0):
                    lp.bases[0, i] = nz + i
                    for j in range(m0):
                        lp.pool[i * m0 + j] = 1.0 if i == j else 0.0
                lp.atups[0, :] = False
                lp.ready[0] = True
            if code == KEEP:
                for k in range(n):
                    point[k] = lp.center[k] + lp.zout[k] - lp.zout[n + k] if l1 else lp.zout[k]
                return DECIDED, True, radius, depth
            if code == DROP:
                return DECIDED, False, depth, depth
            return _BOUNDED_BASE + code, False, 0.0, 0.0

        return bounded_test
    return None
