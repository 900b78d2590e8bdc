"""Compile, stage 2: scheduling, the traced graph → a program. The graph the returned Values depend on
becomes ``_Node``s with roles; constants are folded, chains of ``+`` merged into n-ary sums and products a
sum alone uses fused into it; every node gets a level; the nodes of one op at one level form one kernel;
slots are given out; and each kernel's edge sets are planned as assignments, additions or segment sums.
"""

from __future__ import annotations

import math
from typing import Any

from .. import engine
from ..engine import Op, Value
from . import checks
from .arrays import _numpy
from .kernels import (
    _ADD,
    _ASSIGN,
    _MATMUL,
    _PRODUCT,
    _SEGMENTS,
    _TERM,
    _element_wise_kernel,
    _index,
    _Kernel,
    _plan,
    _Scatter,
    _sum_kernel,
)
from .program import Program, ProgramStats
from .trace import TraceError, _describe, _Tracer

np: Any = _numpy()  # this module is imported by compiled(), after numpy


class _Node:
    """A node of the traced graph while it is scheduled."""

    __slots__ = ("value", "op", "parents", "pairs", "runs", "kind", "level", "uses", "slot", "position", "need",
                 "live", "data", "covered", "order")  # fmt: skip

    def __init__(self, value: Value, kind: str, position: int = -1):
        self.value = value
        self.op: Any = value._op
        self.parents: list[_Node] = []  # a sum's terms computed elsewhere
        self.pairs: list[tuple[_Node, _Node]] = []  # a sum's products computed inside it: (a, b) for a·b
        self.runs: list[list[Any]] = []  # a sum's terms in order: a run of terms, a run of products (pairs), ...
        self.kind = kind  # "constant", "param", "value", "number" (leaves), "op", "merged", "fused"
        self.position = position  # a Value argument's or a number's index among the arguments
        self.level = 0
        self.uses = 0
        self.slot = -1
        self.need = False  # its gradient is needed: a parameter or a Value argument upstream, or returned
        self.live = False  # the loss depends on it
        self.data = value._data
        self.covered = 1  # nodes of the traced graph it computes: itself, the sums it merged, its products
        self.order = -1  # its place among the nodes fn made (eager's order)

    def inputs(self) -> list[_Node]:
        return self.parents + [x for pair in self.pairs for x in pair]


def _graph_of(returned: list[Value], tracer: _Tracer, values: list[Value]) -> tuple[list[_Node], list[_Node], int]:
    """Every node the returned Values depend on, as _Nodes with their roles, parents before children
    (an iterative depth-first post-order, so any depth); the returned nodes; the graph's depth.

    A node made outside fn with parents of its own is refused (its graph is not traced), and so is a
    node inside fn that the engine does not differentiate by its op's rule. Nodes fn made but did not
    return anything computed from are kept where their op can fail (a log, a division, a user's op):
    eager computes them, so a replay raises where they have no value, as eager does."""
    value_position = {v: i for i, v in enumerate(values)}
    inputs, made = tracer.inputs, tracer.made
    nodes: dict[Value, _Node] = {}
    ordered: list[_Node] = []
    depth = 0
    stack: list[Any] = list(reversed(returned))
    unreturned = True
    while stack or unreturned:
        if not stack:  # what the returned Values depend on is done: then the unused nodes that can fail
            unreturned = False
            stack = list(reversed(checks.unused_that_can_fail(made, nodes)))
            continue
        v = stack.pop()
        if v is None:  # its parents are done: finish it
            v = stack.pop()
            node = _Node(v, "op")
            node.order = made[v]
            node.parents = ps = [nodes[p] for p in v._parents]
            level = 0
            for p in ps:
                p.uses += 1
                if p.level > level:
                    level = p.level
            node.level = level + 1
            if level >= depth:
                depth = level + 1
        elif v in nodes:
            continue
        elif v._parents:
            if v not in made:
                raise TraceError(
                    f"compiled: the function used a Value computed outside it ({_describe(v)}), whose graph the "
                    "trace does not hold: compute it inside the function, or pass its number as an argument"
                )
            _check_rule(v)
            nodes[v] = None  # type: ignore[assignment]  # entered; made when its parents are done
            stack.append(v)
            stack.append(None)
            for parent in reversed(v._parents):
                if parent not in nodes:
                    stack.append(parent)
            continue
        elif v in inputs:
            node = _Node(v, "number", inputs[v])
        elif v in value_position:
            node = _Node(v, "value", value_position[v])
        else:
            node = _Node(v, "constant" if v in made else "param")
        nodes[v] = node
        ordered.append(node)
    outputs = [nodes[v] for v in returned]
    for node in outputs:
        node.uses += 1  # a returned node is needed as it is: never merged away
        node.need = True  # and its gradient is returned with it
    return ordered, outputs, depth


def _check_rule(node: Value) -> None:
    """A node computed inside fn must be differentiated by its ``Op``'s rule: not built by hand, and
    without a ``_backward`` closure of its own (micrograd style)."""
    if not isinstance(node._op, Op):
        raise TraceError(
            f"compiled: node {node!r} (op {str(node._op)!r}) was built by hand with Value(data, children, ...): "
            "its local derivatives are numbers frozen at trace time; declare the operation with autograd.Op"
        )
    if engine._own_backward(node) is not None:
        raise TraceError(
            f"compiled: node {node!r} has its own _backward closure (micrograd style): a compiled program needs "
            "the operation declared with autograd.Op (forward and partials), which it evaluates on arrays"
        )


def _positive_zero(x: float) -> bool:
    return x == 0.0 and math.copysign(1.0, x) > 0


def _simplify(ordered: list[_Node]) -> tuple[int, int, int]:
    """Fold nodes of constants alone into constants; merge chains of + into n-ary sums; compute the
    products a sum alone uses inside it. Returns how many nodes were folded, merged and fused."""
    folded = flattened = fused = 0
    for node in ordered:
        if node.kind != "op":
            continue
        if all(p.kind == "constant" for p in node.parents):  # its traced number is the constant
            node.kind = "constant"
            folded += 1
            continue
        if node.op is not engine.ADD and node.op is not engine.SUM:
            continue
        node.op = engine.SUM
        # A sum whose first operand is a sum used only here takes over that sum's terms: the additions
        # stay left to right from 0.0, as the engine adds: (a + b) + c = ((0 + a) + b) + c.
        first = node.parents[0]
        if first.kind == "op" and first.op is engine.SUM and first.uses == 1:
            node.parents = first.parents + node.parents[1:]
            node.covered += first.covered
            first.kind = "merged"
            flattened += 1
        # A term +0.0 changes nothing in a sum added from 0.0 (its partial sums are never -0.0): dropped
        # (micrograd's sum(...) starts with one).
        kept = [p for p in node.parents if not (p.kind == "constant" and _positive_zero(p.data))]
        node.parents = kept or node.parents[:1]
    for node in ordered:
        if node.kind != "op" or node.op is not engine.SUM:
            continue
        # Products used by this sum alone are computed inside it (a dot product); its terms become runs
        # of plain terms and of products, in their order.
        if not any(p.kind == "op" and p.op is engine.MUL and p.uses == 1 for p in node.parents):
            continue
        runs: list[list[Any]] = [[]]
        for p in node.parents:
            product = p.kind == "op" and p.op is engine.MUL and p.uses == 1
            if product != (len(runs) % 2 == 0):
                runs.append([])
            if product:
                runs[-1].append((p.parents[0], p.parents[1]))
                p.kind = "fused"
                fused += 1
            else:
                runs[-1].append(p)
        node.runs = runs
        node.parents = [p for run in runs[0::2] for p in run]
        node.pairs = [pair for run in runs[1::2] for pair in run]
        node.covered += len(node.pairs)
    return folded, flattened, fused


def _schedule(returned: list[Value], loss: Value, tracer: _Tracer, number_count: int, values: list[Value]) -> Program:
    """The program of a traced graph: roles, folding, flattening, fusing, levels, slots, kernels."""
    ordered, outputs, levels_traced = _graph_of(returned, tracer, values)
    folded, flattened, fused = _simplify(ordered)
    program_nodes = [node for node in ordered if node.kind == "op"]
    for node in program_nodes:
        node.level = 1 + max((p.level if p.kind == "op" else 0 for p in node.inputs()), default=0)
    for node in ordered:  # gradients needed: parameters, Value arguments, what depends on them, what is returned
        if node.kind in ("param", "value") or (node.kind == "op" and any(p.need for p in node.inputs())):
            node.need = True
    loss_node = outputs[next(k for k, v in enumerate(returned) if v is loss)]
    loss_node.live = True
    for node in reversed(program_nodes):
        if node.live:
            for p in node.inputs():
                p.live = True

    groups: dict[tuple[Any, ...], list[_Node]] = {}
    for node in program_nodes:
        arity = -1 if node.op is engine.SUM else len(node.parents)
        groups.setdefault((node.level, str(node.op), arity, id(node.op)), []).append(node)
    kernels = [groups[key] for key in sorted(groups, key=lambda key: key[:3])]
    with np.errstate(all="ignore"):
        plans = [_plan(group) if group[0].op is not engine.SUM else None for group in kernels]

    # slots: constants (copied in per call), parameters, Value arguments, numbers (filled per call),
    # then the kernels' outputs, level by level and op by op
    program = Program()
    constants = [node for node in ordered if node.kind == "constant"]
    params = [node for node in ordered if node.kind == "param"]
    program.constants = np.array([node.data for node in constants], dtype=float)
    program.params = [node.value for node in params]
    program.param_start = len(constants)
    program.value_start = program.param_start + len(params)
    program.number_start = program.value_start + len(values)
    program.number_count = number_count
    for i, node in enumerate(constants):
        node.slot = i
    for i, node in enumerate(params):
        node.slot = program.param_start + i
    for node in ordered:
        if node.kind == "value":
            node.slot = program.value_start + node.position
        elif node.kind == "number":
            node.slot = program.number_start + node.position
    slot = program.number_start + number_count
    for group in kernels:
        for node in group:
            node.slot = slot
            slot += 1
    program.size = slot
    program.kernel_list = [
        _sum_kernel(group) if plan is None else _element_wise_kernel(group, plan) for group, plan in zip(kernels, plans)
    ]
    edges = _plan_scatters(program.kernel_list, program.size)
    program.loss_slot = loss_node.slot
    program.outputs = np.array([node.slot for node in outputs], dtype=np.intp)
    program.roles = [
        ("param", params.index(node)) if node.kind == "param" else ("value", node.position)
        if node.kind == "value" else ("new", 0)
        for node in outputs
    ]  # fmt: skip
    program.stats = ProgramStats(
        nodes_traced=len(ordered),
        nodes=len(program_nodes),
        constants=len(constants),
        parameters=len(params),
        inputs=number_count + len(values),
        sums_flattened=flattened,
        products_fused=fused,
        constants_folded=folded,
        levels_traced=levels_traced,
        levels=max((node.level for node in program_nodes), default=0),
        kernels=len(program.kernel_list),
        edges=edges,
        element_wise=tuple(sorted({str(g[0].op) for g, p in zip(kernels, plans) if p is not None and p.element_wise})),
        trace_seconds=0.0,
        schedule_seconds=0.0,
    )
    return program


def _plan_scatters(kernels: list[_Kernel], size: int) -> int:
    """How each edge set adds into its parents. Where a parent has this one edge in the whole backward,
    its gradient *is* the contribution: assigned. Where each parent occurs once in the set: added in
    place. Otherwise a segment sum over the set's distinct parents first. A set mixing the first kind
    with the others is split in two. Sets each kernel's ``scatters`` (``_Scatter``s) from its ``edge_sets``;
    returns the number of edges."""
    edges_into = np.zeros(size, dtype=np.intp)
    edges = 0
    for kernel in kernels:
        for edge_set in kernel.edge_sets:
            edges_into += np.bincount(edge_set.parents, minlength=size)
            edges += len(edge_set.rows.per_product[0]) if edge_set.kind == _MATMUL else len(edge_set.parents)
    for kernel in kernels:
        planned = []
        for kind, source, rows, pick, parents in kernel.edge_sets:
            alone = edges_into[parents] == 1
            if kind == _MATMUL and not alone.all():  # a matmul's contributions are not split
                alone[:] = False
            if alone.all() or not alone.any():
                parts = [(rows, pick, parents, bool(alone.all()))]
            else:
                everything = np.arange(len(parents))
                parts = [(*_subset(kind, rows, pick, everything[part]), parents[part], single)
                         for part, single in ((alone, True), (~alone, False))]  # fmt: skip
            for part_rows, part_pick, targets, single in parts:
                if single:
                    planned.append(_Scatter(kind, source, part_rows, part_pick, _index(targets), _ASSIGN, None, 0))
                    continue
                distinct, inverse = np.unique(targets, return_inverse=True)
                if len(distinct) == len(targets):
                    planned.append(_Scatter(kind, source, part_rows, part_pick, _index(targets), _ADD, None, 0))
                else:
                    planned.append(_Scatter(kind, source, part_rows, part_pick, _index(distinct), _SEGMENTS,
                                            inverse.ravel(), len(distinct)))  # fmt: skip
        kernel.scatters = [tuple(scatter) for scatter in planned]  # exact tuples: unpacked 3× faster per replay
    return edges


def _subset(kind: int, rows: Any, pick: Any, chosen: Any) -> tuple[Any, Any]:
    """(rows, pick) of the edges ``chosen`` (positions within the set) of an edge set."""
    if kind == _TERM:
        return (chosen if rows is None else rows[chosen]), None
    if kind == _PRODUCT:
        return rows[chosen], (chosen if pick is None else pick[chosen])
    return None, (chosen if pick is None else pick[chosen])
