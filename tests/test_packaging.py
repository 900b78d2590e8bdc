"""The package as a stranger gets it: the sdist and the wheel built, the wheel installed into a fresh
virtual environment and run from an unrelated folder, and the sdist able to test itself.

The build runs ``python -m build --no-isolation`` on a copy of the source tree, with the setuptools
and build of this virtual environment (both in the ``dev`` extra). Isolation would download
setuptools from the package index on every run; without it the test works offline and takes
seconds. The wheel is installed with ``pip --no-index``: it has no dependencies.
"""

from __future__ import annotations

import io
import math
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VERSION = "0.1.0"
pytestmark = pytest.mark.slow  # about 30 seconds: a build, a virtual environment, a demo


def run(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8", timeout=timeout
    )


def source_files() -> list[str]:
    """The files git does not ignore (or, outside a git checkout such as an unpacked sdist, those on disk)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO, capture_output=True, text=True
    )
    if listed.returncode == 0 and listed.stdout:
        return [name for name in listed.stdout.splitlines() if (REPO / name).exists()]
    skip = {".venv", ".git", "__pycache__", ".hypothesis", "build", "dist"}
    return [
        str(path.relative_to(REPO))
        for path in REPO.rglob("*")
        if path.is_file() and not skip.intersection(path.relative_to(REPO).parts) and ".egg-info" not in str(path)
    ]


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """``(sdist, wheel, build log)`` built from a copy of the source tree."""
    root = tmp_path_factory.mktemp("build")
    source = root / "source"
    for name in source_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # else setuptools says so
    built = run(sys.executable, "-m", "build", "--no-isolation", "--outdir", root / "dist", source, cwd=root, env=env)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return (
        root / "dist" / f"stepgrad-{VERSION}.tar.gz",
        root / "dist" / f"stepgrad-{VERSION}-py3-none-any.whl",
        (built.stdout + built.stderr),
    )


def test_the_build_does_not_warn(dists):
    _, _, log = dists
    # e.g. setuptools' deprecation of the project.license table and of licence classifiers (PEP 639)
    assert not re.search(r"warn|deprecat", log, re.I), [
        line for line in log.splitlines() if re.search("warn", line, re.I)
    ]


def test_wheel_metadata_has_the_licence_expression_urls_and_typing_markers(dists):
    _, wheel, _ = dists
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"stepgrad-{VERSION}.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in metadata and "License-File: LICENSE" in metadata
    assert f"stepgrad-{VERSION}.dist-info/licenses/LICENSE" in names
    assert "Classifier: License ::" not in metadata  # PEP 639: the expression replaces the classifier
    for url in (
        "Homepage, https://github.com/stepgrad/stepgrad",
        "Issues, https://github.com/stepgrad/stepgrad/issues",
    ):
        assert f"Project-URL: {url}" in metadata
    assert "autograd/py.typed" in names and "nn/py.typed" in names
    with zipfile.ZipFile(wheel) as archive:  # the names data set and its source and licence note (nn.text)
        for data in ("nn/datasets/names.txt", "nn/datasets/README.md"):
            assert archive.read(data) == (REPO / data).read_bytes(), data
    assert not any(name.startswith(("tests/", "notebooks/")) for name in names)


def extract_safely(archive: tarfile.TarFile, folder: Path) -> None:
    """Unpack ``archive`` into ``folder``, refusing any member that could land outside it.

    ``extractall(filter="data")`` does this check, but only from Python 3.11.4 (Debian 12 ships
    3.11.2, and ``requires-python`` is ">=3.11"): so the members are checked here on every Python, and
    the filter is added where it exists (3.14 makes it the default; 3.12 and 3.13 warn without it).
    An sdist holds regular files and folders only: a link, a device, an absolute name or a ``..``
    is refused by name.
    """
    for member in archive.getmembers():
        parts = Path(member.name).parts
        if member.name.startswith(("/", "\\")) or Path(member.name).is_absolute() or ".." in parts:
            raise ValueError(f"refusing to unpack {member.name!r}: the name leaves the target folder")
        if not (member.isfile() or member.isdir()):
            raise ValueError(f"refusing to unpack {member.name!r}: not a regular file or a folder")
    if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4
        archive.extractall(folder, filter="data")
    else:
        archive.extractall(folder)  # every member checked above


@pytest.mark.parametrize(
    "name, kind",
    [("../outside.txt", tarfile.REGTYPE), ("/etc/outside.txt", tarfile.REGTYPE), ("pkg/link", tarfile.SYMTYPE),
     ("pkg/hard", tarfile.LNKTYPE), ("pkg/a/../../../outside.txt", tarfile.REGTYPE)],
)  # fmt: skip
def test_extract_safely_refuses_members_that_leave_the_folder(tmp_path, name, kind):
    packed = tmp_path / "evil.tar"
    with tarfile.open(packed, "w") as archive:
        ok = tarfile.TarInfo("pkg/fine.txt")
        ok.size = 2
        archive.addfile(ok, io.BytesIO(b"ok"))
        bad = tarfile.TarInfo(name)
        bad.type = kind
        bad.linkname = "/etc/passwd" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
        archive.addfile(bad, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    target = tmp_path / "target"
    target.mkdir()
    with tarfile.open(packed) as archive, pytest.raises(ValueError, match=re.escape(f"refusing to unpack {name!r}")):
        extract_safely(archive, target)
    assert list(target.iterdir()) == []  # checked before anything is written
    assert not (tmp_path / "outside.txt").exists()


def test_the_sdist_holds_the_tests_helpers_and_notebooks(dists, tmp_path):
    sdist, _, _ = dists
    with tarfile.open(sdist) as archive:
        members = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
        extract_safely(archive, tmp_path)
    wanted = [name for name in source_files() if name.startswith(("tests/", "notebooks/", "autograd/", "nn/"))]
    assert {"tests/oracles.py", "tests/browser.py", "tests/viz_svg.py", "tests/conftest.py"} <= members
    assert [name for name in wanted if name not in members] == []
    # pytest collects every test and notebook of the unpacked sdist without an error
    unpacked = tmp_path / f"stepgrad-{VERSION}"
    collected = run(sys.executable, "-m", "pytest", "--collect-only", "-q", cwd=unpacked, timeout=600)
    assert collected.returncode == 0, collected.stdout[-3000:]
    assert re.search(r"^\d+ tests collected", collected.stdout, re.M), collected.stdout[-500:]
    assert "notebooks/05_second_order.ipynb" in collected.stdout


@pytest.fixture(scope="module")
def fresh_venv(dists, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with the wheel installed and nothing else: ``pip install stepgrad``."""
    _, wheel, _ = dists
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    made = run(sys.executable, "-m", "venv", venv, cwd=venv.parent)
    assert made.returncode == 0, made.stderr
    installed = run(venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-index", wheel, cwd=venv.parent)
    assert installed.returncode == 0, installed.stderr
    return venv


def stepgrad_in(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run(venv / "bin" / "stepgrad", *args, cwd=cwd, env=dict(os.environ, PYTHONIOENCODING="utf-8"))


def test_the_installed_wheel_runs_from_an_unrelated_folder(fresh_venv, tmp_path):
    where = run(
        fresh_venv / "bin" / "python",
        "-c",
        "import autograd, nn, pathlib; print(pathlib.Path(autograd.__file__).parent, pathlib.Path(nn.__file__).parent)",
        cwd=tmp_path,
    )
    for folder in where.stdout.split():  # the installed packages, not the repository's
        assert Path(folder).is_relative_to(fresh_venv) and (Path(folder) / "py.typed").exists(), folder

    shown = stepgrad_in(fresh_venv, "--help", cwd=tmp_path)
    assert shown.returncode == 0
    assert all(re.search(rf"^\s+{command}\s", shown.stdout, re.M) for command in ("demo", "graph", "steps"))

    stepped = stepgrad_in(fresh_venv, "steps", "x*y + sin(x)", "--at", "x=2,y=-3", cwd=tmp_path)
    assert stepped.returncode == 0, stepped.stderr
    grads = dict(re.findall(r"^∂f/∂(\w) = (\S+)$", stepped.stdout, re.M))
    assert math.isclose(float(grads["x"]), -3 + math.cos(2), rel_tol=1e-12)  # ∂(xy + sin x)/∂x = y + cos x
    assert float(grads["y"]) == 2.0  # ∂/∂y = x


def test_the_player_script_and_style_ship_beside_the_player_that_reads_them(dists, fresh_venv, tmp_path):
    """``autograd/views/player.py`` reads ``player.js`` and ``player.css`` from its own package: both are in the
    wheel at that place, and the installed wheel reads them (the stepper's page and widget need them)."""
    _, wheel, _ = dists
    with zipfile.ZipFile(wheel) as archive:
        for asset in ("autograd/views/player.js", "autograd/views/player.css"):
            assert archive.read(asset) == (REPO / asset).read_bytes(), asset
    read = run(
        fresh_venv / "bin" / "python",
        "-c",
        "from autograd.views.player import asset; print(len(asset('player.js')), len(asset('player.css')))",
        cwd=tmp_path,
    )
    assert read.returncode == 0, read.stderr
    sizes = [
        len((REPO / "autograd" / "views" / name).read_text(encoding="utf-8")) for name in ("player.js", "player.css")
    ]
    assert read.stdout.split() == [str(n) for n in sizes]


def test_without_extras_graph_and_demo_say_which_extra_to_install(fresh_venv, tmp_path):
    drawn = stepgrad_in(fresh_venv, "graph", "x*y", "--at", "x=1,y=2", "-o", "g.svg", cwd=tmp_path)
    assert (drawn.returncode, drawn.stdout) == (1, "")
    assert drawn.stderr == (
        "stepgrad: error: stepgrad graph needs the Python package(s) graphviz: "
        "install them with pip install 'stepgrad[viz]'\n"
    )
    demo = stepgrad_in(fresh_venv, "demo", "--out", "d", cwd=tmp_path)
    assert (demo.returncode, demo.stdout) == (1, "")
    assert demo.stderr == (
        "stepgrad: error: the demo needs the Python package(s) matplotlib, numpy, graphviz, tqdm: "
        "install them with pip install 'stepgrad[demo]'\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_with_the_demo_extra_the_installed_demo_runs(fresh_venv, tmp_path):
    # the demo extra's packages from this test's own environment, *after* the fresh one's site-packages
    # (a .pth line appends a folder to sys.path; stepgrad itself still comes from the wheel)
    fresh_site = run(
        fresh_venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=tmp_path
    )
    extras = Path(fresh_site.stdout.strip()) / "dev-extras.pth"
    extras.write_text(sysconfig.get_path("purelib") + "\n")
    try:
        demo = stepgrad_in(fresh_venv, "demo", "--steps", "3", "--out", "out", cwd=tmp_path)
        assert demo.returncode == 0, demo.stderr[-2000:]
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
            ["decision_boundary.png", "loss_curve.png", "neuron_graph.svg", "backprop_steps.html", "training.html"]
        )
        drawn = stepgrad_in(fresh_venv, "graph", "tanh(x)", "--at", "x=0.5", "-o", "g.png", cwd=tmp_path)
        assert drawn.returncode == 0, drawn.stderr
        assert (tmp_path / "g.png").read_bytes().startswith(b"\x89PNG")
    finally:
        extras.unlink()
