// Command cgo prints a square computed by C code of its own module.
package main

import (
	"fmt"

	"example.com/cgo/internal/sq"
)

func main() {
	fmt.Println("7 squared in C:", sq.Square(7))
}
