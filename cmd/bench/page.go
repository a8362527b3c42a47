package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is what one load window measured.
type loadResult struct {
	Requests int64         // answered 200 inside the window
	Errors   int64         // other answers and transport errors
	Window   time.Duration // its length
	CPU      time.Duration // the server process's CPU time over the window
}

func (r loadResult) PerSecond() float64 { return float64(r.Requests) / r.Window.Seconds() }

func (r loadResult) CPUPerRequest() time.Duration {
	if r.Requests == 0 {
		return 0
	}
	return r.CPU / time.Duration(r.Requests)
}

// load has clients keep-alive clients GET url back to back for warmup, then
// counts the answers of the next window and the server's CPU time over it.
// Each client keeps its cookies, as a customer's browser does. No
// Accept-Encoding is sent, so the app and the baseline write the same kind
// of bytes.
func load(url string, pid, clients int, warmup, window time.Duration) (loadResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	var counting atomic.Bool
	var ok, bad atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range clients {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Transport: tr, Jar: jar, Timeout: 10 * time.Second}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.Get(url)
				good := err == nil && resp.StatusCode == http.StatusOK
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					good = good && err == nil
				}
				if counting.Load() {
					if good {
						ok.Add(1)
					} else {
						bad.Add(1)
					}
				}
			}
		}()
	}
	time.Sleep(warmup)
	cpu0, err := cpuTime(pid)
	start := time.Now()
	counting.Store(true)
	time.Sleep(window)
	counting.Store(false)
	elapsed := time.Since(start)
	cpu1, err2 := cpuTime(pid)
	close(stop)
	wg.Wait()
	if err == nil {
		err = err2
	}
	return loadResult{Requests: ok.Load(), Errors: bad.Load(), Window: elapsed, CPU: cpu1 - cpu0}, err
}

// pageRounds is how many windows the app and the baseline each get.
const pageRounds = 5

// pairedLoad loads the app's page and the baseline's in alternating
// windows (the app's, then the baseline's, pageRounds times, each
// cfg.Duration/pageRounds long after a short warm-up; cfg.Warmup before the
// first of each), so that a change in the machine's speed during the run
// (other load, another tenant of the host) touches both alike. It returns
// the totals of each side and, as the figures, the median over the rounds
// of each round's throughput ratio and CPU-per-request ratio.
func pairedLoad(cfg benchConfig, appURL string, appPid int, baseURL string, basePid int) (app, base loadResult, tput, cpu float64, err error) {
	window := cfg.Duration / pageRounds
	var tputs, cpus []float64
	for i := range pageRounds {
		warm := cfg.Warmup / 4
		if i == 0 {
			warm = cfg.Warmup
		}
		// The app goes first in even rounds, the baseline in odd ones, so
		// that whatever favours one place in a round is shared.
		var a, b loadResult
		first, second := &a, &b
		firstURL, firstPid, secondURL, secondPid := appURL, appPid, baseURL, basePid
		if i%2 == 1 {
			first, second = &b, &a
			firstURL, firstPid, secondURL, secondPid = baseURL, basePid, appURL, appPid
		}
		if *first, err = load(firstURL, firstPid, cfg.Clients, warm, window); err != nil {
			return app, base, 0, 0, err
		}
		if *second, err = load(secondURL, secondPid, cfg.Clients, warm, window); err != nil {
			return app, base, 0, 0, err
		}
		app, base = app.add(a), base.add(b)
		if a.Requests == 0 || b.Requests == 0 || b.CPUPerRequest() == 0 {
			return app, base, 0, 0, fmt.Errorf("page load round %d: app %d, baseline %d requests answered", i+1, a.Requests, b.Requests)
		}
		tputs = append(tputs, a.PerSecond()/b.PerSecond())
		cpus = append(cpus, float64(a.CPUPerRequest())/float64(b.CPUPerRequest()))
	}
	fmt.Fprintf(os.Stderr, "bench: page windows, throughput ratios %s, CPU ratios %s\n", twoDigits(tputs), twoDigits(cpus))
	return app, base, median(tputs), median(cpus), nil
}

// twoDigits lists xs as "0.55 0.61 ...".
func twoDigits(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatFloat(x, 'f', 2, 64)
	}
	return strings.Join(parts, " ")
}

// add is the two windows' counts together.
func (r loadResult) add(o loadResult) loadResult {
	return loadResult{Requests: r.Requests + o.Requests, Errors: r.Errors + o.Errors, Window: r.Window + o.Window, CPU: r.CPU + o.CPU}
}

// median of xs (not empty); xs is sorted in place.
func median(xs []float64) float64 {
	slices.Sort(xs)
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

// benchPage measures the checkout page: throughput and CPU per request
// against the bare Gin baseline, RSS idle and under load, and the first
// load's weight.
func benchPage(cfg benchConfig) ([]row, error) {
	key := randomHex(16)
	app, err := startApp(cfg, "page", map[string]string{
		"CHECKOUT_SANDBOX": "1", "CHECKOUT_DB": cfg.Dir + "/page.db", "CHECKOUT_API_KEY": key,
		"CHECKOUT_SECRET": randomHex(32),
	})
	if err != nil {
		return nil, fmt.Errorf("start the app: %w", err)
	}
	defer app.stop()
	id, err := createCheckout(http.DefaultClient, app.URL, key, "page-1")
	if err != nil {
		return nil, err
	}
	pageURL := app.URL + "/c/" + id

	// Idle: a few seconds after start, nothing asked of it but one page
	// and one checkout.
	time.Sleep(3 * time.Second)
	idle, _, err := memory(app.Pid())
	if err != nil {
		return nil, err
	}
	rows := []row{}
	weight, werr := firstLoad(pageURL)

	base, err := startBaseline()
	if err != nil {
		return nil, err
	}
	appLoad, baseLoad, tput, cpu, err := pairedLoad(cfg, pageURL, app.Pid(), base.URL+"/", base.Pid())
	base.stop()
	if err != nil {
		return nil, err
	}
	_, peak, err := memory(app.Pid())
	if err != nil {
		return nil, err
	}
	if appLoad.Errors > 0 || baseLoad.Errors > 0 {
		fmt.Printf("Errors during the load: app %d, baseline %d.\n\n", appLoad.Errors, baseLoad.Errors)
	}

	rows = append(rows,
		row{Figure: "checkout page `GET /c/{id}` throughput, " + strconv.Itoa(cfg.Clients) + " clients",
			Measured: thousands(appLoad.PerSecond()) + " req/s", Baseline: thousands(baseLoad.PerSecond()) + " req/s (bare Gin)",
			Ratio: fmt.Sprintf("%.2f", tput), Target: ">= 0.5", Met: met(tput >= 0.5)},
		row{Figure: "server CPU per checkout-page request",
			Measured: micros(appLoad.CPUPerRequest()), Baseline: micros(baseLoad.CPUPerRequest()) + " (bare Gin)",
			Ratio: fmt.Sprintf("%.1fx", cpu), Target: "<= 3x", Met: met(cpu <= 3)},
		row{Figure: "RSS idle", Measured: mb(idle), Target: "< 50 MB", Met: met(idle < 50<<20)},
		row{Figure: "RSS under page load (peak)", Measured: mb(peak), Target: "< 150 MB", Met: met(peak < 150<<20)},
	)
	if werr != nil {
		return append(rows, row{Figure: "checkout page first load", Measured: "not measured: " + oneLine(werr.Error())}), nil
	}
	return append(rows, weight...), nil
}

func micros(d time.Duration) string {
	return fmt.Sprintf("%.0f us", float64(d)/float64(time.Microsecond))
}

// createCheckout creates a KES 1,500 checkout over the merchant API and
// returns its id. A 429 is waited out as its Retry-After says.
func createCheckout(c *http.Client, base, key, ref string) (string, error) {
	body := `{"amount": "1500", "currency": "KES", "reference": "` + ref +
		`", "description": "Two bags of coffee", "customer": {"email": "jane@example.com"}}`
	for {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/checkouts", bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return "", err
		}
		var obj struct {
			ID string `json:"id"`
		}
		err = json.NewDecoder(resp.Body).Decode(&obj)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			time.Sleep(time.Duration(max(wait, 1)) * time.Second)
			continue
		}
		if resp.StatusCode != http.StatusCreated || err != nil || obj.ID == "" {
			return "", fmt.Errorf("create checkout: HTTP %d %v", resp.StatusCode, err)
		}
		return obj.ID, nil
	}
}
