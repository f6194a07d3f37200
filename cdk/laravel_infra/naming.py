"""Deterministic names per environment.

The CI access stack grants rights on the migration task's family, roles and log group by name, so
it never depends on (or waits for) the migration stack.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AppNames:
    environment: str

    @property
    def stack_prefix(self) -> str:
        return f"Laravel-{self.environment.capitalize()}"

    @property
    def migration_stack(self) -> str:
        return f"{self.stack_prefix}-Migration"

    @property
    def service_stack(self) -> str:
        return f"{self.stack_prefix}-Service"

    @property
    def worker_stack(self) -> str:
        return f"{self.stack_prefix}-Worker"

    @property
    def scheduler_stack(self) -> str:
        return f"{self.stack_prefix}-Scheduler"

    @property
    def ci_access_stack(self) -> str:
        return f"{self.stack_prefix}-CiAccess"

    @property
    def migration_family(self) -> str:
        return f"laravel-{self.environment}-migration"

    @property
    def service_family(self) -> str:
        return f"laravel-{self.environment}-service"

    @property
    def worker_family(self) -> str:
        return f"laravel-{self.environment}-worker"

    @property
    def scheduler_family(self) -> str:
        return f"laravel-{self.environment}-scheduler"

    @property
    def migration_task_role(self) -> str:
        return f"laravel-{self.environment}-migration-task"

    @property
    def migration_execution_role(self) -> str:
        return f"laravel-{self.environment}-migration-execution"

    @property
    def migration_log_group(self) -> str:
        return f"/laravel/{self.environment}/migration"

    @property
    def service_log_group(self) -> str:
        return f"/laravel/{self.environment}/service"

    @property
    def worker_log_group(self) -> str:
        return f"/laravel/{self.environment}/worker"

    @property
    def scheduler_log_group(self) -> str:
        return f"/laravel/{self.environment}/scheduler"

    @property
    def github_deploy_role(self) -> str:
        return f"laravel-{self.environment}-github-deploy"
