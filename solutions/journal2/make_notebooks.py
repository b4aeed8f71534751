"""Build every Journal 2 notebook of the grader from one source of truth.

    python solutions/journal2/make_notebooks.py          # (re)write all notebooks
    python solutions/journal2/make_notebooks.py --run    # ... then execute them and report

Each exercise is defined once below, as a list of cells. Code cells may contain solution
regions:

    given code                  <- in the stub and in the solution
    #@solution
    reference code              <- only in the solution
    #@stub
    stub code                   <- only in the stub (default: "# YOUR CODE HERE" and
    #@end                          "raise NotImplementedError()", at the marker's indentation)

From those definitions this script writes

    assignments/journal2/<exercise>.ipynb        student stubs
    solutions/journal2/<exercise>.ipynb          reference solutions
    examples/submissions/group01-correct/        the solutions, as a hand-in
    examples/submissions/group02-typical-mistakes/  the solutions with typical mistakes patched in

Contract with the grader: notebook metadata ``itmal.exercise``; a question's code cells are
tagged with its id (``perceptron.qa``), its text answer cell with ``<id>.answer`` (placeholder
``YOUR ANSWER HERE`` in stubs), setup cells with ``<exercise>.setup``. Notebooks are written
without outputs and with deterministic cell ids, so re-running this script is a no-op.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ASSIGNMENTS = REPO / "assignments" / "journal2"
SOLUTIONS = REPO / "solutions" / "journal2"
EXAMPLES = REPO / "examples" / "submissions"
COURSE = REPO / "grader" / "course"  # holds the libitmal package

ANSWER_PLACEHOLDER = "YOUR ANSWER HERE"
STUB_DEFAULT = ["# YOUR CODE HERE", "raise NotImplementedError()"]


# --------------------------------------------------------------------------------------------
# Cell model
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    key: str          # unique within the notebook; used as the nbformat cell id
    kind: str         # "markdown" | "code" | "answer"
    source: str
    tags: tuple[str, ...] = ()
    qid: str = ""     # for answer cells: the question id


def md(key: str, text: str) -> Cell:
    return Cell(key, "markdown", text.strip("\n"))


def setup(exercise: str, key: str, code: str) -> Cell:
    return Cell(key, "code", code.strip("\n"), (f"{exercise}.setup",))


def code(qid: str, key: str, src: str) -> Cell:
    return Cell(key, "code", src.strip("\n"), (qid,))


def answer(qid: str, text: str) -> Cell:
    key = qid.split(".", 1)[1] + "-answer"
    return Cell(key, "answer", " ".join(text.split()), (f"{qid}.answer",), qid)


def render_code(src: str, mode: str) -> str:
    """Keep the given code plus the solution ("solution") or the stub ("stub") regions."""
    out: list[str] = []
    state = "given"
    has_stub = False
    indent = ""
    for line in src.split("\n"):
        marker = line.strip()
        if marker == "#@solution":
            assert state == "given", f"nested #@solution in:\n{src}"
            state, has_stub, indent = "solution", False, line[: len(line) - len(line.lstrip())]
        elif marker == "#@stub":
            assert state == "solution", f"#@stub outside a solution region in:\n{src}"
            state, has_stub = "stub", True
        elif marker == "#@end":
            assert state in ("solution", "stub"), f"stray #@end in:\n{src}"
            if mode == "stub" and not has_stub:
                out.extend(indent + s for s in STUB_DEFAULT)
            state = "given"
        elif state == "given" or state == mode:
            out.append(line)
    assert state == "given", f"unterminated solution region in:\n{src}"
    return "\n".join(out).strip("\n")


# --------------------------------------------------------------------------------------------
# Shared text
# --------------------------------------------------------------------------------------------

def intro(title: str, lecture: str, extra: str = "") -> str:
    return f"""
# ITMAL Journal 2: {title}

Exercise {lecture} of the ITMAL course (Aarhus University), written for today's numpy and
Scikit-learn.

How to hand in: replace every `# YOUR CODE HERE` (and the `raise NotImplementedError()` or the
`= None` next to it) with your code, and every `YOUR ANSWER HERE` cell with your answer in a few
sentences. Keep the cells, their order, their tags and the variable names: the grader finds your
code and answers by them. Do not modify the setup cells, and make sure the notebook runs from top
to bottom (Kernel > Restart & Run All) before you hand it in.
{extra}"""


# --------------------------------------------------------------------------------------------
# Exercise: gradient descent (L05/gradient_descent)
# --------------------------------------------------------------------------------------------

GD = "gradient_descent"
GD_QA, GD_QB, GD_QD, GD_QE = (f"{GD}.q{c}" for c in "abde")

GRADIENT_DESCENT = [
    md("intro", intro("Gradient Descent Methods", "L05/gradient_descent",
                      "\nThe data set is 100 instances of `y = 4 + 3x + noise`; `X_b` is `X` with a "
                      "column of ones added for the bias term $\\theta_0$.")),
    setup(GD, "setup", r'''
# Setup (do not modify): imports and the data used in every question
import numpy as np
import matplotlib.pyplot as plt

np.random.seed(42)
X = 2 * np.random.rand(100, 1)
y = 4 + 3 * X + np.random.randn(100, 1)
X_b = np.c_[np.ones((100, 1)), X]  # add x0 = 1 to each instance

X_new = np.array([[0], [2]])
X_new_b = np.c_[np.ones((2, 1)), X_new]  # add x0 = 1 to each instance

print(f"X: {X.shape}, y: {y.shape}, X_b: {X_b.shape}")
'''),
    md("qa", r'''
## Qa The Gradient Descent Method (GD)

Explain the gradient descent algorithm using the equations [HOML] p.114-115, and relate it to the
code snippet

```python
eta = 0.1
n_iterations = 1000
m = 100
theta = np.random.randn(2,1)

for iteration in range(n_iterations):
    gradients = 2/m * X_b.T.dot(X_b.dot(theta) - y)
    theta = theta - eta * gradients
```

Implement it in the first cell below: run batch gradient descent on `X_b, y` with `eta=0.1` and
1000 iterations, starting from `theta = np.random.randn(2,1)`. Store the final parameters (shape
`(2, 1)`) in `theta_gd`, and append every `theta` you visit to the list `theta_path_bgd` (it is
used in Qe).

The second cell (given) plots the first ten steps of batch GD for three learning rates,
$\eta$ = 0.02, 0.1 and 0.5. As usual, avoid going too much into details of the code that does the
plotting.

What role does `eta` play, and what happens if you increase/decrease it (explain the three plots)?
'''),
    code(GD_QA, "qa-gd", r'''
eta = 0.1  # learning rate
n_iterations = 1000
m = len(X_b)  # 100 instances

np.random.seed(42)
theta_path_bgd = []  # every theta visited by batch GD (used in Qe)

#@solution
theta = np.random.randn(2, 1)  # random initialization

for iteration in range(n_iterations):
    gradients = 2 / m * X_b.T.dot(X_b.dot(theta) - y)
    theta = theta - eta * gradients
    theta_path_bgd.append(theta)

theta_gd = theta

theta_best = np.linalg.lstsq(X_b, y, rcond=None)[0]  # closed-form least squares, for comparison
print(f"batch gradient descent theta_gd = {theta_gd.ravel()}")
print(f"least-squares solution          = {theta_best.ravel()}")
#@stub
theta_gd = None  # YOUR CODE HERE
#@end
'''),
    code(GD_QA, "qa-plot", r'''
# Given plotting code: the first 10 steps of batch GD for three learning rates
def plot_gradient_descent(theta, eta, n_iterations=1000):
    m = len(X_b)
    plt.plot(X, y, "b.")
    for iteration in range(n_iterations):
        if iteration < 10:
            y_predict = X_new_b.dot(theta)
            style = "b-" if iteration > 0 else "r--"
            plt.plot(X_new, y_predict, style)
        gradients = 2 / m * X_b.T.dot(X_b.dot(theta) - y)
        theta = theta - eta * gradients
    plt.xlabel("$x_1$", fontsize=18)
    plt.axis([0, 2, 0, 15])
    plt.title(rf"$\eta = {eta}$", fontsize=16)
    return theta

np.random.seed(42)
theta_init = np.random.randn(2, 1)  # random initialization

plt.figure(figsize=(10, 4))
plt.subplot(131)
plot_gradient_descent(theta_init, eta=0.02)
plt.ylabel("$y$", rotation=0, fontsize=18)
plt.subplot(132)
plot_gradient_descent(theta_init, eta=0.1)
plt.subplot(133)
plot_gradient_descent(theta_init, eta=0.5)
plt.show()
'''),
    answer(GD_QA, r'''
`eta` is the learning rate: the size of each step `theta = theta - eta * gradients` taken against
the gradient of the MSE cost, i.e. how far theta moves per iteration. In the left plot
(eta = 0.02) the steps are too small, so after ten iterations the line is still far from the data
and convergence needs many more iterations. In the middle plot (eta = 0.1) the line reaches the
data within a few steps and converges to the least-squares solution, while in the right plot
(eta = 0.5) every step overshoots the minimum, the lines jump from side to side and the algorithm
diverges.
'''),
    md("qb", r'''
## Qb The Stochastic Gradient Descent Method (SGD)

Now, introducing the *stochastic* variant of gradient descent, explain the stochastic nature of
the SGD, and comment on the difference to the *normal* gradient descent method (GD) we just saw.

Also explain the role of the calls to `np.random.randint()` in the code.

HINT: In detail, the important differences are, that the main loop for SGD is

```python
for epoch in range(n_epochs):
    for i in range(m):
        .
        .
        .
        gradients = 2 * xi.T.dot(xi.dot(theta) - yi)
        eta = ...
        theta = ...
```

where it for the GD method was just

```python
for iteration in range(n_iterations):
    gradients = 2/m * X_b.T.dot(X_b.dot(theta) - y)
    theta = ..
```

Implement SGD in the first cell below: 50 epochs of `m` steps, each step using the one instance at
index `np.random.randint(m)` and the learning schedule `eta = learning_schedule(epoch * m + i)`,
i.e. $t_0/(t+t_1)$ with $t_0=5$, $t_1=50$, starting from `theta = np.random.randn(2,1)`. Store the
result (shape `(2, 1)`) in `theta_sgd` and append every `theta` to `theta_path_sgd`.

In the second cell, fit Scikit-learn's
`SGDRegressor(max_iter=50, penalty=None, eta0=0.1, random_state=42)` on `X, y.ravel()` and store
the fitted model in `sgd_reg`; compare its `intercept_` and `coef_` with your thetas.

NOTE: the call `np.random.seed(42)` resets the random generator so that it produces the same
random-sequence when re-running the code.
'''),
    code(GD_QB, "qb-sgd", r'''
n_epochs = 50
t0, t1 = 5, 50  # learning schedule hyperparameters

def learning_schedule(t):
    return t0 / (t + t1)

m = len(X_b)
np.random.seed(42)
theta_path_sgd = []  # every theta visited by SGD (used in Qe)

#@solution
theta = np.random.randn(2, 1)  # random initialization

for epoch in range(n_epochs):
    for i in range(m):
        if epoch == 0 and i < 20:  # plot the first 20 steps
            y_predict = X_new_b.dot(theta)
            style = "b-" if i > 0 else "r--"
            plt.plot(X_new, y_predict, style)
        random_index = np.random.randint(m)
        xi = X_b[random_index:random_index + 1]
        yi = y[random_index:random_index + 1]
        gradients = 2 * xi.T.dot(xi.dot(theta) - yi)
        eta = learning_schedule(epoch * m + i)
        theta = theta - eta * gradients
        theta_path_sgd.append(theta)

theta_sgd = theta

plt.plot(X, y, "b.")
plt.xlabel("$x_1$", fontsize=18)
plt.ylabel("$y$", rotation=0, fontsize=18)
plt.axis([0, 2, 0, 15])
plt.title("The first 20 steps of SGD")
plt.show()

print(f"stochastic gradient descent theta_sgd = {theta_sgd.ravel()}")
#@stub
theta_sgd = None  # YOUR CODE HERE
#@end
'''),
    code(GD_QB, "qb-sgdregressor", r'''
from sklearn.linear_model import SGDRegressor

#@solution
sgd_reg = SGDRegressor(max_iter=50, penalty=None, eta0=0.1, random_state=42)
sgd_reg.fit(X, y.ravel())

print(f'Scikit-learn SGDRegressor "thetas": intercept_={sgd_reg.intercept_}, coef_={sgd_reg.coef_}')
#@stub
sgd_reg = None  # YOUR CODE HERE
#@end
'''),
    answer(GD_QB, r'''
SGD computes the gradient from a single randomly chosen instance per step instead of from all m
instances, so each step is very cheap but the gradient is only a noisy estimate of the true one:
the cost jumps up and down and theta keeps bouncing around the minimum instead of settling on it,
which is why the learning schedule `t0/(t+t1)` shrinks the steps over time. `np.random.randint(m)`
picks the index of the instance used in each step; it samples with replacement, so within one epoch
some instances are used several times and others not at all. This randomness also helps SGD jump
out of local minima on irregular cost functions, whereas plain GD follows the exact gradient of the
whole training set deterministically; both our loop and `SGDRegressor` end close to the GD result.
'''),
    md("qc", r'''
## Qc [OPTIONAL] Adding a Learning Schedule

This question is optional and not graded. Add a learning schedule to the plain GD method of Qa
(for example $\eta(t) = t_0/(t + t_1)$ as in SGD), and compare its convergence with the constant
learning rate.
'''),
    md("qd", r'''
## Qd Mini-batch Gradient Descent Method

Finally explain what a **mini-batch** SG method is, and how it differs from the two others.

Implement it in the cell below, extracting the algorithm details from [HOML]: 50 epochs; at the
start of every epoch shuffle the training set with a new `np.random.permutation(m)`, then step
through it in mini-batches of 20 instances, using the gradient of each mini-batch and the learning
schedule $t_0/(t+t_1)$ with $t_0=200$, $t_1=1000$ (with `t` counting the steps). Start from
`theta = np.random.randn(2,1)`, store the result (shape `(2, 1)`) in `theta_mb` and append every
`theta` to `theta_path_mgd`.

Explain the **main differences**, compared with the GD and SGD.
'''),
    code(GD_QD, "qd-minibatch", r'''
n_epochs = 50
minibatch_size = 20
t0, t1 = 200, 1000  # learning schedule hyperparameters

def learning_schedule(t):
    return t0 / (t + t1)

m = len(X_b)
np.random.seed(42)
theta_path_mgd = []  # every theta visited by mini-batch GD (used in Qe)

#@solution
theta = np.random.randn(2, 1)  # random initialization

t = 0
for epoch in range(n_epochs):
    shuffled_indices = np.random.permutation(m)
    X_b_shuffled = X_b[shuffled_indices]
    y_shuffled = y[shuffled_indices]
    for i in range(0, m, minibatch_size):
        t += 1
        xi = X_b_shuffled[i:i + minibatch_size]
        yi = y_shuffled[i:i + minibatch_size]
        gradients = 2 / minibatch_size * xi.T.dot(xi.dot(theta) - yi)
        eta = learning_schedule(t)
        theta = theta - eta * gradients
        theta_path_mgd.append(theta)

theta_mb = theta

print(f"mini-batch theta_mb = {theta_mb.ravel()}")
#@stub
theta_mb = None  # YOUR CODE HERE
#@end
'''),
    answer(GD_QD, r'''
Mini-batch GD computes each gradient on a small random batch of the training set (here 20
instances), a compromise between batch GD, which uses all m instances in every step, and SGD, which
uses a single instance. The training set is reshuffled with `np.random.permutation` at the start of
every epoch and then cut into batches, so each instance is used exactly once per epoch, unlike
SGD's `randint`, which samples with replacement. Its gradient is much less noisy than SGD's, so it
walks more smoothly and ends closer to the minimum, and the batches are matrix operations that
vectorize well (e.g. on GPUs); it is still noisier than batch GD and needs a learning schedule and
a batch size to be chosen.
'''),
    md("qe", r'''
## Qe Choosing a Gradient Descent Method

Plot the paths that the three methods take in parameter space: $\theta_1$ against $\theta_0$ for
every `theta` in `theta_path_bgd`, `theta_path_sgd` and `theta_path_mgd`, with a legend, in one
matplotlib figure (end the cell with `plt.show()`).

Explain the $\theta_0 - \theta_1$ plot, and make a comment on when to use GD/SGD/mini-batch
gradient descent (pros and cons for the different methods).
'''),
    code(GD_QE, "qe-paths", r'''
#@solution
path_bgd = np.array(theta_path_bgd).reshape(-1, 2)
path_sgd = np.array(theta_path_sgd).reshape(-1, 2)
path_mgd = np.array(theta_path_mgd).reshape(-1, 2)

plt.figure(figsize=(7, 4))
plt.plot(path_sgd[:, 0], path_sgd[:, 1], "r-s", linewidth=1, label="Stochastic")
plt.plot(path_mgd[:, 0], path_mgd[:, 1], "g-+", linewidth=2, label="Mini-batch")
plt.plot(path_bgd[:, 0], path_bgd[:, 1], "b-o", linewidth=3, label="Batch")
plt.legend(loc="upper left", fontsize=16)
plt.xlabel(r"$\theta_0$", fontsize=20)
plt.ylabel(r"$\theta_1$   ", fontsize=20, rotation=0)
plt.axis([2.5, 4.5, 2.3, 3.9])
plt.show()
#@stub
# YOUR CODE HERE
#@end
'''),
    answer(GD_QE, r'''
The plot shows the paths in parameter space: batch GD follows a smooth path to the minimum and
stops there, SGD zig-zags noisily and keeps bouncing around the minimum, and mini-batch lies in between,
with less noise than SGD. Batch GD is the choice for small data sets that fit in memory, since it
uses the exact gradient and converges smoothly, but every step costs a pass over all m instances,
so it is slow for large data sets. SGD is the cheapest per step, works online or out-of-core and
can escape local minima, but it never settles exactly without a good learning schedule;
mini-batch, the usual default for large data sets and neural networks, combines a fairly stable
path with fast vectorized (GPU) computation, at the price of one more hyperparameter, the batch
size.
'''),
]


# --------------------------------------------------------------------------------------------
# Exercise: regularizers (L07/regulizers)
# --------------------------------------------------------------------------------------------

RG = "regularizers"
RG_QA, RG_QB, RG_QC, RG_QD = (f"{RG}.q{c}" for c in "abcd")

REGULARIZERS = [
    md("intro", intro("Regularizers", "L07/regulizers", r'''
Regularization adds a penalty term to the cost function that is minimized during training,

$$
    \tilde{J}(\mathbf{w}) = J(\mathbf{w}) + \alpha\, \Omega(\mathbf{w}),
$$

where $J$ is the usual cost (for instance the MSE), $\Omega$ is the regularizer (the penalty) and
$\alpha \ge 0$ sets how much the penalty weighs. For $\Omega(\mathbf{w}) = ||\mathbf{w}||_2^2$ this is
Ridge regression (Tikhonov or $\mathcal{L}_2$ regularization).
''')),
    setup(RG, "setup", r'''
# Setup (do not modify): imports
import numpy as np
import matplotlib.pyplot as plt
from libitmal import utils as itmalutils
'''),
    md("qa", r'''
## Qa The Penalty Factor

Now, lets examine what $||\mathbf{w}||_2^2$ effectively mean? It is composed of our well-known
$\mathcal{L}_2^2$ norm and can also be expressed as

$$
    ||\mathbf{w}||_2^2 = \mathbf{w}^\top \mathbf{w}
$$

Construct a penalty function `Omega(w)` that implements $\mathbf{w}^\top\mathbf{w}$, re-using any
functions from `numpy` (the implementation could be a tiny *one-liner*), and that returns the
penalty as a float.

Take $w_0$ into account: this weight factor (the bias) should NOT be included in the norm. Also
checkup on `numpy`'s `dot` implementation, if you have not done so and are using it: it is a typical
pythonic *combo* function, doing both dot op's (inner product) and matrix multiplication dependent
on the shape of the input parameters.

Then run it on the three test vectors below, and notice when the penalty factor is low and when
it is high.
'''),
    code(RG_QA, "qa-omega", r'''
def Omega(w):
    #@solution
    w = np.asarray(w, dtype=float)  # float: squaring large integers must not overflow
    return float(np.sum(w[1:] ** 2))  # w[0], the bias, is not penalized
    #@end

# weight vector format: [w_0 w_1 .. w_d], ie. elem. 0 is the 'bias'
w_a = np.array([1, 2, -3])
w_b = np.array([1E10, -3E10])
w_c = np.array([0.1, 0.2, -0.3, 0])

p_a = Omega(w_a)
p_b = Omega(w_b)
p_c = Omega(w_c)

print(f"P(w_a)={p_a}")
print(f"P(w_b)={p_b}")
print(f"P(w_c)={p_c}")

# TEST VECTORS
e0 = 2 * 2 + (-3) * (-3)
e1 = 9e+20
e2 = 0.13

itmalutils.AssertInRange(p_a, e0)
itmalutils.AssertInRange(p_b, e1)
itmalutils.AssertInRange(p_c, e2)

print("OK")
'''),
    md("qb", r'''
## Qb Explain the Ridge Plot

First take a peek into the plots (and code) below, that fits the Ridge, Lasso and ElasticNet to a
polynomial model (degree 12, standardized features). The plots show three fits with different
$\alpha$ values (0, $10^{-5}$, and 1); $\alpha = 0$ is plain linear regression.

First, explain what the different $\alpha$ does to the actual fitting for the Ridge model in the
plot.
'''),
    code(RG_QB, "qb-plot", r'''
# Given code: fit and plot Ridge, Lasso and ElasticNet on a degree-12 polynomial model
import warnings
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

np.random.seed(42)
m = 20
X = 3 * np.random.rand(m, 1)
y = 1 + 0.5 * X + np.random.randn(m, 1) / 1.5
X_new = np.linspace(0, 3, 100).reshape(100, 1)

def plot_model(model_class, alphas, **model_kargs):
    for alpha, style in zip(alphas, ("b-", "g--", "r:")):
        model = model_class(alpha=alpha, **model_kargs) if alpha > 0 else LinearRegression()
        model = Pipeline([
            ("poly_features", PolynomialFeatures(degree=12, include_bias=False)),
            ("std_scaler", StandardScaler()),
            ("regul_reg", model),
        ])
        with warnings.catch_warnings():
            # Lasso with a tiny alpha on 12 strongly correlated polynomial features converges
            # very slowly; the fit after max_iter iterations is good enough for the plot.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y.ravel())
        y_new_regul = model.predict(X_new)
        lw = 2 if alpha > 0 else 1
        plt.plot(X_new, y_new_regul, style, linewidth=lw, label=rf"$\alpha = {alpha}$")
    plt.plot(X, y, "b.", linewidth=3)
    plt.legend(loc="upper left", fontsize=12)
    plt.xlabel("$x_1$", fontsize=18)
    plt.axis([0, 3, 0, 4])
    plt.title(model_class.__name__, fontsize=16)

plt.figure(figsize=(15, 4))
plt.subplot(131)
plot_model(Ridge, alphas=(0, 10**-5, 1), random_state=42)
plt.ylabel("$y$", rotation=0, fontsize=18)
plt.subplot(132)
plot_model(Lasso, alphas=(0, 10**-5, 1), random_state=42, max_iter=1_000_000)
plt.subplot(133)
plot_model(ElasticNet, alphas=(0, 10**-5, 1), l1_ratio=0.1, random_state=42, max_iter=1_000_000)
plt.show()
'''),
    answer(RG_QB, r'''
`alpha` sets how strongly the penalty on the weights counts against the MSE. With alpha = 0 (plain
linear regression) the degree-12 polynomial overfits: it wiggles through the 20 training points and
shoots off at the edges. A tiny alpha = 1e-5 already damps the largest weights and makes the Ridge
curve a little calmer, while alpha = 1 shrinks all weights so much that the fit becomes a smooth,
almost straight line that only bends up at the right edge: larger alpha trades variance for bias, and a too large alpha underfits.
'''),
    md("qc", r'''
## Qc Explain the Regularization Methods

Then explain the different regularization methods used for the Ridge, Lasso and ElasticNet models,
by looking at the math formulas for the methods in the Scikit-learn documentation and/or using
[HOML].
'''),
    answer(RG_QC, r'''
Ridge adds the squared L2 norm of the weights, minimizing ||y - Xw||² + alpha·||w||₂², which
shrinks all weights smoothly towards zero but seldom makes any of them exactly zero. Lasso adds the
L1 norm, (1/2m)·||y - Xw||² + alpha·||w||₁; the absolute values drive the least important weights
exactly to zero, so Lasso performs feature selection and gives a sparse model (with alpha = 1 in
the plot every weight is zero and the fit is a flat line). ElasticNet mixes the two,
(1/2m)·||y - Xw||² + alpha·l1_ratio·||w||₁ + ½·alpha·(1 - l1_ratio)·||w||₂², so l1_ratio = 0.1 is
mostly Ridge with a little Lasso, useful when features are correlated; in all three the bias w_0 is
not penalized.
'''),
    md("qd", r'''
## Qd Regularization and Overfitting

Finally, comment on how regularization may be used to reduce a potential tendency to overfit the
data.

Describe the situation with the tug-of-war between the MSE and regularizer terms in $\tilde{J}$
and the potential problem of $\mathbf{w}^*$ being far, far away from the origin (with $\alpha = 1$
in the regularizer term).

Would data preprocessing in the form of scaling, standardization or normalization be of any help to
that particular situation? If so, describe.
'''),
    answer(RG_QD, r'''
Minimizing J̃ = MSE + alpha·Omega(w) is a tug-of-war: the MSE term pulls w towards the unregularized
optimum w* that fits the training data (and its noise) best, while the penalty pulls w towards the
origin, so the solution is a compromise with smaller weights and a smoother, less overfitting
model. If w* lies far, far away from the origin, the penalty with alpha = 1 is huge there and
dominates: it drags w far from w*, the MSE suffers and the model underfits, and features whose scale
needs large weights are punished harder than others. Scaling helps: standardizing or normalizing
the features puts them on comparable scales, so the needed weights are of moderate and similar
size, w* comes closer to the origin and a single alpha penalizes all features fairly, which is why
the pipelines above put a StandardScaler before the regularized model.
'''),
]


# --------------------------------------------------------------------------------------------
# Exercise: perceptron (L09/perceptron)
# --------------------------------------------------------------------------------------------

PC = "perceptron"
PC_QA, PC_QB, PC_QC, PC_QD = (f"{PC}.q{c}" for c in "abcd")

PERCEPTRON = [
    md("intro", intro("The Perceptron", "L09/perceptron",
                      "\nThe data set is the two-moons data (1000 points, noise 0.1), split 70/30 "
                      "into a training and a test set.")),
    setup(PC, "setup", r'''
# Setup (do not modify): imports and the moon data, split into train and test sets
import numpy as np
import matplotlib.pyplot as plt
from sklearn.linear_model import Perceptron, SGDClassifier
from sklearn.model_selection import train_test_split
from libitmal import dataloaders_v2 as itmaldataloaders

X, y = itmaldataloaders.MOON_GetDataSet(n_samples=1000)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=42)

print(f"X_train: {X_train.shape}, X_test: {X_test.shape}")
'''),
    md("qa", r'''
## Qa Using a Perceptron on the Moon Data

Train a `sklearn.linear_model.Perceptron` with default parameters (and with no cross-val this time)
on the training data above. Store the fitted model in `model_qa` and its score on the test data in
`score_qa`.

What is the default score metric for the perceptron and what score do you reach on the test data?
'''),
    code(PC_QA, "qa-perceptron", r'''
#@solution
model_qa = Perceptron()
model_qa.fit(X_train, y_train)
score_qa = model_qa.score(X_test, y_test)
#@stub
model_qa = None  # YOUR CODE HERE
score_qa = None  # YOUR CODE HERE
#@end

print(f"Perceptron test score: {score_qa}")
'''),
    answer(PC_QA, r'''
The default score metric of the Perceptron, as for every Scikit-learn classifier
(`ClassifierMixin.score`), is the mean accuracy: the fraction of the test samples that are
classified correctly. The default Perceptron reaches a test accuracy of 0.84, i.e. 252 of the 300
test points: its decision boundary is a straight line, so the tip of each moon that reaches into
the hollow of the other ends up on the wrong side of it.
'''),
    md("qb", r'''
## Qb Plotting the Decision Boundary

Use the helper code below to plot the decision boundary for the perceptron (`model_qa`) on the
moon data.
'''),
    code(PC_QB, "qb-helper", r'''
# Given helper: colour the plane by the model's predictions and plot the data on top
def plot_decision_boundary(model, X, y, resolution=300, title=None):
    pad = 0.5
    x0 = np.linspace(X[:, 0].min() - pad, X[:, 0].max() + pad, resolution)
    x1 = np.linspace(X[:, 1].min() - pad, X[:, 1].max() + pad, resolution)
    xx0, xx1 = np.meshgrid(x0, x1)
    y_pred = model.predict(np.c_[xx0.ravel(), xx1.ravel()]).reshape(xx0.shape)

    plt.figure(figsize=(8, 5))
    plt.contourf(xx0, xx1, y_pred, alpha=0.3, cmap=plt.cm.brg)
    plt.plot(X[y == 0, 0], X[y == 0, 1], "bs", markersize=3, label="class 0")
    plt.plot(X[y == 1, 0], X[y == 1, 1], "g^", markersize=3, label="class 1")
    plt.xlabel("$x_1$", fontsize=14)
    plt.ylabel("$x_2$", fontsize=14, rotation=0)
    plt.legend(loc="upper right")
    if title:
        plt.title(title)
    plt.show()
'''),
    code(PC_QB, "qb-plot", r'''
#@solution
plot_decision_boundary(model_qa, X, y, title=f"Perceptron on the moon data, test score {score_qa:.3f}")
#@stub
# YOUR CODE HERE
#@end
'''),
    md("qc", r'''
## Qc The XOR Problem

How does the moon data relate to the well-known *XOR*-problem in machine learning?

Is it possible for a single neuron or perceptron to solve the moon/*XOR* problem satisfactorily?

Elaborate on the reason why not, and give a comment on how to overcome the *XOR*-problematic using
more perceptrons.
'''),
    answer(PC_QC, r'''
XOR is the classic problem that is not linearly separable: the points (0,0) and (1,1) of one class
and (0,1) and (1,0) of the other cannot be separated by a single straight line, and the moons are
the same kind of problem, since each moon reaches into the hollow of the other. A single perceptron
computes a weighted sum followed by a threshold, so its decision boundary is always a straight line
(a hyperplane): it cannot solve XOR at all and only approximates the moons (about 84 % accuracy
here). The way out is to stack perceptrons in layers, a multi-layer perceptron: for example two
hidden units computing OR and NAND feeding an AND unit implement XOR, and more hidden units with
non-linear activations can bend the boundary around the moons.
'''),
    md("qd", r'''
## Qd Comparing the Perceptron and SGD

On the same train-test data train an `SGDClassifier` with perceptron compatible parameters, and a
`Perceptron`. Give both models `random_state=42` and `tol=1e-3` parameters:

```python
SGDModel = SGDClassifier(loss='perceptron', eta0=1, learning_rate='constant', penalty=None, random_state=42, tol=1e-3)
PerceptronModel = Perceptron(random_state=42, tol=1e-3)
```

Fit both on the training data, and store their scores on the test data in `SGDScore` and
`PerceptronScore`.

Are the SGD and Perceptron score metrics also compatible?

Does the SGD yield the same score as the Perceptron? (100% similar scores, nearly similar or not at
all similar?)
'''),
    code(PC_QD, "qd-compare", r'''
#@solution
SGDModel = SGDClassifier(loss='perceptron', eta0=1, learning_rate='constant', penalty=None, random_state=42, tol=1e-3)
SGDModel.fit(X_train, y_train)
SGDScore = SGDModel.score(X_test, y_test)

PerceptronModel = Perceptron(random_state=42, tol=1e-3)
PerceptronModel.fit(X_train, y_train)
PerceptronScore = PerceptronModel.score(X_test, y_test)
#@stub
SGDModel = None  # YOUR CODE HERE
SGDScore = None  # YOUR CODE HERE
PerceptronModel = None  # YOUR CODE HERE
PerceptronScore = None  # YOUR CODE HERE
#@end

print("SGDScore:       ", SGDScore)
print("PerceptronScore:", PerceptronScore)
'''),
    answer(PC_QD, r'''
Yes, the metrics are compatible: both models are Scikit-learn classifiers whose `score()` is the
mean accuracy on the given data, so the two numbers can be compared directly. The SGD yields 100 %
the same score as the Perceptron (0.857 for both): with loss='perceptron', learning_rate='constant',
eta0=1 and penalty=None, SGDClassifier performs exactly the perceptron update rule, and Scikit-learn
implements Perceptron with the same SGD code and these settings, so with the same random_state and
tol both models learn identical weights.
'''),
]


EXERCISES: dict[str, list[Cell]] = {
    GD: GRADIENT_DESCENT,
    RG: REGULARIZERS,
    PC: PERCEPTRON,
}


# --------------------------------------------------------------------------------------------
# Example submissions
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Variant:
    """A submission derived from the solutions: code patches and the students' own answers."""

    # exercise -> cell key -> [(old, new)] replacements, each old text occurring exactly once
    patches: dict[str, dict[str, list[tuple[str, str]]]]
    # question id -> answer text; None leaves the placeholder, "" leaves the cell empty
    answers: dict[str, str | None]


GROUP01_CORRECT = Variant(patches={}, answers={})

GROUP02_TYPICAL_MISTAKES = Variant(
    patches={
        GD: {  # gradient descent stopped after 20 iterations: theta_gd has not converged
            "qa-gd": [("n_iterations = 1000", "n_iterations = 20")],
        },
        RG: {  # the bias w[0] is included in the penalty
            "qa-omega": [(
                "    w = np.asarray(w, dtype=float)  # float: squaring large integers must not overflow\n"
                "    return float(np.sum(w[1:] ** 2))  # w[0], the bias, is not penalized",
                "    return np.sum(w**2)",
            )],
        },
        PC: {  # the 'optimal' learning rate is not perceptron compatible: the scores differ
            "qd-compare": [("learning_rate='constant'", "learning_rate='optimal'")],
        },
    },
    answers={
        GD_QA: "eta is the learning rate. If it is small gradient descent is slow (left plot), if it is "
               "too big it jumps over the minimum and diverges (right plot). 0.1 in the middle looks good.",
        GD_QB: "SGD only uses one random instance in each step, chosen by np.random.randint(m), so the "
               "steps are noisy and theta jumps around the minimum. It is much faster per step than normal "
               "GD because it does not use the whole data set.",
        GD_QD: "Mini-batch uses small batches of 20 instances instead of one instance (SGD) or all of them "
               "(GD), so it is somewhere in between: less noisy than SGD and faster than GD.",
        GD_QE: None,
        RG_QB: "Alpha decides how much the weights are punished. With alpha = 0 the curve overfits and "
               "wiggles a lot, with alpha = 1 it is much smoother.",
        RG_QC: "Ridge uses the squared L2 norm of the weights as penalty, Lasso uses the L1 norm (sum of "
               "absolute values) which can set weights to zero, and ElasticNet is a mix of the two "
               "controlled by l1_ratio.",
        RG_QD: "The MSE wants to fit the training data and the penalty wants small weights, and alpha "
               "decides who wins. If w* is far from the origin the penalty wins and the fit gets bad. "
               "Scaling the features helps because then the weights do not need to be so big.",
        PC_QA: "The default metric is the accuracy. We get 0.84 on the test set.",
        PC_QC: "",
        PC_QD: "Both use accuracy as score so they can be compared. The scores are not the same "
               "(0.803 for SGD and 0.857 for the Perceptron), so SGD is not exactly the same algorithm "
               "as the Perceptron.",
    },
)


# --------------------------------------------------------------------------------------------
# Building notebooks
# --------------------------------------------------------------------------------------------

def patched(source: str, replacements: list[tuple[str, str]], where: str) -> str:
    for old, new in replacements:
        count = source.count(old)
        assert count == 1, f"{where}: expected {old!r} exactly once, found it {count} times"
        source = source.replace(old, new)
    return source


def build_notebook(exercise: str, mode: str, variant: Variant | None = None) -> nbformat.NotebookNode:
    """mode: "stub" or "solution"; a variant patches the solution (mode must be "solution")."""
    assert mode in ("stub", "solution")
    assert variant is None or mode == "solution"
    patches = variant.patches.get(exercise, {}) if variant else {}
    unused = set(patches)
    cells = []
    keys = set()
    for spec in EXERCISES[exercise]:
        assert spec.key not in keys, f"{exercise}: duplicate cell key {spec.key}"
        keys.add(spec.key)
        if spec.kind == "markdown":
            cell = new_markdown_cell(spec.source)
        elif spec.kind == "answer":
            text = spec.source if mode == "solution" else ANSWER_PLACEHOLDER
            if variant is not None and spec.qid in variant.answers:
                text = variant.answers[spec.qid]
                text = ANSWER_PLACEHOLDER if text is None else text
            cell = new_markdown_cell(text)
        else:
            source = render_code(spec.source, mode)
            if spec.key in patches:
                source = patched(source, patches[spec.key], f"{exercise}/{spec.key}")
                unused.discard(spec.key)
            cell = new_code_cell(source)
        cell.id = f"{exercise.replace('_', '-')}-{spec.key}"
        if spec.tags:
            cell.metadata["tags"] = list(spec.tags)
        cells.append(cell)
    assert not unused, f"{exercise}: patches for unknown cells {sorted(unused)}"
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "itmal": {"exercise": exercise},
    })
    nbformat.validate(nb)
    return nb


def targets() -> list[tuple[Path, str, str, Variant | None]]:
    """(path, exercise, mode, variant) for every notebook this script writes."""
    out = []
    for exercise in EXERCISES:
        name = f"{exercise}.ipynb"
        out.append((ASSIGNMENTS / name, exercise, "stub", None))
        out.append((SOLUTIONS / name, exercise, "solution", None))
        out.append((EXAMPLES / "group01-correct" / name, exercise, "solution", GROUP01_CORRECT))
        out.append((EXAMPLES / "group02-typical-mistakes" / name, exercise, "solution",
                    GROUP02_TYPICAL_MISTAKES))
    return out


def write_all() -> list[Path]:
    written = []
    for path, exercise, mode, variant in targets():
        nb = build_notebook(exercise, mode, variant)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = nbformat.writes(nb) + "\n"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


# --------------------------------------------------------------------------------------------
# Executing them (a check for the authors; the grader has its own, sandboxed runner)
# --------------------------------------------------------------------------------------------

ALLOWED_STUB_ERRORS = {"NotImplementedError", "TypeError", "AttributeError"}


def execute(path: Path, timeout: int = 120) -> tuple[float, list[tuple[int, str, str]], nbformat.NotebookNode]:
    """Run a copy of the notebook next to a copy of libitmal; return (seconds, errors, executed nb)."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(COURSE / "libitmal", Path(tmp) / "libitmal")
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": tmp}})
        start = time.monotonic()
        client.execute()
        seconds = time.monotonic() - start
    errors = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                errors.append((i, out["ename"], out["evalue"]))
    return seconds, errors, nb


def run_all(paths: list[Path]) -> int:
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(COURSE), os.environ.get("PYTHONPATH", "")) if p)
    failures = 0
    for path in paths:
        seconds, errors, nb = execute(path)
        figures = sum(1 for c in nb.cells for o in c.get("outputs", [])
                      if "image/png" in o.get("data", {}))
        rel = path.relative_to(REPO)
        stub = path.parent == ASSIGNMENTS
        bad = [e for e in errors if not (stub and e[1] in ALLOWED_STUB_ERRORS)]
        if "group02" in str(path):  # its wrong Omega makes the course's own asserts fail
            bad = [e for e in bad if e[1] != "AssertionError"]
        status = "ok" if not bad else "FAILED"
        failures += bool(bad)
        print(f"{status:6} {seconds:5.1f} s  {figures} figures  {rel}")
        for i, ename, evalue in errors:
            print(f"         cell {i}: {ename}: {evalue.splitlines()[0] if evalue else ''}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="store_true", help="execute every notebook after writing them")
    args = parser.parse_args(argv)
    paths = write_all()
    for path in paths:
        print(f"wrote  {path.relative_to(REPO)}")
    return run_all(paths) if args.run else 0


if __name__ == "__main__":
    sys.exit(main())
