"""Fresh-process entry points, so a timed run pays what the CLI pays (interpreter start-up,
imports, the embedded emulator's first calls), not what a warm benchmark process would.

    python -m bench.entry dev PROJECT --port N [--source-mounts] [--hot --vite-port M]
        what `invoke dev --detach --port N [--source-mounts] [--hot --vite-port M]` does in
        PROJECT
    python -m bench.entry deploy PROJECT --port N
        what `invoke deploy --env local --port N` does in PROJECT; prints the gate timing
        as one JSON line on stdout

Both differ from the task in one way only: the embedded emulator takes a free loopback port
instead of 4566, so a developer's own `invoke dev` on this machine is left alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from parity.errors import HarnessError

GATE_RESULT_PREFIX = "gate-timing: "


def run_dev(
    project_root: Path, *, port: int, source_mounts: bool, hot: bool, vite_port: int | None
) -> None:
    from parity.commands.dev import DevOptions, dev
    from parity.config.settings import EmulatorKind, HarnessSettings

    options = DevOptions(
        port=port,
        detach=True,
        source_mounts=source_mounts,
        hot=hot,
        vite_port=vite_port,
        emulator=EmulatorKind.MOTO,
        emulator_port=0,
    )
    dev(project_root, options, HarnessSettings.from_environ())


def run_deploy(project_root: Path, *, port: int) -> None:
    from bench.deploys import deploy_local

    gate = deploy_local(project_root, port=port)
    timing = {"exited_at": gate.exited_at, "decided_at": gate.decided_at}
    print(GATE_RESULT_PREFIX + json.dumps(timing))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.entry", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev")
    dev.add_argument("project", type=Path)
    dev.add_argument("--port", type=int, required=True)
    dev.add_argument("--source-mounts", action="store_true")
    dev.add_argument("--hot", action="store_true")
    dev.add_argument("--vite-port", type=int)
    deploy = commands.add_parser("deploy")
    deploy.add_argument("project", type=Path)
    deploy.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args(argv)
    try:
        if arguments.command == "dev":
            run_dev(
                arguments.project,
                port=arguments.port,
                source_mounts=arguments.source_mounts,
                hot=arguments.hot,
                vite_port=arguments.vite_port,
            )
        else:
            run_deploy(arguments.project, port=arguments.port)
    except HarnessError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
