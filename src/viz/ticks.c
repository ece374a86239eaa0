/* Axis ticks and their labels. Tick values are built as integer * 10^k so
 * that 0.6 is the double nearest 0.6 (not 3 * 0.2), and labels are printed
 * with the digits the spacing calls for, never with the float's noise. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "svg.h"

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* m * 10^k correctly rounded while 10^|k| is exact: dividing by 10^3 rounds
 * once, where multiplying by 1e-3 (itself rounded) may not. */
static double scaled(double m, int k)
{
    if (k >= 0) return k <= 22 ? m * pow10_exact[k] : m * pow(10.0, k);
    return -k <= 22 ? m / pow10_exact[-k] : m * pow(10.0, k);
}

int dsc_format_fixed(char *buf, size_t size, double v, int decimals)
{
    if (decimals < 0) decimals = 0;
    if (decimals > 12) decimals = 12;
    if (!isfinite(v)) return snprintf(buf, size, "0");
    double scale = pow10_exact[decimals];
    double r = floor(fabs(v) * scale + 0.5);
    /* Beyond 2^53 the integer route loses digits; %g in the C locale is exact
     * enough there and still locale-proof. */
    if (r >= 9e15) return dsc_format_float(buf, size, v);
    unsigned long long u = (unsigned long long)r, s = (unsigned long long)scale;
    unsigned long long ip = u / s, fp = u % s;
    const char *sign = (v < 0 && u != 0) ? "-" : "";
    int nd = decimals;
    while (nd > 0 && fp % 10 == 0) {
        fp /= 10;
        nd--;
    }
    if (nd == 0) return snprintf(buf, size, "%s%llu", sign, ip);
    return snprintf(buf, size, "%s%llu.%0*llu", sign, ip, nd, fp);
}

/* A range of one value (or one that doubles cannot resolve) has no ticks:
 * give it some room around its value. */
static void widen(double *lo, double *hi, int log_scale)
{
    if (*lo > *hi) {
        double t = *lo;
        *lo = *hi;
        *hi = t;
    }
    if (log_scale) {
        if (log10(*hi) - log10(*lo) < 1e-9) {
            *lo /= 3.1622776601683795;
            *hi *= 3.1622776601683795;
        }
        return;
    }
    double mag = fmax(fabs(*lo), fabs(*hi));
    if (*hi - *lo <= mag * 1e-12) {
        double c = 0.5 * (*lo + *hi);
        double d = c == 0 ? 1.0 : fabs(c) * 0.1;
        *lo = c - d;
        *hi = c + d;
    }
}

static size_t linear_ticks(double lo, double hi, dsc_ticks *t)
{
    static const int mult[] = {1, 2, 5};
    double span = hi - lo;
    if (!(span > 0) || !isfinite(span)) return 0;
    /* Start ~100 ticks fine and coarsen: the first spacing with at most 8
     * ticks has at least 4, except going from 2 to 5 where 3 can remain. */
    int k = (int)floor(log10(span)) - 2;
    for (int round = 0; round < 8; round++, k++) {
        for (size_t j = 0; j < DSC_COUNT_OF(mult); j++) {
            double step = scaled(mult[j], k);
            double a = ceil(lo / step - 1e-9), b = floor(hi / step + 1e-9);
            if (b - a + 1 > 8) continue;
            t->n = 0;
            t->step = step;
            for (double i = a; i <= b && t->n < DSC_MAX_TICKS; i++) {
                double v = scaled(i * mult[j], k);
                t->v[t->n++] = v == 0 ? 0.0 : v; /* no "-0" */
            }
            return t->n;
        }
    }
    return 0;
}

static long floor_div(long a, long b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

static size_t log_ticks(double lo, double hi, dsc_ticks *t)
{
    static const long strides[] = {1, 2, 3, 5, 10, 20, 25, 50, 100};
    double a = log10(lo), b = log10(hi);
    long d0 = (long)ceil(a - 1e-9), d1 = (long)floor(b + 1e-9);
    if (d1 - d0 + 1 >= 3) {
        for (size_t s = 0; s < DSC_COUNT_OF(strides); s++) {
            long st = strides[s];
            long first = -floor_div(-d0, st), last = floor_div(d1, st);
            if (last - first + 1 > 8) continue;
            t->n = 0;
            t->step = 0;
            for (long d = first; d <= last; d++) t->v[t->n++] = scaled(1, (int)(d * st));
            return t->n;
        }
        return 0;
    }
    /* Fewer than three decades: 1, 2, 5 in each, or if even that is too
     * sparse, linear ticks (all positive, since lo > 0). */
    static const int mult[] = {1, 2, 5};
    t->n = 0;
    t->step = 0;
    for (long d = d0 - 1; d <= d1 && t->n < DSC_MAX_TICKS; d++) {
        for (size_t j = 0; j < DSC_COUNT_OF(mult) && t->n < DSC_MAX_TICKS; j++) {
            double v = scaled(mult[j], (int)d);
            if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) t->v[t->n++] = v;
        }
    }
    if (t->n >= 3 && t->n <= 8) return t->n;
    if (t->n > 8) {
        t->n = 0;
        for (long d = d0; d <= d1; d++) t->v[t->n++] = scaled(1, (int)d);
        return t->n;
    }
    return linear_ticks(lo, hi, t);
}

size_t dsc_nice_ticks(double lo, double hi, int log_scale, dsc_ticks *t)
{
    t->n = 0;
    t->step = 0;
    t->log = log_scale != 0;
    if (!isfinite(lo) || !isfinite(hi)) return 0;
    if (log_scale && (lo <= 0 || hi <= 0)) return 0;
    widen(&lo, &hi, log_scale);
    if (!isfinite(lo) || !isfinite(hi)) return 0;
    return log_scale ? log_ticks(lo, hi, t) : linear_ticks(lo, hi, t);
}

/* UTF-8 superscript digits, so "10⁻⁶" needs no tspan tricks that renderers
 * place differently. */
static void put_superscript(char *buf, size_t size, long e)
{
    static const char *const digit[] = {
        "\xE2\x81\xB0", "\xC2\xB9",     "\xC2\xB2",     "\xC2\xB3",     "\xE2\x81\xB4",
        "\xE2\x81\xB5", "\xE2\x81\xB6", "\xE2\x81\xB7", "\xE2\x81\xB8", "\xE2\x81\xB9"};
    char num[24];
    snprintf(num, sizeof num, "%ld", e < 0 ? -e : e);
    size_t len = strlen(buf);
    if (e < 0 && len + 4 < size) {
        memcpy(buf + len, "\xE2\x81\xBB", 4);
        len += 3;
    }
    for (const char *p = num; *p; p++) {
        const char *d = digit[*p - '0'];
        size_t dl = strlen(d);
        if (len + dl + 1 > size) break;
        memcpy(buf + len, d, dl + 1);
        len += dl;
    }
}

/* mantissa x 10^e; a bare power of ten on log axes, where all ticks are. */
static void format_power(char *buf, size_t size, double mantissa, int mdec, long e, int bare)
{
    buf[0] = '\0';
    char m[40];
    dsc_format_fixed(m, sizeof m, mantissa, mdec);
    if (!bare || strcmp(m, "1") != 0) snprintf(buf, size, "%s\xC3\x97", m);
    size_t len = strlen(buf);
    if (len + 3 <= size) memcpy(buf + len, "10", 3);
    put_superscript(buf, size, e);
}

void dsc_tick_label(const dsc_ticks *t, size_t i, char *buf, size_t size)
{
    if (!buf || size == 0) return;
    buf[0] = '\0';
    if (i >= t->n) return;
    double v = t->v[i];
    double amax = 0, amin = HUGE_VAL;
    for (size_t j = 0; j < t->n; j++) {
        amax = fmax(amax, fabs(t->v[j]));
        if (t->v[j] != 0) amin = fmin(amin, fabs(t->v[j]));
    }
    if (t->step > 0) {
        int k = (int)floor(log10(t->step) + 1e-9);
        if (amax < 1e6 && k >= -5) {
            dsc_format_fixed(buf, size, v, -k);
            return;
        }
        if (v == 0) {
            snprintf(buf, size, "0");
            return;
        }
        /* Each label its own exponent: "2×10⁻⁷", never "0.2×10⁻⁶". */
        long e = (long)floor(log10(fabs(v)) + 1e-9);
        int mdec = (int)(e - k);
        if (mdec < 0) mdec = 0;
        if (mdec > 8) mdec = 8;
        format_power(buf, size, v / scaled(1, (int)e), mdec, e, 0);
        return;
    }
    /* Each value is m * 10^k; a whole axis is either plain or in powers. */
    long k = (long)floor(log10(v) + 1e-9);
    double m = floor(v / scaled(1, (int)k) + 0.5);
    if (amax < 1e6 && amin >= 1e-4) {
        dsc_format_fixed(buf, size, v, k < 0 ? (int)-k : 0);
        return;
    }
    format_power(buf, size, m, 0, k, 1);
}
