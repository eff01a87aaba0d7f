"""Register your own derivative rule, and read it in the generated code.

`softplus` below is written with a formula that overflows for large x, so we
give s2sad its derivative directly (sigmoid), in both modes, the same way the
built-in tables do. The rule's body appears in the generated gradient with
your names substituted. `s2sad.check_rule` verifies the rule against finite
differences before you trust it.

    python examples/custom_rule.py
"""

import numpy as np

import s2sad


def softplus(x):
    """log(1 + e^x), computed stably."""
    return np.logaddexp(0.0, x)


# d/dx log(1 + e^x) = e^x / (1 + e^x) = sigmoid(x)
@s2sad.adjoint(softplus)
def softplus_adjoint(y, x):
    x_bar = y_bar / (1.0 + np.exp(-x))


@s2sad.tangent(softplus)
def softplus_tangent(y, x):
    y_dot = x_dot / (1.0 + np.exp(-x))


def loss(w, x):
    return np.sum(softplus(w * x)) / len(x)


if __name__ == "__main__":
    s2sad.check_rule(softplus, np.linspace(-3.0, 3.0, 7))  # raises AssertionError if the rule is wrong
    print(s2sad.grad(loss).source)
    x = np.linspace(-1.0, 1.0, 5)
    print("dloss/dw at w=0.5:", s2sad.grad(loss)(0.5, x))
    print("gradient check (max abs error vs finite differences):", s2sad.check_grad(loss, 0.5, x))
