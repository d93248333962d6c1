"""Train small neural signed distance functions, the 3-D and 2-D benchmark nets:

    python benchmarks/train_sdf.py [--dim 3|2] [--widths 32 32 32 32 32 32 32 32] [--epochs N] [--out FILE]

3-D: the torus of radii ``R = 0.5`` (centre circle in the plane ``x_2 = 0``) and ``r = 0.2``, signed
distance ``sqrt((sqrt(x_0^2 + x_1^2) - R)^2 + x_2^2) - r``. 2-D: its cross-section by the plane
``x_1 = 0``, two discs of radius ``r`` centred at ``(+-R, 0)``: ``sqrt((|x_0| - R)^2 + x_1^2) - r``.
On 20,000 points drawn uniformly in [-1, 1]^d with ``numpy.random.default_rng(0)``; scikit-learn's
``MLPRegressor`` (ReLU, Adam, ``random_state=0``, batch 256, learning rate 1e-3, L2 penalty 1e-6;
300 epochs in 3-D, 50 in 2-D: trained briefly), one output.
The trained net is saved as a polyregions network file (``.npz``: ``W0, b0, ...`` and the linear
output ``W_out, b_out``). :func:`torus_net` and :func:`discs_net` train it (or load it when the
file exists, and the file's widths match). Printed: the training time and the mean absolute error
on 5,000 held-out points (seed 1).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

import numpy as np

import polyregions as pr

HERE = os.path.dirname(os.path.abspath(__file__))
#: Where trained nets are kept between runs (``torus_<widths>.npz``).
CACHE = os.path.join(HERE, "data")
MAJOR, MINOR = 0.5, 0.2


def torus_sdf(x: np.ndarray) -> np.ndarray:
    """The signed distance to the torus (negative inside)."""
    ring = np.hypot(x[:, 0], x[:, 1]) - MAJOR
    return np.hypot(ring, x[:, 2]) - MINOR


def discs_sdf(x: np.ndarray) -> np.ndarray:
    """The signed distance to the torus's cross-section by ``x_1 = 0`` (two discs; negative inside)."""
    return torus_sdf(np.column_stack([x[:, 0], np.zeros(len(x)), x[:, 1]]))


#: Per input dimension: the signed distance and the default number of epochs.
SHAPES = {3: (torus_sdf, 300), 2: (discs_sdf, 50)}


def train(widths, *, dim=3, points=20000, epochs=None, seed=0):
    """``(net, seconds, held-out mean absolute error)``: a ReLU MLP of these hidden widths fitted to
    the signed distance of the torus (`dim` 3) or of its cross-section (`dim` 2; module docstring)."""
    sdf, default_epochs = SHAPES[dim]
    epochs = default_epochs if epochs is None else epochs
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor
    import warnings

    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(points, dim))
    y = sdf(x)
    model = MLPRegressor(hidden_layer_sizes=tuple(widths), activation="relu", solver="adam", alpha=1e-6,
                         batch_size=256, learning_rate_init=1e-3, max_iter=epochs, random_state=seed,
                         shuffle=True, tol=0.0, n_iter_no_change=epochs + 1)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, y)
    seconds = time.perf_counter() - t0
    Ws = [np.asarray(W.T, dtype=np.float64) for W in model.coefs_]
    bs = [np.asarray(b, dtype=np.float64) for b in model.intercepts_]
    net = pr.Network.from_dense(Ws[:-1], bs[:-1], output=(Ws[-1], bs[-1]))
    xt = np.random.default_rng(1).uniform(-1.0, 1.0, size=(5000, dim))
    mae = float(np.mean(np.abs(model.predict(xt) - sdf(xt))))
    return net, seconds, mae


def cache_path(widths, dim=3) -> str:
    name = {3: "torus_", 2: "discs_"}[dim]
    return os.path.join(CACHE, name + "x".join(str(w) for w in widths) + ".npz")


def torus_net(widths) -> pr.Network:
    """The torus-trained net of these widths, from the cache file when it is there (trained and saved
    otherwise)."""
    return _trained_net(widths, 3)


def discs_net(widths) -> pr.Network:
    """The 2-input net of these widths trained on the two discs (module docstring), from the cache
    file when it is there (trained and saved otherwise)."""
    return _trained_net(widths, 2)


def _trained_net(widths, dim):
    path = cache_path(widths, dim)
    if os.path.exists(path):
        net = pr.io.load_network(path)
        if [W.shape[0] for W, _ in net.hidden] == list(widths) and net.input_dim == dim:
            return net
    net, seconds, mae = train(widths, dim=dim)
    logging.getLogger(__name__).info("trained %s in %.1f s (held-out MAE %.4f)", widths, seconds, mae)
    os.makedirs(CACHE, exist_ok=True)
    pr.io.save_network(net, path)
    return net


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, choices=sorted(SHAPES), default=3, help="3: the torus; 2: its cross-section")
    parser.add_argument("--widths", type=int, nargs="+", default=[32] * 8)
    parser.add_argument("--epochs", type=int, default=None, help="default 300 in 3-D, 50 in 2-D")
    parser.add_argument("--out", default=None, help="the network file (default benchmarks/data/torus_<widths>.npz)")
    args = parser.parse_args(argv)
    if any(w < 1 for w in args.widths):
        parser.error("--widths must be positive")
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs must be positive")
    net, seconds, mae = train(args.widths, dim=args.dim, epochs=args.epochs)
    out = args.out or cache_path(args.widths, args.dim)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    pr.io.save_network(net, out)
    shape = "the torus's" if args.dim == 3 else "the two discs'"
    print(f"trained {args.dim},{'x'.join(map(str, args.widths))} on {shape} signed distance in {seconds:.1f} s; "
          f"held-out mean absolute error {mae:.4f}; saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
