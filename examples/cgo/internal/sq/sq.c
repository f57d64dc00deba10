#include "sq.h"

int square(int x) { return x * x; }
