"""A proven floating-point filter of many region points at once.

The region of a full pattern ``beta`` holds the point ``x = X / q`` when the exact forward pass
gives every on neuron a positive and every off neuron a negative pre-activation
(:meth:`polyregions.exact.exact_net.ExactNetwork.integer_point_in_region`). In the integer form
of that pass (``h^0 = X``, ``s_0 = q``; ``u^l = Wi^l h^{l-1} + bi^l s_{l-1} = D_l s_{l-1} z^l``;
``h^l = u^l`` on the on neurons and 0 elsewhere; ``s_l = D_l s_{l-1}``), the signs of ``u^l``
are the signs of ``z^l``. :class:`PointFilter` evaluates it in float64 for a batch of points
(one matrix product per layer) with a running bound ``E^l`` of the absolute error of ``h^l``:

    |fl(u^l) - u^l| <= gamma_{m+1} (|Wi^l| |fl(h^{l-1})| + |bi^l| s_{l-1}) + |Wi^l| E^{l-1}

(``m`` the layer's fan-in, ``gamma_k = k u / (1 - k u)``, ``u = 2^-53``: Higham, *Accuracy and
Stability of Numerical Algorithms*, section 3.1, any order of summation, with or without fused
multiply-adds). The inputs are exact in float64 (``|X_k| < 2^53``, ``q`` and every ``D_l`` a power
of 2, every ``Wi``, ``bi`` exact in float64, as float64 weights are), every term is an integer-valued float (no underflow), and
the bound is taken :data:`~polyregions.exact.exact_net.SIGN_FILTER_FACTOR` times (which covers
the rounding of the bound itself). A point passes only when every on neuron has
``fl(u) > bound`` and every off neuron ``fl(u) < -bound``, so a passing point is proven inside
its region; every other point (an identically zero off neuron among them) goes to the exact
forward pass. Nothing is accepted on a float decision alone: the bound is the proof.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PointFilter", "SIGN_FILTER_FACTOR"]

#: The computed pre-activations must exceed this many times their rounding error bound.
SIGN_FILTER_FACTOR = 8.0
_EXACT_BELOW = 2 ** 53
_UNIT = 2.0 ** -53


def _exact_float(values):
    """`values` (a list, or a list of lists, of integers) as a float64 array when each is exact in
    float64 (and finite), else None."""
    flat = [v for row in values for v in row] if values and isinstance(values[0], list) else list(values)
    try:
        if not all(float(v) == v for v in flat):
            return None
    except OverflowError:
        return None
    return np.array(flat, dtype=float)


def _power_of_two(v: int) -> bool:
    return v > 0 and not v & (v - 1)


class PointFilter:
    """The filter of :mod:`polyregions.exact.point_filter` for the integer layers
    ``[(Wi, bi, D), ...]`` of an exact network; ``usable`` is False when a layer is not exact in
    float64 (rational weights, huge integers): then no point passes."""

    def __init__(self, int_layers):
        self.layers = []
        for W, b, den in int_layers:
            Wf, bf = _exact_float(W), _exact_float(b)
            if Wf is None or bf is None or not _power_of_two(den) or den.bit_length() > 1000:
                self.layers = None
                break
            Wf = Wf.reshape(len(b), -1)
            self.layers.append((Wf, np.abs(Wf), bf, np.abs(bf), float(den)))
        self.usable = bool(self.layers)

    def passes(self, patterns, X, dens):
        """A boolean per point: True when the point ``X[k] / dens[k]`` is proven to give every neuron
        the strict sign of ``patterns[k]`` (0/1 values, all layers); False: not proven (a pattern
        of another length included).

        `X`: integer coordinates (a list of lists of ints), `dens`: positive ints."""
        k = len(X)
        ok = np.zeros(k, dtype=bool)
        if not self.usable or k == 0:
            return ok
        n_bits = sum(len(b) for _, _, b, _, _ in self.layers)
        fit = np.array([len(bits) == n_bits and _power_of_two(d) and d.bit_length() < 900
                        and all(abs(v) < _EXACT_BELOW for v in row) for bits, row, d in zip(patterns, X, dens)])
        if not fit.any():
            return ok
        idx = np.flatnonzero(fit)
        ok[idx] = self.passes_arrays(np.array([patterns[i] for i in idx], dtype=bool),
                                     np.array([X[i] for i in idx], dtype=float).reshape(len(idx), -1),
                                     np.array([float(dens[i]) for i in idx]))
        return ok

    def passes_arrays(self, beta, h, scale):
        """:meth:`passes` on arrays: `beta` ``(k, N)`` booleans (full patterns), `h` ``(k, n)`` the
        integer coordinates as float64, each exact (``|h| < 2^53``), `scale` ``(k,)`` their
        denominators (powers of 2, exact in float64). A boolean per point."""
        good = np.ones(len(h), dtype=bool)
        if not self.usable:
            return ~good
        err = np.zeros_like(h)
        off = 0
        with np.errstate(over="ignore", invalid="ignore"):
            for Wf, Wa, bf, ba, den in self.layers:
                m = Wf.shape[1]
                # the products without BLAS (einsum's own loop: small products, no thread hand-offs)
                u = np.einsum("ik,jk->ij", h, Wf) + scale[:, None] * bf
                bound = SIGN_FILTER_FACTOR * ((m + 3) * _UNIT * (np.einsum("ik,jk->ij", np.abs(h), Wa)
                                                                  + scale[:, None] * ba)
                                              + np.einsum("ik,jk->ij", err, Wa))
                on = beta[:, off: off + len(bf)]
                good &= np.all(np.where(on, u > bound, u < -bound), axis=1) & np.all(np.isfinite(bound), axis=1)
                h = np.where(on, u, 0.0)
                err = np.where(on, bound, 0.0)
                scale = scale * den
                off += len(bf)
        return good
