"""Looking at nn.gpt's GPT: the graph of one training step, one attention head picked out, and the demo.

- ``step_graph``: the loss of one step on a document of n positions (to draw, count or compile);
- ``named_step`` / ``NamedStep``: a step with its parts named and one head's softmax labelled, drawn
  grouped (``draw``), opened (``draw_head``), stepped (``steps``) and checked against its closed form;
- ``plot_gpt_losses``: the loss curve of a ``train_gpt`` run;
- ``run_gpt_demo`` (``stepgrad demo gpt``): train, sample, and write ``GPT_DEMO_FILES``.

The model is ``nn.gpt``, its training ``nn.gpt_train``; ``from nn.gpt import named_step`` works too.
"""

from __future__ import annotations

import math
import os
import pathlib
import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from autograd.engine import Value
from autograd.files import write_all_atomically

from ._check import check_index, check_int, check_type
from .gpt import GPT, HeadRecord, Recording, _rng, document_loss, sample_names
from .gpt_train import GPTHistory, train_gpt
from .text import CharTokenizer, load_names

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.axes
    import matplotlib.figure

__all__ = [
    "GPT_DEMO_FILES",
    "GPT_DEMO_NAME",
    "GPTDemoResult",
    "NamedStep",
    "named_step",
    "plot_gpt_losses",
    "run_gpt_demo",
    "step_graph",
]


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
