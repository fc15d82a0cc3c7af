"""The shared nbval sanitize rules load (with nbval's own parser) and make devices agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from nbval.plugin import get_sanitize_patterns

CONFIG = Path(__file__).with_name("nbval_sanitize.cfg")
TEXT = CONFIG.read_text(encoding="utf-8")
RULES = get_sanitize_patterns(TEXT)


def sanitize(text: str) -> str:
    """What nbval does to an output before comparing it."""
    for regex, replace in RULES:
        text = re.sub(regex, replace, text)
    return text


def test_every_section_gives_exactly_one_rule():
    sections = re.findall(r"^\[(.+)\]$", TEXT, re.MULTILINE)
    assert len(RULES) == len(sections) == 5, (
        f"{len(sections)} sections but nbval reads {len(RULES)} rules: a rule needs "
        "non-empty `regex: ` and `replace: ` lines"
    )


ACCELERATORS = ["cuda", "cuda:0", "cuda:3", "mps", "mps:0", "xpu", "xpu:1"]


# How torch prints a tensor on an accelerator: the device right after the values, before the
# dtype, grad_fn and requires_grad; `{dev}` stands for the device, and on the CPU it is absent.
REPRS = [
    "tensor([1., 2., 3.]{dev})",
    "tensor([1., 4., 9.]{dev}, grad_fn=<MulBackward0>)",
    "tensor([1., 2., 3.]{dev}, requires_grad=True)",
    "tensor(3.5000{dev})",
    "tensor([[1, 2],\n        [3, 4]]{dev})",
    "tensor([0.1000, 0.2000]{dev}, dtype=torch.float64)",
    "(tensor(2.{dev}), tensor([True, False]{dev}))",
]


@pytest.mark.parametrize("device", ACCELERATORS)
@pytest.mark.parametrize("template", REPRS)
def test_tensor_reprs_on_accelerators_sanitize_to_the_cpu_form(device, template):
    on_cpu, on_device = template.format(dev=""), template.format(dev=f", device='{device}'")
    assert sanitize(on_device) == on_cpu == sanitize(on_cpu)


@pytest.mark.parametrize("device", ["cuda", "mps", "xpu"])
def test_device_objects_sanitize_alike(device):
    cpu = "device(type='cpu')"
    for form in (f"device(type='{device}')", f"device(type='{device}', index=0)"):
        assert sanitize(form) == sanitize(cpu)


def test_a_cpu_tensor_is_left_as_it_is():
    text = "tensor([1., 2.]) on the cpu, device='cpu'"
    assert sanitize(text) == text


def test_writefile_reports_alike_whether_the_file_existed():
    for text in ("{} build/train_ddp.py\n", "before\n{} build/a.py\nafter\n"):
        assert sanitize(text.format("Overwriting")) == sanitize(text.format("Writing"))
