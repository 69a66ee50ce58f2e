"""Reference solutions of the course's assignments: imported by the grader, never released."""
