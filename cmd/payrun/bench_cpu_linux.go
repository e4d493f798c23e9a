package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// clockTicks is the kernel's USER_HZ, the unit of CPU times in /proc (100
// on every Linux architecture Go supports).
const clockTicks = 100

// cpuSeconds returns the CPU time (user + system) this process used, and
// that of the PostgreSQL server with postmaster pid pm: the postmaster, its
// live children and the children it has reaped (backends that ended).
// The server's is 0 when pm is 0 or /proc cannot be read.
func cpuSeconds(pm int) (self, server float64) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		self = tvSeconds(ru.Utime) + tvSeconds(ru.Stime)
	}
	if pm <= 0 {
		return self, 0
	}
	f, ok := procStat(pm)
	if !ok {
		return self, 0
	}
	ticks := sumFields(f, 11, 15) // utime, stime, cutime, cstime
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return self, float64(ticks) / clockTicks
	}
	ppid := strconv.Itoa(pm)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if g, ok := procStat(pid); ok && len(g) > 1 && g[1] == ppid {
			ticks += sumFields(g, 11, 15)
		}
	}
	return self, float64(ticks) / clockTicks
}

func tvSeconds(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// procStat returns the fields of /proc/pid/stat after the command name
// (state is field 0, ppid field 1, utime field 11).
func procStat(pid int) ([]string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, false
	}
	return strings.Fields(s[i+1:]), true
}

func sumFields(f []string, from, to int) int64 {
	var n int64
	for i := from; i < to && i < len(f); i++ {
		v, _ := strconv.ParseInt(f[i], 10, 64)
		n += v
	}
	return n
}
