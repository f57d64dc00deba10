// Command hello is rungo's first-run example: `rungo run ./examples/hello [name]`.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
)

func main() {
	name := "world"
	if len(os.Args) > 1 {
		name = os.Args[1]
	}
	fmt.Printf("hello, %s!\n", name)
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Printf("built by %s from module %s\n", bi.GoVersion, bi.Main.Path)
	}
}
