"""A small neural-network library on stepgrad's engine.

micrograd-compatible ``Module``, ``Neuron``, ``Layer``, ``MLP``, plus losses, optimizers (first and
second order), toy data sets, a training loop, JSON persistence and PyTorch export; and microgpt's
GPT on scalars (``nn.gpt``; its training ``nn.gpt_train``, its views and demo ``nn.gpt_views``) with
the names data set and a character tokenizer (``nn.text``).

>>> from nn import MLP, fit, make_moons, SGD
>>> X, y = make_moons(100, noise=0.1, seed=0, signed=True)
>>> model = MLP(2, [16, 16, 1], seed=0)
>>> history = fit(model, X, y, loss="hinge", optimizer=SGD(model.parameters(), lr=0.1), epochs=5, progress=False)
"""

from .data import batches, make_blobs, make_circles, make_moons, make_spirals, make_xor
from .export import from_torch, to_torch
from .gpt import GPT, GPTConfig, document_loss, sample_names
from .gpt_train import GPTHistory, microgpt_adam, train_gpt
from .gpt_views import run_gpt_demo, step_graph
from .live import LiveTraining
from .losses import (
    bce_with_logits,
    cross_entropy,
    get_loss,
    half_squared_error,
    hinge,
    l2_penalty,
    log_softmax,
    mse,
    softmax,
)
from .module import MLP, Layer, Module, Neuron, read_state_file
from .optim import (
    SGD,
    Adam,
    AdamW,
    LevenbergMarquardt,
    Newton,
    Optimizer,
    Scheduler,
    constant,
    cosine_decay,
    exponential_decay,
    linear_decay,
    newton_step,
    solve_linear,
)
from .text import CharTokenizer, load_names
from .train import History, accuracy, fit, predict, predict_classes

__all__ = [
    "GPT",
    "CharTokenizer",
    "GPTConfig",
    "GPTHistory",
    "LiveTraining",
    "MLP",
    "SGD",
    "Adam",
    "AdamW",
    "History",
    "Layer",
    "LevenbergMarquardt",
    "Module",
    "Neuron",
    "Newton",
    "Optimizer",
    "Scheduler",
    "accuracy",
    "batches",
    "bce_with_logits",
    "constant",
    "cosine_decay",
    "cross_entropy",
    "document_loss",
    "exponential_decay",
    "fit",
    "from_torch",
    "get_loss",
    "half_squared_error",
    "hinge",
    "l2_penalty",
    "linear_decay",
    "load_names",
    "log_softmax",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spirals",
    "make_xor",
    "microgpt_adam",
    "mse",
    "newton_step",
    "predict",
    "predict_classes",
    "read_state_file",
    "run_gpt_demo",
    "sample_names",
    "softmax",
    "solve_linear",
    "step_graph",
    "to_torch",
    "train_gpt",
]
