"""The backward pass as a sequence of inspectable steps: ``backward_steps(root)``.

A step processes one node of the graph exactly as ``Value.backward()`` does: it reads
the node's gradient ``g = ∂L/∂node`` (the *upstream* gradient) and pushes it to every
parent by the chain rule,

    ∂L/∂parent += ∂L/∂node · ∂node/∂parent,

in reversed ``topological_order(root)``, with the same reset of intermediate gradients
and the same seeding ``root.grad += gradient`` first. The arithmetic is the same
operations in the same order, so after the last step every ``.grad`` equals
``backward()``'s bit for bit.

Steps are the non-leaf nodes only: a leaf has no parents, so there is nothing to push
from it; its gradient is complete once the steps that feed it have run (their updates
show it).

>>> from autograd import Value
>>> from autograd.stepper import backward_steps
>>> a = Value(2.0, label="a"); b = Value(-3.0, label="b"); c = a * b; c.label = "c"
>>> steps = backward_steps(c)
>>> print(steps[0].explain())
step 1/1: c = a * b, ∂c/∂c = 1.0000
  ∂c/∂a += ∂c/∂c · ∂c/∂a = 1.0000 × -3.0000 = -3.0000   (∂c/∂a: 0.0000 → -3.0000)
  ∂c/∂b += ∂c/∂c · ∂c/∂b = 1.0000 × 2.0000 = 2.0000   (∂c/∂b: 0.0000 → 2.0000)

The sequence is lazy (nothing changes until a step is asked for) and replayable: steps
are recorded as they run, so any step can be read or drawn again, in any order, and is
drawn from the gradients recorded for that moment, not from the live ``.grad``.
"""

from __future__ import annotations

import html
import numbers
import os
import pathlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from .engine import Value
from .files import write_atomically
from .graph import topological_order
from .viz import draw_dot, format_number, node_names, render_svg

if TYPE_CHECKING:  # pragma: no cover
    import graphviz
    import ipywidgets

__all__ = ["BackwardSteps", "Step", "Update", "backward_steps"]


@dataclass(frozen=True)
class Update:
    """One chain-rule update of a parent: ``after = before + contribution``, ``contribution = upstream · local``."""

    parent: Value
    parent_name: str
    local: Any  # ∂node/∂parent (None for a node with a hand-written micrograd _backward)
    contribution: Any
    before: Any
    after: Any


class Step:
    """One node of the backward pass: its upstream gradient and the updates it made to its parents."""

    def __init__(self, steps: "BackwardSteps", index: int, node: Value, upstream: Any, updates: tuple[Update, ...]):
        self._steps = steps
        self.index = index
        self.node = node
        self.name = steps.names[node]
        self.upstream = upstream
        self.updates = updates

    def __repr__(self) -> str:
        return f"Step(index={self.index}, node={self.name!r}, op={str(self.node._op)!r}, upstream={self.upstream!r})"

    def explain(self) -> str:
        """The chain-rule lines of this step with numbers, e.g.
        ``∂o/∂w1 += ∂o/∂n · ∂n/∂w1 = 0.5000 × 2.0000 = 1.0000   (∂o/∂w1: 0.0000 → 1.0000)``.
        """
        root = self._steps.root_name
        node = self.name
        operands = [u.parent_name for u in self.updates]
        op = str(self.node._op)
        if len(operands) == 2 and op in ("+", "*", "**"):
            formula = f"{operands[0]} {op} {operands[1]}"
        elif len(operands) == 1 and op.startswith("**"):  # a constant power, micrograd's symbol '**k'
            formula = f"{operands[0]}{op}"
        else:
            formula = f"{op}({', '.join(operands)})"
        lines = [
            f"step {self.index + 1}/{len(self._steps)}: {node} = {formula}, "
            f"∂{root}/∂{node} = {format_number(self.upstream)}"
        ]
        for u in self.updates:
            target = f"∂{root}/∂{u.parent_name}"
            change = f"({target}: {format_number(u.before)} → {format_number(u.after)})"
            if u.local is None:
                lines.append(
                    f"  {target} += (hand-written _backward of {node}) = {format_number(u.contribution)}   {change}"
                )
                continue
            numbers_ = f"{format_number(self.upstream)} × {format_number(u.local)} = {format_number(u.contribution)}"
            lines.append(f"  {target} += ∂{root}/∂{node} · ∂{node}/∂{u.parent_name} = {numbers_}   {change}")
        return "\n".join(lines)

    def grads(self) -> tuple[dict[Value, Any], set[Value]]:
        """The gradients right after this step and the nodes reached so far in this pass (the rest are unknown)."""
        return self._steps._state_after(self.index)

    def draw(self, **kwargs: Any) -> "graphviz.Digraph":
        """The graph right after this step: this node highlighted, its just-updated parents marked,
        gradients not yet reached in this pass shown as ``?``. Keyword arguments go to ``draw_dot``.
        """
        grads, reached = self.grads()
        unknown = [node for node in self._steps.order if node not in reached]
        options: dict[str, Any] = {
            "highlight": (self.node,),
            "mark": tuple(u.parent for u in self.updates),
            "unknown_grad": unknown,
            "grads": grads,
        }
        options.update(kwargs)
        return draw_dot(self._steps.root, **options)

    def to_svg(self, **kwargs: Any) -> str:
        """SVG text of ``draw(**kwargs)``."""
        return render_svg(self.draw(**kwargs))


def _gradient_seed(gradient: Any) -> float:
    if type(gradient) is float:
        return gradient
    if isinstance(gradient, numbers.Real) and not isinstance(gradient, Value):
        return float(gradient)
    raise TypeError(f"backward_steps(gradient=...) needs a real number, got {type(gradient).__name__} {gradient!r}")


class BackwardSteps(Sequence[Step]):
    """The backward pass of ``root`` as a lazy, replayable sequence of ``Step``s (see ``backward_steps``)."""

    def __init__(self, root: Value, gradient: float = 1.0):
        if not isinstance(root, Value):
            raise TypeError(f"backward_steps() needs an autograd.Value as root, got {type(root).__name__}")
        self.root = root
        self.gradient = _gradient_seed(gradient)
        self.order = topological_order(root)
        self.names = {node: _math_name(name) for node, name in node_names(self.order).items()}
        self.root_name = _math_name(root.label) if root.label else "L"
        self._pending = [node for node in reversed(self.order) if node._parents]
        self._done: list[Step] = []
        self._initial: dict[Value, Any] | None = None

    # ---- running

    def _start(self) -> None:
        """Reset intermediate gradients and seed the root, exactly as backward() does."""
        if self._initial is not None:
            return
        for node in self.order:
            if node._parents:
                node.grad = 0.0
        self.root.grad += self.gradient
        self._initial = {node: node.grad for node in self.order}

    def _advance(self) -> Step:
        """Process the next node: parent.grad += node.grad · ∂node/∂parent for each parent."""
        self._start()
        index = len(self._done)
        node = self._pending[index]
        g = node.grad
        updates = []
        local = node._local_grads
        if local is None:  # micrograd-style node with a hand-written _backward: run it as backward() does
            before = [parent.grad for parent in node._parents]
            node._backward()
            for parent, b in zip(node._parents, before):
                updates.append(Update(parent, self.names[parent], None, parent.grad - b, b, parent.grad))
        else:
            for parent, d in zip(node._parents, local):
                before = parent.grad
                contribution = g * d
                parent.grad += contribution  # the same operation as backward(): parent.grad += g * d
                updates.append(Update(parent, self.names[parent], d, contribution, before, parent.grad))
        step = Step(self, index, node, g, tuple(updates))
        self._done.append(step)
        return step

    def run(self) -> "BackwardSteps":
        """Run all remaining steps; afterwards every ``.grad`` equals ``backward()``'s."""
        self._start()
        while len(self._done) < len(self._pending):
            self._advance()
        return self

    # ---- the sequence

    def __len__(self) -> int:
        return len(self._pending)

    @overload
    def __getitem__(self, index: int) -> Step: ...

    @overload
    def __getitem__(self, index: slice) -> list[Step]: ...

    def __getitem__(self, index: int | slice) -> Step | list[Step]:
        """Step ``index`` (running the pass up to it if needed)."""
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if isinstance(index, bool) or not isinstance(index, int):
            raise TypeError(f"step index must be an int, got {type(index).__name__}")
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"step index {index} out of range: this backward pass has {n} steps")
        index %= n
        while len(self._done) <= index:
            self._advance()
        return self._done[index]

    def __iter__(self) -> Iterator[Step]:
        self._start()
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return f"BackwardSteps(root={self.root_name!r}, steps={len(self)}, done={len(self._done)})"

    def _state_after(self, index: int) -> tuple[dict[Value, Any], set[Value]]:
        """Gradients after step ``index`` (replayed from the recorded updates) and the nodes reached so far."""
        self[index]
        assert self._initial is not None
        grads = dict(self._initial)
        reached = {self.root}
        for step in self._done[: index + 1]:
            for u in step.updates:
                grads[u.parent] = u.after
                reached.add(u.parent)
        return grads, reached

    # ---- text, notebook and HTML

    def explain(self) -> str:
        """Every step's explanation, one block per step (runs the whole pass)."""
        self.run()
        head = f"backward pass of {self.root_name}: seed ∂{self.root_name}/∂{self.root_name} = " + format_number(
            self.gradient
        )
        if not len(self):
            return head + f"\n({self.root_name} is a leaf: there are no steps)"
        return "\n".join([head] + [step.explain() for step in self])

    def widget(self, **draw_kwargs: Any) -> "ipywidgets.VBox":
        """A notebook widget to scrub through the steps: Play button, slider, the SVG frame and the explanation.

        Returns a ``VBox`` whose children are ``(HBox(play, slider), frame, text)``; the same widgets are
        also attributes ``box.play``, ``box.slider``, ``box.frame`` (HTML with the SVG), ``box.text``.
        Frames are rendered when first shown. Keyword arguments go to ``draw_dot``.
        """
        import ipywidgets as widgets

        if not len(self):
            raise ValueError(f"backward_steps({self.root_name}): the root is a leaf, there are no steps to show")
        last = len(self) - 1
        play = widgets.Play(value=0, min=0, max=last, step=1, interval=1200, description="Play")
        slider = widgets.IntSlider(value=0, min=0, max=last, step=1, description="step", continuous_update=True)
        widgets.jslink((play, "value"), (slider, "value"))
        frame = widgets.HTML()
        text = widgets.HTML()
        cache: dict[int, str] = {}

        def show(index: int) -> None:
            if index not in cache:
                cache[index] = _strip_xml_prolog(self[index].to_svg(**draw_kwargs))
            frame.value = cache[index]
            text.value = "<pre>" + html.escape(self[index].explain()) + "</pre>"

        slider.observe(lambda change: show(change["new"]), names="value")
        show(0)
        box = widgets.VBox([widgets.HBox([play, slider]), frame, text])
        box.play, box.slider, box.frame, box.text = play, slider, frame, text
        return box

    def to_html(self, title: str | None = None, **draw_kwargs: Any) -> str:
        """One self-contained HTML page with every step's SVG inline, a slider, Play and ←/→ keys; no network."""
        if title is None:
            title = f"stepgrad: backward pass of {self.root_name}"
        steps = list(self.run())
        digraphs = [step.draw(**draw_kwargs) for step in steps]  # built here, in order: Values are not thread-safe
        # each frame is one `dot` process; run them side by side (they release the GIL while they wait)
        with ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1))) as pool:
            svgs = list(pool.map(render_svg, digraphs))
        frames = []
        for step, svg in zip(steps, svgs):
            svg = _strip_xml_prolog(svg)
            frames.append(
                f'<section class="frame" id="step-{step.index + 1}"{" hidden" if step.index else ""}>\n'
                f'<div class="graph">{svg}</div>\n'
                f'<pre class="explain">{html.escape(step.explain())}</pre>\n</section>'
            )
        if not frames:
            frames.append(
                f'<section class="frame" id="step-0"><pre class="explain">{html.escape(self.explain())}</pre></section>'
            )
        return _PAGE.format(
            title=html.escape(title),
            heading=html.escape(title),
            seed=html.escape(self.explain().splitlines()[0]),
            count=len(frames),
            last=len(frames),
            frames="\n".join(frames),
            script=_SCRIPT,
        )

    def save_html(self, path: str | os.PathLike[str], **kwargs: Any) -> pathlib.Path:
        """Write ``to_html(**kwargs)`` to ``path`` atomically (nothing written if rendering fails); returns the path."""
        return write_atomically(path, self.to_html(**kwargs))


def backward_steps(root: Value, gradient: float = 1.0) -> BackwardSteps:
    """The backward pass of ``root`` as steps: ``parent.grad += node.grad · ∂node/∂parent``, one node at a time.

    Same order and arithmetic as ``root.backward(gradient)``; ``.run()`` finishes it.

    >>> steps = backward_steps(o)               # doctest: +SKIP
    >>> print(steps[0].explain()); steps[0].draw()   # doctest: +SKIP
    """
    return BackwardSteps(root, gradient)


def _math_name(name: str) -> str:
    """A node name as it reads inside ∂L/∂name: parenthesized unless it is a simple identifier like ``w1``."""
    return name if name.isidentifier() else f"({name})"


def _strip_xml_prolog(svg: str) -> str:
    """The ``<svg>`` element alone (no XML declaration, DOCTYPE or comments before it), for inlining in HTML."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 1em; }}
.controls {{ display: flex; gap: 0.6em; align-items: center; margin: 0.5em 0; }}
.controls input[type=range] {{ width: 40em; max-width: 70vw; }}
.graph svg {{ max-width: 100%; height: auto; }}
pre.explain {{ font-size: 15px; background: #f5f5f5; padding: 0.6em; border-radius: 4px; white-space: pre-wrap; }}
.legend span {{ padding: 0 0.4em; margin-right: 0.6em; border: 1px solid #999; }}
</style>
</head>
<body>
<h1 style="font-size: 1.2em">{heading}</h1>
<p>{seed}. Use the slider, the buttons or the ←/→ keys.
<span class="legend"><span style="background:#ffd54f">current node</span>
<span style="background:#a5d6a7">just updated</span><span>grad ? = not computed yet</span></span></p>
<div class="controls">
<button id="prev" type="button">← prev</button>
<input id="slider" type="range" min="1" max="{last}" value="1" step="1" aria-label="step">
<button id="next" type="button">next →</button>
<button id="play" type="button">play</button>
<span id="counter">step 1 / {count}</span>
</div>
{frames}
<script>
{script}
</script>
</body>
</html>
"""

_SCRIPT = """(function () {
  var frames = document.querySelectorAll("section.frame");
  var slider = document.getElementById("slider");
  var counter = document.getElementById("counter");
  var playButton = document.getElementById("play");
  var timer = null;
  function show(k) {
    k = Math.max(1, Math.min(frames.length, k));
    for (var i = 0; i < frames.length; i++) { frames[i].hidden = (i !== k - 1); }
    slider.value = String(k);
    counter.textContent = "step " + k + " / " + frames.length;
  }
  function current() { return parseInt(slider.value, 10); }
  slider.addEventListener("input", function () { show(current()); });
  document.getElementById("prev").addEventListener("click", function () { show(current() - 1); });
  document.getElementById("next").addEventListener("click", function () { show(current() + 1); });
  playButton.addEventListener("click", function () {
    if (timer) { clearInterval(timer); timer = null; playButton.textContent = "play"; return; }
    if (current() >= frames.length) { show(1); }
    playButton.textContent = "pause";
    timer = setInterval(function () {
      if (current() >= frames.length) { clearInterval(timer); timer = null; playButton.textContent = "play"; return; }
      show(current() + 1);
    }, 1200);
  });
  document.addEventListener("keydown", function (e) {
    if (e.target === slider) { return; }  // the focused slider moves itself on arrow keys
    if (e.key === "ArrowRight") { show(current() + 1); e.preventDefault(); }
    if (e.key === "ArrowLeft") { show(current() - 1); e.preventDefault(); }
  });
  var wanted = /^#step-(\\d+)$/.exec(window.location.hash);  // open at a step: page.html#step-3
  show(wanted ? parseInt(wanted[1], 10) : 1);
})();"""
