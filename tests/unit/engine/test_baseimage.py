from __future__ import annotations

from pathlib import Path

from parity.engine.baseimage import slim_rootfs


def test_slimming_drops_caches_docs_and_locales_and_keeps_later_installs_slim(
    tmp_path: Path,
) -> None:
    for relative in (
        "var/cache/apt/archives",
        "usr/share/doc/bash",
        "usr/share/locale/de",
        "etc/apt/apt.conf.d",
        "etc/dpkg/dpkg.cfg.d",
        "var/lib/apt/lists",
        "usr/bin",
    ):
        (tmp_path / relative).mkdir(parents=True)
    (tmp_path / "var/cache/apt/archives/bash.deb").write_bytes(b"x" * 100)
    (tmp_path / "var/cache/apt/pkgcache.bin").write_bytes(b"x")
    (tmp_path / "usr/share/doc/bash/README").write_text("doc")
    (tmp_path / "usr/bin/bash").write_text("binary")

    slim_rootfs(tmp_path)

    assert not (tmp_path / "var/cache/apt/archives/bash.deb").exists()
    assert not (tmp_path / "var/cache/apt/pkgcache.bin").exists()
    assert not (tmp_path / "usr/share/doc/bash").exists()
    assert not (tmp_path / "usr/share/locale/de").exists()
    assert (tmp_path / "usr/bin/bash").read_text() == "binary"
    assert (tmp_path / "var/lib/apt/lists/partial").is_dir()
    assert (
        "path-exclude /usr/share/doc/*"
        in (tmp_path / "etc/dpkg/dpkg.cfg.d/docker-slim").read_text()
    )
    assert "deb.debian.org" in (tmp_path / "etc/apt/sources.list").read_text()
