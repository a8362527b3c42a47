package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestWebhookURLChangeAuditKeepsOnlySchemeAndHost: a receiver's URL often
// carries its secret in the path (or the query), and the
// audit log cannot be cleaned: the webhook.url_change entry records the
// scheme and host only.
func TestWebhookURLChangeAuditKeepsOnlySchemeAndHost(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.withPrivateWebhooks()
	rcv := newReceiver(t)
	b := e.adminBrowser()
	const pathSecret, querySecret = "T0001/B0002/pathSecretXYZ123", "querySecret789"
	u := rcv.srv.URL + "/services/" + pathSecret + "?token=" + querySecret
	if p := setWebhookURL(b, e, u); p.status != http.StatusOK {
		t.Fatalf("save the URL: %d\n%s", p.status, p.body)
	}
	got := e.wantAudit("webhook.url_change", "merchant", "default", adminEmail)
	if want := "URL " + rcv.srv.URL + "/…"; !strings.HasPrefix(got.Detail, want) {
		t.Errorf("url change detail = %q, want it to start %q", got.Detail, want)
	}
	for _, secret := range []string{"pathSecretXYZ123", querySecret, "services"} {
		if strings.Contains(got.Detail, secret) {
			t.Errorf("url change detail %q holds %q", got.Detail, secret)
		}
	}
}
