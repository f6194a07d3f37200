"""Harness settings from the environment, read in one place.

| variable | meaning | default |
|---|---|---|
| ``PARITY_DB_IMAGE`` | image of the local MySQL | ``mysql:8.0``, or MariaDB if unpullable |
| ``PARITY_HOST_CA`` | add the host's CA bundle to image builds (``0`` to stop) | ``1`` |
| ``PARITY_EXTRA_CA`` | more PEM files for builds, separated by ``:`` | none |
| ``PARITY_EMULATOR`` | AWS emulator: ``moto``, ``localstack`` or ``external`` | ``moto`` |
| ``PARITY_LOCK_ROWS`` | a locking migration on a bigger table warns or refuses | ``100000`` |
| ``PARITY_ON_LOCKING`` | what it does then: ``warn`` or ``refuse`` | ``warn`` |
| ``PARITY_TABLE_ROWS`` | JSON file of the target's row counts, ``{"table": rows}`` | local |
| ``PARITY_SCHEDULE_OVERRIDE`` | every schedule's local expression (``rate(10 seconds)``) | none |
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from parity.errors import ConfigError

FALSE_WORDS = {"0", "false", "no", "off"}
# The CDK app's environment that local runs (dev, deploy --env local, checks) use.
LOCAL_ENVIRONMENT = "local"
# Where `invoke dev` serves the app: http://127.0.0.1:8080/.
DEFAULT_HTTP_PORT = 8080
# Aurora MySQL 3 is the mysql:8.0 family.
DEFAULT_DB_IMAGE = "mysql:8.0"
HOST_CA_BUNDLES = (
    Path("/etc/ssl/certs/ca-certificates.crt"),
    Path("/etc/pki/tls/certs/ca-bundle.crt"),
    Path("/etc/ssl/cert.pem"),
)
HOST_BUNDLE_NAME = "host-ca-bundle.crt"
DEFAULT_LOCK_ROW_LIMIT = 100_000
# CA files dropped here reach image builds; the CDK asset excludes the folder (gitignored).
CERTS_DROP_IN_DIR = Path("resources") / "certs"


class EmulatorKind(Enum):
    MOTO = "moto"
    LOCALSTACK = "localstack"
    EXTERNAL = "external"

    @classmethod
    def parse(cls, value: str) -> EmulatorKind:
        try:
            return cls(value.strip().lower())
        except ValueError:
            valid = ", ".join(kind.value for kind in cls)
            raise ConfigError(f"unknown emulator {value!r}; choose one of: {valid}") from None


class LockingAction(Enum):
    WARN = "warn"
    REFUSE = "refuse"

    @classmethod
    def parse(cls, value: str) -> LockingAction:
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise ConfigError(f"PARITY_ON_LOCKING is {value!r}; set it to warn or refuse") from None


@dataclass(frozen=True, kw_only=True)
class MigrationPolicy:
    """What a deploy does about pending migrations that lock a table: above
    ``lock_row_limit`` rows, ``on_locking`` (breaking ones are always refused unless allowed)."""

    lock_row_limit: int = DEFAULT_LOCK_ROW_LIMIT
    on_locking: LockingAction = LockingAction.WARN
    # The target environment's row counts (table → rows), when PARITY_TABLE_ROWS gives them.
    table_rows: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ExtraCertificates:
    """PEM bundles added to a build context under ``certs/`` (name → PEM text)."""

    bundles: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_host(
        cls, *, enabled: bool = True, extra_files: Iterable[Path] = ()
    ) -> ExtraCertificates:
        """The host's CA bundle (when enabled and present) plus any explicitly named files."""
        bundles: dict[str, str] = {}
        if enabled:
            host_bundle = next((path for path in HOST_CA_BUNDLES if path.is_file()), None)
            if host_bundle is not None:
                bundles[HOST_BUNDLE_NAME] = host_bundle.read_text()
        for path in extra_files:
            bundles[f"extra-{path.stem}.crt"] = path.read_text()
        return cls(bundles=bundles)


NO_EXTRA_CERTIFICATES = ExtraCertificates()


@dataclass(frozen=True)
class HarnessSettings:
    db_image: str = DEFAULT_DB_IMAGE
    host_ca: bool = True
    extra_ca_files: tuple[Path, ...] = ()
    emulator: EmulatorKind = EmulatorKind.MOTO
    migration_policy: MigrationPolicy = field(default_factory=MigrationPolicy)
    # A schedule expression the local scheduler follows instead of every template's (tests:
    # a shorter wait); "" keeps the templates'. Parsed by parity.runtime.scheduler.
    schedule_override: str = ""

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
            migration_policy=migration_policy(environ),
            schedule_override=environ.get("PARITY_SCHEDULE_OVERRIDE", "").strip(),
        )

    @classmethod
    def for_project(
        cls, project_root: Path, environ: Mapping[str, str] = os.environ
    ) -> HarnessSettings:
        """The settings, with the project's ``resources/certs`` drop-in folder of CA files."""
        return cls.from_environ(environ, certs_dir=project_root / CERTS_DROP_IN_DIR)

    def emulator_for(self, flag: str | None) -> EmulatorKind:
        """An explicit ``--emulator`` wins; without one, ``PARITY_EMULATOR`` (or moto)."""
        return EmulatorKind.parse(flag) if flag else self.emulator

    def certificates(self) -> ExtraCertificates:
        return ExtraCertificates.from_host(enabled=self.host_ca, extra_files=self.extra_ca_files)


PROJECT_VARIABLE = "PARITY_PROJECT"


def selected_project(default: Path, environ: Mapping[str, str] = os.environ) -> Path:
    """The project the tasks act on: ``PARITY_PROJECT`` (a folder holding fargate-parity.toml),
    else ``default``, the checkout the tasks run from."""
    chosen = environ.get(PROJECT_VARIABLE, "").strip()
    if not chosen:
        return default
    root = Path(chosen).expanduser().resolve()
    if not (root / "fargate-parity.toml").is_file():
        raise ConfigError(
            f"{PROJECT_VARIABLE}={chosen} holds no fargate-parity.toml; point it at the folder"
            " of your app's harness config"
        )
    return root


def migration_policy(environ: Mapping[str, str]) -> MigrationPolicy:
    limit = environ.get("PARITY_LOCK_ROWS", "").strip() or str(DEFAULT_LOCK_ROW_LIMIT)
    if not limit.isdigit():
        raise ConfigError(f"PARITY_LOCK_ROWS is {limit!r}; set it to a number of rows")
    rows_file = environ.get("PARITY_TABLE_ROWS", "").strip()
    return MigrationPolicy(
        lock_row_limit=int(limit),
        on_locking=LockingAction.parse(environ.get("PARITY_ON_LOCKING", "") or "warn"),
        table_rows=table_rows(Path(rows_file)) if rows_file else {},
    )


def table_rows(path: Path) -> dict[str, int]:
    """``{"table": rows}``, e.g. from the target's ``information_schema.tables``."""
    try:
        counts = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"PARITY_TABLE_ROWS names {path}, which is not a readable JSON file ({error})"
        ) from None
    if not isinstance(counts, dict) or not all(
        isinstance(rows, int) and not isinstance(rows, bool) for rows in counts.values()
    ):
        raise ConfigError(
            f"PARITY_TABLE_ROWS file {path} must hold one object of table names to row counts"
        )
    return {str(table): rows for table, rows in counts.items()}
