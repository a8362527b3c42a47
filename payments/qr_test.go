package payments

import (
	"encoding/xml"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// svgModules draws the SVG's path back into a module matrix, reading only
// the "MxyhNv1h-Nz" runs QRSVG writes.
func svgModules(t *testing.T, svg string) [][]bool {
	t.Helper()
	var doc struct {
		XMLName xml.Name `xml:"svg"`
		ViewBox string   `xml:"viewBox,attr"`
		Rect    struct {
			Fill string `xml:"fill,attr"`
		} `xml:"rect"`
		Path struct {
			D    string `xml:"d,attr"`
			Fill string `xml:"fill,attr"`
		} `xml:"path"`
	}
	if err := xml.Unmarshal([]byte(svg), &doc); err != nil {
		t.Fatalf("not well-formed SVG: %v", err)
	}
	f := strings.Fields(doc.ViewBox)
	if len(f) != 4 || f[0] != "0" || f[1] != "0" || f[2] != f[3] || doc.Rect.Fill != "#ffffff" || doc.Path.Fill != "#000000" {
		t.Fatalf("svg frame: viewBox %q rect %q path %q", doc.ViewBox, doc.Rect.Fill, doc.Path.Fill)
	}
	n, err := strconv.Atoi(f[2])
	if err != nil {
		t.Fatal(err)
	}
	m := make([][]bool, n)
	for i := range m {
		m[i] = make([]bool, n)
	}
	run := regexp.MustCompile(`^M(\d+) (\d+)h(\d+)v1h-(\d+)z`)
	d := doc.Path.D
	for d != "" {
		p := run.FindStringSubmatch(d)
		if p == nil || p[3] != p[4] {
			t.Fatalf("path has something other than runs at %.30q", d)
		}
		x, _ := strconv.Atoi(p[1])
		y, _ := strconv.Atoi(p[2])
		w, _ := strconv.Atoi(p[3])
		for i := 0; i < w; i++ {
			m[y][x+i] = true
		}
		d = d[len(p[0]):]
	}
	return m
}

func TestQRSVGDrawsExactlyTheCodesModules(t *testing.T) {
	const url = "https://pay.example.co.ke/l/plink_01jf3z6v5w0000000000000000"
	want, err := QRModules(url)
	if err != nil {
		t.Fatal(err)
	}
	svg, err := QRSVG(url)
	if err != nil {
		t.Fatal(err)
	}
	got := svgModules(t, svg)
	if len(got) != len(want) {
		t.Fatalf("svg is %d modules wide, the code %d", len(got), len(want))
	}
	for y := range want {
		for x := range want[y] {
			if got[y][x] != want[y][x] {
				t.Fatalf("module (%d,%d) = %v, want %v", x, y, got[y][x], want[y][x])
			}
		}
	}
	// A QR code of version v is 4v+17 modules, plus a 4-module quiet zone
	// on each side; this URL (60 bytes) fits version 4 at level M (62
	// bytes at most).
	const version = 4
	if len(want) != 4*version+17+8 {
		t.Fatalf("code is %d modules wide, want %d (version %d with its quiet zone)", len(want), 4*version+17+8, version)
	}
	// The three finder patterns: a 7x7 dark ring around a 3x3 dark
	// centre, in the top-left, top-right and bottom-left corners inside
	// the quiet zone, which is all light.
	size := len(want)
	for _, c := range [][2]int{{4, 4}, {size - 11, 4}, {4, size - 11}} {
		for dy := 0; dy < 7; dy++ {
			for dx := 0; dx < 7; dx++ {
				ring := dx == 0 || dy == 0 || dx == 6 || dy == 6
				centre := dx >= 2 && dx <= 4 && dy >= 2 && dy <= 4
				if want[c[1]+dy][c[0]+dx] != (ring || centre) {
					t.Fatalf("finder pattern at %v is wrong at (%d,%d)", c, dx, dy)
				}
			}
		}
	}
	for i := 0; i < size; i++ {
		for q := 0; q < 4; q++ {
			if want[q][i] || want[size-1-q][i] || want[i][q] || want[i][size-1-q] {
				t.Fatalf("quiet zone has a dark module near (%d,%d)", i, q)
			}
		}
	}
}
