"""One bounded dot run; SVG fitted to a page: the old import path ``autograd.layout``, kept so earlier code works.

The code lives in ``autograd.views.layout``.
A new view goes in ``autograd/views/`` (see ``autograd.views``); new code imports from there.
"""

from typing import Any

from . import views
from .views.layout import BOUNDS as BOUNDS
from .views.layout import INSTALL_HINT as INSTALL_HINT
from .views.layout import LAYOUT_TIMEOUT as LAYOUT_TIMEOUT
from .views.layout import NOTEBOOK_HEIGHT as NOTEBOOK_HEIGHT
from .views.layout import READABLE_TEXT_PX as READABLE_TEXT_PX
from .views.layout import SPAN_BUDGET as SPAN_BUDGET
from .views.layout import GraphvizNotFound as GraphvizNotFound
from .views.layout import LayoutTimeout as LayoutTimeout
from .views.layout import Node as Node
from .views.layout import as_text as as_text
from .views.layout import fit_svg as fit_svg
from .views.layout import node_boxes as node_boxes
from .views.layout import notebook_html as notebook_html
from .views.layout import repeated_uses as repeated_uses
from .views.layout import run_dot as run_dot
from .views.layout import strip_prolog as strip_prolog
from .views.layout import svg_transform as svg_transform

__all__ = views.layout.__all__  # the same public names


def __getattr__(name: str) -> Any:
    """Any other name ``autograd.layout`` had, from its new home (a pickle of steps names private classes here)."""
    return views.moved(__name__, name, ("layout",))
