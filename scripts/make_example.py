"""Train the embedded example network and write polyregions/data/digits_mlp.npz.

Run once by the maintainers (needs scikit-learn); the package ships only the weights:
    python scripts/make_example.py
A small ReLU MLP 64 -> 8 -> 8 -> 10 trained on scikit-learn's bundled 8x8 digits (pixels
scaled to [0, 1]); the file also holds one test image (`x0`, a digit the net classifies right).
"""

import pathlib

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

X, y = load_digits(return_X_y=True)
X = X / 16.0
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
clf = MLPClassifier(hidden_layer_sizes=(8, 8), activation="relu", max_iter=2000, random_state=0)
clf.fit(Xtr, ytr)
print("test accuracy", clf.score(Xte, yte))
pred = clf.predict(Xte)
k = int(np.flatnonzero(pred == yte)[0])
arrays = {}
for l, (W, b) in enumerate(zip(clf.coefs_[:-1], clf.intercepts_[:-1])):
    arrays[f"W{l}"], arrays[f"b{l}"] = W.T.copy(), b.copy()
arrays["W_out"], arrays["b_out"] = clf.coefs_[-1].T.copy(), clf.intercepts_[-1].copy()
arrays["x0"], arrays["y0"] = Xte[k], np.array(yte[k])
out = pathlib.Path(__file__).resolve().parents[1] / "polyregions" / "data" / "digits_mlp.npz"
np.savez(out, **arrays)
print("wrote", out, "image label", yte[k])
