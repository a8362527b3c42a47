package templates

import (
	"context"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"checkout/locale"
)

// escaped is a string written as HTML text, escaped exactly as templ
// escapes { s } (templ.EscapeString). @escaped(s) in the pages shown on every view
// (the checkout page, its partials, the layout) writes what { s } writes
// without templ's fmt.Sprint of each value (two allocations an expression,
// about a tenth of a checkout page view's allocations). Attributes keep
// { s }: a component cannot go there.
type escaped string

// Render writes s escaped.
func (s escaped) Render(_ context.Context, w io.Writer) error {
	_, err := io.WriteString(w, templ.EscapeString(string(s)))
	return err
}

// appName ends every page title.
const appName = "Checkout"

// pageTitle is the <title> text: the page's own title, then the app name
// (in the page's language).
func pageTitle(ctx context.Context, title string) string {
	name := appName
	if locale.From(ctx) != locale.EN {
		name = t(ctx, "app_name")
	}
	if title == "" {
		return name
	}
	return title + " · " + name
}

// statusLabels are the words shown in status badges. Checkout statuses
// (open, pending, paid, expired, cancelled, reversed) and attempt statuses
// (pending, succeeded, failed) share them.
var statusLabels = map[string]string{
	"open":      "Open",
	"pending":   "Pending",
	"paid":      "Paid",
	"expired":   "Expired",
	"cancelled": "Cancelled",
	"reversed":  "Reversed",
	"succeeded": "Succeeded",
	"failed":    "Failed",
}

// statusLabel is the badge text of a status; an unknown status shows as is.
func statusLabel(status string) string {
	if l, ok := statusLabels[status]; ok {
		return l
	}
	return status
}

// statusLabelIn is statusLabel in the render's language.
func statusLabelIn(ctx context.Context, status string) string {
	if lang := locale.From(ctx); lang != locale.EN {
		if _, ok := statusLabels[status]; ok {
			return locale.Text(lang, "status_"+status)
		}
	}
	return statusLabel(status)
}

// badgeClass is the class list of a status badge. Only known statuses get
// a colour class, so a value from the database never becomes a class name.
func badgeClass(status string) string {
	if _, ok := statusLabels[status]; ok {
		return "badge badge-" + status
	}
	return "badge"
}

// statusClass is the class list of the live status box; status-final lets
// the stylesheet hide a method choice that no longer applies once a swap
// brings a final status.
func statusClass(v StatusView) string {
	c := "status"
	if _, ok := statusLabels[v.Status]; ok {
		c += " status-" + v.Status
	}
	if v.Final {
		c += " status-final"
	}
	return c
}

// methodLabels name the payment methods for people.
var methodLabels = map[string]string{
	"pesapal":  "Pesapal",
	"pokeapay": "PokeaPay",
	"stk":      "M-Pesa",
}

// methodLabel names a method key for people; an unknown key shows as is.
func methodLabel(key string) string {
	if l, ok := methodLabels[key]; ok {
		return l
	}
	return key
}

// statusPageURL is the plain link that reloads the page showing a status,
// for browsers without JavaScript.
func statusPageURL(v StatusView) string {
	if v.PageURL != "" {
		return v.PageURL
	}
	return "/c/" + v.ID
}

// returnLabel is the text of the "return to the merchant" link.
func returnLabel(ctx context.Context, label, merchant string) string {
	if label != "" {
		return label
	}
	if merchant != "" {
		return tf(ctx, "return_to", "Merchant", merchant)
	}
	return t(ctx, "return_to_shop")
}

// safeSrc passes a URL through templ's URL check before it goes into an
// attribute templ does not check itself (iframe src): anything but http,
// https, mailto, tel or a relative URL becomes a harmless placeholder.
func safeSrc(u string) string {
	return string(templ.URL(u))
}

// fieldError is the error of one form field, "" when it has none.
func fieldError(errs map[string]string, field string) string {
	return errs[field]
}

// fieldErrorID is the id of a field's error message, for aria-describedby.
func fieldErrorID(field string) string {
	return field + "-error"
}

// orDash shows an empty value as a dash, so a definition list has no holes.
func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "—"
	}
	return s
}

// noticeHeading is the heading of a notice page: its own, or one that fits
// the HTTP status.
func noticeHeading(ctx context.Context, v NoticePage) string {
	if v.Heading != "" {
		return v.Heading
	}
	switch {
	case v.Code == 404:
		return t(ctx, "page_not_found")
	case v.Code == 403:
		return t(ctx, "not_allowed")
	case v.Code == 429:
		return t(ctx, "too_many")
	case v.Code >= 500:
		return t(ctx, "went_wrong")
	case v.Code >= 400:
		return t(ctx, "did_not_work")
	}
	return t(ctx, "notice")
}

// unknownNotificationsLine is the orders page's line about notifications
// for references we never issued.
func unknownNotificationsLine(n int64) string {
	noun := "notifications"
	if n == 1 {
		noun = "notification"
	}
	return strconv.FormatInt(n, 10) + " " + noun + " for references we never issued (last 24 h)"
}

// linkAmountDescribedBy is the amount field's aria-describedby: its bounds
// and its error, those it has.
func linkAmountDescribedBy(v LinkAmountPage) string {
	var ids []string
	if v.Bounds != "" {
		ids = append(ids, "amount-bounds")
	}
	if fieldError(v.FieldErrors, "amount") != "" {
		ids = append(ids, fieldErrorID("amount"))
	}
	return strings.Join(ids, " ")
}

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	return slices.Contains(list, s)
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

// methodList names methods for people, comma-separated.
func methodList(keys []string) string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = methodLabel(k)
	}
	return strings.Join(names, ", ")
}

// stageLabels name the stages of refunds and payouts that a person should
// see beside the status; queued, sent and done say nothing the status does
// not.
var stageLabels = map[string]string{
	"approval":  "Waiting for approval",
	"sending":   "Sending",
	"sent":      "Sent, awaiting result",
	"attention": "Needs attention",
}

// stageLabel is a stage for people, "" for one not worth showing; the
// filter's options are approval and attention.
func stageLabel(stage string) string { return stageLabels[stage] }

// stageClass colours a stage: attention red, approval amber, the rest grey.
func stageClass(stage string) string {
	switch stage {
	case "attention":
		return "badge badge-stage badge-failed"
	case "approval":
		return "badge badge-stage badge-pending"
	}
	return "badge badge-stage"
}

// transferPlural and transferSingular name a kind of transfer.
func transferPlural(kind string) string {
	if kind == "payout" {
		return "Payouts"
	}
	return "Refunds"
}

func transferSingular(kind string) string {
	if kind == "payout" {
		return "Payout"
	}
	return "Refund"
}

// resolveWord is what "done" means for a kind: a refund is refunded, a
// payout sent.
func resolveWord(kind string) string {
	if kind == "payout" {
		return "sent"
	}
	return "refunded"
}

func lower(s string) string { return strings.ToLower(s) }

// emptyTransfers is a list's empty state.
func emptyTransfers(kind string, f TransferFilter) string {
	if f.Status != "" || f.Stage != "" {
		return "No " + lower(transferPlural(kind)) + " match these filters."
	}
	if kind == "payout" {
		return "No payouts yet."
	}
	return "No refunds yet. Refund a paid order from its page."
}
