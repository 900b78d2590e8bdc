"""microgpt drop-in: a microgpt-style script runs on its own inline ``Value`` and on stepgrad's.

Karpathy's microgpt (February 2026) brings its own scalar ``Value``: four slots (``data``, ``grad``,
``_children``, ``_local_grads``), a constructor ``Value(data, children, local_grads)`` with which every
op — and any op a reader adds — builds its node, and a ``backward()`` that walks ``_children`` and
``_local_grads``. Learners edit that file, so the promise to test is the import swap: replace the inline
class by ``from autograd.engine import Value`` and the same script trains the same way.

``microgpt_script`` below is such a script, written for these tests in microgpt's style (not copied
from it): a GPT of microgpt's shape at a smaller size, microgpt's Adam written inline with
``p.grad = 0`` resets and ``p.data -= ...`` updates, two ops built by hand with the constructor
(``relu`` in the MLP, ``tanh`` for an optional soft cap on the logits).
"""

from __future__ import annotations

import math
import random

import pytest

from nn.gpt import GPT, GPTConfig, document_loss, train_gpt
from nn.text import CharTokenizer

DOCS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "charlotte", "amelia"]
SIZES = {"n_embd": 8, "n_head": 2, "n_layer": 1, "block_size": 8}


# --------------------------------------------------------------------------- the inline engine


class InlineValue:
    """A scalar node in microgpt's style: data, grad, the nodes it came from and ∂self/∂each of them."""

    __slots__ = ("data", "grad", "_children", "_local_grads")

    def __init__(self, data, children=(), local_grads=()):
        self.data = data
        self.grad = 0
        self._children = children
        self._local_grads = local_grads

    @staticmethod
    def _wrap(x):
        return x if isinstance(x, InlineValue) else InlineValue(x)

    def __add__(self, other):
        other = self._wrap(other)
        return InlineValue(self.data + other.data, (self, other), (1, 1))

    def __mul__(self, other):
        other = self._wrap(other)
        return InlineValue(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, k):  # k a plain number
        return InlineValue(self.data**k, (self,), (k * self.data ** (k - 1),))

    def exp(self):
        e = math.exp(self.data)
        return InlineValue(e, (self,), (e,))

    def log(self):
        return InlineValue(math.log(self.data), (self,), (1 / self.data,))

    def relu(self):
        return InlineValue(max(0, self.data), (self,), (float(self.data > 0),))

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):
        return other * self**-1

    def backward(self):
        # children before parents, without recursion: an explicit stack of (node, children done?)
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif node not in seen:
                seen.add(node)
                stack.append((node, True))
                stack.extend((child, False) for child in node._children)
        self.grad = 1
        for node in reversed(order):
            for child, local in zip(node._children, node._local_grads):
                child.grad += local * node.grad


# --------------------------------------------------------------------------- the script


def microgpt_script(Value, docs, steps, *, seed=3, softcap=None, n_embd=8, n_head=2, n_layer=1, block_size=8):
    """Train a microgpt-shaped GPT on ``docs`` with ``Value``; returns (losses, final parameter floats, last loss)."""
    rng = random.Random(seed)
    chars = sorted(set("".join(docs)))
    BOS = len(chars)
    vocab_size = BOS + 1
    head_dim = n_embd // n_head

    def matrix(rows, cols):
        return [[Value(rng.gauss(0, 0.08)) for _ in range(cols)] for _ in range(rows)]

    weights = {
        "wte": matrix(vocab_size, n_embd),
        "wpe": matrix(block_size, n_embd),
        "lm_head": matrix(vocab_size, n_embd),
    }
    for li in range(n_layer):
        for name in ("attn_wq", "attn_wk", "attn_wv", "attn_wo"):
            weights[f"layer{li}.{name}"] = matrix(n_embd, n_embd)
        weights[f"layer{li}.mlp_fc1"] = matrix(4 * n_embd, n_embd)
        weights[f"layer{li}.mlp_fc2"] = matrix(n_embd, 4 * n_embd)
    params = [p for m in weights.values() for row in m for p in row]

    # two ops a reader adds by hand: value, the nodes it came from, the local derivatives
    def relu(v):
        return Value(v.data if v.data > 0 else 0.0, (v,), (1.0 if v.data > 0 else 0.0,))

    def tanh(v):
        t = math.tanh(v.data)
        return Value(t, (v,), (1 - t**2,))

    def linear(x, w):
        return [sum(wij * xj for wij, xj in zip(row, x)) for row in w]

    def softmax(zs):
        top = max(z.data for z in zs)
        exps = [(z - top).exp() for z in zs]
        total = sum(exps)
        return [e / total for e in exps]

    def rmsnorm(x):
        mean_square = sum(xi * xi for xi in x) / len(x)
        scale = (mean_square + 1e-5) ** -0.5
        return [xi * scale for xi in x]

    def gpt(token, pos, keys, values):
        x = rmsnorm([t + p for t, p in zip(weights["wte"][token], weights["wpe"][pos])])
        for li in range(n_layer):
            residual = x
            x = rmsnorm(x)
            q = linear(x, weights[f"layer{li}.attn_wq"])
            keys[li].append(linear(x, weights[f"layer{li}.attn_wk"]))
            values[li].append(linear(x, weights[f"layer{li}.attn_wv"]))
            heads = []
            for h in range(n_head):
                lo, hi = h * head_dim, (h + 1) * head_dim
                scores = [sum(qj * kj for qj, kj in zip(q[lo:hi], k[lo:hi])) / head_dim**0.5 for k in keys[li]]
                attn = softmax(scores)
                heads += [sum(a * v[j] for a, v in zip(attn, values[li])) for j in range(lo, hi)]
            x = [a + b for a, b in zip(linear(heads, weights[f"layer{li}.attn_wo"]), residual)]
            residual = x
            hidden = [relu(u) for u in linear(rmsnorm(x), weights[f"layer{li}.mlp_fc1"])]
            x = [a + b for a, b in zip(linear(hidden, weights[f"layer{li}.mlp_fc2"]), residual)]
        logits = linear(x, weights["lm_head"])
        if softcap is not None:
            logits = [tanh(z / softcap) * softcap for z in logits]
        return logits

    lr, beta1, beta2, eps = 0.01, 0.85, 0.99, 1e-8
    m = [0.0] * len(params)
    v = [0.0] * len(params)
    losses = []
    for step in range(steps):
        doc = docs[step % len(docs)]
        tokens = [BOS] + [chars.index(c) for c in doc] + [BOS]
        n = min(block_size, len(tokens) - 1)
        keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
        per_position = []
        for pos in range(n):
            probs = softmax(gpt(tokens[pos], pos, keys, values))
            per_position.append(-probs[tokens[pos + 1]].log())
        loss = (1 / n) * sum(per_position)
        loss.backward()
        lr_t = lr * (1 - step / steps)
        for i, p in enumerate(params):
            m[i] = beta1 * m[i] + (1 - beta1) * p.grad
            v[i] = beta2 * v[i] + (1 - beta2) * p.grad**2
            m_hat = m[i] / (1 - beta1 ** (step + 1))
            v_hat = v[i] / (1 - beta2 ** (step + 1))
            p.data -= lr_t * m_hat / (v_hat**0.5 + eps)
            p.grad = 0
        losses.append(loss.data)
    return losses, [p.data for p in params], loss


# --------------------------------------------------------------------------- tolerance
#
# Both engines do the same IEEE operations in the forward pass, so the first loss is the same float.
# Gradients may differ in the last bits: a parameter used many times sums its contributions in the
# order of each engine's topological walk. Adam divides m̂ by √v̂ + ε, so a gradient's relative
# rounding error (~1e-16) becomes an update error of ~1e-16·lr, and ε = 1e-8 bounds the update of a
# gradient that is ~1e-18 in one engine and 0 in the other by lr·1e-10. After a few steps the
# parameters (~0.1) agree to far better than 1e-12 and the losses to 1e-12 relative.

PARAM_TOL = 1e-12
LOSS_REL = 1e-12


def _assert_same_run(a, b):
    losses_a, params_a, _ = a
    losses_b, params_b, _ = b
    assert losses_a[0] == losses_b[0]  # the forward pass is the same floats
    assert losses_b == pytest.approx(losses_a, rel=LOSS_REL)
    assert len(params_a) == len(params_b)
    assert max(abs(x - y) for x, y in zip(params_a, params_b)) <= PARAM_TOL
    assert max(abs(x - y) for x, y in zip(params_a, microgpt_initial(len(params_a)))) > 1e-3  # they trained


def microgpt_initial(count, seed=3):
    rng = random.Random(seed)
    return [rng.gauss(0, 0.08) for _ in range(count)]


# --------------------------------------------------------------------------- nn.gpt is that network


def test_the_inline_script_learns():
    losses, _, _ = microgpt_script(InlineValue, DOCS, 24)
    assert sum(losses[-8:]) / 8 < sum(losses[:8]) / 8 - 0.3


def test_nn_gpt_is_the_same_network_and_training_run():
    """nn.gpt (n-ary dot nodes, nn.optim.Adam, linear_decay) against the script on its inline Value."""
    steps = 5
    script = microgpt_script(InlineValue, DOCS, steps)
    tokenizer = CharTokenizer.from_documents(DOCS)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, **SIZES), seed=3)
    assert [p.data for p in model.parameters()] == microgpt_initial(len(model.parameters()))  # microgpt's order
    history = train_gpt(model, tokenizer, DOCS, steps, progress=False)
    _assert_same_run(script, (history.losses, [p.data for p in model.parameters()], None))


def test_nn_gpt_forward_is_microgpts_floats_bit_for_bit():
    """Every document's loss at the initial weights is the script's float exactly: dot and sum_values add
    left to right from 0, as sum() does."""
    tokenizer = CharTokenizer.from_documents(DOCS)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, **SIZES), seed=3)
    for doc in DOCS:
        (script_loss,), _, _ = microgpt_script(InlineValue, [doc] + DOCS, 1)  # step 0 reads doc; same vocabulary
        assert document_loss(model, *model.inputs_and_targets(tokenizer.encode(doc))).data == script_loss


def test_microgpt_graph_is_larger_than_nn_gpts_for_the_same_loss():
    """A full-size step (vocab 27, 16 positions): microgpt's chains of binary + against nn.gpt's n-ary
    nodes. The loss is the same float; nn.gpt's graph has fewer than two thirds of the nodes."""
    from autograd import topological_order

    docs = ["abcdefghijklmno", "pqrstuvwxyz"]  # all 26 letters: vocab 27; the first document fills the block
    (script_loss,), _, loss = microgpt_script(InlineValue, docs, 1, n_embd=16, n_head=4, block_size=16)
    tokenizer = CharTokenizer.from_documents(docs)
    model = GPT(GPTConfig(), seed=3)
    ours = document_loss(model, *model.inputs_and_targets(tokenizer.encode(docs[0])))
    assert ours.data == script_loss
    assert len(topological_order(ours)) < 2 / 3 * _count_inline(loss)


def _count_inline(root):
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(node._children)
    return len(seen)


# --------------------------------------------------------------------------- the import swap (engine pending)


def test_the_import_swap_trains_the_same():
    from autograd.engine import Value

    inline = microgpt_script(InlineValue, DOCS, 4, softcap=15.0)
    swapped = microgpt_script(Value, DOCS, 4, softcap=15.0)
    _assert_same_run(inline, swapped)


def test_the_microgpt_constructor_builds_a_differentiable_node():
    from autograd.engine import Value

    x = Value(0.5)
    t = math.tanh(0.5)
    y = Value(t, (x,), (1 - t**2,))  # a user-defined tanh, microgpt style
    (y * y).backward()
    assert y.data == t
    assert x.grad == pytest.approx(2 * t * (1 - t**2), rel=1e-15)  # d(tanh²)/dx = 2 tanh · (1 − tanh²)


def test_children_and_local_grads_read_as_parents_and_local_derivatives():
    from autograd.engine import Value

    a, b = Value(2.0), Value(-3.0)
    product, total, power = a * b, a + b, a**3
    assert product._children == (a, b) and tuple(product._local_grads) == (-3.0, 2.0)
    assert total._children == (a, b) and tuple(total._local_grads) == (1.0, 1.0)
    assert power._children == (a,) and tuple(power._local_grads) == (12.0,)  # 3a² at a = 2
    assert a._children == () and tuple(a._local_grads) == ()
