package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Idempotency keys let a merchant retry POST /api/v1/checkouts safely: the
// first request with a key runs and its answer is stored; a retry with the
// same key and body gets that answer again instead of a second checkout.
const (
	// IdempotencyRetention is how long a key is kept: at least this long,
	// and it is pruned once it is older.
	IdempotencyRetention = 24 * time.Hour
	// IdempotencyLock is how long a running request holds its key. A
	// request whose process died stops blocking its key after this; a
	// retry with the same body then takes the key over.
	IdempotencyLock = time.Minute
	// MaxIdempotencyKey is the longest key accepted, in bytes.
	MaxIdempotencyKey = 255
)

// IdempotencyResult says what BeginIdempotency found.
type IdempotencyResult string

// Results of BeginIdempotency.
const (
	// IdempotencyStarted: the caller holds the key. It runs the request and
	// then calls FinishIdempotency with the answer, or AbandonIdempotency
	// when the answer must not be kept (a server error, so a retry may
	// succeed).
	IdempotencyStarted IdempotencyResult = "started"
	// IdempotencyReplay: the key was used with the same body and finished;
	// the claim carries the first answer.
	IdempotencyReplay IdempotencyResult = "replay"
	// IdempotencyMismatch: the key was used with a different body.
	IdempotencyMismatch IdempotencyResult = "mismatch"
	// IdempotencyInProgress: a request with this key and body is still
	// running.
	IdempotencyInProgress IdempotencyResult = "in_progress"
)

// Statuses of an idempotency key row.
const (
	idemRunning = "running"
	idemDone    = "done"
)

// idempotencyKey is one merchant's use of one Idempotency-Key.
type idempotencyKey struct {
	ID         int64 `gorm:"primaryKey"`
	MerchantID string
	Key        string
	// RequestHash is the SHA-256 (hex) of the request body as received.
	RequestHash string
	Status      string
	// ResponseStatus and ResponseBody are the answer, once done.
	ResponseStatus int
	ResponseBody   string
	CreatedAt      time.Time
	// LockedUntil is when a running request's hold on the key lapses.
	LockedUntil time.Time
}

func (idempotencyKey) TableName() string { return "idempotency_keys" }

// IdempotencyClaim is what BeginIdempotency answers: the result, the first
// answer for a replay, and, for IdempotencyStarted, the hold on the key that
// FinishIdempotency and AbandonIdempotency release.
type IdempotencyClaim struct {
	MerchantID  string
	Key         string
	RequestHash string
	Result      IdempotencyResult
	// ResponseStatus and ResponseBody are the first answer, byte for byte
	// (IdempotencyReplay only).
	ResponseStatus int
	ResponseBody   []byte
	// TookOver reports that the key was held by a request that never
	// finished (its lock lapsed) and this caller took it over.
	TookOver bool
	// LockedUntil is when this caller's hold lapses (IdempotencyStarted
	// only); AbandonIdempotency uses it to tell this hold from a later one
	// that took the key over.
	LockedUntil time.Time
}

// BeginIdempotency claims a merchant's idempotency key for a request whose
// body hashes to requestHash, in one transaction: it records the key as
// running, or reports what an earlier request with the key left:
//
//   - finished with the same hash: IdempotencyReplay, with its answer;
//   - used with another hash (finished or not): IdempotencyMismatch;
//   - still running with the same hash: IdempotencyInProgress;
//   - running with the same hash but its lock lapsed (the process died):
//     the caller takes it over, IdempotencyStarted with TookOver.
//
// Keys older than IdempotencyRetention are deleted first (every merchant's:
// the created_at index makes it cheap), so the table stays pruned without a
// scheduler and an expired key starts afresh.
func (s *Store) BeginIdempotency(ctx context.Context, merchantID, key, requestHash string) (*IdempotencyClaim, error) {
	if key == "" || len(key) > MaxIdempotencyKey {
		return nil, fmt.Errorf("store: idempotency key of %d bytes (want 1 to %d)", len(key), MaxIdempotencyKey)
	}
	claim := &IdempotencyClaim{MerchantID: merchantID, Key: key, RequestHash: requestHash}
	err := retryConflicts(ctx, func() error {
		return s.tx(ctx, func(tx *gorm.DB) error {
			now := s.now()
			if _, err := pruneIdempotency(tx, now.Add(-IdempotencyRetention)); err != nil {
				return err
			}
			// Microseconds, so the value reads back equal on PostgreSQL too.
			lease := now.Add(IdempotencyLock).Truncate(time.Microsecond)
			row := idempotencyKey{MerchantID: merchantID, Key: key, RequestHash: requestHash, Status: idemRunning,
				CreatedAt: now, LockedUntil: lease}
			// ON CONFLICT DO NOTHING rather than read-then-insert: on
			// PostgreSQL two first requests can both find no row; the
			// unique index lets exactly one of them in.
			res := tx.Clauses(clause.OnConflict{
				Columns: []clause.Column{{Name: "merchant_id"}, {Name: "key"}}, DoNothing: true,
			}).Create(&row)
			if res.Error != nil {
				return fmt.Errorf("store: begin idempotency key for %s: %w", merchantID, res.Error)
			}
			if res.RowsAffected == 1 {
				claim.Result, claim.LockedUntil = IdempotencyStarted, lease
				return nil
			}

			var old idempotencyKey
			if err := tx.Where("merchant_id = ? AND key = ?", merchantID, key).First(&old).Error; err != nil {
				if notFound(err) {
					// Abandoned between our insert and this read
					// (PostgreSQL); try again.
					return fmt.Errorf("store: idempotency key for %s: %w", merchantID, ErrConflict)
				}
				return fmt.Errorf("store: load idempotency key for %s: %w", merchantID, err)
			}
			switch {
			case old.RequestHash != requestHash:
				claim.Result = IdempotencyMismatch
			case old.Status == idemDone:
				claim.Result = IdempotencyReplay
				claim.ResponseStatus, claim.ResponseBody = old.ResponseStatus, []byte(old.ResponseBody)
			case now.Before(old.LockedUntil):
				claim.Result = IdempotencyInProgress
			default:
				// The guard makes the takeover one atomic step: of two
				// retries that both saw the lapsed lock, one wins.
				res := tx.Model(&idempotencyKey{}).
					Where("id = ? AND status = ? AND locked_until <= ?", old.ID, idemRunning, now).
					Update("locked_until", lease)
				if res.Error != nil {
					return fmt.Errorf("store: take over idempotency key for %s: %w", merchantID, res.Error)
				}
				if res.RowsAffected == 0 {
					claim.Result = IdempotencyInProgress
					return nil
				}
				claim.Result, claim.TookOver, claim.LockedUntil = IdempotencyStarted, true, lease
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return claim, nil
}

// FinishIdempotency stores the answer of a request that holds its key
// (IdempotencyStarted), so that retries get it byte for byte. Only the
// key's current holder writes: a request whose lock lapsed and was taken
// over by a retry of the same body writes nothing and gets ErrConflict
// (the retry's answer stands), as does one whose key was finished or is
// now held for another body; a key no longer there gives ErrNotFound.
func (s *Store) FinishIdempotency(ctx context.Context, c *IdempotencyClaim, status int, body []byte) error {
	if c.Result != IdempotencyStarted {
		return fmt.Errorf("store: finish idempotency key with a %s claim", c.Result)
	}
	return s.tx(ctx, func(tx *gorm.DB) error { return finishIdempotency(tx, c, status, body) })
}

// finishIdempotency stores the answer in tx (see FinishIdempotency).
func finishIdempotency(tx *gorm.DB, c *IdempotencyClaim, status int, body []byte) error {
	// The lease this caller claimed identifies its hold: a takeover always
	// sets a later one, so a holder whose lock lapsed and was taken over
	// matches no row, even though merchant, key, body and status still do.
	res := tx.Model(&idempotencyKey{}).
		Where("merchant_id = ? AND key = ? AND request_hash = ? AND status = ? AND locked_until = ?",
			c.MerchantID, c.Key, c.RequestHash, idemRunning, c.LockedUntil).
		Updates(map[string]any{"status": idemDone, "response_status": status, "response_body": string(body)})
	if res.Error != nil {
		return fmt.Errorf("store: finish idempotency key for %s: %w", c.MerchantID, res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	var n int64
	if err := tx.Model(&idempotencyKey{}).Where("merchant_id = ? AND key = ?", c.MerchantID, c.Key).Count(&n).Error; err != nil {
		return fmt.Errorf("store: finish idempotency key for %s: %w", c.MerchantID, err)
	}
	if n == 0 {
		return fmt.Errorf("store: finish idempotency key for %s: %w", c.MerchantID, ErrNotFound)
	}
	return fmt.Errorf("store: finish idempotency key for %s: finished or held for another body: %w", c.MerchantID, ErrConflict)
}

// IdempotentAnswer builds the answer a key stores for the checkout its
// request created, from the checkout as inserted: the status and the exact
// bytes a retry gets back.
type IdempotentAnswer func(co *Checkout) (status int, body []byte, err error)

// StoredAnswer is the key's answer CreateCheckoutOnce gives its request.
type StoredAnswer struct {
	Status int
	Body   []byte
	// Replayed: the answer is not this request's own but the one another
	// request with the same key and body stored first (one that took the
	// key over after this request's lock lapsed); this request wrote
	// nothing.
	Replayed bool
}

// CreateCheckoutOnce is CreateCheckout for a request that holds its
// Idempotency-Key (c is IdempotencyStarted): the checkout, its "created"
// event and the key's answer, built by answer, commit in one transaction.
// A crash leaves all of them or none, so no checkout exists whose key has
// no answer, and a retry never finds the reference taken by its own first
// try. It returns the stored answer.
//
// When the reference is taken (ErrDuplicate) or the key is no longer this
// caller's (ErrConflict), the key is read again: if another request with
// the same key and body finished it meanwhile, its answer is returned,
// Replayed, and nothing is written. That request took the key over after
// this one's lock lapsed, and the reference it holds is its own checkout,
// not a reason to refuse. Otherwise the error is returned and nothing is
// written: ErrDuplicate, the reference is taken by another checkout (the
// caller stores that refusal with FinishIdempotency); ErrConflict, the key
// is held by another request or was finished for another body;
// ErrNotFound, the key is gone.
func (s *Store) CreateCheckoutOnce(ctx context.Context, co *Checkout, source string, c *IdempotencyClaim, answer IdempotentAnswer) (StoredAnswer, error) {
	if c.Result != IdempotencyStarted {
		return StoredAnswer{}, fmt.Errorf("store: create checkout with a %s idempotency claim", c.Result)
	}
	s.newCheckout(co)
	var out StoredAnswer
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.createCheckout(tx, co, source); err != nil {
			return err
		}
		var err error
		if out.Status, out.Body, err = answer(co); err != nil {
			return fmt.Errorf("store: answer for checkout %s: %w", co.ID, err)
		}
		return finishIdempotency(tx, c, out.Status, out.Body)
	})
	if errors.Is(err, ErrDuplicate) || errors.Is(err, ErrConflict) {
		// Read after the rollback, not in the failed transaction (which
		// PostgreSQL refuses to continue).
		replay, ok, rerr := s.finishedAnswer(ctx, c)
		if rerr != nil {
			// Unknown whether the key was answered meanwhile: a server
			// error, so that the retry finds out, rather than a refusal
			// that may contradict the key's answer.
			return StoredAnswer{}, fmt.Errorf("%v; then %w", err, rerr)
		}
		if ok {
			return replay, nil
		}
	}
	if err != nil {
		return StoredAnswer{}, err
	}
	return out, nil
}

// finishedAnswer reads c's key: ok when it is done for c's body, with its
// stored answer.
func (s *Store) finishedAnswer(ctx context.Context, c *IdempotencyClaim) (StoredAnswer, bool, error) {
	var row idempotencyKey
	err := s.r.WithContext(ctx).Where("merchant_id = ? AND key = ?", c.MerchantID, c.Key).First(&row).Error
	if notFound(err) {
		return StoredAnswer{}, false, nil
	}
	if err != nil {
		return StoredAnswer{}, false, fmt.Errorf("store: read idempotency key for %s: %w", c.MerchantID, err)
	}
	if row.Status != idemDone || row.RequestHash != c.RequestHash {
		return StoredAnswer{}, false, nil
	}
	return StoredAnswer{Status: row.ResponseStatus, Body: []byte(row.ResponseBody), Replayed: true}, true, nil
}

// AbandonIdempotency releases a key without storing an answer (a server
// error: the retry should run again). It removes only this caller's hold: a
// request that took the key over keeps it.
func (s *Store) AbandonIdempotency(ctx context.Context, c *IdempotencyClaim) error {
	if c.Result != IdempotencyStarted {
		return fmt.Errorf("store: abandon idempotency key with a %s claim", c.Result)
	}
	err := s.w.WithContext(ctx).
		Where("merchant_id = ? AND key = ? AND status = ? AND locked_until = ?", c.MerchantID, c.Key, idemRunning, c.LockedUntil).
		Delete(&idempotencyKey{}).Error
	if err != nil {
		return fmt.Errorf("store: abandon idempotency key for %s: %w", c.MerchantID, err)
	}
	return nil
}

// PruneIdempotencyKeys deletes keys created more than olderThan ago and
// reports how many. Keys are promised for IdempotencyRetention, so a shorter
// olderThan is refused. BeginIdempotency prunes as it goes; this is for a
// scheduled sweep.
func (s *Store) PruneIdempotencyKeys(ctx context.Context, olderThan time.Duration) (int64, error) {
	if olderThan < IdempotencyRetention {
		return 0, fmt.Errorf("store: prune idempotency keys older than %s: keys are kept at least %s", olderThan, IdempotencyRetention)
	}
	var n int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		n, err = pruneIdempotency(tx, s.now().Add(-olderThan))
		return err
	})
	return n, err
}

// pruneIdempotency deletes the keys created before the cutoff.
func pruneIdempotency(tx *gorm.DB, before time.Time) (int64, error) {
	res := tx.Where("created_at < ?", before).Delete(&idempotencyKey{})
	if res.Error != nil {
		return 0, fmt.Errorf("store: prune idempotency keys: %w", res.Error)
	}
	return res.RowsAffected, nil
}
