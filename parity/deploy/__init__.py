"""Deploy orchestration: one flow (``flow``), an ECS backend (``ecs``) and a local one.

The flow runs the migration task between the migration stack and the service stack, and
deploys the service only when the migration's watched container exited 0.
"""
