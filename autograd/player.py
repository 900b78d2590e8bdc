"""The stepper in a browser: the old import path ``autograd.player``, kept so earlier code works.

The code lives in ``autograd.views.player``.
A new view goes in ``autograd/views/`` (see ``autograd.views``); new code imports from there.
"""

from typing import Any

from . import views
from .views.player import LEGEND as LEGEND
from .views.player import WIDGET_HEIGHT as WIDGET_HEIGHT
from .views.player import _json_for_script as _json_for_script
from .views.player import asset as asset
from .views.player import compact_svg as compact_svg
from .views.player import page as page
from .views.player import player_data as player_data
from .views.player import widget_class as widget_class

__all__ = ["page", "player_data", "widget_class"]


def __getattr__(name: str) -> Any:
    """Any other name ``autograd.player`` had, from its new home (a pickle of steps names private classes here)."""
    return views.moved(__name__, name, ("player", "labels"))
