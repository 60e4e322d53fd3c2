// Command ckpt writes the checkpoint the end-to-end sampling benchmark of
// bench/compare.sh draws from: an untrained class-conditional diffusion
// network of the reference UNet's widths (bench.ClassCheckpoint).
//
//	go run ./bench/ckpt OUT.safetensors
package main

import (
	"fmt"
	"os"

	"genlab/bench"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: ckpt OUT.safetensors")
		os.Exit(2)
	}
	if _, err := bench.ClassCheckpoint(os.Args[1], "small", 1); err != nil {
		fmt.Fprintln(os.Stderr, "ckpt:", err)
		os.Exit(1)
	}
}
