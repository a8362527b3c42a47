package gateway

import (
	"context"
	"errors"
)

// Mail is one email as the app sends it: a plain text body and the same
// facts in HTML, to one recipient. MessageID is the Message-ID header
// without its angle brackets, the same on every try of one message, so a
// mail client that receives it twice shows it once.
type Mail struct {
	MessageID string
	From      string
	To        string
	Subject   string
	Text      string
	HTML      string
}

// Mailer sends an email: over SMTP (gateway/smtpmail) or, in sandbox
// mode, into the sandbox's inbox. A nil error means the server accepted
// the message.
type Mailer interface {
	SendMail(ctx context.Context, m Mail) error
}

// ErrMailRefused marks a send that no later try can change: an address
// that does not parse, or a permanent (5xx) refusal by the SMTP server. A
// Mailer wraps it in its error; the email is not tried again. Any other
// error (a 4xx answer, the network) is worth another try.
var ErrMailRefused = errors.New("permanent failure")
