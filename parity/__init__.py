"""Local ECS Fargate runtime, image builds and deploy orchestration with prod parity."""
