"""Graphviz drawing: the old import path ``autograd.viz``, kept so earlier code works.

The code lives in ``autograd.views.labels`` (names, numbers, colours), ``autograd.views.drawing`` (the drawing)
and ``autograd.views.layout`` (the dot run).
A new view goes in ``autograd/views/`` (see ``autograd.views``); new code imports from there.
"""

from typing import Any

from . import views
from .views.drawing import Scene as Scene
from .views.drawing import build_digraph as build_digraph
from .views.drawing import draw_dot as draw_dot
from .views.drawing import drawing_bundle as drawing_bundle
from .views.drawing import render_svg as render_svg
from .views.drawing import save_svg as save_svg
from .views.drawing import to_svg as to_svg
from .views.labels import CONSTANT_FILL as CONSTANT_FILL
from .views.labels import FONT_NAME as FONT_NAME
from .views.labels import FONT_SIZE as FONT_SIZE
from .views.labels import FRAME_COLOR as FRAME_COLOR
from .views.labels import GROUP_FILL as GROUP_FILL
from .views.labels import HIGHLIGHT_FILL as HIGHLIGHT_FILL
from .views.labels import MARK_FILL as MARK_FILL
from .views.labels import MAX_LABEL as MAX_LABEL
from .views.labels import MAX_TOOLTIP as MAX_TOOLTIP
from .views.labels import OP_FILL as OP_FILL
from .views.labels import PLAIN_FILL as PLAIN_FILL
from .views.labels import RANKDIRS as RANKDIRS
from .views.labels import STUB_FONT as STUB_FONT
from .views.labels import NodeNames as NodeNames
from .views.labels import constant_text as constant_text
from .views.labels import format_number as format_number
from .views.labels import is_constant as is_constant
from .views.labels import negated as negated
from .views.labels import node_names as node_names
from .views.labels import shorten as shorten
from .views.layout import GraphvizNotFound as GraphvizNotFound
from .views.layout import LayoutTimeout as LayoutTimeout

__all__ = ["GraphvizNotFound", "LayoutTimeout", "draw_dot", "node_names", "save_svg", "to_svg"]


def __getattr__(name: str) -> Any:
    """Any other name ``autograd.viz`` had, from its new home (a pickle of steps names private classes here)."""
    return views.moved(__name__, name, ("drawing", "labels", "layout", "groups"))
