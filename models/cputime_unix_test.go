//go:build unix

package models

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) this process has used: beside
// the wall time, it shows how much work a step is, which other programs on
// the machine disturb less than the wall time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
