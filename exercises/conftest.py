"""nbval compares the teacher's executed exercises; the student copies are run by tests/test_exercises.py."""

collect_ignore = ["student"]
