"""uv.lock must record what pyproject.toml asks for: after a change to the dependencies, `uv lock`.

Offline and fast: both files are parsed as TOML and the lock's record of the root package (its
`[package.metadata]` requires-dist, `provides-extras`, the `[manifest]` build constraints) is
compared with pyproject's dependencies, optional dependencies and `[tool.uv]`, names, extras,
specifiers and markers normalized with `packaging`. `scripts/bootstrap` runs `uv lock --check`
too, but only on a machine that bootstraps; this catches the disagreement in the unit tests.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name

PROJECT_ROOT = Path(__file__).resolve().parents[3]
PYPROJECT = PROJECT_ROOT / "pyproject.toml"
LOCK = PROJECT_ROOT / "uv.lock"
BOOTSTRAP = PROJECT_ROOT / "scripts" / "bootstrap"

# Environments on which two markers must give the same answer to count as the same marker
# (uv rewrites markers, e.g. python_version as python_full_version, so the text differs).
MARKER_GRID: tuple[dict[str, str], ...] = tuple(
    {
        "python_version": ".".join(version.split(".")[:2]),
        "python_full_version": version,
        "sys_platform": platform,
        "platform_system": system,
        "os_name": "nt" if platform == "win32" else "posix",
        "platform_machine": machine,
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    for version, (platform, system), machine in product(
        ("3.11.0", "3.11.9", "3.12.0", "3.13.0", "3.14.0", "3.15.0"),
        (("linux", "Linux"), ("darwin", "Darwin"), ("win32", "Windows")),
        ("x86_64", "aarch64", "arm64", "AMD64"),
    )
)


@dataclass(frozen=True)
class Dependency:
    """One requirement, normalized: equal when pip and uv would install the same thing."""

    name: NormalizedName
    extras: frozenset[NormalizedName]
    specifier: SpecifierSet
    # Whether it applies, for each environment of MARKER_GRID under each extra ("" for none).
    applies: tuple[bool, ...]
    # For the message: "" when it applies without an extra, else the extras it comes with.
    groups: tuple[str, ...] = field(compare=False)
    conditional: bool = field(compare=False)

    def __str__(self) -> str:
        extras = f"[{','.join(sorted(self.extras))}]" if self.extras else ""
        where = "main" if "" in self.groups else f"extra {', '.join(self.groups)}"
        condition = ", under a marker" if self.conditional else ""
        return f"{self.name}{extras}{self.specifier} ({where}{condition})"


def dependency(
    name: str,
    extras: Iterable[str],
    specifier: str,
    marker: str | None,
    extra_names: Iterable[str],
) -> Dependency:
    parsed = Marker(marker) if marker else None
    groups = ("", *sorted(extra_names))
    applies = {
        group: [
            parsed is None or parsed.evaluate({**environment, "extra": group})
            for environment in MARKER_GRID
        ]
        for group in groups
    }
    return Dependency(
        name=canonicalize_name(name),
        extras=frozenset(canonicalize_name(extra) for extra in extras),
        specifier=SpecifierSet(specifier),
        applies=tuple(answer for group in groups for answer in applies[group]),
        groups=tuple(group for group in groups if any(applies[group])),
        conditional=any(any(answers) and not all(answers) for answers in applies.values()),
    )


def extras_of(pyproject: Mapping[str, Any], lock: Mapping[str, Any]) -> dict[str, set[str]]:
    """The extras each file names, normalized."""
    metadata = root_package(lock, pyproject).get("metadata", {})
    return {
        "pyproject.toml": {
            canonicalize_name(name)
            for name in pyproject["project"].get("optional-dependencies", {})
        },
        "uv.lock": {canonicalize_name(name) for name in metadata.get("provides-extras", [])},
    }


def declared(pyproject: Mapping[str, Any], extra_names: Iterable[str]) -> Counter[Dependency]:
    """pyproject's requirements, each extra's marked `extra == NAME` as uv records them."""
    project = pyproject["project"]
    optional: Mapping[str, list[str]] = project.get("optional-dependencies", {})
    entries: list[tuple[str, str | None]] = [
        (text, None) for text in project.get("dependencies", [])
    ]
    entries += [
        (text, canonicalize_name(extra)) for extra, texts in optional.items() for text in texts
    ]
    found: Counter[Dependency] = Counter()
    for text, extra in entries:
        requirement = Requirement(text)
        marker = str(requirement.marker) if requirement.marker else None
        if extra is not None:
            marker = f"({marker}) and extra == '{extra}'" if marker else f"extra == '{extra}'"
        found[
            dependency(
                requirement.name,
                requirement.extras,
                str(requirement.specifier),
                marker,
                extra_names,
            )
        ] += 1
    return found


def root_package(lock: Mapping[str, Any], pyproject: Mapping[str, Any]) -> Mapping[str, Any]:
    name = canonicalize_name(pyproject["project"]["name"])
    packages: list[Mapping[str, Any]] = [
        package
        for package in lock.get("package", [])
        if canonicalize_name(package["name"]) == name and "editable" in package.get("source", {})
    ]
    assert len(packages) == 1, f"uv.lock has {len(packages)} editable packages named {name}"
    return packages[0]


def recorded(
    lock: Mapping[str, Any], pyproject: Mapping[str, Any], extra_names: Iterable[str]
) -> Counter[Dependency]:
    metadata = root_package(lock, pyproject).get("metadata", {})
    return Counter(
        dependency(
            entry["name"],
            entry.get("extras", []),
            entry.get("specifier", ""),
            entry.get("marker"),
            extra_names,
        )
        for entry in metadata.get("requires-dist", [])
    )


def build_constraints(entries: Iterable[Any]) -> set[tuple[NormalizedName, SpecifierSet]]:
    parsed = set()
    for entry in entries:
        if isinstance(entry, str):  # pyproject: PEP 508 text
            requirement = Requirement(entry)
            parsed.add((canonicalize_name(requirement.name), requirement.specifier))
        else:  # uv.lock: {name, specifier}
            parsed.add((canonicalize_name(entry["name"]), SpecifierSet(entry.get("specifier", ""))))
    return parsed


def disagreements(pyproject: Mapping[str, Any], lock: Mapping[str, Any]) -> list[str]:
    """What uv.lock records differently from pyproject.toml, one line each; [] when in step."""
    findings: list[str] = []

    extras = extras_of(pyproject, lock)
    if extras["pyproject.toml"] != extras["uv.lock"]:
        findings.append(
            "extras: "
            + ", ".join(f"{where} has {sorted(names)}" for where, names in extras.items())
        )
    # Markers are compared under every extra either file names.
    extra_names = set.union(*extras.values())
    want, have = declared(pyproject, extra_names), recorded(lock, pyproject, extra_names)
    findings += [
        f"pyproject.toml asks for {dep}; uv.lock does not record it" for dep in want - have
    ]
    findings += [
        f"uv.lock records {dep}; pyproject.toml does not ask for it" for dep in have - want
    ]

    requires_python = SpecifierSet(pyproject["project"].get("requires-python", ""))
    if requires_python != SpecifierSet(lock.get("requires-python", "")):
        findings.append(
            f"requires-python: pyproject.toml has {requires_python}, "
            f"uv.lock {lock.get('requires-python')}"
        )

    uv_settings = pyproject.get("tool", {}).get("uv", {})
    wanted_builds = build_constraints(uv_settings.get("build-constraint-dependencies", []))
    locked_builds = build_constraints(lock.get("manifest", {}).get("build-constraints", []))
    if wanted_builds != locked_builds:
        findings.append(
            "build constraints: pyproject.toml has "
            f"{sorted(f'{n}{s}' for n, s in wanted_builds)}, "
            f"uv.lock {sorted(f'{n}{s}' for n, s in locked_builds)}"
        )
    return findings


@cache
def real_texts() -> tuple[str, str]:
    return PYPROJECT.read_text(), LOCK.read_text()


@cache
def parsed_lock() -> Mapping[str, Any]:
    return tomllib.loads(real_texts()[1])


def real_pyproject() -> dict[str, Any]:
    """A fresh parse each time: the tests below edit it."""
    return tomllib.loads(real_texts()[0])


def bootstrap_uv_version() -> str:
    pinned = re.search(r"^uv_version=(\S+)$", BOOTSTRAP.read_text(), re.MULTILINE)
    assert pinned, "scripts/bootstrap no longer sets uv_version="
    return pinned.group(1)


def test_uv_lock_records_exactly_what_pyproject_asks_for() -> None:
    findings = disagreements(real_pyproject(), parsed_lock())
    assert not findings, (
        f"uv.lock is out of date: run .cache/uv-{bootstrap_uv_version()}/bin/uv lock "
        "(scripts/bootstrap installs that uv) and commit uv.lock\n" + "\n".join(findings)
    )


def test_every_dependency_is_compared() -> None:
    pyproject, lock = real_pyproject(), parsed_lock()
    extra_names = set.union(*extras_of(pyproject, lock).values())
    project = pyproject["project"]
    count = len(project["dependencies"]) + sum(
        len(texts) for texts in project["optional-dependencies"].values()
    )
    assert sum(declared(pyproject, extra_names).values()) == count
    assert sum(recorded(lock, pyproject, extra_names).values()) == count


# Edits of the real pyproject.toml, each a disagreement with the real uv.lock. Each edits the
# parsed file, takes what it changed from it (not a literal copy of today's dependencies) and
# returns a name that the findings must mention.
Edit = Callable[[dict[str, Any]], str]


def main_dependencies(pyproject: dict[str, Any]) -> list[str]:
    dependencies: list[str] = pyproject["project"]["dependencies"]
    return dependencies


def dev_dependencies(pyproject: dict[str, Any]) -> list[str]:
    dependencies: list[str] = pyproject["project"]["optional-dependencies"]["dev"]
    return dependencies


def rewrite_first(pyproject: dict[str, Any], change: Callable[[Requirement], None]) -> str:
    dependencies = main_dependencies(pyproject)
    requirement = Requirement(dependencies[0])
    change(requirement)
    dependencies[0] = str(requirement)
    return canonicalize_name(requirement.name)


def narrow_a_specifier(pyproject: dict[str, Any]) -> str:
    def narrow(requirement: Requirement) -> None:
        requirement.specifier &= SpecifierSet("!=0.0.1")

    return rewrite_first(pyproject, narrow)


def add_a_marker(pyproject: dict[str, Any]) -> str:
    def mark(requirement: Requirement) -> None:
        requirement.marker = Marker("sys_platform == 'linux'")

    return rewrite_first(pyproject, mark)


def ask_for_an_extra(pyproject: dict[str, Any]) -> str:
    def with_extra(requirement: Requirement) -> None:
        requirement.extras = {*requirement.extras, "no-such-extra"}

    return rewrite_first(pyproject, with_extra)


def add_a_dependency(pyproject: dict[str, Any]) -> str:
    main_dependencies(pyproject).append("no-such-package>=1")
    return "no-such-package"


def remove_a_dev_dependency(pyproject: dict[str, Any]) -> str:
    return canonicalize_name(Requirement(dev_dependencies(pyproject).pop()).name)


def move_a_dev_dependency_to_the_main_ones(pyproject: dict[str, Any]) -> str:
    moved = dev_dependencies(pyproject).pop(0)
    main_dependencies(pyproject).append(moved)
    return canonicalize_name(Requirement(moved).name)


def add_an_extra(pyproject: dict[str, Any]) -> str:
    pyproject["project"]["optional-dependencies"]["docs"] = ["mkdocs>=1.6"]
    return "docs"


def raise_requires_python(pyproject: dict[str, Any]) -> str:
    pyproject["project"]["requires-python"] = ">=3.99"
    return "requires-python"


def add_a_build_constraint(pyproject: dict[str, Any]) -> str:
    pyproject["tool"]["uv"]["build-constraint-dependencies"].append("wheel==0.45.1")
    return "wheel"


@pytest.mark.parametrize(
    "edit",
    [
        narrow_a_specifier,
        add_a_marker,
        ask_for_an_extra,
        add_a_dependency,
        remove_a_dev_dependency,
        move_a_dev_dependency_to_the_main_ones,
        add_an_extra,
        raise_requires_python,
        add_a_build_constraint,
    ],
    ids=lambda edit: edit.__name__,
)
def test_a_pyproject_the_lock_does_not_match_is_caught(edit: Edit) -> None:
    pyproject = real_pyproject()
    named = edit(pyproject)
    findings = disagreements(pyproject, parsed_lock())
    assert findings, f"{edit.__name__} went unnoticed"
    assert any(named in finding for finding in findings), findings


def test_an_edited_pyproject_text_is_caught() -> None:
    """The way a developer breaks it: one bound changed in the file, uv lock not run."""
    text, _ = real_texts()
    first = main_dependencies(real_pyproject())[0]
    assert text.count(f'"{first}"') == 1
    edited = text.replace(f'"{first}"', f'"{first},!=0.0.1"')
    findings = disagreements(tomllib.loads(edited), parsed_lock())
    assert any(canonicalize_name(Requirement(first).name) in finding for finding in findings)


def test_a_lock_missing_a_requirement_is_caught() -> None:
    lock = tomllib.loads(real_texts()[1])
    metadata = root_package(lock, real_pyproject())["metadata"]
    dropped = metadata["requires-dist"].pop()
    findings = disagreements(real_pyproject(), lock)
    assert any(f"asks for {canonicalize_name(dropped['name'])}" in f for f in findings), findings


def respell(text: str) -> str:
    """The same requirement written differently: case, separators, spaces, order, zeros."""
    requirement = Requirement(text)
    name = requirement.name.upper().replace("-", "_")
    extras = (
        f"[{', '.join(extra.upper() for extra in requirement.extras)}]"
        if requirement.extras
        else ""
    )
    specifiers = [str(specifier) for specifier in requirement.specifier]
    specifiers = [
        re.sub(r"^(<|>=)(\d+)$", r"\1 \2.0", spec) for spec in reversed(sorted(specifiers))
    ]
    marker = f" ; {requirement.marker}" if requirement.marker else ""
    return f"{name} {extras} {', '.join(specifiers)}{marker}"


def test_spelling_that_installs_the_same_is_not_a_disagreement() -> None:
    pyproject = real_pyproject()
    project = pyproject["project"]
    project["dependencies"] = [respell(text) for text in project["dependencies"]]
    project["optional-dependencies"] = {
        extra.upper(): [respell(text) for text in texts]
        for extra, texts in project["optional-dependencies"].items()
    }
    assert project["dependencies"] != real_pyproject()["project"]["dependencies"]
    assert disagreements(pyproject, parsed_lock()) == []


def test_a_lock_without_the_project_is_caught() -> None:
    pyproject = real_pyproject()
    pyproject["project"]["name"] = "another-project"
    with pytest.raises(AssertionError, match="0 editable packages named another-project"):
        disagreements(pyproject, parsed_lock())


def test_bootstrap_installs_the_uv_that_pyproject_requires() -> None:
    required = real_pyproject()["tool"]["uv"]["required-version"]
    assert required == f"=={bootstrap_uv_version()}"
