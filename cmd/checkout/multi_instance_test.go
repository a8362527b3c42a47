package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to create the test's database

	"checkout/gateway/sandbox"
	"checkout/payments"
	"checkout/store"
	"checkout/web/apicheck"
)

// The multi-instance test: three app processes on one database behind a
// pretend load balancer, one Pesapal, one merchant endpoint.

const (
	multiCheckouts = 1000
	multiIPNs      = 3 // per checkout, each to a random instance
	multiWorkers   = 16
)

// multiDatabase is the database the instances share: a new PostgreSQL
// database on the server CHECKOUT_TEST_POSTGRES names (dropped at the end),
// or else a SQLite file, which several processes can share too.
func multiDatabase(t *testing.T) (dsn, kind string) {
	t.Helper()
	base := os.Getenv("CHECKOUT_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("CHECKOUT_TEST_DB") == "postgres" {
			msg := "CHECKOUT_TEST_DB=postgres needs CHECKOUT_TEST_POSTGRES (a postgres:// URL of a role that may create databases)"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		return filepath.Join(t.TempDir(), "shared.db"), "sqlite"
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "multi_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	// Registered first, so it runs last: after the instances have stopped.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String(), "postgres"
}

// buildApp builds the app binary once, without the race detector: three
// of them run at once on a small machine.
func buildApp(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "checkout")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// instance is one app process.
type instance struct {
	name string
	url  string
	log  string // its output, shown when the test fails
	cmd  *exec.Cmd
	done chan error
	dead atomic.Bool
}

func startInstance(t *testing.T, bin, name string, env map[string]string) *instance {
	t.Helper()
	addr := freeAddr(t)
	in := &instance{name: name, url: "http://" + addr, log: filepath.Join(t.TempDir(), name+".log"), done: make(chan error, 1)}
	f, err := os.Create(in.log)
	if err != nil {
		t.Fatal(err)
	}
	in.cmd = exec.Command(bin)
	in.cmd.Env = []string{"CHECKOUT_ADDR=" + addr, "CHECKOUT_PUBLIC_URL=" + in.url}
	for k, v := range env {
		in.cmd.Env = append(in.cmd.Env, k+"="+v)
	}
	in.cmd.Stdout, in.cmd.Stderr = f, f
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { in.done <- in.cmd.Wait(); f.Close() }()
	t.Cleanup(func() {
		if t.Failed() {
			in.tail(t)
		}
		in.stop(t)
	})
	return in
}

// waitReady waits for /readyz to answer 200.
func (in *instance) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(in.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-in.done:
			in.done <- err
			t.Fatalf("%s exited before it was ready: %v", in.name, err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after 60 s", in.name)
		}
	}
}

// kill ends the process at once, as a crash or an OOM kill would.
func (in *instance) kill(t *testing.T) {
	in.dead.Store(true)
	if err := in.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Errorf("kill %s: %v", in.name, err)
	}
}

// stop asks the process to shut down (SIGTERM) and waits for it.
func (in *instance) stop(t *testing.T) {
	if in.cmd.ProcessState != nil {
		return
	}
	_ = in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-in.done:
		in.done <- err
		if err != nil && !in.dead.Load() {
			t.Errorf("%s stopped with %v", in.name, err)
		}
	case <-time.After(30 * time.Second):
		_ = in.cmd.Process.Kill()
		t.Errorf("%s did not stop within 30 s of SIGTERM", in.name)
	}
	in.dead.Store(true)
}

func (in *instance) tail(t *testing.T) {
	b, err := os.ReadFile(in.log)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var keep []string
	for _, l := range lines {
		if !strings.Contains(l, "msg=request ") {
			keep = append(keep, l)
		}
	}
	if len(keep) > 40 {
		keep = keep[len(keep)-40:]
	}
	t.Logf("%s output (requests left out):\n%s", in.name, strings.Join(keep, "\n"))
}

// balancer sends each request to a random live instance, and one whose
// connection fails to another, as a load balancer does.
type balancer struct {
	t         *testing.T
	instances []*instance
	client    *http.Client
	// rerouted counts requests cut by an instance's death and sent again
	// to another.
	rerouted atomic.Int64
}

// do sends the request built by build to a random live instance until one
// answers; it returns the response (body read) and the instance.
func (lb *balancer) do(build func(base string) (*http.Request, error)) (*http.Response, []byte, *instance, error) {
	for try := 0; try < 10; try++ {
		var live []*instance
		for _, in := range lb.instances {
			if !in.dead.Load() {
				live = append(live, in)
			}
		}
		if len(live) == 0 {
			return nil, nil, nil, errors.New("no instance left")
		}
		in := live[mrand.IntN(len(live))]
		req, err := build(in.url)
		if err != nil {
			return nil, nil, nil, err
		}
		resp, err := lb.client.Do(req)
		if err != nil {
			if in.dead.Load() {
				lb.rerouted.Add(1)
				continue // killed meanwhile: the balancer tries another
			}
			return nil, nil, nil, fmt.Errorf("%s: %w", in.name, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			if in.dead.Load() {
				lb.rerouted.Add(1)
				continue
			}
			return nil, nil, nil, fmt.Errorf("%s: read answer: %w", in.name, err)
		}
		return resp, body, in, nil
	}
	return nil, nil, nil, errors.New("no instance answered in 10 tries")
}

// hookReceiver is the merchant's webhook endpoint: it keeps every request
// and counts those in flight at once. Once armed, it holds the next
// request without answering (the trap): the test finds the instance that
// sent it and kills it mid-try.
type hookReceiver struct {
	mu       sync.Mutex
	inFlight int
	most     int
	got      []hookRequest
	paid     map[string]bool // webhook-ids of checkout.paid events
	armed    bool
	trap     *trappedHook
	trapped  chan *trappedHook // the trap, once it holds a request
	// sender finds the pid of the instance at the client end of a
	// request's connection.
	sender func(remoteAddr string) (int, error)
}

// endpointWork is how long the merchant's endpoint takes per request.
const endpointWork = 5 * time.Millisecond

type hookRequest struct {
	id, timestamp, signature string
	body                     []byte
	at                       time.Time
	// sender is the pid of the instance that sent it, looked up for the
	// trapped delivery's requests only (0 for the others).
	sender    int
	senderErr error
}

// trappedHook is the delivery the endpoint held.
type trappedHook struct {
	id        string
	at        time.Time
	sender    int
	senderErr error
	// killed is closed by the test just before it kills the sender.
	killed chan struct{}
	// ended is closed once the held request's connection is gone (or the
	// receiver gave up waiting); cutByKill says it went after killed.
	ended     chan struct{}
	cutByKill bool
}

func (r *hookReceiver) arm() {
	r.mu.Lock()
	r.armed = true
	r.mu.Unlock()
}

func (r *hookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	id, now := req.Header.Get("webhook-id"), time.Now()
	r.mu.Lock()
	r.inFlight++
	r.most = max(r.most, r.inFlight)
	var caught *trappedHook
	if r.armed && r.trap == nil {
		caught = &trappedHook{id: id, at: now, killed: make(chan struct{}), ended: make(chan struct{})}
		r.trap = caught
	}
	ofTrap := r.trap != nil && r.trap.id == id
	n := len(r.got)
	r.got = append(r.got, hookRequest{id: id, timestamp: req.Header.Get("webhook-timestamp"),
		signature: req.Header.Get("webhook-signature"), body: body, at: now})
	if bytes.Contains(body, []byte(`"type":"checkout.paid"`)) {
		r.paid[id] = true
	}
	r.mu.Unlock()
	if ofTrap {
		// While the request is open, its client socket is in the sender.
		pid, err := r.sender(req.RemoteAddr)
		r.mu.Lock()
		r.got[n].sender, r.got[n].senderErr = pid, err
		r.mu.Unlock()
		if caught != nil {
			caught.sender, caught.senderErr = pid, err
		}
	}
	if caught != nil {
		r.trapped <- caught
		// No answer: the sender is killed while it waits for one, and its
		// end closes the connection.
		select {
		case <-req.Context().Done():
			select {
			case <-caught.killed:
				caught.cutByKill = true
			default:
			}
		case <-time.After(time.Minute):
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		close(caught.ended)
		r.mu.Lock()
		r.inFlight--
		r.mu.Unlock()
		return
	}
	// A merchant's server takes a moment to store an event; two tries
	// sent at once would overlap here.
	time.Sleep(endpointWork)
	w.WriteHeader(http.StatusNoContent)
	r.mu.Lock()
	r.inFlight--
	r.mu.Unlock()
}

// trapRepeated reports whether the trapped delivery's webhook-id has come
// again since the held request.
func (r *hookReceiver) trapRepeated() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.trap == nil {
		return false
	}
	n := 0
	for _, g := range r.got {
		if g.id == r.trap.id {
			n++
		}
	}
	return n >= 2
}

func (r *hookReceiver) distinctPaid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.paid)
}

// parallel runs job(i) for i in [0, n) on multiWorkers goroutines and
// returns the first error.
func parallel(n int, job func(i int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range multiWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := job(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					next.Store(int64(n)) // stop handing out work
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// TestThreeInstancesPayAThousandCheckoutsOnceEachAndDeliverEveryWebhookOnce:
// three app processes share one database (PostgreSQL when
// CHECKOUT_TEST_POSTGRES names a server), one Pesapal and one merchant
// endpoint. A thousand checkouts are created and started with Pesapal
// through random instances, paid at Pesapal, and announced with three IPNs
// each, to random instances. A third of the way through the IPNs the
// endpoint holds the next webhook it receives without answering; the test
// finds the instance sending it (its socket, through /proc) and kills it
// (SIGKILL) with that try in flight, its claim and the endpoint's lease
// held, and an IPN half sent to it (which then goes to another instance,
// as do the IPNs it was answering). In the end every checkout is paid
// once, has one checkout.paid event, delivered with one webhook-id that
// never changed; the cut delivery came again with the same webhook-id
// and body from a live instance, and nothing reached the endpoint until
// the dead instance's claim ran out; no two deliveries were ever in
// flight to the endpoint at once.
func TestThreeInstancesPayAThousandCheckoutsOnceEachAndDeliverEveryWebhookOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three app processes and pays 1,000 checkouts; run without -short")
	}
	dsn, kind := multiDatabase(t)
	t.Logf("database: %s", kind)
	bin := buildApp(t)

	// Pesapal, one for all instances (a simulator keeps its state per
	// process, so it runs here, beside them).
	sim := simulator(t, func(url string) *sandbox.Sandbox {
		return sandbox.New(sandbox.Config{PublicURL: url, ConsumerKey: "multi-consumer-key", ConsumerSecret: "multi-consumer-secret",
			IPNDelay: -1, IPNRetries: -1})
	})

	if runtime.GOOS != "linux" {
		t.Skip("finds which instance sends a webhook through /proc (Linux)")
	}
	rcv := &hookReceiver{paid: map[string]bool{}, trapped: make(chan *trappedHook, 1)}
	hooks := httptest.NewServer(rcv)
	t.Cleanup(hooks.Close)
	whsec := payments.NewWebhookSecret()

	env := map[string]string{
		"CHECKOUT_DB": dsn, "CHECKOUT_SANDBOX": "0", "CHECKOUT_SECRET": strings.Repeat("m", 48),
		"CHECKOUT_ADMIN_EMAIL": "ops@example.co.ke", "CHECKOUT_ADMIN_PASSWORD": "a long admin password",
		"CHECKOUT_API_KEY": runTestKey,
		"PESAPAL_URL":      sim.PesapalBaseURL(), "PESAPAL_CONSUMER_KEY": "multi-consumer-key", "PESAPAL_CONSUMER_SECRET": "multi-consumer-secret",
		"CHECKOUT_WEBHOOK_URL": hooks.URL + "/hooks", "CHECKOUT_WEBHOOK_SECRET": whsec, "CHECKOUT_WEBHOOK_ALLOW_PRIVATE": "1",
		// The load balancer is the proxy: the client addresses it forwards
		// are the ones rate limits count.
		"CHECKOUT_TRUSTED_PROXIES": "127.0.0.1/32",
	}
	instances := make([]*instance, 3)
	for i := range instances {
		instances[i] = startInstance(t, bin, fmt.Sprintf("instance-%d", i+1), env)
	}
	for _, in := range instances {
		in.waitReady(t)
	}
	pids := map[int]*instance{}
	for _, in := range instances {
		pids[in.cmd.Process.Pid] = in
	}
	rcv.sender = func(remote string) (int, error) {
		var all []int
		for pid := range pids {
			all = append(all, pid)
		}
		return socketOwner(remote, hooks.Listener.Addr().String(), all)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	began := time.Now()
	phase := func(what string) { t.Logf("%6.1f s  %s", time.Since(began).Seconds(), what) }
	lb := &balancer{t: t, instances: instances, client: &http.Client{
		Transport:     apicheck.For(t).Transport(t, &http.Transport{MaxIdleConnsPerHost: multiWorkers}),
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}

	// 1. The merchant creates the checkouts over the API, with an
	// Idempotency-Key, so a retry after a 429 creates nothing twice.
	ids := make([]string, multiCheckouts)
	err = parallel(multiCheckouts, func(i int) error {
		body := fmt.Sprintf(`{"amount": "%d", "currency": "KES", "reference": "multi-%04d", "description": "Order %d", "customer": {"email": "c%d@example.com"}}`,
			100+i, i, i, i)
		for {
			resp, b, _, err := lb.do(func(base string) (*http.Request, error) {
				req, err := http.NewRequest(http.MethodPost, base+"/api/v1/checkouts", strings.NewReader(body))
				if err == nil {
					req.Header.Set("Authorization", "Bearer "+runTestKey)
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Idempotency-Key", fmt.Sprintf("multi-%04d", i))
				}
				return req, err
			})
			if err != nil {
				return err
			}
			if resp.StatusCode == http.StatusTooManyRequests {
				wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
				time.Sleep(time.Duration(max(wait, 1)) * time.Second) // as the merchant's client is told
				continue
			}
			var obj struct{ ID string }
			if resp.StatusCode != http.StatusCreated || json.Unmarshal(b, &obj) != nil || obj.ID == "" {
				return fmt.Errorf("create %d: %d %s", i, resp.StatusCode, b)
			}
			ids[i] = obj.ID
			return nil
		}
	})
	if err != nil {
		t.Fatal(err)
	}

	phase("checkouts created")

	// 2. Each customer (an address of their own) opens the page, chooses
	// Pesapal and gets Pesapal's page in the frame: its tracking id.
	tracking := make([]string, multiCheckouts)
	err = parallel(multiCheckouts, func(i int) error {
		tid, err := payWithPesapal(lb, ids[i], fmt.Sprintf("10.1.%d.%d", i/250, i%250+1))
		tracking[i] = tid
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	phase("payments started")

	// 3. Every customer pays at Pesapal; its IPNs come from this test.
	for _, tid := range tracking {
		if err := sim.PesapalComplete(tid, false); err != nil {
			t.Fatal(err)
		}
	}
	type ipn struct{ checkout int }
	jobs := make([]ipn, 0, multiCheckouts*multiIPNs)
	for i := range multiCheckouts {
		for range multiIPNs {
			jobs = append(jobs, ipn{i})
		}
	}
	mrand.Shuffle(len(jobs), func(a, b int) { jobs[a], jobs[b] = jobs[b], jobs[a] })
	sendIPN := func(j int, i int) (*instance, error) {
		o, ok := sim.PesapalOrder(tracking[i])
		if !ok {
			return nil, fmt.Errorf("no Pesapal order %s", tracking[i])
		}
		// Pesapal resends an IPN that was not acknowledged (HTTP 200 and
		// status 200); so does this test, a few times.
		for try := 0; ; try++ {
			resp, b, in, err := lb.do(func(base string) (*http.Request, error) {
				return pesapalIPN(base, j%2 == 0, o.TrackingID, o.MerchantReference, fmt.Sprintf("172.16.%d.%d", i/250, i%250+1))
			})
			if err != nil {
				return nil, err
			}
			if resp.StatusCode == http.StatusOK && bytes.Contains(b, []byte(`"status":200`)) {
				return in, nil
			}
			if try == 4 {
				return nil, fmt.Errorf("IPN for %s not acknowledged after %d tries: %d %s", ids[i], try+1, resp.StatusCode, b)
			}
		}
	}
	// One IPN is kept for the kill: it is on its way to the victim when it
	// dies, and then goes to another instance, as a load balancer does.
	straddler := len(jobs) - 1
	ipnJobs := jobs[:straddler]

	// The crash: a third of the way through the IPNs the endpoint holds the
	// next delivery it receives; the test finds the instance sending it,
	// which holds the endpoint's lease and the delivery's claim, and kills
	// it (SIGKILL) with that try in flight.
	var victim *instance
	var claimedUntil time.Time // the held delivery's claim, as stored
	killed := make(chan error, 1)
	go func() {
		killed <- func() error {
			var h *trappedHook
			select {
			case h = <-rcv.trapped:
			case <-time.After(90 * time.Second):
				return errors.New("no webhook was sent in the 90 s after the kill point")
			}
			if h.senderErr != nil {
				return fmt.Errorf("which instance sends webhook %s: %w", h.id, h.senderErr)
			}
			victim = pids[h.sender]
			// An IPN half sent to the victim when it dies.
			o, _ := sim.PesapalOrder(tracking[jobs[straddler].checkout])
			conn, err := net.Dial("tcp", strings.TrimPrefix(victim.url, "http://"))
			if err != nil {
				return err
			}
			defer conn.Close()
			body := fmt.Sprintf(`{"OrderNotificationType":"IPNCHANGE","OrderTrackingId":%q,"OrderMerchantReference":%q}`, o.TrackingID, o.MerchantReference)
			if _, err := fmt.Fprintf(conn, "POST /ipn/pesapal HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
				strings.TrimPrefix(victim.url, "http://"), len(body), body[:len(body)/2]); err != nil {
				return err
			}

			close(h.killed)
			victim.kill(t)
			err = <-victim.done
			victim.done <- err
			select {
			case <-h.ended:
			case <-time.After(30 * time.Second):
				return fmt.Errorf("%s is dead but its webhook request is still open", victim.name)
			}
			if !h.cutByKill {
				return fmt.Errorf("the held webhook request ended before %s was killed", victim.name)
			}
			// Its try was under its claim and the endpoint's lease, which
			// the dead process keeps until they run out.
			d, err := st.WebhookDelivery(ctx, h.id)
			if err != nil {
				return err
			}
			now := time.Now()
			if d.Status != store.DeliveryPending || d.ClaimedUntil == nil || !d.ClaimedUntil.After(now) {
				return fmt.Errorf("delivery %s, cut by the kill of %s, is not under its claim: %+v", h.id, victim.name, d)
			}
			claimedUntil = *d.ClaimedUntil
			sum := sha256.Sum256([]byte(hooks.URL + "/hooks"))
			lease := "webhook-endpoint:" + hex.EncodeToString(sum[:])
			if free, err := st.AcquireLease(ctx, lease, "multi-instance-test", now, now); err != nil || free {
				return fmt.Errorf("%s was killed sending %s, and the endpoint's lease is free (%v, %v)", victim.name, h.id, free, err)
			}
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			if answer, _ := io.ReadAll(conn); len(answer) != 0 {
				return fmt.Errorf("the IPN in flight to %s was answered: %q", victim.name, answer)
			}
			lb.rerouted.Add(1)
			in, err := sendIPN(straddler, jobs[straddler].checkout)
			if err == nil && in == victim {
				err = fmt.Errorf("the IPN cut by the kill went to the dead %s", victim.name)
			}
			return err
		}()
	}()

	var sent atomic.Int64
	err = parallel(len(ipnJobs), func(j int) error {
		if sent.Add(1) == int64(len(jobs)/3) {
			rcv.arm()
		}
		_, err := sendIPN(j, ipnJobs[j].checkout)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-killed; err != nil {
		t.Fatal(err)
	}
	phase(fmt.Sprintf("IPNs acknowledged; %s killed sending webhook %s; requests cut by the kill and sent to another instance: %d",
		victim.name, rcv.trap.id, lb.rerouted.Load()))

	// 4. Wait for every webhook to be delivered and recorded, and for the
	// delivery cut by the kill to be sent again once its claim runs out
	// (30 s). Every checkout.paid row exists by now: each was written with
	// its change to paid, and every IPN was acknowledged.
	deadline := time.Now().Add(90 * time.Second)
	for {
		// Failed and pending deliveries come first in this list.
		first, err := st.RecentWebhookDeliveries(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		if n := rcv.distinctPaid(); n > multiCheckouts {
			t.Fatalf("the endpoint has %d distinct checkout.paid webhook-ids for %d checkouts", n, multiCheckouts)
		}
		if rcv.distinctPaid() >= multiCheckouts && len(first) == 1 && first[0].Status == store.DeliveryDelivered && rcv.trapRepeated() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 90 s the endpoint has %d distinct checkout.paid webhooks (want %d), the one cut by the kill came again: %v, and a delivery is %+v",
				rcv.distinctPaid(), multiCheckouts, rcv.trapRepeated(), first)
		}
		time.Sleep(100 * time.Millisecond)
	}
	phase("webhooks delivered")
	for _, in := range instances {
		in.stop(t)
	}

	// 5. What the database says, once every instance has stopped.
	outbox := map[string]string{} // webhook-id -> checkout id
	extraTries := 0
	for i, id := range ids {
		co, err := st.Checkout(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if co.Status != store.StatusPaid || co.Receipt == "" || co.Amount != int64(100+i)*100 {
			t.Fatalf("checkout %s: status %s, receipt %q, amount %d; want paid with a receipt, %d", id, co.Status, co.Receipt, co.Amount, (100+i)*100)
		}
		evs, err := st.Events(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		paidEvents := 0
		for _, ev := range evs {
			if ev.ToStatus == string(store.StatusPaid) {
				paidEvents++
			}
		}
		if paidEvents != 1 {
			t.Fatalf("checkout %s has %d changes to paid in its timeline, want 1", id, paidEvents)
		}
		ds, err := st.WebhookDeliveries(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var paidHooks []store.WebhookDelivery
		for _, d := range ds {
			if d.EventType == store.WebhookCheckoutPaid {
				paidHooks = append(paidHooks, d)
			}
		}
		if len(paidHooks) != 1 || paidHooks[0].Status != store.DeliveryDelivered {
			t.Fatalf("checkout %s has checkout.paid deliveries %+v, want one, delivered", id, paidHooks)
		}
		outbox[paidHooks[0].ID] = id
		extraTries += paidHooks[0].Attempts - 1
	}

	// 6. What the endpoint received.
	key, err := payments.ParseWebhookSecret(whsec)
	if err != nil {
		t.Fatal(err)
	}
	rcv.mu.Lock()
	got, most := append([]hookRequest(nil), rcv.got...), rcv.most
	rcv.mu.Unlock()
	bodies := map[string][]byte{}
	seenCheckout := map[string]bool{}
	for _, r := range got {
		ts, err := strconv.ParseInt(r.timestamp, 10, 64)
		if err != nil || !strings.Contains(" "+r.signature+" ", " "+payments.SignWebhook(key, r.id, ts, r.body)+" ") {
			t.Fatalf("webhook %s: signature %q does not verify", r.id, r.signature)
		}
		if prev, ok := bodies[r.id]; ok {
			if !bytes.Equal(prev, r.body) {
				t.Fatalf("webhook %s was sent with two bodies:\n%s\n%s", r.id, prev, r.body)
			}
			continue
		}
		bodies[r.id] = r.body
		var env struct {
			Type string
			Data struct{ ID, Status string }
		}
		if err := json.Unmarshal(r.body, &env); err != nil {
			t.Fatalf("webhook %s: %v", r.id, err)
		}
		if env.Type != store.WebhookCheckoutPaid {
			continue
		}
		if outbox[r.id] != env.Data.ID || env.Data.Status != "paid" {
			t.Fatalf("webhook %s announces %s (%s); the outbox has it for %s", r.id, env.Data.ID, env.Data.Status, outbox[r.id])
		}
		if seenCheckout[env.Data.ID] {
			t.Fatalf("checkout %s announced under two webhook-ids", env.Data.ID)
		}
		seenCheckout[env.Data.ID] = true
	}
	if len(seenCheckout) != multiCheckouts {
		t.Fatalf("%d checkouts announced as paid, want %d", len(seenCheckout), multiCheckouts)
	}
	// A webhook-id is received again only after a try that did not count:
	// one that failed (recorded), or the one cut by the kill.
	if again := len(got) - len(bodies); again > extraTries+1 {
		t.Fatalf("%d requests repeated a webhook-id, but only %d tries failed and one instance was killed", again, extraTries)
	}
	if most > 1 {
		t.Fatalf("%d deliveries were in flight to the one endpoint at once, want at most 1", most)
	}

	// 7. The delivery cut by the kill: sent again, with the same webhook-id
	// and body, by a live instance, and only once the dead one's claim and
	// lease had run out: nothing reached the endpoint in between.
	trap := rcv.trap
	var again []hookRequest
	for _, r := range got {
		if r.at.After(trap.at) && r.at.Before(claimedUntil) {
			t.Fatalf("webhook %s reached the endpoint at %s, while the dead %s held its lease (until %s)",
				r.id, r.at.Format(time.StampMicro), victim.name, claimedUntil.Format(time.StampMicro))
		}
		if r.id == trap.id && r.at.After(trap.at) {
			again = append(again, r)
		}
	}
	if len(again) == 0 {
		t.Fatalf("webhook %s, cut by the kill of %s, was never sent again", trap.id, victim.name)
	}
	for _, r := range again {
		if r.senderErr != nil {
			t.Fatalf("which instance sent %s again: %v", trap.id, r.senderErr)
		}
		if in := pids[r.sender]; in == victim {
			t.Fatalf("webhook %s was sent again by the dead %s", trap.id, victim.name)
		}
	}
	tries, err := st.WebhookAttempts(ctx, trap.id)
	if err != nil {
		t.Fatal(err)
	}
	// The cut try left no record: the dead instance wrote nothing.
	if len(tries) != len(again) {
		t.Fatalf("webhook %s reached the endpoint %d times after the kill, and %d tries are recorded: %+v", trap.id, len(again), len(tries), tries)
	}
	t.Logf("webhook %s: held from %s, which was killed; sent again by %s after its claim ran out", trap.id, victim.name, pids[again[0].sender].name)
	t.Logf("%d webhook requests for %d events; at most %d in flight at once", len(got), len(bodies), most)
}

// payWithPesapal is a customer at address ip choosing Pesapal on the
// checkout page; it returns the tracking id of the Pesapal order shown in
// the frame.
func payWithPesapal(lb *balancer, id, ip string) (string, error) {
	get := func(path string, cookies []*http.Cookie) (*http.Response, []byte, error) {
		resp, b, _, err := lb.do(func(base string) (*http.Request, error) {
			req, err := http.NewRequest(http.MethodGet, base+path, nil)
			if err == nil {
				req.Header.Set("X-Forwarded-For", ip)
				for _, c := range cookies {
					req.AddCookie(c)
				}
			}
			return req, err
		})
		return resp, b, err
	}
	resp, page, err := get("/c/"+id, nil)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("checkout page %s: %d", id, resp.StatusCode)
	}
	cookies := resp.Cookies()
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(page))
	if err != nil {
		return "", err
	}
	tok, _ := doc.Find("form[action='/c/" + id + "/pay'] input[name='csrf_token']").First().Attr("value")
	if tok == "" {
		return "", fmt.Errorf("checkout page %s has no pay form with a CSRF token", id)
	}
	form := url.Values{"method": {"pesapal"}, "csrf_token": {tok}}.Encode()
	resp, b, _, err := lb.do(func(base string) (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPost, base+"/c/"+id+"/pay", strings.NewReader(form))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", ip)
			for _, c := range cookies {
				req.AddCookie(c)
			}
		}
		return req, err
	})
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("pay %s: %d %s", id, resp.StatusCode, firstLines(b))
	}
	resp, frame, err := get(resp.Header.Get("Location"), cookies)
	if err != nil {
		return "", err
	}
	doc, err = goquery.NewDocumentFromReader(bytes.NewReader(frame))
	if err != nil {
		return "", err
	}
	src, _ := doc.Find("iframe").Attr("src")
	u, err := url.Parse(src)
	if err != nil || u.Query().Get("OrderTrackingId") == "" {
		return "", fmt.Errorf("Pesapal frame of %s: %d, frame %q", id, resp.StatusCode, src)
	}
	return u.Query().Get("OrderTrackingId"), nil
}

// pesapalIPN builds a Pesapal IPN as the document shows it: a GET with the
// three fields in the query, or a POST with them as JSON.
func pesapalIPN(base string, asGet bool, trackingID, merchantRef, ip string) (*http.Request, error) {
	var req *http.Request
	var err error
	if asGet {
		q := url.Values{"OrderTrackingId": {trackingID}, "OrderMerchantReference": {merchantRef}, "OrderNotificationType": {"IPNCHANGE"}}
		req, err = http.NewRequest(http.MethodGet, base+"/ipn/pesapal?"+q.Encode(), nil)
	} else {
		body := fmt.Sprintf(`{"OrderNotificationType":"IPNCHANGE","OrderTrackingId":%q,"OrderMerchantReference":%q}`, trackingID, merchantRef)
		req, err = http.NewRequest(http.MethodPost, base+"/ipn/pesapal", strings.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if err == nil {
		req.Header.Set("X-Forwarded-For", ip)
	}
	return req, err
}

func firstLines(b []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	var out []string
	for sc.Scan() && len(out) < 5 {
		out = append(out, sc.Text())
	}
	return strings.Join(out, "\n")
}
