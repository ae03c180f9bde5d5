from tests.followup.test_scan import referent  # noqa: F401  (shared fixture)
