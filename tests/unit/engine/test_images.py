from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from parity.config.settings import ExtraCertificates
from parity.engine.images import context_archive, follow_build
from parity.errors import ImageBuildFailed


@pytest.fixture
def context(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile-app").write_text("FROM debian:bookworm-slim\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "index.php").write_text("<?php echo 1;")
    (tmp_path / "app" / "node_modules").mkdir()
    (tmp_path / "app" / "node_modules" / "big.js").write_text("x")
    (tmp_path / ".dockerignore").write_text("# comment\n**/node_modules\n")
    return tmp_path


def archived_names(context: Path, certificates: ExtraCertificates) -> dict[str, bytes]:
    with (
        context_archive(context, "Dockerfile-app", certificates) as archive,
        tarfile.open(fileobj=archive) as tar,
    ):
        return {
            member.name: (tar.extractfile(member).read() if member.isfile() else b"")  # type: ignore[union-attr]
            for member in tar.getmembers()
        }


def test_the_context_honours_dockerignore(context: Path) -> None:
    names = archived_names(context, ExtraCertificates())
    assert "app/index.php" in names
    assert "Dockerfile-app" in names
    assert not any("node_modules" in name for name in names)


def test_extra_certificates_are_added_under_certs(context: Path) -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    names = archived_names(context, ExtraCertificates(bundles={"corp.crt": pem}))
    assert names["certs/corp.crt"] == pem.encode()
    assert not (context / "certs").exists(), "the source tree must not be touched"


def test_host_bundle_is_used_unless_disabled(tmp_path: Path) -> None:
    extra = tmp_path / "proxy.pem"
    extra.write_text("PEM")
    enabled = ExtraCertificates.from_host(enabled=True, extra_files=[extra])
    disabled = ExtraCertificates.from_host(enabled=False, extra_files=[extra])
    assert disabled.bundles == {"extra-proxy.crt": "PEM"}
    assert "extra-proxy.crt" in enabled.bundles
    if Path("/etc/ssl/certs/ca-certificates.crt").is_file():
        assert "host-ca-bundle.crt" in enabled.bundles


def test_a_missing_dockerfile_is_named(context: Path) -> None:
    with pytest.raises(ImageBuildFailed, match="Dockerfile-missing does not exist"):
        context_archive(context, "Dockerfile-missing", ExtraCertificates())


def test_a_failed_step_is_named_with_its_output() -> None:
    stream = iter(
        [
            {"stream": "Step 1/3 : FROM debian:bookworm-slim\n"},
            {"stream": " ---> abc\n"},
            {"stream": "Step 2/3 : RUN npm ci\n"},
            {"stream": "npm ERR! code SELF_SIGNED_CERT_IN_CHAIN\n"},
            {
                "error": "The command '/bin/sh -c npm ci' returned a non-zero code: 1",
                "errorDetail": {
                    "message": "The command '/bin/sh -c npm ci' returned a non-zero code: 1"
                },
            },
        ]
    )
    with pytest.raises(ImageBuildFailed) as caught:
        follow_build("app:dev", stream)
    assert "step 2/3 (RUN npm ci)" in str(caught.value)
    assert "SELF_SIGNED_CERT_IN_CHAIN" in caught.value.output
    assert "---> abc" not in caught.value.output


def test_a_successful_build_returns_the_image_id() -> None:
    stream = iter([{"stream": "Step 1/1 : FROM x\n"}, {"aux": {"ID": "sha256:feed"}}])
    assert follow_build("app:dev", stream) == "sha256:feed"


def test_a_build_without_an_image_id_fails() -> None:
    with pytest.raises(ImageBuildFailed, match="produced no image"):
        follow_build("app:dev", iter([{"stream": "Step 1/1 : FROM x\n"}]))
