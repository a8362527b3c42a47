package payments

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"checkout/store"
)

// MaxIdempotencyKey is the longest Idempotency-Key accepted, in bytes.
const MaxIdempotencyKey = store.MaxIdempotencyKey

// IdempotencyClaim is a request's hold on its Idempotency-Key while it runs
// (see CreateIdempotent).
type IdempotencyClaim = store.IdempotencyClaim

// StoredAnswer is the answer stored for an Idempotency-Key: the status and
// the exact bytes a retry gets back.
type StoredAnswer = store.StoredAnswer

// IdempotentOutcome says how CreateIdempotent settled a request.
type IdempotentOutcome int

const (
	// IdempotentAnswered: the result's Status and Body are the answer,
	// this request's own or (Replayed) the one stored for the key before.
	IdempotentAnswered IdempotentOutcome = iota
	// IdempotentMismatch: the key was used with a different request body.
	IdempotentMismatch
	// IdempotentInProgress: a request with this key and body is still
	// running (or took the key over while this one ran, and nothing was
	// created here); the client should retry shortly.
	IdempotentInProgress
)

// IdempotentResult is what CreateIdempotent settled.
type IdempotentResult struct {
	Outcome IdempotentOutcome
	Status  int
	Body    []byte
	// Replayed: the answer is the one stored for the key, not this
	// request's own.
	Replayed bool
}

// CreateOnce runs a creation for a request that holds its Idempotency-Key:
// it returns the answer, and stored is true when the answer was stored in
// the transaction that created the checkout (see CreateCheckoutOnce); an
// answer not stored (a refusal, which created nothing) is stored by
// CreateIdempotent.
type CreateOnce func(claim *IdempotencyClaim) (ans StoredAnswer, stored bool, err error)

// CreateIdempotent runs create at most once per merchant, Idempotency-Key
// and request body: the first request with a key runs and its answer is
// stored, byte for byte; the same key and body get that answer again,
// another body or a request still running with the key get
// IdempotentMismatch or IdempotentInProgress. Answers a retry cannot change
// (201, 4xx) are stored, a 201 in the transaction that creates the
// checkout; a failure on our side (an error) is not, so that a retry may
// succeed.
func (s *Service) CreateIdempotent(ctx context.Context, merchantID, key string, body []byte, create CreateOnce) (IdempotentResult, error) {
	sum := sha256.Sum256(body)
	claim, err := s.st.BeginIdempotency(ctx, merchantID, key, hex.EncodeToString(sum[:]))
	if err != nil {
		return IdempotentResult{}, err
	}
	switch claim.Result {
	case store.IdempotencyReplay:
		return IdempotentResult{Outcome: IdempotentAnswered, Status: claim.ResponseStatus, Body: claim.ResponseBody, Replayed: true}, nil
	case store.IdempotencyMismatch:
		return IdempotentResult{Outcome: IdempotentMismatch}, nil
	case store.IdempotencyInProgress:
		return IdempotentResult{Outcome: IdempotentInProgress}, nil
	}
	if claim.TookOver {
		s.log.WarnContext(ctx, "idempotency key taken over from a request that did not finish", "merchant_id", merchantID)
	}

	// The key is released even if the client goes away or the creation
	// panics: otherwise retries would be told "in progress" until the lock
	// lapses.
	bg := context.WithoutCancel(ctx)
	settled := false
	defer func() {
		if !settled {
			s.abandon(bg, claim)
		}
	}()

	ans, stored, err := create(claim)
	settled = true
	if errors.Is(err, store.ErrConflict) {
		// This request ran past its lock and a retry with the same key and
		// body took the key over; nothing was created here. The key's
		// answer will be the retry's: this client is told to ask again,
		// as any request that finds the key running is.
		s.log.WarnContext(ctx, "idempotency key taken over while its request ran; nothing created", "merchant_id", merchantID)
		return IdempotentResult{Outcome: IdempotentInProgress}, nil
	}
	if err != nil {
		// Released before the failure is answered, so that a retry runs
		// again.
		s.abandon(bg, claim)
		return IdempotentResult{}, err
	}
	if !stored {
		// A refusal created nothing, so it is stored on its own; before it
		// is sent, so a retry that follows the answer replays it instead
		// of hearing "in progress".
		if err := s.st.FinishIdempotency(bg, claim, ans.Status, ans.Body); err != nil {
			// The refusal stands whatever the store says: this client
			// still gets it. The key stays running until its lock lapses
			// and a retry takes it over.
			s.log.ErrorContext(ctx, "storing the idempotent answer failed", "merchant_id", merchantID, "err", err)
		}
	}
	// Replayed: another request with this key and body finished it while
	// this one ran (it took the key over after this one's lock lapsed): its
	// answer is this request's too.
	return IdempotentResult{Outcome: IdempotentAnswered, Status: ans.Status, Body: ans.Body, Replayed: ans.Replayed}, nil
}

func (s *Service) abandon(ctx context.Context, claim *IdempotencyClaim) {
	if err := s.st.AbandonIdempotency(ctx, claim); err != nil {
		s.log.ErrorContext(ctx, "releasing an idempotency key failed", "merchant_id", claim.MerchantID, "err", err)
	}
}
