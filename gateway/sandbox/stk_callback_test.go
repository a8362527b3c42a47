package sandbox

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSTKDuplicateRateOneSendsEveryCallbackTwice(t *testing.T) {
	rc := callbackReceiver(t, nil)
	e := newSTKEnv(t, func(c *Config) { c.DuplicateIPNRate = 1 })
	e.stkPushOK(e.stkLogin(), stkPushBody("ORD-1", stkPhone, rc.srv.URL+"/pokeapay"))
	e.pochiCollectOK(e.pochiToken(), pochiBody("COL-1", stkPhone2, rc.srv.URL+"/pochipay"))
	e.pressPhone(STKPokeaPay, "ORD-1", "approve")
	e.pressPhone(STKPochipay, "COL-1", "decline")
	e.sb.WaitIPNs()
	paths := map[string]int{}
	bodies := map[string]string{}
	for range 4 {
		got := rc.next(t)
		paths[got.Path]++
		if prev, ok := bodies[got.Path]; ok && prev != got.Body {
			t.Errorf("the two copies differ:\n%s\n%s", prev, got.Body)
		}
		bodies[got.Path] = got.Body
	}
	if paths["/pokeapay"] != 2 || paths["/pochipay"] != 2 {
		t.Errorf("callbacks per path = %v, want 2 each", paths)
	}
	if a, b := e.sb.STKCallbacksSent(STKPokeaPay), e.sb.STKCallbacksSent(STKPochipay); a != 2 || b != 2 {
		t.Errorf("STKCallbacksSent = %d, %d; want 2 and 2", a, b)
	}
}

func TestSTKCallbackIsRetriedUntilA2xxAnswer(t *testing.T) {
	for _, provider := range []string{STKPokeaPay, STKPochipay} {
		t.Run(provider, func(t *testing.T) {
			rc := callbackReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n < 3 {
					w.WriteHeader(http.StatusInternalServerError)
					return
				}
				w.WriteHeader(http.StatusNoContent)
			})
			e := newSTKEnv(t, func(c *Config) { c.IPNRetries = 5 })
			ref := "REF-1"
			if provider == STKPokeaPay {
				e.stkPushOK(e.stkLogin(), stkPushBody(ref, stkPhone, rc.srv.URL+"/cb"))
			} else {
				e.pochiCollectOK(e.pochiToken(), pochiBody(ref, stkPhone, rc.srv.URL+"/cb"))
			}
			e.pressPhone(provider, ref, "approve")
			e.sb.WaitIPNs()
			first := rc.next(t).Body
			for i := range 2 {
				if got := rc.next(t).Body; got != first {
					t.Errorf("try %d body %s, want the first try's %s", i+2, got, first)
				}
			}
			if n := e.sb.STKCallbacksSent(provider); n != 3 || rc.count() != 3 {
				t.Errorf("sent %d, received %d; want 3 (two 500s, then 204)", n, rc.count())
			}
		})
	}
}

func TestSTKCallbackIsGivenUpAfterIPNRetries(t *testing.T) {
	rc := callbackReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	e := newSTKEnv(t, func(c *Config) { c.IPNRetries = 2 })
	e.pochiCollectOK(e.pochiToken(), pochiBody("COL-1", stkPhone, rc.srv.URL+"/cb"))
	if err := e.sb.STKAnswer(STKPochipay, "COL-1", STKCodeWrongPIN, true); err != nil {
		t.Fatal(err)
	}
	e.sb.WaitIPNs()
	if n := e.sb.STKCallbacksSent(STKPochipay); n != 3 || rc.count() != 3 {
		t.Errorf("sent %d, received %d; want 3 (the first try and 2 retries)", n, rc.count())
	}
}

func TestSTKAnswerWithoutCallbackSendsNoneAndSendSTKCallbackSendsOnce(t *testing.T) {
	var mu sync.Mutex
	status := http.StatusOK
	rc := callbackReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.WriteHeader(status)
	})
	e := newSTKEnv(t, nil)
	e.stkPushOK(e.stkLogin(), stkPushBody("ORD-1", stkPhone, rc.srv.URL+"/cb"))
	if err := e.sb.SendSTKCallback(STKPokeaPay, "ORD-1"); err == nil || !strings.Contains(err.Error(), "pending") {
		t.Errorf("SendSTKCallback of a pending prompt = %v, want an error saying it is pending", err)
	}
	if err := e.sb.STKAnswer(STKPokeaPay, "ORD-1", STKCodeSuccess, false); err != nil {
		t.Fatal(err)
	}
	e.sb.WaitIPNs()
	if rc.count() != 0 {
		t.Fatalf("%d callbacks for an answer without callback", rc.count())
	}
	if err := e.sb.SendSTKCallback(STKPokeaPay, "ORD-1"); err != nil {
		t.Errorf("SendSTKCallback = %v", err)
	}
	checkCallback(t, rc.next(t), "/cb")
	mu.Lock()
	status = http.StatusInternalServerError
	mu.Unlock()
	if err := e.sb.SendSTKCallback(STKPokeaPay, "ORD-1"); err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Errorf("refused callback: SendSTKCallback = %v, want an error naming HTTP 500", err)
	}
	if n := e.sb.STKCallbacksSent(STKPokeaPay); n != 2 {
		t.Errorf("STKCallbacksSent = %d, want 2 (SendSTKCallback does not retry)", n)
	}
}

func TestSTKCloseCancelsCallbacksUnderWayAndWaitsForThem(t *testing.T) {
	started := make(chan struct{})
	var once sync.Once
	rc := callbackReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(started) })
		<-r.Context().Done() // never answers: only the sender's cancellation ends it
	})
	e := newSTKEnv(t, nil)
	token := e.stkLogin()
	e.stkPushOK(token, stkPushBody("ORD-1", stkPhone, rc.srv.URL+"/cb"))
	e.pressPhone(STKPokeaPay, "ORD-1", "approve")
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the callback never started")
	}

	done := make(chan struct{})
	go func() { e.sb.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	e.sb.mu.Lock()
	inflight := e.sb.inflight
	e.sb.mu.Unlock()
	if inflight != 0 {
		t.Errorf("%d callback goroutines still running after Close", inflight)
	}

	// After Close nothing is scheduled or sent.
	e.stkPushOK(token, stkPushBody("ORD-2", stkPhone2, rc.srv.URL+"/cb"))
	e.pressPhone(STKPokeaPay, "ORD-2", "decline")
	if err := e.sb.SendSTKCallback(STKPokeaPay, "ORD-2"); err == nil {
		t.Error("SendSTKCallback after Close succeeded")
	}
	e.sb.mu.Lock()
	inflight = e.sb.inflight
	e.sb.mu.Unlock()
	if inflight != 0 || rc.count() != 1 {
		t.Errorf("after Close: %d goroutines, %d callbacks received; want 0 and 1", inflight, rc.count())
	}
}

func TestSTKCloseDoesNotWaitForTheCallbackDelay(t *testing.T) {
	rc := callbackReceiver(t, nil)
	e := newSTKEnv(t, func(c *Config) { c.IPNDelay = time.Hour })
	e.pochiCollectOK(e.pochiToken(), pochiBody("COL-1", stkPhone, rc.srv.URL+"/cb"))
	if err := e.sb.STKAnswer(STKPochipay, "COL-1", STKCodeSuccess, true); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	e.sb.Close()
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	if n := e.sb.STKCallbacksSent(STKPochipay); n != 0 || rc.count() != 0 {
		t.Errorf("callbacks sent = %d, received = %d; want none", n, rc.count())
	}
}

func TestSTKConcurrentPushesAnswersAndQueriesAreSafe(t *testing.T) {
	rc := callbackReceiver(t, nil)
	e := newSTKEnv(t, func(c *Config) { c.DuplicateIPNRate = 0.5 })
	token, pochi := e.stkLogin(), e.pochiToken()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	const n = 12
	actions := []string{"approve", "decline", "wrong_pin", "no_answer"}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			phone := fmt.Sprintf("2547%08d", i)
			ref := fmt.Sprint("REF-", i)
			provider := STKPokeaPay
			var resp *http.Response
			var raw []byte
			if i%2 == 0 {
				resp, raw = e.do("POST", e.stkURL("/stkPush/transaction"), token, stkPushBody(ref, phone, rc.srv.URL+"/cb"))
			} else {
				provider = STKPochipay
				resp, raw = e.do("POST", e.pochiURL("/collections/mpesa"), pochi, pochiBody(ref, phone, rc.srv.URL+"/cb"))
			}
			if resp.StatusCode != 200 {
				t.Errorf("%s push %d: HTTP %d %s", provider, i, resp.StatusCode, raw)
				return
			}
			p, _ := e.sb.STKPrompt(provider, ref)
			r, err := client.PostForm(e.srv.URL+PhonePath, url.Values{"id": {p.ID}, "action": {actions[i%len(actions)]}})
			if err != nil {
				t.Error(err)
				return
			}
			r.Body.Close()
			if provider == STKPokeaPay {
				e.stkQuery(token, ref, phone)
			} else {
				e.pochiQuery(pochi, url.Values{"OrderId": {ref}})
			}
			e.getPhone()
			_ = e.sb.STKPrompts()
		})
	}
	wg.Wait()
	e.sb.WaitIPNs()
	sent := e.sb.STKCallbacksSent(STKPokeaPay) + e.sb.STKCallbacksSent(STKPochipay)
	if got := rc.count(); got < n || got > 2*n || got != sent {
		t.Errorf("received %d callbacks, sent %d; want the same count between %d and %d", got, sent, n, 2*n)
	}
	if q := e.sb.STKQueries(STKPokeaPay) + e.sb.STKQueries(STKPochipay); q != n {
		t.Errorf("STKQueries = %d, want %d", q, n)
	}
	for _, p := range e.sb.STKPrompts() {
		if p.Status == STKPending {
			t.Errorf("prompt %s still pending", p.Reference)
		}
	}
}
