"""Small course utilities, and the search helpers of L07/gridsearch (fixed for today's libraries).

`LoadAndSetupData(mode, test_size=0.3)` loads 'iris', 'moon' or 'mnist' and splits it with
random_state=0 (no scaling); `FullReport(model, X_test, y_test, t)` prints the report of a fitted
GridSearchCV or RandomizedSearchCV and returns ("best: dat=<mode>, score=<0.5f>, model=...",
best_estimator_). It insists on scoring='f1_micro', so that Search Quest scores can be compared.
"""


def AssertInRange(x, expected, eps=1e-9, autoconverttofloat=True):
    """Assert |x - expected| <= eps, with a message that gives both and the difference."""
    if autoconverttofloat:
        x, expected = float(x), float(expected)
    diff = abs(x - expected)
    assert diff <= eps, f"x={x} is not within {eps} of expected={expected} (difference {diff})"


# --------------------------------------------------------------------------------------------
# L07/gridsearch: data setup and search reports
# --------------------------------------------------------------------------------------------

# The data mode of the last LoadAndSetupData call; FullReport names it in its result string.
currmode = "N/A"


def _shape_to_string(Z):
    return "(" + ";".join(f"{d:5d}" for d in Z.shape) + ")"


def LoadAndSetupData(mode, test_size=0.3):
    """X_train, X_test, y_train, y_test of 'iris' (150 flowers), 'moon' (5000 points, noise
    0.2) or 'mnist' (every digit MNIST_GetDataSet returns, 784 raw pixels 0..255), split with
    train_test_split(test_size=test_size, random_state=0, shuffle=True); nothing is scaled."""
    import numpy as np
    from sklearn.model_selection import train_test_split

    from . import dataloaders_v2 as itmaldataloaders

    global currmode
    assert 0.0 <= test_size <= 1.0, f"test_size must be in [0; 1], got {test_size}"
    if mode == "moon":
        X, y = itmaldataloaders.MOON_GetDataSet(n_samples=5000, noise=0.2)
    elif mode == "mnist":
        X, y = itmaldataloaders.MNIST_GetDataSet(load_mode=0)
        if X.ndim == 3:
            X = np.reshape(X, (X.shape[0], -1))
    elif mode == "iris":
        X, y = itmaldataloaders.IRIS_GetDataSet()
    else:
        raise ValueError(f"really? you gotta be kiddin', data mode={mode} not understood")
    currmode = mode
    print(f"DATA: {currmode}..")
    print(f"  org. data:  X.shape      ={_shape_to_string(X)}, y.shape      ={_shape_to_string(y)}")

    assert X.ndim == 2
    assert X.shape[0] == y.shape[0]
    assert y.ndim == 1

    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size, random_state=0,
                                                        shuffle=True)
    print(f"  train data: X_train.shape={_shape_to_string(X_train)}, y_train.shape={_shape_to_string(y_train)}")
    print(f"  test data:  X_test.shape ={_shape_to_string(X_test)}, y_test.shape ={_shape_to_string(y_test)}")
    print()
    return X_train, X_test, y_train, y_test


def _best_model_ctor(model, best_params):
    """'<Class>(k=v,...)' of the searched estimator with the best parameters, keys sorted."""
    def value(v):
        return f"'{v}'" if isinstance(v, str) else f"{v}"

    try:
        params = ",".join(f"{key}={value(best_params[key])}" for key in sorted(best_params))
        return f"{type(model).__name__}({params})"
    except Exception:
        return "N/A(1)"


def SearchReport(model):
    """Print the best parameters, score and index, and every candidate's mean (+/-2 std) CV
    score, of a fitted search; return (the 'best: ...' string, the best estimator)."""
    print("\nBest model set found on train set:")
    print()
    print(f"\tbest parameters={model.best_params_}")
    print(f"\tbest '{model.scoring}' score={model.best_score_}")
    print(f"\tbest index={model.best_index_}")
    print()
    print("Best estimator CTOR:")
    print(f"\t{model.best_estimator_}")
    print()
    try:
        print(f"Grid scores ('{model.scoring}') on development set:")
        means = model.cv_results_["mean_test_score"]
        stds = model.cv_results_["std_test_score"]
        for i, (mean, std, params) in enumerate(zip(means, stds, model.cv_results_["params"])):
            print("\t[%2d]: %0.3f (+/-%0.03f) for %r" % (i, mean, std * 2, params))
    except Exception:
        print("WARNING: the search does not provide means/stds")

    assert str(model.scoring) == "f1_micro", (
        "come on, we need to fix the scoring to be able to compare model-fits! "
        f"Your scoring={model.scoring}...remember to add scoring='f1_micro' to the search")
    best = (f"best: dat={currmode}, score={model.best_score_:0.5f}, "
            f"model={_best_model_ctor(model.estimator, model.best_params_)}")
    return best, model.best_estimator_


def ClassificationReport(model, X_test, y_test, target_names=None):
    """Print scikit-learn's classification report of `model` on the test data."""
    from sklearn.metrics import classification_report

    assert X_test.shape[0] == y_test.shape[0]
    print("\nDetailed classification report:")
    print("\tThe model is trained on the full development set.")
    print("\tThe scores are computed on the full evaluation set.")
    print()
    y_true, y_pred = y_test, model.predict(X_test)
    print(classification_report(y_true, y_pred, target_names=target_names))
    print()


def FullReport(model, X_test, y_test, t):
    """The course's report of a fitted GridSearchCV/RandomizedSearchCV `model` that took `t`
    seconds; returns ("best: dat=<mode>, score=<best_score_:0.5f>, model=<Class>(k=v,...)",
    model.best_estimator_). Insists on scoring='f1_micro'."""
    print(f"SEARCH TIME: {t:0.2f} sec")
    beststr, bestmodel = SearchReport(model)
    ClassificationReport(model, X_test, y_test)
    print(f"CTOR for best model: {bestmodel}\n")
    print(f"{beststr}\n")
    return beststr, bestmodel
