"""Rule unit tests: ``sqlsentinel test`` (docs/rule-tests.md).

A test file names an alert, gives fixture tables and steps at frozen times with the expected
outcome; the runner evaluates the alert's own query on them through the real evaluation path
and reports the differences.
"""
