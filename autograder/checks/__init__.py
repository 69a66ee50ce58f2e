"""The hidden checks: one pytest module per graded question, named `test_<grade id>.py`.

Each test is worth the points of its `points` marker and sees the student only through the
`student` fixture (see `autograder/student.py`); the reference comes from `solutions/`.
"""
