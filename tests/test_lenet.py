"""torchcourse.lenet: the data split, the timing helpers and the compile path of chapter 07,
exercised on the CPU (the notebook's torch.compile row runs only on a GPU)."""

from __future__ import annotations

import functools
import logging
import warnings

import pytest
import torch
from torch import nn
from torch.utils.data import random_split

from torchcourse import lenet, speed
from torchcourse.checks import yours_or_reference

TF32_HINT = (
    "TensorFloat32 tensor cores for float32 matrix multiplication available but not enabled. "
    "Consider setting `torch.set_float32_matmul_precision('high')` for better performance."
)


def _tiny_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 6 * 6, 10))


def _tiny_batches(n=8, batch_size=4):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n * batch_size, 1, 8, 8, generator=generator)
    y = torch.randint(0, 10, (n * batch_size,), generator=generator)
    return list(lenet.batches(x, y, batch_size, generator))


def test_split_indices_are_the_split_random_split_makes():
    train, valid = lenet.split_indices(100, valid=7, seed=3)
    a, b = random_split(range(100), [93, 7], generator=torch.Generator().manual_seed(3))
    assert train.tolist() == a.indices and valid.tolist() == b.indices
    assert sorted(train.tolist() + valid.tolist()) == list(range(100))


def test_mnist_split_holds_out_validation_images_from_the_training_set():
    train_x, train_y, valid_x, valid_y, test_x, test_y = lenet.mnist_split()
    assert (len(train_x), len(valid_x), len(test_x)) == (55_000, 5_000, 10_000)
    assert train_x.shape[1:] == (1, 28, 28) and train_x.dtype == torch.float32
    all_x, _ = lenet.mnist_tensors(train=True)
    _, valid = lenet.split_indices()
    assert torch.equal(valid_x, all_x[valid])
    assert len(train_y) + len(valid_y) == 60_000 and len(test_y) == 10_000


def test_time_to_accuracy_reports_validation_and_test_accuracy():
    data = lenet.mnist_split()
    result = lenet.time_to_accuracy(lenet.FAST.with_(epochs=0.01), data=data)
    assert set(result) == {"seconds", "valid_accuracy", "accuracy"}
    assert result["seconds"] > 0 and 0 <= result["valid_accuracy"] <= 1


def test_timed_steps_times_the_steps_after_the_warm_up_in_samples():
    warmup_seconds, timed = lenet.timed_steps(
        _tiny_model(), _tiny_batches(8), "cpu", n_batches=5, warmup=3, samples=2
    )
    assert warmup_seconds > 0
    assert [images for images, _ in timed] == [2 * 4, 3 * 4]  # 5 steps of 4 images: 2 + 3
    assert all(seconds > 0 for _, seconds in timed)


def test_timed_steps_says_when_the_batches_run_out():
    with pytest.raises(ValueError, match="fewer than 3 \\+ 20 batches"):
        lenet.timed_steps(_tiny_model(), _tiny_batches(8), "cpu", n_batches=20, warmup=3)


def test_timed_steps_takes_at_most_one_sample_per_step():
    _, timed = lenet.timed_steps(_tiny_model(), _tiny_batches(8), "cpu", n_batches=2, samples=5)
    assert [images for images, _ in timed] == [4, 4]
    with pytest.raises(ValueError, match="must be at least 1"):
        lenet.timed_steps(_tiny_model(), _tiny_batches(8), "cpu", n_batches=2, samples=0)


def test_images_per_second_is_the_median_of_the_samples(monkeypatch):
    """One sample slowed by another program moves the median, not the result, much."""
    timed = [(40, 1.0), (40, 0.5), (40, 10.0)]  # 40, 80 and 4 images per second
    monkeypatch.setattr(lenet, "timed_steps", lambda *args: (0.1, timed))
    assert lenet.images_per_second(_tiny_model(), [], "cpu") == 40


def test_images_per_second_with_bfloat16_autocast_trains_the_float32_model():
    model = _tiny_model()
    before = model[0].weight.detach().clone()
    speed = lenet.images_per_second(model, _tiny_batches(6), "cpu", 3, 2, torch.bfloat16)
    assert speed > 0
    assert model[0].weight.dtype == torch.float32 and not torch.equal(model[0].weight, before)


def test_the_compile_path_runs_on_the_cpu_with_the_eager_backend():
    """The notebook's torch.compile row, run as on a GPU but with Dynamo's eager backend."""
    model = _tiny_model()
    before = model[0].weight.detach().clone()
    compile_fn = functools.partial(torch.compile, backend="eager")
    speed, warmup_seconds = lenet.compiled_speed(model, _tiny_batches(8), "cpu", 5, 3, compile_fn)
    assert speed > 0 and warmup_seconds > 0
    assert not torch.equal(model[0].weight, before), "the compiled model shares its weights"


def _hinting_compile(model):
    """A stand-in for torch.compile that gives Inductor's TF32 hint both ways it has."""
    warnings.warn(TF32_HINT, UserWarning, stacklevel=2)
    logging.getLogger("torch._inductor.compile_fx").warning(TF32_HINT)
    return model


def test_the_tf32_hint_is_held_back_and_the_logger_restored(capfd):
    logger = logging.getLogger("torch._inductor")
    level = logger.level
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lenet.compiled_speed(_tiny_model(), _tiny_batches(8), "cpu", 5, 3, _hinting_compile)
    assert not [w for w in caught if "TensorFloat32" in str(w.message)]
    assert "TensorFloat32" not in capfd.readouterr().err
    assert logger.level == level


def test_sync_on_the_cpu_waits_for_nothing():
    lenet.sync("cpu")
    lenet.sync(torch.device("cpu"))


def test_yours_or_reference_trains_a_passing_class_and_falls_back_otherwise():
    class Stub(nn.Module):
        def __init__(self):
            super().__init__()
            raise NotImplementedError("07.ex3: replace this line with your code")

    class NoActivation(lenet.LeNet5):
        def forward(self, x):
            x = torch.flatten(self.conv2(self.conv1(x)[..., ::2, ::2])[..., ::2, ::2], 1)
            return self.fc3(self.fc2(self.fc1(x)))

    class Yours(lenet.LeNet5):
        pass

    assert yours_or_reference("07.ex3", Yours, lenet.LeNet5) == (Yours, True)
    assert yours_or_reference("07.ex3", Stub, lenet.LeNet5) == (lenet.LeNet5, False)
    assert yours_or_reference("07.ex3", NoActivation, lenet.LeNet5) == (lenet.LeNet5, False)


def test_the_reference_code_does_not_import_the_checks():
    """Layers point one way: the checks may use lenet.py, never the reverse."""
    import ast
    import inspect

    for module in (lenet, speed):
        tree = ast.parse(inspect.getsource(module))
        names = [
            alias.name if isinstance(node, ast.Import) else node.module or ""
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for alias in node.names
        ]
        assert not [n for n in names if n.startswith("torchcourse.checks")], module.__name__


def test_laid_out_puts_images_in_the_recipes_memory_order():
    images = torch.randn(4, 1, 8, 8)
    last = lenet.laid_out(images, lenet.Recipe(channels_last=True))
    assert torch.equal(last, images) and last.is_contiguous(memory_format=torch.channels_last)
    assert lenet.laid_out(images, lenet.Recipe()) is images


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_the_fused_optimizer_takes_the_same_step_as_the_plain_one(optimizer):
    steps = []
    for fused in (False, True):
        model = _tiny_model()
        recipe = lenet.Recipe(optimizer=optimizer, fused=fused)
        step = lenet.make_optimizer(model, recipe)
        x, y = _tiny_batches(1)[0]
        torch.nn.functional.cross_entropy(model(x), y).backward()
        step.step()
        steps.append(model[0].weight.detach())
    torch.testing.assert_close(steps[0], steps[1])
