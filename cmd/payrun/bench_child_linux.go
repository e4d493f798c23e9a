package main

import "syscall"

// childProcAttr puts a bench worker in its own process group (the bench
// alone stops it, also on Ctrl-C) and has the kernel kill it when the
// bench dies without stopping it (SIGKILL of the bench). Pdeathsig is tied
// to the OS thread that started the child; the Go runtime does not end
// threads of goroutines that are not locked to them.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
