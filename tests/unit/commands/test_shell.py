"""Where `invoke exec`, `shell` and the declared shortcuts run, read from the real app's tasks."""

from __future__ import annotations

import pytest

from parity.assembly.apptasks import AppTasks
from parity.commands.shell import IDLE, find_target, idle
from parity.errors import ConfigError


def test_the_default_and_the_app_image_s_containers_mean_the_migration_task(
    local_tasks: AppTasks,
) -> None:
    for container in (None, local_tasks.watched_container, "laravel", "worker"):
        target = find_target(local_tasks, container)
        assert target.task is local_tasks.migration
        assert target.container == local_tasks.watched_container


def test_a_container_of_another_image_means_its_own_task(local_tasks: AppTasks) -> None:
    target = find_target(local_tasks, "nginx")
    assert target.container == "nginx"
    assert target.task is local_tasks.service("webservice").task


def test_an_unknown_container_is_one_line_listing_the_known_ones(local_tasks: AppTasks) -> None:
    with pytest.raises(
        ConfigError, match=r"no container 'php' .*laravel, migrate, nginx"
    ) as caught:
        find_target(local_tasks, "php")
    assert "\n" not in str(caught.value)


def test_the_idle_container_sleeps_without_its_health_check_and_the_rest_is_unchanged(
    local_tasks: AppTasks,
) -> None:
    web = local_tasks.service("webservice").task
    idled = idle(web, "laravel")
    assert idled.container("laravel").entry_point == IDLE[:1]
    assert idled.container("laravel").command == IDLE[1:]
    assert idled.container("laravel").health_check is None
    assert idled.container("laravel").secrets == web.container("laravel").secrets
    assert idled.container("nginx") == web.container("nginx")
