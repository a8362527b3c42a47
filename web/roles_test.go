package web_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"checkout/store"
)

// adminBrowserWithRole adds an admin with this email and role (the test
// password) and returns a browser logged in as it.
func (e *env) adminBrowserWithRole(email, role string) *browser {
	e.t.Helper()
	hash, err := store.HashPassword(adminPassword)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.CreateAdminWithRole(context.Background(), store.NewID("adm", e.clock.Now()), email, hash, role); err != nil {
		e.t.Fatal(err)
	}
	b := e.browser()
	if _, r := e.login(b, email, adminPassword); r.status != http.StatusSeeOther {
		e.t.Fatalf("login as %s: %d\n%s", email, r.status, r.body)
	}
	return b
}

// dbDigest is a digest of every row of every table of the database: two
// equal digests mean nothing was written in between.
func (e *env) dbDigest() string {
	e.t.Helper()
	db, err := sql.Open("sqlite3", "file:"+e.dbPath+"?_busy_timeout=5000")
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		e.t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		tables = append(tables, n)
	}
	if err := rows.Close(); err != nil {
		e.t.Fatal(err)
	}
	h := sha256.New()
	for _, tbl := range tables {
		rs, err := db.Query(`SELECT * FROM "` + tbl + `" ORDER BY 1`)
		if err != nil {
			e.t.Fatal(err)
		}
		cols, err := rs.Columns()
		if err != nil {
			e.t.Fatal(err)
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rs.Next() {
			if err := rs.Scan(ptrs...); err != nil {
				e.t.Fatal(err)
			}
			fmt.Fprintf(h, "%s %v\n", tbl, vals)
		}
		if err := rs.Close(); err != nil {
			e.t.Fatal(err)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// routeRole is the least role a registered admin route must demand, as
// DESIGN14 sets it: "" for the routes without a session (login, invite
// links). Owners: webhooks, merchants and keys, team, audit. Viewers: every
// other GET but the orders CSV, and of the POSTs only logout and their own
// account. Everything else: managers.
func routeRole(method, path string) string {
	switch {
	case path == "/admin/login" || strings.HasPrefix(path, "/admin/login/") || strings.HasPrefix(path, "/admin/invite/"):
		return ""
	case strings.HasPrefix(path, "/admin/webhooks"), strings.HasPrefix(path, "/admin/merchants"),
		strings.HasPrefix(path, "/admin/team"), strings.HasPrefix(path, "/admin/audit"), strings.HasPrefix(path, "/admin/invites"):
		return store.RoleOwner
	case method == http.MethodGet && path == "/admin/orders.csv":
		return store.RoleManager
	case method == http.MethodGet || method == http.MethodHead:
		return store.RoleViewer
	case path == "/admin/logout" || strings.HasPrefix(path, "/admin/account/"):
		return store.RoleViewer
	}
	return store.RoleManager
}

// TestAdminRoutesRefuseRolesBelowTheirGroup walks every admin route the
// engine registers (so routes added later are covered too): a viewer's
// request to each route that needs more (every POST but logout and its own
// account, the CSV, the owners' pages) and a manager's to each owners'
// route is refused with the role's 403 page, and nothing in the database
// changes.
func TestAdminRoutesRefuseRolesBelowTheirGroup(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.createAdmin() // an owner
	checkoutID := e.createCheckout("roles-1")
	status, link := e.api(http.MethodPost, "/api/v1/payment_links", `{"amount": "100", "currency": "KES", "description": "Maize"}`)
	if status != http.StatusCreated {
		t.Fatalf("link: %d %v", status, link)
	}
	linkID := link["id"].(string)
	viewer := e.adminBrowserWithRole("viewer@example.com", store.RoleViewer)
	manager := e.adminBrowserWithRole("manager@example.com", store.RoleManager)
	viewerID := func() string {
		u, err := e.store.AdminByEmail(context.Background(), "viewer@example.com")
		if err != nil {
			t.Fatal(err)
		}
		return u.ID
	}()
	// Values each form would need to succeed, were it let through.
	form := url.Values{"role": {store.RoleOwner}, "url": {"https://example.com/hook"}, "description": {"Maize"},
		"amount_mode": {"fixed"}, "amount": {"100"}, "merchant": {"default"}, "email": {"new@example.com"},
		"phone": {"0712345678"}, "confirm": {"1"}, "outcome": {"failed"}, "reason": {"no"}, "name": {"Shop"},
		"password": {"a new password 123"}, "confirm_password": {"a new password 123"}}
	param := func(path, name string) string {
		switch {
		case name == "merchant":
			return "default"
		case strings.HasPrefix(path, "/admin/orders/") && name == "id":
			return checkoutID
		case strings.HasPrefix(path, "/admin/links/") && name == "id":
			return linkID
		case strings.HasPrefix(path, "/admin/team/") && name == "id":
			return viewerID
		}
		return "x1"
	}
	concrete := func(path string) string {
		parts := strings.Split(path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
				parts[i] = param(path, p[1:])
			}
		}
		return strings.Join(parts, "/")
	}
	tokens := map[*browser]string{}
	for _, b := range []*browser{viewer, manager} {
		p := b.get(e.app.URL + "/admin")
		if p.status != http.StatusOK {
			t.Fatalf("dashboard: %d", p.status)
		}
		tokens[b] = csrfToken(p)
	}
	refused := func(t *testing.T, b *browser, who, method, path string) {
		t.Helper()
		before := e.dbDigest()
		var r reply
		if method == http.MethodGet || method == http.MethodHead {
			r = b.noFollow().fetch(e.app.URL + path)
		} else {
			vals := url.Values{"csrf_token": {tokens[b]}}
			for k, v := range form {
				vals[k] = v
			}
			r = b.noFollow().post(e.app.URL+path, vals, nil)
		}
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "Not allowed for your role") {
			t.Errorf("%s %s as %s: %d, want 403 for the role\n%.300s", method, path, who, r.status, r.body)
		}
		if after := e.dbDigest(); after != before {
			t.Errorf("%s %s as %s changed the database", method, path, who)
		}
	}
	var posts, ownerRoutes int
	seen := map[string]bool{}
	for _, rt := range e.engine.Routes() {
		if !strings.HasPrefix(rt.Path, "/admin") {
			continue
		}
		need := routeRole(rt.Method, rt.Path)
		if need == "" {
			continue
		}
		seen[rt.Method+" "+rt.Path] = true
		path := concrete(rt.Path)
		if need != store.RoleViewer {
			if rt.Method == http.MethodPost {
				posts++
			}
			t.Run("viewer "+rt.Method+" "+rt.Path, func(t *testing.T) { refused(t, viewer, "viewer", rt.Method, path) })
		}
		if need == store.RoleOwner {
			ownerRoutes++
			t.Run("manager "+rt.Method+" "+rt.Path, func(t *testing.T) { refused(t, manager, "manager", rt.Method, path) })
		}
	}
	// The walk saw the routes it is meant to guard (it cannot pass by
	// seeing none).
	for _, want := range []string{"POST /admin/orders/:id/recheck", "POST /admin/payouts", "POST /admin/links",
		"GET /admin/orders.csv", "POST /admin/team/:id/role", "GET /admin/audit", "GET /admin/webhooks", "POST /admin/logout"} {
		if !seen[want] {
			t.Errorf("route %s not registered", want)
		}
	}
	if posts < 20 || ownerRoutes < 10 {
		t.Errorf("checked %d POST routes and %d owners' routes; fewer than registered", posts, ownerRoutes)
	}
	// The role itself is what refuses: the same requests from an owner
	// pass the check.
	owner := e.browser()
	if _, r := e.login(owner, adminEmail, adminPassword); r.status != http.StatusSeeOther {
		t.Fatalf("owner login: %d", r.status)
	}
	for _, path := range []string{"/admin/team", "/admin/audit", "/admin/webhooks", "/admin/orders.csv"} {
		if r := owner.noFollow().fetch(e.app.URL + path); r.status != http.StatusOK {
			t.Errorf("owner GET %s: %d", path, r.status)
		}
	}
	if r := manager.noFollow().fetch(e.app.URL + "/admin/orders.csv"); r.status != http.StatusOK {
		t.Errorf("manager GET /admin/orders.csv: %d", r.status)
	}
}

// TestViewerPagesOfferNoActions: a viewer's pages hide what the role cannot
// do (the routes refuse it all the same), and the nav shows the owners'
// pages to owners only.
func TestViewerPagesOfferNoActions(t *testing.T) {
	e := newEnv(t, envOptions{})
	id := e.createCheckout("viewer-1")
	e.startPesapal(id)
	viewer := e.adminBrowserWithRole("viewer@example.com", store.RoleViewer)
	manager := e.adminBrowserWithRole("manager@example.com", store.RoleManager)
	owner := e.adminBrowser()

	for _, tc := range []struct {
		who                  string
		b                    *browser
		csv, recheck, newURL bool
		ownerNav             bool
	}{
		{"viewer", viewer, false, false, false, false},
		{"manager", manager, true, true, true, false},
		{"owner", owner, true, true, true, true},
	} {
		t.Run(tc.who, func(t *testing.T) {
			orders := tc.b.get(e.app.URL + "/admin/orders")
			if got := orders.doc.Find(`a[href^="/admin/orders.csv"]`).Length() > 0; got != tc.csv {
				t.Errorf("CSV link shown: %v, want %v", got, tc.csv)
			}
			order := tc.b.get(e.app.URL + "/admin/orders/" + id)
			if got := order.doc.Find("form[action$='/recheck']").Length() > 0; got != tc.recheck {
				t.Errorf("re-check form shown: %v, want %v", got, tc.recheck)
			}
			links := tc.b.get(e.app.URL + "/admin/links")
			if got := links.doc.Find(`a[href="/admin/links/new"]`).Length() > 0; got != tc.newURL {
				t.Errorf("new link shown: %v, want %v", got, tc.newURL)
			}
			for _, href := range []string{"/admin/team", "/admin/audit", "/admin/webhooks"} {
				if got := orders.doc.Find(`.admin-nav a[href="`+href+`"]`).Length() > 0; got != tc.ownerNav {
					t.Errorf("nav %s shown: %v, want %v", href, got, tc.ownerNav)
				}
			}
		})
	}
}
