package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// DashboardQuery asks for the admin dashboard's figures. Times are
// computed by the caller (the people's calendar days are its business), so
// the SQL compares columns with parameters only and reads the same on
// SQLite and PostgreSQL.
type DashboardQuery struct {
	// Bounds cut the period into consecutive buckets for the chart: bucket
	// i is [Bounds[i], Bounds[i+1]), and the period is [Bounds[0],
	// Bounds[len-1]). At least two.
	Bounds []time.Time
	// StaleBefore: a pending attempt started before it counts as stale.
	StaleBefore time.Time
	// TopFailures is how many failure messages to return, most frequent
	// first.
	TopFailures int
}

// PaidGroup sums the checkouts paid within one bucket, of one currency,
// method and provider.
type PaidGroup struct {
	Bucket   int
	Currency string
	Method   string
	Provider string
	Count    int64
	Amount   int64
	// PaySeconds is the sum over these checkouts of paid_at - created_at.
	PaySeconds float64
}

// FailureCount is how many checkouts had an attempt fail with one
// message (a checkout whose prompt failed twice the same way counts
// once: the orders list it links to shows checkouts).
type FailureCount struct {
	Message string
	Count   int64
}

// FailingEndpoint is a merchant whose webhook endpoint is failing.
type FailingEndpoint struct {
	MerchantID string
	Name       string
}

// DashboardFigures are the dashboard's raw figures; payments adds them up.
type DashboardFigures struct {
	// Paid has a row per bucket, currency, method and provider that has
	// paid checkouts (status paid, by paid_at).
	Paid []PaidGroup
	// Created counts the checkouts created in the period, CreatedPaid
	// those of them now paid.
	Created, CreatedPaid int64
	// Failures are the messages of the attempts started in the period that
	// failed, each with the number of checkouts that had such an attempt,
	// most frequent first (ties by message), at most TopFailures.
	Failures []FailureCount
	// StaleAttempts counts the attempts still pending that started before
	// StaleBefore, whenever that was.
	StaleAttempts int64
	// Review counts the checkouts flagged for review.
	Review int64
	// FailingEndpoints are the merchants whose latest tried webhook
	// delivery failed for good or waits for a retry after an error, by
	// name.
	FailingEndpoints []FailingEndpoint
}

// The dashboard's queries. Each one walks an index of migration 13 (the
// stale count: of migration 12) that holds every column it reads, so none
// of them touches the tables' rows, and none sorts a period's paid
// checkouts: at a million orders a GROUP BY over a month of them (a
// quarter of a million rows) costs SQLite more in its sort than in reading
// them. So the paid checkouts' index leads with
// (currency, method, provider): the few kinds of paid checkout are found by
// skipping from one to the next (dashNext*SQL), and each kind's bucket is
// a range of that index (dashPaidSQL). No date function either: the
// buckets are ranges computed by the caller, so the SQL reads the same on
// both databases but for paid_at - created_at (dashSQL).
//
// The indexes are partial (status 'paid', 'failed', written as literals
// so that the query implies the index's WHERE). SQLite, with no ANALYZE
// statistics, prefers the equality of the older (status, ...) indexes to
// them, so the queries name their index there (INDEXED BY, which fails
// rather than scans should the index not serve); PostgreSQL's planner has
// statistics and picks them itself. dashSQL fills in {{paid_index}} and
// {{failed_index}}, the hints.
const (
	// The next kind of paid checkout after (currency, method, provider):
	// one seek each. (A row value comparison, (currency, method,
	// provider) > (?, ?, ?), makes SQLite seek on the currency only and
	// read the rest.)
	dashNextProviderSQL = `SELECT currency, method, provider FROM checkouts{{paid_index}}
		WHERE status = 'paid' AND currency = ? AND method = ? AND provider > ?
		ORDER BY provider LIMIT 1`
	dashNextMethodSQL = `SELECT currency, method, provider FROM checkouts{{paid_index}}
		WHERE status = 'paid' AND currency = ? AND method > ?
		ORDER BY method, provider LIMIT 1`
	dashNextCurrencySQL = `SELECT currency, method, provider FROM checkouts{{paid_index}}
		WHERE status = 'paid' AND currency > ?
		ORDER BY currency, method, provider LIMIT 1`
	// Created counts those of them created in [from, to) (the first two
	// parameters): with the checkouts paid at or after the period's end
	// (none, for a period that ends now), they are the period's orders
	// now paid, since an order is paid after it is created.
	// {{pay_seconds}} is paid_at - created_at in seconds.
	dashPaidSQL = `SELECT COUNT(*) AS count, COALESCE(SUM(amount), 0) AS amount, COALESCE(SUM({{pay_seconds}}), 0) AS pay_seconds,
		COALESCE(SUM(CASE WHEN created_at >= ? AND created_at < ? THEN 1 ELSE 0 END), 0) AS created
		FROM checkouts{{paid_index}} WHERE status = 'paid' AND currency = ? AND method = ? AND provider = ?
		AND paid_at >= ? AND paid_at < ?`
	dashPaidLaterSQL = `SELECT COUNT(*) FROM checkouts{{paid_index}}
		WHERE status = 'paid' AND currency = ? AND method = ? AND provider = ?
		AND paid_at >= ? AND created_at >= ? AND created_at < ?`
	dashCreatedSQL = `SELECT COUNT(*) FROM checkouts WHERE created_at >= ? AND created_at < ?`
	// Distinct checkouts, as the orders list filtered by failure,
	// failed_from and failed_to shows them.
	dashFailuresSQL = `SELECT message, COUNT(DISTINCT checkout_id) AS count FROM attempts{{failed_index}}
		WHERE status = 'failed' AND created_at >= ? AND created_at < ?
		GROUP BY message ORDER BY count DESC, message LIMIT ?`
	// Pending attempts are few (those under way, and those held for
	// review): the (status, next_check_at, created_at, checkout_id) index
	// (migration 12) finds and holds them.
	dashStaleSQL  = `SELECT COUNT(*) FROM attempts WHERE status = 'pending' AND created_at < ?`
	dashReviewSQL = `SELECT COUNT(*) FROM checkouts WHERE review`
	// Only deliveries that were tried say anything about the endpoint; a
	// delivery still pending after a try is one whose try failed.
	dashFailingSQL = `SELECT m.id AS merchant_id, m.name FROM merchants m
		WHERE (SELECT d.status FROM webhook_deliveries d WHERE d.merchant_id = m.id AND d.attempts > 0
			ORDER BY d.created_at DESC, d.id DESC LIMIT 1) IN ('failed', 'pending')
		ORDER BY m.name, m.id`
)

// dashSQL fills in a dashboard query's dialect parts: the index hints and
// paid_at - created_at in seconds.
func dashSQL(db *gorm.DB, query string) string {
	if isPostgres(db) {
		return pgDash.Replace(query)
	}
	return sqliteDash.Replace(query)
}

var (
	sqliteDash = strings.NewReplacer("{{paid_index}}", " INDEXED BY idx_checkouts_paid",
		"{{failed_index}}", " INDEXED BY idx_attempts_failed",
		"{{pay_seconds}}", "(julianday(paid_at) - julianday(created_at)) * 86400.0")
	pgDash = strings.NewReplacer("{{paid_index}}", "", "{{failed_index}}", "",
		"{{pay_seconds}}", "CAST(EXTRACT(EPOCH FROM (paid_at - created_at)) AS DOUBLE PRECISION)")
)

// paidKey is one currency, method and provider of paid checkouts.
type paidKey struct {
	Currency, Method, Provider string
}

// nextPaidKey finds the kind of paid checkout that follows k in the
// index's order (the zero key: the first); ok is false after the last.
func (s *Store) nextPaidKey(db *gorm.DB, k paidKey) (next paidKey, ok bool, err error) {
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{dashSQL(db, dashNextProviderSQL), []any{k.Currency, k.Method, k.Provider}},
		{dashSQL(db, dashNextMethodSQL), []any{k.Currency, k.Method}},
		{dashSQL(db, dashNextCurrencySQL), []any{k.Currency}},
	} {
		var rows []paidKey
		if err := db.Raw(q.sql, q.args...).Scan(&rows).Error; err != nil {
			return paidKey{}, false, fmt.Errorf("store: dashboard: kinds of paid checkouts: %w", err)
		}
		if len(rows) > 0 {
			return rows[0], true, nil
		}
	}
	return paidKey{}, false, nil
}

// Dashboard reads the admin dashboard's figures.
func (s *Store) Dashboard(ctx context.Context, q DashboardQuery) (*DashboardFigures, error) {
	if len(q.Bounds) < 2 {
		return nil, fmt.Errorf("store: dashboard: %d bounds, want at least 2", len(q.Bounds))
	}
	if q.TopFailures <= 0 {
		q.TopFailures = 5
	}
	db := s.r.WithContext(ctx)
	// Times are stored in UTC, and SQLite compares them as text: a bound
	// in another zone would be written with its offset and compare wrong.
	bounds := make([]time.Time, len(q.Bounds))
	for i, b := range q.Bounds {
		bounds[i] = b.UTC()
	}
	from, to := bounds[0], bounds[len(bounds)-1]
	f := &DashboardFigures{}
	paidSQL := dashSQL(db, dashPaidSQL)
	var key paidKey
	for {
		next, ok, err := s.nextPaidKey(db, key)
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		key = next
		for i := 0; i+1 < len(bounds); i++ {
			var g struct {
				PaidGroup
				Created int64
			}
			if err := db.Raw(paidSQL, from, to, key.Currency, key.Method, key.Provider, bounds[i], bounds[i+1]).
				Scan(&g).Error; err != nil {
				return nil, fmt.Errorf("store: dashboard: paid checkouts: %w", err)
			}
			f.CreatedPaid += g.Created
			if g.Count > 0 {
				g.Bucket, g.Currency, g.Method, g.Provider = i, key.Currency, key.Method, key.Provider
				f.Paid = append(f.Paid, g.PaidGroup)
			}
		}
		var later int64
		if err := db.Raw(dashSQL(db, dashPaidLaterSQL), key.Currency, key.Method, key.Provider, to, from, to).Scan(&later).Error; err != nil {
			return nil, fmt.Errorf("store: dashboard: created and paid checkouts: %w", err)
		}
		f.CreatedPaid += later
	}
	if err := db.Raw(dashCreatedSQL, from, to).Scan(&f.Created).Error; err != nil {
		return nil, fmt.Errorf("store: dashboard: created checkouts: %w", err)
	}
	if err := db.Raw(dashSQL(db, dashFailuresSQL), from, to, q.TopFailures).Scan(&f.Failures).Error; err != nil {
		return nil, fmt.Errorf("store: dashboard: failure reasons: %w", err)
	}
	if err := db.Raw(dashStaleSQL, q.StaleBefore.UTC()).Scan(&f.StaleAttempts).Error; err != nil {
		return nil, fmt.Errorf("store: dashboard: stale attempts: %w", err)
	}
	if err := db.Raw(dashReviewSQL).Scan(&f.Review).Error; err != nil {
		return nil, fmt.Errorf("store: dashboard: checkouts for review: %w", err)
	}
	if err := db.Raw(dashFailingSQL).Scan(&f.FailingEndpoints).Error; err != nil {
		return nil, fmt.Errorf("store: dashboard: failing webhook endpoints: %w", err)
	}
	return f, nil
}
