"""Room for the transformer to work: deep recursion allowed, the cyclic GC paused.

Python compiles an expression nested about three times its recursion limit
deep (a sum of some 3 000 terms, by default). Reading such an expression with
gast, and lowering it, takes a few Python frames per level, so the default
limit would refuse code Python runs. While a function is transformed the limit
is raised to cover every expression Python itself compiles. The recursion that
uses it is in Python code (``ast`` and gast visitors, the lowering), whose
frames live on the heap in Python 3.11+, not on the C stack.

The transformer builds many small objects and keeps them all until the end,
which makes the cyclic garbage collector rescan a growing heap again and again
(about 40 % of the time on a long function). It is paused for the duration; the
little cyclic garbage made meanwhile is collected afterwards as usual.
"""

from __future__ import annotations

import contextlib
import gc
import sys

FRAMES_PER_LEVEL = 8  # the most any stage spends on one level of an expression (measured: gast, then lower)
_active = [0]  # transformations running now (nested ones, e.g. a rule's template, change nothing)


@contextlib.contextmanager
def transforming():
    """Run the transformer with enough recursion depth for any expression Python compiles, GC paused.

    Example:
        >>> import sys
        >>> with transforming():
        ...     sys.getrecursionlimit() >= 3000
        True
    """
    if _active[0]:
        _active[0] += 1
        try:
            yield
        finally:
            _active[0] -= 1
        return
    limit = sys.getrecursionlimit()
    raised = max(limit, 3 * limit * FRAMES_PER_LEVEL)
    collecting = gc.isenabled()
    sys.setrecursionlimit(raised)
    gc.disable()
    _active[0] += 1
    try:
        yield
    finally:
        _active[0] -= 1
        if sys.getrecursionlimit() == raised:  # unless someone changed it meanwhile
            sys.setrecursionlimit(limit)
        if collecting:
            gc.enable()
