/* A program built against an exported model (tests/cli_export.sh): reads
 * rows of comma-separated inputs from standard input and prints, per row,
 * the outputs of NAME_predict with nine significant digits (enough to
 * give back the same float), and for a classifier the class NAME_class
 * picks. Built with -DNAME=prefix -DHEADER='"prefix.h"' and, like a user's
 * program, with nothing but the two exported files. */
#include <stdio.h>
#include <stdlib.h>

#include HEADER

#define CAT_(a, b) a##b
#define CAT(a, b)  CAT_(a, b)
#define SYM(x)     CAT(NAME, x)

int main(void)
{
    static float in[SYM(_INPUTS)];
    float out[SYM(_OUTPUTS)];
    size_t rows = 0;
    for (;;) {
        int c = 0;
        for (size_t j = 0; j < SYM(_INPUTS); j++) {
            double v;
            if (scanf(j ? " ,%lf" : " %lf", &v) != 1) {
                if (j == 0 && feof(stdin)) goto done;
                fprintf(stderr, "row %zu: cannot read input %zu\n", rows + 1, j + 1);
                return 1;
            }
            in[j] = (float)v;
        }
        SYM(_predict)(in, out);
        for (size_t j = 0; j < SYM(_OUTPUTS); j++) printf("%s%.9g", j ? "," : "", (double)out[j]);
#ifdef CLASSIFIER
        c = SYM(_class)(in);
        printf(",%d", c);
        (void)SYM(_CLASSES)[0];
#endif
        (void)c;
        printf("\n");
        rows++;
    }
done:
    (void)SYM(_INPUT_NAMES)[0];
    return 0;
}
