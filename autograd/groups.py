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

from .engine import Value

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
        shows more items than before and the view stays within ``budget`` items."""
        opened: set[str] = set()
        self._build(lambda scope: False)
        tried: set[str] = set()
        while True:
            shown = len(self.loose) + len(self.groups)
            candidates = sorted(
                (g for g in self.groups if g.path not in tried), key=lambda g: len(g.members), reverse=True
            )
            for group in candidates:
                tried.add(group.path)
                previous = (self.loose, self.groups, self.group_of, self.hidden)
                trial = opened | {group.path}
                self._build(lambda scope, trial=trial: _path(scope) in trial, limit=budget)
                if shown < len(self.loose) + len(self.groups) <= budget:
                    opened = trial
                    self.opened = sorted(opened)
                    break
                self.loose, self.groups, self.group_of, self.hidden = previous
            else:
                return

    def _box_the_rest(self) -> None:
        """Still too many items: the values outside every scope (but the output) go into one box too."""
        root = self.order[-1]
        rest = [node for node in self.loose if node._parents and node is not root]
        if len(rest) < 2:
            return
        group = Group(f"g{len(self.groups)}", OUTSIDE, OUTSIDE, [None], rest)
        self.groups.append(group)
        for node in rest:
            self.group_of[node] = group
        taken = set(rest)
        self.loose = [node for node in self.loose if node not in taken]
        users = {}
        for leaf, atoms in self._leaf_users.items():
            users[leaf] = all(not isinstance(a, Value) or a in taken for a in atoms)
        hidden_now = {leaf for leaf in self.loose if not leaf._parents and users.get(leaf, False)}
        self.hidden |= hidden_now
        self.loose = [node for node in self.loose if node not in hidden_now]

    def _build(self, is_open: Any, limit: int | None = None) -> None:
        """Find each atom's box (its outermost closed scope), stack boxes that repeat side by side,
        and hide scope-less leaves that only boxes use. Over ``limit`` items, stop early (a rejected try)."""
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
        opened_nodes = 0
        for scope, nodes in self._members.items():
            if box[scope] is not None:
                members[box[scope]].extend(nodes)
            else:
                opened_nodes += len(nodes)
        if limit is not None and opened_nodes + len(self._free) > limit:
            self.loose, self.groups, self.group_of, self.hidden = [self.order[-1]] * (limit + 1), [], {}, set()
            return
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
        indegree: dict[Any, int] = defaultdict(int)
        for targets in successors.values():
            for b in targets:
                indegree[b] += 1
        # a topological order of the drawn items, ties broken by where they first appear in ``order``:
        # deterministic, so boxes get the same numbers (and the SVG the same bytes) on every run
        first: dict[Any, int] = {}
        for k, node in enumerate(self.order):
            scope = self._inner[node]
            key = node if scope is None or box[scope] is None else box[scope]
            first.setdefault(key, k)
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
