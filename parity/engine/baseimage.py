"""Make ``debian:bookworm-slim`` available on hosts without an image registry.

Pull it when a registry answers; otherwise build a stand-in once from the Debian mirror
(debootstrap minbase, slimmed the way the official image is) and ``docker import`` it.
The image store is the cache: a tagged image is never rebuilt.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import docker

from parity.console import note, step
from parity.engine.daemon import apt_install, can_manage_engine
from parity.engine.images import image_exists, pull_image
from parity.engine.labels import BUILT_BY_LABEL
from parity.errors import EngineUnavailable, HarnessError

BASE_IMAGE = "debian:bookworm-slim"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"

# What the official slim image leaves out, applied to every later apt-get install.
DPKG_EXCLUDES = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
"""
APT_CLEAN_COMMAND = (
    "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb "
    "/var/cache/apt/*.bin || true"
)
APT_CLEAN = f"""\
DPkg::Post-Invoke {{ "{APT_CLEAN_COMMAND}"; }};
APT::Update::Post-Invoke {{ "{APT_CLEAN_COMMAND}"; }};
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
"""
SOURCES = f"""\
deb {DEBIAN_MIRROR} {SUITE} main
deb {DEBIAN_MIRROR} {SUITE}-updates main
deb http://deb.debian.org/debian-security {SUITE}-security main
"""
SLIMMED_PATHS = (
    "var/cache/apt",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/log",
)


def ensure_base_image(client: docker.DockerClient, image: str = BASE_IMAGE) -> str:
    """Return ``image`` once it is in the local store: present, pulled, or built."""
    if image_exists(client, image) or pull_image(client, image) is None:
        return image
    if image != BASE_IMAGE:
        raise HarnessError(
            f"base image {image} is not local and cannot be pulled; build or load it"
        )
    note(f"{image} cannot be pulled (no registry answers); building it from {DEBIAN_MIRROR}")
    build_from_debian_mirror(client, image)
    return image


def build_from_debian_mirror(client: docker.DockerClient, image: str) -> None:
    if shutil.which("debootstrap") is None:
        if not can_manage_engine():
            raise EngineUnavailable(
                f"{image} cannot be pulled and debootstrap is missing; "
                "install debootstrap or load the image with `docker load`"
            )
        apt_install(["debootstrap"], reason=f"{image} must be built locally")
    with tempfile.TemporaryDirectory(prefix="parity-rootfs-") as scratch:
        rootfs = Path(scratch) / "rootfs"
        with step(f"debootstrap --variant=minbase {SUITE} (about 40 s)"):
            run_logged(
                ["debootstrap", "--variant=minbase", SUITE, str(rootfs), DEBIAN_MIRROR],
                what="debootstrap",
            )
        slim_rootfs(rootfs)
        archive = Path(scratch) / "rootfs.tar"
        with step(f"docker import as {image}"):
            run_logged(["tar", "-C", str(rootfs), "-cf", str(archive), "."], what="tar")
            repository, _, tag = image.partition(":")
            client.api.import_image_from_file(
                str(archive),
                repository=repository,
                tag=tag,
                changes=['CMD ["bash"]', f"LABEL {BUILT_BY_LABEL}=debootstrap"],
            )


def slim_rootfs(rootfs: Path) -> None:
    """Drop caches, docs and locales, and keep later installs slim, like the official image."""
    for relative in SLIMMED_PATHS:
        target = rootfs / relative
        if target.is_dir():
            for child in target.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
    (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
    (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
    (rootfs / "etc/dpkg/dpkg.cfg.d/docker-slim").write_text(DPKG_EXCLUDES)
    (rootfs / "etc/apt/apt.conf.d/docker-clean").write_text(APT_CLEAN)
    (rootfs / "etc/apt/apt.conf.d/docker-no-recommends").write_text(
        'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n'
    )
    (rootfs / "etc/apt/sources.list").write_text(SOURCES)


def run_logged(command: list[str], *, what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-3:])
        raise HarnessError(f"{what} failed: {tail}")
