"""Network files and region files."""

import numpy as np
import pytest

import polyregions as pr
from polyregions.io import load_network, load_regions, save_network, write_regions


def test_npz_round_trip(tmp_path, rng, random_dense_net):
    net = random_dense_net(rng, 3, (4, 5), output_dim=2)
    path = tmp_path / "net.npz"
    save_network(net, path)
    back = load_network(path)
    x = rng.normal(size=(50, 3))
    assert np.array_equal(back.pattern(x), net.pattern(x))
    assert np.allclose(back.forward(x), net.forward(x))


def test_npz_layout_is_W0_b0_W_out(tmp_path):
    """The documented .npz layout, written by hand (not by save_network)."""
    W0, b0 = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([0.0, -0.5])
    Wo, bo = np.array([[1.0, 1.0]]), np.array([2.0])
    np.savez(tmp_path / "hand.npz", W0=W0, b0=b0, W_out=Wo, b_out=bo)
    net = load_network(tmp_path / "hand.npz")
    assert net.widths == (2,) and net.output is not None
    x = np.array([0.3, 0.7])
    assert np.allclose(net.forward(x), Wo @ np.maximum(W0 @ x + b0, 0) + bo)


def test_json_conv_round_trip(tmp_path, rng):
    net = pr.Network([pr.Conv2d(rng.normal(size=(2, 1, 2, 2)), rng.normal(size=2), stride=1),
                      pr.AvgPool2d((2, 2), stride=1), pr.Flatten(), pr.Dense(rng.normal(size=(3, 2)), rng.normal(size=3))],
                     input_shape=(1, 3, 3), output=(rng.normal(size=(1, 3)), rng.normal(size=1)))
    path = tmp_path / "net.json"
    save_network(net, path)
    back = load_network(path)
    x = rng.normal(size=(20, 9))
    assert np.array_equal(back.pattern(x), net.pattern(x))
    assert np.allclose(back.forward(x), net.forward(x))


def test_bad_files(tmp_path):
    with pytest.raises(pr.InvalidInputError, match="path"):
        load_network(tmp_path / "missing.npz")
    (tmp_path / "net.txt").write_text("x")
    with pytest.raises(pr.InvalidInputError, match="path"):
        load_network(tmp_path / "net.txt")
    np.savez(tmp_path / "empty.npz", x=np.zeros(2))
    with pytest.raises(pr.InvalidInputError, match="hidden layer"):
        load_network(tmp_path / "empty.npz")
    (tmp_path / "bad.json").write_text('{"input_shape": 2, "layers": [{"type": "lstm"}]}')
    with pytest.raises(pr.UnsupportedError, match="lstm"):
        load_network(tmp_path / "bad.json")


def test_region_file_streams_in_chunks(tmp_path):
    """Three lines in general position in a box around their triangle: 7 regions (Zaslavsky: 1 + 3 + 3)."""
    net = pr.Network.from_dense([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]], [[0.0, 0.0, -1.0]])
    path = tmp_path / "regions.npz"
    n = write_regions(path, pr.enumerate_regions(net, pr.Box([-2, -2], [2, 2])), chunk=2)
    patterns, points, radii = load_regions(path)
    assert n == 7 == len(patterns) == len(points) == len(radii)
    bits = np.unpackbits(patterns, axis=1, count=3).astype(bool)
    assert np.array_equal(net.pattern(points), bits)
    assert len({row.tobytes() for row in patterns}) == 7
    assert np.all(radii > 0)
