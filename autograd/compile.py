"""Compile: record a function's scalar graph once per input structure, replay it as numpy kernels.

Every training step of micrograd's demo builds the same 38,718-node graph with new numbers, and every
step of microgpt one of sixteen graphs (one per name length). ``compiled(fn)`` records the graph the
first time it meets an input structure and then replays it: forward and backward as a few dozen numpy
kernels instead of tens of thousands of Python objects (the idea of JAX's ``jit``, ``torch.jit.trace``
and tinygrad's scheduler, on scalars).

>>> step = compiled(lambda xs: sum_values([x * w for x, w in zip(xs, weights)]))   # doctest: +SKIP
>>> loss = step([1.0, 2.0])    # the first call traces: the eager result, and backward() ran
>>> loss = step([3.0, 4.0])    # replayed: w.grad += ∂loss/∂w for every weight, as backward() gives

**What a call does.** The arguments are data: numbers, ``Value``s, and lists or tuples of them, nested
(``static_argnums`` marks arguments that are not: hashable objects such as labels, part of the key).
The *structure* of the arguments (nesting, lengths, which items are numbers and which ``Value``s) picks
a program from a bounded cache. The first call for a structure runs ``fn`` eagerly on ``Value``s made
from the numbers, runs ``backward()`` on the loss and returns exactly what ``fn`` returned. Every later
call replays the program: it reads each parameter's ``.data`` fresh (so an optimizer's update between
calls is seen), computes the forward values and the gradients as array kernels, and adds ∂loss/∂p to
the ``.grad`` of every leaf the graph reached — parameters and ``Value`` arguments — accumulating as
``backward()`` does. ``fn`` returns the ``Value`` to differentiate (the loss), or a tuple
``(loss, *aux)`` whose other items (``Value``s, numbers, lists of them) are computed and returned too.
A replay returns the same shape: each ``Value`` computed inside ``fn`` comes back as a new leaf holding
its number in ``.data`` and ∂loss/∂v in ``.grad`` (the loss: 1.0); parameters and ``Value`` arguments
come back as themselves. Interior nodes do not exist on a replay: there is no graph to walk or draw.
The parameters are the leaves the trace reached: after replacing one by a new ``Value`` (rather than
changing its ``.data``), call ``clear()``. As in JAX, an argument is an input: a ``Value`` passed as an
argument that ``fn`` also closes over (``compiled(lambda x: x * w)(w)``) is traced as two leaves, so a
later call with another argument computes ``v * w``. ``Value(x)`` of a traced ``x`` is ``x`` itself.

**What is frozen at trace time** (as in JAX's ``jit`` and ``torch.jit.trace``): Python control flow,
and any number read out of a traced ``Value`` (``.data``, a comparison such as ``x > 0``, ``repr``,
``str``, an f-string, ``.local_grads``). Such a read warns once per source line (``TracerWarning``,
naming the file and line); ``strict=True`` makes it an error (``TraceError``). Numbers and ``Value``s
made inside ``fn`` (the 2 in ``x * 2``, ``Value(3.0)``) are constants, folded into the program.

**One rule, three evaluators.** Each op's partials in the engine's rule table are written with
arithmetic and ``autograd``'s functions, which dispatch on numpy arrays through the registry
``engine._ARRAY_FUNCTIONS`` filled here: the same rules give the local derivatives on floats
(``backward``), on ``Value``s (``create_graph``) and on arrays (here). There is no second table of
derivatives; the forwards of the built-in ops on arrays are numpy's functions (``ARRAY_FORWARDS``).
A user-defined ``Op`` compiles with no extra code: its forward and partials are tried on arrays and
checked against the float rule at the traced numbers and at probes of both signs, and evaluated
element by element where they differ or raise (``math.*``, a Python ``if`` on the input): the same
rule gives the same result at every kernel size, and no partial is frozen at its traced number.

**Numbers** follow the engine's policy: IEEE 754 values (±inf, nan flow through); an operation with no
value at its input raises the engine's own error, named as eagerly (where a kernel's operand or
result is ±inf or nan, or an element-wise op raised, the engine's scalar forward recomputes it and
raises where eager does; of several failing nodes, the one eager meets first, and nodes ``fn`` made
but did not use are computed where their op can fail, as eager computes them); a contribution through a
zero gradient or a zero local derivative is 0, never 0·∞ = nan.

**How it is fast.** The traced graph is simplified, then scheduled into kernels:

- a chain of binary ``+`` whose intermediate sums are used once becomes one n-ary sum (micrograd's
  ``sum(losses)`` is 100 deep, its ``Σ p²`` 337), added left to right from 0.0 as the engine adds;
  a constant term +0.0 is dropped and nodes of constants alone are folded;
- products used by one sum alone are computed inside it (a dot product: never stored), and where
  they form a matrix product — a layer applied at every position, a one-hot embedding — by one
  matmul per block;
- every node gets a *level* (1 + its parents' highest) and the nodes of one op at one level form one
  kernel: a gather of the operands (a slice where their slots are consecutive), the op's forward on
  arrays into one slice of a buffer, and the local partials backward needs — none where a partial is
  a constant (``+``), an operand (``*``: ∂(ab)/∂a = b) or the output (``exp``);
- backward runs kernel by kernel in reverse: upstream gradient × local derivative for each set of
  edges, assigned to a parent with no other edge, added where each parent occurs once, or summed per
  parent first (``numpy.bincount``).

A replay does Python work per kernel and per parameter (reading ``.data``, adding to ``.grad``), none
per node. Its numbers agree with eager to rounding: sums of terms keep the engine's order, but a
matmul and a gradient's contributions add in another order (relative differences of about 1e-15).
A replay keeps its numbers in arrays of its own, so a compiled function may run in several threads.

numpy is imported when ``compiled`` is first called (``pip install 'stepgrad[compile]'``); the engine
itself never imports it.
"""

from __future__ import annotations

import functools
import gc
import math
import numbers
import operator
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING, Any

from . import _compile_checks, engine, modes
from .engine import Op, Value

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.figure

__all__ = ["Compiled", "Program", "ProgramStats", "TraceError", "TracerWarning", "compiled"]

INSTALL = "pip install 'stepgrad[compile]'"
DEFAULT_CACHE_SIZE = 32
MAX_DEPTH = 64  # nesting levels of the arguments (deeper: a list that contains itself, or not data)
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


class TracerWarning(UserWarning):
    """A traced value was read as a number while a compiled function was traced: it is frozen."""


class TraceError(RuntimeError):
    """A function cannot be compiled as traced (a frozen read under ``strict=True``, a node without a rule, ...)."""


# =========================================================================== numpy, and the ops on arrays

np: Any = None  # numpy, once _numpy() has imported it


def _numpy() -> Any:
    """numpy, imported on first use; registers the array implementations of the primitives with the engine."""
    global np
    if np is None:
        try:
            import numpy
        except ImportError:
            raise ImportError(
                f"autograd.compiled needs numpy, which is not installed: {INSTALL} (or pip install numpy)"
            ) from None
        np = numpy
        functions = _array_functions(numpy)
        ARRAY_FORWARDS.update(_array_forwards(numpy, functions))
        engine._ARRAY_FUNCTIONS.update({op: _arrays_only(f, op) for op, f in functions.items()})
    return np


def _arrays_only(f: Callable[..., Any], op: Any) -> Callable[..., Any]:
    """``f`` for the engine's dispatching functions: arrays only; anything else (a string, a list) gets
    the engine's own error naming the function."""
    if op == "where":
        return f
    name = f"{op.name}()"

    def on_arrays(*xs: Any) -> Any:
        for x in xs:
            if not isinstance(x, (np.ndarray, numbers.Real)):
                engine._real(x, name)  # raises: names the function and what it got
        return f(*xs)

    return on_arrays


def _array_functions(np: Any) -> dict[Any, Callable[..., Any]]:
    """The primitives behind ``autograd.exp``, ``log``, … on arrays (each named op's ``array``, from the rule
    table), and ``where``: the registry the engine's dispatching functions (and so every rule's partials)
    use for numpy arrays."""
    functions: dict[Any, Callable[..., Any]] = {op: op.array(np) for op in engine.PRIMITIVES.values() if op.array}
    functions["where"] = np.where
    return functions


# Forwards of the rule table's ops on arrays (filled from each op's ``array`` on first use). These
# are forwards only: every derivative comes from the rule table.
ARRAY_FORWARDS: dict[Any, Callable[..., Any]] = {}


def _array_forwards(np: Any, functions: dict[Any, Callable[..., Any]]) -> dict[Any, Callable[..., Any]]:
    forwards = {op: f for op, f in functions.items() if isinstance(op, Op)}
    forwards.update({op: op.array(np) for op in engine.TABLE.values() if op.array and op not in forwards})
    return forwards


def _max_partials(*xs_out: Any) -> tuple[Any, ...]:
    """The rule of MAX in engine.py (``_max_partials``) written out for a whole kernel: 1/k to each of the k
    inputs equal to the max (nan counts as the max), in a few array operations whatever the arity."""
    stack = np.stack(xs_out[:-1])
    hits = (stack == xs_out[-1]) | (stack != stack)
    return tuple(hits / hits.sum(axis=0))


def _array_forward(op: Op) -> Callable[..., Any] | None:
    """The numpy forward of an op with an ``array`` field: the table's, the families ``power(k)`` and
    ``leaky_relu_op(α)``, a user's that gives one."""
    forward = ARRAY_FORWARDS.get(op)
    if forward is not None:
        return forward
    return op.array(np) if op.array is not None else None


# =========================================================================== arguments


def _flatten_arguments(
    args: tuple[Any, ...], static: frozenset[int]
) -> tuple[tuple[Any, ...], list[float], list[Value]]:
    """(structure key, the numbers in order, the distinct Value arguments in order of first use)."""
    key: list[Any] = []
    numbers_: list[float] = []
    values: list[Value] = []
    first_use: dict[int, int] = {}

    def walk(item: Any, where: str, depth: int) -> None:
        kind = type(item)
        if kind is float:
            key.append("f")
            numbers_.append(item)
        elif kind is list or kind is tuple:
            if depth >= MAX_DEPTH:
                raise ValueError(
                    f"compiled: {where} is nested more than {MAX_DEPTH} levels deep (a list that contains itself?): "
                    "arguments are numbers, Values and lists or tuples of them"
                )
            tag = "[" if kind is list else "("
            kinds = set(map(type, item))
            if kinds <= {float}:  # a vector of floats: the common case, one token
                key.append((tag, len(item), "f"))
                numbers_.extend(item)
            elif (kinds == {list} or kinds == {tuple}) and set(map(type, chain.from_iterable(item))) <= {float}:
                key.append((tag, len(item)))  # rows of floats (a batch of samples): the tokens of walking them
                row = "[" if kinds == {list} else "("
                key.extend((row, len(r), "f") for r in item)
                numbers_.extend(chain.from_iterable(item))
            elif all(_is_number(x) for x in item):  # numbers of other types (ints, numpy floats)
                key.append((tag, len(item), "f"))
                numbers_.extend(_number(x, f"{where}[{i}]") for i, x in enumerate(item))
            else:
                key.append((tag, len(item)))
                for i, x in enumerate(item):
                    walk(x, f"{where}[{i}]", depth + 1)
        elif isinstance(item, Value):
            if item._parents:
                raise ValueError(
                    f"compiled: {where} is a Value computed by an operation ({_describe(item)}): a compiled function "
                    "takes leaves; pass its number (.data) or compute it inside the function"
                )
            position = first_use.setdefault(id(item), len(values))
            if position == len(values):
                values.append(item)
            key.append(("v", position))
        else:
            key.append("f")
            numbers_.append(_number(item, where))

    for i, arg in enumerate(args):
        if i in static:
            try:
                hash(arg)
            except TypeError:
                raise TypeError(
                    f"compiled: args[{i}] is static (static_argnums) and must be hashable, got {_a(arg)}; "
                    "pass a tuple instead of a list"
                ) from None
            key.append(("static", type(arg), arg))
        else:
            walk(arg, f"args[{i}]", 0)
    return tuple(key), numbers_, values


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, Value))


def _number(x: Any, where: str) -> float:
    """An argument's number as a float, or an error naming where it is and what it is."""
    if isinstance(x, bool):
        raise TypeError(f"compiled: {where} is a bool ({x}): pass 1.0 or 0.0, or mark the argument static")
    if not _is_number(x):
        raise TypeError(
            f"compiled: {where} is {_a(x)}: arguments are numbers, Values and (nested) lists or tuples of them; "
            "mark an argument that is not data with static_argnums"
        )
    return engine._real(x, f"compiled: {where}")


def _a(x: Any) -> str:
    text = repr(x)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{type(x).__name__} {text}"


def _describe(node: Value) -> str:
    op = node._op
    symbol = str(op) if op else ("a constant" if node.is_constant else "a leaf")
    return f"{symbol}, data {node._data!r}"


def _build_arguments(
    args: tuple[Any, ...], static: frozenset[int], values: list[Value]
) -> tuple[tuple[Any, ...], dict[Value, int], list[Value]]:
    """The arguments for the traced call: every number becomes a leaf Value ({that leaf: its index}),
    and every Value argument a stand-in leaf holding its number (one per distinct argument, in the
    order of ``values``). As in JAX, an argument is an input of its own: a Value passed as an argument
    that the function also closes over is two leaves of the program, not one."""
    made: dict[Value, int] = {}
    counter = [0]
    stand_ins = [_compile_checks.stand_in(v) for v in values]
    stand_in = {id(v): s for v, s in zip(values, stand_ins)}

    def build(item: Any) -> Any:
        if isinstance(item, (list, tuple)):
            return type(item)(build(x) for x in item)
        if isinstance(item, Value):
            return stand_in[id(item)]
        leaf = Value(float(item))
        made[leaf] = counter[0]
        counter[0] += 1
        return leaf

    return tuple(arg if i in static else build(arg) for i, arg in enumerate(args)), made, stand_ins


# =========================================================================== tracing


def _user_frame() -> tuple[str, int, str]:
    """(file, line, module) of the innermost caller outside the autograd package."""
    frame: Any = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
    if frame is None:  # pragma: no cover - only autograd frames on the stack
        return "<unknown>", 0, "autograd"
    return frame.f_code.co_filename, frame.f_lineno, frame.f_globals.get("__name__", "")


class _Tracer:
    """Watches the nodes made and the numbers read while fn runs (registered in ``modes``)."""

    def __init__(self, owner: Compiled, inputs: dict[Value, int], values: list[Value]):
        self.owner = owner
        self.made: dict[Value, int] = {}  # strong references: every node made while tracing, in eager's order
        self.inputs = inputs  # {leaf made from a number: its index among the numbers}
        self.value_inputs = set(values)
        self.modes = modes.this_thread()

    def created(self, node: Value) -> None:
        """``modes.record`` calls this for every node made while the tracer is registered."""
        self.made[node] = len(self.made)
        if self.modes.no_grad:
            self.owner._frozen("a Value computed under no_grad() inside the traced function", node)

    def read(self, node: Value) -> None:
        """``Value.data`` (and a comparison) calls this while the tracer is registered."""
        if node in self.made:
            if not node._parents:
                return  # a constant made inside fn (or under no_grad, warned when made): nothing more to freeze
            what = "a Value computed inside the traced function"
        elif node in self.inputs or node in self.value_inputs:
            what = "an input of the traced function"
        else:
            what = "a Value made outside the traced function (a parameter)"
        self.owner._frozen(what, node)


# =========================================================================== the program


@dataclass
class ProgramStats:
    """What one traced structure compiled to, and what that cost.

    ``nodes_traced``: nodes of the traced graph, leaves included. ``nodes``: nodes the kernels compute,
    after ``sums_flattened`` binary ``+`` nodes were merged into n-ary sums, ``products_fused``
    products used by one sum alone were computed inside it (a dot product: never stored), and
    ``constants_folded`` nodes of constants alone were folded. ``levels`` (``levels_traced`` before
    any of that); ``kernels``: forward kernels, one per level and op; ``edges``: chain-rule
    contributions per backward (none into constants or into input numbers). ``element_wise``: ops
    evaluated element by element (a user's op written with ``math.*``). ``trace_seconds``: the eager
    call and its backward; ``schedule_seconds``: building the program from the traced graph.
    """

    nodes_traced: int
    nodes: int
    constants: int
    parameters: int
    inputs: int
    sums_flattened: int
    products_fused: int
    constants_folded: int
    levels_traced: int
    levels: int
    kernels: int
    edges: int
    element_wise: tuple[str, ...]
    trace_seconds: float
    schedule_seconds: float


# Where the local derivative of an edge set comes from, and how its contributions reach the parents.
_TERM, _PRODUCT, _MATMUL, _CONSTANT, _INPUT, _OUTPUT, _COMPUTED = range(7)
_ASSIGN, _ADD, _SEGMENTS = range(3)


class _MatMul:
    """A sum's products that form a matrix product: node j adds Σₜ a[row_a(j), t] · b[row_b(j), t]
    over the same T positions t. Its rows of left factors (``left``, I × T slots) and of right factors
    (``right``, P × T slots) are read once and multiplied by one matmul, M = B·Aᵀ (P × I); node j
    takes M[row_b(j), row_a(j)] (``flat``). Backward: G (P × I) holds each node's upstream gradient at
    its place; ∂/∂A = Gᵀ·B, ∂/∂B = G·A. ``nodes`` are the nodes in order (None: all of the kernel's);
    ``per_product`` the node, left slot and right slot of every product, for the careful backward."""

    __slots__ = ("left", "right", "flat", "shape", "nodes", "per_product")

    def __init__(self, left: Any, right: Any, flat: Any, shape: tuple[int, int], nodes: Any, per_product: Any):
        self.left = left
        self.right = right
        self.flat = flat
        self.shape = shape
        self.nodes = nodes
        self.per_product = per_product


def _read(buf: Any, index: Any) -> Any:
    """buf[index]: a view for a slice, a gather (``take``, faster than fancy indexing) for an array."""
    return buf[index] if type(index) is slice else buf.take(index)


class _Kernel:
    """The nodes of one op at one level, computed at once into one slice of the buffer.

    An element-wise op gathers its operands, runs the op's forward on arrays and the partials its
    backward needs. An n-ary sum adds its terms left to right from 0.0 (``bincount`` adds in array
    order, as the engine adds); the products it alone uses are computed inside it (a dot product).
    Its ``blocks`` are (slots, None) for terms, (left slots, right slots) for products and (a _MatMul,
    True) for products that form a matrix product, laid out so that each node's terms come in its own
    order: its first run of terms, its first run of products, ...
    ``edges``: per set of edges, (kind, source, rows, pick, targets, how, inverse, count) — see
    ``_kernel`` and ``_plan_scatters``.
    """

    __slots__ = ("op", "level", "count", "covers", "start", "operands", "segments", "blocks", "forward", "ufunc",
                 "partials", "edges", "per_row", "order")  # fmt: skip

    def __init__(self, group: list[_Node]) -> None:
        self.op: Op = group[0].op
        self.level: int = group[0].level
        self.count = len(group)
        self.covers = sum(node.covered for node in group)  # nodes of the traced graph it computes
        self.start: int = group[0].slot  # its nodes' slots: start … start + count - 1
        self.operands: Any = None  # an element-wise op: each operand's slots (a slice or an array)
        self.segments: Any = None  # a sum: each term's node, in the order they are added
        self.blocks: Any = None  # a sum: (slots, None) for terms, (left, right) for products
        self.forward: Any = None
        self.ufunc = False  # the forward takes out=
        self.partials: Callable[..., Any] | None = None  # evaluated when some local derivative is computed
        self.edges: list[Any] = []
        self.per_row = False  # a user's op evaluated element by element (its forward or its partials)
        self.order: Any = None  # each node's place in eager's order (which error a failing replay raises)

    def run(self, buf: Any, failures: list[Any] | None = None) -> tuple[Any, Any]:
        """Compute the kernel's slice of ``buf``; returns what its backward needs (operands, partials).
        With ``failures`` (a list), carefully: see ``_compile_checks.careful_forward``."""
        start, stop = self.start, self.start + self.count
        if self.segments is not None:  # a sum: blocks of terms and of products, added in the engine's order
            pieces = []
            factors = []
            for left, right in self.blocks:
                if right is None:
                    pieces.append(_read(buf, left))
                elif type(left) is _MatMul:  # the products' sums at once: one matmul
                    a, b = buf.take(left.left), buf.take(left.right)
                    factors.append((a, b))
                    pieces.append((b @ a.T).ravel().take(left.flat))
                else:
                    a, b = _read(buf, left), _read(buf, right)
                    factors.append((a, b))
                    pieces.append(a * b)
            weights = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
            buf[start:stop] = np.bincount(self.segments, weights=weights, minlength=self.count)
            return factors, None
        args = tuple([buf[index] if type(index) is slice else buf.take(index) for index in self.operands])
        out = buf[start:stop]
        if failures is not None:
            return args, _compile_checks.careful_forward(self, args, out, failures)
        if self.ufunc:
            self.forward(*args, out=out)
        else:
            out[...] = self.forward(*args)
        return args, (self.partials(*args, out) if self.partials is not None else None)

    @staticmethod
    def _careful_matmul(grad: Any, g: Any, buf: Any, matmul: _MatMul, into_left: int) -> None:
        """A matmul's edges one product at a time, with the engine's zero-factor rule."""
        nodes, left, right = matmul.per_product
        upstream = g.take(nodes)
        d = buf.take(right if into_left else left)
        np.add.at(grad, left if into_left else right, np.where((upstream != 0) & (d != 0), upstream * d, 0.0))

    def backward(self, buf: Any, grad: Any, saved: tuple[Any, Any], careful: bool) -> None:
        """grad[parent] += grad[node] · ∂node/∂parent for every edge the backward needs."""
        g = grad[self.start : self.start + self.count]
        first, second = saved
        gathered: Any = None  # the rows whose upstream gradients were last gathered, and those gradients
        upstream: Any = None
        for kind, source, rows, pick, targets, how, inverse, count in self.edges:
            # rows: each edge's node (None: the kernel's nodes in order); pick: for a dot, each edge's
            # product; for an element-wise kernel, the nodes whose edge is needed
            if kind == _TERM:  # ∂sum/∂term = 1
                contribution = g if rows is None else g.take(rows)
            elif kind == _MATMUL:  # ∂/∂A = Gᵀ·B (source 1), ∂/∂B = G·A (source 0)
                matmul = self.blocks[pick][0]
                a, b = first[source >> 1]
                if careful:
                    self._careful_matmul(grad, g, buf, matmul, source & 1)
                    continue
                if rows is not gathered:
                    upstream, gathered = np.zeros(matmul.shape), rows
                    upstream.ravel()[matmul.flat] = g if matmul.nodes is None else g.take(matmul.nodes)
                contribution = (upstream.T @ b if source & 1 else upstream @ a).ravel()
            else:
                # the rules of MUL and SUM in engine.py, written out for whole blocks (test_compile checks the table)
                if kind == _PRODUCT:  # ∂(a·b)/∂a = b, ∂(a·b)/∂b = a: source = 2·block + (1 for b, 0 for a)
                    if rows is not gathered:
                        upstream, gathered = g.take(rows), rows
                    d = first[source >> 1][source & 1]
                    if pick is not None:
                        d = d.take(pick)
                else:
                    upstream = g
                    if kind == _CONSTANT:
                        d = source
                    elif kind == _INPUT:
                        d = first[source]
                    elif kind == _OUTPUT:
                        d = buf[self.start : self.start + self.count]
                    else:
                        d = second[source]
                if careful:  # the engine's rule: nothing flows through a zero factor (0 · ∞ is 0, not nan)
                    contribution = np.where((upstream != 0) & (d != 0), upstream * d, 0.0)
                elif kind == _CONSTANT and d == 1.0:
                    contribution = upstream
                else:
                    contribution = upstream * d
                if pick is not None and kind != _PRODUCT:
                    contribution = contribution.take(pick)
            if how == _ASSIGN:  # each parent's only edge in the whole backward: its gradient is this
                grad[targets] = contribution
            elif how == _ADD:  # each parent once in this set
                grad[targets] += contribution
            else:  # a parent several times in this set: a segment sum first
                grad[targets] += np.bincount(inverse, weights=contribution, minlength=count)


class Program:
    """One input structure's compiled step: where every number lives in one buffer, and the kernels.

    ``stats`` (a ``ProgramStats``) says what it compiled to; ``kernels()`` lists (level, op, nodes) per
    kernel; ``draw()`` pictures that.
    """

    stats: ProgramStats

    def __init__(self) -> None:
        self.constants: Any = None  # the numbers of the first slots, the constants
        self.params: list[Value] = []  # the leaves made outside fn, read fresh on every call
        self.param_start = self.value_start = self.number_start = self.number_count = 0
        self.size = 0  # slots: constants, parameters, Value arguments, numbers, then the kernels' outputs
        self.kernel_list: list[_Kernel] = []
        self.loss_slot = 0
        self.outputs: Any = None  # slots of the Values fn returned
        self.roles: list[tuple[str, int]] = []  # per returned Value: ("new", 0), ("param", i) or ("value", i)
        self.shape: Any = None  # what fn returned, with ("value", k) where the k-th Value was

    # ---- replay

    def run(self, numbers_: list[float], values: list[Value]) -> Any:
        """Forward and backward on new numbers; ∂loss/∂leaf added into every leaf's ``.grad``."""
        params = self.params
        buf, grad = self._compute(numbers_, values, np.fromiter(map(_get_data, params), float, len(params)))
        self._write_gradients(grad, values)
        return self._returned(buf, grad, values)

    def run_arrays(self, numbers_: list[float], values: list[Value], param_numbers: Any) -> tuple[float, Any]:
        """Forward and backward with the parameters' numbers given (one per ``self.params``): the loss and
        ∂loss/∂parameter as an array. No parameter's ``.data`` or ``.grad`` is read or written."""
        buf, grad = self._compute(numbers_, values, param_numbers)
        self._write_gradients(grad, values, params=False)
        return float(buf[self.loss_slot]), grad[self.param_start : self.param_start + len(self.params)]

    def _compute(self, numbers_: list[float], values: list[Value], param_numbers: Any) -> tuple[Any, Any]:
        """The buffer of every slot's number and the gradient of the loss with respect to every slot."""
        kernels = self.kernel_list
        with np.errstate(all="ignore"):
            buf = np.empty(self.size)
            buf[: len(self.constants)] = self.constants
            if self.params:
                buf[self.param_start : self.param_start + len(self.params)] = param_numbers
            if values:
                buf[self.value_start : self.value_start + len(values)] = [v._data for v in values]
            if self.number_count:
                buf[self.number_start : self.number_start + self.number_count] = numbers_
            try:
                saved = [kernel.run(buf) for kernel in kernels]
                trusted = bool(np.isfinite(buf).all())
            except Exception:  # noqa: BLE001 - a user's op, element by element, raised: see which one eager meets
                trusted = False
            if not trusted:  # ±inf or nan somewhere: kernel by kernel, the engine's numbers and errors
                failures: list[tuple[int, BaseException]] = []
                saved = [kernel.run(buf, failures) for kernel in kernels]
                if failures:  # eager stops at the first node it cannot compute: the replay raises its error
                    raise min(failures, key=lambda failure: failure[0])[1]
            grad = self._backward(buf, saved, careful=False)
            if not np.isfinite(grad).all():
                grad = self._backward(buf, saved, careful=True)
        return buf, grad

    def _backward(self, buf: Any, saved: list[tuple[Any, Any]], careful: bool) -> Any:
        """∂loss/∂slot for every slot: kernel by kernel from the last, upstream gradient × local derivative
        summed into the parents. ``careful`` applies the engine's zero-factor rule, needed only where a
        gradient came out ±inf or nan."""
        grad = np.zeros(self.size)
        grad[self.loss_slot] = 1.0
        for kernel, state in zip(reversed(self.kernel_list), reversed(saved)):
            if kernel.edges:
                kernel.backward(buf, grad, state, careful)
        return grad

    def _write_gradients(self, grad: Any, values: list[Value], params: bool = True) -> None:
        """leaf.grad += ∂loss/∂leaf for the parameters (unless ``params=False``) and Value arguments; a zero
        contributes nothing, as in backward()."""
        for leaves, start in ((self.params if params else [], self.param_start), (values, self.value_start)):
            if not leaves:
                continue
            part = grad[start : start + len(leaves)]
            nonzero = np.flatnonzero(part)
            if 2 * len(nonzero) > len(leaves):
                for leaf, g in zip(leaves, part.tolist()):
                    if g:
                        leaf.grad += g
            else:  # mostly zeros (leaves the step does not reach through a non-zero factor)
                for i, g in zip(nonzero.tolist(), part[nonzero].tolist()):
                    leaves[i].grad += g

    def _returned(self, buf: Any, grad: Any, values: list[Value]) -> Any:
        """What fn returned, with this call's numbers: a new leaf for each Value computed inside fn."""
        data = buf[self.outputs].tolist()
        grads = grad[self.outputs].tolist()
        made: list[Any] = []
        for k, (role, i) in enumerate(self.roles):
            if role == "param":
                made.append(self.params[i])
            elif role == "value":
                made.append(values[i])
            else:
                leaf = Value(data[k])
                leaf.grad = grads[k]
                made.append(leaf)

        def rebuild(shape: Any) -> Any:
            if shape[0] == "value":
                return made[shape[1]]
            if shape[0] == "object":
                return shape[1]
            return shape[1](rebuild(s) for s in shape[2])

        return rebuild(self.shape)

    # ---- looking at it

    def kernels(self) -> list[tuple[int, str, int]]:
        """(level, op, scalar nodes of the traced graph it computes) for every forward kernel, in the order
        they run. "Σ a·b" is a sum that computes its products itself (a dot product; a matrix product
        where they form one); its nodes count those products and the sums merged into it."""
        return [(k.level, _name(k), k.covers) for k in self.kernel_list]

    def draw(self, ax: Any = None, title: str | None = None) -> matplotlib.figure.Figure:
        """The program as a grid: one column per level, one row per op; each cell is one kernel, labelled
        with how many scalar nodes it computes at once (matplotlib, imported here)."""
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.colors import LogNorm
            from matplotlib.figure import Figure
        except ImportError:
            raise ImportError("Program.draw needs matplotlib: pip install 'stepgrad[demo]'") from None
        kernels = self.kernels()
        levels = max((level for level, _, _ in kernels), default=1)
        total: dict[str, int] = {}
        for _, op, count in kernels:
            total[op] = total.get(op, 0) + count
        ops = sorted(total, key=lambda op: -total[op])
        grid = np.full((len(ops), levels), np.nan)
        for level, op, count in kernels:
            grid[ops.index(op), level - 1] = count
        if ax is None:
            figure = Figure(figsize=(min(18.0, 3.0 + 0.36 * levels), 1.7 + 0.36 * len(ops)), dpi=100)
            FigureCanvasAgg(figure)
            ax = figure.add_subplot(1, 1, 1)
        else:
            figure = ax.figure
        top = max(2.0, float(np.nanmax(grid)))
        image = ax.imshow(grid, aspect="auto", cmap="YlGnBu", norm=LogNorm(vmin=1, vmax=top), interpolation="none")
        size = 8 if levels <= 24 else 6
        for level, op, count in kernels:
            text = f"{count:,}" if count < 10_000 or (levels <= 16 and count < 1_000_000) else f"{count / 1000:.0f}k"
            colour = "white" if math.log(count) > 0.6 * math.log(top) else "black"
            ax.text(level - 1, ops.index(op), text, ha="center", va="center", fontsize=size, color=colour)
        ax.set_yticks(range(len(ops)), [f"{op}  ({total[op]:,})" for op in ops])  # the op, and its nodes in all
        step = 1 if levels <= 24 else 5
        ax.set_xticks(range(0, levels, step), [str(i + 1) for i in range(0, levels, step)])
        ax.set_xlabel("level: forward runs left to right, backward right to left")
        s = self.stats
        heading = f"{s.nodes_traced:,} scalar nodes → {s.kernels} kernels in {s.levels} levels"
        ax.set_title(title or heading, fontsize=10)
        figure.colorbar(image, ax=ax, label="scalar nodes in the kernel", pad=0.01)
        figure.tight_layout()
        return figure


_get_data = operator.attrgetter("_data")


def _name(kernel: _Kernel) -> str:
    if kernel.blocks is None:
        return str(kernel.op)
    return "Σ a·b" if any(right is not None for _, right in kernel.blocks) else "+"


# =========================================================================== scheduling: traced graph → program


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
            stack = list(reversed(_compile_checks.unused_that_can_fail(made, nodes)))
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
    program.kernel_list = [_kernel(group, plan) for group, plan in zip(kernels, plans)]
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


class _Plan:
    """How an element-wise kernel computes: its forward on arrays, and where each operand's local
    derivative comes from — ("constant", number): the same for every node (a number from the rule);
    ("input", j): the kernel's own j-th operand (MUL's ∂/∂a = b); ("output", 0): its own result (EXP's
    ∂/∂x = eˣ); ("computed", i): the rule evaluated on arrays at every replay (TANH's 1 − out²)."""

    __slots__ = ("forward", "partials", "sources", "element_wise")

    def __init__(self) -> None:
        self.forward: Callable[..., Any] | None = None
        self.partials: Callable[..., Any] | None = None
        self.sources: list[tuple[str, Any]] = []
        self.element_wise = False


def _plan(group: list[_Node]) -> _Plan:
    """Probe the op on the kernel's traced numbers: its forward on arrays and its partials on arrays."""
    plan = _Plan()
    op = group[0].op
    arity = len(group[0].parents)
    xs = [np.array([node.parents[i].data for node in group], dtype=float) for i in range(arity)]
    out = np.array([node.data for node in group], dtype=float)
    user = op.array is None  # an op with an array forward (the table's, power(k), leaky_relu_op(α)) is trusted
    # a user's rule runs on arrays only where it gives eager's numbers there, at the traced points and at
    # probes of both signs (never frozen: a Python `if` on an array of several numbers raises)
    forward_ok, partials_ok = _compile_checks.rule_on_arrays(op, xs) if user else (False, True)
    plan.forward = _array_forward(op) or (op.forward if forward_ok else None)
    if plan.forward is None:
        plan.forward = _element_wise(op.forward, single=True)
        plan.element_wise = True
    try:
        if not partials_ok:
            raise ValueError("the rule gives other numbers on arrays than on floats")
        local = engine._checked_partials(op, op.partials(*xs, out), arity)
    except Exception:  # noqa: BLE001 - a user's rule written with math.*, or with `if` on its inputs
        if not user:
            raise
        plan.partials = _element_wise(lambda *xs_out: engine._partials_at(op, xs_out[:-1], xs_out[-1]), single=False)
        plan.element_wise = True
        plan.sources = [("computed", i) for i in range(arity)]
        return plan
    plan.partials = _max_partials if op is engine.MAX else op.partials
    for i, d in enumerate(local):
        if np.ndim(d) == 0:
            plan.sources.append(("constant", float(d)))
        elif d is out:
            plan.sources.append(("output", 0))
        elif any(d is x for x in xs):
            plan.sources.append(("input", next(j for j, x in enumerate(xs) if d is x)))
        else:
            plan.sources.append(("computed", i))
    return plan


def _element_wise(f: Callable[..., Any], single: bool) -> Callable[..., Any]:
    """``f`` applied to one element of each array at a time: a forward (``single``) or partials."""

    def element_wise(*arrays: Any) -> Any:
        rows = [f(*row) for row in zip(*[a.tolist() for a in arrays])]
        if single:
            return np.array(rows, dtype=float)
        return tuple(np.array(column, dtype=float) for column in zip(*rows))

    return element_wise


def _index(slots: Any) -> Any:
    """An index array as a slice where it is a run of consecutive slots (a view instead of a gather)."""
    slots = np.asarray(slots, dtype=np.intp)
    if len(slots) and slots[-1] - slots[0] == len(slots) - 1 and (len(slots) == 1 or (np.diff(slots) == 1).all()):
        return slice(int(slots[0]), int(slots[-1]) + 1)
    return slots


def _kernel(group: list[_Node], plan: _Plan | None) -> _Kernel:
    """The kernel of one group, with its backward's edge sets (kind, source, rows, pick, parents): per
    operand position (or a sum's terms, a dot's left and right factors), the edges the backward needs —
    the loss depends on the node and the parent's gradient is needed. ``rows`` picks each edge's node
    (its upstream gradient) where that is not simply the kernel's nodes in order; ``pick`` keeps the
    needed ones of an element-wise kernel's nodes."""
    kernel = _Kernel(group)
    edges = kernel.edges
    if kernel.op is engine.SUM:
        runs = [node.runs or [node.parents] for node in group]
        blocks: list[tuple[Any, Any]] = []
        segments: list[int] = []
        for r in range(max(len(node_runs) for node_runs in runs)):
            block = [(j, x) for j, node_runs in enumerate(runs) if r < len(node_runs) for x in node_runs[r]]
            if not block:
                continue
            matmul = _as_matmul(block, len(group)) if r % 2 else None
            if matmul is not None:  # products that form a matrix product: one sum per node, by a matmul
                number = sum(1 for left, right in blocks if right is not None)
                segments += matmul.nodes.tolist() if matmul.nodes is not None else list(range(len(group)))
                blocks.append((matmul, True))
                for side in (0, 1):  # into the left factors (∂/∂A = Gᵀ·B), then into the right ones
                    if any(group[j].live and pair[side].need for j, pair in block):
                        slots = (matmul.left if side == 0 else matmul.right).ravel()
                        edges.append([_MATMUL, 2 * number + (1 - side), matmul, len(blocks) - 1, slots.tolist()])
                continue
            segments += [j for j, _ in block]
            if r % 2 == 0:  # terms: ∂sum/∂term = 1
                blocks.append((_index([t.slot for _, t in block]), None))
                keep = [group[j].live and t.need for j, t in block]
                if any(keep):
                    rows = [j for (j, _), k in zip(block, keep) if k]
                    parents = [t.slot for (_, t), k in zip(block, keep) if k]
                    edges.append([_TERM, None, _rows(rows, len(group)), None, parents])
                continue
            blocks.append((_index([a.slot for _, (a, _) in block]), _index([b.slot for _, (_, b) in block])))
            number = sum(1 for left, right in blocks if right is not None) - 1
            shared: tuple[list[int], Any] = ([], None)  # both sides of the same products: one gather of g
            for side in (0, 1):  # into the left factors (∂/∂a = b), then into the right ones (∂/∂b = a)
                keep = [group[j].live and pair[side].need for j, pair in block]
                if any(keep):
                    chosen = [i for i, k in enumerate(keep) if k]
                    if chosen != shared[0]:
                        shared = (chosen, np.array([block[i][0] for i in chosen], dtype=np.intp))
                    parents = [block[i][1][side].slot for i in chosen]
                    pick = None if len(chosen) == len(block) else np.array(chosen, dtype=np.intp)
                    edges.append([_PRODUCT, 2 * number + (1 - side), shared[1], pick, parents])
        kernel.blocks = blocks
        kernel.segments = np.array(segments, dtype=np.intp)
        return kernel
    assert plan is not None
    arity = len(group[0].parents)
    kernel.operands = [_index([node.parents[i].slot for node in group]) for i in range(arity)]
    kernel.forward = plan.forward
    kernel.ufunc = isinstance(plan.forward, np.ufunc)
    kernel.per_row = plan.element_wise
    kernel.order = np.array([node.order for node in group], dtype=np.intp)
    computed = False
    for i, (kind, source) in enumerate(plan.sources):
        keep = [node.live and node.parents[i].need for node in group]
        if not any(keep):
            continue
        code = {"constant": _CONSTANT, "input": _INPUT, "output": _OUTPUT, "computed": _COMPUTED}[kind]
        computed = computed or code == _COMPUTED
        pick = None if all(keep) else np.flatnonzero(keep)
        edges.append([code, source, None, pick, [node.parents[i].slot for node, k in zip(group, keep) if k]])
    if computed:
        kernel.partials = plan.partials
    return kernel


def _as_matmul(block: list[tuple[int, tuple[_Node, _Node]]], count: int) -> _MatMul | None:
    """The block's products as a matrix product, if every node has T of them and the nodes' rows of
    left factors and of right factors form (most of) a grid: a linear layer applied at each position
    (weight rows × input vectors), a one-hot embedding. None where that does not pay (small blocks,
    sparse grids such as causal attention)."""
    if len(block) < 64:
        return None
    nodes: list[int] = []
    for j, _ in block:
        if not nodes or nodes[-1] != j:
            nodes.append(j)
    width = len(block) // len(nodes)
    if width * len(nodes) != len(block):
        return None
    lefts: dict[tuple[int, ...], int] = {}
    rights: dict[tuple[int, ...], int] = {}
    places = []
    for k, j in enumerate(nodes):
        products = block[k * width : (k + 1) * width]
        if any(node != j for node, _ in products):
            return None
        left = tuple(a.slot for _, (a, _) in products)
        right = tuple(b.slot for _, (_, b) in products)
        places.append((rights.setdefault(right, len(rights)), lefts.setdefault(left, len(lefts))))
    if len(lefts) * len(rights) > 2 * len(nodes) + 8:  # most of the grid would be computed for nothing
        return None
    flat = np.array([p * len(lefts) + i for p, i in places], dtype=np.intp)
    left_slots = np.array(list(lefts), dtype=np.intp).reshape(len(lefts), width)
    right_slots = np.array(list(rights), dtype=np.intp).reshape(len(rights), width)
    per_product = (
        np.array([j for j, _ in block], dtype=np.intp),
        np.array([a.slot for _, (a, _) in block], dtype=np.intp),
        np.array([b.slot for _, (_, b) in block], dtype=np.intp),
    )
    in_order = nodes == list(range(count))
    return _MatMul(
        left_slots,
        right_slots,
        flat,
        (len(rights), len(lefts)),
        None if in_order else np.array(nodes, dtype=np.intp),
        per_product,
    )


def _rows(rows: list[int], count: int) -> Any:
    """Each edge's node, or None where the edges are the kernel's nodes, one each, in order."""
    return None if rows == list(range(count)) else np.array(rows, dtype=np.intp)


def _plan_scatters(kernels: list[_Kernel], size: int) -> int:
    """How each edge set adds into its parents. Where a parent has this one edge in the whole backward,
    its gradient *is* the contribution: assigned. Where each parent occurs once in the set: added in
    place. Otherwise a segment sum over the set's distinct parents first. A set mixing the first kind
    with the others is split in two. Returns the number of edges."""
    edges_into = np.zeros(size, dtype=np.intp)
    edges = 0
    for kernel in kernels:
        for edge_set in kernel.edges:
            edge_set[4] = np.array(edge_set[4], dtype=np.intp)
            edges_into += np.bincount(edge_set[4], minlength=size)
            edges += len(edge_set[2].per_product[0]) if edge_set[0] == _MATMUL else len(edge_set[4])
    for kernel in kernels:
        planned = []
        for kind, source, rows, pick, parents in kernel.edges:
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
                    planned.append((kind, source, part_rows, part_pick, _index(targets), _ASSIGN, None, 0))
                    continue
                distinct, inverse = np.unique(targets, return_inverse=True)
                if len(distinct) == len(targets):
                    planned.append((kind, source, part_rows, part_pick, _index(targets), _ADD, None, 0))
                else:
                    planned.append((kind, source, part_rows, part_pick, _index(distinct), _SEGMENTS, inverse.ravel(),
                                    len(distinct)))  # fmt: skip
        kernel.edges = planned
    return edges


def _subset(kind: int, rows: Any, pick: Any, chosen: Any) -> tuple[Any, Any]:
    """(rows, pick) of the edges ``chosen`` (positions within the set) of an edge set."""
    if kind == _TERM:
        return (chosen if rows is None else rows[chosen]), None
    if kind == _PRODUCT:
        return rows[chosen], (chosen if pick is None else pick[chosen])
    return None, (chosen if pick is None else pick[chosen])


# =========================================================================== the compiled function


class Compiled:
    """A function traced once per input structure and replayed as numpy kernels (see ``compiled``).

    ``fn`` is the function; ``programs`` the cached programs (``stats``, ``kernels()``, ``draw()``);
    ``traces`` and ``replays`` count the calls of each kind; ``clear()`` empties the cache.
    """

    def __init__(self, fn: Callable[..., Any], cache_size: int, strict: bool, static_argnums: frozenset[int]):
        self.fn = fn
        self.cache_size = cache_size
        self.strict = strict
        self.static_argnums = static_argnums
        self._programs: dict[tuple[Any, ...], Program] = {}
        self._warned: set[tuple[str, int]] = set()
        self._indices: dict[int, tuple[list[Value], Any]] = {}  # program id -> (a copy of params, positions)
        self.traces = 0
        self.replays = 0
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        name = getattr(self.fn, "__qualname__", repr(self.fn))
        return f"compiled({name}, {len(self._programs)} of {self.cache_size} programs)"

    @property
    def programs(self) -> list[Program]:
        """The cached programs, in the order they were traced."""
        return list(self._programs.values())

    def clear(self) -> None:
        """Forget every program: the next call of each structure traces again."""
        self._programs.clear()
        self._indices.clear()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """fn(*args), traced or replayed: what fn returns (a replay: new leaves for Values computed inside)."""
        if kwargs:
            raise TypeError(
                f"compiled: pass arguments by position; got keyword argument(s) {', '.join(sorted(kwargs))}"
            )
        if modes.active and modes.this_thread().tracers:
            raise TraceError(
                f"compiled: {self!r} was called while another compiled function is being traced: compile the "
                "outer function only (its trace records everything the inner one computes)"
            )
        key, numbers_, values = _flatten_arguments(args, self.static_argnums)
        program = self._programs.get(key)
        if program is not None:
            self.replays += 1
            return program.run(numbers_, values)
        if len(self._programs) >= self.cache_size:
            raise ValueError(
                f"compiled: a call with a new input structure, but the cache already holds {len(self._programs)} "
                f"programs (cache_size={self.cache_size}): pass a larger cache_size, or give the function fewer "
                "distinct structures (e.g. pad inputs to a fixed length); nothing was computed"
            )
        return self._trace(key, args, len(numbers_), values)

    def gradients(self, params: Sequence[Value], data: Any, *args: Any) -> tuple[float, Any]:
        """``fn(*args)``'s loss and ∂loss/∂params as a numpy array, the parameters' numbers taken from the
        array ``data`` (one per ``params``, in order) rather than from their ``.data``.

        For a training loop that keeps its parameters in an array (e.g. ``Adam.step_arrays``): a replay
        reads and writes no parameter's ``.data`` or ``.grad``. The first call of a structure is traced
        as a call is, eagerly on the Values: it sets their ``.data`` from ``data`` first and leaves every
        ``.grad`` at 0. Every leaf the function reads from outside must be in ``params``.
        """
        if modes.active and modes.this_thread().tracers:
            raise TraceError(f"compiled: {self!r}.gradients was called while another compiled function is traced")
        if isinstance(params, (str, bytes)) or not isinstance(params, Sequence):
            _check_params(params)  # raises: names what params is
        data = _compile_checks.numbers_array(data, "compiled: gradients(params, data, ...): data")
        if data.shape != (len(params),):
            raise ValueError(
                f"compiled: gradients(params, data, ...) needs a list of Values and an array of one number per "
                f"Value; got {len(params)} params and data of shape {data.shape}"
            )
        key, numbers_, values = _flatten_arguments(args, self.static_argnums)
        program = self._programs.get(key)
        if program is None:
            _check_params(params)
            for p, x in zip(params, data.tolist()):
                p.data = x
                p.grad = 0.0
            result = self(*args)
            grads = np.fromiter((p.grad for p in params), float, len(params))
            for p in params:
                p.grad = 0.0
            self._index_of(self._programs[key], params)  # every leaf it reads is a parameter
            return float(_returned_values(result)[0].data), grads
        index = self._index_of(program, params)
        self.replays += 1
        loss, part = program.run_arrays(numbers_, values, data[index])
        grads = np.zeros(len(params))
        grads[index] = part  # each parameter once in a program's leaves
        return loss, grads

    def _index_of(self, program: Program, params: Sequence[Value]) -> Any:
        """Where each of ``program.params`` is in ``params`` (cached for a list of the same Values in the
        same order: a list reordered in place is indexed again)."""
        cached = self._indices.get(id(program))
        if cached is not None and cached[0] == (params if type(params) is list else list(params)):
            return cached[1]  # list equality of Values is identity, item by item (fast in C)
        _check_params(params)
        where = {id(p): i for i, p in enumerate(params)}
        missing = [p for p in program.params if id(p) not in where]
        if missing:
            raise ValueError(
                f"compiled: gradients(params, ...): the function reads {len(missing)} leaf Value(s) made outside it "
                f"that are not in params, e.g. {_describe(missing[0])}: pass every parameter it reads"
            )
        index = np.array([where[id(p)] for p in program.params], dtype=np.intp)
        self._indices[id(program)] = (list(params), index)
        return index

    def _trace(self, key: tuple[Any, ...], args: tuple[Any, ...], number_count: int, values: list[Value]) -> Any:
        """The first call for a structure: run fn eagerly on Values, watched; backward; schedule a program."""
        call_args, inputs, stand_ins = _build_arguments(args, self.static_argnums, values)
        tracer = _Tracer(self, inputs, stand_ins)
        t0 = time.perf_counter()
        modes.change(lambda m: m.tracers.append(tracer))
        try:
            result = self.fn(*call_args)
        finally:
            modes.change(lambda m: m.tracers.remove(tracer))
        loss, returned, shape = _returned_values(result)
        loss.backward()
        for v, stand_in in zip(values, stand_ins):  # the eager call's gradients reach the arguments
            if stand_in.grad:
                v.grad += stand_in.grad
        t1 = time.perf_counter()
        collecting = gc.isenabled()
        gc.disable()  # scheduling allocates many small objects while the whole traced graph is alive:
        try:  # without this, CPython's cyclic collector walks that graph again and again
            program = _schedule(returned, loss, tracer, number_count, stand_ins)
        finally:
            if collecting:
                gc.enable()
        program.shape = shape
        program.stats.trace_seconds = t1 - t0
        program.stats.schedule_seconds = time.perf_counter() - t1
        self._programs[key] = program
        self.traces += 1
        return (
            _compile_checks.swapped(result, {id(s): v for v, s in zip(values, stand_ins)}, MAX_DEPTH)
            if values
            else result
        )

    def _frozen(self, what: str, node: Value) -> None:
        """A number was read out of a traced Value: warn once per line, or raise under strict=True."""
        filename, line, module = _user_frame()
        message = (
            f"{filename}:{line} reads the number inside {what} ({_describe(node)}; by .data, a comparison, "
            "repr/str/format or .local_grads) "
            "while autograd.compiled traces it. That number is frozen into the compiled program: every later "
            "call reuses its trace-time value, and so does any Python decision made with it (as with JAX's jit "
            "and torch.jit.trace). It is harmless only where the result does not depend on that number; "
            "otherwise compute with the Values themselves (e.g. autograd.maximum(*z), not max(v.data for v in "
            "z)). strict=True makes this an error."
        )
        if self.strict:
            raise TraceError(message)
        if (filename, line) not in self._warned:
            self._warned.add((filename, line))
            warnings.warn_explicit(message, TracerWarning, filename, line, module=module)


def _check_params(params: Sequence[Value]) -> None:
    _compile_checks.check_params(params, "compiled: gradients(params, data, ...)")


def _returned_values(result: Any) -> tuple[Value, list[Value], Any]:
    """(the loss, every Value fn returned, the shape of what it returned) — the loss is the result, or
    the first item of a returned tuple."""
    if isinstance(result, Value):
        loss = result
    elif type(result) is tuple and result and isinstance(result[0], Value):
        loss = result[0]
    else:
        raise TypeError(
            "compiled: the function must return the Value to differentiate (the loss), or a tuple whose first "
            f"item is that Value; it returned {_a(result)}"
        )
    returned: list[Value] = []

    def shape_of(item: Any, depth: int) -> Any:
        if isinstance(item, Value):
            returned.append(item)
            return ("value", len(returned) - 1)
        if (type(item) is list or type(item) is tuple) and depth < MAX_DEPTH:
            return ("sequence", type(item), [shape_of(x, depth + 1) for x in item])
        return ("object", item)  # anything else comes back as it was at trace time

    return loss, returned, shape_of(result, 0)


def compiled(
    fn: Callable[..., Any] | None = None,
    *,
    cache_size: int = DEFAULT_CACHE_SIZE,
    strict: bool = False,
    static_argnums: int | Sequence[int] = (),
) -> Any:
    """``fn`` traced once per input structure and replayed as numpy kernels: forward and backward.

    ``fn(*args)`` returns the loss ``Value`` (or a tuple starting with it); a call returns what ``fn``
    returns and adds ∂loss/∂p to ``p.grad`` for every leaf ``p`` it reached (see the module docstring).
    ``cache_size``: programs kept (one per input structure; one more is an error). ``strict``: a
    number read out of a traced Value raises ``TraceError`` instead of warning. ``static_argnums``:
    positions of arguments that are not data (hashable; their values are part of the cache key).
    Usable as a decorator, with or without arguments.

    >>> step = compiled(lambda x: (x * x).tanh())     # doctest: +SKIP
    >>> step(0.5).data                                 # tanh(0.25), traced
    """
    _numpy()
    if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
        raise ValueError(f"compiled: cache_size must be a positive int, got {cache_size!r}")
    if strict not in (True, False):
        raise ValueError(f"compiled: strict must be True or False, got {strict!r}")
    positions = (static_argnums,) if isinstance(static_argnums, int) else static_argnums
    try:
        static = frozenset(positions)
    except TypeError:
        raise TypeError(f"compiled: static_argnums must be an int or a list of ints, got {static_argnums!r}") from None
    if any(isinstance(i, bool) or not isinstance(i, int) or i < 0 for i in static):
        raise ValueError(f"compiled: static_argnums must hold ints >= 0, got {static_argnums!r}")

    def wrap(f: Callable[..., Any]) -> Compiled:
        if not callable(f):
            raise TypeError(f"compiled: fn must be callable, got {_a(f)}")
        return Compiled(f, cache_size, bool(strict), static)

    return wrap if fn is None else wrap(fn)
