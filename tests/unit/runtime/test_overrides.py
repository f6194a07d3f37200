"""Dev mode's overrides on the real app's local task definitions: the hot file, and Vite's
dev server as a one-container task (``invoke dev --hot``)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from unittest.mock import MagicMock

import pytest

from parity.assembly.apptasks import AppTasks, load_app_tasks
from parity.engine.ports import LOOPBACK_ADDRESS
from parity.errors import ConfigError
from parity.runtime.overrides import (
    HOT_FILE,
    VITE_CONTAINER,
    VITE_STAGE,
    VITE_URL_VARIABLE,
    app_image_asset,
    dev_mode_bind_mounts,
    hot_url,
    service_bind_mounts,
    vite_bind_mounts,
    vite_image,
    vite_task_definition,
)
from parity.runtime.task import LocalTask, Placement

from ..cdk.cdk_assembly import PROJECT_ROOT
from ..synthesized import synthesized_assembly

PORT = 5999


@pytest.fixture(scope="module")
def local_tasks(tmp_path_factory: pytest.TempPathFactory) -> AppTasks:
    return load_app_tasks(synthesized_assembly(tmp_path_factory, "local"), env="local")


def test_hot_mode_mounts_the_hot_file_over_public_hot_of_the_app_container_only(
    local_tasks: AppTasks,
) -> None:
    plain = dev_mode_bind_mounts(PROJECT_ROOT, local_tasks, hot=False)
    hot = dev_mode_bind_mounts(PROJECT_ROOT, local_tasks, hot=True)
    assert plain == service_bind_mounts(PROJECT_ROOT, local_tasks)
    assert set(hot) == {"laravel"}, "nginx sees it through volumesFrom, not a mount of its own"
    (added,) = set(hot["laravel"]) - set(plain["laravel"])
    assert added.host_path == PROJECT_ROOT / HOT_FILE
    assert added.container_path == "/application/public/hot"
    assert added.read_only
    assert hot["laravel"][: len(plain["laravel"])] == plain["laravel"]


def test_the_dev_server_runs_the_assets_stage_of_the_app_images_own_build(
    local_tasks: AppTasks,
) -> None:
    asset = app_image_asset(local_tasks)
    assert asset.local_image == local_tasks.service.container("laravel").image
    build = vite_image(local_tasks)
    assert (build.context, build.dockerfile) == (asset.directory, asset.dockerfile)
    assert dict(build.build_args) == dict(asset.build_args)
    assert build.target == VITE_STAGE != asset.build_target
    assert build.tag == f"{asset.local_image}-{VITE_STAGE}"
    dockerfile = (asset.directory / asset.dockerfile).read_text()
    assert re.search(rf"^FROM \S+ AS {VITE_STAGE}$", dockerfile, re.MULTILINE)


def test_an_app_image_that_is_no_asset_is_one_clear_error(local_tasks: AppTasks) -> None:
    watched = local_tasks.migration.container(local_tasks.watched_container)
    pulled = dataclasses.replace(watched, image="registry.example/app:1")
    tasks = dataclasses.replace(
        local_tasks,
        migration=dataclasses.replace(local_tasks.migration, containers=(pulled,)),
    )
    with pytest.raises(ConfigError, match=r"registry.example/app:1 is not a Docker image asset"):
        vite_image(tasks)


def test_the_dev_server_listens_on_the_port_its_holder_publishes_on_loopback(
    local_tasks: AppTasks,
) -> None:
    task = vite_task_definition(local_tasks, port=PORT)
    (server,) = task.containers
    assert server.name == VITE_CONTAINER
    assert server.command is not None
    assert server.command[server.command.index("--port") + 1] == str(PORT)
    assert "--strictPort" in server.command, "another port would break the page's URLs"
    assert [mapping.container_port for mapping in server.port_mappings] == [PORT]
    assert server.environment[VITE_URL_VARIABLE] == hot_url(PORT) == f"http://127.0.0.1:{PORT}"
    assert server.environment["CHOKIDAR_USEPOLLING"] == "1", "host file events get lost"
    assert server.health_check is not None
    assert f"127.0.0.1:{PORT}/@vite/client" in server.health_check.command[1]

    client = MagicMock()
    placement = Placement(task_name="vite", network="net", labels={}, host_ports={PORT: PORT})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("parity.runtime.task.claim_port", lambda port, **_: port)
        LocalTask(client, task, placement, secrets={}).start()
    ports = client.containers.run.call_args.kwargs["ports"]
    assert ports == {f"{PORT}/tcp": (LOOPBACK_ADDRESS, PORT)}


def test_the_dev_server_gets_the_scripts_and_styles_read_only(tmp_path: Path) -> None:
    for folder in ("resources/js", "resources/css", "resources/views"):
        (tmp_path / "resources" / "laravel" / folder).mkdir(parents=True)
    (mounts,) = vite_bind_mounts(tmp_path).values()
    assert {(m.host_path.relative_to(tmp_path), m.container_path) for m in mounts} == {
        (Path("resources/laravel/resources/js"), "/app/resources/js"),
        (Path("resources/laravel/resources/css"), "/app/resources/css"),
    }
    assert all(mount.read_only for mount in mounts)
