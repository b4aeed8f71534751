"""Notebook source of the mlp_moon exercise: cells once, for stub and solution.

Variable-name contract with grader_journal2/mlp_moon.py:
  setup (given): X, y, X_train, X_test, y_train, y_test, y_train_binary, y_test_binary, and the
                 course's Adam model `model` (trained, EPOCHS = 35) with its `score`
  Qa: model_sgd           a fitted Keras model trained with keras.optimizers.SGD
  Qb: y_train_onehot      the student's own one-hot encoding of y_train, shape (1400, 2)
      score_categorical   Keras' categorical_accuracy of `model` on (X_test, y_test_binary)
      score_argmax        the plain accuracy of argmax(model.predict(X_test)) against y_test
  Qc: model_tuned         a fitted Keras model (the student's tuned MLP); a figure
"""

from ._cells import answer, code, intro, md, setup

# --------------------------------------------------------------------------------------------
# Exercise: Keras MLP on the moons (L09/mlp_moon)
# --------------------------------------------------------------------------------------------

MM = "mlp_moon"
MM_QA, MM_QB, MM_QC = (f"{MM}.q{c}" for c in "abc")

MLP_MOON = [
    md("intro", intro("Multi-layer Perceptrons (MLP) in Keras on the Moons", "L09/mlp_moon",
                      "\nThe data set is the two-moons data (2000 points, noise 0.20), split 70/30 "
                      "into a training and a test set. The models are Keras 3 models: the course's "
                      "code of 2019 (`Dense(input_dim=2, ...)`, `Adam(lr=0.1)`, "
                      "`kernel_initializer=\"normal\"`) is written here as `Input(shape=(2,))`, "
                      "`Adam(learning_rate=0.1)` and `kernel_initializer=\"random_normal\"`.\n\n"
                      "The grader judges your models on moons it draws itself, which your notebook "
                      "never sees: keep the names `model_sgd` (Qa) and `model_tuned` (Qc).")),
    setup(MM, "setup", r'''
# Setup (do not modify): imports, the moon data, one-hot labels and plotting helpers
import numpy as np
import matplotlib.pyplot as plt
from time import time
from sklearn import datasets
from sklearn.model_selection import train_test_split
import keras
from keras.models import Sequential
from keras.layers import Dense, Input
from keras.optimizers import SGD, Adam
from keras.utils import to_categorical
from libitmal import profile  # the grader's quick/full profile; you do not need it yourself

X, y = datasets.make_moons(2000, noise=0.20, random_state=42)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=42)

y_train_binary = to_categorical(y_train)
y_test_binary = to_categorical(y_test)

assert y.ndim == 1
assert y_train_binary.ndim == 2
assert y_test_binary.ndim == 2
print(f"X_train: {X_train.shape}, X_test: {X_test.shape}, y_train_binary: {y_train_binary.shape}")


def plot_decision_boundary(model, X, y, ax, resolution=200):
    """Colour the plane by the model's predicted class (the argmax of its output)."""
    pad = 0.5
    x0 = np.linspace(X[:, 0].min() - pad, X[:, 0].max() + pad, resolution)
    x1 = np.linspace(X[:, 1].min() - pad, X[:, 1].max() + pad, resolution)
    xx0, xx1 = np.meshgrid(x0, x1)
    out = np.asarray(model.predict(np.c_[xx0.ravel(), xx1.ravel()], batch_size=4096, verbose=0))
    labels = out.argmax(axis=1) if out.ndim == 2 and out.shape[1] > 1 else (out.ravel() > 0.5)
    ax.contourf(xx0, xx1, labels.reshape(xx0.shape), alpha=0.3, cmap=plt.cm.brg)
    ax.plot(X[y == 0, 0], X[y == 0, 1], "bs", markersize=2, label="class 0")
    ax.plot(X[y == 1, 0], X[y == 1, 1], "g^", markersize=2, label="class 1")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$", rotation=0)
    ax.legend(loc="upper right")


def plot_results(model, history, title=""):
    """Decision boundary on the test data, accuracy-vs-epoch and loss-vs-epoch."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    plot_decision_boundary(model, X_test, y_test, axes[0])
    axes[0].set_title(f"{title}: decision boundary (test data)")
    h = history.history
    for ax, key in ((axes[1], "categorical_accuracy"), (axes[2], "loss")):
        if key in h:
            ax.plot(h[key], label="train")
        if "val_" + key in h:
            ax.plot(h["val_" + key], label="test")
        ax.set_xlabel("epoch")
        ax.set_title(f"{title}: {key}")
        ax.legend()
    plt.tight_layout()
    plt.show()
'''),
    md("model-intro", r'''
### The course's model

Run the cell below and inspect the plots. It builds the course's MLP: 8 `tanh` neurons, a
`softmax` output of two neurons (one per class), trained for 35 epochs with the `Adam` optimizer
and `learning_rate=0.1`.
'''),
    setup(MM, "model", r'''
# The course's model (do not modify): trained with Adam(learning_rate=0.1) for 35 epochs
VERBOSE = 0
EPOCHS = 35

model = Sequential([
    Input(shape=(2,)),
    Dense(units=8, activation="tanh", kernel_initializer="random_normal"),
    Dense(units=2, activation="softmax"),
])
optimizer = Adam(learning_rate=0.1)
model.compile(loss="categorical_crossentropy", optimizer=optimizer,
              metrics=["categorical_accuracy", "mean_squared_error", "mean_absolute_error"])

start = time()
history = model.fit(X_train, y_train_binary, validation_data=(X_test, y_test_binary),
                    epochs=EPOCHS, verbose=VERBOSE)
t = time() - start
print(f"OK, training time={t:0.1f} s")

score = model.evaluate(X_test, y_test_binary, verbose=0)
print(f"Test loss:     {score[0]:.4f}")
print(f"Test accuracy: {score[1]:.4f}")
print(f"All scores (loss, categorical_accuracy, mean_squared_error, mean_absolute_error): {score}")
plot_results(model, history, "Adam(learning_rate=0.1)")
'''),
    md("qa", r'''
## Qa Using SGD instead of Adam

Now, change the optimizer from `Adam` to our well-known `SGD` method, using

```python
optimizer = SGD(learning_rate=0.1)
```

instead of `Adam(learning_rate=0.1)`: build the same model once more in the cell below, as a new
model `model_sgd`, compile it with the SGD optimizer and fit it on the training data.

Does it still produce a good score, in form of the `categorical_accuracy`? (With 35 epochs the
accuracy drops to about 0.88, and the decision boundary looks like a straight line.)

Find a way to make the `SGD` produce a result similar to the `Adam` optimizer: maybe you need to
crank up the number of epochs during training, or change other hyperparameters of `SGD`?

Keep the final, fitted model in `model_sgd` (it must use `keras.optimizers.SGD`). The grader
measures its accuracy on moons it draws itself, which your notebook never sees, and compares it
with the accuracy the course's Adam model above reaches on the same moons (at most 0.02 less is
fine). Plot the results with `plot_results(model_sgd, history_sgd, "SGD")`.
'''),
    code(MM_QA, "qa-sgd", r'''
#@solution
# SGD with learning_rate=0.1 sits on a flat plateau of the loss for hundreds of epochs (a
# straight-line boundary at about 0.88). Momentum and a larger step leave it after ~10 epochs.
EPOCHS_SGD = profile.choose(quick=40, full=150)

model_sgd = Sequential([
    Input(shape=(2,)),
    Dense(units=8, activation="tanh", kernel_initializer="random_normal"),
    Dense(units=2, activation="softmax"),
])
model_sgd.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.3, momentum=0.9),
                  metrics=["categorical_accuracy", "mean_squared_error", "mean_absolute_error"])

start = time()
history_sgd = model_sgd.fit(X_train, y_train_binary, validation_data=(X_test, y_test_binary),
                            epochs=EPOCHS_SGD, verbose=VERBOSE)
print(f"OK, training time={time() - start:0.1f} s for {EPOCHS_SGD} epochs")

score_sgd = model_sgd.evaluate(X_test, y_test_binary, verbose=0)
print(f"SGD test accuracy: {score_sgd[1]:.4f} (Adam: {score[1]:.4f})")
plot_results(model_sgd, history_sgd, "SGD")
#@stub
model_sgd = None  # YOUR CODE HERE
#@end
'''),
    answer(MM_QA, r'''
With `SGD(learning_rate=0.1)` and 35 epochs the score is poor: the categorical accuracy drops to
about 0.88 and the decision boundary is a straight line. The weights start small
("random_normal" initialisation), where the loss surface is an extremely flat plateau, and plain
SGD with a small step takes hundreds of epochs to leave it (even 200 epochs are not enough here).
Adam adapts the step size per weight and escapes the plateau within a few epochs. To make SGD
match Adam we gave it momentum (0.9), which accumulates the small but consistent gradients on
the plateau, a larger learning rate (0.3), and more epochs (150 instead of 35): the boundary then
bends around the moons and the test accuracy reaches about 0.96, as good as Adam's 0.94, also on
moons the model has never seen.
'''),
    md("qb", r'''
## Qb The one-hot encoding and the categorical accuracy

It is customary practice to convert both binary and multiclass classification labels to a one-hot
encoding.

Explain one-hot encoding and the

```python
y_train_binary = to_categorical(y_train)
y_test_binary = to_categorical(y_test)
```

and the used categorical metric (compare it to our well-known accuracy function),

```python
metrics=['categorical_accuracy', ...
```

NOTE: Keras' `categorical_accuracy` is implemented as

```python
def categorical_accuracy(y_true, y_pred):
    return K.cast(K.equal(K.argmax(y_true, axis=-1), K.argmax(y_pred, axis=-1)), K.floatx())
```

In the cell below

* make your own one-hot encoding of `y_train` with numpy only (no `to_categorical`), and store it
  in `y_train_onehot`;
* store the `categorical_accuracy` that Keras reports for the course's Adam `model` on the test
  data (`X_test`, `y_test_binary`) in `score_categorical`;
* store the ordinary accuracy of the class predictions `argmax(model.predict(X_test))` against
  `y_test` in `score_argmax`.
'''),
    code(MM_QB, "qb-onehot", r'''
#@solution
y_train_onehot = np.zeros((len(y_train), 2))
y_train_onehot[np.arange(len(y_train)), y_train] = 1
print("to_categorical and our own encoding agree:", np.array_equal(y_train_onehot, y_train_binary))
print("first labels:", y_train[:3], "\none-hot:\n", y_train_onehot[:3])

loss, score_categorical, mse, mae = model.evaluate(X_test, y_test_binary, verbose=0)
y_pred = np.argmax(model.predict(X_test, verbose=0), axis=1)
score_argmax = np.mean(y_pred == y_test)
print(f"categorical_accuracy = {score_categorical:.6f}, argmax accuracy = {score_argmax:.6f}")
#@stub
y_train_onehot = None  # YOUR CODE HERE
score_categorical = None  # YOUR CODE HERE
score_argmax = None  # YOUR CODE HERE
#@end
'''),
    answer(MM_QB, r'''
One-hot encoding turns a class label into a vector with one entry per class: all zeros except a
one at the index of the class, so label 0 becomes [1, 0] and label 1 becomes [0, 1] (with ten
classes, label 3 becomes [0,0,0,1,0,0,0,0,0,0]). `to_categorical(y_train)` does exactly this and
returns an (n, number of classes) matrix; it matches the network's output layer, which has one
softmax neuron per class giving the probability of that class, so the categorical cross-entropy
loss can compare the two vectors directly. It also avoids pretending that the classes are ordered
numbers. The `categorical_accuracy` takes the argmax of the true one-hot vector and of the
predicted probability vector and counts how often they are equal: it is our usual accuracy
(the fraction of correctly classified samples) of the predicted class `argmax(model.predict(X))`,
and the two numbers printed above are identical.
'''),
    md("qc", r'''
## Qc Tuning the model

Now, try to optimize the model by

* increasing/decreasing the number of epochs,
* adding more neurons per layer,
* adding whole new layers,
* changing the activation functions in the layers,
* changing the output activation from `activation="softmax"` to something else.

Comment on your changes, and relate the resulting accuracy, accuracy-vs-epochs, loss-vs-epoch and
decision boundary plots (use `plot_results`) to your changes, i.e. try to get a feeling of what
happens when you modify the model hyperparameters.

Keep your best model, fitted, in `model_tuned`: the grader measures its accuracy on moons it draws
itself, like in Qa (at most 0.02 less than the course's Adam model is fine).

NOTE: Many times the model seems to get stuck on an extreme flat loss plateau, and the decision
boundary displays just a 'dumb' straight line through the moons!

OPTIONAL: should the moon data be standardized or normalized to say range `[-1;1]` in both
**x**-dimensions? Will it help, or is the data OK as-is?
'''),
    code(MM_QC, "qc-tuned", r'''
#@solution
model_tuned = Sequential([
    Input(shape=(2,)),
    Dense(units=32, activation="relu"),
    Dense(units=32, activation="relu"),
    Dense(units=2, activation="softmax"),
])
model_tuned.compile(loss="categorical_crossentropy", optimizer=Adam(learning_rate=0.01),
                    metrics=["categorical_accuracy", "mean_squared_error", "mean_absolute_error"])

start = time()
history_tuned = model_tuned.fit(X_train, y_train_binary, validation_data=(X_test, y_test_binary),
                                epochs=EPOCHS, verbose=VERBOSE)
print(f"OK, training time={time() - start:0.1f} s")

score_tuned = model_tuned.evaluate(X_test, y_test_binary, verbose=0)
print(f"tuned test accuracy: {score_tuned[1]:.4f} (course's Adam model: {score[1]:.4f})")
plot_results(model_tuned, history_tuned, "2x32 relu, Adam(0.01)")
#@stub
model_tuned = None  # YOUR CODE HERE
#@end
'''),
    answer(MM_QC, r'''
The course's model (8 tanh neurons, Adam with learning rate 0.1, 35 epochs) reaches about 0.94,
but its accuracy curve jumps up and down: a learning rate of 0.1 is large for Adam, so the weights
keep overshooting. With fewer epochs (5 or 10) it has not yet left the loss plateau and the
boundary is a straight line (about 0.88). Two hidden layers of 32 relu neurons with a smaller
learning rate (Adam, 0.01) give a smooth, curved boundary that follows the moons, a steadily
falling loss and a test accuracy of about 0.97 within the same 35 epochs. A sigmoid output works
almost as well as the softmax (about 0.95), but a relu output breaks the categorical
cross-entropy: its outputs are no longer probabilities, the loss becomes NaN and the accuracy
stays at 0.49, a 'dumb' constant guess; a linear output is even worse. Standardizing the inputs
is not needed here: both features already lie in about [-1; 2], on the same scale.
'''),
]


NAME = MM
CELLS = MLP_MOON

# group02-typical-mistakes: cell key -> [(old, new)] patches of the solution, each old text once
MISTAKES = {
    # only the optimizer was switched: plain SGD(0.1) for 35 epochs stays on the plateau (~0.87)
    "qa-sgd": [
        ("EPOCHS_SGD = profile.choose(quick=40, full=150)", "EPOCHS_SGD = EPOCHS"),
        ("SGD(learning_rate=0.3, momentum=0.9)", "SGD(learning_rate=0.1)"),
    ],
}
# group02's own answers: None leaves the placeholder, "" leaves the cell empty
MISTAKE_ANSWERS = {
    MM_QA: "With SGD the accuracy is a bit lower than with Adam, but SGD is the simpler optimizer "
    "and the result is fine.",
    MM_QB: "One-hot encoding makes a vector with a 1 for the right class and 0 for the others. "
    "categorical_accuracy is the same as accuracy.",
    MM_QC: None,
}
