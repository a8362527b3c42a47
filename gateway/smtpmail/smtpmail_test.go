package smtpmail

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"checkout/gateway"
)

// smtpServer is a tiny SMTP server on loopback: it offers AUTH PLAIN
// (no STARTTLS), checks the one user it knows, and keeps what each
// accepted transaction delivered.
type smtpServer struct {
	addr       string
	user, pass string
	// rcptReply, when set, is the answer to every RCPT.
	rcptReply string

	mu       sync.Mutex
	messages []received
	authed   []string // the AUTH PLAIN identities that came in
}

type received struct {
	from string
	to   []string
	data []byte
}

func startSMTP(t *testing.T, user, pass string) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{addr: ln.Addr().String(), user: user, pass: pass}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(c) }()
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(c)
	reply := func(lines ...string) { _ = tp.PrintfLine("%s", strings.Join(lines, "\r\n")) }
	reply("220 127.0.0.1 test ESMTP")
	var cur received
	authed := false
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			reply("250-127.0.0.1 hello", "250-AUTH PLAIN", "250 8BITMIME")
		case "AUTH":
			mech, b64, _ := strings.Cut(arg, " ")
			raw, err := base64.StdEncoding.DecodeString(b64)
			parts := strings.Split(string(raw), "\x00")
			if mech != "PLAIN" || err != nil || len(parts) != 3 {
				reply("501 bad AUTH")
				continue
			}
			s.mu.Lock()
			s.authed = append(s.authed, parts[1])
			s.mu.Unlock()
			if parts[1] != s.user || parts[2] != s.pass {
				reply("535 5.7.8 authentication failed")
				continue
			}
			authed = true
			reply("235 2.7.0 ok")
		case "MAIL":
			if s.user != "" && !authed {
				reply("530 5.7.0 authentication required")
				continue
			}
			cur = received{from: strings.Trim(strings.TrimPrefix(strings.Fields(arg)[0], "FROM:"), "<>")}
			reply("250 ok")
		case "RCPT":
			s.mu.Lock()
			answer := s.rcptReply
			s.mu.Unlock()
			if answer != "" {
				reply(answer)
				continue
			}
			cur.to = append(cur.to, strings.Trim(strings.TrimPrefix(strings.Fields(arg)[0], "TO:"), "<>"))
			reply("250 ok")
		case "DATA":
			reply("354 go on")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			cur.data = data
			s.mu.Lock()
			s.messages = append(s.messages, cur)
			s.mu.Unlock()
			reply("250 2.0.0 queued")
		case "RSET", "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 not implemented")
		}
	}
}

func (s *smtpServer) received() ([]received, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.messages...), append([]string(nil), s.authed...)
}

func testMail() gateway.Mail {
	return gateway.Mail{MessageID: "eml_01abc@shop.example", From: "receipts@shop.example", To: "amina@example.com",
		Subject: "Receipt: KES 1,500.00 paid to Duka Bora", Text: "You paid KES 1,500.00 to Duka Bora.\nReceipt: SBX1234567\n",
		HTML: "<!doctype html><p>You paid <b>KES 1,500.00</b> to Duka Bora.</p><p>Receipt: SBX1234567</p>"}
}

// TestSendMailOverRealSMTPHasTextAndHTMLParts: a message sent to an SMTP
// server on loopback authenticates with AUTH PLAIN (no TLS: loopback),
// and arrives with the right envelope, From, To, Subject, Message-ID, and
// a text/plain and a text/html part holding the texts given.
func TestSendMailOverRealSMTPHasTextAndHTMLParts(t *testing.T) {
	srv := startSMTP(t, "shop", "p@ss word")
	cfg, err := ParseURL("smtp://shop:p%40ss%20word@" + srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Loopback || cfg.Password != "p@ss word" || cfg.Username != "shop" {
		t.Fatalf("config %+v", cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := testMail()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.SendMail(ctx, m); err != nil {
		t.Fatalf("send: %v", err)
	}
	got, authed := srv.received()
	if len(got) != 1 {
		t.Fatalf("%d messages arrived, want 1", len(got))
	}
	if len(authed) != 1 || authed[0] != "shop" {
		t.Errorf("AUTH identities %q, want [shop]", authed)
	}
	if got[0].from != m.From || len(got[0].to) != 1 || got[0].to[0] != m.To {
		t.Errorf("envelope from %q to %q", got[0].from, got[0].to)
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(got[0].data)))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"From": "<" + m.From + ">", "To": "<" + m.To + ">",
		"Message-ID": "<" + m.MessageID + ">", "Auto-Submitted": "auto-generated"} {
		if g := msg.Header.Get(name); g != want {
			t.Errorf("%s: %q, want %q", name, g, want)
		}
	}
	if subject != m.Subject {
		t.Errorf("Subject %q, want %q", subject, m.Subject)
	}
	if msg.Header.Get("Date") == "" {
		t.Error("no Date header")
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		parts[ct] = strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	if parts["text/plain"] != m.Text {
		t.Errorf("text part %q, want %q", parts["text/plain"], m.Text)
	}
	if parts["text/html"] != m.HTML {
		t.Errorf("HTML part %q, want %q", parts["text/html"], m.HTML)
	}
	if len(parts) != 2 {
		t.Errorf("parts %v, want text/plain and text/html", parts)
	}
}

// TestSendMailRequiresSTARTTLSBeyondLoopback: a server that is not on
// loopback and offers no STARTTLS gets no password and no message.
func TestSendMailRequiresSTARTTLSBeyondLoopback(t *testing.T) {
	srv := startSMTP(t, "shop", "secret-pass")
	cfg, err := ParseURL("smtp://shop:secret-pass@" + srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Loopback = false // as a server elsewhere would be treated
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = c.SendMail(context.Background(), testMail())
	if err == nil {
		t.Fatal("sent without STARTTLS to a server beyond loopback")
	}
	if strings.Contains(err.Error(), "secret-pass") {
		t.Errorf("the error shows the password: %v", err)
	}
	got, authed := srv.received()
	if len(got) != 0 || len(authed) != 0 {
		t.Errorf("messages %d, AUTH %q: want none", len(got), authed)
	}
}

// TestSendMailWrongPasswordIsAnError: a refused AUTH is an error (the
// outbox retries it), and nothing is delivered.
func TestSendMailWrongPasswordIsAnError(t *testing.T) {
	srv := startSMTP(t, "shop", "right")
	cfg, err := ParseURL("smtp://shop:wrong@" + srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail(context.Background(), testMail()); err == nil {
		t.Fatal("a refused AUTH sent")
	} else if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the error shows the password: %v", err)
	}
	if got, _ := srv.received(); len(got) != 0 {
		t.Errorf("%d messages delivered, want 0", len(got))
	}
}

// TestSendMailPermanentRefusalsAreMarked: a 5xx answer and an address
// that does not parse are gateway.ErrMailRefused (not worth another try);
// a 4xx answer and a server that is not there are not.
func TestSendMailPermanentRefusalsAreMarked(t *testing.T) {
	send := func(rcptReply, to, addr string) error {
		t.Helper()
		if addr == "" {
			srv := startSMTP(t, "", "")
			srv.mu.Lock()
			srv.rcptReply = rcptReply
			srv.mu.Unlock()
			addr = srv.addr
		}
		cfg, err := ParseURL("smtp://" + addr)
		if err != nil {
			t.Fatal(err)
		}
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m := testMail()
		m.To = to
		return c.SendMail(context.Background(), m)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		name, rcptReply, to, addr string
		permanent                 bool
	}{
		{"550 at RCPT", "550 5.1.1 no such mailbox", "amina@example.com", "", true},
		{"address that does not parse", "", "amina at example dot com", "", true},
		{"451 at RCPT", "451 4.3.0 try again later", "amina@example.com", "", false},
		{"no server", "", "amina@example.com", closed, false},
	} {
		err := send(tc.rcptReply, tc.to, tc.addr)
		if err == nil {
			t.Errorf("%s: sent", tc.name)
			continue
		}
		if got := errors.Is(err, gateway.ErrMailRefused); got != tc.permanent {
			t.Errorf("%s: %v; permanent %v, want %v", tc.name, err, got, tc.permanent)
		}
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want Config
	}{
		{"smtp://u:p@mail.example.com", Config{Host: "mail.example.com", Port: 587, Username: "u", Password: "p"}},
		{"smtp://u:p@mail.example.com:2525", Config{Host: "mail.example.com", Port: 2525, Username: "u", Password: "p"}},
		{"smtps://u:p@mail.example.com", Config{Host: "mail.example.com", Port: 465, Username: "u", Password: "p", ImplicitTLS: true}},
		{"smtp://localhost:1025", Config{Host: "localhost", Port: 1025, Loopback: true}},
		{"smtp://[::1]:25/", Config{Host: "::1", Port: 25, Loopback: true}},
		{"smtp://127.0.0.1:25", Config{Host: "127.0.0.1", Port: 25, Loopback: true}},
	} {
		got, err := ParseURL(tc.raw)
		if err != nil || got != tc.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tc.raw, got, err, tc.want)
		}
	}
	for _, raw := range []string{"http://u:hunter2@mail.example.com", "smtp://u:hunter2@", "smtp://u:hunter2@mail.example.com:0",
		"smtp://u:hunter2@mail.example.com:x", "smtp://u:hunter2@mail.example.com/path", "smtp://u:hunter2@mail.example.com?a=b",
		"smtp://:hunter2@mail.example.com", "smtp://u:hunter2%zz@mail.example.com", "mail.example.com"} {
		_, err := ParseURL(raw)
		if err == nil {
			t.Errorf("ParseURL(%q) accepted", raw)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseURL(%q) error shows the password: %v", raw, err)
		}
	}
}

// TestConfigStringHidesThePassword: the name logs use has no password.
func TestConfigStringHidesThePassword(t *testing.T) {
	c, err := ParseURL("smtps://shop:hunter2@mail.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.String(); got != "smtps://shop@mail.example.com:465" {
		t.Errorf("String() = %q", got)
	}
}
