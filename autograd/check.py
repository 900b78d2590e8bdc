"""Check a learner's own micrograd: ``check_backward(root)`` finds the first wrong gradient and says why.

Build a graph with your own ``Value`` class (micrograd's ``_prev``/``_op``/``_backward``, or
microgpt's ``_children``/``_local_grads``), run *your* ``backward()``, then::

    >>> report = check_backward(loss)        # doctest: +SKIP
    >>> report.ok, report.first, report.expected, report.got   # doctest: +SKIP
    >>> print(report); report.draw()         # doctest: +SKIP

The graph is read, never run (``autograd.foreign``) and mirrored as stepgrad nodes; the right
gradients come from stepgrad's own rules by reverse accumulation (``engine._accumulate``) over
``graph.topological_order`` of the mirror, seeded with your root's gradient:

    ∂L/∂parent = Σ over uses  ∂L/∂node · ∂node/∂parent.

Each node is compared, in backward order (root first), within ``rel_tol`` of the larger of the
two numbers and the sum of the contributions' sizes (cancellation), plus ``abs_tol``. The first
difference in that order is the *origin*: every node downstream of it is right, so the slip is
in what flowed into it. A likely cause is named only where the numbers fit it (see ``_causes``).
A node whose op stepgrad cannot read is listed in ``unchecked`` with the reason, and so is every
node whose gradient flows through it; where you gave ``_local_grads`` for such a node, they are
used (and it is listed as unchecked all the same).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import engine
from .engine import Value
from .foreign import MAX_NODES, ForeignGraphError, Mirror, is_foreign_node, mirror, read_node
from .graph import topological_order
from .views.stepper import BackwardSteps, Step

if TYPE_CHECKING:  # pragma: no cover
    import graphviz

__all__ = ["CheckReport", "ForeignGraphError", "Mismatch", "Unchecked", "check_backward", "foreign_steps"]

REL_TOL = 1e-9
ABS_TOL = 1e-12
FIRST_FILL = "#ef9a9a"  # the first wrong gradient (the origin)
WRONG_FILL = "#ffe0b2"  # a later difference (often a consequence of the first)
UNCHECKED_FILL = "#e0e0e0"


@dataclass(frozen=True)
class Mismatch:
    """A node whose gradient differs from stepgrad's: the learner's ``node``, its ``name`` and formula."""

    node: Any
    name: str
    formula: str
    expected: float
    got: float


@dataclass(frozen=True)
class Unchecked:
    """A node stepgrad could not check, and why."""

    node: Any
    name: str
    reason: str


@dataclass
class CheckReport:
    """What ``check_backward`` found. ``ok``: every checked gradient is right (``unchecked`` lists the rest)."""

    root: Any
    checked: int
    mismatches: list[Mismatch]
    unchecked: list[Unchecked]
    causes: list[str]
    _mirror: Mirror = field(repr=False)
    _expected: dict[Value, float] = field(repr=False)

    @property
    def ok(self) -> bool:
        """True when no checked gradient differs."""
        return not self.mismatches

    @property
    def first(self) -> Any:
        """The learner's node where the first difference appears in backward order (the origin), or None."""
        return self.mismatches[0].node if self.mismatches else None

    @property
    def expected(self) -> float | None:
        """stepgrad's gradient at ``first``."""
        return self.mismatches[0].expected if self.mismatches else None

    @property
    def got(self) -> float | None:
        """The learner's gradient at ``first``."""
        return self.mismatches[0].got if self.mismatches else None

    @property
    def cause(self) -> str | None:
        """The likely cause at ``first`` where the numbers fit one, else None."""
        return self.causes[0] if self.causes else None

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        root = _name(self._mirror, self._mirror.root)
        lines = []
        if self.ok:
            lines.append(f"check_backward({root}): all {self.checked} gradients checked are right")
        else:
            m = self.mismatches[0]
            lines.append(
                f"check_backward({root}): {len(self.mismatches)} of {self.checked} gradients differ from stepgrad's; "
                "the first, in backward order:"
            )
            lines.append(f"  {m.formula}")
            lines.append(f"  expected ∂{root}/∂{m.name} = {_num(m.expected)}, got {_num(m.got)}")
            for cause in self.causes:
                lines.append(f"  likely cause: {cause}")
            if not self.causes:
                lines.append("  no common slip fits these numbers: step through it with backward_steps(root)")
            later = [x.name for x in self.mismatches[1:]]
            if later:
                shown = ", ".join(later[:8]) + (f", … ({len(later) - 8} more)" if len(later) > 8 else "")
                lines.append(f"  other differences, later in backward order: {shown}")
        if self.unchecked:
            lines.append(f"unchecked ({len(self.unchecked)}):")
            for u in self.unchecked[:8]:
                lines.append(f"  {u.name}: {u.reason}")
            if len(self.unchecked) > 8:
                lines.append(f"  … and {len(self.unchecked) - 8} more")
        return "\n".join(lines)

    def draw(self, rankdir: str = "LR", **kwargs: Any) -> "graphviz.Digraph":
        """The learner's graph (their labels, data and grads), the first wrong node red with expected vs got,
        later differences orange, unchecked nodes grey. Options as ``draw_dot``'s ``depth``, ``max_nodes``, ``fmt``."""
        from .views.drawing import Scene, _check_options, build_digraph
        from .views.labels import format_number

        depth = kwargs.pop("depth", None)
        max_nodes = kwargs.pop("max_nodes", 1000)
        fmt = kwargs.pop("fmt", "svg")
        if kwargs:
            raise TypeError(f"CheckReport.draw() got unexpected options {sorted(kwargs)}")
        _check_options(rankdir, max_nodes, depth, fmt)
        m = self._mirror
        copy_of = m.copy_of
        wrong = {copy_of[id(x.node)]: x for x in self.mismatches}
        first = copy_of[id(self.first)] if self.mismatches else None
        unchecked = {copy_of[id(u.node)] for u in self.unchecked}

        def grad_text(node: Value) -> str:
            got = format_number(m.node_of[node].grad)
            if node in wrong:
                return f"grad {got} ✗ right: {format_number(wrong[node].expected)}"
            return f"grad {got}" + (" (unchecked)" if node in unchecked else "")

        def fill(node: Any) -> str:
            if node is first:
                return FIRST_FILL
            return WRONG_FILL if node in wrong else UNCHECKED_FILL if node in unchecked else "#ffffff"

        scene = Scene(m.root, depth, max_nodes)
        dot = build_digraph(
            scene, rankdir=rankdir, fmt=fmt, grad_text=grad_text, fill=fill,
            pen=lambda node: "3" if node is first else None,
        )  # fmt: skip
        title = str(self).splitlines()[0]
        if self.mismatches:
            x = self.mismatches[0]
            title = f"first wrong gradient: {x.name}: expected {format_number(x.expected)}, got {format_number(x.got)}"
        dot.attr(label=title, labelloc="t", fontname="Helvetica", fontsize="14")
        return dot


def check_backward(
    root: Any, *, rel_tol: float = REL_TOL, abs_tol: float = ABS_TOL, max_nodes: int = MAX_NODES
) -> CheckReport:
    """Compare every gradient of a learner's graph with stepgrad's (after the learner's ``backward()``).

    ∂L/∂node is recomputed by reverse accumulation with stepgrad's rules, seeded with
    ``root.grad``; the report names the first node that differs, in backward order.

    >>> report = check_backward(loss); print(report)     # doctest: +SKIP
    """
    for option, value in (("rel_tol", rel_tol), ("abs_tol", abs_tol)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
            raise ValueError(f"check_backward({option}=...) must be a finite number >= 0, got {value!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"check_backward(max_nodes=...) must be a positive int, got {max_nodes!r}")
    m = mirror(root, max_nodes)
    order = topological_order(m.root)
    seed = m.node_of[m.root].grad
    if seed == 0:
        raise ValueError(
            f"check_backward: {_name(m, m.root)}.grad is 0: run your engine's backward() first "
            "(and check that it seeds the root's gradient with 1)"
        )
    expected = engine._accumulate(order, seed, False)
    scale: dict[Value, float] = {}  # Σ |contribution| per node: the size of the numbers its sum cancelled
    blocked: dict[Value, Value] = {}  # node → the uninterpreted node its gradient flows through
    for node in reversed(order):
        reading = m.reading_of.get(node)
        source = blocked.get(node)
        if reading is not None and reading.op is None and m.node_of[node].local_grads is None:
            source = node
        g = expected.get(node, 0.0)
        for parent, d in zip(node._parents, node._local_grads or ()):
            scale[parent] = scale.get(parent, 0.0) + (abs(g * d) if g and d else 0.0)
            if source is not None:
                blocked.setdefault(parent, source)
    mismatches: list[Mismatch] = []
    unchecked: list[Unchecked] = []
    checked = 0
    for node in reversed(order):
        reading = m.reading_of.get(node)
        reasons = []
        if reading is not None and reading.op is None:
            how = "; your _local_grads are used for it" if m.node_of[node].local_grads else ""
            reasons.append(reading.note + how)
        if node in blocked:
            reasons.append(f"its gradient flows through {_name(m, blocked[node])}")
        if reasons:
            unchecked.append(Unchecked(m.node_of[node].obj, _name(m, node), "; ".join(reasons)))
        if node in blocked:
            continue
        checked += 1
        e = float(expected.get(node, 0.0))
        got = m.node_of[node].grad
        if not _close(e, got, scale.get(node, 0.0), rel_tol, abs_tol):
            mismatches.append(Mismatch(m.node_of[node].obj, _name(m, node), _formula(m, node), e, got))
    report = CheckReport(root, checked, mismatches, unchecked, [], m, expected)
    if mismatches:
        report.causes = _causes(report, order, seed, blocked, rel_tol, abs_tol, scale)
    return report


def _close(e: float, got: float, scale: float, rel_tol: float, abs_tol: float) -> bool:
    if math.isnan(e) or math.isnan(got):
        return math.isnan(e) and math.isnan(got)
    if math.isinf(e) or math.isinf(got):
        return e == got
    return abs(e - got) <= abs_tol + rel_tol * max(abs(e), abs(got), scale)


# --------------------------------------------------------------------------- names


def _names(m: Mirror) -> Mapping[Value, str]:
    if m.names is None:
        from .views.labels import node_names

        m.names = node_names(topological_order(m.root))
    return m.names


def _name(m: Mirror, node: Value) -> str:
    return _names(m)[node]


def _formula(m: Mirror, node: Value) -> str:
    """``b = a + a``, ``o = tanh(n)``, ``a (a leaf, data 2.0000)``."""
    name = _name(m, node)
    if not node._parents:
        return f"{name} (a leaf, data {_num(node._data)})"
    operands = [_name(m, p) for p in node._parents]
    op = str(node._op)
    if len(operands) == 2 and op in ("+", "*", "/", "-", "**"):
        text = f"{operands[0]} {op} {operands[1]}"
    elif len(operands) == 1 and op.startswith("**"):
        text = f"{operands[0]}{op}"
    else:
        text = f"{op}({', '.join(operands)})"
    return f"{name} = {text}   (data {_num(node._data)})"


def _num(x: float) -> str:
    return f"{x:.6g}"


# --------------------------------------------------------------------------- likely causes


def _causes(
    report: CheckReport,
    order: list[Value],
    seed: float,
    blocked: Mapping[Value, Value],
    rel_tol: float,
    abs_tol: float,
    scale: Mapping[Value, float],
) -> list[str]:
    """The common slips whose numbers fit the first difference (whole-graph fits first)."""
    m = report._mirror
    expected = report._expected
    got = {node: m.node_of[node].grad for node in order}
    compared = [node for node in order if node not in blocked]

    def fits(simulated: Mapping[Value, float], slack: float = 1.0) -> bool:
        return all(
            _close(simulated.get(n, 0.0), got[n], slack * scale.get(n, 0.0), rel_tol * slack, abs_tol * slack)
            for n in compared
        )

    causes = []
    for passes in range(2, 6):
        if fits(_simulate(order, seed, reversed(order), passes, reset=False), passes):
            causes.append(
                f"gradients left from earlier backward() calls: every gradient is what {passes} passes add up to "
                "without zeroing in between; set every node's grad to 0 before backward() (zero_grad)"
            )
            break
        if fits(_simulate(order, seed, reversed(order), passes, reset=True), passes):
            causes.append(
                f"gradients left from earlier backward() calls: the leaves hold {passes} passes' worth; "
                "zero the parameters' grads before each backward() (zero_grad)"
            )
            break
    if not causes:
        if fits(_simulate(order, seed, order, 1, reset=False)):
            causes.append(
                "nodes visited in the wrong order: inputs first, as if reversed() was left out of the backward loop; "
                "a node must pass its gradient on only once all its uses have added to it"
            )
        else:
            early: list[Value] = []
            if fits(_simulate(order, seed, _breadth_first(m.root), 1, reset=False, early=early)):
                who = f" ({', '.join(_name(m, n) for n in early[:3])})" if early else ""
                causes.append(
                    "nodes visited in the wrong order (breadth-first from the output): a node used on paths of "
                    f"different lengths{who} passed its gradient on before it was complete; walk a topological order, "
                    "reversed"
                )
    first = m.copy_of[id(report.first)]
    causes.extend(_local_causes(m, order, expected, first, report.mismatches[0].got, scale, rel_tol, abs_tol))
    return causes


def _simulate(
    order: list[Value], seed: float, visit: Any, passes: int, reset: bool, early: list[Value] | None = None
) -> dict[Value, float]:
    """The grads a learner's engine leaves after ``passes`` backward calls visiting nodes in ``visit``
    order, micrograd style (root.grad = seed, then parent.grad += node.grad · local; nothing zeroed),
    or with ``reset`` PyTorch style (intermediate grads zeroed each call, leaves accumulate)."""
    visit = list(visit)
    grads: dict[Value, float] = {}
    for _ in range(passes):
        if reset:
            for node in order:
                if node._parents:
                    grads[node] = 0.0
        grads[order[-1]] = seed
        for node in visit:
            g = grads.get(node, 0.0)
            for parent, d in zip(node._parents, node._local_grads or ()):
                if g and d:
                    grads[parent] = grads.get(parent, 0.0) + g * d
    if early is not None:  # the nodes whose gradient grew after they had passed it on
        sent = {}
        grads_once: dict[Value, float] = {order[-1]: seed}
        for node in visit:
            sent[node] = grads_once.get(node, 0.0)
            for parent, d in zip(node._parents, node._local_grads or ()):
                grads_once[parent] = grads_once.get(parent, 0.0) + sent[node] * d
        early.extend(n for n in visit if n._parents and sent[n] != grads_once.get(n, 0.0))
    return grads


def _breadth_first(root: Value) -> list[Value]:
    seen = {root}
    queue = [root]
    for node in queue:
        for parent in node._parents:
            if parent not in seen:
                seen.add(parent)
                queue.append(parent)
    return queue


def _local_causes(
    m: Mirror,
    order: list[Value],
    expected: Mapping[Value, float],
    first: Value,
    got: float,
    scale: Mapping[Value, float],
    rel_tol: float,
    abs_tol: float,
) -> list[str]:
    """Slips at the first wrong node itself, each stated where got equals what the slip computes."""
    uses = [(node, k) for node in order for k, p in enumerate(node._parents) if p is first]
    name = _name(m, first)
    contributions = [float(expected.get(c, 0.0)) * c._local_grads[k] for c, k in uses]  # type: ignore[index]
    total = math.fsum(contributions)

    def equal(value: float) -> bool:
        return _close(value, got, scale.get(first, 0.0), rel_tol, abs_tol)

    causes = []
    if len(uses) >= 2:
        for (c, _), part in zip(uses, contributions):
            if equal(part):
                users = ", ".join(sorted({_name(m, u) for u, _ in uses}))
                times = "twice" if len(uses) == 2 else f"{len(uses)} times"
                causes.append(
                    f"{name} is used {times} (by {users}) but its gradient is one contribution, "
                    f"the one through {_name(m, c)} ({_num(part)}), instead of their sum {_num(total)}: "
                    "`=` where `+=` accumulates (self.grad = ... in a _backward)"
                )
                break
    for (c, k), part in zip(uses, contributions):
        upstream = float(expected.get(c, 0.0))
        local = c._local_grads[k]  # type: ignore[index]
        if upstream != 1 and local != part and equal(total - part + local):
            causes.append(
                f"the contribution through {_name(m, c)} is its local derivative ∂{_name(m, c)}/∂{name} = "
                f"{_num(local)} alone: the upstream gradient {_num(upstream)} is missing (the chain rule multiplies "
                "the local derivative by out.grad)"
            )
            break
    for (c, _), part in zip(uses, contributions):
        if c._op == "tanh":
            upstream = float(expected.get(c, 0.0))
            x = first._data
            slip = upstream * (1 - x * x)
            if slip != part and equal(total - part + slip):
                causes.append(
                    f"tanh's derivative at {_name(m, c)} was taken from its input x = {_num(x)} (1 − x² = "
                    f"{_num(1 - x * x)}) instead of its output t = {_num(c._data)} (1 − t² = {_num(1 - c._data**2)})"
                )
                break
    if not causes and len(uses) >= 2:
        for missing in range(len(uses)):
            if equal(total - contributions[missing]) and contributions[missing]:
                causes.append(
                    f"the contribution through {_name(m, uses[missing][0])} ({_num(contributions[missing])}) never "
                    "arrived: it passed its gradient on before that gradient was complete, or not at all"
                )
                break
    return causes


# --------------------------------------------------------------------------- drawing and stepping foreign graphs


def as_values(root: Any) -> tuple[Value, dict[Value, float]]:
    """A foreign graph as a stepgrad copy and the learner's gradient of each copied node (for ``draw_dot``)."""
    if not is_foreign_node(root):
        raise TypeError(
            f"needs an autograd.Value or a node of a micrograd-like graph (data, grad and _prev or _children), "
            f"got {type(root).__name__}"
        )
    m = mirror(root)
    return m.root, {copy: node.grad for copy, node in m.node_of.items()}


class ForeignStep(Step):
    """A step of stepgrad's backward pass over a copy of a learner's graph, with the learner's gradients."""

    def explain(self, number: int | None = None, total: int | None = None) -> str:
        text = super().explain(number, total)
        steps = self._steps
        assert isinstance(steps, ForeignSteps)
        lines = [text]
        for u in self.updates:
            learner = steps.mirror.node_of[u.parent].grad
            right = steps.final[u.parent]
            mark = "" if _close(right, learner, 0.0, REL_TOL, ABS_TOL) else "   ✗ differs"
            lines.append(
                f"  your engine's ∂{steps.root_name}/∂{u.parent_name} = {steps.format(learner)}, "
                f"stepgrad's after the pass = {steps.format(right)}{mark}"
            )
        return "\n".join(lines)


class ForeignSteps(BackwardSteps):
    """``backward_steps`` of a learner's graph: stepgrad's pass over a copy, each step with the learner's numbers."""

    def __init__(self, root: Any, gradient: float = 1.0):
        if not is_foreign_node(root):
            raise TypeError(
                "backward_steps() needs an autograd.Value or a node of a micrograd-like graph, "
                f"got {type(root).__name__}"
            )
        self.mirror = mirror(root)
        super().__init__(self.mirror.root, gradient)
        order = topological_order(self.mirror.root)
        got = engine._accumulate(order, float(self.gradient), False)
        self.final = {node: float(got.get(node, 0.0)) for node in order}

    @staticmethod
    def format(x: float) -> str:
        from .views.labels import format_number

        return format_number(x)

    def _advance(self) -> Step:
        step = super()._advance()
        foreign = ForeignStep(self, step.index, step.node, step.upstream, step.updates)
        self._done[-1] = foreign
        return foreign


def foreign_steps(root: Any, gradient: float = 1.0) -> ForeignSteps:
    """``backward_steps`` for a learner's graph (see ``ForeignSteps``)."""
    return ForeignSteps(root, gradient)


def find_roots(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The roots a script left in its globals: ``{name: node}`` for every micrograd-like node with parents
    and a nonzero gradient that is not upstream of another such node (read as ``check_backward`` reads)."""
    candidates: dict[str, Any] = {}
    seen: set[int] = set()
    for name, obj in namespace.items():
        if name.startswith("__") or not is_foreign_node(obj) or id(obj) in seen:
            continue
        node = read_node(obj)
        if node.parents and node.grad != 0:
            candidates[name] = obj
            seen.add(id(obj))
    upstream: set[int] = set()
    for obj in candidates.values():
        if id(obj) not in upstream:
            upstream.update(key for key in mirror(obj).copy_of if key != id(obj))
    return {name: obj for name, obj in candidates.items() if id(obj) not in upstream}
