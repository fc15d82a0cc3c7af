# %% [markdown]
# # __ID__ · __TITLE__
#
# <!-- Scaffolded by `torchcourse new`. Rewrite every paragraph and keep the structure:
#      docs/authoring.md lists what the tests check. Delete these comments when done. -->
# One or two sentences on why this chapter matters: what you can do after it that you could
# not do before.
#
# **Objectives.** By the end of this lesson you can:
#
# __OBJECTIVES__
#
# **Prerequisites:** __PREREQUISITES__ ·
# **Time:** about __MINUTES__ minutes ·
# **Designed for:** the CPU or any accelerator (CUDA, MPS, XPU)

# %% [markdown]
# ## Setup
#
# Every lesson starts the same way: import PyTorch and the course helpers, then pick a device.
# `pick_device()` returns the accelerator PyTorch finds (`torch.accelerator`: CUDA, MPS or XPU)
# and the CPU otherwise.

# %%
import torch

from torchcourse import check, hint, pick_device

device = pick_device()

# %% [markdown]
# ## 1. Data that prints the same on every machine
#
# <!-- One idea per section: a sentence or two of why, a small code cell, what to notice. -->
# Random numbers come from a seeded generator on the CPU and only then move to the device, so
# the values below are the same on a laptop and on a GPU server.

# %%
generator = torch.Generator().manual_seed(0)
x = torch.randint(0, 10, (2, 3), generator=generator).to(device)
print(x.shape, x.dtype)
print(x.cpu())

# %% [markdown]
# Notice the `.cpu()` in the last line: a tensor printed from the CPU never names its device,
# so the stored output does not depend on where the notebook ran.

# %% [markdown]
# ### Exercise 1: double a tensor
#
# <!-- State the task exactly; the check cell below calls the function you name here. -->
# Write `double(x)` returning a **new** tensor holding every element of `x` times two, with the
# same shape, dtype and device as `x`. Leave `x` itself unchanged.


# %%
def double(x):
    """Every element of x times two; same shape, dtype and device; x unchanged."""
    ### BEGIN SOLUTION
    return x * 2
    ### END SOLUTION


# %%
check("__ID__.ex1", double)

# %% [markdown]
# A failed check says what is wrong and gives a first hint; `hint("__ID__.ex1")` gives the next
# one, up to the code itself.

# %% [markdown]
# > **You will see this in older code**
# >
# > | Older code | Today | Why |
# > |---|---|---|
# > | `Variable(x)` | `x` | tensors record gradients themselves since PyTorch 0.4 |
# > | `loss.data[0]` | `loss.item()` | a 0-d tensor cannot be indexed; `.item()` returns a number |
# > | `size_average=False` | `reduction="sum"` | one argument names the reduction |
# > | `torch.FloatTensor(2, 3)` | `torch.zeros(2, 3)` | legacy constructors, uninitialised memory |
# > | `x.cuda()` | `x.to(device)` | one `device` chosen at the top runs everywhere |

# %% [markdown]
# ## Summary
#
# - Make random data on the CPU with a seeded `torch.Generator`, then move it to the device.
# - Print tensors with `.cpu()` so that outputs never name a device.
# - `x * 2` keeps the dtype of an integer tensor; `x * 2.0` would turn it into floats.
#
# Next: back to the [list of chapters](../../README.md#chapters).
