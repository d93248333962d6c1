"""Network files and region files."""

import numpy as np
import pytest

import polyregions as pr
from polyregions.model.io import load_network, load_regions, save_network, write_regions


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


def test_npz_layers_must_be_numbered_without_gaps(tmp_path):
    np.savez(tmp_path / "gap.npz", W0=np.eye(2), b0=np.zeros(2), W2=np.eye(2), b2=np.zeros(2))
    with pytest.raises(pr.InvalidInputError, match=r"hidden layers \[0, 2\] but no layer 1"):
        load_network(tmp_path / "gap.npz")
    np.savez(tmp_path / "nob.npz", W0=np.eye(2), b0=np.zeros(2), W1=np.eye(2))
    with pytest.raises(pr.InvalidInputError, match="has W1 but no b1"):
        load_network(tmp_path / "nob.npz")
    np.savez(tmp_path / "out.npz", W0=np.eye(2), b0=np.zeros(2), b_out=np.zeros(1))
    with pytest.raises(pr.InvalidInputError, match="both W_out and b_out"):
        load_network(tmp_path / "out.npz")


def test_corrupt_files_name_the_file(tmp_path):
    np.savez(tmp_path / "good.npz", W0=np.eye(2), b0=np.zeros(2))
    data = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[:40])
    (tmp_path / "cut.json").write_text('{"layers": [')
    (tmp_path / "dir.json").mkdir()
    for name, match in [("cut.npz", "is not a .npz archive"), ("cut.json", "not a readable JSON network file"),
                        ("dir.json", "is a directory")]:
        with pytest.raises(pr.InvalidInputError, match=match) as info:
            load_network(tmp_path / name)
        assert name in str(info.value)


def test_json_layer_records_are_checked(tmp_path):
    spec = {"input_shape": [1, 2, 2], "layers": [{"type": "avgpool2d", "kernel": 0}, {"type": "flatten"},
                                                 {"type": "dense", "weight": [[1.0]], "bias": [0.0]}]}
    with pytest.raises(pr.InvalidInputError, match=r"`layers\[0\].kernel` must be a positive integer"):
        pr.io.network_from_dict(spec)
    spec["layers"][0] = {"type": "avgpool2d", "kernel": [2, 2], "stride": -1}
    with pytest.raises(pr.InvalidInputError, match=r"`layers\[0\].stride`"):
        pr.io.network_from_dict(spec)
    with pytest.raises(pr.InvalidInputError, match=r"layers\[0\] \(dense\) has no field 'weight'"):
        pr.io.network_from_dict({"input_shape": 2, "layers": [{"type": "dense", "bias": [0.0]}]})
    # a valid pooling record still loads: a 2x2 average then a dense unit is one linear map of the 4 pixels
    spec["layers"][0] = {"type": "avgpool2d", "kernel": [2, 2]}
    spec["layers"].append({"type": "dense", "weight": [[1.0]], "bias": [-0.5]})
    net = pr.io.network_from_dict(spec)
    assert net.input_dim == 4


@pytest.mark.parametrize("chunk", [0, -3, 1.5, True])
def test_write_regions_refuses_a_bad_chunk(tmp_path, chunk):
    with pytest.raises(pr.InvalidInputError, match="`chunk` must be a positive integer"):
        write_regions(tmp_path / "r.npz", iter(()), chunk=chunk)
    assert not (tmp_path / "r.npz").exists()


def test_every_layer_type_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    layers = [pr.Conv2d(rng.normal(size=(2, 1, 2, 2)), rng.normal(size=2), 1, 1, 0.1),
              pr.MaxPool2d(2, 1),
              pr.Residual([pr.Conv2d(rng.normal(size=(2, 2, 3, 3)), rng.normal(size=2), 1, 1),
                           pr.Conv2d(rng.normal(size=(2, 2, 1, 1)), rng.normal(size=2), 1, 0, 1.0)]),
              pr.Activation(-0.3), pr.AvgPool2d((2, 2), 1), pr.Flatten(),
              pr.Dense(rng.normal(size=(8, 8)), rng.normal(size=8)), pr.Unflatten((2, 2, 2)),
              pr.Flatten(), pr.Dense(rng.normal(size=(3, 8)), rng.normal(size=3), 1.0)]
    net = pr.Network(layers, input_shape=(1, 3, 3))
    x = rng.normal(size=(30, 9))
    for name in ("net.json", "net.npz"):
        pr.io.save_network(net, tmp_path / name)
        back = pr.io.load_network(tmp_path / name)
        assert pr.io.network_to_dict(back) == pr.io.network_to_dict(net)
        assert np.array_equal(back.forward(x), net.forward(x))
        assert [st.slopes.tolist() for st in back.stages] == [st.slopes.tolist() for st in net.stages]
