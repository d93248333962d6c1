"""PyTorch and ONNX models in: conversions against the frameworks' forward passes, refusals
that name the operation, and the digits CNN (weights and ONNX export in polyregions/data)."""

import importlib.util
import os

import numpy as np
import pytest

import polyregions as pr

torch = pytest.importorskip("torch", reason="the extra 'torch' is not installed")
nn = torch.nn

DATA = os.path.join(os.path.dirname(pr.__file__), "data")
SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "train_digits_cnn.py")
#: The held-out digit and the four central pixels perturbed in the region count.
DIGIT, PIXELS, RADIUS = 1528, [27, 28, 35, 36], 0.05


def training_script():
    spec = importlib.util.spec_from_file_location("train_digits_cnn", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def torch_forward(model, x, shape):
    with torch.no_grad():
        return model.double()(torch.from_numpy(np.asarray(x, float).reshape((-1,) + shape))).numpy()


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = nn.Sequential(nn.Linear(4, 6), nn.LeakyReLU(0.2), nn.Linear(6, 4))

    def forward(self, x):
        return torch.relu(x + self.inner(x))


def test_sequential_with_nested_blocks_batchnorm_and_dropout():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Dropout(0.5),
                          nn.Sequential(Block(), nn.Identity()), nn.Linear(4, 2))
    with torch.no_grad():
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
    model.eval()
    net = pr.Network.from_torch(model, 3)
    assert any(isinstance(layer, pr.Residual) for layer in net.layers)
    x = np.random.default_rng(1).normal(size=(500, 3))
    assert np.abs(net.forward(x) - torch_forward(model, x, (3,))).max() <= 1e-9
    box = pr.Box([-1.0] * 3, [1.0] * 3)
    regions = {tuple(r.bits) for r in pr.enumerate_regions(net, box)}
    sample = np.random.default_rng(2).uniform(-1, 1, size=(20000, 3))
    assert {tuple(p) for p in net.pattern(sample)} <= regions


def test_dilated_grouped_reflect_padded_convolutions_and_padded_pooling():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(2, 4, 3, dilation=2, padding=2, groups=2, padding_mode="reflect"), nn.ReLU(),
                          nn.AvgPool2d(2, padding=1, ceil_mode=True), nn.Conv2d(4, 2, (2, 3), stride=(1, 2)),
                          nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(6, 3)).eval()
    net = pr.Network.from_torch(model, (2, 6, 6))
    x = np.random.default_rng(8).normal(size=(300, 72))
    assert np.abs(net.forward(x) - torch_forward(model, x, (2, 6, 6))).max() <= 1e-9


def test_training_mode_is_refused():
    with pytest.raises(pr.UnsupportedError, match="training mode"):
        pr.Network.from_torch(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), 2)


def test_unsupported_modules_are_named_with_their_path():
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Tanh())).eval()
    with pytest.raises(pr.UnsupportedError, match=r"`1\.1` \(Tanh\)"):
        pr.Network.from_torch(model, 2)
    pool = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True)).eval()
    with pytest.raises(pr.UnsupportedError, match=r"`2` \(MaxPool2d\) has ceil_mode=True"):
        pr.Network.from_torch(pool, (1, 7, 7))
    loose = nn.Sequential(nn.ReLU(), nn.BatchNorm1d(2), nn.Linear(2, 2)).eval()
    with pytest.raises(pr.UnsupportedError, match=r"`1` \(BatchNorm1d\) must follow a Linear or Conv2d"):
        pr.Network.from_torch(loose, 2)


def test_a_conversion_that_differs_from_the_module_is_refused(monkeypatch):
    from polyregions.model import torch_import as interop

    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)).eval()
    real = interop.torch_records

    def shift_a_bias(module, shape):
        records, reference = real(module, shape)
        records[0] = dict(records[0], bias=np.asarray(records[0]["bias"]) + 1.0)
        return records, reference

    monkeypatch.setattr(interop, "torch_records", shift_a_bias)
    with pytest.raises(pr.UnsupportedError, match="differs from the model's forward pass"):
        pr.Network.from_torch(model, 2)


@pytest.fixture(scope="module")
def digits():
    pytest.importorskip("sklearn", reason="scikit-learn is not installed")
    script = training_script()
    model = script.load_model(os.path.join(DATA, "digits_cnn.npz"))
    images, _ = script.load_digits_scaled()
    return model, images


def test_digits_cnn_from_torch_agrees_in_float64(digits):
    model, _ = digits
    net = pr.Network.from_torch(model, (1, 8, 8))
    x = np.random.default_rng(3).uniform(0, 1, size=(1000, 64))
    assert np.abs(net.forward(x) - torch_forward(model, x, (1, 8, 8))).max() <= 1e-9
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Conv2d", "MaxPool2d", "Residual", "Activation", "Flatten", "Dense"]


def test_digits_cnn_from_onnx(digits):
    pytest.importorskip("onnx", reason="the extra 'onnx' is not installed")
    model, _ = digits
    net = pr.Network.from_onnx(os.path.join(DATA, "digits_cnn.onnx"))
    x = np.random.default_rng(4).uniform(0, 1, size=(1000, 64))
    expected = torch_forward(model, x, (1, 8, 8))
    # the exporter folds BatchNorm into the convolution in float32: agreement to float32 precision
    assert np.abs(net.forward(x) - expected).max() <= 1e-5 * max(1.0, np.abs(expected).max())


def slice_network(net, centre, pixels):
    """`net` on ``x = centre + sum_k t_k e_{pixels[k]}``: a linear Dense and an Unflatten in front."""
    U = np.zeros((centre.size, len(pixels)))
    U[pixels, np.arange(len(pixels))] = 1.0
    return pr.Network([pr.Dense(U, centre, 1.0), pr.Unflatten(net.input_shape)] + list(net.layers),
                      input_shape=len(pixels))


def test_digits_cnn_regions_near_a_test_digit(digits):
    model, images = digits
    net = pr.Network.from_torch(model, (1, 8, 8))
    sliced = slice_network(net, images[DIGIT].reshape(-1).astype(float), PIXELS)
    ball = pr.Ball(np.zeros(len(PIXELS)), RADIUS, p=np.inf)
    regions = {tuple(r.bits) for r in pr.enumerate_regions(sliced, ball)}
    assert len(regions) > 10
    assert pr.count_regions(sliced, ball, backend="highs").count == len(regions)
    t = np.random.default_rng(5).uniform(-RADIUS, RADIUS, size=(50000, len(PIXELS)))
    assert {tuple(p) for p in sliced.pattern(t)} <= regions


def test_digits_cnn_round_trips_through_files(digits, tmp_path):
    model, _ = digits
    net = pr.Network.from_torch(model, (1, 8, 8))
    x = np.random.default_rng(6).uniform(0, 1, size=(20, 64))
    for name in ("cnn.json", "cnn.npz"):
        pr.io.save_network(net, tmp_path / name)
        back = pr.io.load_network(tmp_path / name)
        assert [type(layer) for layer in back.layers] == [type(layer) for layer in net.layers]
        assert np.array_equal(back.forward(x), net.forward(x))


def test_pickles_need_trust_and_exported_programs_load(tmp_path, capsys):
    from polyregions.cli.main import main

    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 4), nn.LeakyReLU(0.1), nn.Linear(4, 3), nn.ReLU()).eval()
    pickled = tmp_path / "model.pt"
    torch.save(model, pickled)
    assert main(["count", str(pickled), "--box", "-1", "1", "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "--trust-pickle" in err and "Traceback" not in err
    assert main(["count", str(pickled), "--box", "-1", "1", "--workers", "1", "--trust-pickle", "--json"]) == 0
    capsys.readouterr()
    exported = tmp_path / "model.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(1, 2),)), exported)
    net = pr.io.load_network(exported)
    x = np.random.default_rng(7).normal(size=(100, 2))
    assert np.abs(net.forward(x) - torch_forward(model, x, (2,))).max() <= 1e-9
    assert [layer.negative_slope for layer in net.layers] == [pytest.approx(0.1), 0.0]


def test_the_readme_torch_block_runs(tmp_path, monkeypatch):
    import pathlib
    import re

    readme = (pathlib.Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "from_torch" in b)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)  # noqa: S102 - the project's own README
    net = pr.io.load_network(tmp_path / "model.json")
    assert namespace["count"] == pr.count_regions(net, pr.Box([-1, -1], [1, 1])).count >= 1
