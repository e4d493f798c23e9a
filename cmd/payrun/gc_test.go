package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestTuneGC: the collector defaults apply only where GOGC and GOMEMLIMIT
// are unset.
func TestTuneGC(t *testing.T) {
	oldPercent := debug.SetGCPercent(100)
	oldLimit := debug.SetMemoryLimit(math.MaxInt64)
	defer func() { debug.SetGCPercent(oldPercent); debug.SetMemoryLimit(oldLimit) }()

	tuneGC(func(string) string { return "" })
	if p := debug.SetGCPercent(100); p != defaultGCPercent {
		t.Errorf("GC percent %d, want %d", p, defaultGCPercent)
	}
	if l := debug.SetMemoryLimit(-1); l != defaultMemoryLimit {
		t.Errorf("memory limit %d, want %d", l, defaultMemoryLimit)
	}

	debug.SetMemoryLimit(math.MaxInt64)
	tuneGC(func(k string) string { return map[string]string{"GOGC": "50", "GOMEMLIMIT": "1GiB"}[k] })
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("GOGC set: GC percent changed to %d", p)
	}
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		t.Errorf("GOMEMLIMIT set: memory limit changed to %d", l)
	}
}
