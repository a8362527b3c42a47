package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// migration is one step of the schema. Steps run in order, each in its own
// transaction together with the row that records it, and never change once
// released: a schema change is a new step at the end.
type migration struct {
	version int
	name    string
	up      func(tx *gorm.DB) error
}

// ddl runs statements written with placeholders that differ between
// dialects: {{pk}} for an auto-increment primary key, {{time}} for a
// timestamp column and {{blob}} for a column of bytes.
func ddl(stmts ...string) func(tx *gorm.DB) error {
	return func(tx *gorm.DB) error {
		pk, ts, blob := "INTEGER PRIMARY KEY AUTOINCREMENT", "DATETIME", "BLOB"
		if isPostgres(tx) {
			pk, ts, blob = "BIGSERIAL PRIMARY KEY", "TIMESTAMPTZ", "BYTEA"
		}
		for _, s := range stmts {
			s = strings.ReplaceAll(s, "{{pk}}", pk)
			s = strings.ReplaceAll(s, "{{time}}", ts)
			s = strings.ReplaceAll(s, "{{blob}}", blob)
			if err := tx.Exec(s).Error; err != nil {
				return fmt.Errorf("%s: %w", firstLine(s), err)
			}
		}
		return nil
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i > 0 {
		return s[:i]
	}
	return s
}

var migrations = []migration{
	{1, "merchants, admins, checkouts, attempts, events", ddl(
		`CREATE TABLE merchants (
			id TEXT PRIMARY KEY,
			name TEXT NOT NULL,
			api_key_hash TEXT NOT NULL,
			api_key_hint TEXT NOT NULL DEFAULT '',
			webhook_url TEXT NOT NULL DEFAULT '',
			webhook_secret TEXT NOT NULL DEFAULT '',
			created_at {{time}} NOT NULL
		)`,
		`CREATE UNIQUE INDEX idx_merchants_api_key_hash ON merchants (api_key_hash)`,
		`CREATE TABLE admin_users (
			id TEXT PRIMARY KEY,
			email TEXT NOT NULL,
			password_hash TEXT NOT NULL,
			failed_logins INTEGER NOT NULL DEFAULT 0,
			last_failed_at {{time}},
			created_at {{time}} NOT NULL,
			updated_at {{time}} NOT NULL
		)`,
		`CREATE UNIQUE INDEX idx_admin_users_email ON admin_users (email)`,
		`CREATE TABLE checkouts (
			id TEXT PRIMARY KEY,
			merchant_id TEXT NOT NULL REFERENCES merchants (id),
			reference TEXT NOT NULL,
			description TEXT NOT NULL,
			amount BIGINT NOT NULL CHECK (amount > 0),
			currency TEXT NOT NULL,
			status TEXT NOT NULL,
			method TEXT NOT NULL DEFAULT '',
			provider TEXT NOT NULL DEFAULT '',
			provider_reference TEXT NOT NULL DEFAULT '',
			receipt TEXT NOT NULL DEFAULT '',
			message TEXT NOT NULL DEFAULT '',
			customer_name TEXT NOT NULL DEFAULT '',
			customer_email TEXT NOT NULL DEFAULT '',
			customer_phone TEXT NOT NULL DEFAULT '',
			success_url TEXT NOT NULL DEFAULT '',
			cancel_url TEXT NOT NULL DEFAULT '',
			methods TEXT NOT NULL DEFAULT '',
			metadata TEXT NOT NULL DEFAULT '',
			review BOOLEAN NOT NULL DEFAULT FALSE,
			created_at {{time}} NOT NULL,
			updated_at {{time}} NOT NULL,
			expires_at {{time}} NOT NULL,
			paid_at {{time}}
		)`,
		// Ids are time-ordered, so "newest first" is "id descending" and the
		// admin's keyset pagination walks these indexes without sorting.
		`CREATE UNIQUE INDEX idx_checkouts_merchant_reference ON checkouts (merchant_id, reference)`,
		`CREATE INDEX idx_checkouts_reference ON checkouts (reference)`,
		`CREATE INDEX idx_checkouts_status_id ON checkouts (status, id)`,
		`CREATE INDEX idx_checkouts_method_id ON checkouts (method, id)`,
		`CREATE INDEX idx_checkouts_customer_phone ON checkouts (customer_phone)`,
		`CREATE INDEX idx_checkouts_receipt ON checkouts (receipt)`,
		`CREATE INDEX idx_checkouts_status_expires ON checkouts (status, expires_at)`,
		`CREATE TABLE attempts (
			id TEXT PRIMARY KEY,
			checkout_id TEXT NOT NULL REFERENCES checkouts (id),
			provider TEXT NOT NULL,
			method TEXT NOT NULL,
			status TEXT NOT NULL,
			amount BIGINT NOT NULL,
			currency TEXT NOT NULL,
			provider_reference TEXT NOT NULL DEFAULT '',
			redirect_url TEXT NOT NULL DEFAULT '',
			receipt TEXT NOT NULL DEFAULT '',
			message TEXT NOT NULL DEFAULT '',
			phone TEXT NOT NULL DEFAULT '',
			review BOOLEAN NOT NULL DEFAULT FALSE,
			review_reason TEXT NOT NULL DEFAULT '',
			next_check_at {{time}},
			checks INTEGER NOT NULL DEFAULT 0,
			created_at {{time}} NOT NULL,
			updated_at {{time}} NOT NULL
		)`,
		`CREATE INDEX idx_attempts_checkout ON attempts (checkout_id)`,
		`CREATE INDEX idx_attempts_provider_reference ON attempts (provider, provider_reference)`,
		`CREATE INDEX idx_attempts_status_next_check ON attempts (status, next_check_at)`,
		`CREATE TABLE events (
			id {{pk}},
			checkout_id TEXT NOT NULL,
			attempt_id TEXT NOT NULL DEFAULT '',
			kind TEXT NOT NULL,
			source TEXT NOT NULL DEFAULT '',
			from_status TEXT NOT NULL DEFAULT '',
			to_status TEXT NOT NULL DEFAULT '',
			message TEXT NOT NULL DEFAULT '',
			payload TEXT NOT NULL DEFAULT '',
			created_at {{time}} NOT NULL
		)`,
		`CREATE INDEX idx_events_checkout ON events (checkout_id, id)`,
	)},
	// Admin sessions live in signed cookies; the epoch, carried in the cookie
	// and compared on every request, lets logout end every copy of them.
	{2, "admin session epoch", ddl(
		`ALTER TABLE admin_users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0`,
	)},
	// The admin finds an order by the M-Pesa number or receipt of any of its
	// payment attempts.
	{3, "attempt phone and receipt indexes", ddl(
		`CREATE INDEX idx_attempts_phone ON attempts (phone)`,
		`CREATE INDEX idx_attempts_receipt ON attempts (receipt)`,
	)},
	// Idempotency-Key on POST /api/v1/checkouts: the first answer per
	// merchant and key, kept 24 h (pruned by created_at). locked_until lets
	// a retry take over a key whose request died while running.
	{4, "idempotency keys", ddl(
		`CREATE TABLE idempotency_keys (
			id {{pk}},
			merchant_id TEXT NOT NULL REFERENCES merchants (id),
			key TEXT NOT NULL,
			request_hash TEXT NOT NULL,
			status TEXT NOT NULL CHECK (status IN ('running', 'done')),
			response_status INTEGER NOT NULL DEFAULT 0,
			response_body TEXT NOT NULL DEFAULT '',
			created_at {{time}} NOT NULL,
			locked_until {{time}} NOT NULL
		)`,
		`CREATE UNIQUE INDEX idx_idempotency_keys_merchant_key ON idempotency_keys (merchant_id, key)`,
		`CREATE INDEX idx_idempotency_keys_created ON idempotency_keys (created_at)`,
	)},
	// Merchant webhooks (outbox): a delivery row is written in the same
	// transaction as the status change it reports; its id is the
	// webhook-id, the same on every try. claimed_until lets several
	// workers share the table: a try is claimed by one of them, and a
	// worker that died mid-try lets go when the claim runs out.
	{5, "webhook deliveries", ddl(
		`CREATE TABLE webhook_deliveries (
			id TEXT PRIMARY KEY,
			merchant_id TEXT NOT NULL REFERENCES merchants (id),
			checkout_id TEXT NOT NULL,
			event_type TEXT NOT NULL,
			payload TEXT NOT NULL,
			status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
			attempts INTEGER NOT NULL DEFAULT 0,
			next_attempt_at {{time}},
			claimed_until {{time}},
			last_status_code INTEGER NOT NULL DEFAULT 0,
			last_error TEXT NOT NULL DEFAULT '',
			created_at {{time}} NOT NULL,
			delivered_at {{time}}
		)`,
		`CREATE INDEX idx_webhook_deliveries_status_next ON webhook_deliveries (status, next_attempt_at)`,
		`CREATE INDEX idx_webhook_deliveries_checkout ON webhook_deliveries (checkout_id, id)`,
		`CREATE TABLE webhook_attempts (
			id {{pk}},
			delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id),
			attempted_at {{time}} NOT NULL,
			status_code INTEGER NOT NULL DEFAULT 0,
			error TEXT NOT NULL DEFAULT '',
			duration_ms BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX idx_webhook_attempts_delivery ON webhook_attempts (delivery_id, id)`,
	)},
	// Secret rotation: the secret replaced by a rotation keeps signing
	// deliveries (beside the new one) until webhook_previous_until, so a
	// merchant can switch its receiver over without losing an event.
	{6, "webhook secret rotation", ddl(
		`ALTER TABLE merchants ADD COLUMN webhook_previous_secret TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE merchants ADD COLUMN webhook_previous_until {{time}}`,
	)},
	// Settings the app remembers across starts (the mode a database was
	// created in, the configuration last applied at start-up).
	{7, "settings", ddl(
		`CREATE TABLE settings (
			key TEXT PRIMARY KEY,
			value TEXT NOT NULL,
			updated_at {{time}} NOT NULL
		)`,
	)},
	// Notifications naming a reference we never issued are counted, not
	// stored: one row per source and hour, however many arrive.
	{8, "unknown notification counters", ddl(
		`CREATE TABLE unknown_notifications (
			source TEXT NOT NULL,
			hour {{time}} NOT NULL,
			count BIGINT NOT NULL DEFAULT 0,
			PRIMARY KEY (source, hour)
		)`,
	)},
	// Leases: work that must not run twice at once across the processes
	// sharing the database (one webhook try in flight per merchant
	// endpoint) is done under a named lease, held until expires_at so that
	// a process that dies lets go.
	{9, "leases", ddl(
		`CREATE TABLE leases (
			name TEXT PRIMARY KEY,
			holder TEXT NOT NULL,
			expires_at {{time}} NOT NULL
		)`,
	)},
	// The admin's list filtered by status and method at once walks this
	// index newest first. With only (status, id) or (method, id), a rare
	// pair (open orders paid by Pesapal, on a deep page) made SQLite read
	// every row of the status or method to fill a page. IF NOT EXISTS: a
	// database made by a development build may already have the index.
	{10, "checkout status and method index", ddl(
		`CREATE INDEX IF NOT EXISTS idx_checkouts_status_method_id ON checkouts (status, method, id)`,
	)},
	// Payment links: a merchant's reusable (or single-use) link that makes
	// a checkout for each customer who opens it. amount 0 lets the customer
	// enter one within min_amount and max_amount (0: no bound). A checkout
	// made from a link names it in payment_link_id ("" otherwise); the
	// (payment_link_id, id) index serves the link's orders newest first and
	// its paid count and total.
	{11, "payment links", ddl(
		`CREATE TABLE payment_links (
			id TEXT PRIMARY KEY,
			merchant_id TEXT NOT NULL REFERENCES merchants (id),
			amount BIGINT NOT NULL DEFAULT 0 CHECK (amount >= 0),
			min_amount BIGINT NOT NULL DEFAULT 0 CHECK (min_amount >= 0),
			max_amount BIGINT NOT NULL DEFAULT 0 CHECK (max_amount >= 0),
			currency TEXT NOT NULL,
			description TEXT NOT NULL,
			reference_prefix TEXT NOT NULL DEFAULT '',
			single_use BOOLEAN NOT NULL DEFAULT FALSE,
			methods TEXT NOT NULL DEFAULT '',
			success_url TEXT NOT NULL DEFAULT '',
			metadata TEXT NOT NULL DEFAULT '',
			active BOOLEAN NOT NULL DEFAULT TRUE,
			created_by TEXT NOT NULL DEFAULT '',
			created_at {{time}} NOT NULL,
			updated_at {{time}} NOT NULL,
			expires_at {{time}},
			deactivated_at {{time}}
		)`,
		`CREATE INDEX idx_payment_links_merchant_id ON payment_links (merchant_id, id)`,
		`ALTER TABLE checkouts ADD COLUMN payment_link_id TEXT NOT NULL DEFAULT ''`,
		`CREATE INDEX idx_checkouts_payment_link_id ON checkouts (payment_link_id, id)`,
	)},
	// The admin's filters and search (store/list.go). Provider walks a
	// (provider, id) index newest first like status and method; review
	// walks migration 13's partial review index. The failure filter
	// reads its checkout ids from the failed attempts by message and start
	// (a partial index, which an attempt enters once, when it fails, and
	// which an attempt's other status changes never touch); a failure most
	// attempts share is tested per order by the attempts' checkout index
	// of migration 1. The stale filter (and the dashboard's stale count)
	// reads the pending attempts, which are few, by the reconciler's
	// (status, next_check_at) index of migration 1, remade here with the
	// attempts' start and checkout so that it is read alone: that index is
	// rewritten at every status change and check already, so carrying two
	// columns more costs the payment path less than an index of its own
	// would. An email is
	// searched by the prefix of its lower-case form. Date filters need no
	// index: they are ranges of the time-ordered id.
	{12, "order filter and search indexes", orderSearchIndexes},
	// The admin dashboard (store/dashboard.go): each of its figures is
	// read from one index alone, at a million orders. Partial where a
	// figure is about one status, so that only those rows are in it and
	// the payment path pays little for it: a checkout enters the paid
	// index once, when it is paid (a status in an index's columns would
	// move its entry at every status change), a failed attempt enters the
	// failures' index once. The status is also the partial indexes' last
	// column, so SQLite reads them without the table (it does not infer a
	// column from the index's WHERE). Checkouts by created_at (which never
	// changes) count a period's orders; checkouts flagged for review are a
	// handful, by id so that the orders list's review filter walks them
	// newest first too (the flag last, as the status above); deliveries by
	// merchant and age find each endpoint's latest try.
	{13, "dashboard indexes", ddl(
		`CREATE INDEX idx_checkouts_paid ON checkouts (currency, method, provider, paid_at, amount, created_at, status)
			WHERE status = 'paid'`,
		`CREATE INDEX idx_checkouts_created_at ON checkouts (created_at)`,
		`CREATE INDEX idx_checkouts_review ON checkouts (id, review) WHERE review`,
		`CREATE INDEX idx_attempts_failed ON attempts (created_at, message, checkout_id, status) WHERE status = 'failed'`,
		`CREATE INDEX idx_webhook_deliveries_merchant_created ON webhook_deliveries (merchant_id, created_at)`,
	)},
	// Email receipts (outbox): a paid checkout with a customer email gets
	// one row, written in the transaction that marks it paid; unique per
	// checkout and kind, so it is never queued twice. claimed_until lets
	// several workers share the table as webhook_deliveries does. Its id
	// makes the message's Message-ID, the same on every try.
	{14, "email deliveries", ddl(
		`CREATE TABLE email_deliveries (
			id TEXT PRIMARY KEY,
			checkout_id TEXT NOT NULL REFERENCES checkouts (id),
			recipient TEXT NOT NULL,
			kind TEXT NOT NULL CHECK (kind IN ('receipt')),
			status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
			attempts INTEGER NOT NULL DEFAULT 0,
			next_attempt_at {{time}},
			claimed_until {{time}},
			last_error TEXT NOT NULL DEFAULT '',
			created_at {{time}} NOT NULL,
			sent_at {{time}}
		)`,
		`CREATE UNIQUE INDEX idx_email_deliveries_checkout_kind ON email_deliveries (checkout_id, kind)`,
		`CREATE INDEX idx_email_deliveries_status_next ON email_deliveries (status, next_attempt_at)`,
	)},
	// Refunds and payouts. A refund is reserved on its checkout by one
	// conditional update in the transaction that inserts it
	// (refund_reserved: pending and succeeded refunds; amount_refunded:
	// succeeded ones). A payout's provider_reference is our 12 random
	// digits, committed before the send, unique per provider; its
	// reference is the merchant's, unique per merchant when given. The
	// worker finds its work by stage (and next_check_at, claimed_until);
	// transfer_events is the timeline of both.
	{15, "refunds and payouts", ddl(
		`ALTER TABLE checkouts ADD COLUMN amount_refunded BIGINT NOT NULL DEFAULT 0`,
		`ALTER TABLE checkouts ADD COLUMN refund_reserved BIGINT NOT NULL DEFAULT 0`,
		`ALTER TABLE attempts ADD COLUMN payment_method TEXT NOT NULL DEFAULT ''`,
		`CREATE TABLE refunds (
			id TEXT PRIMARY KEY,
			merchant_id TEXT NOT NULL REFERENCES merchants (id),
			checkout_id TEXT NOT NULL REFERENCES checkouts (id),
			attempt_id TEXT NOT NULL DEFAULT '',
			amount BIGINT NOT NULL CHECK (amount > 0),
			currency TEXT NOT NULL,
			reason TEXT NOT NULL DEFAULT '',
			route TEXT NOT NULL CHECK (route IN ('pesapal', 'payout', 'manual')),
			provider TEXT NOT NULL DEFAULT '',
			provider_reference TEXT NOT NULL DEFAULT '',
			payout_id TEXT NOT NULL DEFAULT '',
			phone TEXT NOT NULL DEFAULT '',
			status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
			stage TEXT NOT NULL CHECK (stage IN ('approval', 'queued', 'sending', 'sent', 'attention', 'done')),
			message TEXT NOT NULL DEFAULT '',
			requested_by TEXT NOT NULL DEFAULT '',
			approved_by TEXT NOT NULL DEFAULT '',
			approved_at {{time}},
			created_at {{time}} NOT NULL,
			updated_at {{time}} NOT NULL,
			completed_at {{time}}
		)`,
		`CREATE INDEX idx_refunds_merchant_id ON refunds (merchant_id, id)`,
		`CREATE INDEX idx_refunds_checkout_id ON refunds (checkout_id, id)`,
		`CREATE INDEX idx_refunds_stage_id ON refunds (stage, id)`,
		`CREATE INDEX idx_refunds_status_id ON refunds (status, id)`,
		`CREATE TABLE payouts (
			id TEXT PRIMARY KEY,
			merchant_id TEXT NOT NULL REFERENCES merchants (id),
			refund_id TEXT NOT NULL DEFAULT '',
			provider TEXT NOT NULL,
			provider_reference TEXT NOT NULL,
			provider_id TEXT NOT NULL DEFAULT '',
			amount BIGINT NOT NULL CHECK (amount > 0),
			currency TEXT NOT NULL,
			phone TEXT NOT NULL,
			name TEXT NOT NULL DEFAULT '',
			reference TEXT NOT NULL DEFAULT '',
			description TEXT NOT NULL DEFAULT '',
			status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
			stage TEXT NOT NULL CHECK (stage IN ('approval', 'queued', 'sending', 'sent', 'attention', 'done')),
			receipt TEXT NOT NULL DEFAULT '',
			fees BIGINT NOT NULL DEFAULT 0,
			verified BOOLEAN NOT NULL DEFAULT FALSE,
			message TEXT NOT NULL DEFAULT '',
			requested_by TEXT NOT NULL DEFAULT '',
			approved_by TEXT NOT NULL DEFAULT '',
			approved_at {{time}},
			created_at {{time}} NOT NULL,
			updated_at {{time}} NOT NULL,
			sent_at {{time}},
			completed_at {{time}},
			next_check_at {{time}},
			checks INTEGER NOT NULL DEFAULT 0,
			claimed_until {{time}}
		)`,
		`CREATE UNIQUE INDEX idx_payouts_provider_reference ON payouts (provider, provider_reference)`,
		`CREATE UNIQUE INDEX idx_payouts_merchant_reference ON payouts (merchant_id, reference) WHERE reference <> ''`,
		`CREATE INDEX idx_payouts_merchant_id ON payouts (merchant_id, id)`,
		`CREATE INDEX idx_payouts_stage_id ON payouts (stage, id)`,
		`CREATE INDEX idx_payouts_status_id ON payouts (status, id)`,
		`CREATE TABLE transfer_events (
			id {{pk}},
			subject_id TEXT NOT NULL,
			kind TEXT NOT NULL,
			source TEXT NOT NULL DEFAULT '',
			from_status TEXT NOT NULL DEFAULT '',
			to_status TEXT NOT NULL DEFAULT '',
			message TEXT NOT NULL DEFAULT '',
			payload TEXT NOT NULL DEFAULT '',
			actor TEXT NOT NULL DEFAULT '',
			created_at {{time}} NOT NULL
		)`,
		`CREATE INDEX idx_transfer_events_subject ON transfer_events (subject_id, id)`,
	)},
	// Merchants with their brand and defaults, and API keys of their own:
	// several per merchant, each named, revocable, and after a rotation
	// working until its expires_at. The keys merchants.api_key_hash held
	// are copied in; authentication reads api_keys only, so the old
	// column's unique index goes (new merchants leave it '').
	{16, "merchant profiles and API keys", ddl(
		`ALTER TABLE merchants ADD COLUMN logo {{blob}}`,
		`ALTER TABLE merchants ADD COLUMN logo_type TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE merchants ADD COLUMN logo_etag TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE merchants ADD COLUMN brand_color TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE merchants ADD COLUMN support_phone TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE merchants ADD COLUMN support_email TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE merchants ADD COLUMN methods TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE merchants ADD COLUMN success_url TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE merchants ADD COLUMN cancel_url TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE merchants ADD COLUMN updated_at {{time}}`,
		`UPDATE merchants SET updated_at = created_at`,
		`DROP INDEX IF EXISTS idx_merchants_api_key_hash`,
		`CREATE TABLE api_keys (
			id TEXT PRIMARY KEY,
			merchant_id TEXT NOT NULL REFERENCES merchants (id),
			name TEXT NOT NULL,
			key_hash TEXT NOT NULL,
			hint TEXT NOT NULL DEFAULT '',
			created_at {{time}} NOT NULL,
			created_by TEXT NOT NULL DEFAULT '',
			last_used_at {{time}},
			expires_at {{time}},
			revoked_at {{time}}
		)`,
		`CREATE UNIQUE INDEX idx_api_keys_key_hash ON api_keys (key_hash)`,
		`CREATE INDEX idx_api_keys_merchant_id ON api_keys (merchant_id, created_at)`,
		// The admin's orders of one merchant, newest first.
		`CREATE INDEX idx_checkouts_merchant_id ON checkouts (merchant_id, id)`,
		`INSERT INTO api_keys (id, merchant_id, name, key_hash, hint, created_at, created_by)
			SELECT 'key_' || id, id, 'Start-up key', api_key_hash, api_key_hint, created_at, ''
			FROM merchants WHERE api_key_hash <> ''`,
	)},
	{17, "admin roles, invites and the audit log", teamAndAudit},
	// Account security. An admin's optional TOTP second factor: its secret
	// encrypted (payments seals it with a key derived from CHECKOUT_SECRET;
	// '' when off), when it was switched on, and the last time step a code
	// was accepted at (a code is good once). Server-side admin sessions:
	// the cookie carries a random token whose SHA-256 is the row's id, so
	// a session can be listed, revoked, and ended by a password change.
	{18, "admin sessions and two-factor login", ddl(
		`ALTER TABLE admin_users ADD COLUMN totp_secret TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE admin_users ADD COLUMN totp_enabled_at {{time}}`,
		`ALTER TABLE admin_users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0`,
		`CREATE TABLE admin_sessions (
			id TEXT PRIMARY KEY,
			admin_id TEXT NOT NULL REFERENCES admin_users (id),
			created_at {{time}} NOT NULL,
			last_seen_at {{time}} NOT NULL,
			ip TEXT NOT NULL DEFAULT '',
			user_agent TEXT NOT NULL DEFAULT '',
			revoked_at {{time}}
		)`,
		`CREATE INDEX idx_admin_sessions_admin ON admin_sessions (admin_id, last_seen_at)`,
		`CREATE INDEX idx_admin_sessions_last_seen ON admin_sessions (last_seen_at)`,
	)},
	// A checkout's language for its customer pages and receipt email
	// ('' = the browser's).
	{19, "checkout locale", ddl(
		`ALTER TABLE checkouts ADD COLUMN locale TEXT NOT NULL DEFAULT ''`,
	)},
	// Who revoked an API key: 'start-up' when a start with another
	// CHECKOUT_API_KEY replaced it (that key may come back if configured
	// again), '' otherwise (the admin: it never comes back).
	{20, "api key revoked_by", ddl(
		`ALTER TABLE api_keys ADD COLUMN revoked_by TEXT NOT NULL DEFAULT ''`,
	)},
}

// teamAndAudit is migration 17. Existing admins become owners (the column's
// default). An invite's token is stored as its SHA-256 only. The audit log
// is append-only: a trigger refuses every UPDATE and DELETE (and, on
// PostgreSQL, TRUNCATE), so a mistake in the app cannot rewrite history.
func teamAndAudit(tx *gorm.DB) error {
	stmts := []string{
		`ALTER TABLE admin_users ADD COLUMN role TEXT NOT NULL DEFAULT 'owner' CHECK (role IN ('owner', 'manager', 'viewer'))`,
		`ALTER TABLE admin_users ADD COLUMN removed_at {{time}}`,
		`CREATE TABLE admin_invites (
			id TEXT PRIMARY KEY,
			email TEXT NOT NULL,
			role TEXT NOT NULL CHECK (role IN ('owner', 'manager', 'viewer')),
			token_hash TEXT NOT NULL,
			invited_by TEXT NOT NULL DEFAULT '',
			created_at {{time}} NOT NULL,
			expires_at {{time}} NOT NULL,
			accepted_at {{time}},
			revoked_at {{time}}
		)`,
		`CREATE UNIQUE INDEX idx_admin_invites_token_hash ON admin_invites (token_hash)`,
		`CREATE INDEX idx_admin_invites_email ON admin_invites (email)`,
		`CREATE TABLE audit_log (
			id {{pk}},
			created_at {{time}} NOT NULL,
			actor_id TEXT NOT NULL DEFAULT '',
			actor_email TEXT NOT NULL DEFAULT '',
			action TEXT NOT NULL,
			object_type TEXT NOT NULL DEFAULT '',
			object_id TEXT NOT NULL DEFAULT '',
			ip TEXT NOT NULL DEFAULT '',
			detail TEXT NOT NULL DEFAULT ''
		)`,
		// The owners' page filters by one of these, newest first.
		`CREATE INDEX idx_audit_log_action ON audit_log (action, id)`,
		`CREATE INDEX idx_audit_log_actor ON audit_log (actor_email, id)`,
		`CREATE INDEX idx_audit_log_object ON audit_log (object_id, id)`,
		// The team page's "last login".
		`CREATE INDEX idx_audit_log_actor_id_action ON audit_log (actor_id, action, id)`,
	}
	if isPostgres(tx) {
		stmts = append(stmts,
			`CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				RAISE EXCEPTION 'audit_log is append-only';
			END $$`,
			`CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
				FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`,
			`CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
				FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`,
		)
	} else {
		stmts = append(stmts,
			`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
			BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`,
			`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
			BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END`,
		)
	}
	return ddl(stmts...)(tx)
}

// orderSearchIndexes is migration 12. On PostgreSQL the prefix searches
// compare in the "C" collation (see searchArms), which indexes in the
// database's own collation do not serve: those columns get "C" indexes of
// their own there. SQLite compares bytes already and uses the indexes of
// migrations 1 and 3.
func orderSearchIndexes(tx *gorm.DB) error {
	c := ""
	if isPostgres(tx) {
		c = ` COLLATE "C"`
	}
	stmts := []string{
		`CREATE INDEX idx_checkouts_provider_id ON checkouts (provider, id)`,
		`CREATE INDEX idx_checkouts_email_lower ON checkouts ((lower(customer_email))` + c + `)`,
		// The status last, so SQLite reads the index alone (see
		// migration 13).
		`CREATE INDEX idx_attempts_failed_message ON attempts (message, created_at, checkout_id, status)
			WHERE status = 'failed'`,
		`DROP INDEX IF EXISTS idx_attempts_status_next_check`,
		`CREATE INDEX idx_attempts_status_next_check ON attempts (status, next_check_at, created_at, checkout_id)`,
	}
	if isPostgres(tx) {
		stmts = append(stmts,
			`CREATE INDEX idx_checkouts_id_c ON checkouts (id`+c+`)`,
			`CREATE INDEX idx_checkouts_reference_c ON checkouts (reference`+c+`)`,
			`CREATE INDEX idx_checkouts_receipt_c ON checkouts (receipt`+c+`)`,
			`CREATE INDEX idx_attempts_receipt_c ON attempts (receipt`+c+`)`,
		)
	}
	return ddl(stmts...)(tx)
}

// schemaMigration records one applied step.
type schemaMigration struct {
	Version   int `gorm:"primaryKey"`
	Name      string
	AppliedAt time.Time
}

func (schemaMigration) TableName() string { return "schema_migrations" }

// migrate applies every step not yet recorded. Several processes may start
// at once: each step's transaction re-checks its row after taking the write
// lock (SQLite) or the migration lock (PostgreSQL, below), so a step runs
// once.
func (s *Store) migrate(ctx context.Context) error {
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := lockMigrations(tx); err != nil {
			return err
		}
		return tx.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at ` + timeType(tx) + ` NOT NULL)`).Error
	})
	if err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	for _, m := range migrations {
		err := s.tx(ctx, func(tx *gorm.DB) error {
			if err := lockMigrations(tx); err != nil {
				return err
			}
			var n int64
			if err := tx.Model(&schemaMigration{}).Where("version = ?", m.version).Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if err := m.up(tx); err != nil {
				return err
			}
			return tx.Create(&schemaMigration{Version: m.version, Name: m.name, AppliedAt: s.now()}).Error
		})
		if err != nil {
			return fmt.Errorf("store: migration %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

// lockMigrations makes, on PostgreSQL, the processes migrating one schema
// take turns: DDL there is transactional but two CREATE TABLEs of one name
// still collide. The lock is per schema (current_schema()), so databases in
// other schemas of the same server migrate side by side.
func lockMigrations(tx *gorm.DB) error {
	if !isPostgres(tx) {
		return nil
	}
	if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended('checkout migrations ' || current_schema(), 0))").Error; err != nil {
		return fmt.Errorf("lock migrations: %w", err)
	}
	return nil
}

func timeType(db *gorm.DB) string {
	if isPostgres(db) {
		return "TIMESTAMPTZ"
	}
	return "DATETIME"
}
