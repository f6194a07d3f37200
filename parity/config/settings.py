"""Harness settings from the environment, read in one place.

| variable | meaning | default |
|---|---|---|
| ``PARITY_DB_IMAGE`` | image of the local MySQL | ``mysql:8.0``, or MariaDB if unpullable |
| ``PARITY_HOST_CA`` | add the host's CA bundle to image builds (``0`` to stop) | ``1`` |
| ``PARITY_EXTRA_CA`` | more PEM files for builds, separated by ``:`` | none |
| ``PARITY_EMULATOR`` | AWS emulator: ``moto``, ``localstack`` or ``external`` | ``moto`` |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from parity.engine.images import HOST_BUNDLE_NAME, ExtraCertificates
from parity.errors import ConfigError
from parity.services.database import DEFAULT_DB_IMAGE
from parity.services.emulator import EmulatorKind

FALSE_WORDS = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class HarnessSettings:
    db_image: str = DEFAULT_DB_IMAGE
    host_ca: bool = True
    extra_ca_files: tuple[Path, ...] = ()
    emulator: EmulatorKind = EmulatorKind.MOTO

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str] = os.environ, *, certs_dir: Path | None = None
    ) -> HarnessSettings:
        """Read the settings; ``certs_dir`` is the drop-in folder of CA files for builds
        (``resources/certs``: the CDK asset excludes it, so builds get its files here)."""
        extra = tuple(Path(p) for p in environ.get("PARITY_EXTRA_CA", "").split(os.pathsep) if p)
        for path in extra:
            if not path.is_file():
                raise ConfigError(
                    f"PARITY_EXTRA_CA names {path}, which is not a file; fix the path"
                )
        if certs_dir is not None and certs_dir.is_dir():
            extra += tuple(
                sorted(
                    path
                    for path in certs_dir.iterdir()
                    if path.suffix in {".crt", ".pem"} and path.name != HOST_BUNDLE_NAME
                )
            )
        return cls(
            db_image=environ.get("PARITY_DB_IMAGE", DEFAULT_DB_IMAGE) or DEFAULT_DB_IMAGE,
            host_ca=environ.get("PARITY_HOST_CA", "1").strip().lower() not in FALSE_WORDS,
            extra_ca_files=extra,
            emulator=EmulatorKind.parse(environ.get("PARITY_EMULATOR", "moto") or "moto"),
        )

    def certificates(self) -> ExtraCertificates:
        return ExtraCertificates.from_host(enabled=self.host_ca, extra_files=self.extra_ca_files)
