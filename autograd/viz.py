"""Graphviz drawing: the old import path ``autograd.viz``, kept so earlier code works.

The code lives in ``autograd.views.drawing`` (the drawing) and ``autograd.views.layout`` (the dot run).
A new view goes in ``autograd/views/`` (see ``autograd.views``); new code imports from there.
"""

from .views.drawing import CONSTANT_FILL as CONSTANT_FILL
from .views.drawing import FONT_NAME as FONT_NAME
from .views.drawing import FONT_SIZE as FONT_SIZE
from .views.drawing import FRAME_COLOR as FRAME_COLOR
from .views.drawing import GROUP_FILL as GROUP_FILL
from .views.drawing import HIGHLIGHT_FILL as HIGHLIGHT_FILL
from .views.drawing import MARK_FILL as MARK_FILL
from .views.drawing import MAX_LABEL as MAX_LABEL
from .views.drawing import MAX_TOOLTIP as MAX_TOOLTIP
from .views.drawing import OP_FILL as OP_FILL
from .views.drawing import PLAIN_FILL as PLAIN_FILL
from .views.drawing import RANKDIRS as RANKDIRS
from .views.drawing import STUB_FONT as STUB_FONT
from .views.drawing import NodeNames as NodeNames
from .views.drawing import Scene as Scene
from .views.drawing import build_digraph as build_digraph
from .views.drawing import constant_text as constant_text
from .views.drawing import draw_dot as draw_dot
from .views.drawing import drawing_bundle as drawing_bundle
from .views.drawing import format_number as format_number
from .views.drawing import is_constant as is_constant
from .views.drawing import negated as negated
from .views.drawing import node_names as node_names
from .views.drawing import render_svg as render_svg
from .views.drawing import save_svg as save_svg
from .views.drawing import shorten as shorten
from .views.drawing import to_svg as to_svg
from .views.layout import GraphvizNotFound as GraphvizNotFound
from .views.layout import LayoutTimeout as LayoutTimeout

__all__ = ["GraphvizNotFound", "LayoutTimeout", "draw_dot", "node_names", "save_svg", "to_svg"]
