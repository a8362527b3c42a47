package payments

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net/mail"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	"checkout/gateway"
	"checkout/locale"
	"checkout/money"
	"checkout/store"
)

// Email receipts: a paid checkout with a customer email gets its receipt
// by email. The store writes the email's row in the transaction that marks
// the checkout paid (outbox, store.WithReceiptEmails); the worker here
// claims due rows (several processes may share the database), renders the
// receipt, sends it through the Mailer, and records what happened.
//
// Never twice: a row is marked sent right after the server accepted the
// message. A crash between the acceptance and that write leaves the row
// claimed; when the claim runs out it is sent again, once. Its Message-ID
// is the same on every try, so the customer's mail client shows one.

// Mailer sends one email: over SMTP (gateway/smtpmail), or into the
// sandbox's inbox.
type Mailer = gateway.Mailer

const (
	// mailTimeout bounds one send, dial included (go-mail's own timeout
	// bounds each SMTP command within it).
	mailTimeout = 30 * time.Second
	// mailClaim is how long a worker holds an email: longer than a send
	// and the writes around it.
	mailClaim = 2 * time.Minute
	// mailBatch is how many due emails one scan reads.
	mailBatch = 20
	// mailFirstRetry, doubling up to mailMaxRetry, is the wait after a
	// failed send; an email not sent in mailMaxTries tries (about a day:
	// 1, 2, 4 ... 32 minutes, then hourly) fails. Counted in tries, not
	// from when it was queued: an email sent again from the admin, or one
	// queued before the app was down for a while, gets every try.
	mailFirstRetry = time.Minute
	mailMaxRetry   = time.Hour
	mailMaxTries   = 30
)

// mailRetryAfter is the wait after the n-th failed send (n from 1).
func mailRetryAfter(n int) time.Duration {
	d := mailFirstRetry
	for i := 1; i < n && d < mailMaxRetry; i++ {
		d *= 2
	}
	return min(d, mailMaxRetry)
}

// MailEnabled reports whether receipts are emailed (an SMTP server or
// the sandbox inbox is configured).
func (s *Service) MailEnabled() bool { return s.cfg.Mailer != nil }

// DefaultMailFrom is the sender when none is configured:
// receipts@<host of the public URL>.
func DefaultMailFrom(publicURL string) string {
	host := "localhost"
	if u, err := url.Parse(publicURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return "receipts@" + host
}

// SendEmails sends the emails that are due, one at a time, until none is
// left due; it returns early when ctx ends. Emails another process holds
// are left to it.
func (s *Service) SendEmails(ctx context.Context) error {
	return s.sendEmails(ctx, ctx)
}

// sendEmails claims due emails while stop lasts, and sends each under
// work (which outlives stop for the drain).
func (s *Service) sendEmails(stop, work context.Context) error {
	if s.cfg.Mailer == nil {
		return nil
	}
	for {
		due, err := s.st.DueEmailDeliveries(stop, s.now(), mailBatch)
		if err != nil {
			return err
		}
		progress := false
		for i := range due {
			if stop.Err() != nil {
				return nil
			}
			d := due[i]
			at := s.now()
			claimed, err := s.st.ClaimEmailDelivery(stop, &d, at, at.Add(mailClaim))
			if err != nil {
				return err
			}
			if !claimed {
				continue
			}
			progress = true
			if err := s.sendEmail(work, &d); err != nil && work.Err() == nil {
				s.log.ErrorContext(work, "email: record", "email_id", d.ID, "err", err)
			}
		}
		if len(due) < mailBatch || !progress {
			return nil
		}
	}
}

// sendEmail makes one try of a claimed email and records it.
func (s *Service) sendEmail(ctx context.Context, d *store.EmailDelivery) error {
	co, err := s.st.CheckoutPage(ctx, d.CheckoutID)
	var sendErr error
	switch {
	case err != nil:
		sendErr = fmt.Errorf("load the checkout: %w", err)
	case co.Status != store.StatusPaid:
		// Reversed while the email waited: a receipt would say the
		// money is the shop's.
		sendErr = mailRefused("checkout is " + string(co.Status))
	default:
		if _, perr := mail.ParseAddress(d.Recipient); perr != nil {
			sendErr = mailRefused(fmt.Sprintf("the address %q does not parse: %v", d.Recipient, perr))
			break
		}
		var m gateway.Mail
		if m, sendErr = s.receiptMail(d, co); sendErr == nil {
			sctx, cancel := context.WithTimeout(ctx, mailTimeout)
			sendErr = s.cfg.Mailer.SendMail(sctx, m)
			cancel()
		}
	}
	now := s.now()
	try := store.EmailTry{At: now, Outcome: store.EmailSent}
	if sendErr != nil {
		if ctx.Err() != nil {
			// Stopping: the claim runs out and the next worker tries again.
			return nil
		}
		try.Error = sendErr.Error()
		switch {
		case errors.Is(sendErr, gateway.ErrMailRefused), d.Attempts+1 >= mailMaxTries:
			try.Outcome = store.EmailFailed
		default:
			try.Outcome, try.NextAt = store.EmailPending, now.Add(mailRetryAfter(d.Attempts+1))
		}
		s.log.WarnContext(ctx, "email: not sent", "email_id", d.ID, "checkout_id", d.CheckoutID,
			"attempts", d.Attempts+1, "outcome", try.Outcome, "err", sendErr)
	} else {
		s.log.InfoContext(ctx, "email: sent", "email_id", d.ID, "checkout_id", d.CheckoutID, "kind", d.Kind)
	}
	// Recorded even when ctx ends now: the server has the message.
	return s.st.RecordEmailTry(context.WithoutCancel(ctx), d, try)
}

// mailRefused is a reason of ours never to send an email, in words for
// the timeline; it is a gateway.ErrMailRefused.
type mailRefused string

func (e mailRefused) Error() string { return string(e) }

func (e mailRefused) Is(target error) bool { return target == gateway.ErrMailRefused }

// RunEmails sends due emails every interval until ctx ends; then it
// starts nothing new, gives the send under way bg.drain to end, and
// returns.
func (s *Service) RunEmails(ctx context.Context, every time.Duration) {
	if s.cfg.Mailer == nil {
		return
	}
	work, end := s.workContext(ctx, 0)
	defer end()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.sendEmails(ctx, work); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "email pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// receiptFacts are what the receipt email shows, in its language: L is
// the catalog's messages in it, indexed by the templates.
type receiptFacts struct {
	Merchant, Amount, Description, Reference, Receipt, Method, PaidAt, CheckoutID, URL string
	TestMode                                                                           bool
	// Lang is the email's language (html lang); YouPaid is its first
	// sentence.
	Lang, YouPaid string
	L             map[string]string
}

// mailMethodLabels name the methods (brand names, the same in every
// language).
var mailMethodLabels = map[string]string{MethodPesapal: "Pesapal", MethodPokeaPay: "PokeaPay", MethodSTK: "M-Pesa"}

// receiptMail is the receipt email of a paid checkout, in the checkout's
// locale (English when it has none: the worker has no browser to ask).
// Amounts are written for Kenya (KES 1,500.00) and the time in Nairobi
// time, with the language's month names.
func (s *Service) receiptMail(d *store.EmailDelivery, co *store.CheckoutPage) (gateway.Mail, error) {
	lang := locale.Lang(co.Locale).Or()
	f := receiptFacts{Merchant: co.MerchantName, Amount: money.Display(co.Currency, money.Amount(co.Amount)),
		Description: co.Description, Reference: co.Reference, Receipt: co.Receipt, CheckoutID: co.ID,
		URL: s.CheckoutURL(co.ID), TestMode: s.cfg.TestMode, Lang: string(lang), L: locale.Catalog(lang)}
	if f.Merchant == "" {
		f.Merchant = locale.Text(lang, "the_shop")
	}
	if f.Receipt == "" {
		f.Receipt = "—"
	}
	if l, ok := mailMethodLabels[co.Method]; ok {
		f.Method = l
		if p, ok := mailMethodLabels[co.Provider]; ok && p != l {
			f.Method += " " + locale.Format(lang, "via", "Provider", p)
		}
	}
	if co.PaidAt != nil {
		f.PaidAt = locale.DateTime(lang, *co.PaidAt)
	}
	f.YouPaid = locale.Format(lang, "mail_you_paid", "Amount", f.Amount, "Merchant", f.Merchant)
	var text, html bytes.Buffer
	if err := receiptText.Execute(&text, f); err != nil {
		return gateway.Mail{}, fmt.Errorf("render the receipt text: %w", err)
	}
	if err := receiptHTML.Execute(&html, f); err != nil {
		return gateway.Mail{}, fmt.Errorf("render the receipt HTML: %w", err)
	}
	subject := locale.Format(lang, "mail_subject", "Merchant", f.Merchant, "Amount", f.Amount)
	if f.TestMode {
		subject = locale.Text(lang, "mail_test_subject") + subject
	}
	return gateway.Mail{MessageID: messageID(d.ID, s.mailFrom()), From: s.mailFrom(), To: d.Recipient,
		Subject: subject, Text: text.String(), HTML: html.String()}, nil
}

// mailFrom is the sender address (Config.MailFrom, or the default).
func (s *Service) mailFrom() string {
	if s.cfg.MailFrom != "" {
		return s.cfg.MailFrom
	}
	return DefaultMailFrom(s.cfg.PublicURL)
}

// messageID is an email's Message-ID (without the angle brackets): the
// delivery's id at the sender's domain, the same on every try.
func messageID(deliveryID, from string) string {
	domain := "localhost"
	if a, err := mail.ParseAddress(from); err == nil {
		if _, d, ok := strings.Cut(a.Address, "@"); ok && d != "" {
			domain = d
		}
	}
	return deliveryID + "@" + domain
}

// receiptText is the plain text part.
var receiptText = texttemplate.Must(texttemplate.New("text").Parse(`{{if .TestMode}}{{index .L "mail_test_mode"}}

{{end}}{{index .L "receipt_title"}}

{{.YouPaid}}

{{index .L "paid_to"}}: {{.Merchant}}
{{- if .Description}}
{{index .L "paid_for"}}: {{.Description}}{{end}}
{{- if .Reference}}
{{index .L "reference"}}: {{.Reference}}{{end}}
{{index .L "receipt"}}: {{.Receipt}}
{{- if .Method}}
{{index .L "method"}}: {{.Method}}{{end}}
{{- if .PaidAt}}
{{index .L "paid_at"}}: {{.PaidAt}}{{end}}
{{index .L "checkout_id"}}: {{.CheckoutID}}

{{index .L "mail_keep"}}
{{.URL}}
`))

// receiptHTML is the HTML part: inline styles only (mail clients drop
// style sheets), no images, nothing loaded from anywhere.
var receiptHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{index .L "receipt_title"}}</title></head>
<body style="margin:0;padding:16px;background:#ffffff;color:#111111;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.4">
<div style="max-width:480px;margin:0 auto">
{{- if .TestMode}}
<p style="margin:0 0 12px;padding:6px 10px;border:2px solid #7a4d00;color:#7a4d00;font-weight:bold">{{index .L "mail_test_mode"}}</p>
{{- end}}
<h1 style="margin:0 0 4px;font-size:20px">{{index .L "receipt_title"}}</h1>
<p style="margin:0 0 16px;font-size:26px;font-weight:bold">{{.Amount}}</p>
<table role="presentation" cellpadding="0" cellspacing="0" style="width:100%;border-collapse:collapse">
<tr><td style="padding:4px 12px 4px 0;color:#555555;vertical-align:top;white-space:nowrap">{{index .L "paid_to"}}</td><td style="padding:4px 0">{{.Merchant}}</td></tr>
{{- if .Description}}
<tr><td style="padding:4px 12px 4px 0;color:#555555;vertical-align:top;white-space:nowrap">{{index .L "paid_for"}}</td><td style="padding:4px 0">{{.Description}}</td></tr>
{{- end}}
{{- if .Reference}}
<tr><td style="padding:4px 12px 4px 0;color:#555555;vertical-align:top;white-space:nowrap">{{index .L "reference"}}</td><td style="padding:4px 0;font-family:Consolas,Menlo,monospace">{{.Reference}}</td></tr>
{{- end}}
<tr><td style="padding:4px 12px 4px 0;color:#555555;vertical-align:top;white-space:nowrap">{{index .L "receipt"}}</td><td style="padding:4px 0;font-family:Consolas,Menlo,monospace">{{.Receipt}}</td></tr>
{{- if .Method}}
<tr><td style="padding:4px 12px 4px 0;color:#555555;vertical-align:top;white-space:nowrap">{{index .L "method"}}</td><td style="padding:4px 0">{{.Method}}</td></tr>
{{- end}}
{{- if .PaidAt}}
<tr><td style="padding:4px 12px 4px 0;color:#555555;vertical-align:top;white-space:nowrap">{{index .L "paid_at"}}</td><td style="padding:4px 0">{{.PaidAt}}</td></tr>
{{- end}}
<tr><td style="padding:4px 12px 4px 0;color:#555555;vertical-align:top;white-space:nowrap">{{index .L "checkout_id"}}</td><td style="padding:4px 0;font-family:Consolas,Menlo,monospace;word-break:break-all">{{.CheckoutID}}</td></tr>
</table>
<p style="margin:16px 0 0;color:#555555;font-size:14px">{{index .L "mail_keep"}} <a href="{{.URL}}" style="color:#1f4e8c">{{.URL}}</a>.</p>
</div>
</body>
</html>
`))
