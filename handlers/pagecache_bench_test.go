package handlers

import (
	"bytes"
	"context"
	"testing"

	"checkout/templates"
)

// BenchmarkCheckoutPageRender compares templ's render of the sample page
// with what answering it from the remembered page costs (the same bytes):
// comparing the view with the remembered one and writing the pieces.
func BenchmarkCheckoutPageRender(b *testing.B) {
	v := answer(b, samplePage())
	b.Run("templ", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			if err := templates.CheckoutView(v).Render(context.Background(), &buf); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("remembered", func(b *testing.B) {
		pc := newPageCache()
		serve(b, pc, "chk_1", v)
		b.ReportAllocs()
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			key := v
			setAnswerValues(&key, [answerFields]string{})
			p, ok := pc.pages.Get("chk_1")
			if !ok || !sameView(&p.view, &key) {
				b.Fatal("not remembered")
			}
			p.write(&buf, answerValues(&v))
		}
	})
}
