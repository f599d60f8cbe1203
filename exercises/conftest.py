"""nbval compares the teacher's executed exercises; the student copies are run by tests/test_exercises.py."""

# conftest.py itself: with --doctest-modules pytest would collect it as a module named "conftest",
# the name notebooks/conftest.py has too, and stop on the clash. It holds no doctests.
collect_ignore = ["student", "conftest.py"]
