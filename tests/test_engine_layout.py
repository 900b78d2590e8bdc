"""engine.py's layout (issue 19): the limit policy and the micrograd/microgpt compatibility in modules of
their own, one chain-rule step shared by every pass, and pickles made before the move still loading."""

from __future__ import annotations

import ast
import math
import pathlib
import pickle
import sys

import pytest
from oracles import partial_difference

from autograd import Value, grad
from autograd import engine as engine_module
from autograd.engine import ADD, CONSTANT, MUL, TANH, leaky_relu_op, power
from autograd.stepper import backward_steps
from autograd.views import stepper as stepper_module

AUTOGRAD = pathlib.Path(engine_module.__file__).resolve().parent

# pickle.dumps(v, protocol=0) at commit eac807a (before engine.py was split), of
#   x = Value(1.5, label="x"); y = Value(-0.5, label="y")
#   v = leaky_relu_op(0.1)(power(3)(x * y + 2.0) - 1.0).tanh()
OLD_PICKLE = (
    b"cautograd._copying\nunpickle\np0\n((lp1\ng0\n((lp2\nF-1.0\nF0.0\ncautograd.engine\nCONSTANT\np3\n(t(tNtp4\nRp5\n"
    b"ag0\n((lp6\nF2.0\nF0.0\ng3\n(t(tNtp7\nRp8\nag0\n((lp9\nF-0.5\nF0.0\nV\np10\n(t(t(dp11\nV_label\np12\nVy\np13\n"
    b"stp14\nRp15\nag0\n((lp16\nF1.5\nF0.0\ng10\n(t(t(dp17\ng12\nVx\np18\nstp19\nRp20\nag0\n((lp21\nF-0.75\nF0.0\n"
    b"cautograd.engine\nMUL\np22\n(g20\ng15\ntp23\n(F-0.5\nF1.5\ntp24\nNtp25\nRp26\nag0\n((lp27\nF1.25\nF0.0\n"
    b"cautograd.engine\nADD\np28\n(g26\ng8\ntp29\n(F1.0\nF1.0\ntp30\nNtp31\nRp32\nag0\n((lp33\nF1.953125\nF0.0\n"
    b"cautograd.engine\npower\np34\n(I3\ntp35\nRp36\n(g32\ntp37\n(F4.6875\ntp38\nNtp39\nRp40\nag0\n((lp41\n"
    b"F0.953125\nF0.0\ng28\n(g40\ng5\ntp42\n(F1.0\nF1.0\ntp43\nNtp44\nRp45\nag0\n((lp46\nF0.953125\nF0.0\n"
    b"cautograd.engine\nleaky_relu_op\np47\n(F0.1\ntp48\nRp49\n(g45\ntp50\n(F1.0\ntp51\nNtp52\nRp53\n"
    b"aF0.7411945368167218\nF0.0\ncautograd.engine\nTANH\np54\n(g53\ntp55\n(F0.4506306585930453\ntp56\nNtp57\nRp58\n."
)


def _plain(x: float, y: float) -> float:
    """The pickled graph's function in plain floats (the oracle): tanh(leaky_relu((xy + 2)³ − 1))."""
    u = (x * y + 2.0) ** 3 - 1.0
    return math.tanh(u if u > 0 else 0.1 * u)


def test_a_pickle_made_before_the_split_loads_and_differentiates():
    v = pickle.loads(OLD_PICKLE)
    order = engine_module.topological_order(v)
    x = next(node for node in order if node.label == "x")
    y = next(node for node in order if node.label == "y")
    # the ops come back as this engine's very rules, the constant as the constant marker
    ops = [node.op for node in order if node.parents]
    assert ops[0] is MUL and ops[1] is ADD and ops[2] is power(3) and ops[3] is ADD
    assert ops[4] is leaky_relu_op(0.1) and ops[5] is TANH
    assert sum(node.op is CONSTANT for node in order) == 2
    assert v.data == pytest.approx(_plain(1.5, -0.5), rel=1e-15)
    v.backward()
    assert x.grad == pytest.approx(partial_difference(_plain, (1.5, -0.5), 0), rel=1e-8)
    assert y.grad == pytest.approx(partial_difference(_plain, (1.5, -0.5), 1), rel=1e-8)
    # and the loaded graph computes on: a new node from its leaves
    w = x * y
    assert w.op is MUL and w.data == 1.5 * -0.5


# --------------------------------------------------------------------------- one chain-rule step


def test_the_chain_rule_step_skips_a_zero_factor_and_lines_up_with_the_parents():
    inf = math.inf
    assert engine_module.chain_rule(2.0, (3.0, 0.0, -1.0)) == [6.0, None, -2.0]
    assert engine_module.chain_rule(0.0, (inf, 1.0)) == [None, None]  # 0 · ∞ contributes nothing, not nan
    assert engine_module.chain_rule(inf, (0.0, 2.0)) == [None, inf]
    # with create_graph a zero Value still flows (its graph has higher derivatives) unless the other factor is ∞
    zero = Value(0.0)
    flows = engine_module.chain_rule(zero, (2.0, inf), create_graph=True)
    assert isinstance(flows[0], Value) and flows[0].data == 0.0 and flows[1] is None


def _graph_with_a_zero_factor_times_infinity():
    x = Value(0.0, label="x")
    y = Value(3.0, label="y")
    return x, y, x.sqrt() * 0.0 + x * y  # ∂/∂x of sqrt at 0 is ∞; times the 0.0 factor it must give nothing


@pytest.mark.parametrize("how", ["backward", "grad", "create_graph", "stepper"])
def test_every_pass_uses_the_one_step(how, monkeypatch):
    calls = []
    step = engine_module.chain_rule

    def counted(g, local, create_graph=False):
        calls.append(len(local))
        return step(g, local, create_graph)

    assert stepper_module.chain_rule is step  # the stepper takes backward()'s step
    monkeypatch.setattr(engine_module, "chain_rule", counted)
    monkeypatch.setattr(stepper_module, "chain_rule", counted)
    x, y, out = _graph_with_a_zero_factor_times_infinity()
    if how == "grad":
        gx, gy = grad(out, [x, y])
        got = (gx.data, gy.data)
    elif how == "create_graph":
        out.backward(create_graph=True)
        got = (x.grad.data, y.grad.data)
    elif how == "stepper":
        backward_steps(out).run()
        got = (x.grad, y.grad)
    else:
        out.backward()
        got = (x.grad, y.grad)
    assert got == (3.0, 0.0)  # ∂(x·y)/∂x = y = 3, ∂/∂y = x = 0; the 0 · ∞ term adds nothing (never nan)
    copied = how in ("backward", "grad") and engine_module.ACCELERATED  # the accelerator's loops are labelled copies
    assert bool(calls) != copied, f"{how}: engine.chain_rule calls {calls}"


def test_the_accelerator_labels_its_copies_of_the_step():
    source = (AUTOGRAD / "_fast.py").read_text(encoding="utf-8")
    assert source.lower().count("an optimization of the chain-rule step `engine.chain_rule`") == 2
    from autograd import _fast

    for copy in ("Value.backward", "_accumulate"):
        assert "chain_rule" in _fast.STANDS_IN_FOR[copy]  # an edit of the step sets the copies aside


# --------------------------------------------------------------------------- the modules


def _imports(path: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or "") if node.level else node.module.split(".")[0])
    return names


def test_the_engines_own_modules_use_the_standard_library_and_each_other_only():
    # engine.py and the modules it is read with: the rules' class, the limit policy, the case splits, what a
    # node shows, sums, micrograd/microgpt compatibility. None imports numpy, a view or nn.
    own = {".engine", ".op", ".limits", ".cases", ".node", ".sums", ".compat", ".modes", ".graph", ".arrays"}
    allowed = set(sys.stdlib_module_names) | {"__future__", "."} | own
    for name in ("engine", "op", "limits", "cases", "node", "sums", "compat"):
        assert _imports(AUTOGRAD / f"{name}.py") <= allowed, name


def test_moved_names_still_import_from_the_engine():
    for name in ("_divide", "_pow", "_exp", "_log", "_sqrt", "_sin", "_cos", "_sigmoid", "_softplus", "_real",
                 "_checked_partials", "_own_backward", "_attributes", "_no_rule", "_unpickle", "_number",
                 "_is_zero", "_max", "_max_partials"):  # fmt: skip
        assert hasattr(engine_module, name), name


def test_every_rule_of_the_table_is_at_most_one_hop_from_its_row() -> None:
    # A reader at a row of the table finds every function the row calls either in engine.py itself or in
    # the module an import at engine.py's top names (limits, cases, arrays): one hop, then the definition.
    import inspect

    homes = {"autograd.engine", "autograd.limits", "autograd.cases", "autograd.arrays", "math", "builtins"}
    for name, op in engine_module.TABLE.items():
        for f in (op.forward, op.partials):
            code = getattr(f, "__code__", None)  # a lambda of the row (math.tanh and abs have none)
            for used in code.co_names if code is not None else ():
                target = getattr(engine_module, used, None)
                if callable(target) and not isinstance(target, type):
                    module = getattr(target, "__module__", None) or "builtins"
                    assert module in homes, (name, used, module)
                    if module.startswith("autograd."):  # its source is there, under that name
                        assert inspect.getsourcefile(target).endswith(module.split(".")[1] + ".py"), (name, used)


def test_no_module_is_over_700_lines_and_the_engine_reads_in_one_sitting() -> None:
    root = AUTOGRAD.parent
    lines = {
        str(path.relative_to(root)): len(path.read_text(encoding="utf-8").splitlines())
        for package in ("autograd", "nn")
        for path in (root / package).rglob("*.py")
    }
    assert max(lines.values()) <= 700, sorted(lines.items(), key=lambda item: -item[1])[:3]
    assert lines["autograd/engine.py"] <= 470


def test_pickles_of_steps_that_name_the_views_old_modules_still_load() -> None:
    # A step sequence pickled before the views moved names its classes (private ones too) in autograd.stepper
    # and autograd.forward; those paths resolve every name the old modules had.
    from autograd import forward_steps

    x = Value(2.0, label="x")
    y = (x * x).tanh()
    for steps in (backward_steps(y), forward_steps(y)):
        text = [step.explain() for step in steps]
        now = pickle.dumps(steps, protocol=0)
        before = now.replace(b"cautograd.views.stepper\n", b"cautograd.stepper\n")
        before = before.replace(b"cautograd.views.forward\n", b"cautograd.forward\n")
        assert before != now and b"cautograd.views.stepper\n" not in before
        loaded = pickle.loads(before)
        assert [step.explain() for step in loaded] == text
    # and the numbers the steps computed: dy/dx = 2x(1 − tanh²(x²)) at x = 2
    assert math.isclose(x.grad, 2 * 2.0 * (1 - math.tanh(4.0) ** 2), rel_tol=1e-12)


def test_the_views_old_modules_are_attributes_of_autograd_and_keep_every_name() -> None:
    import autograd

    assert autograd.viz.run_dot is autograd.views.layout.run_dot  # imported there before the move
    assert autograd.stepper.Scene is autograd.views.drawing.Scene
    assert autograd.forward.LAYOUT_TIMEOUT == autograd.views.layout.LAYOUT_TIMEOUT
    with pytest.raises(AttributeError, match="'autograd.viz' has no attribute 'nothing'"):
        autograd.viz.nothing  # noqa: B018
