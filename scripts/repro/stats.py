"""Mean, standard deviation and Welch's t-test with the standard library only (no scipy).

The two-sided p-value of Student's t with df degrees of freedom is the regularized incomplete beta function
I_x(df/2, 1/2) at x = df / (df + t^2), evaluated with the continued fraction of Numerical Recipes (betacf).
"""
import math

ALPHA = 0.05


def mean(xs):
    return sum(xs) / len(xs)


def std(xs):
    """Sample standard deviation (n - 1); 0 for a single value."""
    if len(xs) < 2:
        return 0.0
    m = mean(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def _betacf(a, b, x):
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a, b, x):
    """The regularized incomplete beta function I_x(a, b), 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_two_sided_p(t, df):
    """P(|T| >= |t|) for Student's t with df (> 0, not necessarily whole) degrees of freedom."""
    if math.isinf(t):
        return 0.0
    return betainc(df / 2.0, 0.5, df / (df + t * t))


def t_quantile(p, df):
    """The t with P(T <= t) = p (0.5 < p < 1), by bisection on the two-sided p-value."""
    target = 2.0 * (1.0 - p)
    lo, hi = 0.0, 1.0
    while t_two_sided_p(hi, df) > target:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_two_sided_p(mid, df) > target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


class Welch:
    """Welch's unequal-variance t-test of mean(a) - mean(b); None fields where a side has fewer than 2 values."""

    def __init__(self, a, b):
        self.diff = mean(a) - mean(b)
        self.t = self.df = self.p = self.ci = None
        if len(a) < 2 or len(b) < 2:
            return
        va, vb = std(a) ** 2 / len(a), std(b) ** 2 / len(b)
        se2 = va + vb
        if se2 == 0.0:
            self.t = 0.0 if self.diff == 0 else math.copysign(math.inf, self.diff)
            self.df = float(len(a) + len(b) - 2)
            self.p = 1.0 if self.diff == 0 else 0.0
            self.ci = (self.diff, self.diff)
            return
        se = math.sqrt(se2)
        self.t = self.diff / se
        self.df = se2 * se2 / (va * va / (len(a) - 1) + vb * vb / (len(b) - 1))
        self.p = t_two_sided_p(self.t, self.df)
        half = t_quantile(1.0 - ALPHA / 2.0, self.df) * se
        self.ci = (self.diff - half, self.diff + half)

    @property
    def significant(self):
        return self.p is not None and self.p < ALPHA

    def verdict(self, lower_is_better=True):
        if self.p is None:
            return "too few seeds to tell (need 2+ per row)"
        if not self.significant:
            return f"within noise (p = {self.p:.2f})"
        better = (self.diff < 0) == lower_is_better
        p = "p < 0.001" if self.p < 0.001 else f"p = {self.p:.3f}"
        return f"{'better' if better else 'worse'} ({p})"
