package store

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// OrderFilter narrows the admin's order list (and its CSV export). Every
// field left zero is no condition; the ones set are combined with AND.
type OrderFilter struct {
	Status   Status
	Method   string
	Provider string
	// Q searches (see searchArms): a prefix of the checkout id, the
	// merchant reference, the receipt of the checkout or of one of its
	// attempts, or the customer email (any case); the customer phone or
	// an attempt's phone, exactly; a part of the customer name (bounded,
	// see NameScan).
	Q string
	// Phone is Q written as 254 and nine digits, when Q is a phone number
	// (the caller normalises it); phones are stored that way.
	Phone string
	// CreatedFrom and CreatedTo bound created_at: CreatedFrom <= created_at
	// < CreatedTo, each when not zero. PaidFrom and PaidTo bound paid_at
	// the same way.
	CreatedFrom, CreatedTo time.Time
	PaidFrom, PaidTo       time.Time
	// Link is a payment link id: the checkouts made from it.
	Link string
	// MerchantID keeps one merchant's checkouts.
	MerchantID string
	// Review keeps the checkouts flagged for review.
	Review bool
	// Stale keeps the checkouts with an attempt still pending StaleAfter
	// after it started.
	Stale bool
	// Failure keeps the checkouts with a failed attempt whose message is
	// exactly this.
	Failure string
	// FailedFrom and FailedTo, with Failure, bound that failed attempt's
	// created_at (when the payment was tried): FailedFrom <= created_at <
	// FailedTo, each when not zero. Without Failure they are no condition.
	FailedFrom, FailedTo time.Time
	// After is the id of the last row of the previous page ("" for the
	// first page).
	After string
	Limit int
}

// StaleAfter is how long an attempt may stay pending before the admin's
// "stale" filter (and the dashboard) counts it.
const StaleAfter = 10 * time.Minute

// SearchCap is the most orders one prefix of a search may match and
// still be looked up by its index: a prefix matching more (one letter,
// "ORD-", a common first name as the start of emails) is left out of the
// search, and the page says so (OrderPage.Broad), rather than reading a
// large part of the table. It is also where the failure filter switches
// from listing the failed attempts' checkouts to testing each row.
const SearchCap = 5000

// NameScan is how many orders, newest first from the page's start, a
// page of a name search covers: a "contains" cannot use a B-tree index, so
// each page reads at most this many names, and the next page goes on
// below them (OrderPage.NameWindow).
const NameScan = 20_000

// idSkew is how far a checkout's id time (NewID, in payments) may be from
// its created_at (set in the store a moment later): date filters turn into
// id ranges widened by it, and the exact time condition is kept beside.
const idSkew = time.Minute

// paidWithin is how long after its creation a checkout can be paid: it is
// paid only while open or pending, and expires at most 24 h after it was
// created (expires_in) plus the expiry worker's last status query. A paid
// date filter reads the checkouts created from this long before its start,
// so it walks a bounded id range instead of the whole table.
const paidWithin = 7 * 24 * time.Hour

// OrderPage is one page of the admin's list.
type OrderPage struct {
	Rows []Checkout
	// More: rows may follow this page; the next page starts after Next.
	More bool
	// Next is the After of the next page: the page's last row, or, for a
	// name search (NameWindow), the oldest order the page looked at.
	Next string
	// NameWindow: the search looked for names, which it does NameScan
	// orders at a time: this page covers the orders from After down to
	// Next only, and may hold fewer rows than the limit (none) while
	// older orders remain.
	NameWindow bool
	// Broad names the search's fields ("id", "reference", "receipt",
	// "email") whose prefix matched more than SearchCap orders and were
	// left out of the search.
	Broad []string
}

// ListCheckouts returns one page of checkouts, newest first, and whether
// more follow (ListOrders, without its notes): for callers that start the
// next page after the last row, right unless the search looks for names
// (OrderPage.NameWindow).
func (s *Store) ListCheckouts(ctx context.Context, f OrderFilter) ([]Checkout, bool, error) {
	p, err := s.ListOrders(ctx, f)
	return p.Rows, p.More, err
}

// ListOrders returns one page of checkouts, newest first. It uses keyset
// pagination on the time-ordered id, so the cost of a page does not grow
// with how far the admin has paged. It first counts, up to SearchCap+1,
// what each prefix of the search and the failure filter match (planList),
// and builds the page query from that.
func (s *Store) ListOrders(ctx context.Context, f OrderFilter) (OrderPage, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	db := s.r.WithContext(ctx)
	plan, err := planList(db, f, s.search.orDefaults())
	if err != nil {
		return OrderPage{}, err
	}
	var rows []Checkout
	if err := listQuery(db, f, s.now(), plan).Find(&rows).Error; err != nil {
		return OrderPage{}, fmt.Errorf("store: list checkouts: %w", err)
	}
	p := OrderPage{Rows: rows, More: len(rows) > f.Limit, NameWindow: plan.windowFrom != ""}
	switch {
	case p.More:
		p.Rows = rows[:f.Limit]
		p.Next = p.Rows[len(p.Rows)-1].ID
	case p.NameWindow:
		// Older orders than the window are still to be searched.
		p.More, p.Next = true, plan.windowFrom
	}
	for _, field := range []string{"id", "reference", "receipt", "email"} {
		if plan.broad[field] {
			p.Broad = append(p.Broad, field)
		}
	}
	return p, nil
}

// searchLimits are SearchCap and NameScan, lowered in tests.
type searchLimits struct{ cap, nameScan int }

func (l searchLimits) orDefaults() searchLimits {
	return searchLimits{cap: cmp.Or(l.cap, SearchCap), nameScan: cmp.Or(l.nameScan, NameScan)}
}

// listPlan is what the page query is built from besides the filter.
type listPlan struct {
	// nameScan bounds the customer name arm of a search (0: no name arm).
	nameScan int
	// broad holds the search's prefix fields that match more than the
	// cap: left out.
	broad map[string]bool
	// windowFrom, for a name search over more orders than nameScan below
	// the page's start, is the oldest of those nameScan orders: the page
	// is restricted to them (names are read there and nowhere else, and
	// the other fields likewise, so that pages follow each other without
	// repeating or skipping an order).
	windowFrom string
	// denseFailure: more than the cap of attempts failed with f.Failure,
	// so the page tests each row it walks (EXISTS, by the attempts'
	// checkout index) instead of reading every such attempt first; with so
	// many, a page fills after a few thousand rows.
	denseFailure bool
}

// planList counts, each up to lim.cap+1 entries of its index, what the
// search's prefixes and the failure filter match, in one statement.
func planList(db *gorm.DB, f OrderFilter, lim searchLimits) (listPlan, error) {
	plan := listPlan{nameScan: lim.nameScan, broad: map[string]bool{}}
	var names, counts []string
	var args []any
	if strings.TrimSpace(f.Q) != "" {
		for _, a := range prefixArms(db, f) {
			names = append(names, a.field)
			counts = append(counts, "(SELECT COUNT(*) FROM ("+a.sql+" LIMIT ?) n)")
			args = append(args, append(a.args, lim.cap+1)...)
		}
	}
	if f.Failure != "" {
		sql, a := failureIDs(f)
		names = append(names, "failure")
		counts = append(counts, "(SELECT COUNT(*) FROM ("+sql+" LIMIT ?) n)")
		args = append(args, append(a, lim.cap+1)...)
	}
	if nameSearch(f, lim.nameScan) {
		q := db.Model(&Checkout{})
		if f.After != "" {
			q = q.Where("id < ?", f.After)
		}
		var ids []string
		if err := q.Order("id DESC").Offset(lim.nameScan-1).Limit(1).Pluck("id", &ids).Error; err != nil {
			return plan, fmt.Errorf("store: list checkouts: name window: %w", err)
		}
		if len(ids) == 1 {
			plan.windowFrom = ids[0]
		}
	}
	if len(counts) == 0 {
		return plan, nil
	}
	rows, err := db.Raw("SELECT "+strings.Join(counts, ", "), args...).Rows()
	if err != nil {
		return plan, fmt.Errorf("store: list checkouts: count matches: %w", err)
	}
	defer rows.Close()
	n := make([]int64, len(counts))
	dest := make([]any, len(n))
	for i := range n {
		dest[i] = &n[i]
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return plan, fmt.Errorf("store: list checkouts: count matches: %w", err)
		}
		return plan, fmt.Errorf("store: list checkouts: count matches: no row")
	}
	if err := rows.Scan(dest...); err != nil {
		return plan, fmt.Errorf("store: list checkouts: count matches: %w", err)
	}
	for i, name := range names {
		if n[i] <= int64(lim.cap) {
			continue
		}
		if name == "failure" {
			plan.denseFailure = true
		} else {
			plan.broad[name] = true
		}
	}
	return plan, rows.Err()
}

// listQuery builds the page query of ListCheckouts (f.Limit already set):
// one row more than a page, to tell whether more follow. The query-plan test
// runs it in dry-run mode, so what it checks is what ListCheckouts sends.
//
// Every filter is served by an index that ends in id, or turns into a
// range of the time-ordered id, or is a list of ids read from an index of
// attempts: each page walks an index newest first, without sorting.
func listQuery(db *gorm.DB, f OrderFilter, now time.Time, plan listPlan) *gorm.DB {
	q := db.Model(&Checkout{})
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Method != "" {
		q = q.Where("method = ?", f.Method)
	}
	if f.Provider != "" {
		q = q.Where("provider = ?", f.Provider)
	}
	if f.Link != "" {
		q = q.Where("payment_link_id = ?", f.Link)
	}
	if f.MerchantID != "" {
		q = q.Where("merchant_id = ?", f.MerchantID)
	}
	// The column alone, as the partial review index's WHERE is written,
	// so that the planners see the index serves it.
	if f.Review {
		q = q.Where("review")
	}
	if !f.CreatedFrom.IsZero() {
		q = q.Where("id >= ? AND created_at >= ?", idAt(f.CreatedFrom.Add(-idSkew)), f.CreatedFrom.UTC())
	}
	if !f.CreatedTo.IsZero() {
		q = q.Where("id < ? AND created_at < ?", idAt(f.CreatedTo.Add(idSkew)), f.CreatedTo.UTC())
	}
	// paid_at >= created_at, so a paid range bounds the ids too.
	if !f.PaidFrom.IsZero() {
		q = q.Where("id >= ? AND paid_at >= ?", idAt(f.PaidFrom.Add(-paidWithin-idSkew)), f.PaidFrom.UTC())
	}
	if !f.PaidTo.IsZero() {
		q = q.Where("id < ? AND paid_at < ?", idAt(f.PaidTo.Add(idSkew)), f.PaidTo.UTC())
	}
	// An attempt starts after its checkout was created: a created_at lower
	// bound narrows the attempts read too.
	since := time.Time{}
	if !f.CreatedFrom.IsZero() {
		since = f.CreatedFrom.UTC()
	}
	if f.Stale {
		q = q.Where("id IN (SELECT checkout_id FROM attempts WHERE status = ? AND created_at < ? AND created_at >= ?)",
			AttemptPending, now.Add(-StaleAfter).UTC(), since)
	}
	if f.Failure != "" {
		// An attempt starts after its checkout was created and before it
		// can no longer be paid: the failed attempt's dates bound the
		// checkouts' ids.
		if !f.FailedFrom.IsZero() {
			q = q.Where("id >= ?", idAt(f.FailedFrom.Add(-paidWithin-idSkew)))
		}
		if !f.FailedTo.IsZero() {
			q = q.Where("id < ? AND created_at < ?", idAt(f.FailedTo.Add(idSkew)), f.FailedTo.UTC())
		}
		if plan.denseFailure {
			// By the attempts' checkout index: SQLite, without statistics,
			// would rather take the failed attempts' message index, and
			// read every attempt failed so for each order. The failed
			// dates are tested on the attempts that index finds.
			sql := "EXISTS (SELECT 1 FROM attempts" + indexedBy(db, "idx_attempts_checkout") +
				" WHERE attempts.checkout_id = checkouts.id AND attempts.status = 'failed' AND attempts.message = ?"
			args := []any{f.Failure}
			if !f.FailedFrom.IsZero() {
				sql += " AND attempts.created_at >= ?"
				args = append(args, f.FailedFrom.UTC())
			}
			if !f.FailedTo.IsZero() {
				sql += " AND attempts.created_at < ?"
				args = append(args, f.FailedTo.UTC())
			}
			q = q.Where(sql+")", args...)
		} else {
			sql, args := failureIDs(f)
			q = q.Where("id IN ("+sql+")", args...)
		}
	}
	if arms, args := searchArms(db, f, plan); arms != "" {
		// Each arm is looked up in its own index and the matching ids
		// drive the outer query. Written as one OR, SQLite either merges
		// the indexes and then sorts, or, with another filter, walks
		// every row of that filter testing the OR.
		q = q.Where("id IN ("+arms+")", args...)
	}
	if f.After != "" {
		q = q.Where("id < ?", f.After)
	}
	if plan.windowFrom != "" {
		q = q.Where("id >= ?", plan.windowFrom)
	}
	return q.Order("id DESC").Limit(f.Limit + 1)
}

// searchArm is one lookup of a search: the ids it matches, by one index.
type searchArm struct {
	// field is what the admin typed the start of (OrderPage.Broad).
	field string
	sql   string
	args  []any
}

// prefixArms are the search's prefix lookups: ranges (col >= p AND col <
// p + U+10FFFF), which a B-tree index serves on both databases; LIKE 'p%'
// does not use SQLite's indexes by default. On PostgreSQL the comparisons
// are made in the "C" collation, byte order like SQLite's, with indexes of
// their own (migration 12): in a language collation a range is not a
// prefix ("INV-10" < "INV1" < "INV-2"). Emails are compared in lower case:
// the index is on lower(customer_email).
func prefixArms(db *gorm.DB, f OrderFilter) []searchArm {
	term := strings.TrimSpace(f.Q)
	arm := func(field, table, col, expr, p string) searchArm {
		e := collateC(db, expr)
		return searchArm{field, fmt.Sprintf("SELECT %s FROM %s WHERE %s >= ? AND %s < ?", col, table, e, e),
			[]any{p, p + "\U0010FFFF"}}
	}
	return []searchArm{
		arm("id", "checkouts", "id", "id", term),
		arm("reference", "checkouts", "id", "reference", term),
		arm("receipt", "checkouts", "id", "receipt", term),
		arm("receipt", "attempts", "checkout_id", "receipt", term),
		arm("email", "checkouts", "id", "lower(customer_email)", strings.ToLower(term)),
	}
}

// searchArms returns the UNION ALL of the id lists a search matches, and
// its arguments ("" when there is no search): the prefix arms not too
// broad (plan.broad), the phones exactly, and, for a name search
// (nameSearch), the customer names containing the text in the page's
// window (listPlan.windowFrom).
func searchArms(db *gorm.DB, f OrderFilter, plan listPlan) (string, []any) {
	term := strings.TrimSpace(f.Q)
	if term == "" {
		return "", nil
	}
	var arms []string
	var args []any
	add := func(sql string, a ...any) {
		arms = append(arms, sql)
		args = append(args, a...)
	}
	for _, a := range prefixArms(db, f) {
		if !plan.broad[a.field] {
			add(a.sql, a.args...)
		}
	}
	add("SELECT id FROM checkouts WHERE customer_phone = ?", term)
	if f.Phone != "" && f.Phone != term {
		add("SELECT id FROM checkouts WHERE customer_phone = ?", f.Phone)
	}
	phone := f.Phone
	if phone == "" {
		phone = term
	}
	add("SELECT checkout_id FROM attempts WHERE phone = ?", phone)
	if nameSearch(f, plan.nameScan) {
		// Bounded by the page's window (windowFrom, or the fewer than
		// nameScan orders below After).
		like := "%" + likeEscaper.Replace(strings.ToLower(term)) + "%"
		var bounds []string
		var bargs []any
		if plan.windowFrom != "" {
			bounds, bargs = append(bounds, "id >= ?"), append(bargs, plan.windowFrom)
		}
		if f.After != "" {
			bounds, bargs = append(bounds, "id < ?"), append(bargs, f.After)
		}
		bounds = append(bounds, `lower(customer_name) LIKE ? ESCAPE '\'`)
		add("SELECT id FROM checkouts WHERE "+strings.Join(bounds, " AND "), append(bargs, like)...)
	}
	return strings.Join(arms, "\n\t\tUNION ALL "), args
}

// failureIDs is the checkouts with an attempt failed with f.Failure
// (within f.FailedFrom and f.FailedTo), as an id list for IN. An attempt
// starts after its checkout is created and before it expires (at most a
// day later; paidWithin is wider still), so created date bounds narrow the
// attempts read.
func failureIDs(f OrderFilter) (string, []any) {
	from := f.CreatedFrom
	if f.FailedFrom.After(from) {
		from = f.FailedFrom
	}
	to := time.Time{}
	if !f.CreatedTo.IsZero() {
		to = f.CreatedTo.Add(paidWithin)
	}
	if !f.FailedTo.IsZero() && (to.IsZero() || f.FailedTo.Before(to)) {
		to = f.FailedTo
	}
	// 'failed' is written as it stands: SQLite uses a partial index
	// (WHERE status = 'failed') only for a query that says so literally.
	sql := "SELECT checkout_id FROM attempts WHERE status = 'failed' AND message = ? AND created_at >= ?"
	args := []any{f.Failure, from.UTC()}
	if !to.IsZero() {
		sql += " AND created_at < ?"
		args = append(args, to.UTC())
	}
	return sql, args
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// nameSearch reports whether f's search looks for customer names: text
// with letters and no digit (ids, references, receipts and phones have
// digits; names have none, and the name scan costs what it reads).
func nameSearch(f OrderFilter, nameScan int) bool {
	term := strings.TrimSpace(f.Q)
	return nameScan > 0 && strings.IndexFunc(term, isLetter) >= 0 && strings.IndexFunc(term, isDigit) < 0
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127 }

// collateC writes expr compared in byte order on PostgreSQL (SQLite's
// default BINARY collation already is).
func collateC(db *gorm.DB, expr string) string {
	if isPostgres(db) {
		return expr + ` COLLATE "C"`
	}
	return expr
}

// indexedBy names the index SQLite must use for a table (INDEXED BY fails
// the statement rather than scan, should the index not serve it); nothing
// on PostgreSQL, whose planner has statistics.
func indexedBy(db *gorm.DB, index string) string {
	if isPostgres(db) {
		return ""
	}
	return " INDEXED BY " + index
}

// idAt is the smallest checkout id made at t: ids sort by their time, so
// a time range of checkouts is a range of the primary key.
func idAt(t time.Time) string {
	return formatID("chk", t, [10]byte{})
}
