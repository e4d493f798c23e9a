//go:build !linux

package main

import "syscall"

// childProcAttr puts a bench worker in its own process group (the bench
// alone stops it, also on Ctrl-C).
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
