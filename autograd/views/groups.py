"""Grouped views: a big graph drawn as boxes, one per scope, opened on demand.

Every node may carry a scope (``Value.scope``: set with ``autograd.scope("attn")`` or,
opt-in, recorded from the calling functions by ``autograd.auto_scope()``). A grouped view
decides, for each node, what stands for it in the drawing:

- the node itself, when every scope around it is *open*;
- otherwise a box for its outermost *closed* scope (one box per activation of that scope:
  two calls of ``rmsnorm`` are two boxes).

Boxes that repeat side by side are stacked into one: the 100 calls of ``MLP`` on 100
points become one box ``MLP ×100``. Precisely: boxes with the same name path whose
members are the same distance (counted in boxes of that path) from the inputs never
feed one another, and are drawn as one. Three layers called in turn stay three boxes.

``open`` says which scopes are open: names (``"softmax"``), paths (``"gpt/attn"``) or
``True`` for all. By default (``open=None``) the view opens the biggest boxes first, as long
as an opening shows more than before and the drawing stays within ``budget`` items.
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..engine import Value

__all__ = ["Group", "Grouping", "has_scopes", "scope_of"]

BUDGET = 60  # items (boxes + values) a default grouped view shows at most, when it can
OUTSIDE = "outside scopes"  # the box of the values made outside every scope, when there are too many


def scope_of(node: Value) -> Any:
    """The innermost scope ``node`` was created in (``Value.scope``), or None."""
    return node.scope


def has_scopes(nodes: Iterable[Value]) -> bool:
    """True if any of ``nodes`` carries a scope."""
    return any(scope_of(node) is not None for node in nodes)


def _chain(scope: Any, cache: dict[Any, tuple[Any, ...]]) -> tuple[Any, ...]:
    """The scopes around ``scope``, outermost first, ending with ``scope``."""
    if scope is None:
        return ()
    found = cache.get(scope)
    if found is None:
        found = _chain(scope.parent, cache) + (scope,)
        cache[scope] = found
    return found


def _path(scope: Any) -> str:
    return "/".join(scope.path)


@dataclass(eq=False)
class Group:
    """One box of a grouped view: the nodes of one scope activation, or of several stacked ones."""

    ident: str
    name: str
    path: str
    scopes: list[Any] = field(default_factory=list)
    members: list[Value] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``softmax`` or, for stacked activations, ``MLP ×100``."""
        return self.name if len(self.scopes) == 1 else f"{self.name} ×{len(self.scopes)}"


def _is_open(scope: Any, spec: Any) -> bool:
    if spec is True:
        return True
    path = _path(scope)
    for wanted in spec:
        if wanted is scope:
            return True
        if isinstance(wanted, str) and (wanted == path or wanted == scope.name or path.endswith("/" + wanted)):
            return True
    return False


def _comes_back(box: set[Any], successors: dict[Any, set[Any]]) -> bool:
    """True if a path leaves ``box`` and comes back into it (drawn as one box, it would make a cycle)."""
    stack = [s for node in box for s in successors.get(node, ()) if s not in box]
    seen = set(stack)
    while stack:
        item = stack.pop()
        for nxt in successors.get(item, ()):
            if nxt in box:
                return True
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


class Grouping:
    """What stands for each node of ``order`` in a grouped view (see the module docstring).

    The graph is read once into *atoms* (the nodes of one innermost scope activation, or one node
    outside every scope) and the edges between atoms; each try at which scopes to open then works
    on atoms only, so the default view of a 139,000-node graph is found in about a second.
    """

    def __init__(self, order: list[Value], open: Any = None, budget: int = BUDGET):
        self.order = order
        self.loose: list[Value] = []  # the values drawn as themselves
        self.groups: list[Group] = []  # the boxes
        self.group_of: dict[Value, Group] = {}  # each node inside a box -> that box
        self.hidden: set[Value] = set()  # scope-less leaves that only boxes use (not drawn)
        self.opened: list[Any] = []  # what is open: name paths, Scope objects (or [True])
        self._successors: dict[Any, set[Any]] = {}
        cache: dict[Any, tuple[Any, ...]] = {}
        self._members: dict[Any, list[Value]] = defaultdict(list)  # scope activation -> its nodes
        self._free: list[Value] = []  # non-leaf nodes outside every scope
        self._leaf_users: dict[Value, set[Any]] = defaultdict(set)  # scope-less leaf -> atoms using it
        self._edges: set[tuple[Any, Any]] = set()  # between atoms
        self._node_edges: dict[Any, list[tuple[Value, Value]]] = defaultdict(list)  # node edges at each activation
        inner: dict[Value, Any] = {}
        for node in order:
            scope = scope_of(node)
            inner[node] = scope
            if scope is not None:
                self._members[scope].append(node)
                _chain(scope, cache)
            elif node._parents:
                self._free.append(node)
        for node in order:
            b = inner[node] if inner[node] is not None else node
            for parent in node._parents:
                if inner[parent] is None and not parent._parents:
                    self._leaf_users[parent].add(b)
                    continue
                a = inner[parent] if inner[parent] is not None else parent
                if a is not b:
                    self._edges.add((a, b))
                for end in (a, b):
                    if not isinstance(end, Value):
                        self._node_edges[end].append((parent, node))
        self._chains = cache
        self._inner = inner
        self._position = {node: k for k, node in enumerate(order)}
        self._parents_of_scopes = {scope.parent for scope in cache if scope.parent is not None}
        if open is None:
            self._auto_open(budget)
            if len(self.loose) + len(self.groups) > budget:
                self._box_the_rest()
        else:
            if open is not True:
                if isinstance(open, str) or not isinstance(open, Iterable):
                    open = [open]
                open = list(open)
                for wanted in open:
                    if not isinstance(wanted, str) and not hasattr(wanted, "path"):
                        raise TypeError(
                            f"draw_dot(open=...) takes scope names or paths (str), Scope objects or True, "
                            f"got {type(wanted).__name__}"
                        )
            self.opened = [True] if open is True else list(open)
            self._build(lambda scope: _is_open(scope, open))

    def _auto_open(self, budget: int) -> None:
        """Open scopes, the biggest boxes first (all calls of a name path at once), as long as each opening
        shows at least two boxes inside, more items than before, and the view stays within ``budget``
        items (counting the values made directly inside open scopes as one box per scope, as
        ``_box_the_rest`` will draw them)."""
        opened: set[str] = set()
        self._build(lambda scope: False)
        tried: set[str] = set()
        while True:
            shown = self._count()
            candidates = sorted(
                (g for g in self.groups if g.path not in tried), key=lambda g: len(g.members), reverse=True
            )
            for group in candidates:
                tried.add(group.path)
                if not any(scope in self._parents_of_scopes for scope in group.scopes):
                    continue  # no calls inside: opening it would show the same boxes, its own values
                previous = (self.loose, self.groups, self.group_of, self.hidden)
                trial = opened | {group.path}
                self._build(lambda scope, trial=trial: _path(scope) in trial)
                inside = sum(1 for g in self.groups if g.path.startswith(group.path + "/"))
                if inside >= 2 and shown < self._count() <= budget:  # a structure, not one helper call
                    opened = trial
                    self.opened = sorted(opened)
                    break
                self.loose, self.groups, self.group_of, self.hidden = previous
            else:
                return

    def _rests(self) -> dict[Any, list[Value]]:
        """The drawn values other than the output and parameters, by the innermost scope they were made in,
        for each scope whose values can be one box: a box that feeds a path coming back into it (a
        ``GPT`` call's own values around its linear layers) would draw a cycle, so those stay values."""
        root = self.order[-1]
        rests: dict[Any, list[Value]] = {}
        for node in self.loose:
            scope = self._inner[node]
            if node is not root and (node._parents or scope is not None):  # constants made in a scope too
                rests.setdefault(scope, []).append(node)
        return {scope: nodes for scope, nodes in rests.items() if not _comes_back(set(nodes), self._successors)}

    def _count(self) -> int:
        """Items in the view once ``_box_the_rest`` has boxed the values of each open scope."""
        rests = self._rests()
        return len(self.groups) + len(rests) + len(self.loose) - sum(len(nodes) for nodes in rests.values())

    def _box_the_rest(self) -> None:
        """Still too many items: the values made directly in each open scope (or outside every scope) go
        into one box per scope, ``attn (own)``, ``outside scopes``; the output stays drawn."""
        taken: set[Value] = set()
        for scope, rest in self._rests().items():
            if len(rest) < 2:
                continue
            name = OUTSIDE if scope is None else f"{scope.name} (own)"
            path = OUTSIDE if scope is None else f"{_path(scope)} (own)"
            group = Group(f"g{len(self.groups)}", name, path, [None], rest)
            self.groups.append(group)
            for node in rest:
                self.group_of[node] = group
            taken.update(rest)
        self.loose = [node for node in self.loose if node not in taken]
        only_boxes = {
            leaf: all(not isinstance(a, Value) or a in taken for a in atoms) for leaf, atoms in self._leaf_users.items()
        }
        hidden_now = {leaf for leaf in self.loose if not leaf._parents and only_boxes.get(leaf, False)}
        self.hidden |= hidden_now
        self.loose = [node for node in self.loose if node not in hidden_now]

    def _build(self, is_open: Any) -> None:
        """Find each atom's box (its outermost closed scope), stack boxes that repeat side by side,
        and hide scope-less leaves that only boxes use."""
        opened: dict[Any, bool] = {}
        box: dict[Any, Any] = {}  # atom (scope activation) -> its box's scope, or None when all open
        for scope, chain in self._chains.items():
            if scope not in self._members:
                continue
            closed = None
            for outer in chain:
                state = opened.get(outer)
                if state is None:
                    state = opened[outer] = bool(is_open(outer))
                if not state:
                    closed = outer
                    break
            box[scope] = closed
        members: dict[Any, list[Value]] = defaultdict(list)
        for scope, nodes in self._members.items():
            if box[scope] is not None:
                members[box[scope]].extend(nodes)
        stacks = self._stacks(box, members)
        self.groups = []
        self.group_of = {}
        group_of_box: dict[Any, Group] = {}
        for k, scopes in enumerate(stacks):
            first = scopes[0]
            group = Group(f"g{k}", first.name, _path(first), scopes)
            for scope in scopes:
                group.members.extend(members[scope])
                group_of_box[scope] = group
            for node in group.members:
                self.group_of[node] = group
            self.groups.append(group)
        self.hidden = {
            leaf
            for leaf, users in self._leaf_users.items()
            if all(not isinstance(user, Value) and box[user] is not None for user in users)
        }
        self.loose = [node for node in self.order if node not in self.group_of and node not in self.hidden]

    def _stacks(self, box: dict[Any, Any], members: dict[Any, list[Value]]) -> list[list[Any]]:
        """Closed scopes grouped into stacks: same name path and the same rank among boxes of that path."""

        def item(node: Value) -> Any:  # what a node is drawn as: its box, or itself
            scope = self._inner[node]
            return node if scope is None or box[scope] is None else box[scope]

        successors: dict[Any, set[Any]] = defaultdict(set)
        for a, b in self._edges:  # between closed boxes and free nodes: through the atoms
            if isinstance(a, Value) or isinstance(b, Value) or (box[a] is not None and box[b] is not None):
                ia = a if isinstance(a, Value) else box[a]
                ib = b if isinstance(b, Value) else box[b]
                if ia is not None and ib is not None and ia is not ib:
                    successors[ia].add(ib)
        for scope, edges in self._node_edges.items():  # into and out of open scopes: node by node
            if box[scope] is None:
                for parent, node in edges:
                    ia, ib = item(parent), item(node)
                    if ia is not ib:
                        successors[ia].add(ib)
        self._successors = successors  # the drawn items' graph (boxes before stacking, values), for _rests
        indegree: dict[Any, int] = defaultdict(int)
        for targets in successors.values():
            for b in targets:
                indegree[b] += 1
        # a topological order of the drawn items, ties broken by where they first appear in ``order``:
        # deterministic, so boxes get the same numbers (and the SVG the same bytes) on every run
        first: dict[Any, int] = {node: self._position[node] for node in self._free}
        for scope, nodes in self._members.items():
            if box[scope] is None:
                for node in nodes:
                    first[node] = self._position[node]
            else:
                k = self._position[nodes[0]]  # members are in topological order: the first is the earliest
                if k < first.get(box[scope], k + 1):
                    first[box[scope]] = k
        for item in set(successors) | {b for targets in successors.values() for b in targets}:
            first.setdefault(item, len(self.order))  # a leaf drawn loose
        tie = itertools.count()
        ready = [(first[i], next(tie), i) for i in first if indegree[i] == 0]
        heapq.heapify(ready)
        ranked: list[Any] = []
        while ready:
            _, _, i = heapq.heappop(ready)
            ranked.append(i)
            for nxt in successors[i]:
                indegree[nxt] -= 1
                if indegree[nxt] == 0:
                    heapq.heappush(ready, (first[nxt], next(tie), nxt))
        predecessors: dict[Any, list[Any]] = defaultdict(list)
        for a, targets in successors.items():
            for b in targets:
                predecessors[b].append(a)
        # depth[item][path]: most boxes of that path on a path of the contracted graph ending at item
        depth: dict[Any, dict[str, int]] = {}
        rank: dict[Any, int] = {}
        for i in ranked:
            counts: dict[str, int] = {}
            for p in predecessors[i]:
                for key, n in depth[p].items():
                    if n > counts.get(key, 0):
                        counts[key] = n
            if i in members:
                key = _path(i)
                rank[i] = counts.get(key, 0)
                counts[key] = rank[i] + 1
            depth[i] = counts
        stacks: dict[tuple[str, int], list[Any]] = {}
        for i in ranked:  # in topological order: the 1st call of gpt is box "gpt 1"
            if i in members:
                stacks.setdefault((_path(i), rank[i]), []).append(i)
        return list(stacks.values())
