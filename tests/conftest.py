"""Suite-wide checks.

Generated code must never write into the caller's arrays: every call of every
generated function (``GeneratedFunction.__call__``, which grad, jvp, vjp, hvp,
hessian ... all go through) snapshots its arguments before and compares them
after (``gradcheck.call_unchanged``).

Every pass verifies the IR it returns (``S2SAD_VERIFY_PASSES``; outside the tests the IR
is verified once, before code generation).
"""

import os

os.environ.setdefault("S2SAD_VERIFY_PASSES", "1")

import pytest  # noqa: E402
from gradcheck import call_unchanged  # noqa: E402

from s2sad.api import GeneratedFunction  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def generated_functions_leave_arguments_unchanged():
    original = GeneratedFunction.__call__

    def checked(self, *args, **kwargs):
        return call_unchanged(lambda *a, **k: original(self, *a, **k), *args, **kwargs)

    GeneratedFunction.__call__ = checked
    yield
    GeneratedFunction.__call__ = original


def pytest_collection_modifyitems(items):
    """A strict xfail names the exception it expects (``raises=``): without it, a known refusal that
    turned into a wrong gradient (an AssertionError) would still count as the expected failure."""
    loose = [item.nodeid for item in items for mark in item.iter_markers("xfail")
             if mark.kwargs.get("strict") and "raises" not in mark.kwargs]
    if loose:
        raise pytest.UsageError(f"strict xfail without raises=: {loose}")
