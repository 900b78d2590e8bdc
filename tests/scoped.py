"""The two big graphs of issue 11, built with scopes: micrograd's demo step and a microgpt step.

``call(name, fn, *args)`` runs ``fn(*args)`` inside ``autograd.scope(name)`` (one activation);
``gpt_step(..., auto=True)`` builds the same step with plain calls under ``autograd.auto_scope()``.
"""

from __future__ import annotations

import contextlib
import math
import random
from typing import Any

import autograd
from autograd import Value


def call(name: str, fn: Any, *args: Any) -> Any:
    """``fn(*args)`` with the nodes it makes in a new activation of scope ``name``."""
    with autograd.scope(name):
        return fn(*args)


# --------------------------------------------------------------------------- micrograd's demo step


def moons(n: int = 100, seed: int = 1337) -> tuple[list[list[float]], list[int]]:
    """Two interleaving half circles with a little noise, labels ±1 (micrograd's demo data, regenerated)."""
    rng = random.Random(seed)
    X, y = [], []
    for i in range(n):
        t = math.pi * (i // 2) / (n // 2)
        if i % 2:
            X.append([math.cos(t) + rng.gauss(0, 0.1), math.sin(t) + rng.gauss(0, 0.1)])
            y.append(-1)
        else:
            X.append([1 - math.cos(t) + rng.gauss(0, 0.1), 0.5 - math.sin(t) + rng.gauss(0, 0.1)])
            y.append(1)
    return X, y


def micrograd_demo_step() -> tuple[Value, Any]:
    """micrograd's demo loss with stepgrad's MLP(2, [16, 16, 1]) on 100 points: mean hinge + 1e-4·Σp²,
    every call of MLP, Layer and Neuron, hinge and l2_penalty in its scope (38,718 nodes)."""
    from nn import MLP
    from nn.losses import hinge, l2_penalty

    model = MLP(2, [16, 16, 1], seed=1337)

    def neuron(n: Any, x: Any) -> Any:
        return call("Neuron", n, x)

    def layer(layer_: Any, x: Any) -> Any:
        return call("Layer", lambda v: [neuron(n, v) for n in layer_.neurons], x)

    def mlp(x: Any) -> Any:
        def forward(v: Any) -> Any:
            for layer_ in model.layers:
                v = layer(layer_, v)
            return v[0]

        return call("MLP", forward, x)

    X, y = moons()
    scores = [mlp(x) for x in X]
    loss = call("hinge", hinge, scores, y) + call("l2_penalty", l2_penalty, model.parameters(), 1e-4)
    return loss, model


# --------------------------------------------------------------------------- a microgpt step


def gpt_step(
    tokens: list[int], n_embd: int = 16, n_head: int = 4, block: int = 16, vocab: int = 27, auto: bool = False
) -> Value:
    """One training step's loss of a microgpt-shaped GPT on ``tokens``: token + position embedding,
    rmsnorm, causal attention with a KV cache (4 heads), relu MLP, residuals, lm_head, softmax, −log p.

    Each function call is a scope (``call``); with ``auto=True`` the functions are called plainly inside
    ``autograd.auto_scope()``, as unchanged microgpt code would be (scopes named after the functions)."""
    if auto:
        call = lambda name, fn, *args: fn(*args)  # noqa: E731
        scopes = autograd.auto_scope()
    else:
        call = globals()["call"]
        scopes = contextlib.nullcontext()
    rng = random.Random(42)

    def matrix(rows: int, cols: int) -> list[list[Value]]:
        return [[Value(rng.gauss(0, 0.08)) for _ in range(cols)] for _ in range(rows)]

    wte, wpe = matrix(vocab, n_embd), matrix(block, n_embd)
    wq, wk, wv, wo = (matrix(n_embd, n_embd) for _ in range(4))
    fc1, fc2, lm_head = matrix(4 * n_embd, n_embd), matrix(n_embd, 4 * n_embd), matrix(vocab, n_embd)
    head = n_embd // n_head

    def linear(x: list[Value], w: list[list[Value]]) -> list[Value]:
        return [sum((wi * xi for wi, xi in zip(row, x)), Value(0.0)) for row in w]

    def rmsnorm(x: list[Value]) -> list[Value]:
        scale = (sum((xi * xi for xi in x), Value(0.0)) / len(x) + 1e-5) ** -0.5
        return [xi * scale for xi in x]

    def softmax(logits: list[Value]) -> list[Value]:
        top = max(v.data for v in logits)
        exps = [(v - top).exp() for v in logits]
        total = sum(exps, Value(0.0))
        return [e / total for e in exps]

    def attn(q: list[Value], keys: list[list[Value]], values: list[list[Value]], h: int) -> list[Value]:
        lo, hi = h * head, (h + 1) * head
        scores = [sum((q[i] * k[i] for i in range(lo, hi)), Value(0.0)) / head**0.5 for k in keys]
        weights = call("softmax", softmax, scores)
        return [sum((w * v[i] for w, v in zip(weights, values)), Value(0.0)) for i in range(lo, hi)]

    def gpt(token: int, pos: int, keys: list[list[Value]], values: list[list[Value]]) -> list[Value]:
        x = [t + p for t, p in zip(wte[token], wpe[pos])]
        x = call("rmsnorm", rmsnorm, x)
        skip = x
        x = call("rmsnorm", rmsnorm, x)
        q, k, v = (call("linear", linear, x, w) for w in (wq, wk, wv))
        keys.append(k)
        values.append(v)
        heads: list[Value] = []
        for h in range(n_head):
            heads.extend(call("attn", attn, q, keys, values, h))
        x = [a + b for a, b in zip(call("linear", linear, heads, wo), skip)]
        skip = x
        x = call("rmsnorm", rmsnorm, x)
        hidden = [h.relu() for h in call("linear", linear, x, fc1)]
        x = [a + b for a, b in zip(call("linear", linear, hidden, fc2), skip)]
        return call("linear", linear, x, lm_head)

    keys: list[list[Value]] = []
    values: list[list[Value]] = []
    losses = []
    with scopes:  # microgpt's training step, written inline as microgpt does
        for pos in range(min(len(tokens) - 1, block)):
            logits = call("gpt", gpt, tokens[pos], pos, keys, values)
            probs = call("softmax", softmax, logits)
            losses.append(-probs[tokens[pos + 1]].log())
        return sum(losses, Value(0.0)) / len(losses)
