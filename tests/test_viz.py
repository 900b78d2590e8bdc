"""Tests for autograd.viz: drawing with real Graphviz, SVG read back as XML.

Numbers for the tanh neuron are derived by hand: n = 2·(−3) + 0·1 + 6.8814 = 0.8814,
o = tanh(n) = 0.7071 (b was chosen so that o = 1/√2), ∂o/∂n = 1 − o² = 0.5,
∂o/∂x1 = 0.5·w1 = −1.5, ∂o/∂w1 = 0.5·x1 = 1.0, ∂o/∂x2 = 0.5·w2 = 0.5, ∂o/∂w2 = 0.5·x2 = 0.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import textwrap

import pytest
from viz_svg import groups, node_fill, node_texts, parse_svg, texts

from autograd import Op, Value
from autograd.examples import tanh_neuron
from autograd.graph import topological_order
from autograd.viz import GraphvizNotFound, draw_dot, node_names, save_svg, to_svg

needs_dot = pytest.mark.needs("dot")  # the tests that render; draw_dot(...).source needs no dot program


def neuron_after_backward():
    v = tanh_neuron()
    v.o.backward()
    return v


@needs_dot
def test_svg_contains_labels_data_and_gradients_per_node():
    v = neuron_after_backward()
    nodes = node_texts(to_svg(v.o))
    assert nodes["x1"] == ["x1", "data 2.0000", "grad -1.5000"]
    assert nodes["w1"] == ["w1", "data -3.0000", "grad 1.0000"]
    assert nodes["x2"] == ["x2", "data 0.0000", "grad 0.5000"]
    assert nodes["w2"] == ["w2", "data 1.0000", "grad 0.0000"]
    assert nodes["b"] == ["b", "data 6.8814", "grad 0.5000"]
    assert nodes["n"] == ["n", "data 0.8814", "grad 0.5000"]
    assert nodes["o"] == ["o", "data 0.7071", "grad 1.0000"]
    # one op node per non-leaf value: 2 products, 2 sums, 1 tanh
    op_nodes = [texts(g)[0] for g in groups(to_svg(v.o), "node").values() if len(texts(g)) == 1]
    assert sorted(op_nodes) == ["*", "*", "+", "+", "tanh"]


@needs_dot
def test_edges_follow_data_flow_through_op_nodes():
    v = neuron_after_backward()
    svg = to_svg(v.o)
    name_of = {title: texts(g)[0] for title, g in groups(svg, "node").items()}
    edges = {(name_of[a], name_of[b]) for a, b in (t.split("->") for t in groups(svg, "edge"))}
    assert ("x1", "*") in edges and ("w1", "*") in edges and ("*", "x1*w1") in edges
    assert ("n", "tanh") in edges and ("tanh", "o") in edges
    assert not any(b in ("x1", "w1", "x2", "w2", "b") for _, b in edges)  # nothing flows into a leaf
    # each of the 5 non-leaf values: one op -> value edge plus one edge per operand (2+2+2+2+1)
    assert len(groups(svg, "edge")) == 5 + 9


@needs_dot
def test_unlabeled_values_are_numbered_in_the_order_they_are_computed_and_the_root_is_L():
    a = Value(2.0)
    b = Value(3.0)
    c = a * b + a
    c.backward()
    nodes = node_texts(to_svg(c))
    # computed left to right: a, b, a*b; the unlabelled root is L, as in the stepper's ∂L/∂...
    assert nodes["v1"] == ["v1", "data 2.0000", "grad 4.0000"]  # ∂c/∂a = b + 1
    assert nodes["v2"] == ["v2", "data 3.0000", "grad 2.0000"]  # ∂c/∂b = a
    assert nodes["v3"] == ["v3", "data 6.0000", "grad 1.0000"]
    assert nodes["L"] == ["L", "data 8.0000", "grad 1.0000"]


def test_names_count_up_from_v1_each_after_its_operands_left_operand_first():
    # random graphs (shared operands, one node using another twice): v1..vn, every name after its operands'
    rng = random.Random(20)
    for _ in range(200):
        nodes = [Value(rng.uniform(-1, 1)) for _ in range(3)]
        for _ in range(rng.randint(1, 15)):
            left, right = rng.choice(nodes), rng.choice(nodes)
            nodes.append(left * right if rng.random() < 0.5 else left + right)
        order = topological_order(nodes[-1])
        names = node_names(order)
        assert names[order[-1]] == "L"
        number = {node: int(names[node].removeprefix("v")) for node in order[:-1]}
        assert sorted(number.values()) == list(range(1, len(order)))
        assert all(number[p] < number.get(node, len(order)) for node in order for p in node._parents)
    x, y = Value(2.0, label="x"), Value(-3.0, label="y")
    f = (x * y) + x.sin()  # topological_order visits sin(x) first; it is computed second
    f.label = "f"
    names = node_names(topological_order(f))
    assert [names[p] for p in f._parents] == ["v1", "v2"]  # f = v1 + v2, as written


def test_the_unlabelled_root_is_L_unless_a_node_is_labelled_L():
    x, shadow = Value(2.0, label="x"), Value(1.0, label="L")
    product = shadow * x
    root = product + x
    names = node_names(topological_order(root))
    assert (names[shadow], names[product], names[root]) == ("L", "v1", "v2")


@needs_dot
def test_same_graph_renders_byte_identical_svg_twice_and_across_rebuilds():
    first = neuron_after_backward().o
    second = neuron_after_backward().o  # a new graph with other ids
    assert to_svg(first) == to_svg(first)
    assert to_svg(first) == to_svg(second)
    assert "id(" not in draw_dot(first).source
    for title in groups(to_svg(first), "node"):
        assert title.startswith("n") and len(title) < 8  # counter names, never id()s


@needs_dot
def test_rankdir_and_hidden_gradients():
    v = neuron_after_backward()
    tb = draw_dot(v.o, rankdir="TB")
    assert "rankdir=TB" in tb.source
    svg = to_svg(v.o, rankdir="TB", show_grad=False)
    nodes = node_texts(svg)
    assert nodes["x1"] == ["x1", "data 2.0000"]
    assert not any(t.startswith("grad") for ts in nodes.values() for t in ts)
    with pytest.raises(ValueError, match=r"rankdir=\.\.\.\) must be one of LR, TB, RL, BT, got 'XY'"):
        draw_dot(v.o, rankdir="XY")


@needs_dot
def test_highlight_mark_and_unknown_gradients():
    v = neuron_after_backward()
    svg = to_svg(v.o, highlight=[v.n], mark=[v.x1w1x2w2, v.b], unknown_grad=[v.x1, v.w1])
    assert node_fill(svg, "n") == "#ffd54f"
    assert node_fill(svg, "x1*w1 + x2*w2") == node_fill(svg, "b") == "#a5d6a7"
    assert node_fill(svg, "o") == "#ffffff"
    nodes = node_texts(svg)
    assert nodes["x1"] == ["x1", "data 2.0000", "grad ?"]
    assert nodes["w1"] == ["w1", "data -3.0000", "grad ?"]
    assert nodes["x2"][2] == "grad 0.5000"


@needs_dot
def test_grads_mapping_overrides_the_live_gradient():
    v = neuron_after_backward()
    nodes = node_texts(to_svg(v.o, grads={v.x1: 42.0}))
    assert nodes["x1"][2] == "grad 42.0000"
    assert v.x1.grad == pytest.approx(-1.5)  # the live gradient is untouched


@needs_dot
def test_tint_shades_by_gradient_magnitude():
    v = neuron_after_backward()
    svg = to_svg(v.o, tint=True)
    # largest |grad| is x1's 1.5: full blue; w2's 0 stays white; |grad| 0.5 is a third of the way
    assert node_fill(svg, "x1") == "#6495ed"
    assert node_fill(svg, "w2") == "#ffffff"
    third = node_fill(svg, "b")
    red, green, blue = (round(255 - (255 - c) / 3) for c in (100, 149, 237))
    assert third == f"#{red:02x}{green:02x}{blue:02x}"


@needs_dot
def test_edge_labels_are_local_derivatives():
    v = neuron_after_backward()
    svg = to_svg(v.o, edge_labels=True)
    name_of = {title: texts(g)[0] for title, g in groups(svg, "node").items()}
    labels = {}
    for title, g in groups(svg, "edge").items():
        a, b = title.split("->")
        if texts(g):
            labels[(name_of[a], b)] = texts(g)[0]
    op_of = {name: title + "op" for title, name in name_of.items()}  # a value's op node is "<name>op"
    assert labels[("x1", op_of["x1*w1"])] == "-3.0000"  # ∂(x1·w1)/∂x1 = w1
    assert labels[("w1", op_of["x1*w1"])] == "2.0000"  # ∂(x1·w1)/∂w1 = x1
    assert labels[("x2", op_of["x2*w2"])] == "1.0000"  # ∂(x2·w2)/∂x2 = w2
    assert labels[("n", op_of["o"])] == "0.5000"  # ∂tanh(n)/∂n = 1 − o² = 0.5
    assert labels[("b", op_of["n"])] == "1.0000"  # ∂(s + b)/∂b = 1
    assert len(labels) == 9  # every operand edge is labeled, op -> value edges are not


def test_edge_labels_have_the_node_labels_sans_font_in_the_dot_source():
    """Both label kinds name one font list ending in a generic sans family, so no renderer falls back to serif."""
    source = draw_dot(neuron_after_backward().o, edge_labels=True).source
    fonts = {
        kind: name.strip('"') for kind, name in re.findall(r'^\t(node|edge) \[fontname=("[^"]+"|\S+)', source, re.M)
    }
    assert set(fonts) == {"node", "edge"}, source[:300]
    assert fonts["edge"] == fonts["node"]
    assert fonts["edge"].split(",")[-1].strip().lower() in ("sans-serif", "sans")


@needs_dot
def test_edge_labels_of_a_png_are_drawn_in_the_node_labels_font(tmp_path):
    """``dot -v`` names the font file each label font resolves to: one file, a sans one, for edges and nodes."""
    source = draw_dot(neuron_after_backward().o, edge_labels=True, fmt="png").source
    run = subprocess.run(["dot", "-v", "-Tpng", "-o", str(tmp_path / "g.png")], input=source, text=True,
                         capture_output=True, check=True)  # fmt: skip
    resolved = set(re.findall(r'fontname: "[^"]*" resolved to: .*? (/\S+)', run.stderr))
    assert len(resolved) == 1, run.stderr
    assert "serif" not in resolved.pop().lower().replace("sans", "")


def chain(length: int) -> Value:
    x = Value(0.5, label="x")
    for _ in range(length):
        x = x * 1.0001
    return x


def test_max_nodes_refusal_names_the_limit_and_how_to_draw_a_subgraph():
    y = chain(600)  # 1 input + 600 constants + 600 products
    with pytest.raises(ValueError) as info:
        draw_dot(y)
    message = str(info.value)
    assert "more than max_nodes=1000 nodes" in message
    assert "depth=" in message and "single neuron" in message and "auto_scope()" in message
    with pytest.raises(ValueError, match="more than max_nodes=5 nodes.*a smaller depth=... than 3"):
        draw_dot(chain(100), depth=3, max_nodes=5)


def test_a_refusal_never_walks_or_lays_out_the_whole_graph(monkeypatch):
    import autograd.views.drawing
    import autograd.views.layout

    def forbidden(*args, **kwargs):
        raise AssertionError("a refusal must not walk the whole graph or start a layout")

    y = chain(200_000)
    monkeypatch.setattr(autograd.views.drawing, "topological_order", forbidden)
    monkeypatch.setattr(autograd.views.drawing, "run_dot", forbidden)
    monkeypatch.setattr(autograd.views.layout, "run_dot", forbidden)
    with pytest.raises(ValueError, match="more than max_nodes=1000 nodes"):
        draw_dot(y)
    with pytest.raises(ValueError, match="more than max_nodes=10 nodes"):
        draw_dot(y, depth=50, max_nodes=10)


@needs_dot
def test_depth_draws_the_last_levels_with_stubs_for_the_rest():
    v = neuron_after_backward()
    svg = to_svg(v.o, depth=1)
    nodes = node_texts(svg)
    assert set(nodes) == {"o", "n", "tanh", "+", "…"}
    stubs = [g for g in groups(svg, "node").values() if texts(g) == ["…"]]
    assert len(stubs) == 2  # n's operands s and b are outside
    deep = chain(5000)  # 10,001 nodes: far above max_nodes, but its last levels draw
    deep.backward()
    part = [texts(g) for g in groups(to_svg(deep, depth=3), "node").values()]
    records = [t for t in part if len(t) == 3]
    constants = [t for t in part if t == ["1.0001"]]  # drawn as their value
    # root, then per level one product and one constant: 1 + 3 records and 3 constants; the 4 products
    # drawn have their op nodes; the deepest product's 2 operands are stubs
    assert len(records) == 4 and len(constants) == 3
    assert sum(t == ["…"] for t in part) == 2 and len(part) == 7 + 4 + 2
    assert ["L", "data " + format(0.5 * 1.0001**5000, ".4f"), "grad 1.0000"] in records


@needs_dot
def test_user_defined_op_draws_with_its_symbol():
    softsign = Op("softsign", lambda x: x / (1 + abs(x)), lambda x, out: (1 / (1 + abs(x)) ** 2,))
    x = Value(1.0, label="x")
    y = softsign(x)
    y.label = "y"
    y.backward()
    nodes = node_texts(to_svg(y, edge_labels=True))
    assert "softsign" in nodes
    assert nodes["y"] == ["y", "data 0.5000", "grad 1.0000"]  # 1/(1+1)
    assert nodes["x"] == ["x", "data 1.0000", "grad 0.2500"]  # 1/(1+|x|)² = 1/4


@needs_dot
def test_labels_with_record_special_characters_are_escaped():
    a = Value(1.0, label='{a|<b>}"q"')
    c = a * 2
    c.label = "c\\d"
    svg = to_svg(c)
    first_texts = set(node_texts(svg))
    assert '{a|<b>}"q"' in first_texts
    assert "c\\d" in first_texts


@needs_dot
def test_save_svg_writes_atomically_and_refuses_a_missing_directory(tmp_path):
    v = neuron_after_backward()
    path = save_svg(v.o, tmp_path / "graph.svg", rankdir="TB")
    assert path == tmp_path / "graph.svg"
    assert node_texts(path.read_text(encoding="utf-8"))["w1"] == ["w1", "data -3.0000", "grad 1.0000"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.svg"]  # no temporary file left
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_svg(v.o, tmp_path / "nope" / "graph.svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.svg"]


@needs_dot
def test_digraph_helpers_and_jupyter_display():
    v = neuron_after_backward()
    g = draw_dot(v.o)
    assert to_svg(g) == to_svg(v.o)
    bundle = g._repr_mimebundle_()
    parse_svg(bundle["image/svg+xml"])
    assert bundle["text/html"].startswith('<div class="stepgrad-drawing"') and "min-width" in bundle["text/html"]
    assert list(g._repr_mimebundle_(include=["image/png"])) == ["image/png"]  # a front end asking by name
    with pytest.raises(TypeError, match=r"drawing options \['rankdir'\] need a Value"):
        to_svg(g, rankdir="TB")


@needs_dot
def test_bad_arguments_are_named():
    v = neuron_after_backward()
    with pytest.raises(TypeError, match="draw_dot\\(\\) needs an autograd.Value as root, got float"):
        draw_dot(1.5)
    with pytest.raises(TypeError, match="to_svg\\(\\) needs an autograd.Value or a graphviz.Digraph, got str"):
        to_svg("x*y")
    with pytest.raises(ValueError, match=r"max_nodes=\.\.\.\) must be a positive int, got 0"):
        draw_dot(v.o, max_nodes=0)
    with pytest.raises(ValueError, match=r"depth=\.\.\.\) must be None or an int >= 0, got -1"):
        draw_dot(v.o, depth=-1)


MISSING_DOT_SCRIPT = textwrap.dedent(
    """
    import tempfile, pathlib
    from autograd import Value
    from autograd.viz import GraphvizNotFound, draw_dot, save_svg, to_svg
    from autograd.stepper import backward_steps

    a = Value(2.0, label="a"); b = Value(-3.0, label="b"); c = a * b; c.label = "c"
    g = draw_dot(c)
    assert "data 2.0000" in g.source          # the DOT source needs no dot program
    out = pathlib.Path(tempfile.mkdtemp())
    steps = backward_steps(c)
    calls = {
        "to_svg": lambda: to_svg(c),
        "to_svg(digraph)": lambda: to_svg(g),
        "save_svg": lambda: save_svg(c, out / "g.svg"),
        "pipe": lambda: g.pipe(format="svg"),
        "render": lambda: g.render(out / "r"),
        "jupyter": lambda: g._repr_mimebundle_(),
        "step.to_svg": lambda: steps[0].to_svg(),
        "to_html": lambda: steps.to_html(),
        "save_html": lambda: steps.save_html(out / "s.html"),
        "widget": lambda: steps.widget(),
    }
    for name, call in calls.items():
        try:
            call()
        except GraphvizNotFound as exc:
            print(name, "|", str(exc).replace("\\n", " // "))
        else:
            print(name, "| NO ERROR")
    print("files", sorted(p.name for p in out.iterdir()))
    """
)


def test_missing_dot_gives_one_clear_error_everywhere(tmp_path):
    dot_dirs = {d for d in os.environ.get("PATH", "").split(os.pathsep) if d and os.path.exists(os.path.join(d, "dot"))}
    path = os.pathsep.join(d for d in os.environ.get("PATH", "").split(os.pathsep) if d and d not in dot_dirs)
    env = dict(os.environ, PATH=path)
    check = subprocess.run(
        [sys.executable, "-c", "import shutil; print(shutil.which('dot'))"], env=env, capture_output=True, text=True
    )
    assert check.stdout.strip() == "None"  # dot really is hidden
    result = subprocess.run(
        [sys.executable, "-c", MISSING_DOT_SCRIPT], env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "files []"  # nothing written
    reports = dict(line.split(" | ", 1) for line in lines[:-1])
    assert len(reports) == 10
    for name, message in reports.items():
        assert "`dot` program was not found" in message, name
        assert "sudo apt-get install graphviz" in message
        assert "brew install graphviz" in message
        assert "conda install -c conda-forge graphviz" in message
        assert "draw_dot(root).source" in message


def test_graphviz_not_found_is_a_runtime_error():
    assert issubclass(GraphvizNotFound, RuntimeError)
    assert "brew install graphviz" in str(GraphvizNotFound())


@needs_dot
def test_op_symbols_and_labels_are_never_read_as_markup():
    odd = Op('<b>"q"\\', lambda x: 2 * x, lambda x, out: (2.0,))
    x = Value(1.0, label="<script>alert(1)</script>")
    y = odd(x)
    y.backward()
    svg = to_svg(y, edge_labels=True)
    nodes = node_texts(svg)  # parse_svg succeeded: the SVG is well-formed XML
    assert '<b>"q"\\' in nodes
    assert nodes["<script>alert(1)</script>"] == ["<script>alert(1)</script>", "data 1.0000", "grad 2.0000"]
    assert "<script" not in svg and "<b>" not in svg  # present only as escaped text


@needs_dot
def test_non_finite_and_tiny_numbers_stay_readable():
    x = Value(0.0, label="x")
    y = x.sqrt() + Value(1e-9, label="tiny")  # d√x/dx = 1/(2√x) is infinite at 0
    y.label = "y"
    y.backward()
    svg = to_svg(y, tint=True, edge_labels=True)
    nodes = node_texts(svg)
    assert nodes["x"] == ["x", "data 0.0000", "grad inf"]
    assert nodes["tiny"] == ["tiny", "data 1.0000e-09", "grad 1.0000"]
    assert node_fill(svg, "x") == "#6495ed"  # an infinite gradient gets the strongest tint


@needs_dot
def test_bad_format_and_bad_gradient_values_are_named():
    v = neuron_after_backward()
    with pytest.raises(ValueError, match=r"fmt=\.\.\.\) must be a Graphviz output format such as 'svg', got ''"):
        draw_dot(v.o, fmt="")
    with pytest.raises(TypeError, match="a gradient must be a number or a Value, got str"):
        draw_dot(v.o, tint=True, grads={v.x1: "big"})
    with pytest.raises(TypeError, match="a gradient must be a number or a Value, got NoneType"):
        draw_dot(v.o, grads={v.x1: None})
    png = draw_dot(v.o, fmt="png").pipe()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_constants_are_drawn_as_their_value_and_minus_x_as_one_minus_op():
    x = Value(3.0, label="x")
    y = -x * 2
    y.label = "y"
    y.backward()
    svg = to_svg(y)
    nodes = node_texts(svg)
    assert nodes["2"] == ["2"] and node_fill(svg, "2") == "#f5f5f5"  # a small box with the value, no grad
    assert "-1" not in nodes and "-" in nodes  # x * -1 is drawn as one "-" op from x
    assert nodes["x"] == ["x", "data 3.0000", "grad -2.0000"]


@needs_dot
def test_labels_longer_than_dot_allows_are_drawn_cut_with_an_ellipsis():
    # dot refuses a quoted string over 16,384 characters; a drawing shows at most MAX_LABEL characters
    from autograd.viz import MAX_LABEL

    long_name = "x" * 20_000
    x = Value(2.0, label=long_name)
    huge_op = Op("o" * 20_000, lambda v: v, lambda v, out: (1.0,))
    y = huge_op(x * 3)
    y.label = "q" * (MAX_LABEL + 1)
    y.backward()
    nodes = node_texts(to_svg(y))
    assert nodes["x" * (MAX_LABEL - 1) + "…"] == ["x" * (MAX_LABEL - 1) + "…", "data 2.0000", "grad 3.0000"]
    assert "q" * (MAX_LABEL - 1) + "…" in nodes
    assert "o" * (MAX_LABEL - 1) + "…" in nodes
    assert x.label == long_name  # only the drawing is shortened
    exact = Value(1.0, label="z" * MAX_LABEL)  # at the limit: drawn whole
    assert "z" * MAX_LABEL in node_texts(to_svg(exact * 2))
