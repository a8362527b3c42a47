package gateway

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

type providerError struct{ msg string }

func (e *providerError) Error() string { return e.msg }

func TestNotStartedMarksAnErrorWithoutChangingIt(t *testing.T) {
	inner := &providerError{msg: "pokeapay: stk push: HTTP 422: refused"}
	err := NotStarted(fmt.Errorf("wrapped: %w", inner))
	if !errors.Is(err, ErrNotStarted) {
		t.Errorf("errors.Is(%v, ErrNotStarted) = false", err)
	}
	if got, want := err.Error(), "wrapped: pokeapay: stk push: HTTP 422: refused"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var pe *providerError
	if !errors.As(err, &pe) || pe != inner {
		t.Errorf("errors.As did not find the provider's error")
	}
	if NotStarted(nil) != nil {
		t.Error("NotStarted(nil) is not nil")
	}
	if errors.Is(fmt.Errorf("push: %w", context.DeadlineExceeded), ErrNotStarted) {
		t.Error("an unmarked error is taken as not started")
	}
}
