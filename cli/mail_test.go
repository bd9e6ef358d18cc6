package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"roster/account/accounttest"
	"roster/db"
	"roster/mail/mailtest"
)

// post sends a JSON body and returns the status and the decoded answer.
func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v map[string]any
	json.NewDecoder(res.Body).Decode(&v)
	return res.StatusCode, v
}

// TestResetMailSurvivesOutageAndRestart requests a reset while the SMTP
// server is down, restarts roster, brings the server back, and uses the
// token from the message that then arrives.
func TestResetMailSurvivesOutageAndRestart(t *testing.T) {
	t.Parallel()
	accounttest.Run(t, testResetMailSurvivesOutageAndRestart)
}

func testResetMailSurvivesOutageAndRestart(t *testing.T, eng accounttest.Engine) {
	t.Parallel()
	smtp := mailtest.Start(t, mailtest.Options{User: "roster", Pass: "s3cret"})
	smtp.Stop()
	dbPath := eng.DSN(t)
	args := []string{"-db", dbPath, "-mail-retry-min", "1s", "-mail-from", "Roster <roster@example.com>",
		"-public-url", "https://roster.example.com"}
	base, stop := startServe(t, args, map[string]string{"ROSTER_SMTP_URL": smtp.URL()})

	if status, v := post(t, base+"/v1/users", `{"username":"max","email":"max@example.com","password":"`+cliPassword+`"}`); status != 201 {
		t.Fatalf("POST /v1/users: status = %d, want 201; body=%v", status, v)
	}
	if status, v := post(t, base+"/v1/password-resets", `{"username":"max"}`); status != 202 {
		t.Fatalf("POST /v1/password-resets: status = %d, want 202; body=%v", status, v)
	}

	// Both messages (verification and reset) are tried and fail.
	store, err := db.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rows, err := store.Read.ListOutboxMessages(context.Background(), db.ListOutboxMessagesParams{Lim: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 2 && rows[0].Attempts > 0 && rows[1].Attempts > 0 && rows[1].Status == "pending" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox during the outage = %+v, want two tried, pending messages", rows)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	smtp.Start()
	base, _ = startServe(t, args, map[string]string{"ROSTER_SMTP_URL": smtp.URL()})
	var token string
	for _, m := range smtp.Wait(2) {
		if h, _, _ := m.Parse(); strings.Contains(h.Get("Subject"), "Reset") {
			token = mailtest.Find(t, m, `rpr_[A-Za-z0-9_-]{43}`)
		}
	}
	if token == "" {
		t.Fatal("no reset mail among the delivered messages")
	}
	const newPassword = "the passphrase after the outage"
	if status, v := post(t, base+"/v1/password-resets/confirm", `{"token":"`+token+`","new_password":"`+newPassword+`"}`); status != 204 {
		t.Fatalf("POST /v1/password-resets/confirm: status = %d, want 204; body=%v", status, v)
	}
	if status, v := post(t, base+"/v1/sessions", `{"username":"max","password":"`+newPassword+`"}`); status != 201 {
		t.Fatalf("login with the new password: status = %d, want 201; body=%v", status, v)
	}
}
