"""Notebook source of the perceptron exercise: cells once, for stub and solution."""

from ._cells import answer, code, intro, md, setup

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


NAME = PC
CELLS = PERCEPTRON

# group02-typical-mistakes: cell key -> [(old, new)] patches of the solution, each old text once
MISTAKES = {
    # the 'optimal' learning rate is not perceptron compatible: the scores differ
    "qd-compare": [("learning_rate='constant'", "learning_rate='optimal'")],
}
# group02's own answers: None leaves the placeholder, "" leaves the cell empty
MISTAKE_ANSWERS = {
    PC_QA: "The default metric is the accuracy. We get 0.84 on the test set.",
    PC_QC: "",
    PC_QD: "Both use accuracy as score so they can be compared. The scores are not the same "
    "(0.803 for SGD and 0.857 for the Perceptron), so SGD is not exactly the same algorithm "
    "as the Perceptron.",
}
