//go:build cgo && !noblas

package models

/*
#cgo LDFLAGS: -lopenblas
void openblas_set_num_threads(int);
char *openblas_get_corename(void);
*/
import "C"

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
	"gorgonia.org/gorgonia"
)

func init() {
	// The kernels split a batch over goroutines themselves, each calling a
	// small GEMM; OpenBLAS threads on top of that only contend for the cores.
	C.openblas_set_num_threads(1)
	blas32.Use(netlib.Implementation{})
	blas64.Use(netlib.Implementation{})
	gorgonia.Use(netlib.Implementation{})
	dotGEMMFollowsAlignment = false
	// The kernel OpenBLAS picked for this CPU (or OPENBLAS_CORETYPE): results
	// are the same bytes whatever the batch under each, not across them.
	BLASName = "OpenBLAS (cgo, " + C.GoString(C.openblas_get_corename()) + " kernel)"
}
