"""The stepper's promise to a learner, as one reusable check: no effect is shown before its cause.

**A value's displayed gradient changes only in a frame that draws it as just updated** (the
"just updated" fill) **and whose text names the change** (``∂L/∂p0: 0.0000 → 0.0589``); being
the current node explains nothing about a node's own gradient (it is complete before its own
step). And each frame's state is a true moment of the pass: the gradients it shows are the ones
recorded right after its last step, and frames come in the order of the pass.

The check reads what the player shows — ``player_data`` (the first frame's full state, then each
frame's changes, each frame's text) — so it applies alike to a ``stepper.Drawing`` and to a saved
page (``page_frames``). It never trusts the stepper's own idea of what changed: it compares the
displayed texts of consecutive frames.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from autograd.player import player_data
from autograd.stepper import Drawing, _math_name
from autograd.viz import format_number

GRAD = "grad "


def violations(names: list[str | None], root_name: str, seed: str, data: dict[str, Any], root: int | None) -> list[str]:
    """Every breach of the invariant in the player's data, one line each (empty: the frames read causally).

    ``names[k]``: record ``k``'s name as it reads in ∂L/∂name (None for a box, which shows no gradient);
    ``root_name``: the name of the pass's output L in ∂L/∂name; ``root``: its index when it is drawn as a value
    (not in a box): seeded before the first frame, it shows ``grad {seed}`` from the start; every other value
    shows ``grad ?`` until the pass reaches it.
    """
    mark = data["markFill"]
    shown: list[Any] = [None if name is None else (None, None, "grad ?") for name in names]
    if root is not None:
        shown[root] = (None, None, f"{GRAD}{seed}")
    found = []
    for frame in range(data["count"]):
        changes = [[k, *state] for k, state in enumerate(data["initial"])] if frame == 0 else data["diffs"][frame]
        text = data["texts"][frame]
        for k, fill, pen, grad in changes:
            name = names[k]
            before = shown[k][2] if shown[k] is not None else None
            shown[k] = (fill, pen, grad)
            if name is None or grad == before:
                continue
            where = f"frame {frame + 1}: ∂{root_name}/∂{name} shown {before!r} → {grad!r}"
            if fill != mark:
                found.append(f"{where}, but {name} is not drawn as just updated (fill {fill})")
            after = re.escape(grad.removeprefix(GRAD))
            was = re.escape(before.removeprefix(GRAD)) if before and before != "grad ?" else r"\S+"
            target = rf"∂{re.escape(root_name)}/∂{re.escape(name)}: "
            # the text's change starts at the value shown before and ends at the value shown now (a step
            # that updates one parent twice, ``a * a``, says so in two lines: before → middle → after)
            if not (re.search(rf"{target}{was} → ", text) and re.search(rf"{target}\S+ → {after}(?![\w.])", text)):
                found.append(f"{where}, but the frame's text does not say so:\n{text}")
    return found


def drawing_frames(drawing: Drawing) -> tuple[list[str | None], str, str, dict[str, Any], int | None]:
    """``violations``' arguments for a drawing (what its page or widget would show)."""
    steps = drawing.steps
    names = [None if item not in drawing._record_set else steps.names[item] for item in drawing.items]
    assert steps._initial is not None
    root = next((k for k, item in enumerate(drawing.items) if item is steps.root), None)
    return names, steps.root_name, format_number(steps._initial[steps.root]), player_data(drawing), root


_NODE = re.compile(r'<g id="[^"]*" class="node">\s*<title>([^<]*)</title>.*?<text[^>]*>([^<]*)</text>', re.S)


def page_frames(page: str) -> tuple[list[str | None], str, str, dict[str, Any], int | None]:
    """``violations``' arguments read back from a saved stepper page (its JSON and its drawing's node names)."""
    data = json.loads(re.search(r'<script type="application/json" id="stepgrad-data">(.*?)</script>', page, re.S)[1])
    svg = re.search(r'<template id="stepgrad-drawing">(.*?)</template>', page, re.S)[1]
    first_text = {html.unescape(ident): html.unescape(name) for ident, name in _NODE.findall(svg)}
    boxes = {int(k) for k in data["boxes"]}
    names = [None if k in boxes else _math_name(first_text[ident]) for k, ident in enumerate(data["records"])]
    seed = re.search(r"backward pass of (.*?): seed ∂.*? = (\S+)\. \d+ steps", page)
    root_name = html.unescape(seed[1])
    return names, root_name, seed[2], data, names.index(root_name) if root_name in names else None


def assert_causal(drawing: Drawing) -> None:
    """The invariant on a drawing, and each frame a true moment: the state shown is the recorded state after
    the frame's last step, frames follow the pass, and every step of the pass is in exactly one frame."""
    found = violations(*drawing_frames(drawing))
    assert not found, f"{len(found)} effects shown before their cause:\n" + "\n".join(found[:5])
    lasts = [frame.last for frame in drawing.frames]
    assert lasts == sorted(set(lasts)), "frames out of the pass's order"
    assert sorted(step.index for frame in drawing.frames for step in frame.steps) == list(range(len(drawing.steps)))
    assert all(step.index <= frame.last for frame in drawing.frames for step in frame.steps)
    data = player_data(drawing)
    shown = [state[2] for state in data["initial"]]
    steps = drawing.steps
    assert steps._initial is not None
    grads, reached, done = dict(steps._initial), {steps.root}, 0
    for k, frame in enumerate(drawing.frames):
        for index, _, _, text in data["diffs"][k] if k else []:
            shown[index] = text
        for step in steps[done : frame.last + 1]:  # the pass up to the frame's last step, from its record
            for u in step.updates:
                grads[u.parent] = u.after
                reached.add(u.parent)
        done = frame.last + 1
        truth = [
            None if item not in drawing._record_set else f"grad {format_number(grads[item])}" if item in reached
            else "grad ?"
            for item in drawing.items
        ]  # fmt: skip
        assert shown == truth, f"frame {k + 1} does not show the moment after step {frame.last + 1} of the pass"
