// Package sq squares numbers in C.
package sq

// #include "sq.h"
import "C"

// Square returns x*x, computed by the C function square.
func Square(x int) int { return int(C.square(C.int(x))) }
