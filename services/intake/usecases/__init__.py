"""Intake's commands, each owning its transaction: `projects` (registering a project,
declaring and completing milestones) and `reports` (taking a report, replaying a retry)."""
