"""Which loopback port each load-balanced service's local load balancer takes."""

from __future__ import annotations

import pytest

from parity.assembly.apptasks import LoadBalancerTarget, ServiceSpec
from parity.assembly.taskdef import TaskDefinition
from parity.errors import ConfigError
from parity.runtime.services import balancer_ports

TASK = TaskDefinition(
    logical_id="Task",
    family="t",
    network_mode="awsvpc",
    cpu_units=256,
    memory_mib=512,
    containers=(),
)


def service(name: str, *, balanced: bool = True) -> ServiceSpec:
    target = LoadBalancerTarget(container="web", port=8000, health_check_path="/", target_group="G")
    return ServiceSpec(
        name=name,
        stack="App",
        task=TASK,
        desired_count=1,
        load_balancer=target if balanced else None,
    )


SERVICES = (
    service("StorefrontServiceA1B2C3D4"),
    service("WorkerServiceE5F6A7B8", balanced=False),
    service("AdminService0A1B2C3D"),
)


def test_without_config_the_first_takes_the_port_flag_and_the_others_free_ones() -> None:
    assert balancer_ports(SERVICES, first_port=8080, configured={}) == {
        "storefrontservice": 8080,
        "adminservice": 0,
    }


def test_configured_ports_win_by_key_or_logical_id_and_the_flag_goes_to_the_first_left_out() -> (
    None
):
    assert balancer_ports(
        SERVICES, first_port=8080, configured={"StorefrontServiceA1B2C3D4": 9001}
    ) == {"storefrontservice": 9001, "adminservice": 8080}
    assert balancer_ports(
        SERVICES, first_port=8080, configured={"storefrontservice": 9001, "adminservice": 9002}
    ) == {"storefrontservice": 9001, "adminservice": 9002}


def test_the_flag_never_takes_a_port_the_config_gives_another_service() -> None:
    assert balancer_ports(SERVICES, first_port=8080, configured={"adminservice": 8080}) == {
        "storefrontservice": 0,
        "adminservice": 8080,
    }


def test_a_port_for_a_service_without_a_load_balancer_is_one_line() -> None:
    with pytest.raises(
        ConfigError,
        match=r"services\.ports\.workerservice names no load-balanced service \(they are: "
        r"storefrontservice, adminservice\)",
    ):
        balancer_ports(SERVICES, first_port=8080, configured={"workerservice": 9000})
