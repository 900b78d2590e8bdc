"""The picture of a compiled program (``Program.draw``): one column per level, one row per op, a cell per
kernel. matplotlib is imported when a program is drawn (``pip install 'stepgrad[demo]'``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .arrays import _numpy

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.figure

    from .program import Program

np: Any = _numpy()  # this module is imported by compiled(), after numpy


def draw_program(program: Program, ax: Any = None, title: str | None = None) -> matplotlib.figure.Figure:
    """``program`` as a grid: one column per level, one row per op; each cell is one kernel, labelled with
    how many scalar nodes it computes at once (see ``Program.draw``)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.colors import LogNorm
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("Program.draw needs matplotlib: pip install 'stepgrad[demo]'") from None
    kernels = program.kernels()
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
    s = program.stats
    heading = f"{s.nodes_traced:,} scalar nodes → {s.kernels} kernels in {s.levels} levels"
    ax.set_title(title or heading, fontsize=10)
    figure.colorbar(image, ax=ax, label="scalar nodes in the kernel", pad=0.01)
    figure.tight_layout()
    return figure
