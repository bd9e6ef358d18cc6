package cli

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"roster/db"
)

// TestSIGTERMDuringSignup builds the real binary, starts it, and sends
// SIGTERM while a sign-up is in flight: the server stops accepting
// connections, answers the sign-up 201, commits it, stops its workers,
// closes the database and exits 0.
func TestSIGTERMDuringSignup(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "roster")
	if out, err := exec.Command("go", "build", "-o", bin, "roster").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dbPath := filepath.Join(dir, "roster.db")
	cmd := exec.Command(bin, "serve", "-addr", "127.0.0.1:0", "-db", dbPath)
	cmd.Env = append(os.Environ(), "ROSTER_HASH_CONCURRENCY=1")
	logs := newLineWatcher()
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	addr := addrFromLog(t, logs.waitFor(t, "listening", exited))

	send := startSignup(t, addr, "latecomer") // the handler is now reading the body
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	logs.waitFor(t, `"msg":"shutting down"`, exited)
	// The listener closes; the in-flight sign-up keeps its connection.
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("the listener still accepts connections 10 s after SIGTERM\n%s", logs)
		}
		time.Sleep(time.Millisecond)
	}
	status, err := send()
	if err != nil || status != http.StatusCreated {
		t.Fatalf("POST /v1/users in flight at SIGTERM: status = %d, %v; want 201\n%s", status, err, logs)
	}
	<-exited
	if waitErr != nil {
		t.Fatalf("roster serve after SIGTERM: %v\n%s", waitErr, logs)
	}
	out := logs.String()
	for _, want := range []string{`"msg":"stopped serving"`, `"msg":"database closed"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log has no %s:\n%s", want, out)
		}
	}
	if i := strings.Index(out, `"route":"/v1/users","status":201`); i < 0 || i > strings.Index(out, `"msg":"stopped serving"`) {
		t.Errorf("want the sign-up's access line before the server stopped:\n%s", out)
	}

	store, err := db.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Read.GetUserByUsernameKey(context.Background(), "latecomer"); err != nil {
		t.Fatalf("the sign-up answered 201 is not in the database: %v", err)
	}
}
