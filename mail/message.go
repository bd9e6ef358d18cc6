// Package mail renders plain-text messages and delivers them over SMTP, or
// to the log when no SMTP server is configured. It knows nothing of the
// outbox that decides when a message is sent.
package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Message is one plain-text mail to one recipient.
type Message struct {
	From    string // an address, optionally with a display name: "Roster <no-reply@example.com>"
	To      string // a plain address
	Subject string
	Body    string // plain text; line endings are normalized to CRLF on the wire
	Date    time.Time
	// ID is the Message-ID without angle brackets ("left@right"). A message
	// delivered twice keeps its ID, so a mail client can drop the copy.
	ID string
}

// Sender delivers messages.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// maxLineLen is RFC 5322's limit on a line, without its CRLF.
const maxLineLen = 998

// Bytes renders m as an RFC 5322 message: Date, Message-ID, From, To,
// Subject, MIME-Version and Content-Type headers, then the body in 7bit when
// it is short-lined ASCII and in quoted-printable otherwise, all with CRLF
// line endings. A header value holding CR or LF, or an address that does not
// parse, is refused, so no input can add a header.
func (m Message) Bytes() ([]byte, error) {
	for name, v := range map[string]string{"From": m.From, "To": m.To, "Subject": m.Subject, "Message-ID": m.ID} {
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("mail: %s holds a line break", name)
		}
	}
	if m.ID == "" || strings.ContainsAny(m.ID, "<> ") || !strings.Contains(m.ID, "@") {
		return nil, fmt.Errorf("mail: malformed Message-ID %q", m.ID)
	}
	if m.Date.IsZero() {
		return nil, errors.New("mail: message has no date")
	}
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return nil, fmt.Errorf("mail: From: %w", err)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("mail: To: %w", err)
	}
	if !utf8.ValidString(m.Subject) || !utf8.ValidString(m.Body) {
		return nil, errors.New("mail: subject or body is not valid UTF-8")
	}

	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\r", "\n")
	encoding := "7bit"
	if !sevenBit(body) {
		encoding = "quoted-printable"
	}
	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	header("Date", m.Date.Format(time.RFC1123Z))
	header("Message-ID", "<"+m.ID+">")
	header("From", from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", encoding)
	b.WriteString("\r\n")
	if encoding == "7bit" {
		b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	} else {
		qp := quotedprintable.NewWriter(&b) // writes line breaks as CRLF
		qp.Write([]byte(body))
		qp.Close()
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes(), nil
}

// sevenBit reports whether body can go as it is: ASCII without control
// characters other than tab, in lines of at most maxLineLen bytes.
func sevenBit(body string) bool {
	for line := range strings.SplitSeq(body, "\n") {
		if len(line) > maxLineLen {
			return false
		}
		for i := 0; i < len(line); i++ {
			if c := line[i]; c >= 0x7f || (c < ' ' && c != '\t') {
				return false
			}
		}
	}
	return true
}

// Domain returns the domain of an address such as "Roster <no-reply@example.com>",
// the right-hand side of the Message-IDs roster makes.
func Domain(address string) (string, error) {
	a, err := mail.ParseAddress(address)
	if err != nil {
		return "", err
	}
	_, domain, _ := strings.Cut(a.Address, "@")
	return domain, nil
}
