package sandbox

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// checkPhoneHeaders checks the phone page's own security headers and that
// it has no script or inline style.
func checkPhoneHeaders(t *testing.T, resp *http.Response, page string) {
	t.Helper()
	m := nonceRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no <style nonce=...> block in the page:\n%s", page)
	}
	wantCSP := "default-src 'self'; style-src 'self' 'nonce-" + m[1] +
		"'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'; object-src 'none'"
	if got := resp.Header.Values("Content-Security-Policy"); len(got) != 1 || got[0] != wantCSP {
		t.Errorf("Content-Security-Policy = %q, want [%q]", got, wantCSP)
	}
	for name, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "SAMEORIGIN",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	for _, banned := range []string{"<script", " style=", "javascript:"} {
		if strings.Contains(page, banned) {
			t.Errorf("page contains %q", banned)
		}
	}
}

func TestPhonePageWithoutPromptsSaysHowToGetOne(t *testing.T) {
	e := newSTKEnv(t, nil)
	resp, page := e.getPhone()
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	checkPhoneHeaders(t, resp, page)
	for _, want := range []string{
		"<title>Sandbox phone</title>",
		`<meta http-equiv="refresh" content="3">`,
		"No prompts waiting. Start an M-Pesa payment on a checkout page.",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "<form") {
		t.Error("an empty phone shows a form")
	}
}

func TestPhonePageShowsPendingPromptsOfBothProvidersNewestFirst(t *testing.T) {
	e := newSTKEnv(t, nil)
	body := stkPushBody("ORD-<1>", stkPhone, "https://shop.example/cb")
	body["customerName"] = `Wanjiku "Shiro" <Kamau>`
	body["amount"] = json.Number("1500")
	e.stkPushOK(e.stkLogin(), body)
	e.clock.Add(2 * time.Minute)
	pochi := pochiBody("COL-1", stkPhone2, "https://shop.example/cb")
	pochi["amount"] = json.Number("25000")
	e.pochiCollectOK(e.pochiToken(), pochi)
	e.clock.Add(10 * time.Second)

	resp, page := e.getPhone()
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	checkPhoneHeaders(t, resp, page)
	pp, _ := e.sb.STKPrompt(STKPokeaPay, "ORD-<1>")
	pc, _ := e.sb.STKPrompt(STKPochipay, "COL-1")
	for _, want := range []string{
		`<meta name="viewport" content="width=device-width, initial-scale=1">`,
		`<meta http-equiv="refresh" content="3">`,
		"PokeaPay M-Pesa prompt",
		"KES 1,500",
		"Pay KES 1,500 to outlet OCT00001? Enter your M-Pesa PIN.",
		"<dt>Phone</dt><dd>254712345678</dd>",
		"<dt>Order reference</dt><dd>ORD-&lt;1&gt;</dd>",
		"<dt>Customer</dt><dd>Wanjiku &#34;Shiro&#34; &lt;Kamau&gt;</dd>",
		"<dt>Sent</dt><dd>2 min ago</dd>",
		"Pochipay M-Pesa prompt",
		"Pay KES 25,000 to Duka la Mama? Enter your M-Pesa PIN.",
		"<dt>Phone</dt><dd>254110000111</dd>",
		"<dt>Account</dt><dd>ORD-7</dd>",
		"<dt>Sent</dt><dd>10 s ago</dd>",
		`<form method="post" action="/sandbox/phone">`,
		`<input type="hidden" name="id" value="` + pp.ID + `">`,
		`<input type="hidden" name="id" value="` + pc.ID + `">`,
		`<button class="approve" type="submit" name="action" value="approve">Approve</button>`,
		`<button class="decline" type="submit" name="action" value="decline">Decline</button>`,
		`<button class="other" type="submit" name="action" value="wrong_pin">Wrong PIN</button>`,
		`<button class="other" type="submit" name="action" value="no_answer">No answer</button>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "No prompts waiting") {
		t.Error("the page says no prompts are waiting")
	}
	if i, j := strings.Index(page, pc.ID), strings.Index(page, pp.ID); i < 0 || j < 0 || i > j {
		t.Error("the newer Pochipay prompt is not shown first")
	}
	if n := strings.Count(page, "<form"); n != 2 {
		t.Errorf("%d forms, want 2", n)
	}
}

func TestPhonePageReplacesTheCSPOfOuterMiddleware(t *testing.T) {
	e := newSTKEnv(t, nil)
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'")
		w.Header().Set("X-Frame-Options", "DENY")
		e.sb.Handler().ServeHTTP(w, r)
	})
	rec := httptest.NewRecorder()
	outer.ServeHTTP(rec, httptest.NewRequest("GET", PhonePath, nil))
	checkPhoneHeaders(t, rec.Result(), rec.Body.String())
}

// phoneCase is one phone button and what it must cause.
type phoneCase struct {
	action, code, desc string
}

var phoneCases = []phoneCase{
	{"approve", "0", "The service request is processed successfully."},
	{"decline", "1032", "Request cancelled by user"},
	{"wrong_pin", "2001", "The initiator information is invalid."},
	{"no_answer", "1037", "DS timeout user cannot be reached"},
}

func TestPhoneButtonsSendThePokeaPayCallbackAndQueryAnswersTheResult(t *testing.T) {
	for _, c := range phoneCases {
		t.Run(c.action, func(t *testing.T) {
			rc := callbackReceiver(t, nil)
			e := newSTKEnv(t, nil)
			token := e.stkLogin()
			e.stkPushOK(token, stkPushBody("ORD-1", stkPhone, rc.srv.URL+"/callback/pokeapay-stk?src=sandbox"))
			e.clock.Add(30 * time.Second)
			e.pressPhone(STKPokeaPay, "ORD-1", c.action)

			p, _ := e.sb.STKPrompt(STKPokeaPay, "ORD-1")
			got := checkCallback(t, rc.next(t), "/callback/pokeapay-stk")
			if c.code == "0" {
				if p.Status != STKCompleted || !matches(receiptPattern).ok(p.Receipt) || p.PaidAmount != 150000 {
					t.Errorf("prompt = %+v", p)
				}
				checkJSON(t, "success callback", got, map[string]any{
					"success": true,
					"message": "Transaction completed successfully",
					"data": map[string]any{
						"receipt":    p.Receipt,
						"firstname":  "Wanjiku",
						"middlename": "Njeri",
						"lastname":   "Kamau",
						"orderRef":   "ORD-1",
						"amount":     json.Number("1500"),
						"phone":      stkPhone,
						"outletCode": ppOutlet,
						"variable1":  "ORD-7",
						"variable2":  "",
					},
				})
			} else {
				if p.Status != STKFailed || p.Receipt != "" || p.ResultCode != c.code || p.ResultDesc != c.desc {
					t.Errorf("prompt = %+v", p)
				}
				checkJSON(t, "failure callback", got, map[string]any{
					"success": false,
					"message": c.desc,
					"data": map[string]any{
						"orderRef":   "ORD-1",
						"amount":     json.Number("1500"),
						"phone":      stkPhone,
						"outletCode": ppOutlet,
						"variable1":  "ORD-7",
						"variable2":  "",
					},
				})
			}
			if !p.AnsweredAt.Equal(e.clock.Now()) {
				t.Errorf("AnsweredAt = %v, want %v", p.AnsweredAt, e.clock.Now())
			}

			// The query answers with the callback's body, as the document's
			// "Transaction Query Success" example does.
			resp, q := e.stkQuery(token, "ORD-1", stkPhone)
			want := got
			if resp.StatusCode != 200 {
				t.Errorf("query: HTTP %d", resp.StatusCode)
			}
			checkJSON(t, "query", q, want)

			e.sb.WaitIPNs()
			if n := e.sb.STKCallbacksSent(STKPokeaPay); n != 1 || rc.count() != 1 {
				t.Errorf("callbacks sent %d, received %d; want 1", n, rc.count())
			}
			_, page := e.getPhone()
			if strings.Contains(page, p.ID) || !strings.Contains(page, "No prompts waiting.") {
				t.Error("the answered prompt is still offered on the phone")
			}
			if !strings.Contains(page, "Recently answered") || !strings.Contains(page, "PokeaPay, 254712345678, KES 1,500: ") {
				t.Errorf("the answer is not listed:\n%s", page)
			}
		})
	}
}

func TestPhoneButtonsSendThePochipayCallbackAndStatusAnswersTheResult(t *testing.T) {
	for _, c := range phoneCases {
		t.Run(c.action, func(t *testing.T) {
			rc := callbackReceiver(t, nil)
			e := newSTKEnv(t, nil)
			token := e.pochiToken()
			id := e.pochiCollectOK(token, pochiBody("COL-1", stkPhone, rc.srv.URL+"/callback/pochipay"))
			e.pressPhone(STKPochipay, "COL-1", c.action)

			p, _ := e.sb.STKPrompt(STKPochipay, "COL-1")
			ok := c.code == "0"
			// Texts with no value are null, as in the examples.
			var receipt, failReason any = nil, c.desc
			status := "Failed"
			if ok {
				receipt, failReason, status = p.Receipt, nil, "Complete"
				if !matches(receiptPattern).ok(p.Receipt) {
					t.Errorf("receipt %q", p.Receipt)
				}
			}
			got := checkCallback(t, rc.next(t), "/callback/pochipay")
			checkJSON(t, "callback", got, map[string]any{
				"orderId":             "COL-1",
				"billRefNumber":       "ORD-7",
				"phoneNumber":         stkPhone,
				"amount":              json.Number("1500"),
				"thirdPartyReference": receipt,
				"isSuccessful":        ok,
				"failReason":          failReason,
				"resultDescription":   c.desc,
			})

			// No amount: the status examples have none when it is the one
			// asked.
			want := map[string]any{
				"result": map[string]any{
					"status":            status,
					"isSuccessful":      ok,
					"mpesaReference":    receipt,
					"resultDescription": c.desc,
					"failReason":        failReason,
				},
				"message": "Success",
				"errors":  []any{},
			}
			if resp, s := e.pochiStatus(token, id); resp.StatusCode != 200 {
				t.Errorf("transaction-status: HTTP %d", resp.StatusCode)
			} else {
				checkJSON(t, "transaction-status", s, want)
			}
			if resp, q := e.pochiQuery(token, url.Values{"OrderId": {"COL-1"}}); resp.StatusCode != 200 {
				t.Errorf("collection-query: HTTP %d", resp.StatusCode)
			} else {
				checkJSON(t, "collection-query", q, want)
			}
			if ok {
				if resp, q := e.pochiQuery(token, url.Values{"MpesaReference": {p.Receipt}}); resp.StatusCode != 200 {
					t.Errorf("collection-query by receipt: HTTP %d", resp.StatusCode)
				} else {
					checkJSON(t, "collection-query by receipt", q, want)
				}
			}
			e.sb.WaitIPNs()
			if n := e.sb.STKCallbacksSent(STKPochipay); n != 1 {
				t.Errorf("STKCallbacksSent(pochipay) = %d, want 1", n)
			}
			if n := e.sb.STKCallbacksSent(STKPokeaPay); n != 0 {
				t.Errorf("STKCallbacksSent(pokeapay) = %d, want 0", n)
			}
		})
	}
}

func TestPhoneFormRejectsBadInputAndIgnoresAnsweredPrompts(t *testing.T) {
	rc := callbackReceiver(t, nil)
	e := newSTKEnv(t, nil)
	e.stkPushOK(e.stkLogin(), stkPushBody("ORD-1", stkPhone, rc.srv.URL+"/cb"))
	p, _ := e.sb.STKPrompt(STKPokeaPay, "ORD-1")

	resp, page := e.postPhone(url.Values{"id": {"nope"}, "action": {"approve"}})
	if resp.StatusCode != 404 || !strings.Contains(page, "Unknown prompt") {
		t.Errorf("unknown id: HTTP %d\n%s", resp.StatusCode, page)
	}
	checkPhoneHeaders(t, resp, page)
	if strings.Contains(page, "http-equiv") {
		t.Error("an error page refreshes itself")
	}
	resp, page = e.postPhone(url.Values{"id": {p.ID}, "action": {"pay"}})
	if resp.StatusCode != 400 || !strings.Contains(page, "Choose Approve, Decline, Wrong PIN or No answer.") {
		t.Errorf("bad action: HTTP %d\n%s", resp.StatusCode, page)
	}
	if p, _ := e.sb.STKPrompt(STKPokeaPay, "ORD-1"); p.Status != STKPending {
		t.Errorf("prompt changed by bad input: %+v", p)
	}

	e.pressPhone(STKPokeaPay, "ORD-1", "decline")
	e.sb.WaitIPNs()
	before, _ := e.sb.STKPrompt(STKPokeaPay, "ORD-1")
	e.pressPhone(STKPokeaPay, "ORD-1", "approve") // a second press, from a stale page
	e.sb.WaitIPNs()
	if after, _ := e.sb.STKPrompt(STKPokeaPay, "ORD-1"); after != before {
		t.Errorf("an answered prompt changed:\n%+v\nwas\n%+v", after, before)
	}
	if rc.count() != 1 {
		t.Errorf("%d callbacks, want 1", rc.count())
	}
}

func TestSTKAnswerInsufficientFundsFailsWithCode1(t *testing.T) {
	const desc = "The balance is insufficient for the transaction."
	rc := callbackReceiver(t, nil)
	e := newSTKEnv(t, nil)
	token, pochi := e.stkLogin(), e.pochiToken()
	e.stkPushOK(token, stkPushBody("ORD-1", stkPhone, rc.srv.URL+"/pokeapay"))
	id := e.pochiCollectOK(pochi, pochiBody("COL-1", stkPhone2, rc.srv.URL+"/pochipay"))
	if err := e.sb.STKAnswer(STKPokeaPay, "ORD-1", STKCodeInsufficientFunds, true); err != nil {
		t.Fatal(err)
	}
	got := checkCallback(t, rc.next(t), "/pokeapay")
	if d := got["data"].(map[string]any); got["success"] != false || got["message"] != desc || d["orderRef"] != "ORD-1" {
		t.Errorf("PokeaPay callback = %v", got)
	}
	_, q := e.stkQuery(token, "ORD-1", stkPhone)
	if d := q["data"].(map[string]any); q["success"] != false || q["message"] != desc || d["orderRef"] != "ORD-1" {
		t.Errorf("PokeaPay query = %v", q)
	}

	if err := e.sb.STKAnswer(STKPochipay, "COL-1", "1", true); err != nil {
		t.Fatal(err)
	}
	got = checkCallback(t, rc.next(t), "/pochipay")
	if got["isSuccessful"] != false || got["failReason"] != desc || got["resultDescription"] != desc {
		t.Errorf("Pochipay callback = %v", got)
	}
	_, s := e.pochiStatus(pochi, id)
	if r := s["result"].(map[string]any); r["status"] != "Failed" || r["failReason"] != desc || r["resultDescription"] != desc {
		t.Errorf("Pochipay status = %v", s)
	}
}

func TestSTKHooksReportTheirErrors(t *testing.T) {
	e := newSTKEnv(t, nil)
	e.stkPushOK(e.stkLogin(), stkPushBody("ORD-1", stkPhone, "https://shop.example/cb"))
	for name, c := range map[string]struct {
		err  error
		want error
	}{
		"unknown provider": {e.sb.STKAnswer("mpesa", "ORD-1", "0", false), ErrSTKUnknownProvider},
		"unknown code":     {e.sb.STKAnswer(STKPokeaPay, "ORD-1", "9999", false), ErrSTKUnknownCode},
		"unknown prompt":   {e.sb.STKAnswer(STKPokeaPay, "ORD-404", "0", false), ErrSTKUnknownPrompt},
		"other provider":   {e.sb.STKAnswer(STKPochipay, "ORD-1", "0", false), ErrSTKUnknownPrompt},
		"pending callback": {e.sb.SendSTKCallback(STKPokeaPay, "ORD-1"), nil},
	} {
		if c.err == nil || (c.want != nil && !errors.Is(c.err, c.want)) {
			t.Errorf("%s: error %v, want %v", name, c.err, c.want)
		}
	}
	if err := e.sb.STKAnswer(STKPokeaPay, "ORD-1", STKCodeSuccess, false); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.STKAnswer(STKPokeaPay, "ORD-1", STKCodeCancelled, false); !errors.Is(err, ErrSTKPromptFinal) {
		t.Errorf("second answer: %v, want ErrSTKPromptFinal", err)
	}
	if err := e.sb.STKAnswerAmount(STKPokeaPay, "ORD-1", 100, false); !errors.Is(err, ErrSTKPromptFinal) {
		t.Errorf("STKAnswerAmount of an answered prompt: %v, want ErrSTKPromptFinal", err)
	}
	if n := e.sb.STKQueries("mpesa") + e.sb.STKLogins("mpesa") + e.sb.STKCallbacksSent("mpesa"); n != 0 {
		t.Errorf("counters of an unknown provider = %d", n)
	}
	e.sb.FailSTKQueries("mpesa", 3) // ignored
	for code, want := range map[string]string{"1001": stkResultTexts["1001"], "1019": "Transaction has expired", "2001": "The initiator information is invalid."} {
		if got, ok := STKResultText(code); !ok || got != want {
			t.Errorf("STKResultText(%s) = %q, %v", code, got, ok)
		}
	}
}

func TestReceiptsLookLikeMPesaReceipts(t *testing.T) {
	re := regexp.MustCompile(`^[A-Z0-9]{10}$`)
	seen := map[string]bool{}
	for range 200 {
		r := newReceipt()
		if !re.MatchString(r) || !strings.HasPrefix(r, "SBX") || seen[r] {
			t.Fatalf("receipt %q (seen before: %v)", r, seen[r])
		}
		seen[r] = true
	}
}
