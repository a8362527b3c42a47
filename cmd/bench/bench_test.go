package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
)

func TestParseStatCPUCountsFieldsAfterACommandNameWithSpaces(t *testing.T) {
	// utime 150 and stime 50 ticks: fields 14 and 15, after the name "bin x) y".
	stat := "4242 (bin x) y) S 1 4242 4242 0 -1 4194560 300 0 0 0 150 50 0 0 20 0 7 0 100 1000 200"
	got, err := parseStatCPU(stat)
	if err != nil || got != 2*time.Second {
		t.Fatalf("parseStatCPU = %v, %v; want 2s", got, err)
	}
	if _, err := parseStatCPU("4242 (bin) S 1"); err == nil {
		t.Fatal("a truncated stat line parsed")
	}
}

func TestParseStatusMemoryReadsRSSAndPeakInBytes(t *testing.T) {
	status := "Name:\tcheckout\nVmHWM:\t   72000 kB\nVmRSS:\t   70000 kB\nThreads:\t7\n"
	rss, peak, err := parseStatusMemory(status)
	if err != nil || rss != 70000<<10 || peak != 72000<<10 {
		t.Fatalf("parseStatusMemory = %d, %d, %v", rss, peak, err)
	}
	if _, _, err := parseStatusMemory("Name:\tcheckout\n"); err == nil {
		t.Fatal("a status without VmRSS parsed")
	}
}

func TestAssetURLsListsWhatABrowserLoadsOnce(t *testing.T) {
	page := `<html><head>
		<link rel="stylesheet" href="/static/app.css">
		<link rel="icon" href="/static/favicon.svg">
		<link rel="canonical" href="/c/co_1">
		<link rel="stylesheet" href="/static/app.css">
		<script src="/static/htmx.min.js" nonce="n"></script>
		<script nonce="n">inline()</script>
		</head><body><img src="logo.png"><img src="data:image/png;base64,AAAA"></body></html>`
	doc, err := goquery.NewDocumentFromReader(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	got, err := assetURLs(doc, "http://127.0.0.1:8080/c/co_1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"http://127.0.0.1:8080/static/app.css", "http://127.0.0.1:8080/static/favicon.svg",
		"http://127.0.0.1:8080/static/htmx.min.js", "http://127.0.0.1:8080/c/logo.png"}
	if !slices.Equal(got, want) {
		t.Fatalf("assetURLs = %q, want %q", got, want)
	}
}

func TestImmutableNeedsTheDirectiveAndALongMaxAge(t *testing.T) {
	for cc, want := range map[string]bool{
		"public, max-age=31536000, immutable":   true,
		"max-age=31536000":                      false,
		"immutable":                             false,
		"public, max-age=60, immutable":         false,
		"no-cache, max-age=31536000, immutable": false,
		"":                                      false,
	} {
		if got := immutable(cc); got != want {
			t.Errorf("immutable(%q) = %v, want %v", cc, got, want)
		}
	}
}

func TestBaselinePageIs2300Bytes(t *testing.T) {
	if n := len(baselinePage); n != 2300 {
		t.Fatalf("baseline page is %d bytes", n)
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 16877.4: "16,877", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%v) = %q, want %q", n, got, want)
		}
	}
}

func TestMedianOfOddAndEvenCounts(t *testing.T) {
	if got := median([]float64{0.7, 0.4, 0.5}); got != 0.5 {
		t.Fatalf("median of 3 = %v, want 0.5", got)
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Fatalf("median of 4 = %v, want 2.5", got)
	}
}
