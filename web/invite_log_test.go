package web_test

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"checkout/store"
)

// TestInviteTokenNeverReachesTheLogs: an invite link's token is a
// credential (it makes an admin with the invite's role), so, like every
// secret, it must not appear in the logs, nor leave the page in a Referer.
// The token is in the path (/admin/invite/<token>).
func TestInviteTokenNeverReachesTheLogs(t *testing.T) {
	var logs lockedBuffer
	e := newEnv(t, envOptions{logs: slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})})
	owner := e.adminBrowser()
	made := invite(owner, e, "joiner@example.com", store.RoleOwner)
	link := made.doc.Find("input.invite-link").AttrOr("value", "")
	token := strings.TrimPrefix(link, e.app.URL+"/admin/invite/")
	if made.status != http.StatusOK || len(token) != 43 {
		t.Fatalf("invite: %d, link %q", made.status, link)
	}
	// The invited person opens the link and sets a password.
	n := e.browser()
	form := n.get(link)
	if form.status != http.StatusOK {
		t.Fatalf("invite page: %d", form.status)
	}
	// Nor does the page's URL leave in a Referer (its stylesheet's
	// request, a link followed from it).
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if rp := resp.Header.Get("Referrer-Policy"); resp.StatusCode != http.StatusOK || rp != "no-referrer" {
		t.Errorf("invite page: %d with Referrer-Policy %q, want no-referrer", resp.StatusCode, rp)
	}
	done := n.noFollow().submitRaw(form, "form", url.Values{"password": {"a long enough password"}, "confirm": {"a long enough password"}})
	if done.status != http.StatusSeeOther {
		t.Fatalf("accept: %d", done.status)
	}
	if text := logs.String(); strings.Contains(text, token) {
		var lines []string
		for _, l := range strings.Split(text, "\n") {
			if strings.Contains(l, token) {
				lines = append(lines, l)
			}
		}
		t.Fatalf("the invite token is in the logs (%d lines), e.g.:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}
