// Package tmpfstest gives a test a small volume of its own to fill: a tmpfs
// mounted on a temporary directory, for the full-disk tests.
package tmpfstest

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
)

// Mount mounts a tmpfs of the given size (mount's size= option, such as
// "2m") on a fresh directory and unmounts it when the test ends. Only root
// can mount, on Linux: otherwise the test is skipped with a message, and so
// it is when the mount fails, except under CI=true, where that fails it.
func Mount(t testing.TB, size string) string {
	t.Helper()
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("skipped: filling a small volume needs a tmpfs of its own, which only root can mount on Linux; run as root (CI does)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount tmpfs on %s: %v: %s", dir, err, out)
		}
		t.Skipf("skipped: cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// Fill writes a file into dir until the volume is full, then gives back
// keep bytes of it, and returns the file's path: removing it makes room.
func Fill(t testing.TB, dir string, keep int64) string {
	t.Helper()
	f, err := os.CreateTemp(dir, "filler")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	var size int64
	for {
		n, err := f.Write(chunk)
		size += int64(n)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(max(0, size-keep)); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}
