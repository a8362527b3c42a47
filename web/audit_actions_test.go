package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"checkout/payments"
)

// auditActions are the actions of the audit log's entries, oldest first.
func (e *env) auditActions() []string {
	e.t.Helper()
	es, err := e.svc.AuditEntries(context.Background(), payments.AuditFilter{Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	var acts []string
	for i := len(es) - 1; i >= 0; i-- {
		acts = append(acts, es[i].Action)
	}
	return acts
}

// auditCount is the number of entries of action on objectID.
func (e *env) auditCount(action, objectID string) int {
	e.t.Helper()
	es, err := e.svc.AuditEntries(context.Background(), payments.AuditFilter{Action: action, ObjectID: objectID, Limit: 200})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(es)
}

// keyIDs are a merchant's API key ids by the last four characters of the key.
func (e *env) keyIDs(merchantID string) map[string]string {
	e.t.Helper()
	ks, err := e.svc.APIKeys(context.Background(), merchantID)
	if err != nil {
		e.t.Fatal(err)
	}
	ids := map[string]string{}
	for _, k := range ks {
		ids[k.Hint] = k.ID
	}
	return ids
}

// TestAuditOfMerchantActions: making and editing a merchant and making,
// rotating and revoking its API keys through the admin each write one
// entry: the owner (email and id), the action, the merchant or the key's
// id, the request's IP, and a detail that names the key by its hint and
// never holds the key.
func TestAuditOfMerchantActions(t *testing.T) {
	e := newEnv(t, envOptions{})
	b := e.adminBrowser()
	start := len(e.auditActions()) // the login's

	p := e.newMerchant(b, merchantValues("Duka Letu"), testPNG)
	id := strings.TrimPrefix(strings.SplitN(p.url, "?", 2)[0], e.app.URL+"/admin/merchants/")
	if got := e.wantAudit("merchant.create", "merchant", id, adminEmail); got.Detail != "name: Duka Letu" {
		t.Errorf("merchant.create detail = %q", got.Detail)
	}

	vals := merchantValues("Duka Letu Ltd")
	saved := b.submitFile(b.get(e.app.URL+"/admin/merchants/"+id), "form.merchant-form", vals, nil)
	if saved.status != http.StatusOK || !strings.Contains(alert(saved.page, "info"), "Saved") {
		t.Fatalf("save: %d %s", saved.status, alert(saved.page, "info"))
	}
	if got := e.wantAudit("merchant.update", "merchant", id, adminEmail); got.Detail != "name: Duka Letu Ltd" {
		t.Errorf("merchant.update detail = %q", got.Detail)
	}

	shown, key := makeKey(t, b, b.get(e.app.URL+"/admin/merchants/"+id), "Shop server")
	hint := key[len(key)-4:]
	keyID := e.keyIDs(id)[hint]
	if keyID == "" {
		t.Fatalf("no key ending in %s among %v", hint, e.keyIDs(id))
	}
	if got := e.wantAudit("api_key.create", "api_key", keyID, adminEmail); got.Detail != "merchant "+id+", name: Shop server, ends in "+hint {
		t.Errorf("api_key.create detail = %q", got.Detail)
	}

	rotated := b.submit(shown, "form[action$='/rotate']", url.Values{"overlap": {"1h0m0s"}})
	next := strings.TrimSpace(rotated.doc.Find("#new-key").Text())
	if rotated.status != http.StatusOK || !newKeyPattern.MatchString(next) {
		t.Fatalf("rotate: %d %q", rotated.status, next)
	}
	nextHint := next[len(next)-4:]
	nextID := e.keyIDs(id)[nextHint]
	got := e.wantAudit("api_key.rotate", "api_key", keyID, adminEmail)
	if !strings.Contains(got.Detail, "ends in "+hint+" -> "+nextHint) || !strings.Contains(got.Detail, "merchant "+id) {
		t.Errorf("api_key.rotate detail = %q, want the merchant and both hints", got.Detail)
	}

	page := b.get(e.app.URL + "/admin/merchants/" + id)
	revoked := b.submit(page, `form[action="/admin/merchants/`+id+`/keys/`+nextID+`/revoke"]`, nil)
	if revoked.status != http.StatusOK || !strings.Contains(alert(revoked, "info"), "revoked") {
		t.Fatalf("revoke: %d %s", revoked.status, alert(revoked, "info"))
	}
	if got := e.wantAudit("api_key.revoke", "api_key", nextID, adminEmail); got.Detail != "merchant "+id+", name: Shop server, ends in "+nextHint {
		t.Errorf("api_key.revoke detail = %q", got.Detail)
	}

	// One entry per action, in the order done; no key anywhere in the log.
	want := []string{"merchant.create", "merchant.update", "api_key.create", "api_key.rotate", "api_key.revoke"}
	if acts := e.auditActions()[start:]; strings.Join(acts, " ") != strings.Join(want, " ") {
		t.Errorf("entries = %v, want %v", acts, want)
	}
	e.noSecretIn(key)
	e.noSecretIn(next)
	e.noSecretIn(strings.TrimPrefix(key, "sk_live_"))
	e.noSecretIn(strings.TrimPrefix(next, "sk_live_"))
}

// TestAuditOfAccountActions: a password change, switching two-factor on
// and off and revoking a session each write one entry with the admin (email
// and id), the object (the admin, or the session's id), the request's IP
// and no detail (no password, secret or code); a refused revoke of another
// admin's session writes none.
func TestAuditOfAccountActions(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createAdmin()
	e.createAdminAs(otherAdminEmail, otherAdminPassword)
	b := e.loggedIn(adminEmail, adminPassword)
	phone := e.loggedIn(adminEmail, adminPassword)
	colleague := e.loggedIn(otherAdminEmail, otherAdminPassword)
	phoneID := thisSession(t, phone.get(e.app.URL+"/admin/account"))
	theirs := thisSession(t, colleague.get(e.app.URL+"/admin/account"))
	start := len(e.auditActions()) // the logins'

	// Revoking another admin's session is refused and not audited; revoking
	// one's own phone is.
	account := b.get(e.app.URL + "/admin/account")
	if r := b.noFollow().post(e.app.URL+"/admin/account/sessions/"+theirs+"/revoke", url.Values{"csrf_token": {csrfToken(account)}}, nil); r.status != http.StatusNotFound {
		t.Fatalf("revoke of another admin's session: %d, want 404", r.status)
	}
	if n := e.auditCount("account.session_revoke", ""); n != 0 {
		t.Fatalf("a refused revoke wrote %d entries", n)
	}
	if r := b.noFollow().submitRaw(account, "tr[data-session='"+phoneID+"'] form.revoke", nil); r.status != http.StatusSeeOther {
		t.Fatalf("revoke of the phone: %d", r.status)
	}
	entries := []payments.AuditEntry{e.wantAudit("account.session_revoke", "session", phoneID, adminEmail)}

	const next = "a brand new long password"
	done := b.submit(b.get(e.app.URL+"/admin/account"), "form.password-form", url.Values{"current_password": {adminPassword},
		"new_password": {next}, "confirm_password": {next}})
	if done.status != http.StatusOK || !strings.HasSuffix(done.url, "/admin/account?flash=password") {
		t.Fatalf("password change: %d at %s", done.status, done.url)
	}
	entries = append(entries, e.wantAudit("account.password_change", "admin", id, adminEmail))

	secret := e.enrolTOTP(b, id)
	entries = append(entries, e.wantAudit("account.totp_enable", "admin", id, adminEmail))

	e.clock.Advance(30 * time.Second) // past the step the set-up used
	off := b.submit(b.get(e.app.URL+"/admin/account"), "form.totp-disable", url.Values{"disable_password": {next},
		"disable_code": {code(t, secret, e.clock.Now())}})
	if off.status != http.StatusOK || !strings.HasSuffix(off.url, "flash=totp_off") {
		t.Fatalf("switch off: %d at %s", off.status, off.url)
	}
	entries = append(entries, e.wantAudit("account.totp_disable", "admin", id, adminEmail))

	for _, en := range entries {
		if en.Detail != "" {
			t.Errorf("%s detail = %q, want none", en.Action, en.Detail)
		}
	}
	want := []string{"account.session_revoke", "account.password_change", "account.totp_enable", "account.totp_disable"}
	if acts := e.auditActions()[start:]; strings.Join(acts, " ") != strings.Join(want, " ") {
		t.Errorf("entries = %v, want %v", acts, want)
	}
	for _, s := range []string{adminPassword, next, secret} {
		e.noSecretIn(s)
	}
}
