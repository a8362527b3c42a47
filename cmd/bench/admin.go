package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// benchAdmin seeds a database with cfg.Orders orders (the app's seed
// command), starts the app on it, logs in as the admin and times the
// orders list, its searches and the dashboard's periods: the median of a few requests each, from
// sending the request to the last byte of the page.
func benchAdmin(cfg benchConfig) ([]row, error) {
	figure := fmt.Sprintf("admin orders at %s orders", thousands(float64(cfg.Orders)))
	if cfg.Orders == 0 {
		return []row{{Figure: figure, Measured: "not measured: BENCH_ORDERS=0"}}, nil
	}
	if !knowsSeed(cfg) {
		return []row{{Figure: figure, Measured: "not measured: no seed command"}}, nil
	}
	db := cfg.Dir + "/admin.db"
	seedStart := time.Now()
	if out, err := exec.Command(cfg.App, "seed", "-db", db, "-orders", fmt.Sprint(cfg.Orders)).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("seed: %v: %s", err, lastOf(string(out)))
	}
	seedTime := time.Since(seedStart)
	picks, err := pickOrders(db, cfg.Orders)
	if err != nil {
		return nil, err
	}

	email, password := "admin@example.com", randomHex(12)
	app, err := startApp(cfg, "admin", map[string]string{
		"CHECKOUT_SANDBOX": "1", "CHECKOUT_DB": db, "CHECKOUT_SECRET": randomHex(32),
		"CHECKOUT_ADMIN_EMAIL": email, "CHECKOUT_ADMIN_PASSWORD": password,
	})
	if err != nil {
		return nil, fmt.Errorf("start the app on the seeded database: %w", err)
	}
	defer app.stop()
	c, err := adminLogin(app.URL, email, password)
	if err != nil {
		return nil, err
	}

	rows := []row{{Figure: "seeding " + thousands(float64(cfg.Orders)) + " orders (`checkout seed`)",
		Measured: seedTime.Round(100 * time.Millisecond).String()}}
	probes := []struct {
		name, query, want string
		target            time.Duration
	}{
		{"first page", "", "", 50 * time.Millisecond},
		{"a deep page (keyset `after`, halfway down)", "after=" + url.QueryEscape(picks.after), "", 50 * time.Millisecond},
		{"search by reference", "q=" + url.QueryEscape(picks.reference), picks.referenceID, 100 * time.Millisecond},
		{"search by receipt", "q=" + url.QueryEscape(picks.receipt), picks.receiptID, 100 * time.Millisecond},
		{"search by phone (written 07...)", "q=" + url.QueryEscape(picks.phone), picks.phoneID, 100 * time.Millisecond},
		{"search by a reference's first characters", "q=" + url.QueryEscape(prefixOf(picks.reference, 1)), picks.referenceID, 100 * time.Millisecond},
		{"search by an email's start, in capitals", "q=" + url.QueryEscape(strings.ToUpper(picks.email)), picks.emailID, 100 * time.Millisecond},
		{"search by part of a name", "q=wanjiru", "", 100 * time.Millisecond},
		{"filtered by provider and a created day", "provider=pesapal&from=" + picks.day + "&to=" + picks.day, "", 50 * time.Millisecond},
		{"filtered by a paid day", "paid_from=" + picks.day + "&paid_to=" + picks.day, "", 50 * time.Millisecond},
		{"filtered by a failure message", "failure=" + url.QueryEscape("Request cancelled by user."), "", 50 * time.Millisecond},
		{"pending over 10 minutes (stale)", "stale=1", "", 50 * time.Millisecond},
		{"flagged for review", "review=1", "", 50 * time.Millisecond},
	}
	for _, p := range probes {
		name := fmt.Sprintf("admin orders, %s, at %s orders", p.name, thousands(float64(cfg.Orders)))
		if p.query != "" && strings.HasSuffix(p.query, "=") {
			rows = append(rows, row{Figure: name, Measured: "not measured: the seeded orders have none"})
			continue
		}
		d, err := medianGet(c, app.URL+"/admin/orders?"+p.query, p.want, 5)
		if err != nil {
			rows = append(rows, row{Figure: name, Measured: "not measured: " + oneLine(err.Error())})
			continue
		}
		rows = append(rows, row{Figure: name, Measured: fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)),
			Target: fmt.Sprintf("< %d ms", p.target/time.Millisecond), Met: met(d < p.target)})
	}
	// The dashboard (/admin): its aggregates over the seeded orders, the
	// page included. The seed spreads its orders over 90 days up to now,
	// so each period has its share of them.
	for _, p := range []struct{ name, period string }{{"today", "today"}, {"7 days", "7d"}, {"30 days", "30d"}} {
		name := fmt.Sprintf("admin dashboard, %s, at %s orders", p.name, thousands(float64(cfg.Orders)))
		d, err := medianGet(c, app.URL+"/admin?period="+p.period, "Amount paid", 5)
		if err != nil {
			rows = append(rows, row{Figure: name, Measured: "not measured: " + oneLine(err.Error())})
			continue
		}
		target := 200 * time.Millisecond
		rows = append(rows, row{Figure: name, Measured: fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)),
			Target: fmt.Sprintf("< %d ms", target/time.Millisecond), Met: met(d < target)})
	}
	rows = append(rows, csvFigure(c, app.URL, cfg.Orders))
	return rows, nil
}

// csvFigure times GET /admin/orders.csv of every order, to the last byte:
// a figure without a target (it grows with the orders), measured once.
func csvFigure(c *http.Client, base string, orders int) row {
	name := fmt.Sprintf("admin orders.csv, every order, at %s orders", thousands(float64(orders)))
	start := time.Now()
	resp, err := c.Get(base + "/admin/orders.csv")
	if err != nil {
		return row{Figure: name, Measured: "not measured: " + oneLine(err.Error())}
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	d := time.Since(start)
	if err != nil || resp.StatusCode != http.StatusOK {
		return row{Figure: name, Measured: fmt.Sprintf("not measured: HTTP %d, %v", resp.StatusCode, err)}
	}
	return row{Figure: name, Measured: fmt.Sprintf("%.1f s (%.0f MB)", d.Seconds(), float64(n)/(1<<20))}
}

// prefixOf is s without its last n characters.
func prefixOf(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:len(s)-n]
}

// knowsSeed reports whether the app's binary has the seed command: its
// help names -orders. A binary without it would start the server instead,
// so the probe runs with a deadline, on a loopback port and a throwaway
// database.
func knowsSeed(cfg benchConfig) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cfg.App, "seed", "-h")
	cmd.Dir = cfg.Dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "CHECKOUT_SANDBOX=1",
		"CHECKOUT_ADDR=127.0.0.1:0", "CHECKOUT_DB=" + cfg.Dir + "/probe.db"}
	out, _ := cmd.CombinedOutput()
	return strings.Contains(string(out), "-orders")
}

// picked are the seeded orders the admin figures look for.
type picked struct {
	after                  string // an id halfway down the list
	reference, referenceID string
	receipt, receiptID     string
	phone, phoneID         string // phone as a customer writes it (07...)
	email, emailID         string // the start of an email, up to its @
	day                    string // the Nairobi day of the deep page's order
}

// pickOrders chooses, from the seeded database read-only, a checkout
// halfway down the list for the deep page, and ones a third of the way down
// to search by reference, receipt and phone.
func pickOrders(path string, orders int) (picked, error) {
	var p picked
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		return p, err
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT id FROM checkouts ORDER BY id DESC LIMIT 1 OFFSET ?`, orders/2).Scan(&p.after); err != nil {
		return p, fmt.Errorf("pick a deep page: %w", err)
	}
	var third string
	if err := db.QueryRow(`SELECT id, reference FROM checkouts ORDER BY id DESC LIMIT 1 OFFSET ?`, orders/3).
		Scan(&third, &p.reference); err != nil {
		return p, fmt.Errorf("pick a reference: %w", err)
	}
	p.referenceID = third
	// Absent receipts or phones leave the search unmeasured, not failed.
	_ = db.QueryRow(`SELECT id, receipt FROM checkouts WHERE id <= ? AND receipt IS NOT NULL AND receipt <> '' ORDER BY id DESC LIMIT 1`,
		third).Scan(&p.receiptID, &p.receipt)
	var phone string
	_ = db.QueryRow(`SELECT id, customer_phone FROM checkouts WHERE id <= ? AND customer_phone IS NOT NULL AND customer_phone <> '' ORDER BY id DESC LIMIT 1`,
		third).Scan(&p.phoneID, &phone)
	if strings.HasPrefix(phone, "254") && len(phone) == 12 {
		phone = "0" + phone[3:]
	}
	p.phone = phone
	var email string
	_ = db.QueryRow(`SELECT id, customer_email FROM checkouts WHERE id <= ? AND customer_email <> '' ORDER BY id DESC LIMIT 1`,
		third).Scan(&p.emailID, &email)
	if at := strings.IndexByte(email, '@'); at > 0 {
		p.email = email[:at+1] // the name part: one customer's orders
	}
	var created time.Time
	if err := db.QueryRow(`SELECT created_at FROM checkouts WHERE id = ?`, p.after).Scan(&created); err == nil {
		p.day = created.In(time.FixedZone("EAT", 3*3600)).Format("2006-01-02")
	}
	return p, nil
}

// adminLogin logs in through the login form (with its CSRF token) and
// returns a client holding the admin session.
func adminLogin(base, email, password string) (*http.Client, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	req, _ := http.NewRequest(http.MethodGet, base+"/admin/login", nil)
	doc, _, err := fetchDoc(c, req)
	if err != nil {
		return nil, err
	}
	form := url.Values{"email": {email}, "password": {password},
		"csrf_token": {doc.Find("input[name=csrf_token]").AttrOr("value", "")}}
	req, _ = http.NewRequest(http.MethodPost, base+"/admin/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, at, err := fetchDoc(c, req)
	if err != nil {
		return nil, fmt.Errorf("admin login: %w", err)
	}
	if u, _ := url.Parse(at); u == nil || u.Path == "/admin/login" {
		return nil, fmt.Errorf("admin login refused (at %s)", at)
	}
	return c, nil
}

// medianGet GETs u runs times and returns the median time to the last
// byte. Each answer must be 200, the page asked for (not the login form a
// lost session redirects to) and, when want is set, contain it.
func medianGet(c *http.Client, u, want string, runs int) (time.Duration, error) {
	asked, err := url.Parse(u)
	if err != nil {
		return 0, err
	}
	var ds []time.Duration
	for range runs {
		start := time.Now()
		resp, err := c.Get(u)
		if err != nil {
			return 0, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if err != nil {
			return 0, err
		}
		if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != asked.Path {
			return 0, fmt.Errorf("GET %s: HTTP %d at %s", u, resp.StatusCode, resp.Request.URL.Path)
		}
		if want != "" && !strings.Contains(string(body), want) {
			return 0, fmt.Errorf("GET %s: the page does not list %s", u, want)
		}
		ds = append(ds, d)
	}
	slices.Sort(ds)
	return ds[len(ds)/2], nil
}

func lastOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
