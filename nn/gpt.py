"""A GPT on scalars: Karpathy's microgpt (February 2026) written with stepgrad's API.

microgpt trains a one-layer GPT on a scalar ``Value`` in one dependency-free file. This module is the
same network and the same graph, built from stepgrad's nodes so it can be checked, drawn and stepped:

- ``GPTConfig``: vocab 27, n_embd 16, 4 heads, 1 layer, block 16 (microgpt's sizes);
- ``GPT``: the parameters as named matrices (``wte``, ``wpe``, ``lm_head``, ``layer0.attn_wq`` …), drawn
  from N(0, 0.08²) with a seed; a ``Module``, so ``parameters()``, ``zero_grad()``, ``state_dict()``,
  ``save``/``load`` work. ``model(token, pos_id, keys, values)`` is microgpt's ``gpt()``: one position
  at a time, with the keys and values of earlier positions in a cache (causal attention);
- ``linear``, ``rmsnorm``, ``softmax``: microgpt's helpers; ``document_loss``: the mean over positions
  of −log p(target); ``sample_names``.

Its training (``train_gpt``: Adam with microgpt's settings, linear decay to 0, eager or compiled) is
``nn.gpt_train``; its views and demo (``step_graph``, ``named_step``, ``plot_gpt_losses``,
``run_gpt_demo``) are ``nn.gpt_views``. Both are imported here too: ``from nn.gpt import train_gpt``
works, and so do pickles of these objects made before the split.

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
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from autograd.engine import Value, dot, no_grad, scope, sum_values

from ._check import check_index, check_int, check_number, check_type
from .losses import softmax
from .module import Module
from .text import CharTokenizer

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


# --------------------------------------------------------------------------- argument checks


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


# --------------------------------------------------------------------------- the training and the views
# Their own modules (nn.gpt_train, nn.gpt_views) import the model from here; imported last, so that
# ``from nn.gpt import train_gpt, named_step, ...`` and pickles that name nn.gpt keep working.

# (the constants are not in __all__, as before: ``X as X`` re-exports them explicitly)
from .gpt_train import BETAS as BETAS  # noqa: E402
from .gpt_train import EPS as EPS  # noqa: E402
from .gpt_train import LEARNING_RATE as LEARNING_RATE  # noqa: E402
from .gpt_train import GPTHistory, eager_step, microgpt_adam, train_gpt  # noqa: E402
from .gpt_views import GPT_DEMO_FILES as GPT_DEMO_FILES  # noqa: E402
from .gpt_views import GPT_DEMO_NAME as GPT_DEMO_NAME  # noqa: E402
from .gpt_views import (  # noqa: E402
    GPTDemoResult,
    NamedStep,
    named_step,
    plot_gpt_losses,
    run_gpt_demo,
    step_graph,
)
