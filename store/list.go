package store

import (
	"cmp"
	"context"
	"errors"
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
	// Review keeps the checkouts flagged for review.
	Review bool
	// Stale keeps the checkouts with an attempt still pending StaleAfter
	// after it started.
	Stale bool
	// Failure keeps the checkouts with a failed attempt whose message is
	// exactly this.
	Failure string
	// After is the id of the last row of the previous page ("" for the
	// first page).
	After string
	Limit int
}

// StaleAfter is how long an attempt may stay pending before the admin's
// "stale" filter (and the dashboard) counts it.
const StaleAfter = 10 * time.Minute

// SearchCap is the most orders a search's indexed arms may match: a
// prefix matching more (a single letter, "ORD-") gives ErrSearchTooBroad
// rather than a query that reads a large part of the table.
const SearchCap = 5000

// NameScan is how many orders, newest first from the page's start, a
// search reads for a customer name containing the text: a "contains"
// cannot use a B-tree index, so it is bounded instead of scanning the
// whole table.
const NameScan = 20_000

// ErrSearchTooBroad: the search text is the start of more than SearchCap
// ids, references, receipts or emails.
var ErrSearchTooBroad = errors.New("store: search matches too many orders")

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

// ListCheckouts returns one page of checkouts, newest first, and whether
// more follow. It uses keyset pagination on the time-ordered id, so the cost
// of a page does not grow with how far the admin has paged. A search that
// would match more than SearchCap orders gives ErrSearchTooBroad.
func (s *Store) ListCheckouts(ctx context.Context, f OrderFilter) ([]Checkout, bool, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 50
	}
	db := s.r.WithContext(ctx)
	lim := s.search.orDefaults()
	if err := checkSearch(db, f, lim.cap); err != nil {
		return nil, false, err
	}
	var rows []Checkout
	if err := listQuery(db, f, s.now(), lim.nameScan).Find(&rows).Error; err != nil {
		return nil, false, fmt.Errorf("store: list checkouts: %w", err)
	}
	more := len(rows) > f.Limit
	if more {
		rows = rows[:f.Limit]
	}
	return rows, more, nil
}

// searchLimits are SearchCap and NameScan, lowered in tests.
type searchLimits struct{ cap, nameScan int }

func (l searchLimits) orDefaults() searchLimits {
	return searchLimits{cap: cmp.Or(l.cap, SearchCap), nameScan: cmp.Or(l.nameScan, NameScan)}
}

// checkSearch counts, up to limit+1, the orders the search's indexed arms
// match, and refuses a search that matches more.
func checkSearch(db *gorm.DB, f OrderFilter, limit int) error {
	arms, args := searchArms(db, f, 0)
	if arms == "" {
		return nil
	}
	var n int64
	err := db.Raw("SELECT COUNT(*) FROM (SELECT 1 FROM ("+arms+") m LIMIT ?) n", append(args, limit+1)...).Scan(&n).Error
	if err != nil {
		return fmt.Errorf("store: list checkouts: count search: %w", err)
	}
	if n > int64(limit) {
		return fmt.Errorf("store: search %q: %w", strings.TrimSpace(f.Q), ErrSearchTooBroad)
	}
	return nil
}

// listQuery builds the page query of ListCheckouts (f.Limit already set):
// one row more than a page, to tell whether more follow. The query-plan test
// runs it in dry-run mode, so what it checks is what ListCheckouts sends.
//
// Every filter is served by an index that ends in id, or turns into a
// range of the time-ordered id, or is a list of ids read from an index of
// attempts: each page walks an index newest first, without sorting.
func listQuery(db *gorm.DB, f OrderFilter, now time.Time, nameScan int) *gorm.DB {
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
	if f.Review {
		q = q.Where("review = ?", true)
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
		q = q.Where("id IN (SELECT checkout_id FROM attempts WHERE status = ? AND message = ? AND created_at >= ?)",
			AttemptFailed, f.Failure, since)
	}
	if arms, args := searchArms(db, f, nameScan); arms != "" {
		// Each arm is looked up in its own index and the matching ids
		// drive the outer query. Written as one OR, SQLite either merges
		// the indexes and then sorts, or, with another filter, walks
		// every row of that filter testing the OR.
		q = q.Where("id IN ("+arms+")", args...)
	}
	if f.After != "" {
		q = q.Where("id < ?", f.After)
	}
	return q.Order("id DESC").Limit(f.Limit + 1)
}

// searchArms returns the UNION ALL of the id lists a search matches, and
// its arguments ("" when there is no search). nameScan > 0 adds the
// customer name arm, which reads at most nameScan rows below the page's
// start.
//
// Prefixes are ranges (col >= p AND col < p + U+10FFFF), which a B-tree
// index serves on both databases; LIKE 'p%' does not use SQLite's indexes
// by default. On PostgreSQL the comparisons are made in the "C" collation,
// byte order like SQLite's, with indexes of their own (migration 12): in a
// language collation a range is not a prefix ("INV-10" < "INV1" < "INV-2").
func searchArms(db *gorm.DB, f OrderFilter, nameScan int) (string, []any) {
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
	lo, hi := term, term+"\U0010FFFF"
	prefix := func(table, col, expr string) {
		e := collateC(db, expr)
		add(fmt.Sprintf("SELECT %s FROM %s WHERE %s >= ? AND %s < ?", col, table, e, e), lo, hi)
	}
	prefix("checkouts", "id", "id")
	prefix("checkouts", "id", "reference")
	prefix("checkouts", "id", "receipt")
	prefix("attempts", "checkout_id", "receipt")
	// Emails are compared in lower case: the index is on lower(email).
	low := strings.ToLower(term)
	email := collateC(db, "lower(customer_email)")
	add(fmt.Sprintf("SELECT id FROM checkouts WHERE %s >= ? AND %s < ?", email, email), low, low+"\U0010FFFF")
	add("SELECT id FROM checkouts WHERE customer_phone = ?", term)
	if f.Phone != "" && f.Phone != term {
		add("SELECT id FROM checkouts WHERE customer_phone = ?", f.Phone)
	}
	phone := f.Phone
	if phone == "" {
		phone = term
	}
	add("SELECT checkout_id FROM attempts WHERE phone = ?", phone)
	if nameScan > 0 && strings.IndexFunc(term, isLetter) >= 0 {
		like := "%" + likeEscaper.Replace(strings.ToLower(term)) + "%"
		below, belowArg := "", []any{}
		if f.After != "" {
			below, belowArg = "WHERE id < ? ", []any{f.After}
		}
		add("SELECT id FROM (SELECT id, customer_name FROM checkouts "+below+"ORDER BY id DESC LIMIT ?) recent "+
			`WHERE lower(customer_name) LIKE ? ESCAPE '\'`, append(belowArg, nameScan, like)...)
	}
	return strings.Join(arms, "\n\t\tUNION ALL "), args
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127 }

// collateC writes expr compared in byte order on PostgreSQL (SQLite's
// default BINARY collation already is).
func collateC(db *gorm.DB, expr string) string {
	if isPostgres(db) {
		return expr + ` COLLATE "C"`
	}
	return expr
}

// idAt is the smallest checkout id made at t: ids sort by their time, so
// a time range of checkouts is a range of the primary key.
func idAt(t time.Time) string {
	return formatID("chk", t, [10]byte{})
}
