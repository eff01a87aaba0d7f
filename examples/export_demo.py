"""Export a gradient to a standalone module, then use it from a fresh process without s2sad.

``s2sad.export`` writes the generated gradient of ``loss`` (and of the
``sigmoid`` it calls, inlined) to a Python file that imports only NumPy. A
second Python process, in which ``import s2sad`` is made to fail, imports that
file and fits the model by gradient descent with it.

The same from the shell:

    python -m s2sad export examples/export_demo.py:loss --wrt w,b --mode value_and_grad -o grad_loss.py
    python -m s2sad check grad_loss.py   # in CI: fails once loss or sigmoid changes

Run:  python examples/export_demo.py [--out grad_loss.py]
"""

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def loss(w, b, X, y):
    p = sigmoid(X @ w + b)
    return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))


# The fresh process: s2sad cannot be imported there, only the exported file.
FRESH_PROCESS = """
import sys
sys.modules["s2sad"] = None  # make sure nothing below can use s2sad
import numpy as np
from grad_loss import value_and_grad_loss

rng = np.random.default_rng(0)
X = rng.normal(size=(200, 2))
y = (rng.uniform(size=200) < 1.0 / (1.0 + np.exp(-(X @ np.array([2.0, -3.0]) + 0.5)))).astype(float)
w, b = np.zeros(2), 0.0
for step in range(301):
    value, (w_bar, b_bar) = value_and_grad_loss(w, b, X, y)
    if step % 100 == 0:
        print(f"  step {step:3d}  loss {value:.4f}  w {np.round(w, 3)}  b {b:.3f}")
    w, b = w - 0.5 * w_bar, b - 0.5 * b_bar
"""


def main():
    import s2sad

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="where to write the exported module (default: a temporary directory, "
                                      "removed afterwards)")
    args = parser.parse_args()
    if args.out:
        sys.exit(export_and_fit(s2sad, args.out))
    with tempfile.TemporaryDirectory(prefix="s2sad-export-") as folder:
        status = export_and_fit(s2sad, os.path.join(folder, "grad_loss.py"))
    sys.exit(status)


def export_and_fit(s2sad, out):
    """Export the gradient to `out`, show it, fit the model with it in a fresh process; the exit status."""
    s2sad.export(loss, out, wrt=("w", "b"), modes=("grad", "value_and_grad"))
    with open(out, encoding="utf-8") as fh:
        text = fh.read()
    lines = text.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("def grad_loss(")))
    end = lines.index("", start)
    print(f"wrote {out} ({len(lines)} lines). Its header, and the gradient it defines:\n")
    print("\n".join(lines[:lines.index("")]))
    print("...")
    print("\n".join(lines[start - 1:end]))
    print("\nfitting the model in a fresh process that cannot import s2sad:")
    proc = subprocess.run([sys.executable, "-c", FRESH_PROCESS], cwd=os.path.dirname(os.path.abspath(out)),
                          capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
    return proc.returncode


if __name__ == "__main__":
    main()
