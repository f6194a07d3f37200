"""Gate latency on the ECS backend: from the migration container's exit to the gate decision.

The ECS backend runs unchanged against a scripted Fargate with realistic timings, on a
simulated clock (every API call costs its latency, every poll interval is slept in simulated
time), so hundreds of deploys take seconds. The same scenarios run three ways:

* ``adaptive``: the backend's schedule (0.25 s, backing off to a 2 s cap);
* ``fixed 15 s``: the same backend polling every 15 s, as amazon-ecs-deploy-task-definition does;
* ``fixed 15 s, task STOPPED``: a 15 s poll that waits for the task itself to reach STOPPED
  (what ``aws ecs wait tasks-stopped`` and the run-task actions do), so it also waits for
  Fargate to release the task's network interface.

Usage: ``.venv/bin/python bench/gate_latency.py [--trials N] [--seed S]``. Prints a table and
writes ``bench/results/gate_latency.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import statistics
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))  # run as a script from anywhere

from botocore.exceptions import ClientError  # noqa: E402

from parity.config.harness import load_config  # noqa: E402
from parity.console import console  # noqa: E402
from parity.deploy.awsclient import AwsApi  # noqa: E402
from parity.deploy.ecs import ADAPTIVE_POLLING, CdkCli, EcsBackend, PollSchedule  # noqa: E402
from parity.deploy.flow import DeployOptions, run_migration_gate  # noqa: E402
from parity.errors import MigrationFailed  # noqa: E402

RESULTS = PROJECT_ROOT / "bench" / "results" / "gate_latency.json"
FIXED_15S = PollSchedule(first_s=15.0, factor=1.0, max_s=15.0)
CLUSTER = "laravel-qa"
TASK_DEFINITION_ARN = "arn:aws:ecs:eu-west-1:111111111111:task-definition/laravel-qa-migration:7"
OUTPUTS = {
    "ClusterName": CLUSTER,
    "TaskDefinitionArn": TASK_DEFINITION_ARN,
    "SubnetIds": "subnet-0a11111111111111a,subnet-0b11111111111111b",
    "SecurityGroupIds": "sg-0e11111111111111e",
    "WatchedContainer": "migrate",
    "LogGroupName": "/laravel/qa/migration",
    "LogStreamPrefix": "migration",
    "AssignPublicIp": "DISABLED",
}
# Seconds of simulated time per API call: (low, high) of a uniform draw.
API_LATENCY_S = {
    "DescribeStacks": (0.10, 0.30),
    "RunTask": (0.20, 0.60),
    "DescribeTasks": (0.04, 0.15),
    "GetLogEvents": (0.03, 0.12),
    "StopTask": (0.05, 0.15),
}
INGESTION_DELAY_S = 1.0
# Uniform draws, except the migration's run time: log-uniform, most are short, some take minutes.
SCENARIO_RANGES_S = {
    "provisioning_s": (4.0, 12.0),
    "pull_s": (8.0, 35.0),
    "migration_s": (2.0, 300.0),
    "report_delay_s": (0.3, 1.2),
    "deprovision_s": (25.0, 50.0),
}
SUCCESS_RATE = 0.8


@dataclass(frozen=True)
class Scenario:
    """One migration task's life on Fargate, in seconds after RunTask returned."""

    provisioning_s: float  # ENI attach
    pull_s: float  # image pull, container start
    migration_s: float  # the container runs
    report_delay_s: float  # the agent reports the container's exit to the ECS API
    deprovision_s: float  # after the exit, until the task is STOPPED (ENI released)
    exit_code: int
    log_lines: int

    @property
    def running_at(self) -> float:
        return self.provisioning_s + self.pull_s

    @property
    def exit_at(self) -> float:
        return self.running_at + self.migration_s


def scenarios(rng: random.Random, count: int) -> list[Scenario]:
    def draw(name: str) -> float:
        return rng.uniform(*SCENARIO_RANGES_S[name])

    drawn = []
    for _ in range(count):
        low, high = SCENARIO_RANGES_S["migration_s"]
        drawn.append(
            Scenario(
                provisioning_s=draw("provisioning_s"),
                pull_s=draw("pull_s"),
                migration_s=math.exp(rng.uniform(math.log(low), math.log(high))),
                report_delay_s=draw("report_delay_s"),
                deprovision_s=draw("deprovision_s"),
                exit_code=0 if rng.random() < SUCCESS_RATE else 1,
                log_lines=rng.randint(4, 60),  # artisan prints two lines per migration
            )
        )
    return drawn


class SimulatedClock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class ScriptedFargate:
    """CloudFormation, ECS and CloudWatch Logs for one migration task, answering as Fargate
    would at the simulated time; each call advances the clock by its latency."""

    def __init__(self, scenario: Scenario, clock: SimulatedClock, rng: random.Random) -> None:
        self.scenario = scenario
        self.clock = clock
        self.rng = rng
        self.started_at = 0.0
        self.calls = {operation: 0 for operation in API_LATENCY_S}

    @contextmanager
    def _call(self, operation: str) -> Iterator[float]:
        """Yields the moment the service reads its state: halfway through the round trip."""
        self.calls[operation] += 1
        latency = self.rng.uniform(*API_LATENCY_S[operation])
        try:
            yield self.clock.now + latency / 2 - self.started_at
        finally:
            self.clock.now += latency

    @property
    def exit_time(self) -> float:
        return self.started_at + self.scenario.exit_at

    def describe_stacks(self, **_: Any) -> dict[str, Any]:
        with self._call("DescribeStacks"):
            outputs = [{"OutputKey": k, "OutputValue": v} for k, v in OUTPUTS.items()]
            return {
                "Stacks": [
                    {
                        "StackName": "Laravel-Qa-Migration",
                        "StackStatus": "UPDATE_COMPLETE",
                        "Outputs": outputs,
                    }
                ]
            }

    def run_task(self, **_: Any) -> dict[str, Any]:
        with self._call("RunTask"):
            pass
        self.started_at = self.clock.now
        return {"tasks": [self._task(0.0)], "failures": []}

    def describe_tasks(self, **_: Any) -> dict[str, Any]:
        with self._call("DescribeTasks") as at:
            return {"tasks": [self._task(at)], "failures": []}

    def stop_task(self, **_: Any) -> dict[str, Any]:
        with self._call("StopTask") as at:
            return {"task": self._task(at)}

    def get_log_events(self, *, nextToken: str | None = None, **_: Any) -> dict[str, Any]:
        with self._call("GetLogEvents") as at:
            scenario = self.scenario
            if at < scenario.running_at:
                error = {"Error": {"Code": "ResourceNotFoundException", "Message": "no stream"}}
                raise ClientError(error, "GetLogEvents")
            first = int(nextToken.removeprefix("f/")) if nextToken else 0
            # Lines are spread evenly over the run and reach CloudWatch a second later.
            written_s = at - INGESTION_DELAY_S - scenario.running_at
            visible = min(
                scenario.log_lines,
                max(0, math.floor(written_s * scenario.log_lines / scenario.migration_s) + 1),
            )
            events = [
                {"timestamp": line, "message": f"migration line {line}"}
                for line in range(first, visible)
            ]
            return {"events": events, "nextForwardToken": f"f/{max(first, visible)}"}

    def _task(self, at: float) -> dict[str, Any]:
        scenario = self.scenario
        exit_seen = at >= scenario.exit_at + scenario.report_delay_s
        if at < scenario.provisioning_s:
            task_status, container_status = "PROVISIONING", "PENDING"
        elif at < scenario.running_at:
            task_status, container_status = "PENDING", "PENDING"
        elif not exit_seen:
            task_status, container_status = "RUNNING", "RUNNING"
        elif at < scenario.exit_at + scenario.deprovision_s:
            task_status, container_status = "DEPROVISIONING", "STOPPED"
        else:
            task_status, container_status = "STOPPED", "STOPPED"
        container: dict[str, Any] = {"name": "migrate", "lastStatus": container_status}
        if container_status == "STOPPED":
            container["exitCode"] = scenario.exit_code
        return {
            "taskArn": f"arn:aws:ecs:eu-west-1:111111111111:task/{CLUSTER}/0123456789abcdef",
            "lastStatus": task_status,
            "desiredStatus": "STOPPED" if exit_seen else "RUNNING",
            "containers": [container],
            **(
                {"stopCode": "EssentialContainerExited", "stoppedReason": "Essential container"}
                if exit_seen
                else {}
            ),
        }


@dataclass(frozen=True)
class Measurement:
    latency_s: float  # from the container's exit
    after_report_s: float  # from the moment DescribeTasks could first show the exit
    describe_tasks_calls: int


def through_backend(polling: PollSchedule) -> Callable[[Scenario, random.Random], Measurement]:
    """The ECS backend and the flow's gate, unchanged, with ``polling``."""

    def measure(scenario: Scenario, rng: random.Random) -> Measurement:
        clock = SimulatedClock()
        fargate = ScriptedFargate(scenario, clock, rng)
        backend = EcsBackend(
            environment="qa",
            migration=load_config(PROJECT_ROOT).environment("qa").migration,
            stacks=lambda: (),
            api=AwsApi(cloudformation=fargate, ecs=fargate, logs=fargate),
            cdk=CdkCli(project_root=PROJECT_ROOT, assembly_dir=PROJECT_ROOT / "cdk.out"),
            clock=clock,
            polling=polling,
        )
        options = DeployOptions(environment="qa", deploy_id="bench", migration_timeout_s=3600)
        with contextlib.suppress(MigrationFailed):  # a failing migration is a decision too
            run_migration_gate(backend, options)
        return measurement(fargate)

    return measure


def until_task_stopped(scenario: Scenario, rng: random.Random) -> Measurement:
    """A 15 s poll of DescribeTasks until the task's lastStatus is STOPPED."""
    clock = SimulatedClock()
    fargate = ScriptedFargate(scenario, clock, rng)
    api = AwsApi(cloudformation=fargate, ecs=fargate, logs=fargate)
    task = api.run_task(
        cluster=CLUSTER,
        task_definition=TASK_DEFINITION_ARN,
        subnets=["subnet-0a11111111111111a"],
        security_groups=["sg-0e11111111111111e"],
        assign_public_ip="DISABLED",
        client_token="bench-token",  # noqa: S106 (not a secret)
        started_by="bench",
    )
    while not api.describe_task(cluster=CLUSTER, task_arn=task.arn).stopped:
        clock.sleep(FIXED_15S.first_s)
    return measurement(fargate)


def measurement(fargate: ScriptedFargate) -> Measurement:
    decided_at = fargate.clock.now
    return Measurement(
        latency_s=decided_at - fargate.exit_time,
        after_report_s=decided_at - fargate.exit_time - fargate.scenario.report_delay_s,
        describe_tasks_calls=fargate.calls["DescribeTasks"],
    )


STRATEGIES: dict[str, Callable[[Scenario, random.Random], Measurement]] = {
    "adaptive (0.25 s -> 2 s cap)": through_backend(ADAPTIVE_POLLING),
    "fixed 15 s": through_backend(FIXED_15S),
    "fixed 15 s, until task STOPPED": until_task_stopped,
}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def simulate(trials: int, seed: int) -> list[dict[str, Any]]:
    """Every strategy over the same ``trials`` scenarios: one summary row per strategy."""
    drawn = scenarios(random.Random(seed), trials)  # noqa: S311 (simulation)
    quiet = console.quiet
    console.quiet = True  # the flow's step lines, hundreds of times over
    results = []
    try:
        for name, strategy in STRATEGIES.items():
            # The same seed per strategy: identical scenarios and API latencies, paired runs.
            rng = random.Random(seed + 1)  # noqa: S311 (simulation)
            measured = [strategy(scenario, rng) for scenario in drawn]
            latencies = [m.latency_s for m in measured]
            results.append(
                {
                    "strategy": name,
                    "runs": len(measured),
                    "p50_s": round(statistics.median(latencies), 2),
                    "p95_s": round(percentile(latencies, 0.95), 2),
                    "max_s": round(max(latencies), 2),
                    "mean_s": round(statistics.fmean(latencies), 2),
                    "p95_after_report_s": round(
                        percentile([m.after_report_s for m in measured], 0.95), 2
                    ),
                    "describe_tasks_per_run": round(
                        statistics.fmean(m.describe_tasks_calls for m in measured), 1
                    ),
                }
            )
    finally:
        console.quiet = quiet
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--seed", type=int, default=2026)
    arguments = parser.parse_args()

    results = simulate(arguments.trials, arguments.seed)

    header = (
        f"{'strategy':<32} {'p50':>7} {'p95':>7} {'max':>7} {'p95 after report':>17}"
        f" {'DescribeTasks/run':>18}"
    )
    print(f"gate latency: container exit -> gate decision ({arguments.trials} simulated deploys)")
    print(header)
    print("-" * len(header))
    for row in results:
        print(
            f"{row['strategy']:<32} {row['p50_s']:>6.2f}s {row['p95_s']:>6.2f}s"
            f" {row['max_s']:>6.2f}s {row['p95_after_report_s']:>16.2f}s"
            f" {row['describe_tasks_per_run']:>18.1f}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    model = {
        "trials": arguments.trials,
        "seed": arguments.seed,
        "api_latency_s": API_LATENCY_S,
        "scenario_ranges_s": SCENARIO_RANGES_S,
        "success_rate": SUCCESS_RATE,
        "latency": "simulated seconds from the watched container's exit to the gate decision",
    }
    RESULTS.write_text(json.dumps({"model": model, "results": results}, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(PROJECT_ROOT)}")


if __name__ == "__main__":
    main()
