"""Train microgpt's GPT in PyTorch, on one process or several: ``DistributedDataParallel`` (DDP).

    torchrun --standalone --nproc_per_node 2 -m nn.train_torch --steps 300 --batch 32 --out gpt.pt
    python -m nn.train_torch --steps 300 --batch 32 --out gpt.pt        # one process, no DDP

The model is ``nn.to_torch(GPT(seed=...))`` (or a GPT saved with ``GPT.save``: ``--init gpt.json``), in
float64. Step k reads the global batch of ``--batch`` names ``names[k·B … k·B + B − 1]`` (the shipped names
shuffled by the seed, cycled); with W processes, process r takes the r-th of W equal slices. Its loss is
the mean over its names of ``document_loss`` (the mean −log p of each next character); DDP averages the
gradients over the processes, so every process takes the step of the mean loss over the whole batch, the
same step as one process on the whole batch (to rounding). Adam has microgpt's settings (lr 0.01,
β = (0.85, 0.99), ε = 1e-8, linear decay to 0), the rule of ``nn.Adam``: with ``--batch 1`` on one
process this is stepgrad's ``train_gpt``, step for step.

The backend is ``gloo`` on CPUs and ``nccl`` when CUDA is available (one GPU per process). Process 0
prints the loss every ``--every`` steps and, at the end, writes the checkpoint atomically
(``nn.from_torch(path)`` reads it back as a stepgrad GPT). ``--record DIR`` makes every process write
``DIR/rank{r}.jsonl``: per step its loss, its names and a SHA-256 of its weights (equal on all processes).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import pathlib
import random
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

try:
    import torch
    import torch.distributed as dist
except ImportError:
    raise ImportError("nn.train_torch needs PyTorch, which is not installed: pip install 'stepgrad[torch]'") from None

from autograd.files import write_atomically

from ._check import shown
from .cli import _positive_int  # the command line's argparse type: a whole number ≥ 1
from .gpt import BETAS, EPS, GPT, GPTConfig, sample_names
from .module import read_state_file
from .text import CharTokenizer, load_names
from .torch_gpt import IGNORE, TorchGPT, gpt_from_torch, gpt_to_torch, save_checkpoint


@dataclasses.dataclass
class StepRecord:
    """One step on one process: the global mean loss, the learning rate, this process's names, the weights' hash."""

    step: int
    loss: float
    lr: float
    names: list[str]
    weights_sha256: str | None


def encode_batch(
    documents: Sequence[str], tokenizer: CharTokenizer, block_size: int, device: Any = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """(idx, targets), each (B, T): document b's [BOS, c₀, …] and the next tokens, cut to ``block_size``
    positions as ``GPT.inputs_and_targets``; a shorter document is padded with BOS inputs and −1 targets."""
    rows = [tokenizer.encode(doc) for doc in documents]
    T = min(block_size, max(len(r) for r in rows) - 1)
    idx = torch.full((len(rows), T), tokenizer.bos, dtype=torch.long)
    targets = torch.full((len(rows), T), IGNORE, dtype=torch.long)
    for b, tokens in enumerate(rows):
        n = min(block_size, len(tokens) - 1)
        idx[b, :n] = torch.tensor(tokens[:n])
        targets[b, :n] = torch.tensor(tokens[1 : n + 1])
    return idx.to(device), targets.to(device)


def global_batch(documents: Sequence[str], step: int, batch: int) -> list[str]:
    """The names of step ``step``: ``documents[(step·batch + i) mod N]`` for i < batch."""
    return [documents[(step * batch + i) % len(documents)] for i in range(batch)]


def check_batch(batch: int, world: int) -> int:
    """The names per process, batch / world; a ValueError if the batch does not split evenly."""
    if batch % world:
        raise ValueError(f"train_torch: the batch ({batch}) must be a multiple of the number of processes ({world})")
    return batch // world


def weights_sha256(net: torch.nn.Module) -> str:
    """SHA-256 of every parameter's bytes, in ``named_parameters()`` order: equal iff the weights are bit-equal."""
    digest = hashlib.sha256()
    for name, p in net.named_parameters():
        digest.update(name.encode())
        digest.update(bytes(p.detach().to("cpu").contiguous().view(-1).view(torch.uint8).tolist()))  # no numpy
    return digest.hexdigest()


class _MeanLoss(torch.nn.Module):
    """The batch loss as a module's forward pass: mean over the documents of ``net.document_losses``."""

    def __init__(self, net: TorchGPT) -> None:
        super().__init__()
        self.net = net

    def forward(self, idx: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.net.document_losses(idx, targets).mean()


def train(
    net: TorchGPT,
    documents: Sequence[str],
    tokenizer: CharTokenizer,
    steps: int,
    batch: int,
    *,
    lr: float = 0.01,
    on_step: Callable[[StepRecord], None] | None = None,
    hash_weights: bool = False,
) -> list[StepRecord]:
    """Train ``net`` for ``steps`` steps of ``batch`` names (module docstring); DDP when a process group is up.

    Returns this process's records; ``on_step`` sees each as it happens. ``hash_weights`` fills in each
    record's ``weights_sha256`` (else None).
    """
    world = dist.get_world_size() if dist.is_initialized() else 1
    rank = dist.get_rank() if dist.is_initialized() else 0
    share = check_batch(batch, world)
    device = next(net.parameters()).device
    model: torch.nn.Module = _MeanLoss(net)  # DDP's hooks need the forward pass to go through the wrapper
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr, betas=BETAS, eps=EPS)
    records = []
    for k in range(steps):
        names = global_batch(documents, k, batch)[rank * share : (rank + 1) * share]
        idx, targets = encode_batch(names, tokenizer, net.config.block_size, device)
        step_lr = lr * (1 - k / steps)  # microgpt's linear decay: linear_decay(lr, 0.0, steps)(k)
        for group in optimizer.param_groups:
            group["lr"] = step_lr
        optimizer.zero_grad()
        loss = model(idx, targets)
        loss.backward()
        optimizer.step()
        reported = loss.detach().clone()
        if world > 1:
            dist.all_reduce(reported)
            reported /= world
        digest = weights_sha256(net) if hash_weights else None
        record = StepRecord(k, float(reported), step_lr, names, digest)
        records.append(record)
        if on_step is not None:
            on_step(record)
    return records


# --------------------------------------------------------------------------- the script


def build_parser() -> argparse.ArgumentParser:
    """The options of ``python -m nn.train_torch`` (under ``torchrun`` or alone)."""
    parser = argparse.ArgumentParser(
        prog="python -m nn.train_torch",
        description="Train microgpt's GPT in PyTorch on the names, with DistributedDataParallel under torchrun.",
    )
    add = parser.add_argument
    add("--steps", type=_positive_int, default=1000, help="optimizer steps (1000)")
    add("--batch", type=_positive_int, default=32, help="names per step over all processes (32)")
    add("--lr", type=float, default=0.01, help="Adam's learning rate, decayed linearly to 0 (0.01)")
    add("--seed", type=int, default=42, help="the initial weights and the shuffle of the names (42)")
    add("--init", metavar="GPT.json", help="start from a GPT saved by stepgrad (GPT.save) instead of GPT(seed)")
    add("--out", metavar="PATH", default="gpt.pt", help="the checkpoint written at the end (gpt.pt)")
    add("--threads", type=_positive_int, default=1, help="torch threads per process (1: the tensors are tiny)")
    add("--every", type=_positive_int, default=100, help="print the loss every N steps (100)")
    add("--record", metavar="DIR", help="each process writes DIR/rank{r}.jsonl: loss, names, weights hash per step")
    for name, default in (("n-embd", 16), ("n-head", 4), ("n-layer", 1), ("block-size", 16)):
        add(f"--{name}", type=_positive_int, default=default, help=f"with no --init: GPTConfig's {name} ({default})")
    return parser


def _initial_model(args: argparse.Namespace, tokenizer: CharTokenizer) -> GPT:
    """``GPT(config, seed)`` from the options, or the GPT saved in ``--init`` (its own configuration)."""
    if not args.init:
        config = GPTConfig(tokenizer.vocab_size, args.n_embd, args.n_head, args.n_layer, args.block_size)
        return GPT(config, seed=args.seed)
    architecture = read_state_file(args.init)["architecture"]
    kind = architecture.get("type") if isinstance(architecture, dict) else None
    if kind != "GPT":
        raise ValueError(f"--init {args.init!r} is not a GPT: it holds a model of type {shown(kind)}")
    fields = {k: v for k, v in architecture.items() if k != "type"}
    try:
        config = GPTConfig(**fields)
    except TypeError as error:
        raise ValueError(f"--init {args.init!r}: not a GPT configuration: {error}") from None
    model = GPT(config, seed=0)
    model.load(args.init)
    if model.config.vocab_size != tokenizer.vocab_size:
        raise ValueError(
            f"--init {args.init!r}: the GPT has vocab_size {model.config.vocab_size} but the names have "
            f"{tokenizer.vocab_size} tokens"
        )
    return model


def main(argv: Sequence[str] | None = None) -> int:
    """Run the training (see the module docstring); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    distributed = "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1
    cuda = torch.cuda.is_available()
    if distributed:
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    try:
        return _run(args, distributed, cuda)
    except (ValueError, OSError) as error:  # a bad --init file, a batch that does not split, an unwritable --out
        parser.exit(2, f"{parser.prog}: error: {error}\n")
    finally:
        if distributed:
            dist.destroy_process_group()


def _run(args: argparse.Namespace, distributed: bool, cuda: bool) -> int:
    torch.set_num_threads(args.threads)  # more threads than cores (or a busy machine) makes tiny steps far slower
    rank = dist.get_rank() if distributed else 0
    world = dist.get_world_size() if distributed else 1
    say = print if rank == 0 else (lambda *a, **k: None)
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    device = torch.device("cuda") if cuda else torch.device("cpu")
    names = load_names()
    random.Random(args.seed).shuffle(names)
    tokenizer = CharTokenizer.from_documents(names)
    model = _initial_model(args, tokenizer)
    net = gpt_to_torch(model).to(device)
    backend = dist.get_backend() if distributed else "none"
    say(
        f"{world} process{'es' if world > 1 else ''} (backend {backend}, {device.type}); GPT with "
        f"{sum(p.numel() for p in net.parameters()):,} parameters in float64; {len(names):,} names; "
        f"{args.steps} steps of {args.batch} names ({args.batch // world} per process)"
    )
    start = time.perf_counter()

    since: list[float] = []  # the losses since the last line printed

    def show(record: StepRecord) -> None:
        since.append(record.loss)
        if record.step == 0 or (record.step + 1) % args.every == 0 or record.step + 1 == args.steps:
            mean = sum(since) / len(since)
            say(
                f"step {record.step + 1:5d}  loss {record.loss:.4f}  mean of {len(since):3d} steps {mean:.4f}",
                flush=True,
            )
            since.clear()

    records = train(
        net, names, tokenizer, args.steps, args.batch, lr=args.lr, on_step=show, hash_weights=bool(args.record)
    )
    say(f"{time.perf_counter() - start:.1f} s, {1000 * (time.perf_counter() - start) / args.steps:.1f} ms per step")
    if args.record:
        folder = pathlib.Path(args.record)
        folder.mkdir(parents=True, exist_ok=True)
        lines = "".join(json.dumps(dataclasses.asdict(r)) + "\n" for r in records)
        write_atomically(folder / f"rank{rank}.jsonl", lines)
    if rank == 0:
        save_checkpoint(net, args.out)
        back = gpt_from_torch(net.to("cpu"))
        say(f"wrote {args.out}; nn.from_torch({str(args.out)!r}) reads it back as a stepgrad GPT")
        say(f"names sampled by stepgrad from the trained weights: {', '.join(sample_names(back, tokenizer, 10))}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
