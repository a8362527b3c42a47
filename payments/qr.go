package payments

import (
	"fmt"
	"html"
	"strconv"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// QRModules is the QR code of content as its module matrix, true for a
// dark module, with the 4-module quiet zone the standard asks for around
// it. Medium error correction (15%) survives a crease or a smudge on a
// printed code and keeps a link's code small enough to scan from a phone.
func QRModules(content string) ([][]bool, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("payments: QR code: %w", err)
	}
	return q.Bitmap(), nil
}

// QRSVG is the QR code of content as an SVG document: one square unit per
// module, a white background and one path of dark modules (each row's
// runs merged), so it prints sharp at any size. It is built here from the
// module matrix rather than by a drawing library: the markup is small and
// has nothing but a rect and a path.
func QRSVG(content string) (string, error) {
	return QRSVGLabelled(content, "QR code of the payment link")
}

// QRSVGLabelled is QRSVG with label as the image's accessible name (it is
// escaped here).
func QRSVGLabelled(content, label string) (string, error) {
	m, err := QRModules(content)
	if err != nil {
		return "", err
	}
	n := strconv.Itoa(len(m))
	var b strings.Builder
	b.Grow(len(m) * len(m) / 2 * 8)
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + n + ` ` + n + `" width="` +
		strconv.Itoa(len(m)*8) + `" height="` + strconv.Itoa(len(m)*8) +
		`" shape-rendering="crispEdges" role="img" aria-label="` + html.EscapeString(label) + `">`)
	b.WriteString(`<rect width="` + n + `" height="` + n + `" fill="#ffffff"/><path fill="#000000" d="`)
	for y, row := range m {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			run := 1
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x, y, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String(), nil
}
