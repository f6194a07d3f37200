"""Dev mode's overrides on the real app's local task definitions: the hot file, and Vite's
dev server as a one-container task (``invoke dev --hot``), from fargate-parity.toml's
``[dev.hot]``."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from unittest.mock import MagicMock

import pytest

from parity.assembly.apptasks import AppTasks, environment_tasks
from parity.config.harness import DevConfig, HotConfig, SourceMount, load_config
from parity.engine.ports import LOOPBACK_ADDRESS
from parity.errors import ConfigError
from parity.runtime.overrides import (
    HOT_FILE,
    VITE_CONTAINER,
    app_containers,
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
    return environment_tasks(PROJECT_ROOT, "local", synthesized_assembly(tmp_path_factory, "local"))


@pytest.fixture(scope="module")
def dev() -> DevConfig:
    return load_config(PROJECT_ROOT).dev


@pytest.fixture(scope="module")
def hot(dev: DevConfig) -> HotConfig:
    return dev.require_hot()


def test_hot_mode_mounts_the_hot_file_into_every_app_container_only(
    local_tasks: AppTasks, dev: DevConfig, hot: HotConfig
) -> None:
    plain = dev_mode_bind_mounts(PROJECT_ROOT, local_tasks, dev, hot=None)
    with_hot = dev_mode_bind_mounts(PROJECT_ROOT, local_tasks, dev, hot=hot)
    assert plain == service_bind_mounts(PROJECT_ROOT, local_tasks, dev)
    app = {name for names in app_containers(local_tasks).values() for name in names}
    # The web's php-fpm and the worker run the app image; nginx sees it through volumesFrom.
    assert set(with_hot) == app == {"laravel", "worker"}
    for name in app:
        (added,) = set(with_hot[name]) - set(plain[name])
        assert added.host_path == PROJECT_ROOT / HOT_FILE
        assert added.container_path == hot.hot_file == "/application/public/hot"
        assert added.read_only
        assert with_hot[name][: len(plain[name])] == plain[name]


def test_the_hot_file_goes_into_the_app_containers_of_every_service(
    local_tasks: AppTasks, dev: DevConfig, hot: HotConfig
) -> None:
    service = local_tasks.service("webservice")
    worker = dataclasses.replace(
        service,
        name="Worker1A2B3C4D",
        task=dataclasses.replace(
            service.task,
            logical_id="WorkerTask",
            containers=tuple(
                dataclasses.replace(c, name=f"worker-{c.name}") for c in service.task.containers
            ),
        ),
    )
    tasks = dataclasses.replace(local_tasks, services=(service, worker))
    mounts = dev_mode_bind_mounts(PROJECT_ROOT, tasks, dev, hot=hot)
    for name in ("laravel", "worker-laravel"):
        assert [m.container_path for m in mounts[name]][-1] == hot.hot_file
    assert "worker-nginx" not in mounts


def test_the_dev_server_runs_the_configured_stage_of_the_app_images_own_build(
    local_tasks: AppTasks, hot: HotConfig
) -> None:
    asset = app_image_asset(local_tasks, hot)
    assert asset.local_image == local_tasks.app_image
    build = vite_image(local_tasks, hot)
    assert (build.context, build.dockerfile) == (asset.directory, asset.dockerfile)
    assert dict(build.build_args) == dict(asset.build_args)
    assert build.target == hot.stage != asset.build_target
    assert build.tag == f"{asset.local_image}-{hot.stage}"
    dockerfile = (asset.directory / asset.dockerfile).read_text()
    assert re.search(rf"^FROM \S+ AS {hot.stage}$", dockerfile, re.MULTILINE)
    assert re.search(rf"^WORKDIR {hot.workdir}$", dockerfile, re.MULTILINE)


def test_an_app_image_that_is_no_asset_is_one_clear_error(
    local_tasks: AppTasks, hot: HotConfig
) -> None:
    watched = local_tasks.migration.container(local_tasks.watched_container)
    pulled = dataclasses.replace(watched, image="registry.example/app:1")
    tasks = dataclasses.replace(
        local_tasks,
        migration=dataclasses.replace(local_tasks.migration, containers=(pulled,)),
    )
    with pytest.raises(ConfigError, match=r"registry.example/app:1 is not a Docker image asset"):
        vite_image(tasks, hot)


def test_the_dev_server_listens_on_the_port_its_holder_publishes_on_loopback(
    local_tasks: AppTasks, hot: HotConfig
) -> None:
    task = vite_task_definition(local_tasks, hot, port=PORT)
    (server,) = task.containers
    assert server.name == VITE_CONTAINER
    assert server.working_directory == hot.workdir
    assert server.command is not None
    assert server.command[server.command.index("--port") + 1] == str(PORT)
    assert "--strictPort" in server.command, "another port would break the page's URLs"
    assert [mapping.container_port for mapping in server.port_mappings] == [PORT]
    assert server.environment[hot.url_variable] == hot_url(PORT) == f"http://127.0.0.1:{PORT}"
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


def test_the_dev_server_gets_the_configured_sources_that_exist_read_only(
    tmp_path: Path, hot: HotConfig
) -> None:
    (tmp_path / "web" / "js").mkdir(parents=True)
    config = dataclasses.replace(
        hot,
        source_mounts=(
            SourceMount(host="web/js", container="/build/js"),
            SourceMount(host="web/css", container="/build/css"),
        ),
    )
    (mounts,) = vite_bind_mounts(tmp_path, config).values()
    assert [(m.host_path, m.container_path, m.read_only) for m in mounts] == [
        (tmp_path / "web" / "js", "/build/js", True)
    ]
