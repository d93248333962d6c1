"""Train the small digits CNN shipped in polyregions/data (needs the extras torch and onnx).

Conv2d(1, 4, 3, padding=1) - BatchNorm2d - ReLU - MaxPool2d(2) - a residual block of two 3x3
convolutions with 4 channels - ReLU - Flatten - Linear(64, 10), on scikit-learn's 8x8 digits
with pixels scaled to [0, 1]. Writes the state_dict as ``digits_cnn.npz`` and the ONNX
export as ``digits_cnn.onnx``; the seed fixes the result on one machine and torch version.

    python scripts/train_digits_cnn.py [--out polyregions/data] [--epochs 40]
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch
from torch import nn

SEED = 0
#: Digits with an index of this or more are held out (the tests take their centres from there).
TRAIN_SIZE = 1500


class ResidualBlock(nn.Module):
    """``x + conv2(relu(conv1(x)))`` with two 3x3 convolutions that keep 4 channels."""

    def __init__(self, channels: int = 4):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return x + self.conv2(self.relu(self.conv1(x)))


def build_model() -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         ResidualBlock(4), nn.ReLU(), nn.Flatten(), nn.Linear(64, 10))


def load_digits_scaled():
    """The digits as (N, 1, 8, 8) float32 in [0, 1] and their labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.images / 16.0).astype(np.float32)[:, None], data.target


def load_model(npz_path) -> nn.Sequential:
    """The model with the weights of a ``digits_cnn.npz`` file, in eval mode."""
    model = build_model()
    with np.load(npz_path) as f:
        model.load_state_dict({k: torch.from_numpy(f[k]) for k in f.files})
    return model.eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "polyregions", "data"))
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    X, y = load_digits_scaled()
    Xt, yt = torch.from_numpy(X[:TRAIN_SIZE]), torch.from_numpy(y[:TRAIN_SIZE])
    model = build_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(SEED)
    for _ in range(args.epochs):
        model.train()
        for idx in torch.randperm(len(Xt), generator=gen).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(model(Xt[idx]), yt[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(torch.from_numpy(X[TRAIN_SIZE:])).argmax(1).numpy() == y[TRAIN_SIZE:]).mean()
    print(f"held-out accuracy {acc:.3f}")
    np.savez(os.path.join(args.out, "digits_cnn.npz"),
             **{k: v.detach().numpy() for k, v in model.state_dict().items()})
    torch.onnx.export(model, (torch.from_numpy(X[:1]),), os.path.join(args.out, "digits_cnn.onnx"), dynamo=False,
                      input_names=["x"], output_names=["logits"], dynamic_axes={"x": {0: "batch"}})


if __name__ == "__main__":
    main()
