package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"checkout/handlers"
	"checkout/web"
	"checkout/web/apicheck"
)

// TestEveryPageShowsTheTestModeMarkInTestModeOnly opens every kind of page a
// customer or an admin sees, in test mode and in live mode: the "Test mode"
// mark is on each of them in test mode and on none in live mode.
func TestEveryPageShowsTheTestModeMarkInTestModeOnly(t *testing.T) {
	for _, mode := range []struct {
		name     string
		testMode bool
	}{{"test mode", true}, {"live mode", false}} {
		t.Run(mode.name, func(t *testing.T) {
			e := newEnv(t, envOptions{testMode: mode.testMode, stk: "pokeapay"})
			pages := map[string]page{}

			// Customer pages.
			id := e.createCheckout("mark-1")
			b := e.browser()
			pages["checkout"] = b.get(e.app.URL + "/c/" + id)
			pages["stk wait"] = e.pushSTK(b, id, "0712345678")
			pages["unknown checkout"] = b.get(e.app.URL + "/c/chk_nosuchcheckout")
			pages["no such route"] = b.get(e.app.URL + "/nowhere")
			_, frame, _ := e.startPesapal(e.createCheckout("mark-2"))
			pages["pesapal frame"] = frame
			paid := e.createCheckout("mark-3")
			e.payByIPN(paid)
			pages["receipt"] = b.get(e.app.URL + "/c/" + paid)

			// Admin pages.
			pages["admin login"] = e.browser().get(e.app.URL + "/admin/login")
			ab := e.adminBrowser()
			pages["admin orders"] = ab.get(e.app.URL + "/admin/orders")
			pages["admin order"] = ab.get(e.app.URL + "/admin/orders/" + id)
			pages["admin deliveries"] = ab.get(e.app.URL + "/admin/deliveries")
			pages["admin webhooks"] = ab.get(e.app.URL + "/admin/webhooks")

			for name, p := range pages {
				if p.doc.Find("main").Length() == 0 {
					t.Errorf("%s: not a full page (status %d):\n%s", name, p.status, p.body)
					continue
				}
				mark := p.doc.Find("body > .test-mode")
				if !mode.testMode {
					if mark.Length() != 0 || strings.Contains(p.body, "Test mode") {
						t.Errorf("%s: live mode page shows the test mode mark", name)
					}
					continue
				}
				if mark.Length() != 1 || !strings.Contains(mark.Text(), "Test mode") || mark.AttrOr("role", "") != "note" {
					t.Errorf("%s: test mode page lacks the mark (found %d):\n%s", name, mark.Length(), p.body)
				}
			}
		})
	}
}

// gateCase is one request to an app in some stage of its life.
type gateCase struct {
	name       string
	path       string
	key        bool // send the merchant's API key
	status     int
	retryAfter string
	body       string // a part of the body
}

// TestStartingAppAnswers503EverywhereButHealthz: until start-up is done
// every route answers 503 with Retry-After (JSON for the API), /readyz says
// "starting", /healthz is alive; once ready the same API request with the
// right key is served; while draining /readyz says "draining" and requests
// are still served.
func TestStartingAppAnswers503EverywhereButHealthz(t *testing.T) {
	e := newEnv(t, envOptions{})
	log := slog.New(slog.DiscardHandler)
	ready := handlers.NewReadiness()
	sess := web.NewSessions([]byte("0123456789abcdef0123456789abcdef"), []byte("abcdef0123456789abcdef0123456789"), false)
	srv := httptest.NewServer(apicheck.For(t).Handler(t, web.New(handlers.New(e.svc, sess, log), web.Config{Logger: log, Sessions: sess, Ready: ready})))
	defer srv.Close()
	id := e.createCheckout("starting-1")

	check := func(cases []gateCase) {
		t.Helper()
		for _, tc := range cases {
			req, err := http.NewRequest(http.MethodGet, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.key {
				req.Header.Set("Authorization", "Bearer "+testAPIKey)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || resp.Header.Get("Retry-After") != tc.retryAfter || !strings.Contains(string(body), tc.body) {
				t.Errorf("%s: %d, Retry-After %q, %s; want %d, Retry-After %q, %s", tc.name, resp.StatusCode,
					resp.Header.Get("Retry-After"), body, tc.status, tc.retryAfter, tc.body)
			}
		}
	}

	check([]gateCase{
		{"api while starting", "/api/v1/checkouts/" + id, true, 503, "1", `{"error":{"code":"starting","field":null,"message":"the service is starting; retry in a moment"}}`},
		{"customer page while starting", "/c/" + id, false, 503, "1", "The service is starting"},
		{"admin while starting", "/admin/login", false, 503, "1", "The service is starting"},
		{"unknown route while starting", "/nowhere", false, 503, "1", "The service is starting"},
		{"readyz while starting", "/readyz", false, 503, "1", `{"status":"starting"}`},
		{"healthz while starting", "/healthz", false, 200, "", `{"status":"ok"}`},
	})

	ready.Ready()
	check([]gateCase{
		{"api when ready", "/api/v1/checkouts/" + id, true, 200, "", `"id":"` + id + `"`},
		{"readyz when ready", "/readyz", false, 200, "", `{"database":"ok","status":"ok"}`},
	})

	ready.Drain()
	check([]gateCase{
		{"readyz while draining", "/readyz", false, 503, "", `{"status":"draining"}`},
		{"api while draining", "/api/v1/checkouts/" + id, true, 200, "", `"id":"` + id + `"`},
		{"healthz while draining", "/healthz", false, 200, "", `{"status":"ok"}`},
	})
}
