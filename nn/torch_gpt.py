"""microgpt's GPT as a ``torch.nn.Module``: the network of ``nn.gpt`` on tensors, batched.

This module imports torch at import time; ``nn`` imports it only when a GPT is exported
(``nn.to_torch``) or trained in PyTorch (``nn.train_torch``), so stepgrad itself never needs torch.

``TorchGPT(config)`` holds the matrices of ``config.matrix_shapes()`` as parameters with the same names
and shapes (``wte``, ``wpe``, ``lm_head``, ``layer0.attn_wq`` …): stepgrad's parameter
``"layer0.attn_wq.3.7"`` is ``net.layer0.attn_wq[3, 7]``. ``net(idx)`` computes what ``GPT.__call__``
computes at every position at once, with a causal mask in place of the KV cache:

    x = rmsnorm(wte[idx] + wpe[0..T−1])
    per layer:  x = x + attn_wo · concatₕ softmax(qₕkₕᵀ/√d, causal) vₕ  with q, k, v = W·rmsnorm(x)
                x = x + mlp_fc2 · relu(mlp_fc1 · rmsnorm(x))
    logits = lm_head · x

with rmsnorm(x) = x / √(mean(x²) + 1e-5) and no biases, as microgpt.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping
from typing import Any

try:
    import torch
except ImportError:
    raise ImportError("nn.torch_gpt needs PyTorch, which is not installed: pip install 'stepgrad[torch]'") from None

from autograd.files import write_atomically

from .gpt import GPT, RMSNORM_EPS, GPTConfig

IGNORE = -1  # a target id that pads a batch of documents of different lengths: no loss there
_LAYER_MATRICES = ("attn_wq", "attn_wk", "attn_wv", "attn_wo", "mlp_fc1", "mlp_fc2")
_CONFIG_FIELDS = ("vocab_size", "n_embd", "n_head", "n_layer", "block_size")


def check_dtype(dtype: object, where: str) -> torch.dtype:
    """``dtype`` if it is a floating-point ``torch.dtype``, else a TypeError naming ``where``."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"{where}: dtype must be a floating-point torch.dtype such as torch.float64, got {dtype!r}")
    return dtype


def rmsnorm(x: torch.Tensor) -> torch.Tensor:
    """xᵢ / √(mean(x²) + ε) over the last axis, ε = 1e-5 (nn.gpt.rmsnorm)."""
    return x * (x.pow(2).mean(dim=-1, keepdim=True) + RMSNORM_EPS).rsqrt()


class _Block(torch.nn.Module):
    """One layer's six matrices (attention and MLP), named as in ``GPTConfig.matrix_shapes()``."""

    def __init__(self, shapes: Mapping[str, tuple[int, int]], dtype: torch.dtype) -> None:
        super().__init__()
        for name in _LAYER_MATRICES:
            self.register_parameter(name, torch.nn.Parameter(torch.zeros(shapes[name], dtype=dtype)))


class TorchGPT(torch.nn.Module):
    """microgpt's GPT on tensors: ``net(idx)`` maps token ids ``(T,)`` or ``(B, T)`` to logits ``(…, T, vocab)``.

    ``named_parameters()`` gives ``wte``, ``wpe``, ``lm_head``, ``layer0.attn_wq`` … in
    ``GPT.named_parameters()``'s order, each a matrix of ``config.matrix_shapes()``'s shape (zeros here;
    ``nn.to_torch(gpt)`` copies a stepgrad GPT's weights in).
    """

    def __init__(self, config: GPTConfig, dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"TorchGPT: config must be a GPTConfig, got {type(config).__name__}")
        dtype = check_dtype(dtype, "TorchGPT")
        self.config = config
        shapes = config.matrix_shapes()
        for name in ("wte", "wpe", "lm_head"):
            self.register_parameter(name, torch.nn.Parameter(torch.zeros(shapes[name], dtype=dtype)))
        for i in range(config.n_layer):
            prefix = f"layer{i}."
            block_shapes = {k[len(prefix) :]: v for k, v in shapes.items() if k.startswith(prefix)}
            self.add_module(f"layer{i}", _Block(block_shapes, dtype))

    def matrix(self, name: str) -> torch.Tensor:
        """The parameter called ``name`` (``"wte"``, ``"layer0.attn_wq"``, …)."""
        return self.get_parameter(name)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """Logits (…, T, vocab) of the token after each of ``idx``'s T positions (causal: position t sees 0 … t)."""
        c = self.config
        self._check_ids(idx, "idx")
        T, hd = idx.shape[-1], c.head_dim
        W = dict(self.named_parameters())
        x = rmsnorm(W["wte"][idx] + W["wpe"][:T])
        causal = torch.ones(T, T, dtype=torch.bool, device=idx.device).tril()
        lead = x.shape[:-2]  # () or (B,)
        for li in range(c.n_layer):
            wq, wk, wv, wo, fc1, fc2 = (W[f"layer{li}.{name}"] for name in _LAYER_MATRICES)
            h = rmsnorm(x)
            q, k, v = (
                (h @ w.T).view(*lead, T, c.n_head, hd).transpose(-3, -2)  # (…, heads, T, d)
                for w in (wq, wk, wv)
            )
            scores = (q @ k.transpose(-2, -1) / hd**0.5).masked_fill(~causal, float("-inf"))  # zₜ = q·kₜ / √d
            heads = (scores.softmax(dim=-1) @ v).transpose(-3, -2).reshape(*lead, T, c.n_embd)
            x = heads @ wo.T + x
            x = torch.relu(rmsnorm(x) @ fc1.T) @ fc2.T + x
        logits: torch.Tensor = x @ W["lm_head"].T
        return logits

    def document_losses(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Lᵦ = mean over document b's positions of −log softmax(logits)[target] (``document_loss`` per row).

        ``idx`` and ``targets`` are ``(T,)`` or ``(B, T)``; a target of ``IGNORE`` (−1) pads a shorter document
        and counts nowhere. Returns a tensor of shape ``()`` or ``(B,)``.
        """
        if not isinstance(targets, torch.Tensor) or targets.shape != idx.shape:
            shape = tuple(targets.shape) if isinstance(targets, torch.Tensor) else type(targets).__name__
            raise ValueError(f"TorchGPT.document_losses: targets must have idx's shape {tuple(idx.shape)}, got {shape}")
        self._check_ids(targets, "targets", padding=True)
        logits = self(idx)
        kept = targets != IGNORE
        if not bool(kept.any(dim=-1).all()):
            raise ValueError("TorchGPT.document_losses: a document has no target (every target is -1)")
        log_probs = logits.log_softmax(dim=-1)
        picked = log_probs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        kept_f = kept.to(picked.dtype)
        return -(picked * kept_f).sum(dim=-1) / kept_f.sum(dim=-1)

    def _check_ids(self, ids: object, name: str, padding: bool = False) -> None:
        c = self.config
        where = f"TorchGPT: {name}"
        if not isinstance(ids, torch.Tensor):
            raise TypeError(f"{where} must be a LongTensor of token ids, got {type(ids).__name__}")
        if ids.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"{where} must hold token ids (torch.long), got dtype {ids.dtype}")
        if ids.dim() not in (1, 2) or ids.shape[-1] == 0:
            raise ValueError(f"{where} must have shape (T,) or (B, T) with T ≥ 1, got {tuple(ids.shape)}")
        if ids.shape[-1] > c.block_size:
            raise ValueError(f"{where} has {ids.shape[-1]} positions but block_size is {c.block_size}")
        if ids.numel():
            low, high = int(ids.min()), int(ids.max())
            lowest = IGNORE if padding else 0
            bad = low if low < lowest else high if high >= c.vocab_size else None
            if bad is not None:
                allowed = f"0 to {c.vocab_size - 1}" + (" or -1 (padding)" if padding else "")
                raise ValueError(f"{where} holds {bad}, which is not a token id: ids run from {allowed}")


# --------------------------------------------------------------------------- stepgrad ↔ torch


def gpt_to_torch(model: GPT, dtype: torch.dtype = torch.float64) -> TorchGPT:
    """A ``TorchGPT`` with ``model``'s configuration and weights (in ``dtype``)."""
    net = TorchGPT(model.config, dtype)
    with torch.no_grad():
        for name, matrix in model.matrices.items():
            net.matrix(name).copy_(torch.tensor([[p.data for p in row] for row in matrix], dtype=torch.float64))
    return net


def gpt_from_torch(net: TorchGPT) -> GPT:
    """A stepgrad ``GPT`` with ``net``'s configuration and weights (as Python floats)."""
    model = GPT(net.config, seed=0)
    state: dict[str, float] = {}
    for name, tensor in net.named_parameters():
        rows = tensor.detach().to("cpu", torch.float64).tolist()
        bad = [(i, j) for i, row in enumerate(rows) for j, x in enumerate(row) if not math.isfinite(x)]
        if bad:
            raise ValueError(f"from_torch: {name} holds non-finite weights, e.g. at {bad[:3]}")
        state.update({f"{name}.{i}.{j}": x for i, row in enumerate(rows) for j, x in enumerate(row)})
    model.load_state_dict(state)
    return model


# --------------------------------------------------------------------------- checkpoints

CHECKPOINT_KIND = "stepgrad.TorchGPT"


def save_checkpoint(net: TorchGPT, path: str | os.PathLike[str]) -> None:
    """Write ``{"kind", "config", "state_dict"}`` with ``torch.save`` to ``path``, atomically (whole or not at all)."""
    net = unwrap(net)
    if not isinstance(net, TorchGPT):
        raise TypeError(f"save_checkpoint: expected a TorchGPT, got {type(net).__name__}")
    c = net.config
    buffer = io.BytesIO()
    state = {name: t.detach().to("cpu").clone() for name, t in net.state_dict().items()}
    torch.save(
        {"kind": CHECKPOINT_KIND, "config": {f: getattr(c, f) for f in _CONFIG_FIELDS}, "state_dict": state}, buffer
    )
    write_atomically(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike[str]) -> TorchGPT:
    """The ``TorchGPT`` saved by ``save_checkpoint`` (read with ``weights_only=True``: tensors and plain data only)."""
    where = f"load_checkpoint: {os.fspath(path)!r}"
    try:
        saved: Any = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"{where} does not exist") from None
    except Exception as error:  # torch's unpickler raises many kinds for a file it cannot read
        raise ValueError(f"{where} is not a torch checkpoint: {type(error).__name__}: {error}"[:400]) from None
    if not isinstance(saved, dict) or saved.get("kind") != CHECKPOINT_KIND:
        raise ValueError(f"{where} is not a GPT checkpoint written by nn.train_torch (no kind {CHECKPOINT_KIND!r})")
    config = saved.get("config")
    if not isinstance(config, dict) or sorted(config) != sorted(_CONFIG_FIELDS):
        raise ValueError(f"{where}: its config must hold {', '.join(_CONFIG_FIELDS)}, got {config!r:.200}")
    state = saved.get("state_dict")
    dtype = _checkpoint_dtype(state, where)
    assert isinstance(state, dict)  # _checkpoint_dtype checked it
    try:
        gpt_config = GPTConfig(**config)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: its config is not a GPT's: {error}") from None
    net = TorchGPT(gpt_config, dtype=dtype)
    expected = {name: tuple(p.shape) for name, p in net.named_parameters()}
    found = {name: tuple(t.shape) for name, t in state.items()}
    if found != expected:
        raise ValueError(f"{where}: its weights do not fit its config: expected {expected}, got {found}"[:600])
    net.load_state_dict(state)
    return net


def _checkpoint_dtype(state: object, where: str) -> torch.dtype:
    if not isinstance(state, dict) or not state or not all(isinstance(t, torch.Tensor) for t in state.values()):
        raise ValueError(f"{where}: its state_dict must map names to tensors")
    dtypes = {t.dtype for t in state.values()}
    if len(dtypes) != 1:
        raise ValueError(f"{where}: its weights mix dtypes {sorted(map(str, dtypes))}")
    return check_dtype(dtypes.pop(), where)


def unwrap(net: Any) -> Any:
    """The module inside a ``DistributedDataParallel`` or ``DataParallel`` wrapper; anything else as it is."""
    if isinstance(net, (torch.nn.parallel.DistributedDataParallel, torch.nn.DataParallel)):
        return net.module
    return net
