package main

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/PuerkitoBio/goquery"

	"checkout/gateway/sandbox"
)

// benchIPN measures verified Pesapal IPNs per second: the app runs in live
// mode against the Pesapal simulator of gateway/sandbox, served by this
// process on loopback (it answers with the documents' shapes). cfg.IPNs
// checkouts are created and a Pesapal payment started for each through the
// customer pages; the simulator then marks them COMPLETED, and cfg.IPNClients
// clients send one IPN each as fast as the app answers. Every IPN costs the
// app a status query to the simulator, the transition and its outbox write.
// The baseline is a loop of raw one-row SQLite write transactions, run for
// a second before the app starts and for a second after it stopped (while
// nothing else runs), on fresh files: their mean, so that a change in the
// machine's speed between the two is shared by the baseline too.
func benchIPN(cfg benchConfig) ([]row, error) {
	rawBefore, err := sqliteWrites(cfg.Dir+"/raw-before.db", time.Second)
	if err != nil {
		return nil, fmt.Errorf("raw SQLite writes: %w", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	simURL := "http://" + ln.Addr().String()
	consumerKey, consumerSecret := "bench-"+randomHex(8), randomHex(16)
	sim := sandbox.New(sandbox.Config{PublicURL: simURL, ConsumerKey: consumerKey, ConsumerSecret: consumerSecret, IPNRetries: -1})
	defer sim.Close()
	simSrv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = simSrv.Serve(ln) }()
	defer simSrv.Close()

	// The merchant's webhook endpoint: every paid checkout writes its
	// checkout.paid outbox row in the transition's transaction, and the
	// deliveries run beside the IPNs, as they would in production.
	hookLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hookSrv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		w.WriteHeader(http.StatusNoContent)
	})}
	go func() { _ = hookSrv.Serve(hookLn) }()
	defer hookSrv.Close()

	key := randomHex(16)
	db := cfg.Dir + "/ipn.db"
	app, err := startApp(cfg, "ipn", map[string]string{
		"CHECKOUT_SANDBOX": "0", "CHECKOUT_DB": db, "CHECKOUT_API_KEY": key, "CHECKOUT_SECRET": randomHex(32),
		"CHECKOUT_ADMIN_EMAIL": "admin@example.com", "CHECKOUT_ADMIN_PASSWORD": randomHex(12),
		// Each customer and each notification comes from its own address
		// (X-Forwarded-For from a trusted proxy on loopback), so that the
		// per-address limits do not decide the figure.
		"CHECKOUT_TRUSTED_PROXIES": "127.0.0.1",
		"PESAPAL_CONSUMER_KEY":     consumerKey, "PESAPAL_CONSUMER_SECRET": consumerSecret,
		"PESAPAL_URL":          sim.PesapalBaseURL(),
		"CHECKOUT_WEBHOOK_URL": "http://" + hookLn.Addr().String() + "/hooks", "CHECKOUT_WEBHOOK_ALLOW_PRIVATE": "1",
	})
	if err != nil {
		return nil, fmt.Errorf("start the app in live mode: %w", err)
	}
	defer app.stop()

	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	defer tr.CloseIdleConnections()
	ids := make([]string, cfg.IPNs)
	err = parallel(8, cfg.IPNs, func(i int) (err error) {
		ids[i], err = createCheckout(&http.Client{Transport: tr}, app.URL, key, "ipn-"+strconv.Itoa(i))
		return err
	})
	if err != nil {
		return nil, err
	}
	tracking := make([]string, cfg.IPNs)
	err = parallel(8, cfg.IPNs, func(i int) (err error) {
		tracking[i], err = startPesapal(tr, app.URL, ids[i], clientAddress(i))
		return err
	})
	if err != nil {
		return nil, err
	}
	refs := make([]string, cfg.IPNs)
	for i, t := range tracking {
		if err := sim.PesapalComplete(t, false); err != nil {
			return nil, err
		}
		o, _ := sim.PesapalOrder(t)
		refs[i] = o.MerchantReference
	}

	var failed atomic.Int64
	appCPU0, _ := cpuTime(app.Pid())
	selfCPU0, _ := cpuTime(os.Getpid())
	start := time.Now()
	err = parallel(cfg.IPNClients, cfg.IPNs, func(i int) error {
		if !sendIPN(tr, app.URL, tracking[i], refs[i], clientAddress(cfg.IPNs+i)) {
			failed.Add(1)
		}
		return nil
	})
	elapsed := time.Since(start)
	appCPU1, _ := cpuTime(app.Pid())
	selfCPU1, _ := cpuTime(os.Getpid())
	// CPU time per IPN, the app's and this process's (the simulator and
	// the clients): other load on the machine moves it far less than IPNs
	// per second, so it is what to compare between two builds.
	fmt.Fprintf(os.Stderr, "bench: CPU per IPN: app %v, simulator and clients %v\n",
		(appCPU1-appCPU0)/time.Duration(cfg.IPNs), (selfCPU1-selfCPU0)/time.Duration(cfg.IPNs))
	if err != nil {
		return nil, err
	}
	app.stop()
	rawAfter, err := sqliteWrites(cfg.Dir+"/raw-after.db", time.Second)
	if err != nil {
		return nil, fmt.Errorf("raw SQLite writes: %w", err)
	}
	raw := (rawBefore + rawAfter) / 2
	fmt.Fprintf(os.Stderr, "bench: raw SQLite writes: %s tx/s before the app, %s after\n", thousands(rawBefore), thousands(rawAfter))
	paid, err := countRows(db, `SELECT COUNT(*) FROM checkouts WHERE status = 'paid'`)
	if err != nil {
		return nil, err
	}
	outbox, err := countRows(db, `SELECT COUNT(*) FROM webhook_deliveries WHERE event_type = 'checkout.paid'`)
	if err != nil {
		return nil, err
	}
	perSec := float64(cfg.IPNs) / elapsed.Seconds()
	measured := thousands(perSec) + "/s"
	if failed.Load() > 0 || paid != cfg.IPNs || outbox != cfg.IPNs {
		measured += fmt.Sprintf(" (%d IPNs not acknowledged, %d of %d paid, %d checkout.paid outbox rows)", failed.Load(), paid, cfg.IPNs, outbox)
	}
	ratio := perSec / raw
	ok := failed.Load() == 0 && paid == cfg.IPNs && outbox == cfg.IPNs
	return []row{
		{Figure: fmt.Sprintf("verified Pesapal IPNs per second (%s IPNs, %d clients; IPN -> status query to a loopback fake -> transition -> outbox)",
			thousands(float64(cfg.IPNs)), cfg.IPNClients),
			Measured: measured, Target: ">= 1,000/s", Met: met(ok && perSec >= 1000)},
		{Figure: "the same, ratio to raw one-row SQLite write transactions",
			Measured: measured, Baseline: thousands(raw) + " tx/s", Ratio: fmt.Sprintf("%.3f", ratio), Target: ">= 0.05",
			Met: met(ok && ratio >= 0.05)},
	}, nil
}

// parallel runs f(0) ... f(n-1) on workers goroutines and returns the first
// error.
func parallel(workers, n int, f func(i int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// clientAddress is the i-th of distinct private addresses, one per customer
// or notification.
func clientAddress(i int) string {
	return fmt.Sprintf("10.%d.%d.%d", (i>>16)&255, (i>>8)&255, i&255)
}

// startPesapal has a customer (a browser of its own, from addr) open the
// checkout page and choose Pesapal, and returns the order tracking id of the
// iframe the app shows.
func startPesapal(tr http.RoundTripper, base, id, addr string) (string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: tr, Jar: jar, Timeout: 30 * time.Second}
	get := func(u string) (*goquery.Document, string, error) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("X-Forwarded-For", addr)
		return fetchDoc(c, req)
	}
	page, _, err := get(base + "/c/" + id)
	if err != nil {
		return "", err
	}
	token := page.Find("form.method-choice input[name=csrf_token]").AttrOr("value", "")
	form := url.Values{"method": {"pesapal"}, "csrf_token": {token}}
	req, _ := http.NewRequest(http.MethodPost, base+"/c/"+id+"/pay", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", addr)
	frame, at, err := fetchDoc(c, req)
	if err != nil {
		return "", fmt.Errorf("choose Pesapal: %w", err)
	}
	if !strings.HasSuffix(at, "/c/"+id+"/pesapal") {
		return "", fmt.Errorf("choose Pesapal: landed on %s", at)
	}
	src, err := url.Parse(frame.Find("iframe").AttrOr("src", ""))
	if err != nil || src.Query().Get("OrderTrackingId") == "" {
		return "", errors.New("choose Pesapal: no Pesapal iframe on the page")
	}
	return src.Query().Get("OrderTrackingId"), nil
}

// fetchDoc does req and parses the answer, which must be 200; it returns
// the URL the answer came from (after redirects).
func fetchDoc(c *http.Client, req *http.Request) (*goquery.Document, string, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return nil, "", fmt.Errorf("%s %s: HTTP %d %s", req.Method, req.URL.Path, resp.StatusCode, body)
	}
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	return doc, resp.Request.URL.String(), err
}

// sendIPN posts Pesapal's IPN for an order, from addr, and reports whether
// the app acknowledged it with 200 (stored and confirmed).
func sendIPN(tr http.RoundTripper, base, tracking, ref, addr string) bool {
	body := `{"OrderNotificationType":"IPNCHANGE","OrderTrackingId":"` + tracking + `","OrderMerchantReference":"` + ref + `"}`
	req, _ := http.NewRequest(http.MethodPost, base+"/ipn/pesapal", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// countRows runs a COUNT query on the app's database, read-only.
func countRows(path, query string) (int, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRow(query).Scan(&n)
	return n, err
}
