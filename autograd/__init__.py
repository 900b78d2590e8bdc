"""stepgrad's engine: scalar reverse-mode automatic differentiation.

>>> from autograd import Value
>>> x = Value(3.0); y = x * x * x; y.backward(); x.grad      # d(x³)/dx = 3x² = 27
27.0
"""

import builtins as _builtins

from . import forward, groups, layout, stepper, viz  # noqa: F401 - the views' old paths, attributes as before
from .check import check_backward
from .compile import TraceError, TracerWarning, compiled  # numpy is imported lazily, by compiled()
from .engine import FUNCTIONS as _FUNCTIONS
from .engine import (  # the rule table's functions are named here for type checkers; _FUNCTIONS has them all
    Op,
    Value,
    cos,
    dot,
    exp,
    log,
    maximum,
    relu,
    sigmoid,
    sin,
    softplus,
    sqrt,
    sum_values,
    tanh,
    where,
)
from .functional import GradcheckError, grad, gradcheck, hessian, jacobian
from .graph import topological_order, trace
from .modes import Scope, auto_scope, is_grad_enabled, no_grad, scope
from .views.drawing import GraphvizNotFound, draw_dot  # graphviz is imported lazily, inside the drawing functions
from .views.forward import forward_steps, step_through  # beside backward_steps: the forward pass; both passes
from .views.stepper import backward_steps  # stdlib-only at import; ipywidgets is imported lazily

__all__ = [
    "GradcheckError",
    "GraphvizNotFound",
    "TraceError",
    "TracerWarning",
    "backward_steps",
    "check_backward",
    "compiled",
    "draw_dot",
    "forward_steps",
    "grad",
    "gradcheck",
    "hessian",
    "jacobian",
    "Op",
    "Scope",
    "Value",
    "auto_scope",
    "cos",
    "dot",
    "exp",
    "is_grad_enabled",
    "log",
    "maximum",
    "no_grad",
    "relu",
    "scope",
    "sigmoid",
    "sin",
    "softplus",
    "sqrt",
    "step_through",
    "sum_values",
    "tanh",
    "topological_order",
    "trace",
    "where",
]

# The public functions of the rule table's named ops (a primitive added to the table is public with no edit
# here), except a name Python already has: abs(x) is Python's own, which calls Value.__abs__.
for _name, _function in _FUNCTIONS.items():
    if not hasattr(_builtins, _name):
        globals()[_name] = _function
        if _name not in __all__:
            __all__.append(_name)
