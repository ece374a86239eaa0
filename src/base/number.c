/* Numbers as text, independent of LC_NUMERIC: a comma-decimal locale must
 * not change what a model file or a CSV means. */
#define _POSIX_C_SOURCE 200809L
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

/* Runs strtod / snprintf with the "C" locale for this thread only. */
static locale_t enter_c_locale(void)
{
    pthread_once(&c_locale_once, make_c_locale);
    return c_locale ? uselocale(c_locale) : (locale_t)0;
}

static void leave_c_locale(locale_t old)
{
    if (old) uselocale(old);
}

int dsc_format_float(char *buf, size_t size, double v)
{
    locale_t old = enter_c_locale();
    int n = 0;
    /* The fewest digits (up to 9) that give back the same float. */
    for (int prec = 6; prec <= 9; prec++) {
        n = snprintf(buf, size, "%.*g", prec, v);
        if (n < 0 || (size_t)n >= size) break;
        if ((float)strtod(buf, NULL) == (float)v) break;
    }
    leave_c_locale(old);
    return n;
}

int dsc_format_double(char *buf, size_t size, double v)
{
    locale_t old = enter_c_locale();
    int n = 0;
    for (int prec = 9; prec <= 17; prec++) {
        n = snprintf(buf, size, "%.*g", prec, v);
        if (n < 0 || (size_t)n >= size) break;
        if (strtod(buf, NULL) == v) break;
    }
    leave_c_locale(old);
    return n;
}

static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

int dsc_parse_double(const char *s, const char **end, double *out)
{
    const char *p = s;
    int neg = 0;
    if (*p == '+' || *p == '-') neg = (*p++ == '-');
    /* Fast path (Clinger): up to 19 significant digits and a power of ten
     * that is exact in double give a correctly rounded result with one
     * multiplication or division. */
    uint64_t mant = 0;
    int digits = 0, frac_digits = 0, any = 0;
    while (*p >= '0' && *p <= '9') {
        if (digits < 19) {
            mant = mant * 10 + (uint64_t)(*p - '0');
            if (mant) digits++;
        } else {
            frac_digits--; /* digit dropped: scale up instead */
        }
        p++;
        any = 1;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (digits < 19) {
                mant = mant * 10 + (uint64_t)(*p - '0');
                if (mant) digits++;
                frac_digits++;
            }
            p++;
            any = 1;
        }
    }
    if (!any) goto slow; /* inf, nan, hex, or not a number at all */
    int exp10 = 0;
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;
        int eneg = 0;
        if (*q == '+' || *q == '-') eneg = (*q++ == '-');
        if (*q < '0' || *q > '9') goto done; /* "1e" reads as 1, like strtod */
        while (*q >= '0' && *q <= '9') {
            if (exp10 < 100000) exp10 = exp10 * 10 + (*q - '0');
            q++;
        }
        if (eneg) exp10 = -exp10;
        p = q;
    }
done:;
    int e = exp10 - frac_digits;
    if (digits <= 15 && mant < (1ULL << 53) && e >= -22 && e <= 22) {
        double v = (double)mant;
        v = e < 0 ? v / pow10_exact[-e] : v * pow10_exact[e];
        *out = neg ? -v : v;
        if (end) *end = p;
        return 0;
    }
slow:;
    locale_t old = enter_c_locale();
    char *q;
    double v = strtod(s, &q);
    leave_c_locale(old);
    if (q == s) return -1;
    *out = v;
    if (end) *end = q;
    return 0;
}
