//go:build unix

package db_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"roster/db"
	"roster/db/dbtest"
)

// shmDMS is the byte of the -shm file on which every process with the
// database open holds a shared lock (SQLite's UNIX_SHM_DMS): a process that
// finds it unlocked truncates and reinitializes the file.
const shmDMS = 128

func init() {
	// dms-lock PATH: print who holds a lock on the -shm file's DMS byte, as
	// "type pid", or "unlocked".
	childActions["dms-lock"] = func(args []string) error {
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: shmDMS, Len: 1}
		if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &lk); err != nil {
			return err
		}
		switch lk.Type {
		case unix.F_UNLCK:
			fmt.Println("unlocked")
		case unix.F_RDLCK:
			fmt.Println("shared", lk.Pid)
		default:
			fmt.Println("exclusive", lk.Pid)
		}
		return nil
	}
}

// TestShmLocksOutliveAnotherStore: SQLite's locks on the -shm file are POSIX
// locks, dropped by closing any descriptor of the file in the process. Closing
// one of two stores on a file must leave the other's connections their locks:
// another process still finds this one's shared lock on the DMS byte.
func TestShmLocksOutliveAnotherStore(t *testing.T) {
	t.Parallel()
	store := dbtest.Open(t)
	other, err := db.OpenSQLite(context.Background(), store.Path())
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint("shared ", os.Getpid())
	if got := strings.TrimSpace(inChild(t, "dms-lock", store.Path()+"-shm")); got != want {
		t.Fatalf("DMS lock with two stores open = %q, want %q", got, want)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(inChild(t, "dms-lock", store.Path()+"-shm")); got != want {
		t.Fatalf("DMS lock after closing one of two stores = %q, want %q", got, want)
	}
	if _, err := store.Changes(); err != nil {
		t.Fatal(err)
	}
}

// TestChangesThroughSymlink: opened by a symbolic link, the store maps the
// -shm file SQLite uses, named after the resolved path, and sees commits.
func TestChangesThroughSymlink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	target := filepath.Join(dir, "real.db")
	if err := os.Mkdir(filepath.Join(dir, "links"), 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "links", "roster.db")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	store, err := db.OpenSQLite(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := os.Stat(target + "-shm"); err != nil {
		t.Fatalf("SQLite did not name the -shm file after the resolved path: %v", err)
	}
	if _, err := os.Stat(link + "-shm"); err == nil {
		t.Fatalf("%s-shm exists: SQLite did not resolve the link", link)
	}
	other, err := db.OpenSQLite(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	before, err := store.Changes()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Write.CreateUser(ctx, db.CreateUserParams{Username: "lnk", UsernameKey: "lnk",
		PasswordHash: "x", Role: "user", CreatedAt: db.Now(time.Now())}); err != nil {
		t.Fatal(err)
	}
	if after, err := store.Changes(); err != nil || after <= before {
		t.Errorf("after a commit through the real path, Changes = %d, %v; want more than %d", after, err, before)
	}
}
