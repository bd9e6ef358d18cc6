package cli

import (
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSlowClientCutOff: a client that sends one header byte at a time never
// finishes its request: the server hangs up after ReadHeaderTimeout, long
// before the client would have finished (10 s of dribbling).
func TestSlowClientCutOff(t *testing.T) {
	base, _ := startServe(t, []string{"-read-header-timeout", "300ms", "-db", filepath.Join(t.TempDir(), "roster.db")}, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	closed := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(conn) // returns when the server closes the connection
		closed <- string(b)
	}()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: roster\r\n"); err != nil {
		t.Fatal(err)
	}
	header := strings.Repeat("X-Slow: drip\r\n", 10)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < len(header); i++ {
		select {
		case answer := <-closed:
			if strings.Contains(answer, "200 OK") {
				t.Fatalf("the server answered an unfinished request: %q", answer)
			}
			t.Logf("cut off after %d header bytes; server sent %q", i, answer)
			return
		case <-tick.C:
			conn.Write([]byte{header[i]}) // fails once the server has hung up
		}
	}
	t.Fatal("the server kept reading a dribbled header for 10 s, past -read-header-timeout 300ms")
}
