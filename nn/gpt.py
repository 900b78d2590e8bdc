"""A GPT on scalars: Karpathy's microgpt (February 2026) written with stepgrad's API.

microgpt trains a one-layer GPT on a scalar ``Value`` in one dependency-free file. This module is the
same network and the same graph, built from stepgrad's nodes so it can be checked, drawn and stepped:

- ``GPTConfig``: vocab 27, n_embd 16, 4 heads, 1 layer, block 16 (microgpt's sizes);
- ``GPT``: the parameters as named matrices (``wte``, ``wpe``, ``lm_head``, ``layer0.attn_wq`` …), drawn
  from N(0, 0.08²) with a seed; a ``Module``, so ``parameters()``, ``zero_grad()``, ``state_dict()``,
  ``save``/``load`` work. ``model(token, pos_id, keys, values)`` is microgpt's ``gpt()``: one position
  at a time, with the keys and values of earlier positions in a cache (causal attention);
- ``linear``, ``rmsnorm``, ``softmax``: microgpt's helpers; ``document_loss``: the mean over positions
  of −log p(target); ``sample_names``; ``train_gpt`` (Adam with microgpt's settings, linear decay to 0).

A token is fed either as a Python index (``wte[token]``, microgpt's graph) or as a one-hot vector of
numbers, x_j = Σᵢ onehotᵢ·wte[i][j]: then the token is data flowing through the graph, not a Python
index that picks a row, which is what a compiled replay (traced once per input structure) needs.
Both give the same loss and gradients.

Linear layers, attention scores and the attention-weighted sums use ``autograd.dot`` (one n-ary ``+``
node over the products) instead of microgpt's ``sum(w * x for ...)`` (a chain of binary ``+``): the
sum is accumulated left to right from 0 in both, so every forward float is microgpt's bit for bit and
the graph is about half the size; gradients agree up to the order in which a parameter's
contributions are added (rounding, ~1e-16 relative).

>>> from nn.text import CharTokenizer, load_names
>>> names = load_names(); tokenizer = CharTokenizer.from_documents(names)
>>> model = GPT(seed=42)
>>> loss = document_loss(model, *model.inputs_and_targets(tokenizer.encode("emma")))
>>> loss.backward()                          # every parameter's .grad is ∂loss/∂p
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import pathlib
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from autograd.engine import Value, dot, no_grad, scope, sum_values
from autograd.files import write_all_atomically

from ._check import check_index, check_int, check_number, check_sequence, check_type
from .losses import softmax
from .module import Module
from .optim import Adam, Optimizer, Scheduler, linear_decay
from .text import CharTokenizer, load_names

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.axes
    import matplotlib.figure

__all__ = [
    "GPT",
    "GPTConfig",
    "GPTDemoResult",
    "GPTHistory",
    "HeadRecord",
    "NamedStep",
    "Recording",
    "document_loss",
    "eager_step",
    "linear",
    "microgpt_adam",
    "named_step",
    "one_hot_vector",
    "plot_gpt_losses",
    "rmsnorm",
    "run_gpt_demo",
    "sample_names",
    "softmax",
    "step_graph",
    "train_gpt",
]

Scalar = Union[Value, float, int]
Token = Union[int, Sequence[Scalar]]  # an id, or a one-hot vector of vocab_size numbers (or Values)

# microgpt's optimizer settings
LEARNING_RATE = 0.01
BETAS = (0.85, 0.99)
EPS = 1e-8
INIT_STD = 0.08
RMSNORM_EPS = 1e-5


def _part(name: str, named: bool) -> contextlib.AbstractContextManager[Any]:
    """``autograd.scope(name)`` when ``named``, else nothing: the scopes that grouped drawings box.

    Off by default: while a scope is open every new node records it, which made an eager training
    step about 40 % slower here (tests/benchmarks/bench_gpt.py measures it)."""
    return scope(name) if named else contextlib.nullcontext()


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class GPTConfig:
    """The sizes of the network; the defaults are microgpt's (4,192 parameters)."""

    vocab_size: int = 27
    n_embd: int = 16
    n_head: int = 4
    n_layer: int = 1
    block_size: int = 16

    def __post_init__(self) -> None:
        for name in ("vocab_size", "n_embd", "n_head", "n_layer", "block_size"):
            check_int(getattr(self, name), name, "GPTConfig")
        if self.vocab_size < 2:
            raise ValueError(f"GPTConfig: vocab_size must be at least 2 (a character and BOS), got {self.vocab_size}")
        if self.n_embd % self.n_head:
            raise ValueError(
                f"GPTConfig: n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head}): "
                "each head reads n_embd / n_head of the features"
            )

    @property
    def head_dim(self) -> int:
        """Features per attention head: n_embd / n_head."""
        return self.n_embd // self.n_head

    def matrix_shapes(self) -> dict[str, tuple[int, int]]:
        """{name: (rows, columns)} of every weight matrix, in microgpt's order (the order of ``parameters()``)."""
        e = self.n_embd
        shapes = {"wte": (self.vocab_size, e), "wpe": (self.block_size, e), "lm_head": (self.vocab_size, e)}
        for i in range(self.n_layer):
            shapes[f"layer{i}.attn_wq"] = (e, e)
            shapes[f"layer{i}.attn_wk"] = (e, e)
            shapes[f"layer{i}.attn_wv"] = (e, e)
            shapes[f"layer{i}.attn_wo"] = (e, e)
            shapes[f"layer{i}.mlp_fc1"] = (4 * e, e)
            shapes[f"layer{i}.mlp_fc2"] = (e, 4 * e)
        return shapes


# --------------------------------------------------------------------------- the helpers (microgpt's)


def linear(x: Sequence[Scalar], w: Sequence[Sequence[Value]]) -> list[Value]:
    """yᵢ = Σⱼ w[i][j]·xⱼ (no bias), one ``autograd.dot`` per output: microgpt's floats, an n-ary + per row."""
    return [dot(row, x) for row in w]


def rmsnorm(x: Sequence[Value], eps: float = RMSNORM_EPS) -> list[Value]:
    """xᵢ / √(mean(x²) + ε), ε = 1e-5: scale the vector to unit root-mean-square (no learned gain, as microgpt)."""
    mean_square = dot(x, x) / len(x)
    scale = (mean_square + eps) ** -0.5
    return [xi * scale for xi in x]


# ``softmax`` is nn.losses.softmax: exp(zᵢ − m) / Σⱼ exp(zⱼ − m) with m = max z a node of the graph
# (``autograd.maximum``; softmax does not depend on m, so neither its value nor its gradient does).


# --------------------------------------------------------------------------- the model


@dataclass
class HeadRecord:
    """One attention head at one position: its scores zₜ = q·kₜ/√d (t ≤ position) and weights softmax(z)."""

    layer: int
    head: int
    position: int
    logits: list[Value]
    weights: list[Value]


@dataclass
class Recording:
    """Nodes worth looking at, collected while a loss is built: every head's softmax, and per position
    the output logits and probabilities."""

    heads: list[HeadRecord] = field(default_factory=list)
    logits: list[list[Value]] = field(default_factory=list)
    probs: list[list[Value]] = field(default_factory=list)


class GPT(Module):
    """microgpt's GPT: embeddings → rmsnorm → [attention + residual, MLP + residual] × n_layer → lm_head.

    Parameters are the matrices of ``config.matrix_shapes()``, each entry drawn from N(0, std²) by
    ``random.Random(seed)`` in microgpt's order; ``matrices[name][row][column]`` is one ``Value``.
    Parameter names are ``"{matrix}.{row}.{column}"``, e.g. ``"layer0.attn_wq.3.7"``.

    >>> model = GPT(seed=42)
    >>> len(model.parameters())
    4192
    """

    def __init__(self, config: GPTConfig | None = None, *, seed: int | random.Random = 42, std: float = INIT_STD):
        if config is None:
            config = GPTConfig()
        check_type(config, "config", "GPT", GPTConfig, "a GPTConfig")
        std = check_number(std, "std", "GPT", at_least=0)
        rng = _rng(seed, "GPT")
        self.config = config
        self.matrices: dict[str, list[list[Value]]] = {
            name: [[Value(rng.gauss(0.0, std)) for _ in range(columns)] for _ in range(rows)]
            for name, (rows, columns) in config.matrix_shapes().items()
        }

    # ---- Module

    def named_parameters(self) -> list[tuple[str, Value]]:
        """``("wte.0.0", Value)``, …: every matrix entry in microgpt's order (matrix, row, column)."""
        return [
            (f"{name}.{i}.{j}", p)
            for name, matrix in self.matrices.items()
            for i, row in enumerate(matrix)
            for j, p in enumerate(row)
        ]

    def parameters(self) -> list[Value]:
        return [p for matrix in self.matrices.values() for row in matrix for p in row]

    def architecture(self) -> dict[str, Any]:
        c = self.config
        return {
            "type": "GPT",
            "vocab_size": c.vocab_size,
            "n_embd": c.n_embd,
            "n_head": c.n_head,
            "n_layer": c.n_layer,
            "block_size": c.block_size,
        }

    def __repr__(self) -> str:
        c = self.config
        return (
            f"GPT(vocab_size={c.vocab_size}, n_embd={c.n_embd}, n_head={c.n_head}, n_layer={c.n_layer}, "
            f"block_size={c.block_size})"
        )

    # ---- one position

    def new_cache(self) -> tuple[list[list[list[Value]]], list[list[list[Value]]]]:
        """Empty (keys, values): per layer, the key and value vectors of the positions seen so far."""
        n = self.config.n_layer
        return [[] for _ in range(n)], [[] for _ in range(n)]

    def embed_token(self, token: Token) -> list[Value]:
        """wte[token] for an id; Σᵢ onehotᵢ·wte[i] (one ``dot`` per feature) for a one-hot vector."""
        c = self.config
        wte = self.matrices["wte"]
        if isinstance(token, int) and not isinstance(token, bool):
            if not 0 <= token < c.vocab_size:
                raise ValueError(f"GPT: token id {token} is out of range: ids run from 0 to {c.vocab_size - 1}")
            return wte[token]
        weights = _one_hot_operand(token, c.vocab_size, "GPT: token")
        return [dot([row[j] for row in wte], weights) for j in range(c.n_embd)]

    def __call__(
        self,
        token: Token,
        pos_id: int,
        keys: list[list[list[Value]]],
        values: list[list[list[Value]]],
        record: Recording | None = None,
        named: bool = False,
    ) -> list[Value]:
        """The logits for the token after ``token`` at position ``pos_id`` (microgpt's ``gpt()``).

        Appends this position's key and value vectors to ``keys`` and ``values`` (from ``new_cache()``),
        so attention sees positions 0 … pos_id: causal by construction. ``named=True`` puts the nodes
        of each part in a scope for grouped drawings: ``embedding``, ``rmsnorm``, then per layer
        ``q k v`` (its rmsnorm and projections), ``attention`` (``head h`` each with ``scores`` (its ``q·k``),
        ``softmax`` and ``Σ a·v``; ``attn_wo``: the output projection and the residual), ``mlp``;
        finally ``lm_head``.
        """
        self._check_position(pos_id, keys, values)
        c = self.config
        m = self.matrices
        hd = c.head_dim
        with _part("embedding", named):
            x = [t + p for t, p in zip(self.embed_token(token), m["wpe"][pos_id])]
        with _part("rmsnorm", named):
            x = rmsnorm(x)
        for li in range(c.n_layer):
            # multi-head causal self-attention
            x_residual = x
            with _part("q k v", named):  # its own part: later positions read this position's keys and values
                x = rmsnorm(x)
                q = linear(x, m[f"layer{li}.attn_wq"])
                k = linear(x, m[f"layer{li}.attn_wk"])
                v = linear(x, m[f"layer{li}.attn_wv"])
            keys[li].append(k)
            values[li].append(v)
            with _part("attention", named):
                x_attn: list[Value] = []
                for h in range(c.n_head):
                    with _part(f"head {h}", named):
                        hs = h * hd
                        q_h = q[hs : hs + hd]
                        k_h = [kt[hs : hs + hd] for kt in keys[li]]
                        v_h = [vt[hs : hs + hd] for vt in values[li]]
                        with _part("scores", named):
                            with _part("q·k", named):  # the dot products, one box when the scores are opened
                                products = [dot(q_h, kt) for kt in k_h]
                            attn_logits = [qk / hd**0.5 for qk in products]  # zₜ = q·kₜ / √d
                        with _part("softmax", named):
                            attn_weights = softmax(attn_logits)
                        if record is not None:
                            record.heads.append(HeadRecord(li, h, pos_id, attn_logits, attn_weights))
                        with _part("Σ a·v", named):
                            x_attn.extend(dot(attn_weights, [vt[j] for vt in v_h]) for j in range(hd))  # Σₜ aₜ·vₜ
                with _part("attn_wo", named):
                    x = linear(x_attn, m[f"layer{li}.attn_wo"])
                    x = [a + b for a, b in zip(x, x_residual)]
            # MLP
            with _part("mlp", named):
                x_residual = x
                x = rmsnorm(x)
                x = linear(x, m[f"layer{li}.mlp_fc1"])
                x = [xi.relu() for xi in x]
                x = linear(x, m[f"layer{li}.mlp_fc2"])
                x = [a + b for a, b in zip(x, x_residual)]
        with _part("lm_head", named):
            return linear(x, m["lm_head"])

    def _check_position(self, pos_id: object, keys: list[Any], values: list[Any]) -> None:
        c = self.config
        check_index(pos_id, "pos_id", "GPT", 0, c.block_size, note="(block_size)")
        if len(keys) != c.n_layer or len(values) != c.n_layer:
            raise ValueError(f"GPT: keys and values must hold one list per layer ({c.n_layer}); use new_cache()")
        if len(keys[0]) != pos_id:
            raise ValueError(
                f"GPT: pos_id is {pos_id} but the cache holds {len(keys[0])} positions; feed positions 0, 1, 2, … "
                "in order with one cache per document"
            )

    # ---- documents

    def inputs_and_targets(self, tokens: Sequence[int], one_hot: bool = False) -> tuple[list[Token], list[Token]]:
        """A document [BOS, c₀, …, BOS] as (inputs, targets) = (tokens[:n], tokens[1:n+1]), n = min(block, len − 1).

        With ``one_hot=True`` every token becomes a vector of ``vocab_size`` floats (1.0 at its id).
        """
        if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Sequence):
            raise TypeError(f"GPT.inputs_and_targets: tokens must be a list of ids, got {type(tokens).__name__}")
        if len(tokens) < 2:
            raise ValueError(
                f"GPT.inputs_and_targets: a document needs at least 2 tokens (an input and its target), got {tokens!r}"
            )
        vocab = self.config.vocab_size
        for i, t in enumerate(tokens):
            check_index(t, f"tokens[{i}]", "GPT.inputs_and_targets", 0, vocab, note="(a token id)")
        n = min(self.config.block_size, len(tokens) - 1)
        inputs: list[Token] = list(tokens[:n])
        targets: list[Token] = list(tokens[1 : n + 1])
        if one_hot:
            inputs = [one_hot_vector(t, vocab) for t in tokens[:n]]
            targets = [one_hot_vector(t, vocab) for t in tokens[1 : n + 1]]
        return inputs, targets


def one_hot_vector(token: int, size: int) -> list[float]:
    """The token id as a vector of ``size`` floats: 1.0 at index ``token``, 0.0 elsewhere."""
    check_index(token, "token", "one_hot_vector", 0, size, note="(a token id)")
    vector = [0.0] * size
    vector[token] = 1.0
    return vector


def _one_hot_operand(token: Any, size: int, where: str) -> list[Value]:
    """A one-hot vector as ``size`` Values, numbers lifted once. A vector of numbers must be one-hot;
    Values are data (their floats are not read here) and are used as they are."""
    if isinstance(token, (str, bytes)) or not isinstance(token, Sequence):
        raise TypeError(f"{where} must be an int id or a one-hot list of {size} numbers, got {type(token).__name__}")
    if len(token) != size:
        raise ValueError(f"{where}: a one-hot vector needs {size} entries (vocab_size), got {len(token)}")
    if any(isinstance(entry, Value) for entry in token):
        return [
            entry if isinstance(entry, Value) else Value(_real_entry(entry, i, where)) for i, entry in enumerate(token)
        ]
    numbers = [_real_entry(entry, i, where) for i, entry in enumerate(token)]
    if sorted(numbers) != [0.0] * (size - 1) + [1.0]:
        raise ValueError(f"{where}: a one-hot vector holds one 1 and {size - 1} zeros, got {list(token)!r:.120}")
    return [Value(x) for x in numbers]


def _real_entry(entry: object, i: int, where: str) -> float:
    if isinstance(entry, bool) or not isinstance(entry, (int, float)) or not math.isfinite(entry):
        raise TypeError(f"{where}: entry {i} of a one-hot vector must be a number or a Value, got {entry!r:.40}")
    return float(entry)


def document_loss(
    model: GPT,
    inputs: Sequence[Token],
    targets: Sequence[Token],
    record: Recording | None = None,
    named: bool = False,
) -> Value:
    """L = (1/n) Σₜ −log softmax(logitsₜ)[targetₜ]: microgpt's loss of one document of n positions.

    Tokens are ids or one-hot vectors (see ``GPT.embed_token``); a one-hot target picks its
    probability as Σᵢ onehotᵢ·pᵢ. ``record`` collects the heads' softmaxes, logits and probabilities.
    ``named=True`` puts every part in a scope for grouped drawings (``GPT.__call__``; then ``softmax``
    and ``−log p`` per position, and ``mean``).
    """
    if not isinstance(model, GPT):
        raise TypeError(f"document_loss: model must be a GPT, got {type(model).__name__}")
    n = len(inputs)
    if n != len(targets):
        raise ValueError(f"document_loss: {n} inputs but {len(targets)} targets")
    if not 1 <= n <= model.config.block_size:
        raise ValueError(f"document_loss: a document has 1 to {model.config.block_size} positions, got {n}")
    vocab = model.config.vocab_size
    keys, values = model.new_cache()
    losses = []
    for pos_id, (token, target) in enumerate(zip(inputs, targets)):
        logits = model(token, pos_id, keys, values, record, named)
        with _part("softmax", named):
            probs = softmax(logits)
        with _part("−log p", named):
            if isinstance(target, int) and not isinstance(target, bool):
                if not 0 <= target < vocab:
                    raise ValueError(
                        f"document_loss: target id {target} is out of range: ids run from 0 to {vocab - 1}"
                    )
                p_target = probs[target]
            else:
                p_target = dot(probs, _one_hot_operand(target, vocab, "document_loss: target"))
            losses.append(-p_target.log())
        if record is not None:
            record.logits.append(logits)
            record.probs.append(probs)
    with _part("mean", named):
        return sum_values(losses) * (1 / n)


# --------------------------------------------------------------------------- sampling


def sample_names(
    model: GPT,
    tokenizer: CharTokenizer,
    count: int = 20,
    temperature: float = 0.5,
    seed: int | random.Random = 0,
) -> list[str]:
    """``count`` names drawn from the model: from BOS, draw each next token from softmax(logits / T) until BOS.

    T < 1 sharpens the distribution (microgpt samples with T = 0.5), T > 1 flattens it. At most
    ``block_size`` tokens per name. The same seed and weights give the same names; no graph is kept.
    """
    _check_tokenizer(model, tokenizer, "sample_names")
    check_int(count, "count", "sample_names", at_least=0)
    temperature = check_number(temperature, "temperature", "sample_names", greater_than=0)
    rng = _rng(seed, "sample_names")
    bos, vocab = tokenizer.bos, tokenizer.vocab_size
    names = []
    with no_grad():
        for _ in range(count):
            keys, values = model.new_cache()
            token = bos
            chars = []
            for pos_id in range(model.config.block_size):
                logits = model(token, pos_id, keys, values)
                probs = softmax([logit / temperature for logit in logits])
                token = rng.choices(range(vocab), weights=[p.data for p in probs])[0]
                if token == bos:
                    break
                chars.append(tokenizer.chars[token])
            names.append("".join(chars))
    return names


# --------------------------------------------------------------------------- training


def _check_tokenizer(model: GPT, tokenizer: CharTokenizer, where: str) -> None:
    if not isinstance(model, GPT):
        raise TypeError(f"{where}: model must be a GPT, got {type(model).__name__}")
    if not isinstance(tokenizer, CharTokenizer):
        raise TypeError(f"{where}: tokenizer must be a CharTokenizer, got {type(tokenizer).__name__}")
    if tokenizer.vocab_size != model.config.vocab_size:
        raise ValueError(
            f"{where}: the tokenizer has {tokenizer.vocab_size} tokens but the model's vocab_size is "
            f"{model.config.vocab_size}"
        )


def _rng(seed: object, where: str) -> random.Random:
    """``seed`` itself if it is a ``random.Random``, else a new generator seeded with the int ``seed``."""
    if isinstance(seed, random.Random):
        return seed
    return random.Random(check_int(seed, "seed", where, at_least=None, requirement="an int or a random.Random"))


def microgpt_adam(model: GPT, lr: float = LEARNING_RATE) -> Adam:
    """Adam with microgpt's settings: lr 0.01, β₁ = 0.85, β₂ = 0.99, ε = 1e-8 (torch.optim.Adam's rule)."""
    return Adam(model.parameters(), lr=lr, betas=BETAS, eps=EPS)


def eager_step(model: GPT, inputs: Sequence[Token], targets: Sequence[Token]) -> float:
    """Build the document's loss and run ``backward()``: each parameter's ``.grad`` gains ∂L/∂p; returns L."""
    loss = document_loss(model, inputs, targets)
    loss.backward()
    return loss.data


def _compiled_step(model: GPT) -> Callable[[GPT, Sequence[Token], Sequence[Token]], float]:
    """``eager_step`` compiled: ``document_loss`` traced once per document length by ``autograd.compiled``
    (tokens as one-hot data) and replayed as array kernels; the step's ``.compiled`` is that function."""
    from autograd.compile import compiled  # numpy, lazily: only when training compiled

    loss_and_grads = compiled(
        lambda inputs, targets: document_loss(model, inputs, targets), cache_size=model.config.block_size
    )

    def step(stepped: GPT, inputs: Sequence[Token], targets: Sequence[Token]) -> float:
        if stepped is not model:
            raise ValueError("train_gpt: a compiled step belongs to the model it was made for")
        return float(loss_and_grads(inputs, targets).data)

    step.compiled = loss_and_grads  # type: ignore[attr-defined]
    return step


@dataclass
class GPTHistory:
    """What ``train_gpt`` saw at each step: the document, its loss before the update, the learning rate;
    the wall-clock seconds of the whole run; with ``compile=True``, the ``autograd.compiled`` function
    that computed the steps (its ``programs``, one per document length, have ``stats`` and ``draw()``)."""

    losses: list[float] = field(default_factory=list)
    learning_rates: list[float] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    seconds: float = 0.0
    compiled: Any = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.losses)


def train_gpt(
    model: GPT,
    tokenizer: CharTokenizer,
    documents: Sequence[str],
    steps: int,
    *,
    optimizer: Optimizer | None = None,
    lr_schedule: Callable[[int], float] | None = None,
    progress: bool | None = None,
    compile: bool = False,
) -> GPTHistory:
    """microgpt's training loop: step k trains on ``documents[k % len(documents)]`` alone.

    Per step: zero_grad, L = ``document_loss``, backward, set the learning rate, Adam update.
    ``optimizer`` defaults to ``microgpt_adam(model)``; ``lr_schedule(k)`` (k = 0 … steps−1) to
    microgpt's linear decay lr·(1 − k/steps). ``progress``: a tqdm bar (True), none (False), or one only
    when stderr is a terminal (None). ``compile=True`` feeds the tokens as one-hot vectors and computes
    each step's loss and gradients with ``autograd.compiled`` (numpy): one trace per document length,
    then array kernels — the same losses and updates as eagerly, to rounding. With an Adam over all the
    model's parameters (the default) the parameters then live in one array during the run
    (``Compiled.gradients``, ``Adam.step_arrays``) and are written back to the Values at the end.

    >>> history = train_gpt(GPT(), tokenizer, names, steps=10, progress=False)    # doctest: +SKIP
    """
    _check_tokenizer(model, tokenizer, "train_gpt")
    check_int(steps, "steps", "train_gpt")
    check_sequence(documents, "documents", "train_gpt", "a non-empty list of str")
    if progress is not None:
        check_type(progress, "progress", "train_gpt", bool, "True, False or None (auto)")
    check_type(compile, "compile", "train_gpt", bool, "True or False")
    step = _compiled_step(model) if compile else eager_step
    if optimizer is None:
        optimizer = microgpt_adam(model)
    elif not isinstance(optimizer, Optimizer):
        raise TypeError(f"train_gpt: optimizer must be an Optimizer (e.g. Adam), got {type(optimizer).__name__}")
    if lr_schedule is None:
        lr_schedule = linear_decay(optimizer.lr, 0.0, steps)
    elif not callable(lr_schedule):
        raise TypeError(f"train_gpt: lr_schedule must be callable (step -> lr), got {type(lr_schedule).__name__}")
    scheduler = Scheduler(optimizer, lr_schedule)
    # encode every document this run reads first: a character outside the vocabulary fails before training
    chosen = [documents[k % len(documents)] for k in range(min(steps, len(documents)))]
    encoded = [model.inputs_and_targets(tokenizer.encode(doc), one_hot=compile) for doc in chosen]

    history = GPTHistory(compiled=getattr(step, "compiled", None))
    show = sys.stderr.isatty() if progress is None else progress
    iterator: Any = range(steps)
    bar = None
    if show:
        from tqdm.auto import tqdm  # type: ignore[import-untyped]  # lazily: only when a bar is shown

        bar = iterator = tqdm(iterator, desc="train_gpt", unit="step", file=sys.stderr)
    with _heap_frozen():
        start = time.perf_counter()
        if compile and isinstance(optimizer, Adam) and _covers(optimizer.params, model.parameters()):
            _train_arrays(optimizer, scheduler, encoded, chosen, iterator, bar, history)
        else:
            _train_values(model, step, optimizer, scheduler, encoded, chosen, iterator, bar, history)
        history.seconds = time.perf_counter() - start
    return history


@contextlib.contextmanager
def _heap_frozen() -> Iterator[None]:
    """Collect garbage, then ``gc.freeze()`` what is alive for the run, so the time measured is the step's:
    the collector runs during training (each step makes tens of thousands of nodes), and without this it
    scans again and again every object made before — in a notebook, hundreds of thousands that earlier
    cells left, which made an eager step take 3 times as long. Left alone if the caller froze objects."""
    if gc.get_freeze_count():
        yield
        return
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _train_values(
    model: GPT, step: Any, optimizer: Optimizer, scheduler: Scheduler, encoded: list[Any], chosen: list[str],
    iterator: Any, bar: Any, history: GPTHistory,
) -> None:  # fmt: skip
    """The loop over Values: per step zero_grad, loss and gradients (eager or compiled), Adam's update."""
    try:
        for k in iterator:
            inputs, targets = encoded[k % len(encoded)]
            optimizer.zero_grad()
            try:
                loss = step(model, inputs, targets)
            except (OverflowError, ValueError) as error:  # exp overflowed, or a probability underflowed to 0
                raise FloatingPointError(f"train_gpt: training diverged at step {k}: {error}") from error
            _check_loss(loss, k)
            lr = scheduler.step()
            optimizer.step()
            _record(history, bar, loss, lr, chosen[k % len(chosen)])
    finally:
        if bar is not None:
            bar.close()


def _covers(params: Sequence[Value], needed: Sequence[Value]) -> bool:
    """Whether every one of ``needed`` is among ``params`` (the array loop updates ``params`` only)."""
    ids = {id(p) for p in params}
    return all(id(p) in ids for p in needed)


def _record(history: GPTHistory, bar: Any, loss: float, lr: float, document: str) -> None:
    """One step into the history, and its loss onto the progress bar."""
    history.losses.append(loss)
    history.learning_rates.append(lr)
    history.documents.append(document)
    if bar is not None:
        bar.set_postfix({"loss": f"{loss:.4f}"})


def _check_loss(loss: float, k: int) -> None:
    if not math.isfinite(loss):
        raise FloatingPointError(f"train_gpt: training diverged at step {k}: the loss became {loss!r}")


def _train_arrays(
    optimizer: Adam,
    scheduler: Scheduler,
    encoded: list[tuple[list[Token], list[Token]]],
    chosen: list[str],
    iterator: Any,
    bar: Any,
    history: GPTHistory,
) -> None:
    """The compiled loop with the parameters in one numpy array: each step's loss and gradients come from
    ``Compiled.gradients`` and Adam updates the array (``Adam.step_arrays``: ``step()``'s floats, bit for
    bit), so no Value is touched until the end, when every ``p.data`` (and the last step's ``p.grad``) is
    written back — also when training stops early. The same losses and updates as the loop over Values."""
    import numpy as np

    loss_and_grads = history.compiled
    assert loss_and_grads is not None
    params = optimizer.params
    data = np.fromiter((p.data for p in params), float, len(params))
    grads = np.zeros(len(params))
    try:
        for k in iterator:
            inputs, targets = encoded[k % len(encoded)]
            try:
                loss, grads = loss_and_grads.gradients(params, data, inputs, targets)
            except (OverflowError, ValueError) as error:  # exp overflowed, or a probability underflowed to 0
                raise FloatingPointError(f"train_gpt: training diverged at step {k}: {error}") from error
            _check_loss(loss, k)
            lr = scheduler.step()
            data = optimizer.step_arrays(data, grads)
            _record(history, bar, loss, lr, chosen[k % len(chosen)])
    finally:
        for p, x, g in zip(params, data.tolist(), grads.tolist()):
            p.data, p.grad = x, g
        if bar is not None:
            bar.close()


# --------------------------------------------------------------------------- graph size


def step_graph(
    positions: int, *, model: GPT | None = None, one_hot: bool = False, seed: int = 0, named: bool = False
) -> Value:
    """The loss of one training step on a document of ``positions`` positions (1 … block_size), not yet
    backpropagated: the graph a drawing or a compiled replay of a GPT step works on.

    The document is BOS and ``positions − 1`` letters drawn by ``random.Random(seed)``, then BOS;
    ``model`` defaults to ``GPT(seed=seed)``; ``named=True`` names its parts (``document_loss``).
    ``len(autograd.topological_order(loss))`` counts its nodes.
    """
    if model is None:
        model = GPT(seed=seed)
    c = model.config
    check_index(positions, "positions", "step_graph", 1, c.block_size, note="(block_size)", closed=True)
    rng = _rng(seed, "step_graph")
    bos = c.vocab_size - 1
    tokens = [bos] + [rng.randrange(bos) for _ in range(positions - 1)] + [bos]
    return document_loss(model, *model.inputs_and_targets(tokens, one_hot=one_hot), named=named)


@dataclass
class NamedStep:
    """One training step's loss with its parts named (``document_loss(..., named=True)``), and one
    attention head's softmax picked out to look at: its scores labelled ``z0 … zt``, the shift ``max z`` and
    ``−max z``, the shifted scores ``zₜ − max z``, their exponentials ``e0 … et``, the sum ``Σe`` and the
    weights ``p0 … pt``; the loss is ``L``.

    ``draw()`` is the grouped picture (one box per part, ``attention`` opened into its heads, the picked
    head into its parts);
    ``draw_head()`` the picked head opened down to its values; ``steps()`` the backward pass, to be drawn
    with ``head_view`` (``steps().widget(**step.head_view)``).
    """

    loss: Value
    record: Recording
    head: HeadRecord

    @property
    def open_head(self) -> list[Any]:
        """The scopes to open to see the head: its ``attention`` activation, the head, its scores and softmax."""
        softmax_scope, scores_scope = self.head.weights[0].scope, self.head.logits[0].scope
        head_scope = softmax_scope.parent if softmax_scope is not None else None
        if head_scope is None or scores_scope is None or head_scope.parent is None:
            raise ValueError("NamedStep: the loss was built without named parts (named=True)")
        return [head_scope.parent, head_scope, scores_scope, softmax_scope]

    @property
    def head_view(self) -> dict[str, Any]:
        """The drawing options that show the picked head: ``open=self.open_head``, top to bottom (its
        scores, exponentials and weights side by side) — for ``draw_dot``, ``widget``, ``to_html``."""
        return {"open": self.open_head, "rankdir": "TB"}

    def draw_head(self, **options: Any) -> Any:
        """``draw_dot(loss, **head_view)``: the head opened down to its values, the rest of the step as boxes."""
        from autograd.views.drawing import draw_dot

        return draw_dot(self.loss, **{**self.head_view, **options})

    def draw(self, **options: Any) -> Any:
        """``draw_dot(loss, open=["attention", "head h"])``: the step as its parts (each box stacks the
        positions), attention opened into its heads, and the picked head into scores → softmax → Σ a·v."""
        from autograd.views.drawing import draw_dot

        options.setdefault("open", ["attention", f"head {self.head.head}"])
        return draw_dot(self.loss, **options)

    def steps(self) -> Any:
        """``backward_steps(loss)``; draw it (``widget``, ``to_html``, ``save_html``) with ``**self.head_view``."""
        from autograd.views.stepper import backward_steps

        return backward_steps(self.loss)

    def closed_form_error(self) -> float:
        """After a backward pass: maxᵢ |∂L/∂zᵢ − pᵢ(gᵢ − Σⱼ pⱼgⱼ)|, gᵢ = ∂L/∂pᵢ, p recomputed from z by math.exp."""
        z = [node.data for node in self.head.logits]
        top = max(z)
        exps = [math.exp(zi - top) for zi in z]
        total = math.fsum(exps)
        p = [e / total for e in exps]
        g = [node.grad for node in self.head.weights]
        mean = math.fsum(pi * gi for pi, gi in zip(p, g))
        return max(abs(node.grad - pi * (gi - mean)) for node, pi, gi in zip(self.head.logits, p, g))


def named_step(
    model: GPT, tokens: Sequence[int], *, head: int = 0, position: int = -1, one_hot: bool = False
) -> NamedStep:
    """The loss of ``tokens`` (a document: BOS, letters, BOS) built with named parts, not yet backpropagated,
    with attention head ``head`` at ``position`` (default: the last) picked out and labelled."""
    check_type(model, "model", "named_step", GPT, "a GPT")
    check_index(head, "head", "named_step", 0, model.config.n_head)
    record = Recording()
    inputs, targets = model.inputs_and_targets(tokens, one_hot=one_hot)
    loss = document_loss(model, inputs, targets, record=record, named=True)
    positions = len(inputs)
    position = check_index(position, "position", "named_step", -positions, positions) % positions
    (picked,) = [h for h in record.heads if h.layer == 0 and h.head == head and h.position == position]
    for t, (z, p) in enumerate(zip(picked.logits, picked.weights)):
        e, total = p.parents  # pₜ = eₜ / Σe (nn.losses.softmax), eₜ = exp(zₜ − max z), zₜ − max z = zₜ + (−max z)
        (shifted,) = e.parents
        minus_max = shifted.parents[1]  # one −max z = (max z)·(−1) per term: zₜ − max z = zₜ + (−max z)
        z.label, shifted.label, e.label, p.label, total.label = f"z{t}", f"z{t} − max z", f"e{t}", f"p{t}", "Σe"
        minus_max.label, minus_max.parents[0].label = "−max z", "max z"
    loss.label = "L"
    return NamedStep(loss, record, picked)


# --------------------------------------------------------------------------- the demo


@dataclass
class GPTDemoResult:
    """What ``run_gpt_demo`` produced: the folder, the files (name → path), the run and samples before/after."""

    out_dir: pathlib.Path
    files: dict[str, pathlib.Path]
    history: GPTHistory
    samples_before: list[str]
    samples_after: list[str]
    model: GPT = field(repr=False)


GPT_DEMO_FILES = {
    "gpt_loss_curve.png": "the loss of each training step and its running mean",
    "gpt_step.svg": "one training step on 'emma' as its parts: attention opened into 4 heads, head 0 into its parts",
    "gpt_head_steps.html": "that step's backward pass, head 0's softmax at the last position opened node by node",
}
GPT_DEMO_NAME = "emma"  # the document drawn and stepped after training


def plot_gpt_losses(
    history: GPTHistory, ax: matplotlib.axes.Axes | None = None, window: int = 20, vocab_size: int = 27
) -> matplotlib.figure.Figure:
    """The loss at every step (one document each, so noisy), its running mean over ``window`` steps,
    and ln(vocab_size) (ln 27 ≈ 3.30), the loss of a model that guesses uniformly."""
    from .plots import new_figure

    check_int(window, "window", "plot_gpt_losses")
    check_int(vocab_size, "vocab_size", "plot_gpt_losses", at_least=2)
    if ax is None:
        ax = new_figure(7.5, 4.2).add_subplot(1, 1, 1)
    figure: matplotlib.figure.Figure = ax.figure  # type: ignore[assignment]  # a Figure, never a SubFigure here
    losses = history.losses
    steps = range(1, len(losses) + 1)
    ax.plot(steps, losses, color="#92c5de", linewidth=0.8, label="loss of the step's document")
    running = [
        sum(losses[max(0, k - window + 1) : k + 1]) / (k + 1 - max(0, k - window + 1)) for k in range(len(losses))
    ]
    ax.plot(steps, running, color="#2166ac", linewidth=2.0, label=f"running mean over {window} steps")
    uniform = math.log(vocab_size)
    ax.axhline(
        uniform, color="#b2182b", linestyle="--", linewidth=1.0, label=f"uniform guess: ln {vocab_size} ≈ {uniform:.2f}"
    )
    ax.set_xlabel("step")
    ax.set_ylabel("loss: mean −log p(next character)")
    how = "compiled" if history.compiled is not None else "eagerly"
    ax.set_title(f"a GPT on scalars, trained {how}: {len(losses)} steps, {history.seconds:.1f} s")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", framealpha=0.9)
    figure.tight_layout()
    return figure


def run_gpt_demo(
    out_dir: str | os.PathLike[str],
    steps: int = 100,
    seed: int = 42,
    progress: bool | None = True,
    report: Callable[[str], None] | None = print,
    compile: bool = False,
    pictures: bool = True,
) -> GPTDemoResult:
    """Train microgpt's GPT for ``steps`` steps on the shipped names (shuffled by ``seed``), sample names
    before and after, and write ``GPT_DEMO_FILES`` into ``out_dir``: the loss curve and, with
    ``pictures`` (needs Graphviz), one step on "emma" drawn grouped and its backward pass as a stepper page
    with one head's softmax opened. ``report`` gets the messages. ``compile=True`` trains with
    ``train_gpt(..., compile=True)`` (numpy comes with matplotlib). Each output's name is checked before
    training (``OSError`` for a folder, FIFO or read-only file in its place); the files are written as
    one, all or none (``autograd.files.write_all_atomically``).
    """
    from autograd.views.drawing import to_svg
    from autograd.views.layout import fit_svg

    from .demo import check_outputs, output_folder
    from .plots import png_bytes

    say = report or (lambda text: None)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("run_gpt_demo plots with matplotlib: install it with pip install 'stepgrad[demo]'") from None
    check_int(steps, "steps", "run_gpt_demo")
    check_int(seed, "seed", "run_gpt_demo", at_least=None)
    check_type(compile, "compile", "run_gpt_demo", bool, "True or False")
    check_type(pictures, "pictures", "run_gpt_demo", bool, "True or False")
    folder = output_folder(out_dir, "run_gpt_demo")
    wanted = [name for name in GPT_DEMO_FILES if pictures or name.endswith(".png")]
    check_outputs(folder, wanted)  # before training: a folder, FIFO or read-only file in an output's place
    how = "compiled" if compile else "eager"

    names = load_names()
    random.Random(seed).shuffle(names)
    tokenizer = CharTokenizer.from_documents(names)
    model = GPT(seed=seed)
    say(f"a GPT on scalars: {len(model.parameters())} parameters, {len(names)} names, {steps} {how} steps")
    before = sample_names(model, tokenizer, count=10, seed=seed)
    history = train_gpt(model, tokenizer, names, steps, progress=progress, compile=compile)
    after = sample_names(model, tokenizer, count=10, seed=seed)
    span = max(1, min(20, steps // 5))
    first, last = statistics.fmean(history.losses[:span]), statistics.fmean(history.losses[-span:])
    say(f"mean loss of the first {span} steps {first:.4f}, of the last {span} steps {last:.4f}")
    if history.compiled is None:
        say(f"{1000 * history.seconds / steps:.0f} ms per step (eager)")
    else:
        programs = history.compiled.programs
        tracing = sum(p.stats.trace_seconds + p.stats.schedule_seconds for p in programs)
        say(
            f"{1000 * history.seconds / steps:.1f} ms per step (compiled; {len(programs)} name lengths traced and "
            f"scheduled in {tracing:.1f} s of the {history.seconds:.1f} s)"
        )
    say(f"names before training: {', '.join(before)}")
    say(f"names after training:  {', '.join(after)}")

    # Everything is computed and rendered before the first file is written.
    figure = plot_gpt_losses(history, vocab_size=tokenizer.vocab_size)
    outputs: dict[str, Any] = {}
    if pictures:
        step = named_step(model, tokenizer.encode(GPT_DEMO_NAME), head=0)
        stepper = step.steps().run()  # every .grad as backward() leaves it
        error = step.closed_form_error()
        positions = len(step.record.logits)
        say(
            f"one step on {GPT_DEMO_NAME!r}: {len(stepper.order):,} nodes, {len(stepper):,} chain-rule steps; "
            f"head 0 at position {step.head.position + 1} of {positions}: ∂L/∂zᵢ against pᵢ(gᵢ − Σⱼ pⱼgⱼ), "
            f"largest difference {error:.1e}"
        )
        outputs["gpt_step.svg"] = fit_svg(to_svg(step.draw()))  # as save_svg: fits the browser window
        outputs["gpt_head_steps.html"] = stepper.to_html(
            title=f"stepgrad: a GPT step on {GPT_DEMO_NAME!r}, backward through one attention head",
            **step.head_view,
        )
    outputs["gpt_loss_curve.png"] = png_bytes(figure)
    folder.mkdir(parents=True, exist_ok=True)
    files = {name: folder / name for name in wanted}
    write_all_atomically({files[name]: outputs[name] for name in wanted})  # all of them or none
    for name, path in files.items():
        say(f"wrote {path}: {GPT_DEMO_FILES[name]}")
    return GPTDemoResult(folder, files, history, before, after, model)
