// Command bench measures the app against the performance budget of issue 11
// and prints one Markdown table: each figure as measured, its baseline
// measured in the same run, their ratio, the target and whether it is met.
// It is a benchmark, not a test: nothing gates on its numbers.
//
// The app runs as a separate process (the binary given with -app, built from
// ./cmd/checkout), so its RSS and CPU are its own. The baselines run beside
// it: a bare Gin server (this binary again, with a hidden subcommand) and a
// loop of one-row SQLite write transactions in this process.
//
// Usage (make bench builds both binaries):
//
//	bench -app bin/checkout
//
// Knobs, from the environment: BENCH_DURATION (the load window of the page
// figures, default 5s), BENCH_ORDERS (orders seeded for the admin figures,
// default 1000000; 0 skips them), BENCH_IPNS (checkouts paid by IPN, default
// 1000), BENCH_IPN_CLIENTS (default 16), BENCH_KEEP=1 (keep the temporary
// directory with the databases and the app's logs), BENCH_ONLY (run only the
// steps whose name contains it: "checkout page", "Pesapal IPNs", "admin
// orders").
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == baselineCommand {
		serveBaseline()
		return
	}
	appBin := flag.String("app", "bin/checkout", "the app's binary, built from ./cmd/checkout")
	flag.Parse()
	// Absolute: the app's commands run in the bench's temporary directory.
	app, err := filepath.Abs(*appBin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: "+err.Error())
		os.Exit(1)
	}
	cfg := benchConfig{
		App:        app,
		Duration:   envDuration("BENCH_DURATION", 5*time.Second),
		Warmup:     time.Second,
		Clients:    32,
		Orders:     envInt("BENCH_ORDERS", 1_000_000),
		IPNs:       envInt("BENCH_IPNS", 1000),
		IPNClients: envInt("BENCH_IPN_CLIENTS", 16),
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench: "+err.Error())
		os.Exit(1)
	}
}

type benchConfig struct {
	App        string
	Dir        string // temporary: databases and the app's logs
	Duration   time.Duration
	Warmup     time.Duration
	Clients    int
	Orders     int
	IPNs       int
	IPNClients int
}

// row is one line of the table. Empty cells print as "-".
type row struct {
	Figure, Measured, Baseline, Ratio, Target, Met string
}

func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func run(cfg benchConfig) error {
	if _, err := os.Stat(cfg.App); err != nil {
		return fmt.Errorf("the app's binary: %w (build it with: go build -o %s ./cmd/checkout)", err, cfg.App)
	}
	dir, err := os.MkdirTemp("", "checkout-bench-")
	if err != nil {
		return err
	}
	cfg.Dir = dir
	if os.Getenv("BENCH_KEEP") == "1" {
		fmt.Fprintln(os.Stderr, "bench: keeping "+dir)
	} else {
		defer os.RemoveAll(dir)
	}

	var rows []row
	only := os.Getenv("BENCH_ONLY")
	step := func(name string, f func(benchConfig) ([]row, error)) {
		if only != "" && !strings.Contains(name, only) {
			return
		}
		fmt.Fprintln(os.Stderr, "bench: "+name+" ...")
		r, err := f(cfg)
		if err != nil {
			r = append(r, row{Figure: name, Measured: "not measured: " + oneLine(err.Error())})
		}
		rows = append(rows, r...)
	}
	step("checkout page", benchPage)
	step("Pesapal IPNs", benchIPN)
	step("admin orders", benchAdmin)

	fmt.Printf("Measured %s on %d cores (%s, %s/%s), page load %s with %d clients, in %d windows alternating with the baseline's (ratios: the median of the windows'), after %s of warm-up.\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH,
		cfg.Duration, cfg.Clients, pageRounds, cfg.Warmup)
	printTable(rows)
	return nil
}

func printTable(rows []row) {
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	fmt.Println("| figure | measured | baseline (same run) | ratio | target | met? |")
	fmt.Println("| --- | --- | --- | --- | --- | --- |")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %s | %s | %s | %s |\n", r.Figure, dash(r.Measured), dash(r.Baseline), dash(r.Ratio), dash(r.Target), dash(r.Met))
	}
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

func envInt(name string, def int) int {
	v, err := strconv.Atoi(strings.ReplaceAll(os.Getenv(name), "_", ""))
	if err != nil || v < 0 {
		return def
	}
	return v
}

func envDuration(name string, def time.Duration) time.Duration {
	v, err := time.ParseDuration(os.Getenv(name))
	if err != nil || v <= 0 {
		return def
	}
	return v
}

// thousands formats n with comma separators: 16877 -> "16,877".
func thousands(n float64) string {
	s := strconv.FormatInt(int64(n+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
