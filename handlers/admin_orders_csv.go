package handlers

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"checkout/money"
	"checkout/payments"
	"checkout/templates"
)

// maxExports is how many CSV exports run at once, all admins together: an
// export of a million orders keeps a read connection busy for seconds.
const maxExports = 2

// csvColumns is the header row of /admin/orders.csv.
var csvColumns = []string{"id", "created_at", "reference", "description", "amount", "currency", "status", "method",
	"provider", "receipt", "customer_name", "customer_email", "customer_phone", "paid_at", "payment_link", "review"}

// OrdersCSV is GET /admin/orders.csv: every order the list's filters
// select (the same parameters, refused the same way: 422 with the form),
// newest first, streamed as it is read, a keyset batch at a time, so
// memory stays flat at a million rows; the request's context ends the
// query when the client goes away. RFC 4180 (encoding/csv), amounts as
// decimal strings, times in ISO 8601 with Nairobi's offset, and cells
// that a spreadsheet would run as a formula neutralised (csvCell).
func (h *Handlers) OrdersCSV(c *gin.Context) {
	f, shown, errs := parseOrderFilter(c)
	if len(errs) > 0 {
		h.ordersCSVRefused(c, shown, errs)
		return
	}
	select {
	case h.exports <- struct{}{}:
		defer func() { <-h.exports }()
	default:
		c.Header("Retry-After", "30")
		notice(c, http.StatusTooManyRequests, "An export is already running",
			"Other CSV downloads are being prepared. Try again in a minute.")
		return
	}

	ctx := c.Request.Context()
	// Lines end in LF, encoding/csv's default: with UseCRLF it would drop
	// a lone carriage return inside a cell. Quoting is RFC 4180's.
	w := csv.NewWriter(c.Writer)
	started := false
	start := func() {
		started = true
		hd := c.Writer.Header()
		hd.Set("Content-Type", "text/csv; charset=utf-8")
		hd.Set("Content-Disposition", `attachment; filename="orders-`+h.svc.Now().In(nairobi).Format("20060102-1504")+`.csv"`)
		hd.Set("Cache-Control", "no-store")
		c.Status(http.StatusOK)
		_ = w.Write(csvColumns) // errors surface at w.Error after the flush
	}
	err := h.svc.EachOrder(ctx, f, func(rows []payments.Checkout) error {
		if !started {
			start()
		}
		for i := range rows {
			if err := w.Write(csvRow(&rows[i])); err != nil {
				return err
			}
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
		c.Writer.Flush()
		return nil
	})
	switch {
	case err == nil:
		if !started {
			start()
		}
		w.Flush()
		c.Writer.Flush()
	case !started:
		h.fail(c, err)
	case ctx.Err() != nil:
		// The client went away (the query or a write failed with it):
		// nobody is left to tell.
	default:
		// Half a file is on its way: end the connection without the
		// closing chunk, so the download fails instead of looking whole.
		h.log.ErrorContext(ctx, "orders export failed", "err", err)
		panic(http.ErrAbortHandler)
	}
}

// ordersCSVRefused answers a refused export with the orders page, its
// fields marked, as the list does.
func (h *Handlers) ordersCSVRefused(c *gin.Context, shown templates.OrderFilter, errs map[string]string) {
	v := templates.OrdersPage{AdminPage: adminPage(c, "Orders"), Filter: shown, MethodKeys: payments.AllMethods,
		ProviderKeys: payments.AllProviders, FieldErrors: errs}
	for _, s := range payments.Statuses {
		v.Statuses = append(v.Statuses, string(s))
	}
	h.render(c, http.StatusUnprocessableEntity, templates.OrdersView(v))
}

// csvRow is one order in csvColumns' order.
func csvRow(co *payments.Checkout) []string {
	paid := ""
	if co.PaidAt != nil {
		paid = csvTime(*co.PaidAt)
	}
	row := []string{co.ID, csvTime(co.CreatedAt), co.Reference, co.Description, money.Amount(co.Amount).String(),
		co.Currency, string(co.Status), co.Method, co.Provider, co.Receipt, co.CustomerName, co.CustomerEmail,
		co.CustomerPhone, paid, co.PaymentLinkID, strconv.FormatBool(co.Review)}
	for i, cell := range row {
		row[i] = csvCell(cell)
	}
	return row
}

func csvTime(t time.Time) string { return t.In(nairobi).Format(time.RFC3339) }

// csvCell neutralises a cell a spreadsheet would read as a formula (OWASP
// "CSV Injection"): one starting with =, +, -, @, a tab or a carriage
// return gets a leading apostrophe, which the spreadsheet shows as text.
// Descriptions, references and customer names come from merchants and
// customers, so any of them can start so.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
