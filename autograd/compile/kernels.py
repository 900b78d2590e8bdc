"""Compile, stage 3: the kernels. The nodes of one op at one level are computed at once into one slice of
the buffer: an element-wise kernel (the op's forward on arrays, and the partials its backward needs, as
``_plan`` found them by probing the op) or an n-ary sum (terms, products computed inside it, matrix
products). Each kernel's backward adds upstream gradient × local derivative into its parents, edge set by
edge set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from .. import engine
from ..engine import Op
from . import checks
from .arrays import _array_forward, _max_partials, _numpy

if TYPE_CHECKING:  # pragma: no cover
    from .schedule import _Node

np: Any = _numpy()  # this module is imported by compiled(), after numpy

# Where the local derivative of an edge set comes from, and how its contributions reach the parents.
_TERM, _PRODUCT, _MATMUL, _CONSTANT, _INPUT, _OUTPUT, _COMPUTED = range(7)
_ASSIGN, _ADD, _SEGMENTS = range(3)


class _EdgeSet(NamedTuple):
    """Edges of one kernel that its backward needs (the loss depends on the node, and the parent's
    gradient is needed), as the kernel is built: one operand position of an element-wise kernel, a sum's
    terms, or one side of a block of its products.

    ``kind`` says where the local derivative comes from and ``source`` which one: _TERM (1: None),
    _CONSTANT (the number), _INPUT (the operand's index), _OUTPUT (0), _COMPUTED (the partial's index);
    _PRODUCT and _MATMUL (block, factor): the block's number among the kernel's product blocks, and the
    factor that is the derivative, 1 (b) for the edges into the a's, 0 (a) for the edges into the b's.
    ``rows``: each edge's node, whose upstream gradient it takes (None: the kernel's nodes in order; a
    matmul: its _MatMul). ``pick``: a dot's edges' products, or the nodes of an element-wise kernel whose
    edge is needed (None: all; a matmul: its place in ``blocks``). ``parents``: each edge's parent slot.
    """

    kind: int
    source: Any
    rows: Any
    pick: Any
    parents: Any  # an array of slots


class _Scatter(NamedTuple):
    """An edge set as the backward runs it (planned by ``schedule._plan_scatters``): ``kind``, ``source``,
    ``rows`` and ``pick`` as in ``_EdgeSet``; the contributions go to the slots ``targets``, ``how``:
    _ASSIGN (each parent's only edge in the whole backward), _ADD (each parent once in the set) or
    _SEGMENTS (summed per parent first: ``inverse`` maps each edge to one of the ``distinct`` parents)."""

    kind: int
    source: Any
    rows: Any
    pick: Any
    targets: Any
    how: int
    inverse: Any
    distinct: int  # how many distinct parents (_SEGMENTS)


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
    """The nodes of one op at one level, computed at once into one slice of the buffer: an element-wise
    kernel (``_ElementWiseKernel``) or an n-ary sum (``_SumKernel``); ``run`` is each kind's own.

    An element-wise op gathers its operands, runs the op's forward on arrays and the partials its
    backward needs. An n-ary sum adds its terms left to right from 0.0 (``bincount`` adds in array
    order, as the engine adds); the products it alone uses are computed inside it (a dot product).
    Its ``blocks`` are (slots, None) for terms, (left slots, right slots) for products and (a _MatMul,
    True) for products that form a matrix product, laid out so that each node's terms come in its own
    order: its first run of terms, its first run of products, ...
    ``edge_sets``: the edges its backward needs (``_EdgeSet``s, found by ``_sum_kernel`` and
    ``_element_wise_kernel``); ``scatters``: the same as the backward runs them (``_Scatter``'s fields,
    planned by ``schedule._plan_scatters``; stored as plain tuples, which a ``for`` unpacks fastest).
    """

    __slots__ = ("op", "level", "count", "covers", "start", "operands", "segments", "blocks", "forward", "ufunc",
                 "partials", "edge_sets", "scatters", "per_row", "order")  # fmt: skip

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
        self.edge_sets: list[_EdgeSet] = []
        self.scatters: list[tuple[Any, ...]] = []  # _Scatter's fields, as exact tuples
        self.per_row = False  # a user's op evaluated element by element (its forward or its partials)
        self.order: Any = None  # each node's place in eager's order (which error a failing replay raises)

    def run(self, buf: Any, failures: list[Any] | None = None) -> tuple[Any, Any]:
        """Compute the kernel's slice of ``buf``; returns what its backward needs (operands, partials)."""
        raise NotImplementedError  # pragma: no cover - each kind of kernel runs its own way

    @staticmethod
    def _careful_matmul(grad: Any, g: Any, buf: Any, matmul: _MatMul, into_left: int) -> None:
        """A matmul's edges one product at a time, with the zero-factor rule of ``engine.chain_rule``."""
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
        for kind, source, rows, pick, targets, how, inverse, distinct in self.scatters:
            # rows: each edge's node (None: the kernel's nodes in order); pick: for a dot, each edge's
            # product; for an element-wise kernel, the nodes whose edge is needed
            if kind == _TERM:  # ∂sum/∂term = 1
                contribution = g if rows is None else g.take(rows)
            elif kind == _MATMUL:  # ∂/∂A = Gᵀ·B (factor 1), ∂/∂B = G·A (factor 0)
                matmul = self.blocks[pick][0]
                block, factor = source
                a, b = first[block]
                if careful:
                    self._careful_matmul(grad, g, buf, matmul, factor)
                    continue
                if rows is not gathered:
                    upstream, gathered = np.zeros(matmul.shape), rows
                    upstream.ravel()[matmul.flat] = g if matmul.nodes is None else g.take(matmul.nodes)
                contribution = (upstream.T @ b if factor else upstream @ a).ravel()
            else:
                # the rules of MUL and SUM in engine.py, written out for whole blocks (test_compile checks the table)
                if kind == _PRODUCT:  # ∂(a·b)/∂a = b, ∂(a·b)/∂b = a: source = (block, 1 for b / 0 for a)
                    if rows is not gathered:
                        upstream, gathered = g.take(rows), rows
                    block, factor = source
                    d = first[block][factor]
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
                if careful:  # engine.chain_rule on arrays: nothing flows through a zero factor (0 · ∞ is 0, not nan)
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
                grad[targets] += np.bincount(inverse, weights=contribution, minlength=distinct)


class _SumKernel(_Kernel):
    """An n-ary sum's kernel: its terms, and the products it computes inside (a dot, a matrix product)."""

    __slots__ = ()

    def run(self, buf: Any, failures: list[Any] | None = None) -> tuple[Any, Any]:
        """Compute the sums into ``buf`` (blocks of terms and of products, added in the engine's order);
        returns the products' factors, which its backward needs. A sum cannot fail (``failures`` unused)."""
        start, stop = self.start, self.start + self.count
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


class _ElementWiseKernel(_Kernel):
    """An element-wise op's kernel: its forward on arrays, and the partials its backward computes."""

    __slots__ = ()

    def run(self, buf: Any, failures: list[Any] | None = None) -> tuple[Any, Any]:
        """Compute the kernel's slice of ``buf``; returns what its backward needs (operands, partials).
        With ``failures`` (a list), carefully: see ``checks.careful_forward``."""
        start, stop = self.start, self.start + self.count
        args = tuple([buf[index] if type(index) is slice else buf.take(index) for index in self.operands])
        out = buf[start:stop]
        if failures is not None:
            return args, checks.careful_forward(self, args, out, failures)
        if self.ufunc:
            self.forward(*args, out=out)
        else:
            out[...] = self.forward(*args)
        return args, (self.partials(*args, out) if self.partials is not None else None)


def _name(kernel: _Kernel) -> str:
    if kernel.blocks is None:
        return str(kernel.op)
    return "Σ a·b" if any(right is not None for _, right in kernel.blocks) else "+"


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
    # trusted on arrays: the table's ops that give an array forward, and the families power(k), leaky_relu_op(α);
    # a table op without one, and any user's op (even with an array forward of its own), is checked
    user = op.array is None or op._remake is None
    # a user's rule runs on arrays only where it gives eager's numbers there, at the traced points and at
    # probes of both signs (never frozen: a Python `if` on an array of several numbers raises)
    forward_ok, partials_ok = checks.rule_on_arrays(op, xs) if user else (False, True)
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


def _sum_kernel(group: list[_Node]) -> _SumKernel:
    """The kernel of a group of n-ary sums, with its backward's edge sets (``_EdgeSet``): the sums' terms,
    and each block of products' left and right factors — the edges the backward needs (the loss depends
    on the node and the parent's gradient is needed). ``rows`` picks each edge's node (its upstream
    gradient) where that is not simply the kernel's nodes in order."""
    kernel = _SumKernel(group)
    edges = kernel.edge_sets
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
                    edges.append(_EdgeSet(_MATMUL, (number, 1 - side), matmul, len(blocks) - 1, _slots(slots)))
            continue
        segments += [j for j, _ in block]
        if r % 2 == 0:  # terms: ∂sum/∂term = 1
            blocks.append((_index([t.slot for _, t in block]), None))
            keep = [group[j].live and t.need for j, t in block]
            if any(keep):
                rows = [j for (j, _), k in zip(block, keep) if k]
                parents = [t.slot for (_, t), k in zip(block, keep) if k]
                edges.append(_EdgeSet(_TERM, None, _rows(rows, len(group)), None, _slots(parents)))
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
                edges.append(_EdgeSet(_PRODUCT, (number, 1 - side), shared[1], pick, _slots(parents)))
    kernel.blocks = blocks
    kernel.segments = np.array(segments, dtype=np.intp)
    return kernel


def _element_wise_kernel(group: list[_Node], plan: _Plan) -> _ElementWiseKernel:
    """The kernel of a group of one element-wise op, with its backward's edge sets (``_EdgeSet``): per
    operand position, the edges the backward needs (the loss depends on the node and the parent's
    gradient is needed); ``pick`` keeps the needed ones of the kernel's nodes. Where each local
    derivative comes from is the plan's (``_plan``)."""
    kernel = _ElementWiseKernel(group)
    edges = kernel.edge_sets
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
        parents = [node.parents[i].slot for node, k in zip(group, keep) if k]
        edges.append(_EdgeSet(code, source, None, pick, _slots(parents)))
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


def _slots(slots: Any) -> Any:
    """An edge set's parents: their slots as an index array."""
    return np.array(slots, dtype=np.intp)


def _rows(rows: list[int], count: int) -> Any:
    """Each edge's node, or None where the edges are the kernel's nodes, one each, in order."""
    return None if rows == list(range(count)) else np.array(rows, dtype=np.intp)
