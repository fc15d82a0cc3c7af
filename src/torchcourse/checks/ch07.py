"""Checks for chapter 07, Case study: LeNet on MNIST."""

import torch
import torch.nn.functional as F
from torch import nn

from torchcourse import lenet
from torchcourse.checks.core import Mismatch, exercise
from torchcourse.checks.expect import call, expect_tensor
from torchcourse.i18n import N_


def _uint8_images(*shape, seed=7):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, generator=generator, dtype=torch.uint8)


@exercise(
    "07.ex1",
    hints=[
        N_(
            "images.float() / 255 gives [0, 1]; subtract 0.1307, divide by 0.3081, "
            "then .unsqueeze(1) adds the channel dimension."
        )
    ],
)
def _normalize(answer):
    for shape in [(5, 28, 28), (1, 28, 28), (3, 4, 6)]:
        images = _uint8_images(*shape)
        got = call(answer, images.clone())
        expect_tensor(got, lenet.normalize(images), f"normalize of uint8 images {shape}")
    return "uint8 (N, H, W) becomes standardised float32 (N, 1, H, W)."


class _Recorder(nn.Module):
    """A fixed classifier with dropout that records how evaluate called it."""

    def __init__(self):
        super().__init__()
        generator = torch.Generator().manual_seed(11)
        self.linear = nn.Linear(784, 10)
        with torch.no_grad():
            self.linear.weight.copy_(torch.randn(10, 784, generator=generator) / 28)
            self.linear.bias.zero_()
        self.dropout = nn.Dropout(0.9)
        self.calls = []

    def forward(self, x):
        self.calls.append((len(x), self.training, torch.is_grad_enabled()))
        return self.dropout(self.linear(x.flatten(1)))


def _eval_data(n, correct):
    """n random images whose first `correct` labels are the model's eval-mode predictions."""
    generator = torch.Generator().manual_seed(5)
    images = torch.randn(n, 1, 28, 28, generator=generator)
    model = _Recorder().eval()
    with torch.no_grad():
        predicted = model(images).argmax(1)
    labels = (predicted + 1) % 10
    right = torch.randperm(n, generator=generator)[:correct]
    labels[right] = predicted[right]
    return images, labels


@exercise(
    "07.ex2",
    hints=[
        N_(
            "model.eval(), then under torch.no_grad() loop over slices "
            "images[i:i + batch_size], count (logits.argmax(1) == labels).sum().item() and divide "
            "by len(images) at the end."
        )
    ],
)
def _evaluate(answer):
    for n, correct, batch_size in [(2500, 1734, 1000), (50, 13, 7)]:
        images, labels = _eval_data(n, correct)
        model = _Recorder().train()
        got = call(answer, model, images, labels, batch_size)
        want = correct / n
        if any(training for _, training, _ in model.calls):
            raise Mismatch(
                "the model ran in training mode, so dropout changed its answers: call "
                "model.eval() before predicting."
            )
        if any(grad for _, _, grad in model.calls):
            raise Mismatch(
                "the forward passes recorded a graph for autograd: wrap them in "
                "torch.no_grad() (nothing is trained here, and it saves memory)."
            )
        if not model.calls:
            raise Mismatch("the model was never called: run model(batch) on the images.")
        if max(size for size, _, _ in model.calls) > batch_size:
            raise Mismatch(
                f"the model saw {max(s for s, _, _ in model.calls)} images at once "
                f"with batch_size={batch_size}: feed it slices of batch_size images."
            )
        if sum(size for size, _, _ in model.calls) != n:
            seen = sum(size for size, _, _ in model.calls)
            raise Mismatch(
                f"the model saw {seen} of the {n} images: the last, smaller batch counts too."
            )
        if isinstance(got, torch.Tensor):
            raise Mismatch("evaluate returned a tensor: return a Python float with .item().")
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            raise Mismatch(f"evaluate returned {type(got).__name__}, expected a float in [0, 1].")
        if got == correct:
            raise Mismatch(
                f"evaluate returned {got}, the number of correct predictions: divide "
                "by the number of images."
            )
        if abs(got - 100 * want) < 1e-3:
            raise Mismatch(f"evaluate returned {got:.2f}, a percentage: return the fraction.")
        if abs(got - want) > 1e-6:
            raise Mismatch(
                f"evaluate returned {got:.4f} for {n} images with batch_size="
                f"{batch_size}, expected {want:.4f}."
            )
    return "eval mode, no graph, batch by batch, the last partial batch included."


# LeNet-5, layer by layer: the shape of each parameter and the layer it belongs to.
_LENET5_SHAPES = {
    (6, 1, 5, 5): "conv1's weight (1 channel in, 6 out, 5x5 kernels)",
    (6,): "conv1's bias",
    (16, 6, 5, 5): "conv2's weight (6 channels in, 16 out, 5x5 kernels)",
    (16,): "conv2's bias",
    (120, 400): "fc1's weight (16*5*5 = 400 inputs, 120 outputs)",
    (120,): "fc1's bias",
    (84, 120): "fc2's weight (120 -> 84)",
    (84,): "fc2's bias",
    (10, 84): "fc3's weight (84 -> 10)",
    (10,): "fc3's bias",
}


def _variant(x, params, activation=F.relu, pool=F.max_pool2d, final=None):
    """LeNet-5's forward with a changed activation, pooling or output, to name a mistake."""
    w1, b1, w2, b2, w3, b3, w4, b4, w5, b5 = params
    x = pool(activation(F.conv2d(x, w1, b1, padding=2)), 2)
    x = pool(activation(F.conv2d(x, w2, b2)), 2)
    x = activation(F.linear(x.flatten(1), w3, b3))
    x = F.linear(activation(F.linear(x, w4, b4)), w5, b5)
    return final(x) if final else x


def _lenet_inputs(n):
    generator = torch.Generator().manual_seed(3)
    return torch.randn(n, 1, 28, 28, generator=generator)


@exercise(
    "07.ex3",
    hints=[
        N_(
            "conv1 = Conv2d(1, 6, 5, padding=2), conv2 = Conv2d(6, 16, 5), then "
            "Linear 400->120->84->10; ReLU after every layer but the last, 2x2 max pooling after "
            "each convolution, and return raw scores."
        )
    ],
)
def _lenet5(answer):
    if isinstance(answer, nn.Module):
        raise Mismatch("got a model instance: pass the class itself, LeNet5, not LeNet5().")
    model = call(answer)
    if not isinstance(model, nn.Module):
        raise Mismatch(
            f"{getattr(answer, '__name__', 'it')}() should build an nn.Module, got "
            f"{type(model).__name__}: subclass nn.Module."
        )
    params = list(model.parameters())
    shapes = sorted(tuple(p.shape) for p in params)
    for shape, layer in _LENET5_SHAPES.items():
        if shape not in shapes:
            raise Mismatch(f"no parameter has shape {shape}, the shape of {layer}.")
    count = sum(p.numel() for p in params)
    if count != 61_706:
        raise Mismatch(
            f"the model has {count:,} parameters, expected 61,706: it holds layers "
            "LeNet-5 does not have."
        )
    # Copy a seeded reference's weights in, matched by shape (all ten shapes differ).
    torch.manual_seed(0)
    reference = lenet.LeNet5().eval()
    by_shape = {tuple(p.shape): p for p in reference.parameters()}
    with torch.no_grad():
        for p in params:
            p.copy_(by_shape[tuple(p.shape)])
    model.eval()
    for n in (4, 1):
        x = _lenet_inputs(n)
        with torch.no_grad():
            got = model(x)
            want = reference(x)
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != (n, 10):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise Mismatch(
                f"for {n} image(s) of shape (1, 28, 28) the output is {shape}, "
                f"expected ({n}, 10): one row of 10 scores per image."
            )
        if torch.allclose(got, want, atol=1e-5):
            continue
        ref = list(reference.parameters())
        named = [
            (
                lambda t: t,
                "the model has no activation function: put F.relu after each "
                "convolution and hidden linear layer.",
            ),
            (
                lambda t: F.relu(t) if t.ndim == 4 else t,
                "the linear layers fc1 and fc2 need a ReLU after them too.",
            ),
            (None, "average pooling: LeNet-5 here uses max pooling (F.max_pool2d(x, 2))."),
        ]
        for activation, message in named:
            kwargs = {"pool": F.avg_pool2d} if activation is None else {"activation": activation}
            if torch.allclose(got, _variant(x, ref, **kwargs), atol=1e-5):
                raise Mismatch(message)
        if torch.allclose(got.sum(1), torch.ones(n), atol=1e-4) or torch.allclose(
            got.exp().sum(1), torch.ones(n), atol=1e-4
        ):
            raise Mismatch(
                "the outputs are (log-)probabilities: return the raw scores of fc3; "
                "F.cross_entropy applies log-softmax itself."
            )
        raise Mismatch(
            "with LeNet-5's weights copied in, the outputs differ from LeNet-5's: "
            "check the order conv, ReLU, pool and that fc3's output is returned as is."
        )
    return "61,706 parameters in the right shapes, and the same outputs as LeNet-5."


@exercise(
    "07.ex4",
    hints=[
        N_(
            "count each (label, prediction) pair: torch.bincount(labels * "
            "num_classes + predictions, minlength=num_classes**2)"
            ".reshape(num_classes, num_classes)."
        )
    ],
)
def _confusion_matrix(answer):
    generator = torch.Generator().manual_seed(2)
    cases = [
        (
            torch.randint(0, 10, (500,), generator=generator),
            torch.randint(0, 10, (500,), generator=generator),
            10,
        ),
        (torch.tensor([0, 2, 2, 1, 0, 2]), torch.tensor([0, 2, 1, 1, 0, 0]), 4),
        (torch.tensor([2]), torch.tensor([1]), 3),
    ]
    for predictions, labels, num_classes in cases:
        want = lenet.confusion_matrix(predictions, labels, num_classes)
        got = call(answer, predictions.clone(), labels.clone(), num_classes)
        what = f"confusion_matrix of {len(labels)} predictions, num_classes={num_classes}"
        if (
            isinstance(got, torch.Tensor)
            and got.shape == want.shape
            and want.max() > 1
            and bool((got <= 1).all())
        ):
            raise Mismatch(
                f"{what} holds no count above 1: `matrix[labels, predictions] += 1` "
                "adds repeated pairs only once."
            )
        if (
            isinstance(got, torch.Tensor)
            and got.shape == want.shape
            and torch.equal(got.long().cpu(), want.T)
            and not torch.equal(want, want.T)
        ):
            raise Mismatch(
                f"{what} is transposed: rows are the true labels, columns the predictions."
            )
        expect_tensor(got, want, what)
    return "rows are true labels, columns predictions, int64 counts."
