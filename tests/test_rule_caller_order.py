"""A NumPy function passed directly is called with NumPy's own argument order.

np.linspace's rule takes (start, stop, num, endpoint, dtype, axis); NumPy's
function has retstep between endpoint and dtype. The generated caller passed
dtype and axis positionally, into retstep and dtype.
"""

import numpy as np

import s2sad
from s2sad.frontend import rule_caller


def test_linspace_caller_passes_by_keyword_after_numpy_order_differs():
    source = rule_caller(np.linspace).__s2sad_source__
    assert "dtype=dtype" in source and "axis=axis" in source


def test_vjp_of_linspace_passed_directly_matches_finite_differences():
    ct = np.arange(1.0, 6.0)
    g_start, g_stop = s2sad.vjp(np.linspace, wrt=(0, 1))(0.5, 2.0, 5, ct)
    eps = 1e-6
    fd_start = (ct @ np.linspace(0.5 + eps, 2.0, 5) - ct @ np.linspace(0.5 - eps, 2.0, 5)) / (2 * eps)
    fd_stop = (ct @ np.linspace(0.5, 2.0 + eps, 5) - ct @ np.linspace(0.5, 2.0 - eps, 5)) / (2 * eps)
    np.testing.assert_allclose([g_start, g_stop], [fd_start, fd_stop], rtol=1e-6)
