"""Notebook source of the gridsearch exercise: cells once, for stub and solution.

Variable-name contract with grader_journal2/gridsearch.py (the helpers LoadAndSetupData and
FullReport come from libitmal.utils):
  Qa: grid_tuned      the fitted GridSearchCV of the given SVC grid on iris
      b0, m0          what FullReport(grid_tuned, X_test, y_test, t) returned
  Qb: grid_tuned_sgd  a fitted GridSearchCV of an SGDClassifier on iris, >= 4 hyperparameters
                      with >= 2 values each; tuning_parameters_sgd its grid
      b_sgd, m_sgd    FullReport's result for it
  Qc: random_tuned    a fitted RandomizedSearchCV(random_state=42, n_iter=20) over the same space
      b_random, m_random
  Qd: search_mnist    a fitted search (GridSearchCV or RandomizedSearchCV, scoring='f1_micro') of
                      a scikit-learn classifier on MNIST
      b_mnist, m_mnist  FullReport's result; the grader calls m_mnist.predict on its own held-out
                      digits, raw 0..255 pixel rows (any scaling belongs inside a Pipeline)
"""

from ._cells import answer, code, intro, md, setup

# --------------------------------------------------------------------------------------------
# Exercise: grid search (L07/gridsearch)
# --------------------------------------------------------------------------------------------

GS = "gridsearch"
GS_QA, GS_QB, GS_QC, GS_QD = (f"{GS}.q{c}" for c in "abcd")

GRIDSEARCH = [
    md("intro", intro("Hyperparameters and Gridsearch", "L07/gridsearch",
                      "\nThe course's helpers `LoadAndSetupData(mode)` ('iris', 'moon' or 'mnist', "
                      "split 70/30 with random_state=0, nothing scaled) and `FullReport(model, "
                      "X_test, y_test, t)` (prints a search's results and returns the string "
                      "`best: dat=..., score=..., model=...` and the best estimator) are imported "
                      "from `libitmal.utils`; read them there if you are curious (notice the use of "
                      "a module-level variable to remember the data mode). `FullReport` insists on "
                      "`scoring='f1_micro'`.\n\n"
                      "`GridSearchCV(iid=...)` of 2019 no longer exists, and `SVC`'s default gamma is "
                      "now 'scale'.")),
    setup(GS, "setup", r'''
# Setup (do not modify): imports and the course's search helpers
import numpy as np
from time import time
from sklearn import svm
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
from libitmal.utils import LoadAndSetupData, FullReport
from libitmal import profile  # the grader's quick/full profile; you do not need it yourself

print('OK')
'''),
    md("qa", r'''
## Qa Explain GridSearchCV

The cell below loads the iris data and sets up a search for the best `SVC` over two kernels and two
values of `C`. Complete it: create the search

```python
grid_tuned = GridSearchCV(model, tuning_parameters, cv=CV, scoring='f1_micro', verbose=VERBOSE, n_jobs=-1)
```

fit it on the training data, time the search (`start = time()` before, `t = time() - start` after)
and report the result with `b0, m0 = FullReport(grid_tuned, X_test, y_test, t)`.

Then write a short description of how `GridSearchCV` works: explain how the search parameter set is
created and the overall search mechanism (without going into too much detail).

What role does the parameter `scoring='f1_micro'` play in the `GridSearchCV`, and what does
`n_jobs=-1` mean?
'''),
    code(GS_QA, "qa-search", r'''
# Setup data
X_train, X_test, y_train, y_test = LoadAndSetupData('iris')  # 'iris', 'moon', or 'mnist'

# Setup search parameters
model = svm.SVC(gamma="scale")  # the default gamma, written out

tuning_parameters = {
    'kernel': ('linear', 'rbf'),
    'C': [1, 10]
}

CV = 5
VERBOSE = 0

#@solution
# Run GridSearchCV for the model
start = time()
grid_tuned = GridSearchCV(model, tuning_parameters, cv=CV, scoring='f1_micro', verbose=VERBOSE, n_jobs=-1)
grid_tuned.fit(X_train, y_train)
t = time() - start

# Report result
b0, m0 = FullReport(grid_tuned, X_test, y_test, t)
#@stub
grid_tuned = None  # YOUR CODE HERE: the GridSearchCV above, fitted on the training data
b0, m0 = None, None  # YOUR CODE HERE: FullReport(grid_tuned, X_test, y_test, t)
#@end
print(b0)
'''),
    answer(GS_QA, r'''
GridSearchCV builds the search set as the Cartesian product of the value lists in
`tuning_parameters`: here 2 kernels x 2 values of C = 4 candidate models. For every candidate it runs
a k-fold cross-validation on the training data (cv=5: fit on 4/5 of it, score on the remaining 1/5,
five times) and records the mean and spread of the five validation scores. The candidate with the
best mean score wins (here C=1 with a linear kernel, 0.97143); with refit=True (the default) it is
refitted on the whole training set and is available as best_estimator_, which FullReport then
evaluates on the test set it has never seen. `scoring='f1_micro'` chooses the metric the candidates
are ranked by: the F1 score with micro averaging, i.e. pooling the true/false positives of all
classes (for a single-label multiclass problem it equals the accuracy); fixing it lets us compare
searches. `n_jobs=-1` runs the fits in parallel on all CPU cores.
'''),
    md("qb", r'''
## Qb Hyperparameter Grid Search using an SDG classifier

Now, replace the `svm.SVC` model with an `SGDClassifier` and a suitable set of the hyperparameters
for that model, in `tuning_parameters_sgd`.

You need at least four or five different hyperparameters from the `SGDClassifier` in the
search-space, each with at least two values, before it begins to take considerable compute time
doing the full grid search. Store the fitted search in `grid_tuned_sgd`, and what `FullReport`
returns in `b_sgd, m_sgd`. Keep `scoring='f1_micro'` and `cv=CV`.

Explain your choice of hyperparameters, and compare the result with the SVC of Qa.
'''),
    code(GS_QB, "qb-sgd", r'''
#@solution
model_sgd = SGDClassifier(random_state=42)
tuning_parameters_sgd = {
    'loss': ['hinge', 'log_loss', 'modified_huber'],
    'penalty': ['l2', 'l1', 'elasticnet'],
    'alpha': [1e-4, 1e-3, 1e-2, 1e-1],
    'average': [False, True],
}

start = time()
grid_tuned_sgd = GridSearchCV(model_sgd, tuning_parameters_sgd, cv=CV, scoring='f1_micro', verbose=VERBOSE,
                              n_jobs=-1)
grid_tuned_sgd.fit(X_train, y_train)
t = time() - start

b_sgd, m_sgd = FullReport(grid_tuned_sgd, X_test, y_test, t)
#@stub
model_sgd = None  # YOUR CODE HERE: an SGDClassifier
tuning_parameters_sgd = None  # YOUR CODE HERE: at least four hyperparameters, each with two or more values
grid_tuned_sgd = None  # YOUR CODE HERE: the GridSearchCV, fitted on the training data
b_sgd, m_sgd = None, None  # YOUR CODE HERE: FullReport(grid_tuned_sgd, X_test, y_test, t)
#@end
print(b_sgd)
'''),
    answer(GS_QB, r'''
The grid searches four hyperparameters of the SGDClassifier: the loss (hinge = linear SVM,
log_loss = logistic regression, modified_huber), the penalty (l2, l1, elasticnet), the
regularisation strength alpha (1e-4 to 1e-1) and whether the weights are averaged over the updates
(average). That is 3 x 3 x 4 x 2 = 72 candidates, each cross-validated five times, so 360 fits
instead of the 20 of Qa. The best SGD model (hinge loss, l1 penalty, alpha=0.01) reaches the same
cross-validated f1_micro as the SVC, 0.97143, but it scores only 0.93 on the test set against the
SVC's 0.98, and the candidates' scores spread from about 0.3 to 0.97: SGD fits a linear model with
stochastic updates on only 84 flowers per fold, so it is sensitive to its settings and the best
cross-validation score is partly luck, while the SVC solves its optimisation problem exactly. On
this tiny data set the SVC is the better and simpler choice.
'''),
    md("qc", r'''
## Qc Hyperparameter Random Search using an SDG classifier

Now, add code to run a `RandomizedSearchCV` instead. Use the same parameters for the random search
(`tuning_parameters_sgd`), but add and investigate the new `n_iter` parameter:

```python
random_tuned = RandomizedSearchCV(model_sgd, tuning_parameters_sgd, random_state=42, n_iter=20, cv=CV,
                                  scoring='f1_micro', verbose=VERBOSE, n_jobs=-1)
```

Store what `FullReport` returns in `b_random, m_random`.

Comparison of time (seconds) to complete `GridSearch` versus `RandomizedSearchCV` does not
necessarily give any sense if your grid search completes in seconds (for the iris tiny-data). But
you could compare the best-tuned parameter set and best scoring for the two methods. Is the random
search best model close to the grid search?
'''),
    code(GS_QC, "qc-random", r'''
#@solution
start = time()
random_tuned = RandomizedSearchCV(model_sgd, tuning_parameters_sgd, random_state=42, n_iter=20, cv=CV,
                                  scoring='f1_micro', verbose=VERBOSE, n_jobs=-1)
random_tuned.fit(X_train, y_train)
t = time() - start

b_random, m_random = FullReport(random_tuned, X_test, y_test, t)
#@stub
random_tuned = None  # YOUR CODE HERE: the RandomizedSearchCV, fitted on the training data
b_random, m_random = None, None  # YOUR CODE HERE: FullReport(random_tuned, X_test, y_test, t)
#@end
print(b_sgd)
print(b_random)
'''),
    answer(GS_QC, r'''
The random search fits only n_iter=20 of the 72 candidates, drawn at random (random_state=42 makes
the draw reproducible), so it costs 100 fits instead of 360. Its best candidate (log_loss, l1,
alpha=0.0001) reaches a cross-validated f1_micro of 0.94286, a little below the grid search's
0.97143: the few best candidates of the grid were not among the 20 it drew, but it found a good one
at under a third of the cost. That is the point of a random search: with many hyperparameters
most of them matter little, a random sample of the space finds a nearly optimal candidate, and the
budget (n_iter) is chosen freely, independent of the size of the grid. On iris the times say little
(both searches take a second or two, mostly starting the parallel workers).
'''),
    md("qd", r'''
## Qd MNIST Search Quest II

Finally, a small competition: who can find the best model and hyperparameters for the MNIST data
set? Change to the MNIST data by calling `LoadAndSetupData('mnist')`: a completely other ball-game
than the *tiny-data* iris. It is much larger (but still far from *big-data*)!

* You might opt for an exhaustive grid search, or a faster but less optimal random search: your
  choice. Every cell runs with a time limit when the grader runs it (120 seconds per cell by
  default), so search on the subset `X_search, y_search` given below.
* You are free to pick any classifier in Scikit-learn, even algorithms we have not discussed yet,
  but keep the score function at `f1_micro`, otherwise we will be comparing apples and pears.
* You may want to scale your input data for some models to perform better (neural networks in
  particular): do it inside a `Pipeline` (e.g. `Pipeline([('scale', MinMaxScaler()), ('clf',
  ...)])`), so that your best model takes the raw pixel rows 0..255 like `X_train`. The grader
  judges `m_mnist` on digits it keeps to itself, given as raw pixel rows.
* DO NOT USE Keras or TensorFlow models... not yet, and there are too many examples on the net to
  cut-and-paste from!

Store the fitted search in `search_mnist` and what `FullReport(search_mnist, X_test, y_test, t)`
returns in `b_mnist, m_mnist`, and print `b_mnist`: the grader's leaderboard ranks `m_mnist` by its
f1_micro on the held-out digits.

For the journal, report your progress in scoring with different models, hyperparameters to search,
and how you might need to preprocess your data.
'''),
    code(GS_QD, "qd-mnist", r'''
X_train, X_test, y_train, y_test = LoadAndSetupData('mnist')

# Search on a subset of the training digits: the grader runs each cell with a time limit
N_SEARCH = profile.choose(quick=2000, full=10000)
X_search, y_search = X_train[:N_SEARCH], y_train[:N_SEARCH]

#@solution
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier

pipeline_mnist = Pipeline([
    ('scale', MinMaxScaler()),
    ('pca', PCA(random_state=42)),
    ('knn', KNeighborsClassifier()),
])
tuning_parameters_mnist = {
    'pca__n_components': [30, 50],
    'knn__n_neighbors': [3, 5],
    'knn__weights': ['uniform', 'distance'],
}

start = time()
search_mnist = GridSearchCV(pipeline_mnist, tuning_parameters_mnist, cv=3, scoring='f1_micro', verbose=VERBOSE,
                            n_jobs=-1)
search_mnist.fit(X_search, y_search)
t = time() - start

b_mnist, m_mnist = FullReport(search_mnist, X_test, y_test, t)
#@stub
search_mnist = None  # YOUR CODE HERE: your search (scoring='f1_micro'), fitted on X_search, y_search
b_mnist, m_mnist = None, None  # YOUR CODE HERE: FullReport(search_mnist, X_test, y_test, t)
#@end
print(b_mnist)
'''),
    answer(GS_QD, r'''
Linear models were the first try: an SGDClassifier on the raw pixels reaches a cross-validated
f1_micro of about 0.85-0.88, and it needs the pixels scaled to converge well. A k-nearest-neighbour
classifier needs no training and is strong on MNIST, but it is slow to predict on 784 pixels, so the
final pipeline scales the pixels to 0..1 (MinMaxScaler), compresses them with PCA and classifies
with KNN; the grid searches the number of PCA components (30 or 50), k (3 or 5) and uniform or
distance weights, 3-fold cross-validated. The best model (50 components, distance-weighted
neighbours) reaches an f1_micro of about 0.95 on 10000 training digits and on the test set; with
more training digits KNN keeps improving (about 0.97 on all of them), at the cost of a slower
prediction. Keeping the scaling inside the Pipeline makes the best estimator take raw pixels, so it
can be evaluated on new digits directly.
'''),
]


NAME = GS
CELLS = GRIDSEARCH

# group02-typical-mistakes: cell key -> [(old, new)] patches of the solution, each old text once
MISTAKES = {
    # the seed hand-in's grid: only three hyperparameters (one with a single value)
    "qb-sgd": [("""    'loss': ['hinge', 'log_loss', 'modified_huber'],
    'penalty': ['l2', 'l1', 'elasticnet'],
    'alpha': [1e-4, 1e-3, 1e-2, 1e-1],
    'average': [False, True],""", """    'alpha': [0.5, 1.0, 10.0],
    'average': [True, False],
    'n_iter_no_change': [1],""")],
}
# group02's own answers: None leaves the placeholder, "" leaves the cell empty
MISTAKE_ANSWERS = {
    GS_QA: "Grid search CV is used to find the best parameters for a model by trying many "
    "combinations. scoring f1_micro is the score used to rank them. n_jobs=-1 runs in parallel.",
    GS_QD: "We used a grid search with KNN and PCA and got 0.95.",
}
