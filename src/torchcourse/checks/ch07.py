"""Checks for chapter 07, Case study: LeNet on MNIST."""

import torch
import torch.nn.functional as F
from torch import nn

from torchcourse import lenet
from torchcourse.checks.core import Mismatch, exercise
from torchcourse.checks.doubles import RecordingClassifier
from torchcourse.checks.expect import call, call_leaving_inputs, expect_tensor, kind_of
from torchcourse.i18n import N_, _


def _uint8_images(*shape, seed=7):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, generator=generator, dtype=torch.uint8)


@exercise(
    "07.ex1",
    hints=[
        N_(
            "do what ToTensor and then Normalize do to one image, in the same order, to all "
            "images at once: scale the 0..255 integers to floats in [0, 1], standardise them, "
            "and give every image its one channel."
        ),
        N_(
            "convert to float before dividing by 255 (integer division would lose everything), "
            "subtract the mean 0.1307, divide by the standard deviation 0.3081, and insert the "
            "channel dimension at position 1 to get (N, 1, H, W)."
        ),
        N_("return ((images.float() / 255 - 0.1307) / 0.3081).unsqueeze(1)"),
    ],
)
def _normalize(answer):
    for shape in [(5, 28, 28), (1, 28, 28), (3, 4, 6)]:
        images = _uint8_images(*shape)
        want = lenet.normalize(images)
        got = call_leaving_inputs(answer, images, names=("images",))
        expect_tensor(
            got, want, _("normalize of uint8 images of shape {shape}").format(shape=shape)
        )
    return _("uint8 (N, H, W) becomes standardised float32 (N, 1, H, W).")


def _eval_data(n, correct):
    """n random images whose first `correct` labels are the model's eval-mode predictions."""
    generator = torch.Generator().manual_seed(5)
    images = torch.randn(n, 1, 28, 28, generator=generator)
    model = RecordingClassifier().eval()
    with torch.no_grad():
        predicted = model(images).argmax(1)
    labels = (predicted + 1) % 10
    right = torch.randperm(n, generator=generator)[:correct]
    labels[right] = predicted[right]
    return images, labels


def _expect_how_it_was_called(calls, n, batch_size):
    """evaluate must run the model in eval mode, without a graph, batch_size images at most."""
    if not calls:
        raise Mismatch(_("the model was never called: run model(batch) on the images"))
    if any(training for _size, training, _grad in calls):
        raise Mismatch(
            _(
                "the model ran in training mode, so dropout changed its answers: switch it "
                "to evaluation mode before predicting"
            ),
            hint=N_(
                "a model keeps the mode it was last put in, and the caller may have left it "
                "training; dropout then drops units at random, even while you only predict."
            ),
        )
    if any(grad for _size, _training, grad in calls):
        raise Mismatch(
            _(
                "the forward passes recorded a graph for autograd: wrap them in "
                "torch.no_grad() (nothing is trained here, and it saves memory)"
            ),
            hint=N_(
                "autograd records every forward pass unless told not to, keeping each batch's "
                "intermediate results for a backward pass that evaluation never runs."
            ),
        )
    biggest = max(size for size, _training, _grad in calls)
    if biggest > batch_size:
        raise Mismatch(
            _(
                "the model saw {seen} images at once with batch_size={batch_size}: feed it "
                "slices of batch_size images"
            ).format(seen=biggest, batch_size=batch_size)
        )
    seen = sum(size for size, _training, _grad in calls)
    if seen != n:
        raise Mismatch(
            _(
                "the model saw {seen} of the {n} images: every image counts, the last, "
                "smaller batch too"
            ).format(seen=seen, n=n),
            hint=N_(
                "n images in slices of batch_size leave a smaller slice at the end whenever "
                "batch_size does not divide n; a range with a step covers it."
            ),
        )


def _expect_fraction(got, correct, n, batch_size):
    """got must be the Python float correct / n."""
    want = correct / n
    if isinstance(got, torch.Tensor):
        raise Mismatch(_("evaluate returned a tensor: return a Python float (use .item())"))
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        raise Mismatch(
            _("evaluate returned {kind}, expected a float in [0, 1]").format(kind=kind_of(got))
        )
    if got == correct:
        raise Mismatch(
            _(
                "evaluate returned {got}, the number of correct predictions: divide by the "
                "number of images"
            ).format(got=got),
            hint=N_("an accuracy is a fraction: the correct predictions out of all the images."),
        )
    if abs(got - 100 * want) < 1e-3:
        raise Mismatch(
            _("evaluate returned {got:.2f}, a percentage: return the fraction").format(got=got)
        )
    if abs(got - want) > 1e-6:
        raise Mismatch(
            _(
                "evaluate returned {got:.4f} for {n} images with batch_size={batch_size}, "
                "expected {want:.4f}"
            ).format(got=got, n=n, batch_size=batch_size, want=want)
        )


@exercise(
    "07.ex2",
    hints=[
        N_(
            "three things matter: the model must be in evaluation mode, no graph may be "
            "recorded, and the images go through the model in slices of at most batch_size "
            "(the last slice may be shorter); then count the right answers."
        ),
        N_(
            "Go through the images a slice of batch_size at a time (the last slice may be shorter),"
            " predict the class with the largest score, count the matches as a Python number, and "
            "divide by the number of images once, at the end."
        ),
        N_(
            "model.eval(), then under `with torch.no_grad():` loop `for start in range(0, "
            "len(images), batch_size):` with `logits = model(images[start:start + "
            "batch_size])` and `correct += (logits.argmax(1) == labels[start:start + "
            "batch_size]).sum().item()`; finally `return correct / len(images)`."
        ),
    ],
)
def _evaluate(answer):
    for n, correct, batch_size in [(2500, 1734, 1000), (50, 13, 7)]:
        images, labels = _eval_data(n, correct)
        model = RecordingClassifier().train()
        got = call_leaving_inputs(
            answer,
            model,
            images,
            labels,
            batch_size,
            names=("model", "images", "labels", "batch_size"),
        )
        _expect_how_it_was_called(model.calls, n, batch_size)
        _expect_fraction(got, correct, n, batch_size)
    return _("eval mode, no graph, batch by batch, the last partial batch included.")


# LeNet-5, layer by layer: the shape of each parameter and the layer it belongs to.
_LENET5_SHAPES = {
    (6, 1, 5, 5): N_("conv1's weight (1 channel in, 6 out, 5x5 kernels)"),
    (6,): N_("conv1's bias"),
    (16, 6, 5, 5): N_("conv2's weight (6 channels in, 16 out, 5x5 kernels)"),
    (16,): N_("conv2's bias"),
    (120, 400): N_("fc1's weight (16*5*5 = 400 inputs, 120 outputs)"),
    (120,): N_("fc1's bias"),
    (84, 120): N_("fc2's weight (120 -> 84)"),
    (84,): N_("fc2's bias"),
    (10, 84): N_("fc3's weight (84 -> 10)"),
    (10,): N_("fc3's bias"),
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


def _build(answer) -> nn.Module:
    """The module the learner's class builds."""
    if isinstance(answer, nn.Module):
        raise Mismatch(_("got a model instance: pass the class itself, LeNet5, not LeNet5()"))
    model = call(answer)
    if not isinstance(model, nn.Module):
        raise Mismatch(
            _("{name}() should build an nn.Module, got {kind}: subclass nn.Module").format(
                name=getattr(answer, "__name__", "it"), kind=kind_of(model)
            )
        )
    return model


def _expect_lenet5_parameters(params) -> None:
    shapes = sorted(tuple(p.shape) for p in params)
    for shape, layer in _LENET5_SHAPES.items():
        if shape not in shapes:
            raise Mismatch(
                _("no parameter has shape {shape}, the shape of {layer}").format(
                    shape=shape, layer=_(layer)
                )
            )
    count = sum(p.numel() for p in params)
    if count != 61_706:
        raise Mismatch(
            _(
                "the model has {count:,} parameters, expected 61,706: it holds layers LeNet-5 "
                "does not have"
            ).format(count=count)
        )


def _name_the_difference(got, x, reference) -> Mismatch:
    """The mistake whose output got matches, as a Mismatch to raise."""
    ref = list(reference.parameters())
    variants = [
        (
            {"activation": lambda t: t},
            _(
                "the model has no activation function: put a ReLU after each convolution "
                "and each hidden linear layer"
            ),
        ),
        (
            {"activation": lambda t: F.relu(t) if t.ndim == 4 else t},
            _("the linear layers fc1 and fc2 need a ReLU after them too"),
        ),
        (
            {"activation": torch.tanh},
            _(
                "the activation is tanh, as in the LeNet-5 of 1998: this chapter's modern "
                "LeNet-5 uses ReLU"
            ),
        ),
        (
            {"pool": F.avg_pool2d},
            _("average pooling: LeNet-5 here uses max pooling (F.max_pool2d(x, 2))"),
        ),
    ]
    for changes, message in variants:
        if torch.allclose(got, _variant(x, ref, **changes), atol=1e-5):
            return Mismatch(message)
    n = len(x)
    if torch.allclose(got.sum(1), torch.ones(n), atol=1e-4) or torch.allclose(
        got.exp().sum(1), torch.ones(n), atol=1e-4
    ):
        return Mismatch(
            _(
                "the outputs are (log-)probabilities: return the raw scores of fc3; "
                "F.cross_entropy applies log-softmax itself"
            ),
            hint=N_(
                "the loss this model trains with turns scores into probabilities itself; a "
                "model that does it too applies the softmax twice."
            ),
        )
    return Mismatch(
        _(
            "with LeNet-5's weights copied in, the outputs differ from LeNet-5's: check the "
            "order convolution, ReLU, pooling, and that fc3's output is returned as it is"
        )
    )


@exercise(
    "07.ex3",
    hints=[
        N_(
            "create the five layers in __init__ (that is where their parameters are made and "
            "registered) and use them in forward; the statement gives every size: 1 -> 6 -> "
            "16 channels with 5x5 kernels, then 400 -> 120 -> 84 -> 10."
        ),
        N_(
            "only conv1 needs padding=2 (so 28x28 stays 28x28). forward: convolution, ReLU, "
            "2x2 max pooling, twice; flatten everything but the batch dimension; fc1 and fc2 "
            "each followed by a ReLU; fc3's output is returned without any activation."
        ),
        N_(
            "__init__: self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2), self.conv2 = "
            "nn.Conv2d(6, 16, kernel_size=5), self.fc1 = nn.Linear(400, 120), self.fc2 = "
            "nn.Linear(120, 84), self.fc3 = nn.Linear(84, 10). forward: x = "
            "F.max_pool2d(F.relu(self.conv1(x)), 2), the same with conv2, x = "
            "torch.flatten(x, 1), x = F.relu(self.fc1(x)), x = F.relu(self.fc2(x)), "
            "return self.fc3(x)."
        ),
    ],
)
def _lenet5(answer):
    model = _build(answer)
    params = list(model.parameters())
    _expect_lenet5_parameters(params)
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
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else kind_of(got)
            raise Mismatch(
                _(
                    "for {n} image(s) of shape (1, 28, 28) the output is {shape}, expected "
                    "({n}, 10): one row of 10 scores per image"
                ).format(n=n, shape=shape)
            )
        if not torch.allclose(got, want, atol=1e-5):
            raise _name_the_difference(got, x, reference)
    _expect_flatten_keeps_the_batch(model)
    return _("61,706 parameters in the right shapes, and the same outputs as LeNet-5.")


def _expect_flatten_keeps_the_batch(model) -> None:
    """One 28x48 image gives 800 features after conv2: flatten(x, 1) makes fc1 fail on it,
    a view(-1, 400) makes 2 rows of it, a batch size that silently changed."""
    x = torch.randn(1, 1, 28, 48, generator=torch.Generator().manual_seed(7))
    try:
        with torch.no_grad():
            got = model(x)
    except Exception:  # the size mismatch surfaces as an error, as it should
        return
    if isinstance(got, torch.Tensor) and got.ndim >= 1 and got.shape[0] != 1:
        raise Mismatch(
            _(
                "for 1 image of 28x48 pixels your forward returns {rows} rows: the flattening "
                "merged the batch dimension with the features (view(-1, 400) does that when an "
                "image has more than 400 features); flatten everything but the batch dimension, "
                "so a wrong image size fails instead of changing the batch size"
            ).format(rows=got.shape[0]),
            hint=N_(
                "a -1 in a reshape takes whatever size is left over, so it can silently take "
                "it from the batch; say which dimension stays, the first, and let the rest be "
                "merged into one."
            ),
        )


def _confusion_cases():
    generator = torch.Generator().manual_seed(2)
    return [
        (
            torch.randint(0, 10, (500,), generator=generator),
            torch.randint(0, 10, (500,), generator=generator),
            10,
        ),
        (torch.tensor([0, 2, 2, 1, 0, 2]), torch.tensor([0, 2, 1, 1, 0, 0]), 4),
        (torch.tensor([2]), torch.tensor([1]), 3),
    ]


@exercise(
    "07.ex4",
    hints=[
        N_(
            "every sample adds 1 to exactly one cell: the row of its true label and the "
            "column of its prediction; a pair that occurs five times must add 5, and classes "
            "that never occur still get their row and column of zeros."
        ),
        N_(
            "a Python loop over the samples that adds 1 to a cell works; without a loop, "
            "think of each (true, predicted) pair as one number among num_classes² and count "
            "how often each occurs, unseen ones included. Mind which index is the row."
        ),
        N_(
            "return torch.bincount(labels * num_classes + predictions, minlength=num_classes "
            "* num_classes).reshape(num_classes, num_classes)"
        ),
    ],
)
def _confusion_matrix(answer):
    for predictions, labels, num_classes in _confusion_cases():
        want = lenet.confusion_matrix(predictions, labels, num_classes)
        what = _("confusion_matrix of {n} predictions, num_classes={classes}").format(
            n=len(labels), classes=num_classes
        )
        got = call_leaving_inputs(
            answer, predictions, labels, num_classes, names=("predictions", "labels", "num_classes")
        )
        same_shape = (
            isinstance(got, torch.Tensor) and got.shape == want.shape and got.device.type != "meta"
        )
        if same_shape and want.max() > 1 and bool((got <= 1).all()):
            raise Mismatch(
                _(
                    "{what} holds no count above 1: `matrix[labels, predictions] += 1` adds "
                    "repeated pairs only once"
                ).format(what=what)
            )
        if same_shape and torch.equal(got.long().cpu(), want.T) and not torch.equal(want, want.T):
            raise Mismatch(
                _("{what} is transposed: rows are the true labels, columns the predictions").format(
                    what=what
                )
            )
        expect_tensor(got, want, what)
    return _("rows are true labels, columns predictions, int64 counts.")


# 07.ex5, a Dataset of one's own (appended after the other checks).
from torch.utils.data import DataLoader  # noqa: E402

from torchcourse.checks.expect import expect_unchanged, snapshot  # noqa: E402


def _digits_data():
    """Seven random uint8 images of 5x6 pixels, their int64 labels, and a transform."""
    images = _uint8_images(7, 5, 6, seed=11)
    labels = torch.randint(0, 10, (7,), generator=torch.Generator().manual_seed(12))

    def transform(image):
        return (image.float() / 255).unsqueeze(0)

    return images, labels, transform


def _expect_label(label, want, index):
    what = _("the label of dataset[{index}]").format(index=index)
    integer_tensor = (
        isinstance(label, torch.Tensor) and label.ndim == 0 and not label.is_floating_point()
    )
    if not (integer_tensor or (isinstance(label, int) and not isinstance(label, bool))):
        raise Mismatch(
            _(
                "{what} should be a Python int (a 0-d integer tensor also works), got {kind}: "
                "a DataLoader then stacks the labels into the int64 tensor cross_entropy expects"
            ).format(what=what, kind=kind_of(label))
        )
    if int(label) != want:
        raise Mismatch(
            _("{what} is {got}, expected {want}: take labels[index]").format(
                what=what, got=int(label), want=want
            )
        )


def _expect_sample(sample, image, label, index, transformed):
    if not isinstance(sample, (tuple, list)) or len(sample) != 2:
        raise Mismatch(
            _("dataset[{index}] should be a pair (image, label), got {kind}").format(
                index=index, kind=kind_of(sample)
            )
        )
    got_image, got_label = sample
    if (
        transformed is not None
        and isinstance(got_image, torch.Tensor)
        and got_image.shape == image.shape
        and torch.equal(got_image.cpu(), image)
    ):
        raise Mismatch(
            _(
                "dataset[{index}] returned the image unchanged: pass it through the transform "
                "when one is given"
            ).format(index=index)
        )
    want = image if transformed is None else transformed
    expect_tensor(got_image, want, _("the image of dataset[{index}]").format(index=index))
    _expect_label(got_label, int(label), index)


@exercise(
    "07.ex5",
    hints=[
        N_(
            "a map-style Dataset answers two questions: how many samples there are (len) and "
            "what sample number index is (dataset[index]); the DataLoader asks both and does "
            "the batching itself."
        ),
        N_(
            "__init__ only stores images, labels and transform; __len__ returns the number of "
            "images; __getitem__ takes images[index], applies the transform only when it is "
            "not None, and returns it with int(labels[index])."
        ),
        N_(
            "def __len__(self): return len(self.images). def __getitem__(self, index): image "
            "= self.images[index]; if self.transform is not None: image = "
            "self.transform(image); return image, int(self.labels[index])"
        ),
    ],
)
def _digits_dataset(answer):
    images, labels, transform = _digits_data()
    transformed = [transform(image) for image in images]
    stacked = torch.stack(transformed)
    before = [snapshot(images), snapshot(labels)]
    dataset = call(answer, images, labels, transform)
    try:
        size = len(dataset)
    except TypeError as err:
        raise Mismatch(_("len(dataset) failed: define __len__")) from err
    if size != len(images):
        raise Mismatch(
            _("len(dataset) is {got}, expected {want}: one sample per image").format(
                got=size, want=len(images)
            )
        )
    for index in range(len(images)):
        _expect_sample(dataset[index], images[index], labels[index], index, transformed[index])
    plain = call(answer, images, labels)
    for index in (0, len(images) - 1):
        _expect_sample(plain[index], images[index], labels[index], index, None)
    loader = DataLoader(dataset, batch_size=3)
    batches = list(loader)
    sizes = [len(y) for _x, y in batches]
    if sizes != [3, 3, 1]:
        raise Mismatch(
            _("a DataLoader with batch_size=3 gave batches of {got}, expected [3, 3, 1]").format(
                got=sizes
            )
        )
    expect_tensor(
        torch.cat([x for x, _y in batches]),
        stacked,
        _("the images a DataLoader stacks from your dataset"),
    )
    expect_tensor(
        torch.cat([y for _x, y in batches]),
        labels,
        _("the labels a DataLoader stacks from your dataset"),
    )
    for name, value, old in zip(("images", "labels"), (images, labels), before):
        expect_unchanged(value, old, name)
    return _("len, indexing and the transform are right, and a DataLoader batches it.")
