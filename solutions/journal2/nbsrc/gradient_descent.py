"""Notebook source of the gradient_descent exercise: cells once, for stub and solution."""

from ._cells import answer, code, intro, md, setup

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


NAME = GD
CELLS = GRADIENT_DESCENT

# group02-typical-mistakes: cell key -> [(old, new)] patches of the solution, each old text once
MISTAKES = {
    # gradient descent stopped after 20 iterations: theta_gd has not converged
    "qa-gd": [("n_iterations = 1000", "n_iterations = 20")],
}
# group02's own answers: None leaves the placeholder, "" leaves the cell empty
MISTAKE_ANSWERS = {
    GD_QA: "eta is the learning rate. If it is small gradient descent is slow (left plot), if it is "
    "too big it jumps over the minimum and diverges (right plot). 0.1 in the middle looks good.",
    GD_QB: "SGD only uses one random instance in each step, chosen by np.random.randint(m), so the "
    "steps are noisy and theta jumps around the minimum. It is much faster per step than normal "
    "GD because it does not use the whole data set.",
    GD_QD: "Mini-batch uses small batches of 20 instances instead of one instance (SGD) or all of them "
    "(GD), so it is somewhere in between: less noisy than SGD and faster than GD.",
    GD_QE: None,
}
