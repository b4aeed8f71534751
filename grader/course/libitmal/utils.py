"""Small course utilities."""


def AssertInRange(x, expected, eps=1e-9, autoconverttofloat=True):
    """Assert |x - expected| <= eps, with a message that gives both and the difference."""
    if autoconverttofloat:
        x, expected = float(x), float(expected)
    diff = abs(x - expected)
    assert diff <= eps, f"x={x} is not within {eps} of expected={expected} (difference {diff})"
