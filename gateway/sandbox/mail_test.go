package sandbox

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"checkout/gateway"
)

// TestMailInboxShowsEachMessage: a message sent to the inbox is kept, and
// the page shows its To, From, Subject, Message-ID and text (escaped), and
// frames its HTML part, which MailPath/{n} serves with a CSP that runs no
// script and loads nothing.
func TestMailInboxShowsEachMessage(t *testing.T) {
	e := newEnv(t, nil)
	m := gateway.Mail{MessageID: "eml_1@shop.example", From: "receipts@shop.example", To: "amina@example.com",
		Subject: "Receipt: KES 1,500.00 paid to Duka <Bora>", Text: "You paid KES 1,500.00.\nReceipt: SBX1234567",
		HTML: `<p style="color:#000">You paid <b>KES 1,500.00</b></p>`}
	if err := e.sb.SendMail(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := e.sb.Mails()
	if len(got) != 1 || got[0].Mail != m || got[0].N != 1 {
		t.Fatalf("inbox %+v", got)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+MailPath, nil)
	resp, body := e.send(req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("page: HTTP %d", resp.StatusCode)
	}
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	card := doc.Find("section.mail")
	if card.Length() != 1 {
		t.Fatalf("%d messages on the page, want 1", card.Length())
	}
	for what, want := range map[string]string{".subject": m.Subject, ".to": m.To, "pre.text": m.Text, "pre.html": m.HTML} {
		if g := card.Find(what).Text(); g != want {
			t.Errorf("%s: %q, want %q", what, g, want)
		}
	}
	for _, want := range []string{m.From, "<" + m.MessageID + ">"} {
		if !strings.Contains(card.Find("dl").Text(), want) {
			t.Errorf("the page does not show %q", want)
		}
	}
	src, _ := card.Find("iframe[sandbox]").Attr("src")
	if src != MailPath+"/1" {
		t.Fatalf("frame src %q", src)
	}
	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+src, nil)
	resp, body = e.send(req)
	if resp.StatusCode != http.StatusOK || string(body) != m.HTML {
		t.Fatalf("HTML part: HTTP %d %q", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "sandbox") {
		t.Errorf("HTML part CSP %q", csp)
	}
	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+MailPath+"/2", nil)
	if resp, _ := e.send(req); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown message: HTTP %d, want 404", resp.StatusCode)
	}
}
