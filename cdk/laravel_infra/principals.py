"""AWS service principals used in more than one construct."""

ECS_TASKS = "ecs-tasks.amazonaws.com"
EVENTS = "events.amazonaws.com"
