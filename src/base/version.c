#include "base.h"

const char *dsc_version(void) { return DSC_VERSION_STRING; }
