// Package smtpmail sends the app's emails (receipts) over SMTP with
// github.com/wneessen/go-mail, a well-kept client that builds the MIME
// message (text with an HTML alternative, encoded headers), negotiates
// STARTTLS and picks an AUTH mechanism the server offers.
//
// The server is one URL, CHECKOUT_SMTP_URL: smtp://user:pass@host:port
// (STARTTLS, required unless the host is loopback; port 587 by default)
// or smtps://user:pass@host:port (TLS from the first byte; port 465 by
// default). The password is never logged, nor put in an error.
package smtpmail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"checkout/gateway"
)

// DefaultTimeout bounds the dial and each SMTP command of a send.
const DefaultTimeout = 10 * time.Second

// Config is an SMTP server, as ParseURL reads it from a URL.
type Config struct {
	Host     string
	Port     int
	Username string
	Password string
	// ImplicitTLS is smtps://: TLS from the first byte. Otherwise STARTTLS
	// is required, unless Loopback.
	ImplicitTLS bool
	// Loopback is a server on this machine (localhost, 127.0.0.0/8, ::1):
	// STARTTLS is used when offered and not required, and AUTH PLAIN may
	// go in the clear (nothing leaves the machine).
	Loopback bool
	// Timeout bounds the dial and each command (DefaultTimeout when 0).
	Timeout time.Duration
	// HELO is the name said in EHLO (the machine's host name when "").
	HELO string
}

// ParseURL reads an SMTP server URL: smtp://user:pass@host:port or
// smtps://user:pass@host:port; the user and port are optional. Its errors
// never repeat the URL (it holds the password).
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, errors.New("is not a URL such as smtp://user:password@host:587 (a password with special characters must be percent-encoded)")
	}
	var c Config
	switch u.Scheme {
	case "smtp":
		c.Port = 587
	case "smtps":
		c.Port, c.ImplicitTLS = 465, true
	default:
		return Config{}, errors.New("must start with smtp:// (STARTTLS) or smtps:// (TLS)")
	}
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return Config{}, errors.New("must be smtp://user:password@host:port, with no path, query or fragment")
	}
	c.Host = u.Hostname()
	if c.Host == "" {
		return Config{}, errors.New("has no host (smtp://user:password@host:587)")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Config{}, errors.New("has a port that is not a number from 1 to 65535")
		}
		c.Port = n
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
		if c.Username == "" && c.Password != "" {
			return Config{}, errors.New("has a password without a user")
		}
	}
	c.Loopback = isLoopback(c.Host)
	return c, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// String names the server for logs: scheme, user and address, never the
// password.
func (c Config) String() string {
	scheme := "smtp"
	if c.ImplicitTLS {
		scheme = "smtps"
	}
	u := url.URL{Scheme: scheme, Host: net.JoinHostPort(c.Host, strconv.Itoa(c.Port))}
	if c.Username != "" {
		u.User = url.User(c.Username)
	}
	return u.String()
}

// Client sends mail to one SMTP server, a connection per message (a few
// receipts a minute need no pool). Safe for concurrent use.
type Client struct {
	cfg Config
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.Host == "" || cfg.Port == 0 {
		return nil, errors.New("smtpmail: no host or port")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	c := &Client{cfg: cfg}
	// Options are checked now, so that a bad one stops the start, not the
	// first receipt.
	if _, err := c.client(nil); err != nil {
		return nil, err
	}
	return c, nil
}

// client builds go-mail's client for one send. dial records the
// connection it makes in *conn: go-mail leaves a connection open when the
// steps after the dial (STARTTLS, AUTH) fail, and the caller closes it.
//
// The connection is always dialled here, TLS included for smtps://, so
// that go-mail sees the TLS state of the connection itself. The AUTH
// mechanism is the first of a fixed list the server offers; go-mail's PLAIN
// and LOGIN refuse to send a password in the clear but to localhost.
func (c *Client) client(conn *net.Conn) (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithPort(c.cfg.Port), gomail.WithTimeout(c.cfg.Timeout)}
	switch {
	case c.cfg.ImplicitTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS)) // TLS already, from the dial
	case c.cfg.Loopback:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	host, implicit := c.cfg.Host, c.cfg.ImplicitTLS
	opts = append(opts, gomail.WithDialContextFunc(func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{}
		var nc net.Conn
		var err error
		if implicit {
			td := &tls.Dialer{NetDialer: d, Config: &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}}
			nc, err = td.DialContext(ctx, network, addr)
		} else {
			nc, err = d.DialContext(ctx, network, addr)
		}
		if err == nil && conn != nil {
			*conn = nc
		}
		return nc, err
	}))
	if c.cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(c.cfg.HELO))
	}
	if c.cfg.Username != "" {
		opts = append(opts, gomail.WithUsername(c.cfg.Username), gomail.WithPassword(c.cfg.Password),
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1,
				gomail.SMTPAuthCramMD5, gomail.SMTPAuthPlain, gomail.SMTPAuthLogin))
	}
	cl, err := gomail.NewClient(c.cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtpmail: %s: %w", c.cfg, err)
	}
	return cl, nil
}

// Message builds the MIME message of m: text/plain with a text/html
// alternative, its Message-ID, and Auto-Submitted (no out-of-office
// replies to a receipt).
func Message(m gateway.Mail) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("smtpmail: sender: %w: %w", gateway.ErrMailRefused, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("smtpmail: recipient: %w: %w", gateway.ErrMailRefused, err)
	}
	msg.Subject(m.Subject)
	if m.MessageID != "" {
		msg.SetMessageIDWithValue(m.MessageID)
	} else {
		msg.SetMessageID()
	}
	msg.SetDate()
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// SendMail sends m in one connection: dial, EHLO, STARTTLS, AUTH, MAIL,
// RCPT, DATA, QUIT. It returns nil once the server accepted the message
// (its answer to the end of DATA); an error after that (QUIT) is not one.
func (c *Client) SendMail(ctx context.Context, m gateway.Mail) error {
	msg, err := Message(m)
	if err != nil {
		return err
	}
	var conn net.Conn
	cl, err := c.client(&conn)
	if err != nil {
		return err
	}
	sc, err := cl.DialToSMTPClientWithContext(ctx)
	if err != nil {
		if conn != nil {
			_ = conn.Close()
		}
		return fmt.Errorf("smtpmail: %s: connect: %w", c.cfg, err)
	}
	sendErr := cl.SendWithSMTPClient(sc, msg)
	// The message is accepted or refused by now; a failed QUIT changes
	// neither.
	_ = cl.CloseWithSMTPClient(sc)
	if sendErr != nil {
		if permanent(sendErr) {
			return fmt.Errorf("smtpmail: %s: send: %w: %w", c.cfg, gateway.ErrMailRefused, sendErr)
		}
		return fmt.Errorf("smtpmail: %s: send: %w", c.cfg, sendErr)
	}
	return nil
}

// permanent reports whether the server refused the message with a 5xx
// answer (RFC 5321 4.2.1: do not send it again as it is).
func permanent(err error) bool {
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() != 0 {
		return se.ErrorCode()/100 == 5
	}
	var te *textproto.Error
	return errors.As(err, &te) && te.Code/100 == 5
}
