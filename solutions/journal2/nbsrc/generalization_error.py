"""Notebook source of the generalization_error exercise: cells once, for stub and solution."""

from ._cells import answer, code, intro, md, setup

# --------------------------------------------------------------------------------------------
# Exercise: generalization error (L05/generalization_error)
# --------------------------------------------------------------------------------------------

GE = "generalization_error"
GE_QA, GE_QB, GE_QC, GE_QD = (f"{GE}.q{c}" for c in "abcd")

GENERALIZATION_ERROR = [
    md("intro", intro("Generalization Error", "L05/generalization_error", r'''
In this exercise we look at the generalization error: the expected error of a model on new data,
as opposed to the training error on the data it was fitted to. Figure 5.3 of Goodfellow, Bengio and
Courville, *Deep Learning* (MIT Press 2016, section 5.2,
<https://www.deeplearningbook.org/contents/ml.html>) draws the typical relationship between the
capacity of a model and its training and generalization error.
''')),
    setup(GE, "setup", r'''
# Setup (do not modify): imports
import numpy as np
import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.linear_model import SGDRegressor
from sklearn.metrics import mean_squared_error
'''),
    md("qa", r'''
## Qa On Generalization Error

Write a detailed description of figure 5.3 (see the introduction) for your journal.

All concepts in the figure must be explained

* training/generalization error,
* underfit/overfit zone,
* optimal capacity,
* generalization gap,
* and the two axes: x/capacity, y/error.
'''),
    answer(GE_QA, r'''
The figure plots error (y-axis) against the capacity of the model (x-axis), i.e. how complex a
family of functions the model can fit, e.g. the degree of a polynomial. The training error is the
error on the data the model was fitted to; it falls steadily as the capacity grows, because a more
flexible model can always fit the training set at least as well. The generalization error is the
expected error on new, unseen data (estimated on a test or validation set); it has a U-shape: it
first falls together with the training error and then rises again. To the left lies the underfitting
zone, where both errors are high and close to each other: the model is too simple to capture the
structure of the data. To the right lies the overfitting zone, where the training error keeps falling
but the generalization error rises: the model fits the noise of the training set. The optimal capacity
is the dashed line at the bottom of the generalization error curve, the capacity with the lowest error
on new data, between the two zones. The generalization gap is the vertical distance between the two
curves, generalization error minus training error; it grows with the capacity and dominates in the
overfitting zone.
'''),
    md("qb", r'''
## Qb A MSE-Epoch/Error Plot

Next, we look at a SGD model for fitting a polynomial, that is polynomial regression similar to what
Géron describes in [HOML] ("Polynomial Regression" and "Learning Curves").

The three cells below (part I, II and III) generate quadratic data with noise, keep 50 of the 100
samples and split them into 25 for training and 25 for validation, expand them into polynomial
features of degree 90 and standardize them. Then an `SGDRegressor` is trained for `n_epochs`
epochs, one epoch per call to `fit` (`max_iter=1` and `warm_start=True`: each call continues where
the previous one stopped).

Complete part II: after every epoch, record the MSE of the model on the training set and on the
validation set, so that `mse_train` and `mse_val` are arrays with one value per epoch
(`mse_train[epoch]`), and set `best_epoch` to the epoch with the lowest validation error. Print a
line like

```
epoch= 104, mse_train=1.50, mse_val=2.37
```

now and then, and run part III to plot the RMSE curves.

Review the code: write a short description of the code, and comment on the important points in the
generation of the (R)MSE arrays. What is an **epoch** and what are `mse_train` and `mse_val`?

NOTE: the generalization plot in figure 5.3 and the plots below have different x-axis, and are not
to be compared directly!
'''),
    code(GE_QB, "qb-data", r'''
# Qb part I (given): the data, the split and the polynomial features
np.random.seed(42)

def GenerateData():
    m = 100
    X = 6 * np.random.rand(m, 1) - 3
    y = 2 + X + 0.5 * X**2 + np.random.randn(m, 1)
    return X, y

X, y = GenerateData()
X_train, X_val, y_train, y_val = train_test_split(X[:50], y[:50].ravel(), test_size=0.5, random_state=10)

print("X_train.shape=", X_train.shape)
print("X_val  .shape=", X_val.shape)
print("y_train.shape=", y_train.shape)
print("y_val  .shape=", y_val.shape)

poly_scaler = Pipeline([
    ("poly_features", PolynomialFeatures(degree=90, include_bias=False)),
    ("std_scaler", StandardScaler()),
])

X_train_poly_scaled = poly_scaler.fit_transform(X_train)
X_val_poly_scaled = poly_scaler.transform(X_val)
'''),
    code(GE_QB, "qb-train", r'''
# Qb part II: train one epoch at a time and record the training and validation MSE per epoch
n_epochs = 500

sgd_reg = SGDRegressor(max_iter=1, penalty=None, eta0=0.0005, warm_start=True,
                       learning_rate="constant", tol=None, random_state=42)

#@solution
mse_train, mse_val = [], []
for epoch in range(n_epochs):
    sgd_reg.fit(X_train_poly_scaled, y_train)  # one more epoch, continuing from the last one
    mse_train.append(mean_squared_error(y_train, sgd_reg.predict(X_train_poly_scaled)))
    mse_val.append(mean_squared_error(y_val, sgd_reg.predict(X_val_poly_scaled)))
    if epoch % 50 == 0 or epoch == n_epochs - 1:
        print(f"epoch={epoch:4d}, mse_train={mse_train[-1]:4.2f}, mse_val={mse_val[-1]:4.2f}")

mse_train = np.array(mse_train)
mse_val = np.array(mse_val)
best_epoch = int(np.argmin(mse_val))  # the epoch with the lowest validation error
#@stub
mse_train = None  # YOUR CODE HERE: an array with the training MSE after every epoch
mse_val = None  # YOUR CODE HERE: an array with the validation MSE after every epoch
best_epoch = None  # YOUR CODE HERE: the epoch with the lowest validation MSE
raise NotImplementedError()
#@end

print(f"best_epoch={best_epoch}, mse_val[best_epoch]={mse_val[best_epoch]:.3f}")
'''),
    code(GE_QB, "qb-plot", r'''
# Qb part III (given): the training and validation RMSE against the epoch
best_val_rmse = np.sqrt(mse_val[best_epoch])

plt.figure(figsize=(7, 5))
plt.annotate("Best model",
             xy=(best_epoch, best_val_rmse),
             xytext=(best_epoch, best_val_rmse + 1),
             ha="center",
             arrowprops=dict(facecolor="black", shrink=0.05),
             fontsize=16)
plt.plot([0, n_epochs], [best_val_rmse - 0.03, best_val_rmse - 0.03], "k:", linewidth=2)
plt.plot(np.sqrt(mse_train), "b--", linewidth=2, label="Training set")
plt.plot(np.sqrt(mse_val), "g-", linewidth=3, label="Validation set")
plt.legend(loc="upper right", fontsize=14)
plt.xlabel("Epoch", fontsize=14)
plt.ylabel("RMSE", fontsize=14)
plt.show()
'''),
    answer(GE_QB, r'''
An epoch is one full pass of the training algorithm over the training set: here SGD visits each of
the 25 training instances once, and since max_iter=1 and warm_start=True every call to fit performs
exactly one epoch, continuing from the weights the previous call ended with. mse_train[epoch] is the
mean squared error of the model on the 25 training instances after that epoch, and mse_val[epoch]
the same on the 25 validation instances the model never trains on, our estimate of the
generalization error. Important points: the degree-90 polynomial features give a model with far
more capacity than the quadratic data needs (91 weights for 25 points) and no regularization
(penalty=None), so it can overfit; the StandardScaler is fitted on the training set only and merely
applied to the validation set (no information leaks from it), and scaling is essential since x^90
is astronomically large; the learning rate is a small constant (eta0=0.0005) and tol=None, so
training runs all 500 epochs. The training MSE falls steadily (11.85 in epoch 0 to 0.54 in epoch
499), while the validation MSE falls to its minimum 1.35 at epoch 239 (best_epoch, where early
stopping would stop) and then rises again to 1.99: the longer training goes on, the more the model
overfits.
'''),
    md("qc", r'''
## Qc [OPTIONAL] Early Stopping

How would you implement *early stopping* in the code above?

Write an explanation of the early stopping concept, that is, write some pseudo code that
"implements" the early stopping.

(Optional in the course; it carries few points.)
'''),
    answer(GE_QC, r'''
Early stopping stops the training when the validation error no longer improves, and keeps the model
of the best epoch: it uses the validation curve above to pick the number of epochs, a form of
regularization. Pseudo code: best_mse = infinity, best_model = None, wait = 0; for each epoch: train
one epoch (sgd_reg.fit with warm_start), compute mse_val on the validation set; if mse_val < best_mse
then best_mse = mse_val, best_epoch = epoch, best_model = a deep copy of sgd_reg (copy.deepcopy) and
wait = 0, else wait = wait + 1 and if wait >= patience (e.g. 20 epochs) stop the loop. Afterwards
use best_model. The patience lets the loop survive the small ups and downs of a noisy validation
curve instead of stopping at its first bump. Scikit-learn offers the same with
SGDRegressor(early_stopping=True, validation_fraction, n_iter_no_change).
'''),
    md("qd", r'''
## Qd Explain the Polynomial RMSE-Capacity Plot

Now we revisit the concepts from the `capacity` notebook and the polynomial fitting with a given
capacity (polynomial degree).

The cell below generates the data of the `capacity` notebook again (30 noisy samples of
$\cos(1.5\pi x)$, seed 0) and fits polynomials of the degrees in `capacities` (1 to 7). Complete
it: for every degree, compute

* `rmse_training`: the RMSE of the pipeline fitted on all of `X, y`, on that same data, and
* `rmse_validation`: the cross-validated RMSE, the square root of minus the mean of
  `cross_val_score(pipeline, Z, y, scoring="neg_mean_squared_error", cv=10)`.

The loop collects them in `rmses_training` and `rmses_validation` (one value per degree in
`capacities`) and plots them; the grader recomputes them from your own `X, y`.

Explain the generated RMSE-Capacity plot. Why does the training error keep dropping, while the
CV-error drops until around capacity 3, and then begins to rise again?

What do the x-axis *Capacity* and y-axis *RMSE* represent?

Try increasing the model capacity. What happens when you do plots for degrees larger than around 10?
Relate this with what you found in the `capacity` notebook.
'''),
    code(GE_QD, "qd-capacity", r'''
# Qd: the training and the cross-validation RMSE against the capacity (the polynomial degree)
from math import sqrt
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_val_score

def true_fun(X):
    return np.cos(1.5 * np.pi * X)

np.random.seed(0)
n_samples = 30
X = np.sort(np.random.rand(n_samples))
y = true_fun(X) + np.random.randn(n_samples) * 0.1

capacities = list(range(1, 8))  # the polynomial degrees
rmses_training, rmses_validation = [], []

print("Iterating...degrees=", capacities)
for degree in capacities:
    pipeline = Pipeline([
        ("polynomial_features", PolynomialFeatures(degree=degree, include_bias=False)),
        ("linear_regression", LinearRegression()),
    ])
    Z = X[:, np.newaxis]

    #@solution
    pipeline.fit(Z, y)
    rmse_training = sqrt(mean_squared_error(y, pipeline.predict(Z)))

    scores = cross_val_score(pipeline, Z, y, scoring="neg_mean_squared_error", cv=10)
    rmse_validation = sqrt(-scores.mean())
    #@stub
    # YOUR CODE HERE: rmse_training (fitted on all of X, y) and rmse_validation (10-fold CV)
    raise NotImplementedError()
    #@end

    rmses_training.append(rmse_training)
    rmses_validation.append(rmse_validation)
    print(f"  degree={degree:4d}, rmse_training={rmse_training:4.2f}, rmse_cv={rmse_validation:4.2f}")

plt.figure(figsize=(7, 4))
plt.plot(capacities, rmses_training, "b--", linewidth=2, label="training RMSE")
plt.plot(capacities, rmses_validation, "g-", linewidth=2, label="validation RMSE")
plt.legend(loc="upper right", fontsize=14)
plt.xlabel("Capacity", fontsize=14)
plt.ylabel("RMSE", fontsize=14)
plt.show()
'''),
    answer(GE_QD, r'''
The x-axis, capacity, is the degree of the polynomial, i.e. how flexible the model is; the y-axis is
the root mean squared error, in the units of y. The dashed curve is the RMSE on the training data the
model was fitted to, the solid curve the 10-fold cross-validated RMSE, an estimate of the
generalization error: this is figure 5.3 of Qa, with real numbers. The training RMSE keeps dropping
(0.48 at degree 1 to 0.10 at degree 7) because a polynomial of higher degree contains all those of
lower degree, so least squares can only fit the training data better; it levels off near the noise
level 0.1. The CV RMSE drops from 0.64 to its minimum 0.14 at degree 3, the optimal capacity here,
and then rises again (0.21, 0.31, 0.34, 0.44 for degrees 4 to 7): the extra coefficients start to
fit the noise, and the models of the outer folds, which must extrapolate, swing away. The gap between
the two curves, the generalization gap, grows with the degree. For degrees above about 10 the
training RMSE barely changes while the CV RMSE grows large (degree 15 in the capacity notebook had a
CV MSE of 0.22, five times that of degree 4), clearly in the overfitting zone. This matches the
capacity notebook: degree 1 underfits, degrees 3 to 4 fit well and degree 15 overfits.
'''),
]


NAME = GE
CELLS = GENERALIZATION_ERROR

# group02-typical-mistakes: cell key -> [(old, new)] patches of the solution, each old text once
MISTAKES = {
    # the best epoch is read off the training curve, which only ever falls: the last epoch
    "qb-train": [("best_epoch = int(np.argmin(mse_val))", "best_epoch = int(np.argmin(mse_train))")],
}
# group02's own answers: None leaves the placeholder, "" leaves the cell empty
MISTAKE_ANSWERS = {
    GE_QA: "The training error goes down when the capacity goes up. The generalization error goes "
    "down and then up again. Left is underfitting, right is overfitting and the optimal capacity is "
    "in the middle. The gap between the curves is the generalization gap.",
    GE_QB: "An epoch is one run through the training data. mse_train is the error on the training set "
    "and mse_val is the error on the validation set after each epoch. The training error keeps "
    "falling, so the last epoch is the best model.",
    GE_QC: "Stop the training when the validation error has not improved for some epochs, and keep "
    "the model from the best epoch.",
    GE_QD: "The training RMSE falls when the degree grows, the CV RMSE is lowest at degree 3 and then "
    "grows because the model overfits. Higher degrees overfit even more.",
}
