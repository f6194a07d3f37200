"""The harness's error hierarchy.

Every error carries a one-line message that names the problem and the fix. The invoke
task boundary catches ``HarnessError`` once and turns it into ``invoke.Exit``.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base class: ``str(error)`` is the single line shown to the user."""


class EngineUnavailable(HarnessError):
    """No Docker engine answers and none can be started here."""


class EngineStopped(EngineUnavailable):
    """The Docker engine answered when the run started and went away during it."""

    def __init__(self) -> None:
        super().__init__("the Docker engine went away; start it again and re-run")


class CheckoutBusy(HarnessError):
    """Another dev run or local deploy of this checkout holds its lock."""


class ImageBuildFailed(HarnessError):
    """A ``docker build`` step failed; ``output`` holds the failing step's log."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class PortInUse(HarnessError):
    """A port the harness wants to publish on loopback is taken."""


class NotReady(HarnessError):
    """A backing service or container did not become ready in time."""


class ConfigError(HarnessError):
    """Invalid input: an unknown environment, a bad field, a missing file."""


class UnresolvableField(ConfigError):
    """A template field holds an intrinsic the local context cannot resolve."""


class DependencyCycle(ConfigError):
    """Containers' ``dependsOn``/``volumesFrom`` form a cycle, so no start order exists."""


class MissingSecret(ConfigError):
    """A container secret's ``valueFrom`` points at nothing the secret store holds."""


class AwsUnavailable(HarnessError):
    """No usable AWS credentials, or the AWS endpoint cannot be reached."""


class DeployError(HarnessError):
    """A deploy step failed: a stack deploy, RunTask, or the service rollout."""


class DeployLocked(DeployError):
    """Another deploy of the same environment is running."""


class MigrationFailed(DeployError):
    """The migration gate failed: the watched container did not exit 0, never ran, or timed out."""
