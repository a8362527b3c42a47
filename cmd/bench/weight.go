package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"
)

// firstLoad fetches the checkout page as a new visitor's browser does
// (Accept-Encoding: br, gzip), then everything the page loads: stylesheets,
// icons, scripts and images. It sums the bytes of the bodies as sent
// (compressed when the server compressed them), counts the requests, and
// checks that each asset may be cached for good (Cache-Control immutable
// with a max-age), so that a repeat visit revalidates nothing.
func firstLoad(pageURL string) ([]row, error) {
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 10 * time.Second}
	total, _, err := fetchSize(c, pageURL, "br, gzip")
	if err != nil {
		return nil, err
	}
	// The asset URLs come from the page as written (identity), which needs
	// no decoder here.
	resp, err := c.Get(pageURL)
	if err != nil {
		return nil, err
	}
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	assets, err := assetURLs(doc, pageURL)
	if err != nil {
		return nil, err
	}
	requests, uncached := 1, []string{}
	detail := []string{fmt.Sprintf("page %s", kb(total))}
	for _, a := range assets {
		n, cc, err := fetchSize(c, a, "br, gzip")
		if err != nil {
			return nil, err
		}
		requests++
		total += n
		u, _ := url.Parse(a)
		detail = append(detail, fmt.Sprintf("%s %s", u.Path, kb(n)))
		if !immutable(cc) {
			uncached = append(uncached, u.Path)
		}
	}
	fmt.Fprintln(os.Stderr, "bench: first load: "+strings.Join(detail, ", "))
	repeat := "nothing revalidated"
	if len(uncached) > 0 {
		repeat = fmt.Sprintf("%d of %d assets not immutable", len(uncached), len(assets))
	}
	return []row{
		{Figure: "checkout page first load over the wire (HTML and all it loads, br/gzip)",
			Measured: fmt.Sprintf("%s in %d requests", kb(total), requests), Target: "<= 30 KB, <= 4 requests",
			Met: met(total <= 30<<10 && requests <= 4)},
		{Figure: "checkout page repeat visit", Measured: repeat, Target: "revalidates nothing", Met: met(len(uncached) == 0)},
	}, nil
}

// assetURLs lists, resolved against the page's URL and without repeats,
// what a browser loads for the page: stylesheets and icons, scripts and
// images. data: URLs cost no request and are skipped.
func assetURLs(doc *goquery.Document, pageURL string) ([]string, error) {
	base, err := url.Parse(pageURL)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	add := func(ref string) {
		if ref == "" || strings.HasPrefix(ref, "data:") {
			return
		}
		u, err := base.Parse(ref)
		if err != nil || seen[u.String()] {
			return
		}
		seen[u.String()] = true
		out = append(out, u.String())
	}
	doc.Find("link[href]").Each(func(_ int, s *goquery.Selection) {
		for _, rel := range strings.Fields(strings.ToLower(s.AttrOr("rel", ""))) {
			if rel == "stylesheet" || rel == "icon" || rel == "apple-touch-icon" || rel == "preload" || rel == "modulepreload" {
				add(s.AttrOr("href", ""))
				return
			}
		}
	})
	doc.Find("script[src], img[src]").Each(func(_ int, s *goquery.Selection) { add(s.AttrOr("src", "")) })
	return out, nil
}

// fetchSize GETs u with the given Accept-Encoding and returns the body's
// length as sent and the Cache-Control header.
func fetchSize(c *http.Client, u, encoding string) (int64, string, error) {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept-Encoding", encoding)
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return 0, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, "", fmt.Errorf("GET %s: HTTP %d", u, resp.StatusCode)
	}
	return n, resp.Header.Get("Cache-Control"), nil
}

// immutable reports whether a Cache-Control value lets a browser keep the
// response without asking again: immutable, with a max-age of a day or more.
func immutable(cc string) bool {
	imm, long := false, false
	for _, d := range strings.Split(strings.ToLower(cc), ",") {
		d = strings.TrimSpace(d)
		switch {
		case d == "immutable":
			imm = true
		case strings.HasPrefix(d, "max-age="):
			var n int
			_, err := fmt.Sscanf(d, "max-age=%d", &n)
			long = err == nil && n >= 86400
		case d == "no-store" || d == "no-cache":
			return false
		}
	}
	return imm && long
}

func kb(n int64) string { return fmt.Sprintf("%.1f KB", float64(n)/1024) }
