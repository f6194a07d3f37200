"""Which commit is "the previous release": the last tag, else HEAD~1, else a clear error."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from parity.verify.previous import (
    PreviousVersionUnavailable,
    Release,
    default_previous_ref,
    resolve_release,
)
from tests.unit.verify.conftest import Repository


@pytest.mark.parametrize(
    ("history", "previous"),
    [
        # The last tag reachable from HEAD.
        (("commit", "tag v1.0.0", "commit", "tag v1.1.0", "commit"), "v1.1.0"),
        # A tag on HEAD names the release being built, not the previous one.
        (("commit", "tag v1.0.0", "commit", "tag v1.1.0"), "v1.0.0"),
        # A tagged first release has nothing before it but its parent.
        (("commit", "commit", "tag v1.0.0"), "HEAD~1"),
    ],
    ids=["last-tag", "tag-on-head", "tagged-first-release"],
)
def test_the_previous_release_is_the_last_tag_before_head(
    make_repository: Callable[[str], Repository], history: tuple[str, ...], previous: str
) -> None:
    repo = make_repository("repo")
    for number, step in enumerate(history):
        if step == "commit":
            repo.commit({"a.txt": str(number)})
        else:
            repo.tag(step.removeprefix("tag "))
    assert default_previous_ref(repo.root) == previous


def test_a_tag_on_another_branch_is_not_reachable(
    make_repository: Callable[[str], Repository],
) -> None:
    repo = make_repository("repo")
    repo.commit({"a.txt": "1"})
    repo.tag("v1.0.0")
    subprocess.run(["git", "checkout", "--quiet", "-b", "hotfix"], cwd=repo.root, check=True)
    repo.commit({"a.txt": "hotfix"})
    repo.tag("v1.0.1")
    subprocess.run(["git", "checkout", "--quiet", "main"], cwd=repo.root, check=True)
    repo.commit({"a.txt": "2"})
    assert default_previous_ref(repo.root) == "v1.0.0"


def test_without_tags_the_parent_commit_is_the_previous_release(
    make_repository: Callable[[str], Repository],
) -> None:
    repo = make_repository("repo")
    first = repo.commit({"a.txt": "1"})
    repo.commit({"a.txt": "2"})
    ref = default_previous_ref(repo.root)
    assert ref == "HEAD~1"
    assert resolve_release(repo.root, ref) == Release(ref="HEAD~1", sha=first)


def test_a_single_commit_without_tags_asks_for_a_ref(
    make_repository: Callable[[str], Repository],
) -> None:
    repo = make_repository("repo")
    repo.commit({"a.txt": "1"})
    with pytest.raises(PreviousVersionUnavailable) as raised:
        default_previous_ref(repo.root)
    assert str(raised.value) == (
        "no tag is reachable from HEAD and HEAD has no parent commit; pass --previous REF"
    )


def test_a_shallow_clone_says_to_fetch_more_history(
    make_repository: Callable[[str], Repository], tmp_path: Path
) -> None:
    repo = make_repository("origin")
    repo.commit({"a.txt": "1"})
    repo.tag("v1.0.0")
    repo.commit({"a.txt": "2"})
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "--quiet", "--depth=1", "--no-tags", f"file://{repo.root}", str(clone)],
        check=True,
    )
    with pytest.raises(PreviousVersionUnavailable) as raised:
        default_previous_ref(clone)
    message = str(raised.value)
    assert "shallow clone" in message
    assert "git fetch --tags --unshallow" in message
    assert "--previous REF" in message
    assert "\n" not in message


def test_a_directory_outside_git_is_named(tmp_path: Path) -> None:
    with pytest.raises(PreviousVersionUnavailable, match="is not a git checkout"):
        default_previous_ref(tmp_path)


def test_an_unknown_ref_is_named(make_repository: Callable[[str], Repository]) -> None:
    repo = make_repository("repo")
    repo.commit({"a.txt": "1"})
    with pytest.raises(PreviousVersionUnavailable, match=r"git ref 'v9\.9\.9' names no commit"):
        resolve_release(repo.root, "v9.9.9")


def test_a_tag_resolves_to_its_commit(make_repository: Callable[[str], Repository]) -> None:
    repo = make_repository("repo")
    tagged = repo.commit({"a.txt": "1"})
    repo.tag("v1.0.0")
    repo.commit({"a.txt": "2"})
    assert resolve_release(repo.root, "v1.0.0") == Release(ref="v1.0.0", sha=tagged)


def test_a_release_describes_itself_by_ref_and_short_sha() -> None:
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert Release(ref="v1.0.0", sha=sha).describe() == "v1.0.0, 0123456789ab"
    assert Release(ref="0123456", sha=sha).describe() == "0123456789ab"
