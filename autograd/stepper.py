"""The backward pass step by step: the old import path ``autograd.stepper``, kept so earlier code works.

The code lives in ``autograd.views.stepper`` (the steps) and ``autograd.views.step_drawing`` (their drawing).
A new view goes in ``autograd/views/`` (see ``autograd.views``); new code imports from there.
"""

from typing import Any

from . import views
from .views.step_drawing import MAX_LINES as MAX_LINES
from .views.step_drawing import Drawing as Drawing
from .views.step_drawing import Frame as Frame
from .views.step_drawing import Picture as Picture
from .views.stepper import BackwardSteps as BackwardSteps
from .views.stepper import NodeStep as NodeStep
from .views.stepper import Step as Step
from .views.stepper import Update as Update
from .views.stepper import _math_name as _math_name
from .views.stepper import backward_steps as backward_steps
from .views.stepper import operation_text as operation_text
from .views.stepper import step_index as step_index

__all__ = ["BackwardSteps", "Drawing", "Picture", "Step", "Update", "backward_steps"]


def __getattr__(name: str) -> Any:
    """Any other name ``autograd.stepper`` had, from its new home (a pickle of steps names private classes here)."""
    return views.moved(__name__, name, ("stepper", "step_drawing", "labels", "drawing", "layout", "groups"))
